"""What the exports share (``crm/export.py`` dispatches to them): options, the steps of
LOAD_ORDER.md, and the checks every CRM target makes on a Plan.

A target renders an :class:`Export` from a Plan alone: :func:`territory_team` (one row per
territory with its rep's columns), :func:`account_crm_ids` and :func:`rep_crm_users` (the
CRM's own ids, or an error listing the records without one, with the fix),
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

from territory_planner.errors import InputError
from territory_planner.outputs.files import csv_text
from territory_planner.plan import Plan

CRM_LABELS = {"salesforce": "Salesforce", "hubspot": "HubSpot", "dynamics": "Dynamics 365"}
BOM = "\ufeff"
#: How many ids an error or a note lists before "… and N more".
LISTED = 10


@dataclass(frozen=True)
class ExportOptions:
    """What the planner chose on the command line.

    ``changed_only``: only accounts whose rep differs from today's (``current_rep_id``).
    ``ids_are_crm_ids``: the plan's account_id and rep_id are the CRM's record and user
    ids (without it a CRM target needs ``crm_id`` columns, from ``territory-planner import``).
    ``label``: the run's label or name, used in names (the Salesforce model) and headers.
    ``salesforce_model``: ``new`` (a new Territory2Model in Planning state), ``current``
    (changes to the model the accounts were imported from) or ``auto`` (current when the
    plan came from a Salesforce territory import, else new).
    ``model_id``, ``type_id``: with the current model, the Territory2ModelId and a
    Territory2TypeId for territories new to the org (else the reps columns
    ``territory_model_id``/``territory_type_id``).
    ``role_in_territory``: RoleInTerritory2 of the reps' user associations (an org picklist).
    ``territory_property``: HubSpot's custom company property for the territory (None: none).
    """

    changed_only: bool = False
    ids_are_crm_ids: bool = False
    label: str | None = None
    salesforce_model: str = "auto"
    model_id: str | None = None
    type_id: str | None = None
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


def id_text(value) -> str | None:
    """An id cell as text: blank → None; ``12345.0`` (an all-digit id read as a number) → "12345"."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


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


def account_crm_ids(plan: Plan, target: str, options: ExportOptions) -> pd.Series:
    """The CRM record id of every account (index of ``plan.assignments``), or InputError
    listing the accounts without one (and the fix): ``crm_id`` from an import, or the
    account_id itself with ``--ids-are-crm-ids``. Duplicates are errors too."""
    a = plan.assignments
    crm = CRM_LABELS[target]
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
