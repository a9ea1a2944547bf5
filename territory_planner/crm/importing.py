"""What the three CRM imports share: reading an export, the planner's tables, writing the folder.

An import reads the CRM's own export files and writes, as one folder written whole
(:func:`territory_planner.outputs.files.write_folder`): ``accounts.csv`` and ``reps.csv``
in the planner's columns, a starter ``scenario.yaml`` and ``IMPORT_REPORT.md``
(:mod:`territory_planner.crm.starter`). The columns the CRM export relies on:

* accounts: ``account_id`` = ``crm_id`` = the CRM record id; ``crm``, the CRM the ids come
  from (salesforce, hubspot, dynamics: an export to another CRM refuses them); name,
  postal_code, city, state, country, lat, lon, ``location_source`` (crm / zip / city:
  where the point comes from), potential, workload, optional segment, ``current_rep_id``
  (a rep_id), and for territory imports ``territory_crm_id`` (and for Salesforce
  ``territory_association_id`` and ``owner_crm_id``, the account's OwnerId); ``--keep``
  fields after them, as numbers when every cell is one.
* reps: ``rep_id`` = ``crm_id`` = the CRM user id (an open seat, a territory without a
  user, has its territory's id as rep_id and no crm_id); ``crm``; name, email, lat, lon,
  ``location_source`` (crm / zip / city / accounts), capacity_hours, status, and for
  territory imports ``territory_crm_id``, ``territory_name`` (Salesforce also
  ``territory_developer_name``, ``territory_model_id``, ``territory_type_id``, the three
  ``territory_*_access_level`` and ``merged_territories``: see ``salesforce_import``).

Each CRM module (``salesforce_import``, ``hubspot_import``, ``dynamics_import``) reads its
files into an accounts frame (:func:`account_table`) and a users frame (:func:`user_table`)
with today's owner resolved (:func:`owner_ids`); :func:`assemble` then places every record
(:mod:`territory_planner.crm.places`), keeps the users who own or cover accounts as reps
and writes the report. Errors name the file, the row, the column and the fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from territory_planner.crm import places
from territory_planner.crm.formats import SOURCE_COLUMN, headers
from territory_planner.data.columns import cell_text, parse_numbers, row_numbers
from territory_planner.data.files import Table, read
from territory_planner.data.places import GIVEN, place_rows
from territory_planner.errors import InputError
from territory_planner.outputs.files import FORMULA_PREFIXES, csv_text, write_folder

#: FIELD.md §2: 220 days × 8 h × 0.6 selling share.
DEFAULT_CAPACITY_HOURS = 1056.0
DEFAULT_WORKLOAD_HOURS = 10.0
#: How many rows an error or the report lists before "and N more".
LISTED = 20
#: Accounts columns of a territory import, after current_rep_id: today's territory, the
#: association to delete when the account moves (Salesforce), the account's own owner
#: (Salesforce: OwnerId, when current_rep_id is the territory's user).
ACCOUNT_TERRITORY_COLUMNS = ("territory_crm_id", "territory_association_id", "owner_crm_id")
#: Reps columns of a territory import: the rep's territory (its Id, name, DeveloperName,
#: model, type and access levels, for the export) and the others a user held, merged.
REP_TERRITORY_COLUMNS = ("territory_crm_id", "territory_name", "territory_developer_name", "territory_model_id",
                         "territory_type_id", "territory_account_access_level", "territory_opportunity_access_level",
                         "territory_case_access_level", "merged_territories")


@dataclass(frozen=True)
class ImportOptions:
    """What the planner chooses on the command line (``territory-planner import … --help``)."""

    potential: str | None = None  # a numeric accounts field; None: the CRM's annual revenue
    workload_hours: float = DEFAULT_WORKLOAD_HOURS  # per account, a placeholder
    workload: str | None = None  # a numeric accounts field of hours per year (blank → workload_hours)
    segment: str | None = None  # an accounts field copied as segment
    keep: tuple[str, ...] = ()  # accounts fields copied as they are (e.g. to balance on)
    capacity_hours: float = DEFAULT_CAPACITY_HOURS
    skip_unplaced: bool = False  # leave out accounts without a point (listed) instead of failing
    all_users: bool = False  # every active user becomes a rep, not only those owning accounts
    territory_role: str = "Owner"  # Salesforce: the RoleInTerritory2 of a territory's rep


# --------------------------------------------------------------------------- reading exports


@dataclass(frozen=True)
class Export:
    """One CRM export as read: its cells, and which header holds each field it needs."""

    table: Table
    obj: str  # the object, as formats names it ("Account", "companies", "systemuser")
    what: str  # in messages: "Salesforce Account export"
    found: dict[str, str]  # field (formats name) → the file's header

    @property
    def file(self) -> str:
        return self.table.file

    @property
    def rows(self) -> np.ndarray:
        return row_numbers(self.table.frame)

    def __len__(self) -> int:
        return len(self.table.frame)

    def has(self, field_name: str) -> bool:
        return field_name in self.found

    def text(self, field_name: str) -> pd.Series:
        """The field's cells as stripped text ("" where blank), all "" when absent."""
        if field_name not in self.found:
            return pd.Series([""] * len(self), dtype="str")
        return cell_text(self.table.frame[self.found[field_name]]).reset_index(drop=True)

    def header(self, field_name: str) -> str:
        return self.found.get(field_name, field_name)

    def missing(self, field_name: str) -> InputError:
        names = headers(self.obj, field_name)
        also = f" (or {', '.join(repr(n) for n in names[1:])})" if len(names) > 1 else ""
        return InputError(
            f"the {self.what} has no column '{field_name}'",
            file=self.file, row=self.table.header_row, column=field_name,
            fix=f"export the field {field_name}{also} too{self._close(names)}; the file has: {shown(self.columns())}",
        )

    def _close(self, names: Iterable[str]) -> str:
        """' (did you mean 'X'?)' for the file's header spelt most like one of ``names``."""
        by_key = {c.lower(): c for c in self.columns()}
        for name in names:
            close = difflib.get_close_matches(name.lower(), list(by_key), n=1, cutoff=0.6)
            if close:
                return f" (did you mean '{by_key[close[0]]}'?)"
        return ""

    def columns(self) -> list[str]:
        return [str(c) for c in self.table.frame.columns if c != "_row"]

    def user_field(self, name: str, option: str) -> str:
        """The header of a field the planner names (``--potential AnnualRevenue``), or of one of
        the other headers the CRM writes for it ("Annual Revenue" in a report)."""
        by_key = {header.strip().lower(): header for header in self.columns()}
        for candidate in headers(self.obj, name.strip()):
            if candidate.lower() in by_key:
                return by_key[candidate.lower()]
        raise InputError(
            f"the {self.what} has no column '{name}' (named by {option})",
            file=self.file, row=self.table.header_row, column=name,
            fix=f"name one of its columns with {option}{self._close([name])}, or export that field too; the file "
                f"has: {shown(self.columns())}",
        )


