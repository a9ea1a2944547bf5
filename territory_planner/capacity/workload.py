"""Workload build-up: how many reps the accounts need, by region and role.

Zoltners & Sinha, *The Complete Guide to Sales Force Sizing* (and their 2005 *Marketing
Science* review "Sales territory design: thirty years of modeling and implementation"):

- account workload (h/yr) = calls_per_year × (minutes_per_call + travel_minutes_per_call) / 60
  + account_management_hours, from the segment table, each field overridable per account
  by a column of the same name;
- rep selling hours H = (working_days − holidays − pto_days − training_days) × hours_per_day
  × selling_share;
- FTE = Σ workload / H and headcount = ⌈FTE / target_utilisation⌉, per region and role.

>>> from territory_planner.scenario.capacity import WorkingTimeSpec
>>> selling_hours(WorkingTimeSpec(working_days=250, holidays=10, pto_days=15, training_days=5, hours_per_day=8, selling_share=0.6))[0]
1056.0
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

# The per-account build-up is input preparation (a scenario may plan on it): data/workload.py.
from territory_planner.data.workload import (  # noqa: F401  (account_workload: capacity's API too)
    account_workload,
    amount_text,
    find_column,
    row_of,
    segment_keys,
)
from territory_planner.errors import ScenarioError
from territory_planner.scenario.capacity import CapacitySpec, RegionSpec, WorkingTimeSpec

ALL = "All"


def selling_hours(working_time: WorkingTimeSpec) -> tuple[float, str]:
    """Selling hours of one full-time rep a year, and the arithmetic as text."""
    w = working_time
    days = w.working_days - w.holidays - w.pto_days - w.training_days
    hours = days * w.hours_per_day * w.selling_share
    text = (
        f"H = ({amount_text(w.working_days)} − {amount_text(w.holidays)} − {amount_text(w.pto_days)} − {amount_text(w.training_days)}) days"
        f" × {amount_text(w.hours_per_day)} h × {amount_text(w.selling_share)} = {hours:,.1f} h"
    )
    return float(hours), text


def regions_of(frame: pd.DataFrame, regions: RegionSpec | None, file=None, *, what: str = "accounts") -> pd.Series | None:
    """Each row's region; None when the file has no region column (reps may lack it)."""
    if regions is None:
        return pd.Series([ALL] * len(frame), index=frame.index, dtype=object)
    column = find_column(frame, regions.column)
    if column is None:
        return None
    values = frame[column].astype(object).where(frame[column].notna(), "").astype(str).str.strip()
    if not regions.map:
        return values.where(values != "", regions.default or "")
    lookup = {str(v).strip().upper(): region for region, members in regions.map.items() for v in members}
    mapped = values.str.upper().map(lookup)
    if regions.default is not None:
        return mapped.fillna(regions.default)
    if mapped.isna().any():
        i = int(np.flatnonzero(mapped.isna().to_numpy())[0])
        missing = sorted(set(values[mapped.isna()]))
        raise ScenarioError(
            f"{what} {regions.column} '{values.iloc[i]}' is in no region of capacity.regions.map"
            + (f" (also unmapped: {', '.join(missing[:10])})" if len(missing) > 1 else ""),
            file=file,
            row=row_of(frame, i),
            column=column,
            value=values.iloc[i],
            fix=f"add '{values.iloc[i]}' to a region's list under capacity.regions.map, or set capacity.regions.default",
        )
    return mapped


def default_role(reps: pd.DataFrame) -> str:
    """The role of the team: the reps' most common role ("Rep" without reps)."""
    roles = reps["role"].astype(str) if "role" in reps and len(reps) else pd.Series(dtype=str)
    return str(roles.mode().iloc[0]) if len(roles) else "Rep"


def segment_roles(accounts: pd.DataFrame, spec: CapacitySpec, reps: pd.DataFrame) -> np.ndarray:
    role = default_role(reps)
    if spec.segments is None:
        return np.full(len(accounts), role, dtype=object)
    table = {name: s.role or role for name, s in spec.segments.items()}
    return pd.Series(segment_keys(accounts, spec)).map(table).to_numpy(dtype=object)


IN_SEAT = ("active", "new_hire")


