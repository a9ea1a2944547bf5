"""The plain textbook MIP, built with pulp and solved by HiGHS without any tuning.

This is what a practitioner writes first (FIELD.md §6 measured it): it is the yardstick
the optimizer is compared with in ``BENCHMARKS.md``. The model is built with pulp's
expression API; build and solve time are reported separately.

PuLP reports "Optimal" even when HiGHS stops at its time limit, so a run is only called
``optimal`` when it ended before the limit; objectives are recomputed from the returned
assignment.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BaselineResult:
    objective: float
    bound: float
    status: str  # optimal | time_limit | no_solution
    seconds: float
    build_seconds: float


def _solve(prob, variables, time_limit: float):
    import pulp

    solver = pulp.HiGHS(msg=False, timeLimit=time_limit)
    t = time.perf_counter()
    prob.solve(solver)
    seconds = time.perf_counter() - t
    bound = -math.inf
    model = getattr(solver, "model", None) or getattr(prob, "solverModel", None)
    try:
        if model is not None:
            bound = float(model.getInfo().mip_dual_bound)
    except Exception:  # the bound is a nicety; pulp's HiGHS wrapper may not expose it
        bound = -math.inf
    status = pulp.LpStatus[prob.status]
    values = [v.varValue for v in variables]
    if status not in ("Optimal", "Not Solved") or any(v is None for v in values):
        return None, bound, "no_solution", seconds
    word = "optimal" if seconds < time_limit * 0.98 and status == "Optimal" else "time_limit"
    return np.array(values, dtype=float), bound, word, seconds


def cpmp(cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, p: int, time_limit: float) -> BaselineResult:
    """min Σ c_ij x_ij; Σ_j x_ij = 1; x_ij ≤ y_j; Σ_i d_i x_ij ≤ Q_j y_j; Σ y_j = p."""
    import pulp

    t = time.perf_counter()
    n, m = cost.shape
    prob = pulp.LpProblem("cpmp", pulp.LpMinimize)
    x = [[pulp.LpVariable(f"x_{i}_{j}", cat="Binary") for j in range(m)] for i in range(n)]
    y = [pulp.LpVariable(f"y_{j}", cat="Binary") for j in range(m)]
    prob += pulp.lpSum(float(cost[i, j]) * x[i][j] for i in range(n) for j in range(m))
    for i in range(n):
        prob += pulp.lpSum(x[i]) == 1
    for j in range(m):
        prob += pulp.lpSum(float(demand[i]) * x[i][j] for i in range(n)) <= float(capacity[j]) * y[j]
        for i in range(n):
            prob += x[i][j] <= y[j]
    prob += pulp.lpSum(y) == p
    return _finish(prob, x, cost, time.perf_counter() - t, time_limit)


def _finish(prob, x, cost: np.ndarray, build: float, time_limit: float) -> BaselineResult:
    """Solve a model whose x[i][j] are the assignment columns and score its plan on ``cost``."""
    n, width = cost.shape
    values, bound, status, seconds = _solve(prob, [v for row in x for v in row], time_limit)
    if values is None:
        return BaselineResult(math.inf, bound, status, seconds, build)
    a = values.reshape(n, width).argmax(axis=1)
    return BaselineResult(float(cost[np.arange(n), a].sum()), bound, status, seconds, build)


def assignment(cost: np.ndarray, bands, time_limit: float) -> BaselineResult:
    """min Σ c_ij x_ij; Σ_j x_ij = 1; lower_j ≤ Σ_i a_i(j) x_ij ≤ upper_j for each band.

    ``bands`` are (values, lower, upper) with values of shape (n,) or (n, k).
    """
    import pulp

    t = time.perf_counter()
    n, k = cost.shape
    prob = pulp.LpProblem("assignment", pulp.LpMinimize)
    x = [[pulp.LpVariable(f"x_{i}_{j}", cat="Binary") for j in range(k)] for i in range(n)]
    prob += pulp.lpSum(float(cost[i, j]) * x[i][j] for i in range(n) for j in range(k))
    for i in range(n):
        prob += pulp.lpSum(x[i]) == 1
    for values, lower, upper in bands:
        vals = np.asarray(values, float)
        vals = np.broadcast_to(vals[:, None], (n, k)) if vals.ndim == 1 else vals
        for j in range(k):
            expr = pulp.lpSum(float(vals[i, j]) * x[i][j] for i in range(n) if vals[i, j] != 0)
            if np.isfinite(upper[j]):
                prob += expr <= float(upper[j])
            if np.isfinite(lower[j]):
                prob += expr >= float(lower[j])
    return _finish(prob, x, cost, time.perf_counter() - t, time_limit)