def read_export(path, obj: str, what: str, fields: Iterable[str], required: Iterable[str] = ()) -> Export:
    """Read a CRM export (CSV, Excel, …) and find the header of each of ``fields``.

    A field matches its own name or the other headers :data:`formats.HEADERS` lists for it,
    without regard to case (Data Loader writes ``BILLINGCITY``); the first present wins.
    A missing ``required`` field is an error naming the file and the columns it has.
    """
    if not Path(path).exists():
        raise InputError("file not found", file=path, fix=f"check the path of the {what}")
    return find_fields(read(path), obj, what, fields, required)


def find_fields(table: Table, obj: str, what: str, fields: Iterable[str], required: Iterable[str] = ()) -> Export:
    by_key = {str(c).strip().lower(): str(c) for c in table.frame.columns if c != "_row"}
    found = {}
    for name in fields:
        header = next((by_key[h.lower()] for h in headers(obj, name) if h.lower() in by_key), None)
        if header is not None:
            found[name] = header
    export = Export(table, obj, what, found)
    for name in required:
        if name not in found:
            raise export.missing(name)
    return export


def shown(items: Iterable, limit: int = 12) -> str:
    items = [str(i) for i in items]
    return ", ".join(items[:limit]) + (f", … ({len(items) - limit} more)" if len(items) > limit else "")


