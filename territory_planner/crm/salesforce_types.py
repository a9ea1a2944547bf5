"""What a Salesforce export's new territories are made of: their Territory2Type, and access levels.

Every Territory2 needs a type (FIELD.md §5), and a Territory2Type's ``Priority`` must be
unique among all the types of the org: inserting types with Priority 1, 2, … fails in an
org that has types already. So a new model:

* reuses a type the org has when one is known — ``--type-id``, else the type of today's
  territories, which a Salesforce territory import keeps in reps.csv
  (``territory_type_id``) — and inserts no Territory2Type;
* else inserts one type per hierarchy level and one for the reps' territories, with
  priorities that are free: from ``--types`` (a Data Loader export of the org's
  Territory2Type: Id, DeveloperName, Priority; a type of the same DeveloperName is reused
  by its Id), starting at ``--type-priority`` (default 1).

A new territory's AccountAccessLevel, OpportunityAccessLevel and CaseAccessLevel are its
rep's territory's today (reps.csv ``territory_*_access_level``, from the import), else the
levels most of today's territories have, else ``Read``, and LOAD_ORDER.md says so.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from territory_planner.crm.exporting import (
    ExportOptions,
    UniqueNames,
    check_id_shapes,
    id_column,
    listing,
    read_csv_file,
    slug,
)
from territory_planner.crm.formats import SalesforceTerritory2 as T2
from territory_planner.errors import InputError

TYPE_FILE = "Territory2Type.csv"
#: Reps columns a Salesforce territory import fills from its rep's Territory2.
MODEL_ID_COLUMN, TYPE_ID_COLUMN = "territory_model_id", "territory_type_id"
ACCESS_COLUMNS = {T2.ACCOUNT_ACCESS_LEVEL: "territory_account_access_level",
                  T2.OPPORTUNITY_ACCESS_LEVEL: "territory_opportunity_access_level",
                  T2.CASE_ACCESS_LEVEL: "territory_case_access_level"}
#: The access level a new territory gets when the import did not know any (a picklist API value).
DEFAULT_ACCESS = "Read"


def most_common(values) -> str | None:
    """The most frequent non-blank value (the first in sorted order on a tie), or None."""
    counts = Counter(v for v in values if v is not None)
    if not counts:
        return None
    top = max(counts.values())
    return sorted(v for v, n in counts.items() if n == top)[0]


@dataclass
class Types:
    """The types of a new model: the rows to insert and what each territory refers to."""

    rows: list[dict]  # Territory2Type rows to insert (empty: the org's types are reused)
    level: dict[str, str]  # hierarchy level → a type Id or the DeveloperName of an inserted type
    leaf: list[str]  # each territory's (team order)
    detail: str = ""  # LOAD_ORDER.md's words on the Territory2Type step
    notes: list[str] = field(default_factory=list)

    @property
    def inserted(self) -> set[str]:
        return {row["DeveloperName"] for row in self.rows}


def new_model_types(team: pd.DataFrame, levels: list[str], options: ExportOptions) -> Types:
    """The types of a new model's territories (see the module docstring)."""
    imported = id_column(team[TYPE_ID_COLUMN]) if TYPE_ID_COLUMN in team else pd.Series([None] * len(team),
                                                                                     index=team.index, dtype=object)
    if options.type_id:
        check_id_shapes(pd.Series([options.type_id]), pd.Series(["--type-id"]), "salesforce", "Territory2Type",
                        "--type-id")
    check_id_shapes(imported, team["territory_id"].astype(str), "salesforce", "Territory2Type", TYPE_ID_COLUMN)
    known = options.type_id or most_common(imported)
    if known:
        leaf = [options.type_id or own or known for own in imported]
        how = "--type-id" if options.type_id else "the type of today's territories (territory_type_id, from the import)"
        note = (f"No {TYPE_FILE}: the new territories reuse the org's territory type{'s' if len(set(leaf)) > 1 else ''} "
                f"{listing(sorted(set(leaf)))} ({how}), so no type priority can clash.")
        return Types([], {lv: known for lv in levels}, leaf, notes=[note])
    wanted = [(lv, lv.replace("_", " ").title()) for lv in levels] + [(None, "Territory")]
    unique = UniqueNames(limit=80)
    names = [unique.take(slug(f"TP {lv if lv is not None else 'territory'}")) for lv, _ in wanted]
    org = org_types(options.types_file) if options.types_file else None
    taken = set(org["priority"].dropna().astype(int)) if org is not None else set()
    by_name = dict(zip(org["developer_name"].str.casefold(), org["id"], strict=True)) if org is not None else {}
    priority = options.type_priority or 1
    refs: dict[str | None, str] = {}
    rows = []
    reused = []
    for (lv, label), dev in zip(wanted, names, strict=True):
        if dev.casefold() in by_name:
            refs[lv] = by_name[dev.casefold()]
            reused.append(f"{dev} ({refs[lv]})")
            continue
        while priority in taken:
            priority += 1
        rows.append({"DeveloperName": dev, "MasterLabel": label, "Priority": priority,
                     "Description": f"{label} level of a territory_planner plan"})
        taken.add(priority)
        refs[lv] = dev
    used = ", ".join(str(r["Priority"]) for r in rows)
    rule = "Priority must be unique among all the territory types of the org (Salesforce refuses a type whose " \
           "Priority another type has). "
    notes = []
    if org is not None:
        in_use = sorted(set(org["priority"].dropna().astype(int)))
        detail = (rule + f"The priorities here ({used}) are free in the org's types export {Path(options.types_file).name} "
                  f"({len(org)} types, priorities in use: {listing(in_use) or 'none'}).")
        if reused:
            notes.append(f"The org has the type(s) {', '.join(reused)} already (--types): they are reused, not "
                         "inserted again.")
    elif options.type_priority:
        detail = rule + f"The priorities here start at --type-priority {options.type_priority}: {used}."
    else:
        detail = (rule + f"The priorities here are {used}: if your org has territory types already, export again with "
                  "--types Territory2Type.csv (a Data Loader export of the org's types: Id, DeveloperName, Priority) "
                  "to choose free priorities, with --type-priority N, or with --type-id to reuse a type.")
        notes.append(f"{TYPE_FILE} gives its types Priority {used}, which must be free in the org: pass --types "
                     "(the org's Territory2Type export), --type-priority or --type-id if the org has territory types.")
    if rows and org is None:
        detail += " If the org has these types already, skip this insert and pass a Data Loader export of " \
                  "Territory2Type (Id, DeveloperName) to --resolve instead."
    return Types(rows, {lv: refs[lv] for lv in levels}, [refs[None]] * len(team), detail, notes)


