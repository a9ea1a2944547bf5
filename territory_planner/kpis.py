"""Every KPI in one place (FIELD.md §4), computed from plan tables.

The summary, the map, scenario comparison and exports all read these, so a number means
the same everywhere. :func:`plan_kpis` gives a plan's KPIs (``Plan.kpis``, summary.json);
:func:`team_cost` and :func:`attainment_spread` give the two figures only a comparison of
plans shows, from plain values the caller passes in. This module imports nothing from
the package.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COVERAGE_KM = 100.0  # "share of potential within X km of its rep"


def deviation_pct(values: np.ndarray, targets: np.ndarray | None = None) -> np.ndarray:
    """Signed deviation of each territory from its target (the mean by default), in %."""
    values = np.asarray(values, dtype=float)
    targets = np.full(len(values), values.mean()) if targets is None else np.asarray(targets, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(targets > 0, 100.0 * (values - targets) / targets, 0.0)


def coefficient_of_variation(values) -> float:
    values = np.asarray(values, dtype=float)
    mean = values.mean() if len(values) else 0.0
    return float(values.std() / mean) if mean > 0 else 0.0


def gini(values) -> float:
    """Gini coefficient of non-negative values (0 = perfectly equal).

    >>> gini([1, 1, 1, 1])
    0.0
    >>> round(gini([0, 0, 0, 4]), 2)
    0.75
    """
    v = np.sort(np.asarray(values, dtype=float))
    n = len(v)
    if n == 0 or v.sum() <= 0:
        return 0.0
    cum = np.cumsum(v)
    return float((n + 1 - 2 * (cum / cum[-1]).sum()) / n)


def territory_table(
    assignments: pd.DataFrame,
    territories: pd.DataFrame,
    balance_columns: list[str],
    targets: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Aggregate assignments into one row per territory (``TERRITORY_COLUMNS`` and more).

    ``territories`` gives the territory rows in order (territory_id, rep_id, rep_name,
    status, home coordinates, capacity_hours); every balance column gets its sum and its
    deviation from the target in %.
    """
    t = territories.copy()
    grouped = assignments.groupby("territory_id", sort=False)
    ids = t["territory_id"]
    t["n_accounts"] = ids.map(grouped.size()).fillna(0).astype(int).to_numpy()
    columns = ["potential", "workload"] + [c for c in balance_columns if c not in ("potential", "workload")]
    for col in columns:
        sums = ids.map(grouped[col].sum()).fillna(0.0).astype(float).to_numpy()
        t[col] = sums
        target = (targets or {}).get(col)
        t[f"{col}_dev_pct"] = deviation_pct(sums, target)
    with np.errstate(divide="ignore", invalid="ignore"):
        cap = t["capacity_hours"].astype(float).to_numpy()
        t["utilisation"] = np.where(cap > 0, t["workload"].to_numpy() / cap, np.nan)
    t["mean_distance_km"] = ids.map(grouped["distance_km"].mean()).astype(float).to_numpy()
    t["max_distance_km"] = ids.map(grouped["distance_km"].max()).astype(float).to_numpy()
    wsum = ids.map(grouped.apply(lambda g: float((g["distance_km"] * g["workload"]).sum(min_count=1)), include_groups=False))
    t["weighted_mean_distance_km"] = (wsum.astype(float) / t["workload"].replace(0, np.nan)).to_numpy()
    return t