def listing(pairs: list[tuple[int, str]], what: str = "row") -> str:
    """'row 3 (…), row 7 (…)' for at most LISTED pairs, then 'and N more'."""
    text = "; ".join(f"{what} {r}{f' ({d})' if d else ''}" for r, d in pairs[:LISTED])
    return text + (f"; and {len(pairs) - LISTED} more" if len(pairs) > LISTED else "")


def id_cells(export: Export, field_name: str, *, normalise: Callable[[str], str] = str, unique: bool = True,
             what: str = "id") -> pd.Series:
    """A required id field: never blank, unique (``unique``), kept as the CRM writes it.

    ``normalise`` maps equivalent forms to one (Salesforce 15 → 18 characters, Dynamics
    GUIDs without braces). An id starting with = + - @ is refused: Excel-safe CSV would
    write it with a leading apostrophe and it would no longer match the CRM's record.
    """
    text = export.text(field_name).map(normalise)
    rows = export.rows
    blank = [(int(r), "") for r, t in zip(rows, text, strict=True) if not t]
    if blank:
        raise InputError(f"the {what} is blank in {len(blank)} row(s): {listing(blank)}", file=export.file,
                         row=blank[0][0], column=export.header(field_name),
                         fix=f"export the {field_name} of every record, or delete the rows without one")
    risky = [(int(r), repr(t)) for r, t in zip(rows, text, strict=True) if t.startswith(FORMULA_PREFIXES)]
    if risky:
        raise InputError(f"an {what} starts with = + - or @ ({listing(risky)}); a spreadsheet would read it as a "
                         "formula, so the planner's files cannot keep it as written", file=export.file,
                         row=risky[0][0], column=export.header(field_name),
                         fix="check the column is the record id the CRM exports")
    if unique:
        seen: dict[str, int] = {}
        repeated = []
        for r, t in zip(rows, text, strict=True):
            if t in seen:
                repeated.append((int(r), f"{t!r}, as row {seen[t]}"))
            seen.setdefault(t, int(r))
        if repeated:
            raise InputError(f"the same {what} appears twice: {listing(repeated)}", file=export.file,
                             row=repeated[0][0], column=export.header(field_name),
                             fix="export each record once (remove duplicate rows)")
    return text


def number_cells(export: Export, header: str, *, what: str, option: str) -> tuple[np.ndarray, np.ndarray]:
    """A numeric field the planner chose: (values, blank). Text, inf or negative are errors."""
    series = export.table.frame[header].reset_index(drop=True)
    values, blank, not_a_number, not_finite = parse_numbers(series)
    bad = not_a_number | not_finite | (~blank & ~not_finite & (values < 0))
    if bad.any():
        pairs = [(int(r), repr(v)) for r, v, b in zip(export.rows, series, bad, strict=True) if b]
        raise InputError(f"not a number of 0 or more for {what} in {len(pairs)} row(s): {listing(pairs)}",
                         file=export.file, row=pairs[0][0], column=header,
                         fix=f"export the field as plain digits (12000, not '12k' or '$12,000'), or name another "
                             f"field with {option}")
    return values, blank


# --------------------------------------------------------------------------- the accounts


@dataclass(frozen=True)
class AccountFields:
    """Which fields of a CRM's accounts export hold what the planner reads."""

    id: str
    name: str
    postal_code: str
    city: str
    state: str
    country: str
    lat: str
    lon: str
    potential: str  # the default potential field (annual revenue)


