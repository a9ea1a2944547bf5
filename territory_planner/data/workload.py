"""The workload build-up of each account: hours a year to serve it, from its segment's call plan.

Zoltners & Sinha, *The Complete Guide to Sales Force Sizing*: account workload (h/yr) =
calls_per_year × (minutes_per_call + travel_minutes_per_call) / 60 + account_management_hours,
from the ``capacity.segments`` table, each field overridable per account by a column of the
same name. The row of the table an account takes is named by its ``capacity.segments_by``
column (``segment`` by default; ``tier`` or ``coverage_tier`` after a ``potential:``
section, potential/step.py). Capacity planning sums it (capacity/workload.py); a scenario
whose accounts have no workload column, or that says ``capacity.derive_workload: true``,
plans on it (data/inputs.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from territory_planner.data.columns import header_key
from territory_planner.errors import InputError, ScenarioError
from territory_planner.scenario.capacity import CapacitySpec

SEGMENT_FIELDS = ("calls_per_year", "minutes_per_call", "travel_minutes_per_call", "account_management_hours")


def amount_text(x: float) -> str:
    return f"{x:,.4g}" if abs(x) < 1000 else f"{x:,.0f}"


def find_column(frame: pd.DataFrame, name: str) -> str | None:
    """The frame's column matching ``name`` whatever its case, spacing or '-'."""
    key = header_key(name)
    return next((c for c in frame.columns if header_key(c) == key), None)


def row_of(frame: pd.DataFrame, i: int) -> int | None:
    return int(frame["_row"].iloc[i]) if "_row" in frame else None


def segment_keys(accounts: pd.DataFrame, spec: CapacitySpec) -> np.ndarray:
    """The row of ``capacity.segments`` each account takes: its ``segments_by`` column as text."""
    column = find_column(accounts, spec.segments_by) or spec.segments_by
    return accounts[column].astype(str).to_numpy() if column in accounts else np.full(len(accounts), "All", dtype=object)


def account_workload(accounts: pd.DataFrame, spec: CapacitySpec, accounts_file=None) -> pd.DataFrame:
    """Workload hours of each account from the segment table (and per-account overrides).

    Returns the four segment fields, ``workload_hours`` and ``formula`` columns, one row
    per account. Without a segment table the accounts' own ``workload`` column is used.
    """
    n = len(accounts)
    out = pd.DataFrame({"account_id": accounts["account_id"].astype(str).to_numpy()})
    if spec.segments is None:
        out["workload_hours"] = accounts["workload"].to_numpy(float)
        out["formula"] = "workload column of the accounts file"
        return out
    by = spec.segments_by
    if find_column(accounts, by) is None:
        raise ScenarioError(
            f"capacity.segments_by names '{by}', which is not a column of the accounts",
            file=accounts_file, column="capacity.segments_by", value=by,
            fix="name a column of the accounts file (segment by default), or tier / coverage_tier with a potential: section",
        )
    segment = segment_keys(accounts, spec)
    unknown = ~np.isin(segment, list(spec.segments))
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        missing = sorted(set(segment[unknown]))
        raise ScenarioError(
            f"{by} '{segment[i]}' of the accounts has no row in capacity.segments"
            + (f" ({len(missing)} segments missing: {', '.join(missing)})" if len(missing) > 1 else ""),
            file=accounts_file,
            row=row_of(accounts, i),
            column=by,
            value=segment[i],
            fix=f"add '{segment[i]}: {{calls_per_year: ..., minutes_per_call: ...}}' under capacity.segments "
            f"(segments there: {', '.join(spec.segments)})",
        )
    for field in SEGMENT_FIELDS:
        table = pd.Series({name: getattr(s, field) for name, s in spec.segments.items()})
        values = table.reindex(segment).to_numpy(float)
        column = find_column(accounts, field) if spec.account_overrides else None
        if column is not None:
            given = pd.to_numeric(accounts[column], errors="coerce").to_numpy(float)
            bad = np.isfinite(given) & (given < 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputError(
                    f"{field} is negative", file=accounts_file, row=row_of(accounts, i), column=column,
                    value=given[i], fix=f"write 0 or more, or leave the cell blank to use the segment's {field}",
                )
            values = np.where(np.isfinite(given), given, values)
        out[field] = values
    out["workload_hours"] = (
        out["calls_per_year"] * (out["minutes_per_call"] + out["travel_minutes_per_call"]) / 60.0
        + out["account_management_hours"]
    )
    out["formula"] = [
        f"{amount_text(c)} calls × ({amount_text(m)} + {amount_text(t)}) min / 60 + {amount_text(h)} h = {w:,.2f} h"
        for c, m, t, h, w in zip(out["calls_per_year"], out["minutes_per_call"], out["travel_minutes_per_call"],
                                 out["account_management_hours"], out["workload_hours"], strict=True)
    ]
    assert len(out) == n
    return out