def org_types(path) -> pd.DataFrame:
    """The org's Territory2Type export (Data Loader CSV): id, developer_name, priority (int or NaN)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", file=path, column="--types",
                         fix="give a Data Loader export of Territory2Type (Id, DeveloperName, Priority)")
    frame = read_csv_file(path)
    lower = {str(c).strip().lower(): c for c in frame.columns}
    missing = [c for c in ("Id", "DeveloperName", "Priority") if c.lower() not in lower]
    if missing:
        raise InputError(f"not an export of Territory2Type: no column {', '.join(missing)}", file=path,
                         column=missing[0], fix="export it with Data Loader: SELECT Id, DeveloperName, MasterLabel, "
                                                "Priority FROM Territory2Type")
    text = frame[lower["priority"]].str.strip()
    bad = [(i + 2, v) for i, v in enumerate(text) if v and not v.isdigit()]
    if bad:
        raise InputError(f"a Priority is not a whole number: {listing(f'row {r} ({v!r})' for r, v in bad)}", file=path,
                         row=bad[0][0], column=lower["priority"], fix="export the types again with Data Loader")
    return pd.DataFrame({"id": frame[lower["id"]].str.strip(), "developer_name": frame[lower["developername"]].str.strip(),
                         "priority": pd.to_numeric(text.where(text != ""), errors="coerce")})


def access_levels(team: pd.DataFrame) -> tuple[dict[str, list[str]], dict[str, str], list[str]]:
    """(each field → each territory's level (team order), each field → a group's level,
    the fields that fell back to ``Read`` somewhere)."""
    per_row: dict[str, list[str]] = {}
    group: dict[str, str] = {}
    defaulted = []
    for field_name, column in ACCESS_COLUMNS.items():
        own = id_column(team[column]) if column in team else pd.Series([None] * len(team), index=team.index,
                                                                       dtype=object)
        common = most_common(own)
        group[field_name] = common or DEFAULT_ACCESS
        per_row[field_name] = [o or common or DEFAULT_ACCESS for o in own]
        if common is None or own.isna().any():
            defaulted.append(field_name)
    return per_row, group, defaulted


def access_note(defaulted: list[str]) -> str:
    return (f"{', '.join(defaulted)}: today's level where the import knew it (the territory's, else the most common), "
            f"else '{DEFAULT_ACCESS}' (read access); an org whose sharing default for that object is Public Read/Write "
            "accepts only Edit (or All for accounts): change the column before loading.")