def account_table(export: Export, names: AccountFields, options: ImportOptions, *,
                  normalise: Callable[[str], str] = str) -> tuple[pd.DataFrame, dict]:
    """The accounts of an export in the planner's columns (points not yet placed).

    Returns the frame (account_id, crm_id, name, segment?, postal_code, city, state,
    country, lat, lon — NaN where the CRM has none —, potential, workload, kept fields,
    ``_row``) and facts for the report (the potential field, blank potentials, …).
    """
    ids = id_cells(export, names.id, normalise=normalise, what=f"{names.id} (the record id)")
    n = len(ids)
    frame = pd.DataFrame({"account_id": ids, "crm_id": ids})
    name = export.text(names.name)
    frame["name"] = name.where(name != "", ids)
    if options.segment:
        header = export.user_field(options.segment, "--segment")
        frame["segment"] = cell_text(export.table.frame[header]).reset_index(drop=True)
    for column, field_name in (("postal_code", names.postal_code), ("city", names.city), ("state", names.state),
                               ("country", names.country)):
        frame[column] = export.text(field_name)
    for column, field_name in (("lat", names.lat), ("lon", names.lon)):
        frame[column] = coordinates(export, field_name, column)
    potential_field = export.user_field(options.potential or names.potential, "--potential")
    potential, blank = number_cells(export, potential_field, what="potential", option="--potential")
    frame["potential"] = np.where(blank, 0.0, potential)
    if options.workload:
        workload_field = export.user_field(options.workload, "--workload")
        hours, no_hours = number_cells(export, workload_field, what="workload (hours per year)", option="--workload")
        frame["workload"] = np.where(no_hours, options.workload_hours, hours)
        workload_blank = int(no_hours.sum())
    else:
        workload_field, workload_blank = None, n
        frame["workload"] = np.full(n, float(options.workload_hours))
    reserved = {"account_id", "crm_id", SOURCE_COLUMN, "name", "segment", "postal_code", "city", "state", "country",
                "lat", "lon", "location_source", "potential", "workload", "current_rep_id", "locked_rep_id", "unit_id",
                *ACCOUNT_TERRITORY_COLUMNS}
    for kept in options.keep:
        header = export.user_field(kept, "--keep")
        if header.strip().lower().replace(" ", "_") in reserved:
            raise InputError(f"--keep {kept}: the planner's accounts.csv already has a column '{header}'",
                             file=export.file, column=header, fix="keep other fields; this one is imported already (or name it "
                                                "with --potential, --workload or --segment)")
        frame[header] = kept_cells(export.table.frame[header].reset_index(drop=True))
    frame["_row"] = export.rows
    facts = {"potential_field": potential_field, "potential_blank": int(blank.sum()),
             "workload_field": workload_field, "workload_blank": workload_blank,
             "segment_field": options.segment, "accounts_read": n}
    return frame, facts


_CODE = re.compile(r"[+-]?0[0-9]")  # a zero-padded code (ZIP 02108, account number 0042): text


def kept_cells(series: pd.Series) -> pd.Series:
    """A ``--keep`` field as numbers when every filled cell is a finite number (blank → NaN),
    so that ``-5`` is written -5 (not the text ``'-5``, escaped as a formula) and can be
    balanced on; as text otherwise, and for zero-padded codes, whose zeros would be lost."""
    text = cell_text(series)
    values, blank, not_a_number, not_finite = parse_numbers(series)
    filled = ~blank
    if not filled.any() or (not_a_number | not_finite).any() or text[filled].str.match(_CODE).any():
        return text
    whole = np.all(values[filled] == np.round(values[filled])) and np.all(np.abs(values[filled]) < 2**53)
    return pd.Series(values, index=series.index).astype("Int64" if whole else "float64")


def coordinates(export: Export, field_name: str, column: str) -> np.ndarray:
    """A coordinate field as floats, NaN where blank or absent; a non-number is an error."""
    if not export.has(field_name):
        return np.full(len(export), np.nan)
    series = export.table.frame[export.header(field_name)].reset_index(drop=True)
    values, _, not_a_number, not_finite = parse_numbers(series)
    limit = 90 if column == "lat" else 180
    bad = not_a_number | not_finite | (np.abs(np.nan_to_num(values)) > limit)
    if bad.any():
        pairs = [(int(r), repr(v)) for r, v, b in zip(export.rows, series, bad, strict=True) if b]
        raise InputError(f"not a {'latitude' if column == 'lat' else 'longitude'} in decimal degrees "
                         f"(-{limit}..{limit}): {listing(pairs)}", file=export.file, row=pairs[0][0],
                         column=export.header(field_name),
                         fix="correct the coordinates in the CRM, or clear them (the import then places the "
                             "record by its ZIP code or city)")
    return values


