"""Capacity planning of a scenario end to end, and its links to territory design.

``plan_capacity`` runs the workload build-up, the target-based hiring plan, the optimal
headcount allocation and the quota split of a scenario's ``capacity:`` section (its files
are written by :func:`territory_planner.outputs.capacity.write_capacity`, with the
columns named here); ``with_open_seats`` turns the needed headcount into open (to-be-hired)
territories for ``territories: {count: auto}``; ``territory_quotas`` puts quotas on a
plan's territories.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from territory_planner.capacity.allocation import (
    allocate_headcount,
    check_groups,
    groups_from_spec,
    profit_curve,
)
from territory_planner.capacity.quotas import allocate_quotas
from territory_planner.capacity.sizing import HiringPlan, hiring_plan
from territory_planner.capacity.workload import (
    IN_SEAT,
    capacity_table,
    find_column,
    regions_of,
    selling_hours,
)
from territory_planner.errors import ScenarioError
from territory_planner.scenario.capacity import CapacitySpec

if TYPE_CHECKING:
    from territory_planner.data.inputs import Inputs
    from territory_planner.scenario import Scenario

CAPACITY_COLUMNS = ["region", "role", "headcount", "current_headcount", "open_seats", "gap", "accounts",
                    "workload_hours", "selling_hours_per_rep", "fte", "target_utilisation", "formula"]
HIRING_COLUMNS = ["month", "label", "heads_start", "hires", "departures", "heads_end", "effective_capacity", "expected_bookings"]
QUOTA_COLUMNS = ["territory_id", "rep_id", "rep_name", "quota", "potential_share", "history_share", "blend_share",
                 "uncapped_quota", "base", "capped", "expected_bookings", "expected_attainment"]


@dataclass(frozen=True)
class CapacityPlan:
    """Everything capacity planning found; ``summary`` is ``capacity.json``."""

    scenario_name: str
    capacity: pd.DataFrame
    hiring: HiringPlan | None
    quotas: pd.DataFrame | None
    allocation: dict | None
    summary: dict = field(default_factory=dict)

    @property
    def headcount(self) -> int:
        return int(self.summary["recommended_headcount"])


def section(scenario: Scenario) -> CapacitySpec:
    spec = scenario.capacity_plan
    if spec is None:
        raise ScenarioError(
            "the scenario has no capacity section (capacity is true/false)",
            file=scenario.source,
            column="capacity",
            fix="write capacity as a section, e.g. capacity: {segments: {...}, target: {revenue: ..., productivity: ...}}",
        )
    return spec


def starting_heads(reps: pd.DataFrame) -> tuple[int, int]:
    """(ramped reps, new hires) in seat today: ``active`` and ``new_hire`` in the reps file."""
    status = reps["status"].astype(str)
    return int((status == "active").sum()), int((status == "new_hire").sum())


def expected_company_bookings(spec: CapacitySpec, reps: pd.DataFrame) -> tuple[HiringPlan | None, float | None]:
    if spec.target is None:
        return None, None
    ramped, new = starting_heads(reps)
    plan = hiring_plan(ramped=ramped, new_hires=new, target=spec.target, hiring=spec.hiring)
    return plan, plan.expected_bookings


def _allocation(spec: CapacitySpec, scenario: Scenario, capacity: pd.DataFrame, accounts: pd.DataFrame, *, curve: bool = True) -> dict | None:
    a = spec.allocation
    if a is None:
        return None
    groups = groups_from_spec(a)
    if a.by == "region":
        names = sorted(capacity["region"].unique().tolist())
        current = capacity.groupby("region")["current_headcount"].sum().to_dict()
    else:
        names = sorted(accounts["segment"].astype(str).unique().tolist())
        current = {}
    check_groups(groups, names, a.by, scenario.source)
    backend = scenario.solver.backend if scenario.solver.backend in ("highs", "cbc") else "highs"
    best = allocate_headcount(groups, margin=a.margin, budget=a.budget, backend=backend)
    if best is None:
        raise ScenarioError(
            f"the budget {a.budget:,.0f} cannot pay for the minimum headcount of the groups",
            file=scenario.source, column="capacity.allocation.budget", value=a.budget,
            fix="raise the budget or lower min_reps",
        )
    free = allocate_headcount(groups, margin=a.margin, budget=None, backend=backend) if a.budget is not None else best
    points = profit_curve(groups, margin=a.margin, budget=a.budget, backend=backend) if curve else []
    rows = []
    for g in groups:
        x = best.headcount[g.name]
        rows.append({
            a.by: g.name,
            "headcount": x,
            "current_headcount": current.get(g.name),
            "sales": float(g.sales(x)),
            "cost": g.cost_per_rep * x,
            "marginal_value_next_rep": best.marginal_value_next[g.name],
            "marginal_value_last_rep": best.marginal_value_last[g.name],
            "response": {"a": g.a, "b": g.b, "c": g.c, "d": g.d, "fitted": g.fitted},
            "formula": (f"s({x}) = {g.b:,.0f} + ({g.a:,.0f} − {g.b:,.0f})·{x}^{g.c:g} / ({g.d:g} + {x}^{g.c:g}) = {float(g.sales(x)):,.0f}; "
                        f"next rep: {a.margin:g}·(s({x + 1}) − s({x})) − {g.cost_per_rep:,.0f} = {best.marginal_value_next[g.name]:,.0f}"),
        })
    return {
        "by": a.by,
        "model": ("max Σ margin·s_g(x_g) − cost·x_g over whole x_g, Σ cost·x_g ≤ budget; ADBUDG s(x) = b + (a − b)·x^c/(d + x^c) "
                  "(Little 1970; Lodish 1971); exact MIP on unit increments y_{g,1} ≥ y_{g,2} ≥ … (HiGHS)"),
        "margin": a.margin,
        "budget": a.budget,
        "total_headcount": int(sum(best.headcount.values())),
        "profit": best.profit,
        "sales": best.sales,
        "cost": best.cost,
        "groups": rows,
        "unconstrained_optimum": {"total_headcount": int(sum(free.headcount.values())), "profit": free.profit,
                                  "headcount": free.headcount, "cost": free.cost},
        "budget_binds": a.budget is not None and free.cost > a.budget + 1e-6,
        "profit_curve": points,
    }


def _today_territories(accounts: pd.DataFrame, reps: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per rep, with the accounts they own today (``current_rep_id``)."""
    territories = pd.DataFrame({
        "territory_id": ["T-" + str(r) for r in reps["rep_id"]],
        "rep_id": reps["rep_id"].astype(str).to_numpy(),
        "rep_name": reps["name"].astype(str).to_numpy(),
    })
    index = {r: j for j, r in enumerate(territories["rep_id"])}
    owner = accounts["current_rep_id"] if "current_rep_id" in accounts else pd.Series([None] * len(accounts))
    j = np.array([index.get(str(r), -1) if isinstance(r, str) else -1 for r in owner], dtype=int)
    return territories, j


