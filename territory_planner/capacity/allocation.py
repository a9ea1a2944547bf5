"""Optimal headcount allocation under a concave (or S-shaped) sales response.

Each group g (a region or a segment) answers x_g reps with sales given by the ADBUDG
response of Little (1970, "Models and managers: the concept of a decision calculus",
*Management Science* 16:B466), the form CALLPLAN (Lodish 1971, *Management Science*
18:P25) uses for call allocation and Zoltners & Sinha use for sales force sizing:

    s(x) = b + (a − b)·x^c / (d + x^c)

We maximise Σ_g margin·s_g(x_g) − cost_g·x_g over whole x_g in [min_g, max_g], with
Σ_g cost_g·x_g ≤ budget when a budget is given.

The MIP is exact at the integer points (a piecewise-linear model with breakpoints at
every whole rep): x_g = min_g + Σ_k y_{g,k} with binaries y_{g,1} ≥ y_{g,2} ≥ …, and the
k-th extra rep earns its own marginal response Δ_{g,k} = s_g(min_g + k) − s_g(min_g + k − 1).
With a concave s the Δ decrease and the ordering rows are never binding; with the convex
start of an S-curve (c > 1) a later rep is worth more than an earlier one, and only the
ordering keeps the model from taking the valuable later increments without the earlier
ones — so every feasible y is a real headcount and the optimum is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from territory_planner.errors import ScenarioError, SolverError
from territory_planner.optimize.backends import SolveOptions, solve_model
from territory_planner.optimize.exact import MatrixModel
from territory_planner.scenario.capacity import AllocationSpec, ResponseSpec


def adbudg(x, a: float, b: float, c: float, d: float):
    """ADBUDG sales response s(x) = b + (a − b)·x^c / (d + x^c) (Little 1970).

    >>> float(adbudg(2, a=100, b=10, c=2, d=4))   # 10 + 90 × 4 / (4 + 4)
    55.0
    """
    xc = np.power(np.asarray(x, dtype=float), c)
    return b + (a - b) * xc / (d + xc)


def fit_adbudg(points) -> tuple[float, float, float, float]:
    """Fit (a, b, c, d) to (headcount, sales) points by least squares (scipy, bounded).

    Sales are scaled to the largest point for the fit; a ≥ b ≥ 0, c in (0.2, 6], d > 0.
    """
    from scipy.optimize import least_squares

    pts = np.asarray(points, dtype=float)
    x, s = pts[:, 0], pts[:, 1]
    scale = float(s.max()) or 1.0
    y = s / scale

    def residual(p):
        a, b, c, d = p
        return adbudg(x, a, b, c, d) - y

    x_mid = float(np.median(x[x > 0])) if (x > 0).any() else 1.0
    starts = [(1.5, max(0.0, y.min() * 0.9), c0, x_mid**c0) for c0 in (0.8, 1.5, 2.5)]
    best = None
    for p0 in starts:
        a0 = max(p0[0], p0[1] + 0.1)
        res = least_squares(residual, x0=[a0, p0[1], p0[2], max(p0[3], 1e-3)],
                            bounds=([0, 0, 0.2, 1e-6], [50, 50, 6, 1e9]))
        if best is None or res.cost < best.cost:
            best = res
    a, b, c, d = best.x
    a = max(a, b)
    return float(a * scale), float(b * scale), float(c), float(d)


@dataclass(frozen=True)
class Group:
    """One group's response, bounds and cost per rep."""

    name: str
    a: float
    b: float
    c: float
    d: float
    min_reps: int
    max_reps: int
    cost_per_rep: float
    fitted: bool = False

    def sales(self, x) -> np.ndarray:
        return adbudg(x, self.a, self.b, self.c, self.d)


def groups_from_spec(spec: AllocationSpec) -> list[Group]:
    """Groups of an allocation section, fitting ADBUDG where only points are given."""
    out = []
    for name, r in spec.response.items():
        out.append(_group(name, r, spec))
    return out


def _group(name: str, r: ResponseSpec, spec: AllocationSpec) -> Group:
    fitted = r.a is None or r.b is None or r.c is None or r.d is None
    a, b, c, d = fit_adbudg(r.points) if fitted else (r.a, r.b, r.c, r.d)
    return Group(name, a, b, c, d, r.min_reps, r.max_reps if r.max_reps is not None else max(spec.max_reps_per_group, r.min_reps),
                 r.cost_per_rep if r.cost_per_rep is not None else spec.cost_per_rep, fitted)


@dataclass(frozen=True)
class Allocation:
    """Reps per group, its profit and sales, and what one more rep would be worth."""

    headcount: dict[str, int]
    profit: float
    sales: float
    cost: float
    status: str
    marginal_value_next: dict[str, float]  # margin·(s(x+1) − s(x)) − cost: the next rep
    marginal_value_last: dict[str, float]  # margin·(s(x) − s(x−1)) − cost: the last rep placed


def profit_of(groups: list[Group], x: dict[str, int], margin: float) -> float:
    return float(sum(margin * g.sales(x[g.name]) - g.cost_per_rep * x[g.name] for g in groups))