# --------------------------------------------------------------------------- the users


def user_table(export: Export, *, id_field: str, name: str | pd.Series, email: str, active: np.ndarray,
               address: dict[str, str] | None = None, normalise: Callable[[str], str] = str) -> pd.DataFrame:
    """The users of an export: rep_id, crm_id, name, email, active, open_seat, address, lat/lon.

    ``address`` maps postal_code, city, state, country, lat, lon to the export's fields
    (missing ones are blank). ``name`` is a field or the names already built.
    """
    ids = id_cells(export, id_field, normalise=normalise, what=f"{id_field} (the user id)")
    names = name if isinstance(name, pd.Series) else export.text(name)
    frame = pd.DataFrame({"rep_id": ids, "crm_id": ids, "name": names.where(names != "", ids).to_numpy(),
                          "email": export.text(email).to_numpy() if email else "", "active": np.asarray(active, bool),
                          "open_seat": False})
    address = address or {}
    for column in ("postal_code", "city", "state", "country"):
        frame[column] = export.text(address[column]).to_numpy() if column in address else ""
    for column in ("lat", "lon"):
        frame[column] = coordinates(export, address[column], column) if column in address else np.nan
    frame["_row"] = export.rows
    return frame


def truthy(values: pd.Series, *, default: bool) -> np.ndarray:
    """CRM booleans: true/1/yes/y/t (any case) → True; false/0/no/n/f → False; blank → default."""
    text = values.str.strip().str.lower()
    return np.where(text == "", default, text.isin(["true", "1", "yes", "y", "t", "active", "enabled"]))


# --------------------------------------------------------------------------- owners


def owner_ids(values: pd.Series, users: pd.DataFrame, export: Export, field_name: str, *,
              normalise: Callable[[str], str] = str, what: str = "owner",
              fix: str = "export every user who owns accounts, inactive ones too (users who left still own accounts "
                         "until they are reassigned), and import again") -> np.ndarray:
    """Each account's owner as a rep_id: matched by user id, else email, else full name.

    Blank → None (no owner today). A value matching no user, or a name two users share,
    is an error listing every such value with its rows.
    """
    by_id = {rid: rid for rid in users["rep_id"]}
    by_email: dict[str, str] = {}
    by_name: dict[str, list[str]] = {}
    for rid, email, name in zip(users["rep_id"], users["email"], users["name"], strict=True):
        if email:
            by_email.setdefault(str(email).lower(), rid)
        by_name.setdefault(" ".join(str(name).lower().split()), []).append(rid)
    out = np.empty(len(values), dtype=object)
    unknown: dict[str, list[int]] = {}
    ambiguous: dict[str, list[int]] = {}
    for i, (raw, row) in enumerate(zip(values, export.rows, strict=True)):
        text = str(raw).strip()
        if not text:
            out[i] = None
            continue
        key = normalise(text)
        named = by_name.get(" ".join(text.lower().split()), [])
        found = by_id.get(key) or by_email.get(text.lower()) or (named[0] if len(named) == 1 else None)
        if found is None and len(named) > 1:
            ambiguous.setdefault(text, []).append(int(row))
        elif found is None:
            unknown.setdefault(text, []).append(int(row))
        out[i] = found
    header = export.header(field_name)
    if unknown:
        pairs = [(rows[0], f"{value!r}{_more_rows(rows)}") for value, rows in unknown.items()]
        raise InputError(f"{len(unknown)} {what}(s) are not in the users export: "
                         f"{'; '.join(f'{d} in row {r}' for r, d in pairs[:LISTED])}"
                         f"{f'; and {len(pairs) - LISTED} more' if len(pairs) > LISTED else ''}",
                         file=export.file, row=pairs[0][0], column=header, fix=fix)
    if ambiguous:
        pairs = [(rows[0], f"{value!r}{_more_rows(rows)}") for value, rows in ambiguous.items()]
        raise InputError(f"{len(ambiguous)} {what} name(s) belong to several users: "
                         f"{'; '.join(f'{d} in row {r}' for r, d in pairs[:LISTED])}",
                         file=export.file, row=pairs[0][0], column=header,
                         fix="export the owner's email or id instead of the name")
    return out