def territory_quotas(
    scenario: Scenario, accounts: pd.DataFrame, reps: pd.DataFrame, territories: pd.DataFrame, assignment: np.ndarray
) -> tuple[pd.DataFrame, dict] | None:
    """Quotas for territories given the territory index of each account (−1 = none).

    ``territories`` needs territory_id and rep_id. Returns (quota rows, summary), or
    None when the scenario has no revenue target.
    """
    spec = scenario.capacity_plan
    if spec is None or spec.target is None:
        return None
    k = len(territories)
    assigned = assignment >= 0
    potential = np.bincount(assignment[assigned], weights=accounts["potential"].to_numpy(float)[assigned], minlength=k)
    hist_col = find_column(accounts, "revenue_last_year")
    if hist_col is not None:
        values = pd.to_numeric(accounts[hist_col], errors="coerce").fillna(0).to_numpy(float)
        history = np.bincount(assignment[assigned], weights=values[assigned], minlength=k)
    else:
        history = potential.copy()
    if spec.quotas.relative_to == "quota":
        prior = dict(zip(reps["rep_id"].astype(str), reps["quota"].to_numpy(float), strict=True)) if "quota" in reps else {}
        base = np.array([prior.get(str(r), np.nan) for r in territories["rep_id"]], dtype=float)
    else:
        base = history
    _, company = expected_company_bookings(spec, reps)
    table, summary = allocate_quotas(territories["territory_id"], potential, history, base, spec.quotas, spec.target.revenue,
                                     expected_bookings=company, file=scenario.source)
    table.insert(1, "rep_id", territories["rep_id"].astype(str).to_numpy())
    if "rep_name" in territories:
        table.insert(2, "rep_name", territories["rep_name"].astype(str).to_numpy())
    summary["history_column"] = hist_col or "(none: potential used)"
    return table, summary