def plan_kpis(assignments: pd.DataFrame, territories: pd.DataFrame, balance_columns: list[str]) -> dict:
    """The FIELD.md §4 KPIs of a plan, JSON-ready."""
    out: dict = {}
    columns = ["potential", "workload"] + [c for c in balance_columns if c not in ("potential", "workload")]
    for col in columns:
        dev = territories[f"{col}_dev_pct"].to_numpy(dtype=float)
        out[f"{col}_max_dev_pct"] = float(np.abs(dev).max()) if len(dev) else 0.0
        out[f"{col}_cv"] = coefficient_of_variation(territories[col])
        out[f"{col}_gini"] = gini(territories[col])
    out["max_balance_dev_pct"] = max((out[f"{c}_max_dev_pct"] for c in balance_columns), default=0.0)
    d = assignments["distance_km"].to_numpy(dtype=float)
    w = assignments["workload"].to_numpy(dtype=float)
    p = assignments["potential"].to_numpy(dtype=float)
    out["mean_distance_km"] = float(d.mean()) if len(d) else 0.0
    out["max_distance_km"] = float(d.max()) if len(d) else 0.0
    out["workload_weighted_mean_distance_km"] = float((d * w).sum() / w.sum()) if w.sum() > 0 else 0.0
    out["coverage_km"] = COVERAGE_KM
    out["potential_within_coverage_share"] = float(p[d <= COVERAGE_KM].sum() / p.sum()) if p.sum() > 0 else 0.0
    if len(d) and np.isnan(d).all():  # geometry: none — no distances to report
        for key in ("mean_distance_km", "max_distance_km", "workload_weighted_mean_distance_km", "potential_within_coverage_share"):
            out[key] = float("nan")
    if "current_rep_id" in assignments and assignments["current_rep_id"].notna().any():
        known = assignments["current_rep_id"].notna().to_numpy()
        moved = assignments["moved"].to_numpy(dtype=bool) & known
        out["accounts_moved"] = int(moved.sum())
        out["accounts_moved_share"] = float(moved.sum() / max(1, known.sum()))
        out["potential_moved_share"] = float(p[moved].sum() / max(1e-12, p[known].sum()))
    util = territories["utilisation"].to_numpy(dtype=float)
    out["utilisation_mean"] = float(np.nanmean(util)) if len(util) else 0.0
    out["utilisation_max"] = float(np.nanmax(util)) if len(util) else 0.0
    out["utilisation_min"] = float(np.nanmin(util)) if len(util) else 0.0
    is_open = territories["status"].astype(str).eq("open").to_numpy() if "status" in territories else np.zeros(len(territories), bool)
    out["headcount"] = int((~is_open).sum())  # reps in seat; open seats are counted apart
    out["open_seats"] = int(is_open.sum())
    return out


def team_cost(headcount, open_seats, *, cost_per_rep: float | None = None, seated_rep_costs=None) -> float:
    """What the team a plan seats costs: (headcount + open seats) × ``cost_per_rep``.

    ``cost_per_rep`` is the capacity section's ``allocation.cost_per_rep`` (an open seat
    is costed as the hire that fills it). Without it, the sum of ``seated_rep_costs``
    (the reps file's ``cost`` of the reps seated on a territory; missing cells skipped);
    NaN when neither is known or the head count is missing.

    >>> team_cost(3, 1, cost_per_rep=180_000.0)
    720000.0
    >>> team_cost(3, 0, seated_rep_costs=[100.0, float("nan"), 200.0])
    300.0
    >>> team_cost(3, 0)
    nan
    """
    if cost_per_rep is not None:
        seats = float(headcount) + float(open_seats)
        return float(seats * cost_per_rep) if np.isfinite(seats) else float("nan")
    costs = np.asarray([] if seated_rep_costs is None else seated_rep_costs, dtype=float)
    costs = costs[np.isfinite(costs)]
    return float(costs.sum()) if len(costs) else float("nan")


def attainment_spread(p10, p90) -> float:
    """Spread of the territories' expected quota attainment: its 90th minus its 10th percentile.

    The percentiles are those of ``capacity.quotas.allocate_quotas`` (the plan's
    ``quota_attainment_p10`` / ``_p90`` KPIs); NaN when either is missing. A narrow
    spread means quotas that are equally hard to reach.

    >>> round(attainment_spread(0.8, 1.05), 2)
    0.25
    >>> attainment_spread(None, 1.05)
    nan
    """
    low, high = _finite(p10), _finite(p90)
    return high - low if low is not None and high is not None else float("nan")


def _finite(value) -> float | None:
    """A finite float, or None (missing, text, NaN, inf)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None