def _more_rows(rows: list[int]) -> str:
    return f" (and {len(rows) - 1} more row{'s' if len(rows) > 2 else ''})" if len(rows) > 1 else ""


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class Imported:
    """An import's result: the planner's tables, the starter scenario and the report."""

    crm: str
    accounts: pd.DataFrame
    reps: pd.DataFrame
    scenario: str  # scenario.yaml text
    report: str  # IMPORT_REPORT.md text
    facts: dict = field(default_factory=dict)  # counts the CLI prints

    def files(self) -> dict[str, str]:
        return {"accounts.csv": csv_text(self.accounts), "reps.csv": csv_text(self.reps),
                "scenario.yaml": self.scenario, "IMPORT_REPORT.md": self.report}


def write_import(imported: Imported, out_dir) -> dict[str, Path]:
    """Write the import as the whole of folder ``out_dir`` (refused if it holds other files)."""
    return write_folder(out_dir, imported.files())


def assemble(crm: str, accounts: pd.DataFrame, users: pd.DataFrame, accounts_export: Export, options: ImportOptions,
             facts: dict, sources: dict[str, Export]) -> Imported:
    """Place every account and rep, keep the users who own accounts as reps, write the report.

    ``accounts`` has ``current_rep_id`` (rep_ids of ``users``, or None) and any territory
    columns; ``users`` may hold open seats (``open_seat``). Accounts without a point are
    an error naming each row, or with ``skip_unplaced`` left out and listed.
    """
    from territory_planner.crm.starter import import_report, review_points, starter_scenario

    accounts = accounts.copy()
    placed = place_rows(accounts["lat"], accounts["lon"], accounts["postal_code"], accounts["city"],
                        accounts["state"], accounts["country"])
    lat, lon, source = placed.lat, placed.lon, np.where(placed.source == GIVEN, "crm", placed.source).astype(object)
    accounts["lat"], accounts["lon"], accounts["location_source"] = lat, lon, source
    unplaced = source == ""
    skipped = [(int(r), f"{i}, {n!r}: {places.why_not_placed(p, c, s, k)}")
               for r, i, n, p, c, s, k, u in zip(accounts["_row"], accounts["account_id"], accounts["name"],
                                                 accounts["postal_code"], accounts["city"], accounts["state"],
                                                 accounts["country"], unplaced, strict=True) if u]
    if skipped and not options.skip_unplaced:
        raise InputError(f"{len(skipped)} account(s) cannot be placed on the map: {listing(skipped)}",
                         file=accounts_export.file, row=skipped[0][0],
                         fix="add coordinates, a US ZIP code or a US city and state to these accounts in the CRM "
                             "and export again, or import with --skip-unplaced to leave them out (they are "
                             "listed in IMPORT_REPORT.md)")
    accounts = accounts[~unplaced].reset_index(drop=True)
    if accounts.empty:
        raise InputError("no account is left to plan", file=accounts_export.file,
                         fix="check the export holds the accounts, with addresses or coordinates")
    reps, left_out, unplaced_users = _reps(accounts, users, options)
    if reps.empty:
        raise InputError("no user owns any of the accounts, so there is no rep to plan for",
                         file=accounts_export.file, column="owner",
                         fix="export the accounts with their owner field, or import with --all-users")
    facts = {**facts, "accounts": len(accounts), "skipped": skipped, "users_read": int((~users["open_seat"]).sum()),
             "left_out": left_out, "unplaced_users": unplaced_users,
             "unowned": int(accounts["current_rep_id"].isna().sum()),
             "account_sources": _counts(accounts["location_source"]),
             "rep_sources": _counts(reps["location_source"]),
             "open_seats": reps.loc[reps["status"] == "open", ["rep_id", "name"]].to_numpy().tolist(),
             "reps": len(reps)}
    accounts = _account_columns(accounts, options, crm)
    reps = _rep_columns(reps, options, crm)
    points = review_points(accounts, reps, options, facts)
    scenario = starter_scenario(crm, options, points)
    report = import_report(crm, accounts, reps, facts, sources, points)
    return Imported(crm, accounts, reps, scenario, report, {**facts, "review": points})


