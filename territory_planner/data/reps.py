"""Loading reps: the headcount roster whose members (or open seats) own territories.

The canonical frame, in this column order:

==================  =========================================================
rep_id              str, unique, never blank
name                str (blank → rep_id)
role                str (blank → "Rep")
lat, lon / x, y     float; the rep's home base
capacity_hours      float > 0 (selling hours per year)
quota               float ≥ 0, or NaN where blank
status              "active" | "open" | "new_hire" (blank → "active")
…                   every other column of the file; amounts as float
_row                int: the row a planner sees in the file
==================  =========================================================

A scenario's ``columns:`` mapping reads a CRM export as it is (data/sources.py). In a
geographic scenario, reps without coordinates (blank, or 0, 0) are placed by their US ZIP
code, else by city + state (data/places.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from territory_planner.data.columns import (
    cell_text,
    coordinate_names,
    extra_columns,
    first_problem,
    header_key,
    id_column,
    missing_column,
    number_column,
    open_table,
    row_numbers,
    text_with_default,
)
from territory_planner.data.files import ROW
from territory_planner.data.places import left_out_ids, located
from territory_planner.data.sources import Loaded, Source, file_terms, open_source
from territory_planner.errors import InputError

STATUSES = ("active", "open", "new_hire")


def rep_columns(geometry: str = "geographic") -> list[str]:
    """The canonical rep columns for a geometry, before the file's own extras."""
    first, second = coordinate_names(geometry)
    return ["rep_id", "name", "role", first, second, "capacity_hours", "quota", "status"]


def load_reps(path, *, geometry: str = "geographic") -> pd.DataFrame:
    """Load and validate a reps (headcount) file (CSV, Excel, Parquet, GeoJSON, GeoPackage).

    ``path``: a file, or a :class:`~territory_planner.data.sources.Source` (a scenario's
    table with its column mapping). Returns the canonical frame in file order (see the
    module docstring). Raises :class:`InputError` naming the file, row, column and
    value, and the fix.
    """
    return read_reps(path, geometry=geometry).frame


def read_reps(path, *, geometry: str = "geographic") -> Loaded:
    """:func:`load_reps`, with what loading did (how the file was read, reps placed or left out)."""
    canonical = rep_columns(geometry)
    table = open_source(path, kind="reps", canonical=canonical)
    with file_terms(table):  # an error on a mapped column names the file's header too
        return _read_reps(table, path if isinstance(path, Source) else None, geometry)


def _read_reps(table, source: Source | None, geometry: str) -> Loaded:
    canonical = rep_columns(geometry)
    first, second = coordinate_names(geometry)
    table, found = open_table(table, geometry, canonical, coordinates_required=geometry != "geographic")
    for name in ("rep_id", "capacity_hours"):
        if name not in found:
            raise missing_column(table, name, used=found.values())
    coordinates, keep, placed = located(table, found, geometry, kind="reps",
                                        on_missing=source.on_missing if source else "error",
                                        key=source.key if source else "")
    notes = (*table.notes, *placed)
    rows = row_numbers(table.frame)
    rep_id = id_column(table, found["rep_id"], "rep_id")
    capacity = number_column(
        table.frame[found["capacity_hours"]],
        file=table.file,
        rows=rows,
        column="capacity_hours",
        positive=True,
        what="the rep's selling hours per year (e.g. 1056)",
    )
    if "quota" in found:
        quota = number_column(
            table.frame[found["quota"]],
            file=table.file,
            rows=rows,
            column="quota",
            required=False,
            what="a quota (a currency amount)",
        )
    else:
        quota = np.full(len(rep_id), np.nan)
    columns = {
        "rep_id": rep_id,
        "name": text_with_default(table, found.get("name"), rep_id),
        "role": text_with_default(table, found.get("role"), "Rep"),
        first: coordinates[first],
        second: coordinates[second],
        "capacity_hours": capacity,
        "quota": quota,
        "status": _status(table, found.get("status"), rows),
        **extra_columns(table, found, reserved=canonical),
        ROW: rows,
    }
    reps = pd.DataFrame(columns)
    if keep is not None and not keep.all():
        left_out = left_out_ids(reps["rep_id"], keep)
        return Loaded(reps[keep].reset_index(drop=True), tuple(notes), left_out, table.mapped)
    return Loaded(reps, tuple(notes), mapped=table.mapped)


def _status(table, header: str | None, rows: np.ndarray) -> pd.Series:
    n = len(table.frame)
    if header is None:
        return pd.Series(["active"] * n, dtype="str")
    text = cell_text(table.frame[header]).reset_index(drop=True)
    status = pd.Series([header_key(t) if t else "active" for t in text], dtype="str")
    error = first_problem(
        (~status.isin(STATUSES)).to_numpy(bool),
        table_file=table.file,
        rows=rows,
        column="status",
        series=table.frame[header],
        problem="unknown status",
        fix=f"use one of {', '.join(STATUSES)} (any case), or leave it blank for active",
    )
    if error:
        raise error
    return status


# --- Columns derived from the reps table (read by the model and by capacity planning) -------


def _optional_rep_numbers(reps: pd.DataFrame, column: str, reps_file, what: str) -> np.ndarray | None:
    if column not in reps:
        return None
    return number_column(
        reps[column], file=str(reps_file), rows=row_numbers(reps), column=column, required=False, what=what
    )


def ramped_capacity(reps: pd.DataFrame, reps_file=None) -> np.ndarray:
    """Each rep's effective capacity_hours: a ``new_hire`` counts ``ramp`` × capacity.

    ``ramp`` is an optional reps column between 0 and 1 (FIELD.md §2: effective capacity
    is Σ ramp factor of each rep in seat); blank, or no column, means fully ramped.
    Active reps and open seats always count in full.
    """
    capacity = reps["capacity_hours"].to_numpy(dtype=float)
    ramp = _optional_rep_numbers(reps, "ramp", reps_file, "a ramp factor between 0 and 1 (e.g. 0.5)")
    if ramp is None:
        return capacity
    bad = ~np.isnan(ramp) & (ramp > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            "ramp is above 1", file=str(reps_file), row=int(row_numbers(reps)[i]), column="ramp",
            value=reps["ramp"].iloc[i], fix="write the ramp as a share of full capacity between 0 and 1",
        )
    new_hire = (reps["status"].astype(str) == "new_hire").to_numpy()
    return capacity * np.where(new_hire & ~np.isnan(ramp), ramp, 1.0)


def target_shares(reps: pd.DataFrame, reps_file=None) -> np.ndarray | None:
    """The reps' optional ``target_share`` (1.2 = a territory meant to be 120% of the mean).

    Blank cells are 1. None when the column is absent.
    """
    share = _optional_rep_numbers(reps, "target_share", reps_file, "a target share above 0 (1 = the mean, 1.2 = 120%)")
    if share is None:
        return None
    bad = share == 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            "target_share is 0", file=str(reps_file), row=int(row_numbers(reps)[i]), column="target_share",
            value=0, fix="give a share above 0, or leave it blank for the mean (1)",
        )
    return np.where(np.isnan(share), 1.0, share)