def allocate_headcount(
    groups: list[Group], *, margin: float, budget: float | None = None, total: int | None = None,
    backend: str = "highs", time_limit: float = 30.0,
) -> Allocation | None:
    """The most profitable whole headcount per group (the MIP in the module docstring).

    ``total`` fixes Σ x_g (for the profit-vs-headcount curve); returns None when no
    allocation meets the budget or the total.
    """
    blocks, costs, deltas, owner = [], [], [], []
    offset = 0.0
    for gi, g in enumerate(groups):
        steps = np.arange(g.min_reps + 1, g.max_reps + 1)
        gain = margin * (g.sales(steps) - g.sales(steps - 1)) - g.cost_per_rep
        deltas.append(gain)
        costs.append(np.full(len(steps), g.cost_per_rep))
        owner.append(np.full(len(steps), gi))
        blocks.append(len(steps))
        offset += margin * float(g.sales(g.min_reps)) - g.cost_per_rep * g.min_reps
    n = int(sum(blocks))
    gain = np.concatenate(deltas) if n else np.zeros(0)
    cost = np.concatenate(costs) if n else np.zeros(0)
    base_cost = sum(g.cost_per_rep * g.min_reps for g in groups)
    base_total = sum(g.min_reps for g in groups)
    rows, lo, hi = [], [], []
    start = 0
    for size in blocks:  # y_{g,k} − y_{g,k+1} ≥ 0
        for k in range(size - 1):
            rows.append({start + k: 1.0, start + k + 1: -1.0})
            lo.append(0.0)
            hi.append(math.inf)
        start += size
    if budget is not None:
        if base_cost > budget + 1e-6:
            return None
        rows.append({v: float(cost[v]) for v in range(n)})
        lo.append(-math.inf)
        hi.append(budget - base_cost)
    if total is not None:
        if not base_total <= total <= base_total + n:
            return None
        rows.append({v: 1.0 for v in range(n)})
        lo.append(float(total - base_total))
        hi.append(float(total - base_total))
    if n == 0:
        x = {g.name: g.min_reps for g in groups}
    else:
        A = sp.lil_matrix((len(rows), n))
        for r, coeffs in enumerate(rows):
            for v, val in coeffs.items():
                A[r, v] = val
        model = MatrixModel(
            c=-gain, A=A.tocsr(), row_lo=np.asarray(lo, float), row_hi=np.asarray(hi, float),
            col_lo=np.zeros(n), col_hi=np.ones(n), integer=np.ones(n, dtype=bool), offset=-offset,
        )
        result = solve_model(model, backend, SolveOptions(time_limit=time_limit, mip_gap=0.0))
        if result.status == "infeasible":
            return None
        if result.x is None:
            raise SolverError(f"the headcount allocation MIP ended '{result.status}' without a solution")
        y = np.round(result.x).astype(int)
        ow = np.concatenate(owner)
        x = {g.name: g.min_reps + int(y[ow == gi].sum()) for gi, g in enumerate(groups)}
    sales = float(sum(g.sales(x[g.name]) for g in groups))
    cost_total = float(sum(g.cost_per_rep * x[g.name] for g in groups))
    nxt = {g.name: float(margin * (g.sales(x[g.name] + 1) - g.sales(x[g.name])) - g.cost_per_rep) for g in groups}
    last = {g.name: (float(margin * (g.sales(x[g.name]) - g.sales(x[g.name] - 1)) - g.cost_per_rep) if x[g.name] > 0 else math.nan)
            for g in groups}
    return Allocation(x, profit_of(groups, x, margin), sales, cost_total, "optimal", nxt, last)


def profit_curve(groups: list[Group], *, margin: float, budget: float | None = None, backend: str = "highs",
                 max_points: int = 120) -> list[dict]:
    """Best profit for each total headcount N (Σ min_g … Σ max_g, at most ``max_points`` values of N)."""
    low = sum(g.min_reps for g in groups)
    high = sum(g.max_reps for g in groups)
    totals = range(low, high + 1)
    if len(totals) > max_points:
        totals = sorted({int(round(v)) for v in np.linspace(low, high, max_points)})
    out = []
    for n in totals:
        best = allocate_headcount(groups, margin=margin, total=n, backend=backend)
        if best is None:
            continue
        out.append({
            "total_headcount": n,
            "profit": best.profit,
            "sales": best.sales,
            "cost": best.cost,
            "within_budget": budget is None or best.cost <= budget + 1e-6,
            "headcount": best.headcount,
        })
    return out


def check_groups(groups: list[Group], names: list[str], by: str, file=None) -> None:
    """Every response group must be a region (or segment) the accounts have."""
    unknown = [g.name for g in groups if g.name not in names]
    if unknown:
        raise ScenarioError(
            f"capacity.allocation.response names {by} '{unknown[0]}' that no account has",
            file=file,
            column=f"capacity.allocation.response.{unknown[0]}",
            value=unknown[0],
            fix=f"use the {by}s of the accounts: {', '.join(names)}",
        )