def _counts(series: pd.Series) -> dict[str, int]:
    return {k: int(v) for k, v in series.value_counts().items()}


def _reps(accounts: pd.DataFrame, users: pd.DataFrame, options: ImportOptions):
    owned = accounts.dropna(subset=["current_rep_id"]).groupby("current_rep_id")
    owners = set(owned.groups)
    keep = users["rep_id"].isin(owners) | (options.all_users & users["active"] & ~users["open_seat"])
    left_out = users.loc[~keep & ~users["open_seat"], ["rep_id", "name", "active"]].to_numpy().tolist()
    reps = users[keep].reset_index(drop=True).copy()
    placed = place_rows(reps["lat"], reps["lon"], reps["postal_code"], reps["city"], reps["state"], reps["country"])
    lat, lon, source = placed.lat, placed.lon, np.where(placed.source == GIVEN, "crm", placed.source).astype(object)
    for i, rid in enumerate(reps["rep_id"]):
        if source[i] == "" and rid in owners:
            mine = accounts.loc[owned.groups[rid]]
            lat[i], lon[i] = places.weighted_centre(mine["lat"].to_numpy(float), mine["lon"].to_numpy(float),
                                                    mine["potential"].to_numpy(float))
            source[i] = "accounts"
    reps["lat"], reps["lon"], reps["location_source"] = lat, lon, source
    unplaced = reps["location_source"] == ""
    unplaced_users = reps.loc[unplaced, ["rep_id", "name"]].to_numpy().tolist()
    reps = reps[~unplaced].reset_index(drop=True)
    reps["status"] = np.where(reps["open_seat"] | ~reps["active"], "open", "active")
    reps["capacity_hours"] = float(options.capacity_hours)
    return reps, left_out, unplaced_users


def _whole(values: pd.Series) -> pd.Series:
    """Whole-number floats as integers, so 120000.0 is written 120000."""
    v = values.to_numpy(float)
    return values.astype("int64") if np.all(np.isfinite(v) & (v == np.round(v))) and np.all(np.abs(v) < 2**53) else values


def _account_columns(accounts: pd.DataFrame, options: ImportOptions, crm: str) -> pd.DataFrame:
    accounts = accounts.assign(**{SOURCE_COLUMN: crm})
    first = ["account_id", "crm_id", SOURCE_COLUMN, "name", *(["segment"] if options.segment else []), "postal_code",
             "city", "state", "country", "lat", "lon", "location_source", "potential", "workload", "current_rep_id",
             *[c for c in ACCOUNT_TERRITORY_COLUMNS if c in accounts]]
    out = accounts[first + [c for c in accounts.columns if c not in first and c != "_row"]].copy()
    out["lat"], out["lon"] = out["lat"].round(6), out["lon"].round(6)
    out["potential"], out["workload"] = _whole(out["potential"]), _whole(out["workload"])
    return out


def _rep_columns(reps: pd.DataFrame, options: ImportOptions, crm: str) -> pd.DataFrame:
    reps = reps.assign(**{SOURCE_COLUMN: crm})
    territory = [c for c in REP_TERRITORY_COLUMNS if c in reps]
    out = reps[["rep_id", "crm_id", SOURCE_COLUMN, "name", "email", "lat", "lon", "location_source", "capacity_hours",
                "status", *territory]].copy()
    out["lat"], out["lon"] = out["lat"].round(6), out["lon"].round(6)
    out["capacity_hours"] = _whole(out["capacity_hours"])
    return out
