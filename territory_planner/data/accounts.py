"""Loading accounts: the customers a territory plan assigns to reps.

The canonical frame, in this column order:

==================  =========================================================
account_id          str, unique, never blank
name                str (blank → account_id)
segment             str (blank → "All")
lat, lon / x, y     float; lat/lon for ``geometry="geographic"``, x/y for planar
potential           float ≥ 0 (what the account could buy)
workload            float ≥ 0 (hours per year to serve it)
current_rep_id      str, or None where blank (today's owner)
locked_rep_id       str, or None (must stay with / go to this rep)
postal_code         str or None, as written ("02134" keeps its zero)
unit_id             str or None (geographic unit the account rolls up to)
…                   every other column of the file; amounts as float
_row                int: the row a planner sees in the file
==================  =========================================================

Headers match whatever their case, spacing or '-' (``"Account ID"`` is ``account_id``);
``latitude``/``longitude``/``lng`` are accepted for lat/lon. A scenario's ``columns:``
mapping reads a CRM export as it is (data/sources.py). In a geographic scenario, rows
without coordinates (blank, or 0, 0) are placed by their US ZIP code, else by city + state
(data/places.py).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import numpy as np
import pandas as pd

from territory_planner.data.columns import (
    coordinate_names,
    extra_columns,
    first_problem,
    id_column,
    missing_column,
    number_column,
    open_table,
    optional_text,
    row_numbers,
    text_with_default,
)
from territory_planner.data.files import ROW
from territory_planner.data.places import left_out_ids, located
from territory_planner.data.sources import Loaded, Source, file_terms, open_source

REFERENCE_COLUMNS = ("current_rep_id", "locked_rep_id")


def account_columns(geometry: str = "geographic") -> list[str]:
    """The canonical account columns for a geometry, before the file's own extras."""
    first, second = coordinate_names(geometry)
    return [
        "account_id",
        "name",
        "segment",
        first,
        second,
        "potential",
        "workload",
        "current_rep_id",
        "locked_rep_id",
        "postal_code",
        "unit_id",
    ]


def load_accounts(path, *, geometry: str = "geographic", rep_ids=None) -> pd.DataFrame:
    """Load and validate an accounts file (CSV, Excel, Parquet, GeoJSON, GeoPackage).

    ``path``: a file, or a :class:`~territory_planner.data.sources.Source` (a scenario's
    table with its column mapping). Returns the canonical frame in file order (see the
    module docstring). With ``rep_ids``, also checks that every current_rep_id /
    locked_rep_id is one of them. Raises :class:`InputError` naming the file, row,
    column and value, and the fix.
    """
    return read_accounts(path, geometry=geometry, rep_ids=rep_ids).frame


def read_accounts(path, *, geometry: str = "geographic", rep_ids=None, left_out_reps=(), derived=()) -> Loaded:
    """:func:`load_accounts`, with what loading did (how the file was read, rows placed).

    ``left_out_reps``: reps left out of the reps file (no place); an account may still
    name one as its owner or lock (the caller decides what that means). ``derived``:
    amounts (``potential``, ``workload``) the scenario derives, so the file may lack them
    (a missing one is blank in every row).
    """
    canonical = account_columns(geometry)
    table = open_source(path, kind="accounts", canonical=canonical)
    with file_terms(table):  # an error on a mapped column names the file's header too
        return _read_accounts(table, path if isinstance(path, Source) else None, geometry, rep_ids, left_out_reps,
                              tuple(derived))


def _read_accounts(table, source: Source | None, geometry: str, rep_ids, left_out_reps, derived=()) -> Loaded:
    canonical = account_columns(geometry)
    first, second = coordinate_names(geometry)
    table, found = open_table(table, geometry, canonical, coordinates_required=geometry != "geographic")
    for name in ("account_id", "potential", "workload"):
        if name not in found and name not in derived:
            raise missing_column(table, name, used=found.values())
    coordinates, keep, placed = located(table, found, geometry, kind="accounts",
                                        on_missing=source.on_missing if source else "error",
                                        key=source.key if source else "")
    notes = (*table.notes, *placed)
    rows = row_numbers(table.frame)
    account_id = id_column(table, found["account_id"], "account_id")
    amounts = {
        name: np.full(len(table.frame), np.nan) if name not in found else number_column(
            table.frame[found[name]],
            file=table.file,
            rows=rows,
            column=name,
            required=name not in derived,  # a blank cell takes the derived value
            what="potential (a currency amount)"
            if name == "potential"
            else "workload in hours per year",
        )
        for name in ("potential", "workload")
    }
    columns = {
        "account_id": account_id,
        "name": text_with_default(table, found.get("name"), account_id),
        "segment": text_with_default(table, found.get("segment"), "All"),
        first: coordinates[first],
        second: coordinates[second],
        **amounts,
        **{name: optional_text(table, found.get(name)) for name in canonical[7:]},
        **extra_columns(table, found, reserved=canonical),
        ROW: rows,
    }
    accounts = pd.DataFrame(columns)
    left_out: tuple[str, ...] = ()
    if keep is not None and not keep.all():
        left_out = left_out_ids(accounts["account_id"], keep)
        accounts = accounts[keep].reset_index(drop=True)
    if rep_ids is not None:
        _check_rep_ids(accounts, [*rep_ids, *left_out_reps], table.file)
    return Loaded(accounts, tuple(notes), left_out, table.mapped)


def check_references(accounts: pd.DataFrame, reps: pd.DataFrame, accounts_file) -> None:
    """Check every current_rep_id / locked_rep_id of ``accounts`` is a rep_id of ``reps``.

    Raises :class:`InputError` naming the accounts file, the first row, the column and
    the unknown id, with the nearest known rep id when one is close.
    """
    _check_rep_ids(accounts, reps["rep_id"], accounts_file)


def _check_rep_ids(accounts: pd.DataFrame, rep_ids: Iterable, accounts_file) -> None:
    known = {str(r).strip() for r in rep_ids}
    rows = row_numbers(accounts)
    for column in REFERENCE_COLUMNS:
        if column not in accounts.columns:
            continue
        values = accounts[column]
        unknown = np.array(
            [v is not None and not pd.isna(v) and str(v) not in known for v in values], dtype=bool
        )
        if not unknown.any():
            continue
        value = str(values.iloc[int(np.flatnonzero(unknown)[0])])
        close = difflib.get_close_matches(value, sorted(known), n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise first_problem(
            unknown,
            table_file=str(accounts_file),
            rows=rows,
            column=column,
            series=values,
            problem=f"rep id '{value}' is not a rep_id in the reps file",
            fix=f"correct the id{hint}, add that rep to the reps file, or leave the cell blank",
        )