def _recommended(spec: CapacitySpec, capacity: pd.DataFrame, hiring: HiringPlan | None, allocation: dict | None) -> tuple[int, dict]:
    """The headcount that sets the number of territories, and its split by region."""
    by_region = capacity.groupby("region")["headcount"].sum().astype(int).to_dict()
    if spec.headcount_from == "allocation" and allocation and allocation["by"] == "region":
        split = {g["region"]: int(g["headcount"]) for g in allocation["groups"]}
        return int(sum(split.values())), split
    if spec.headcount_from == "allocation":
        return int(allocation["total_headcount"]), _spread(int(allocation["total_headcount"]), by_region)
    if spec.headcount_from == "target" and hiring is not None:
        n = int(hiring.months["heads_end"].iloc[-1])
        return n, _spread(n, by_region)
    return int(sum(by_region.values())), by_region


def _spread(total: int, weights: dict) -> dict:
    """Split a whole total in proportion to weights (largest remainder)."""
    names = list(weights)
    w = np.array([weights[n] for n in names], dtype=float)
    w = w / w.sum() if w.sum() > 0 else np.full(len(w), 1 / max(1, len(w)))
    exact = total * w
    base = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - base))[: total - base.sum()]:
        base[i] += 1
    return dict(zip(names, base.tolist(), strict=True))


def plan_capacity(scenario: Scenario, inputs: Inputs | None = None, *, curve: bool = True) -> CapacityPlan:
    """Run capacity planning for a scenario with a ``capacity:`` section (``curve``: profit vs headcount too)."""
    from territory_planner.data.inputs import load_inputs

    spec = section(scenario)
    if scenario.reps_path is None:
        raise ScenarioError(
            "capacity planning needs today's team, but the scenario has no reps file",
            file=scenario.source,
            column="data.reps",
            fix="add data.reps: <reps file> (one row per rep or open seat) to the scenario",
        )
    inputs = inputs or load_inputs(scenario)
    accounts, reps = inputs.accounts, inputs.reps
    capacity, arithmetic = capacity_table(accounts, reps, spec, accounts_file=scenario.accounts_path, reps_file=scenario.reps_path)
    hiring, company = expected_company_bookings(spec, reps)
    allocation = _allocation(spec, scenario, capacity, accounts, curve=curve)
    quotas = None
    quota_summary = None
    if spec.target is not None:
        territories, j = _today_territories(accounts, reps)
        quotas, quota_summary = territory_quotas(scenario, accounts, reps, territories, j)
        quota_summary["alignment"] = "today's alignment (current_rep_id)"
    recommended, split = _recommended(spec, capacity, hiring, allocation)
    ramped, new = starting_heads(reps)
    cost_per_rep = spec.allocation.cost_per_rep if spec.allocation is not None else None
    summary = {
        "scenario": scenario.name,
        "recommended_headcount": recommended,
        "recommended_by_region": split,
        "headcount_from": spec.headcount_from,
        "today": {"in_seat": ramped + new, "active": ramped, "new_hire": new,
                  "open_seats": int((reps["status"].astype(str) == "open").sum())},
        "workload": {**arithmetic, "by_region_and_role": capacity.to_dict(orient="records")},
    }
    if cost_per_rep is not None:
        summary["cost"] = {
            "cost_per_rep": cost_per_rep,
            "recommended_headcount_cost": recommended * cost_per_rep,
            "formula": f"{recommended} reps × {cost_per_rep:,.0f} = {recommended * cost_per_rep:,.0f} a year",
        }
    if hiring is not None:
        months = hiring.months
        summary["hiring"] = {
            **hiring.arithmetic,
            "hires": int(months["hires"].sum()),
            "backfill_hires": hiring.backfill_hires,
            "departures": int(months["departures"].sum()),
            "heads_end": int(months["heads_end"].iloc[-1]),
            "months": months.to_dict(orient="records"),
        }
        if cost_per_rep is not None:
            rep_months = float((months["heads_start"] + months["hires"]).sum())
            summary["hiring"]["payroll_cost"] = rep_months * cost_per_rep / 12
            summary["hiring"]["payroll_formula"] = (f"Σ heads in seat per month × cost / 12 = {rep_months:,.0f} rep-months × "
                                                    f"{cost_per_rep:,.0f} / 12 = {rep_months * cost_per_rep / 12:,.0f}")
    if allocation is not None:
        summary["allocation"] = allocation
    if quota_summary is not None:
        summary["quotas"] = quota_summary
    return CapacityPlan(scenario.name, capacity, hiring, quotas, allocation, summary)


