"""Input tables as the CRM gives them: a scenario's ``data.accounts`` / ``data.reps`` mapping.

A scenario names a table as a plain path, or as a mapping that says how to read a CRM
export without editing it (scenario/parse.py, ``TableSpec``)::

    data:
      accounts:
        file: crm/Account.csv
        columns: {account_id: Id, name: Name, postal_code: BillingPostalCode,
                  lat: BillingLatitude, lon: BillingLongitude, potential: AnnualRevenue,
                  current_rep_id: OwnerId}
        geocode: {on_missing: skip}
      reps: {file: crm/Users.xlsx, sheet: Reps, header_row: 3, columns: {rep_id: Id, city: City, state: State}}

``columns`` maps a planner column (the target) to the file's header (the source). An
unknown target is a :class:`~territory_planner.errors.ScenarioError` listing the valid
targets; a source the file does not have is an
:class:`~territory_planner.errors.InputError` listing the file's headers; both suggest
the nearest. A mapped target wins over a header that would otherwise mean the same column
(``Name`` when ``name: Account_Name__c`` is mapped): that header is left out, and a note
says so. An error on a mapped column names the file's header and the planner's column,
``column 'AnnualRevenue' (potential)`` (:func:`file_terms`).

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "Account.csv"
>>> _ = p.write_text("Id,AnnualRevenue,Name\\n001A,5000,Acme\\n")
>>> table = open_source(Source(p, columns={"account_id": "Id", "potential": "AnnualRevenue"}),
...                     kind="accounts", canonical=["account_id", "name", "potential"])
>>> list(table.frame.columns)
['account_id', 'potential', 'Name', '_row']
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from territory_planner.data.columns import COORDINATE_ALIASES, header_key
from territory_planner.data.files import ROW, Table, read
from territory_planner.errors import InputError, ScenarioError

Kind = Literal["accounts", "reps"]

#: Columns a mapping may fill besides the loader's canonical ones: what places a row
#: (data/places.py), what capacity planning reads (capacity/workload.py, planning.py),
#: the reps columns the model reads (ramp, target_share) and the CRM's own ids and fields
#: the export back to it reads (crm/: crm_id, the territory ids, the owner's email).
PLACE_TARGETS = ("postal_code", "city", "state", "country")
CRM_TARGETS: dict[str, tuple[str, ...]] = {  # accounts: also the columns pipeline carries into a plan
    "accounts": ("crm_id", "territory_crm_id", "territory_association_id", "owner_crm_id", "crm"),
    "reps": ("crm_id", "email", "territory_crm_id", "territory_name", "territory_developer_name"),
}
EXTRA_TARGETS: dict[str, tuple[str, ...]] = {
    "accounts": (*PLACE_TARGETS, "region", "revenue_last_year", "calls_per_year", "minutes_per_call",
                 "travel_minutes_per_call", "account_management_hours", *CRM_TARGETS["accounts"]),
    "reps": (*PLACE_TARGETS, "region", "ramp", "target_share", *CRM_TARGETS["reps"]),
}


@dataclass(frozen=True)
class Source:
    """Where an input table comes from and how to read it (a scenario's ``data.accounts``)."""

    file: Path
    columns: Mapping[str, str] = field(default_factory=dict)  # target → the file's header
    sheet: str | int | None = None
    header_row: int | None = None
    on_missing: Literal["error", "skip"] = "error"  # rows without coordinates that cannot be placed
    key: str = ""  # the scenario key that names the table, e.g. "data.accounts" (for messages)
    scenario_file: Path | None = None
    scenario_columns: tuple[str, ...] = ()  # columns the scenario reads (balance, hierarchy, …): valid targets


@dataclass(frozen=True)
class Loaded:
    """A loaded table and what loading it did (how it was read, rows placed or left out)."""

    frame: pd.DataFrame
    notes: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()  # ids of the rows left out (no place, ``geocode: {on_missing: skip}``)
    mapped: Mapping[str, str] = field(default_factory=dict)  # planner's column → the file's header (columns:)


def source_of(scenario, kind: Kind) -> Source | None:
    """The scenario's accounts or reps table as a :class:`Source` (None without a reps file)."""
    spec = scenario.data.table(kind)
    if spec is None:
        return None
    return Source(
        file=scenario.path(spec.file), columns=dict(spec.columns), sheet=spec.sheet, header_row=spec.header_row,
        on_missing=spec.geocode.on_missing, key=f"data.{kind}", scenario_file=scenario.source,
        scenario_columns=_scenario_columns(scenario, kind),
    )


def _scenario_columns(scenario, kind: Kind) -> tuple[str, ...]:
    """The columns of ``kind``'s table the scenario refers to by name."""
    names: list[str] = []
    capacity = scenario.capacity_plan
    if capacity is not None and capacity.regions is not None:
        names.append(capacity.regions.column)
    if kind == "accounts":
        names += [*scenario.balance, *(scenario.hierarchy.balance if scenario.hierarchy else {})]
        names += [c for overlay in scenario.overlays for c in overlay.balance]
        if scenario.continuity.by != "accounts":
            names.append(scenario.continuity.by)
    elif scenario.hierarchy:
        names += scenario.hierarchy.levels
    return tuple(dict.fromkeys(names))


def valid_targets(kind: Kind, canonical: list[str], source: Source) -> list[str]:
    """Every name a ``columns:`` mapping may use as a target, canonical ones first."""
    return list(dict.fromkeys([*canonical, *EXTRA_TARGETS[kind], *source.scenario_columns]))


def open_source(path, *, kind: Kind, canonical: list[str]) -> Table:
    """Read a :class:`Source` (or a path, or an already read :class:`Table`) and apply its mapping."""
    if isinstance(path, Table):
        return path
    source = path if isinstance(path, Source) else Source(Path(path))
    table = read(source.file, sheet=source.sheet, header_row=source.header_row)
    if not source.columns:
        return table
    return map_columns(table, source, valid_targets(kind, canonical, source), kind)


def map_columns(table: Table, source: Source, valid: list[str], kind: Kind) -> Table:
    """``table`` with the mapped headers renamed to their targets (see the module docstring)."""
    frame = table.frame
    geometry = getattr(frame, "_geometry_column_name", None)
    key = source.key or f"data.{kind}"
    unknown = [t for t in source.columns if t not in valid]
    if unknown:
        raise _unknown_targets(unknown, valid, source, key)
    headers = [str(c) for c in frame.columns if c != ROW and c != geometry]
    sources = {target: _find_header(header, headers) for target, header in source.columns.items()}
    missing = [(target, source.columns[target]) for target, found in sources.items() if found is None]
    if missing:
        raise _missing_sources(missing, headers, table, key)
    mapped = set(sources.values())
    targets_by_source: dict[str, list[str]] = {}
    for target, header in sources.items():
        targets_by_source.setdefault(header, []).append(target)
    # A header that would match a mapped target on its own name ("Name" for name) gives way to the mapping.
    aliases = {**COORDINATE_ALIASES}
    shadowed = [h for h in headers if h not in mapped and _meaning(h, aliases) in sources]
    plan: list[tuple[str, str]] = []  # (new name, the frame's column)
    for column in frame.columns:
        if column in targets_by_source:
            plan += [(target, column) for target in targets_by_source[column]]
        elif column not in shadowed:
            plan.append((column, column))
    selected = frame[[old for _, old in plan]]
    selected = selected.set_axis([new for new, _ in plan], axis=1)
    if geometry is not None:
        selected = selected.set_geometry(geometry)
    notes = [f"{kind}: column '{h}' not read: {key}.columns reads {_meaning(h, aliases)} from "
             f"'{sources[_meaning(h, aliases)]}'" for h in shadowed]
    return Table(selected, table.file, table.header_row, (*table.notes, *notes), mapped=sources)


class MappedColumnError(InputError):
    """An :class:`InputError` on a column a ``columns:`` mapping renamed: it names the
    file's header (``column``), then the planner's column (``target``), as in
    ``column 'AnnualRevenue' (potential)``."""

    def __init__(self, problem: str, *, target: str | None = None, **where) -> None:
        self.target = target
        super().__init__(problem, **where)

    def render(self) -> str:
        text = super().render()
        if self.target and self.column:
            text = text.replace(f"column '{self.column}'", f"column '{self.column}' ({self.target})", 1)
        return text


def in_file_terms(error: InputError, file, mapped: Mapping[str, str]) -> InputError:
    """``error`` naming the file's header beside the planner's column when it is about a
    mapped column of ``file``; any other error as it is.

    >>> error = InputError("not a number", file="A.csv", row=4, column="potential", value="15k")
    >>> str(in_file_terms(error, "A.csv", {"potential": "AnnualRevenue"}))
    "A.csv, row 4, column 'AnnualRevenue' (potential): not a number (value: '15k')"
    >>> in_file_terms(error, "B.csv", {"potential": "AnnualRevenue"}) is error
    True
    """
    if type(error) is not InputError or error.file != str(file) or error.column not in mapped:
        return error
    header = mapped[error.column]
    if header == error.column:
        return error
    return MappedColumnError(error.problem, file=error.file, row=error.row, column=header, value=error.value,
                             fix=error.fix, target=error.column)


@contextmanager
def file_terms(*tables: Table | tuple[str, Mapping[str, str]]):
    """Errors raised inside name the file's header of a mapped column (:func:`in_file_terms`).

    ``tables``: read tables, or (file, mapping) pairs.
    """
    pairs = [(t.file, t.mapped) if isinstance(t, Table) else t for t in tables]
    try:
        yield
    except InputError as error:
        for file, mapped in pairs:
            named = in_file_terms(error, file, mapped)
            if named is not error:
                raise named.with_traceback(error.__traceback__) from None
        raise


def _meaning(header: str, aliases: dict[str, str]) -> str:
    key = header_key(header)
    return aliases.get(key, key)


def _find_header(name: str, headers: list[str]) -> str | None:
    """The file's header ``name`` names: itself, or the one header equal but for case and spacing."""
    if name in headers:
        return name
    same = [h for h in headers if header_key(h) == header_key(name)]
    return same[0] if len(same) == 1 else None


def nearest(name: str, names: list[str]) -> str | None:
    """The name of ``names`` most like ``name``: one that begins with it, else the closest spelling.

    >>> nearest("BillingLat", ["BillingState", "BillingLatitude"]), nearest("Potentail", ["potential", "name"])
    ('BillingLatitude', 'potential')
    """
    key = header_key(name)
    starts = [n for n in names if header_key(n).startswith(key) or (key.startswith(header_key(n)) and len(n) > 2)]
    if starts:
        return starts[0]
    keys = {header_key(n): n for n in names}
    close = difflib.get_close_matches(key, list(keys), n=1, cutoff=0.6)
    return keys[close[0]] if close else None


def _unknown_targets(unknown: list[str], valid: list[str], source: Source, key: str) -> ScenarioError:
    first = unknown[0]
    hints = []
    for target in unknown:
        close = nearest(target, valid)
        hints.append(f"'{target}': did you mean '{close}'?" if close else
                     f"'{target}' is not a planner column: leave it out (a column you do not map is read "
                     "under its own header)")
    file, row = _where(source, (*key.split("."), "columns", first))
    names = ", ".join(f"'{t}'" for t in unknown)
    return ScenarioError(
        f"{key}.columns maps {'an unknown column' if len(unknown) == 1 else f'{len(unknown)} unknown columns'}: "
        f"{names}; the targets (left of ':') are the planner's column names",
        file=file, row=row, column=f"{key}.columns.{first}", value=first,
        fix=f"{'; '.join(hints)}. Valid targets: {', '.join(valid)}",
    )


def _missing_sources(missing: list[tuple[str, str]], headers: list[str], table: Table, key: str) -> InputError:
    """Every mapped source the file does not have, with the nearest header of each."""
    parts = []
    for target, header in missing:
        close = nearest(header, headers)
        parts.append(f"{target}: '{header}'" + (f" (did you mean '{close}'?)" if close else ""))
    shown = ", ".join(f"'{h}'" for h in headers[:40]) + (f", … ({len(headers)} in all)" if len(headers) > 40 else "")
    return InputError(
        f"{key}.columns names {'a column' if len(missing) == 1 else f'{len(missing)} columns'} the file does not "
        f"have: {'; '.join(parts)}",
        file=table.file, row=table.header_row, column=missing[0][1], value=missing[0][1],
        fix=f"write the header exactly as in the file (right of ':'); the file's columns: {shown}",
    )


def _where(source: Source, key: tuple) -> tuple[Path | None, int | None]:
    """The scenario file (of an ``extends`` chain) and line that wrote ``key``, when it can be read."""
    if source.scenario_file is None:
        return None, None
    from territory_planner.scenario.extends import resolve

    try:
        found = resolve(source.scenario_file).wrote(key)
    except (ScenarioError, OSError):
        found = None
    return found if found is not None else (source.scenario_file, None)
