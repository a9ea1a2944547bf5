"""What the exports share (``crm/export.py`` dispatches to them): options, the steps of
LOAD_ORDER.md, and the checks every CRM target makes on a Plan.

A target renders an :class:`Export` from a Plan alone: :func:`territory_team` (one row per
territory with its rep's columns), :func:`account_crm_ids` and :func:`rep_crm_users` (the
CRM's own ids, or an error listing the records without one, with the fix; a plan whose
``crm`` column names another CRM is refused, :func:`check_source_crm`, and every id must
have the target's shape, :func:`check_id_shapes` — Salesforce 15/18 characters with the
object's key prefix, HubSpot digits, Dynamics GUIDs), :func:`open_accounts` (the accounts
of open seats),
:func:`changed_mask` (accounts whose rep differs from today's), the names a CRM shows
(:func:`territory_display_names`, Salesforce DeveloperNames with :func:`slug` and
:class:`UniqueNames`) and the hierarchy's parents (:func:`hierarchy_parents`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from territory_planner.crm.formats import (
    SOURCE_COLUMN,
    is_dynamics_id,
    is_hubspot_id,
    is_salesforce_id,
)
from territory_planner.data.columns import id_text  # noqa: F401  (an id cell as text; used here and by the targets)
from territory_planner.errors import InputError
from territory_planner.outputs.files import FORMULA_PREFIXES, csv_text
from territory_planner.plan import Plan

CRM_LABELS = {"salesforce": "Salesforce", "hubspot": "HubSpot", "dynamics": "Dynamics 365"}
#: The objects an account id and a user id name, per CRM (in messages and id shapes).
CRM_OBJECTS = {"salesforce": ("Account", "User"), "hubspot": ("company", "owner"),
               "dynamics": ("account", "systemuser")}
BOM = "\ufeff"
#: How many ids an error or a note lists before "… and N more".
LISTED = 10


@dataclass(frozen=True)
class ExportOptions:
    """What the planner chose on the command line.

    ``changed_only``: only accounts whose rep differs from today's (``current_rep_id``).
    ``ids_are_crm_ids``: the plan's account_id and rep_id are the CRM's record and user
    ids (without it a CRM target needs ``crm_id`` columns, from ``territory-planner import``,
    of that CRM: ids another CRM's import wrote are refused; their shape is checked anyway).
    ``label``: the run's label or name, used in names (the Salesforce model) and headers.
    ``salesforce_model``: ``new`` (a new Territory2Model in Planning state), ``current``
    (changes to the model the accounts were imported from) or ``auto`` (current when the
    plan came from a Salesforce territory import, else new).
    ``model_id``, ``type_id``: the Territory2ModelId (current model) and a Territory2TypeId
    of the org for the territories the export inserts (else the reps columns
    ``territory_model_id``/``territory_type_id`` a Salesforce territory import fills); with
    a type known, a new model reuses it and inserts no Territory2Type.
    ``type_priority``, ``types_file``: a new model's new Territory2Types need priorities
    unique in the org: the first one to use, or the org's Territory2Type export (Id,
    DeveloperName, Priority), from which free priorities are chosen and types of the same
    DeveloperName reused.
    ``role_in_territory``: RoleInTerritory2 of the reps' user associations (an org picklist).
    ``territory_property``: HubSpot's custom company property for the territory (None: none).
    """

    changed_only: bool = False
    ids_are_crm_ids: bool = False
    label: str | None = None
    salesforce_model: str = "auto"
    model_id: str | None = None
    type_id: str | None = None
    type_priority: int | None = None
    types_file: str | Path | None = None
    role_in_territory: str = "Owner"
    territory_property: str | None = "Territory"


@dataclass(frozen=True)
class Step:
    """One file of LOAD_ORDER.md: which tool loads it, how, and what an earlier step fills in."""

    file: str
    tool: str
    action: str
    rows: int
    detail: str = ""
    keep: str = ""  # what to keep from this step (a success file) and what it fills in

    def as_dict(self) -> dict:
        return {"file": self.file, "tool": self.tool, "action": self.action, "rows": self.rows,
                "detail": self.detail, "keep": self.keep}


@dataclass(frozen=True)
class Export:
    """A target's files, rendered and checked, and what LOAD_ORDER.md says about them.

    ``pending``: file → column → {"object": the Salesforce object, "names": the
    DeveloperNames in that column still waiting for the object's Ids}.
    """

    target: str
    files: dict[str, str | bytes]
    steps: list[Step]
    notes: list[str] = field(default_factory=list)
    pending: dict = field(default_factory=dict)
    header: list[str] = field(default_factory=list)  # lines under the title: the plan, the mode

    def manifest(self, plan: Plan | None = None, options: ExportOptions | None = None) -> dict:
        out = {"target": self.target, "header": self.header, "steps": [s.as_dict() for s in self.steps],
               "notes": self.notes, "pending": self.pending}
        if plan is not None:
            out |= {"scenario": plan.scenario.name, "accounts": int(len(plan.assignments)),
                    "territories": int(len(plan.territories))}
        if options is not None:
            out |= {"label": options.label, "changed_only": options.changed_only,
                    "ids_are_crm_ids": options.ids_are_crm_ids}
        return out


# --------------------------------------------------------------------------- small shared pieces


def id_column(series: pd.Series) -> pd.Series:
    """:func:`id_text` of every cell: an object column of str and None (``Series.map`` may turn
    an all-None result into NaN)."""
    return pd.Series([id_text(v) for v in series], index=series.index, dtype=object)


def listing(values: Iterable, limit: int = LISTED) -> str:
    """``A1, A2, A3`` — or the first ``limit`` and "… and N more"."""
    values = [str(v) for v in values]
    head = ", ".join(values[:limit])
    return head + (f" … and {len(values) - limit} more" if len(values) > limit else "")


def csv_file(df: pd.DataFrame, *, bom: bool, columns: list[str] | None = None) -> str:
    """Excel-safe CSV text (``outputs.files.csv_text``), with a UTF-8 BOM where Excel needs it
    to read the file as UTF-8 (names with accents); ``bom=False`` for Data Loader."""
    text = csv_text(df, columns=columns)
    return BOM + text if bom else text


def read_csv_file(path: Path) -> pd.DataFrame:
    """A CSV this module wrote (or a CRM tool's success file): every cell as text, blanks as
    "", a BOM dropped; cells keep any Excel escape (written back as they were)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def no_ids(index) -> pd.Series:
    """A column of None (``pd.Series(None, dtype=object)`` would hold NaN)."""
    return pd.Series([None] * len(index), index=index, dtype=object)


def is_open(status) -> bool:
    return str(status).strip().lower() == "open"


def changed_mask(assignments: pd.DataFrame) -> pd.Series:
    """Accounts whose new rep differs from today's owner (``current_rep_id``), or that have none."""
    current = id_column(assignments["current_rep_id"]) if "current_rep_id" in assignments else None
    new = id_column(assignments["rep_id"])
    if current is None:
        return pd.Series(True, index=assignments.index)
    return current.isna() | (current != new)


def slug(text: str, *, fallback: str = "T") -> str:
    """``text`` as a Salesforce DeveloperName stem: ASCII letters, digits and single
    underscores, starting with a letter, no trailing underscore (FIELD.md §5).

    >>> slug("Zoë  O'Neil – West"), slug("42 North"), slug("__")
    ('Zoe_O_Neil_West', 'T_42_North', 'T')
    """
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    out = re.sub(r"[^A-Za-z0-9]+", "_", ascii_text).strip("_")
    if not out:
        return fallback
    if not out[0].isalpha():
        out = f"{fallback}_{out}"
    return out


DEVELOPER_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")


def valid_developer_name(name) -> bool:
    """Letters, digits, underscores; starts with a letter; no trailing or double underscore; ≤ 80."""
    return isinstance(name, str) and len(name) <= 80 and bool(DEVELOPER_NAME.match(name))


class UniqueNames:
    """Names handed out once each, compared case-insensitively (Salesforce's DeveloperName
    and Dynamics' territory names are unique that way); a taken name gets ``_2``, ``_3`` …
    (or `` (2)`` for display names), cut to fit ``limit``."""

    def __init__(self, limit: int = 80, sep: str = "_") -> None:
        self.taken: set[str] = set()
        self.limit, self.sep = limit, sep

    def reserve(self, name: str) -> None:
        self.taken.add(name.casefold())

    def take(self, stem: str) -> str:
        n = 1
        while True:
            suffix = "" if n == 1 else (f"_{n}" if self.sep == "_" else f" ({n})")
            base = stem[: self.limit - len(suffix)]
            if self.sep == "_":
                base = base.rstrip("_")
            candidate = base + suffix
            if candidate.casefold() not in self.taken:
                self.taken.add(candidate.casefold())
                return candidate
            n += 1


# --------------------------------------------------------------------------- the plan's teams and ids


def territory_team(plan: Plan) -> pd.DataFrame:
    """One row per territory (``plan.territories`` order) with its rep's columns from the
    reps table (crm_id, email, territory_name, …, the hierarchy levels) and ``open``."""
    terr = plan.territories.copy()
    terr["rep_id"] = id_column(terr["rep_id"])
    reps = plan.reps.copy()
    if "rep_id" in reps and len(reps):
        reps["rep_id"] = id_column(reps["rep_id"])
        reps = reps.drop_duplicates("rep_id").drop(columns=[c for c in reps.columns if c.startswith("_")])
        extra = [c for c in reps.columns if c not in terr.columns or c == "rep_id"]
        terr = terr.merge(reps[extra], on="rep_id", how="left")
    status = terr["status"] if "status" in terr else pd.Series("active", index=terr.index)
    terr["open"] = [is_open(s) or rep is None for s, rep in zip(status, terr["rep_id"], strict=True)]
    if "name" not in terr:
        terr["name"] = terr["rep_name"]
    terr["person"] = [id_text(n) or id_text(r) or str(t) for n, r, t in
                      zip(terr["name"], terr["rep_id"], terr["territory_id"], strict=True)]
    return terr


def territory_display_names(team: pd.DataFrame) -> list[str]:
    """Each territory's name in the CRM: the imported ``territory_name`` where there is one,
    else the rep's name ("Open seat R017" for a seat without a name); unique."""
    names = UniqueNames(limit=80, sep=" ")
    imported = id_column(team["territory_name"]).tolist() if "territory_name" in team else [None] * len(team)
    for name in imported:
        if name:
            names.reserve(name)
    out = []
    for have, person, rep, open_seat in zip(imported, team["person"], team["rep_id"], team["open"], strict=True):
        if have:
            out.append(have)
        elif open_seat and (person == rep or person in ("(open)", "")):
            out.append(names.take(f"Open seat {rep}"))
        else:
            out.append(names.take(f"{person} (open seat)" if open_seat else person))
    return out


def open_accounts(team: pd.DataFrame, where: pd.Series) -> pd.Series:
    """Whether each account (``where``: its row of ``team``) lies in an open seat's territory."""
    return pd.Series(team["open"].to_numpy(bool)[where.to_numpy()], index=where.index)


def check_source_crm(plan: Plan, target: str, options: ExportOptions) -> None:
    """Refuse a plan whose ids an import took from another CRM (the ``crm`` column of
    accounts.csv and reps.csv), listing the records, unless ``--ids-are-crm-ids``."""
    if options.ids_are_crm_ids:
        return
    crm = CRM_LABELS[target]
    foreign: dict[str, dict[str, list[str]]] = {}
    for what, frame, key in (("account", plan.assignments, "account_id"), ("rep", plan.reps, "rep_id")):
        if SOURCE_COLUMN not in frame or key not in frame:
            continue
        source = id_column(frame[SOURCE_COLUMN])
        for value, record in zip(source, frame[key], strict=True):
            if value is not None and value.lower() != target:
                foreign.setdefault(value.lower(), {}).setdefault(what, []).append(str(record))
    if not foreign:
        return
    sources = sorted(foreign)
    named = " and ".join(CRM_LABELS.get(s, s) for s in sources)
    records = "; ".join(f"{len(ids)} {what}(s) from {CRM_LABELS.get(s, s)}: {listing(ids)}"
                        for s in sources for what, ids in sorted(foreign[s].items()))
    back = " or ".join(f"--to {s}" for s in sources if s in CRM_LABELS)
    raise InputError(
        f"this plan's ids come from {named}, not {crm} (the import wrote '{sources[0]}' in the {SOURCE_COLUMN} "
        f"column of accounts.csv and reps.csv): {crm} cannot load them. {records}",
        column=SOURCE_COLUMN,
        fix=(f"export it {back} (the CRM it came from); " if back else "")
            + f"to load it into {crm}, import the accounts and users from {crm} ('territory-planner import {target}') "
              f"and plan again; or, if these ids are {crm}'s after all, pass --ids-are-crm-ids")


#: What each target's ids look like, by the record they name: (test, how to say it).
ID_SHAPES = {
    "salesforce": lambda obj: (lambda v: is_salesforce_id(v, obj),
                               f"a Salesforce {obj} Id is 15 or 18 letters and digits"
                               + {"Account": " starting with 001", "User": " starting with 005",
                                  "Territory2": " starting with 0MI", "Territory2Model": " starting with 0MA",
                                  "Territory2Type": " starting with 0M5"}.get(obj, "")),
    "hubspot": lambda obj: (is_hubspot_id, f"a HubSpot {obj} id is digits only"),
    "dynamics": lambda obj: (is_dynamics_id, f"a Dynamics 365 {obj} id is a GUID (8-4-4-4-12 hexadecimal digits)"),
}


def check_id_shapes(ids: pd.Series, labels: pd.Series, target: str, obj: str, column: str) -> None:
    """InputError listing every record (``labels``, e.g. its account_id) whose id (``ids``;
    blanks skipped) does not have the shape of ``target``'s ``obj`` ids."""
    test, shape = ID_SHAPES[target](obj)
    bad = [f"{label} ({value!r})" for value, label in zip(ids, labels, strict=True)
           if id_text(value) is not None and not test(value)]
    if bad:
        crm = CRM_LABELS[target]
        raise InputError(f"{len(bad)} {obj} id(s) are not {crm} ids ({shape}): {listing(bad)}", column=column,
                         fix=f"give the {crm} ids in {column} (import the records from {crm} with 'territory-planner "
                             f"import {target}' and plan again), or export to the CRM these ids come from")


def account_crm_ids(plan: Plan, target: str, options: ExportOptions) -> pd.Series:
    """The CRM record id of every account (index of ``plan.assignments``), or InputError
    listing the accounts without one (and the fix): ``crm_id`` from an import, or the
    account_id itself with ``--ids-are-crm-ids``. Duplicates are errors too."""
    a = plan.assignments
    crm = CRM_LABELS[target]
    check_source_crm(plan, target, options)
    if "crm_id" in a.columns:
        ids = id_column(a["crm_id"])
        missing = a.loc[ids.isna(), "account_id"].astype(str).tolist()
        if missing and options.ids_are_crm_ids:
            ids = ids.fillna(id_column(a["account_id"]))
            missing = []
        if missing:
            raise InputError(
                f"{len(missing)} account(s) have no {crm} record id in crm_id: {listing(missing)}",
                column="crm_id",
                fix=f"fill crm_id for them in the accounts file (or import the accounts from {crm} with "
                    f"'territory-planner import {target}') and plan again; or, if their account_id is the {crm} "
                    "id, pass --ids-are-crm-ids")
    elif options.ids_are_crm_ids:
        ids = id_column(a["account_id"])
    else:
        raise InputError(
            f"the plan's accounts carry no {crm} record ids (no crm_id column), and account_id is not taken for "
            f"one without being told: {listing(a['account_id'].astype(str))}",
            column="crm_id",
            fix=f"import the accounts from {crm} ('territory-planner import {target}'), or add a crm_id column with "
                f"each account's {crm} record id to the accounts file, and plan again; or pass --ids-are-crm-ids if "
                f"the account_ids are {crm} ids")
    check_id_shapes(ids, a["account_id"].astype(str), target, CRM_OBJECTS[target][0],
                    "crm_id" if "crm_id" in a.columns else "account_id")
    duplicated = ids[ids.duplicated(keep=False)]
    if len(duplicated):
        pairs = [f"{acc} ({cid})" for acc, cid in zip(a.loc[duplicated.index, "account_id"], duplicated, strict=True)]
        raise InputError(f"{crm} record ids must be unique, but accounts share one: {listing(pairs)}",
                         column="crm_id", fix="each account needs its own record id; merge the duplicates first")
    return ids


def rep_crm_users(team: pd.DataFrame, target: str, options: ExportOptions, *, needed: pd.Series | None = None
                  ) -> pd.Series:
    """The CRM user id of every territory's rep (None for open seats), or InputError listing
    the reps (not open seats) without one. ``needed``: only these territories must have one."""
    crm = CRM_LABELS[target]
    if "crm_id" in team.columns:
        users = id_column(team["crm_id"])
        if options.ids_are_crm_ids:
            users = users.fillna(team["rep_id"])
    elif options.ids_are_crm_ids:
        users = id_column(team["rep_id"])
    else:
        users = no_ids(team.index)
    users = pd.Series([None if seat else u for u, seat in zip(users, team["open"], strict=True)], index=team.index,
                      dtype=object)
    must = ~team["open"] if needed is None else (~team["open"] & needed)
    check_id_shapes(users.where(must, None), team["rep_id"].astype(str), target, CRM_OBJECTS[target][1],
                    "crm_id" if "crm_id" in team.columns else "rep_id")
    missing = team.loc[must & users.isna(), "rep_id"].astype(str).tolist()
    if missing:
        how = ("the reps file has no crm_id column" if "crm_id" not in team.columns
               else "their crm_id is blank")
        raise InputError(
            f"{len(missing)} rep(s) have no {crm} user id ({how}): {listing(missing)}",
            column="crm_id",
            fix=f"add each rep's {crm} user id in a crm_id column of the reps file (or import the reps with "
                f"'territory-planner import {target}'), or mark a seat without a person status: open, and plan "
                "again; or pass --ids-are-crm-ids if the rep_ids are the user ids")
    return users


def placement(plan: Plan, team: pd.DataFrame) -> pd.Series:
    """Each account's territory as a row position of ``team``."""
    position = {str(t): i for i, t in enumerate(team["territory_id"].astype(str))}
    return plan.assignments["territory_id"].astype(str).map(position)


def hierarchy_parents(plan: Plan, team: pd.DataFrame) -> tuple[list[str], list[list[tuple[str, str]]]]:
    """(levels, each territory's path of (level, value), outermost first) from the reps
    columns ``scenario.hierarchy.levels`` names; ([], []) without a hierarchy.

    A group has one parent in a CRM's tree, so a district whose territories lie in two
    regions is an error naming it.
    """
    spec = plan.scenario.hierarchy
    if spec is None:
        return [], []
    levels = list(spec.levels)
    missing = [lv for lv in levels if lv not in team.columns]
    if missing:
        raise InputError(f"the hierarchy level(s) {', '.join(missing)} are not columns of the plan's reps table",
                         column=missing[0], fix="export a plan whose reps.csv has the hierarchy columns")
    paths = []
    for _, row in team.iterrows():
        path = []
        for level in levels:
            value = id_text(row[level])
            if value is None:
                raise InputError(f"territory {row['territory_id']} has no {level} in the reps table",
                                 column=level, fix=f"fill {level} for rep {row['rep_id']} and plan again")
            path.append((level, value))
        paths.append(path)
    for depth in range(1, len(levels)):
        parent_of: dict[str, set[str]] = {}
        for path in paths:
            parent_of.setdefault(path[depth][1], set()).add(path[depth - 1][1])
        split = {g: sorted(p) for g, p in parent_of.items() if len(p) > 1}
        if split:
            group, parents = next(iter(sorted(split.items())))
            raise InputError(f"{levels[depth]} '{group}' lies in several {levels[depth - 1]}s ({', '.join(parents)}); "
                             "a CRM territory has one parent", column=levels[depth],
                             fix=f"give each {levels[depth]} a name of its own within its {levels[depth - 1]}")
    return levels, paths


def changed_note(n_changed: int, n_total: int, what: str) -> str:
    return (f"--changed-only: {n_total - n_changed:,} of {n_total:,} accounts keep today's rep and are left out "
            f"of {what}.")


def open_seat_notes(team: pd.DataFrame, names: list[str], where: pd.Series, account_ids: pd.Series,
                    what: str = "their owner is not updated", scope: pd.Series | None = None) -> list[str]:
    """One note per open seat holding accounts (within ``scope``): they need an owner,
    listed by CRM id (up to 50)."""
    notes = []
    for i in team.index[team["open"].to_numpy()]:
        held = account_ids[(where == i) & (True if scope is None else scope)]
        if len(held):
            notes.append(f"Open seat '{names[i]}' ({team.loc[i, 'territory_id']}) has no CRM user: its {len(held):,} "
                         f"account(s) need an owner ({what}): {listing(sorted(held), 50)}.")
    return notes


def escaped_cells(files: dict[str, str | bytes], limit: int = LISTED) -> str | None:
    """A note naming the cells of the CSV files written with a leading apostrophe (text
    starting with = + - @, tab or CR: CSV formula injection), or None if there are none."""
    import csv
    import io

    found: list[str] = []
    for name, content in sorted(files.items()):
        if not name.endswith(".csv") or not isinstance(content, str):
            continue
        rows = csv.reader(io.StringIO(content.lstrip(BOM)))
        header = next(rows, [])
        for row in rows:
            for column, cell in zip(header, row, strict=False):
                if cell.startswith("'") and cell[1:].startswith(FORMULA_PREFIXES):
                    found.append(f"`{cell}` ({name}, {column})")
    if not found:
        return None
    return (f"{len(found)} cell(s) start with = + - @ (or a tab or CR) and are written with a leading apostrophe, so "
            f"that a spreadsheet shows them as text instead of running them as a formula: {listing(found, limit)}. "
            "The CRM stores the apostrophe as part of the name: remove it there after loading, or rename the record "
            "in the plan.")