# --------------------------------------------------------------------------- into territory design


def with_open_seats(scenario: Scenario, inputs: Inputs) -> tuple[Scenario, Inputs]:
    """``territories: {count: auto}`` with a capacity section: one territory per needed rep.

    The recommended headcount (``capacity.headcount_from``) sets the number of
    territories. A region short of reps gets open (to-be-hired) seats, status ``open``,
    ``capacity_hours`` = a rep's selling hours H; each seat's home is the region's account
    farthest (workload-weighted) from every existing home, one seat at a time. When the
    team is larger than needed, ``count`` becomes the headcount and the territories go to
    the reps of most capacity (``territories.count: N``). Otherwise unchanged.
    """
    from territory_planner.data.inputs import Inputs

    spec = scenario.capacity_plan
    if spec is None or scenario.territories.count != "auto":
        return scenario, inputs
    result = plan_capacity(scenario, inputs, curve=False)
    reps, accounts = inputs.reps, inputs.accounts
    needed = result.summary["recommended_by_region"]
    total = result.headcount
    if total < len(reps):
        return scenario.with_overrides(territories={"count": max(1, total)}), inputs
    if total == len(reps):
        return scenario.with_overrides(territories={"count": None}), inputs
    rep_region = regions_of(reps, spec.regions, scenario.reps_path, what="reps")
    have = rep_region.value_counts().to_dict() if rep_region is not None else {}
    deficits = {r: max(0, n - have.get(r, 0)) for r, n in needed.items()}
    short = total - len(reps) - sum(deficits.values())
    if short > 0 or rep_region is None:  # regions unknown for reps: spread the seats by need
        deficits = _spread(total - len(reps), needed)
    elif short < 0:  # more deficit than seats (a region has surplus reps): trim the largest deficits
        for _ in range(-short):
            r = max(deficits, key=deficits.get)
            deficits[r] -= 1
    acc_region = regions_of(accounts, spec.regions, scenario.accounts_path).to_numpy()
    a, b = ("x", "y") if scenario.geometry == "planar" else ("lat", "lon")
    points = accounts[[a, b]].to_numpy(float)
    weight = accounts["workload"].to_numpy(float) + 1e-9
    homes = reps[[a, b]].to_numpy(float)
    hours, _ = selling_hours(spec.working_time)
    roles = result.capacity.groupby("region")["role"].first().to_dict()
    seats = []
    for region in sorted(deficits):
        mask = acc_region == region
        for s in range(deficits[region]):
            if not mask.any() or not np.isfinite(points).all():
                pick = int(np.flatnonzero(mask)[0]) if mask.any() else 0
            else:
                nearest = np.min(np.hypot(points[:, None, 0] - homes[None, :, 0], points[:, None, 1] - homes[None, :, 1]), axis=1) \
                    if len(homes) else np.ones(len(points))
                pick = int(np.argmax(np.where(mask, weight * nearest, -math.inf)))
            homes = np.vstack([homes, points[pick]])
            seats.append({
                "rep_id": f"OPEN-{region}-{s + 1}".replace(" ", "_"),
                "name": f"Open seat ({region})",
                "role": roles.get(region, reps["role"].astype(str).mode().iloc[0] if len(reps) else "Rep"),
                a: points[pick, 0],
                b: points[pick, 1],
                "capacity_hours": hours,
                "quota": np.nan,
                "status": "open",
            })
    seat_frame = pd.DataFrame(seats)
    seat_frame["_row"] = 0  # not a row of the reps file
    merged = pd.concat([reps, seat_frame.reindex(columns=reps.columns)], ignore_index=True)
    for col in ("rep_id", "name", "role", "status"):
        merged[col] = merged[col].astype(str)
    return scenario.with_overrides(territories={"count": None}), Inputs(accounts, merged)


__all__ = [
    "CapacityPlan",
    "IN_SEAT",
    "plan_capacity",
    "territory_quotas",
    "with_open_seats",
]