def capacity_table(
    accounts: pd.DataFrame, reps: pd.DataFrame, spec: CapacitySpec, *, accounts_file=None, reps_file=None
) -> tuple[pd.DataFrame, dict]:
    """Reps needed by region and role (the ``capacity.csv`` rows) and the arithmetic.

    Columns: region, role, accounts, workload_hours, selling_hours_per_rep, fte,
    target_utilisation, headcount, current_headcount (active + new hires in the reps file),
    open_seats (status open), gap (headcount − current − open), formula.
    """
    work = account_workload(accounts, spec, accounts_file)
    hours, hours_text = selling_hours(spec.working_time)
    u = spec.target_utilisation
    acc_region = regions_of(accounts, spec.regions, accounts_file)
    if acc_region is None:
        raise ScenarioError(
            f"the accounts have no '{spec.regions.column}' column to find their region",
            file=accounts_file,
            column=spec.regions.column,
            fix="add the column to the accounts file, or set capacity.regions.column to a column it has (e.g. state)",
        )
    frame = pd.DataFrame({"region": acc_region.to_numpy(), "role": segment_roles(accounts, spec, reps),
                          "workload_hours": work["workload_hours"].to_numpy(float)})
    rows = frame.groupby(["region", "role"], sort=True).agg(
        accounts=("workload_hours", "size"), workload_hours=("workload_hours", "sum")
    ).reset_index()
    rep_region = regions_of(reps, spec.regions, reps_file, what="reps") if len(reps) else None
    status = reps["status"].astype(str).to_numpy() if len(reps) else np.array([], dtype=str)
    in_seat: dict = {}
    open_seats: dict = {}
    if rep_region is not None:
        keys = list(zip(rep_region.to_numpy(), reps["role"].astype(str).to_numpy(), strict=True))
        for key, st in zip(keys, status, strict=True):
            bucket = in_seat if st in IN_SEAT else open_seats
            bucket[key] = bucket.get(key, 0) + 1
    rows["selling_hours_per_rep"] = hours
    rows["fte"] = rows["workload_hours"] / hours
    rows["target_utilisation"] = u
    # A hair of tolerance: 29.000000001 FTE from float sums is 29 reps, not 30.
    rows["headcount"] = [int(math.ceil(f / u - 1e-9)) for f in rows["fte"]]
    rows["current_headcount"] = [in_seat.get((r, ro), 0) for r, ro in zip(rows["region"], rows["role"], strict=True)]
    rows["open_seats"] = [open_seats.get((r, ro), 0) for r, ro in zip(rows["region"], rows["role"], strict=True)]
    rows["gap"] = rows["headcount"] - rows["current_headcount"] - rows["open_seats"]
    rows["formula"] = [
        f"FTE = {w:,.1f} h / {hours:,.1f} h = {f:.2f}; headcount = ⌈{f:.2f} / {u:g}⌉ = {h}"
        for w, f, h in zip(rows["workload_hours"], rows["fte"], rows["headcount"], strict=True)
    ]
    total_w = float(rows["workload_hours"].sum())
    total_fte = total_w / hours
    by_segment = (
        pd.DataFrame({"segment": segment_keys(accounts, spec), "w": work["workload_hours"].to_numpy(float)})
        .groupby("segment")["w"].agg(["size", "sum"])
    )
    arithmetic = {
        "selling_hours_per_rep": hours,
        "selling_hours_formula": hours_text,
        "account_workload_formula": "workload = calls_per_year × (minutes_per_call + travel_minutes_per_call) / 60 + account_management_hours",
        "segments": {
            seg: {
                "accounts": int(row["size"]),
                "workload_hours": float(row["sum"]),
                **({"per_account": _segment_formula(spec, seg)} if spec.segments and seg in spec.segments else {}),
            }
            for seg, row in by_segment.iterrows()
        },
        "total_workload_hours": total_w,
        "total_fte": total_fte,
        "fte_formula": f"FTE = Σ workload / H = {total_w:,.1f} / {hours:,.1f} = {total_fte:.2f}",
        "headcount_rule": f"headcount = ⌈FTE / target_utilisation⌉ per region and role, target_utilisation = {u:g}",
        "headcount": int(rows["headcount"].sum()),
        "current_headcount": int(rows["current_headcount"].sum()) if rep_region is not None else None,
        "reps_by_region_known": rep_region is not None,
    }
    return rows, arithmetic


def _segment_formula(spec: CapacitySpec, segment: str) -> str:
    s = spec.segments[segment]
    w = s.calls_per_year * (s.minutes_per_call + s.travel_minutes_per_call) / 60 + s.account_management_hours
    return (f"{amount_text(s.calls_per_year)} × ({amount_text(s.minutes_per_call)} + {amount_text(s.travel_minutes_per_call)}) / 60"
            f" + {amount_text(s.account_management_hours)} = {w:,.2f} h (before per-account overrides)")
