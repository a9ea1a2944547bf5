"""Solve an AssignmentProblem: precheck → LP bound → rounded incumbent → fixing → MIP.

1. ``precheck``: conflicts that arithmetic proves, before any solve.
2. LP relaxation (HiGHS): a proven lower bound and a fractional plan with few split
   accounts (a basic solution splits at most one account per band row).
3. Round the LP plan, repair it into the bands and improve it with shift moves: a
   feasible incumbent of value UB, usually within a fraction of a percent of the LP bound.
4. Reduced-cost fixing: a pair (i, j) with LP reduced cost d_ij > UB − z_LP cannot be in
   any plan better than the incumbent (every such plan costs ≥ z_LP + d_ij), so it is
   dropped. This is exact and typically removes most of the n × k pairs.
5. The MIP over the remaining pairs, warm-started with the incumbent, on the chosen
   backend. Its bound, maxed with z_LP, is a valid bound for the full problem.

The returned plan is re-checked against every constraint with the problem's own
arithmetic; a backend answer that breaks one is never passed on.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np

from territory_planner.errors import InfeasibleError, NoPlanFoundError, SolverError
from territory_planner.optimize.backends import (
    Progress,
    SolveOptions,
    solve_lp_relaxation,
    solve_model,
)
from territory_planner.optimize.diagnose import diagnose, precheck, relaxation_hints
from territory_planner.optimize.exact import AssignmentModel, build_assignment_model
from territory_planner.optimize.heuristics import heuristic_plan, improve, repair
from territory_planner.optimize.problem import AssignmentProblem
from territory_planner.plan import Solution


def reduced_cost_mask(am: AssignmentModel, reduced_costs: np.ndarray, lp_bound: float, incumbent: float, keep: np.ndarray) -> np.ndarray:
    """(n, k) mask of pairs that may still be in a plan cheaper than the incumbent."""
    slack = incumbent - lp_bound
    tol = 1e-7 * max(1.0, abs(incumbent))
    alive = reduced_costs[: len(am.pair_unit)] <= slack + tol
    mask = np.zeros((am.problem.n, am.problem.k), dtype=bool)
    mask[am.pair_unit[alive], am.pair_territory[alive]] = True
    mask[np.arange(am.problem.n), keep] = True
    return mask


def kernel_mask(am: AssignmentModel, x_lp: np.ndarray, reduced_costs: np.ndarray, incumbent: np.ndarray | None, per_unit: int = 3) -> np.ndarray:
    """(n, k) mask: each unit's ``per_unit`` pairs of least reduced cost, the LP support and the incumbent."""
    n, k = am.problem.n, am.problem.k
    rc = np.full((n, k), np.inf)
    rc[am.pair_unit, am.pair_territory] = reduced_costs[: len(am.pair_unit)]
    best = np.argsort(rc, axis=1, kind="stable")[:, : min(per_unit, k)]
    mask = np.zeros((n, k), dtype=bool)
    mask[np.arange(n)[:, None], best] = True
    support = x_lp[: len(am.pair_unit)] > 1e-6
    mask[am.pair_unit[support], am.pair_territory[support]] = True
    if incumbent is not None:
        mask[np.arange(n), incumbent] = True
    return mask & np.isfinite(rc)


def solve_problem(
    problem: AssignmentProblem,
    *,
    backend: str = "auto",
    time_limit: float = 60.0,
    mip_gap: float = 1e-3,
    seed: int = 0,
    threads: int | None = None,
    progress: Progress | None = None,
    verbose: bool = False,
    use_lp: bool = True,
) -> Solution:
    """Best plan within the time limit, with the bound the solver proved.

    Raises :class:`InfeasibleError` (with a diagnosis) when no plan exists, and
    :class:`NoPlanFoundError` (with hints on what to loosen) when none was found in time.
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    precheck(problem)
    am = build_assignment_model(problem)
    lp_bound = -math.inf
    incumbent: np.ndarray | None = None
    reduced = None
    if use_lp and problem.bands:
        lp = solve_lp_relaxation(am.model, SolveOptions(time_limit=max(1.0, 0.5 * time_limit), seed=seed, threads=threads))
        if lp.status == "infeasible":
            raise InfeasibleError(diagnose(problem, time_limit=min(60.0, max(10.0, time_limit / 2))))
        if lp.x is not None:
            lp_bound = lp.objective
            reduced = lp.reduced_costs
            rounded = repair(problem, am.assignment_from(lp.x))
            if not problem.violations(rounded):
                incumbent = improve(problem, rounded)
    if reduced is not None:
        # A small MIP over each unit's few best pairs by reduced cost (plus the LP support
        # and the current incumbent) finds a near-optimal plan fast; it only feeds the
        # exact solve below and never limits it.
        kernel = kernel_mask(am, lp.x, reduced, incumbent)
        sub = replace(problem, allowed=kernel & problem.allowed_mask())
        sub_am = build_assignment_model(sub)
        budget = max(1.0, min(0.3 * time_limit, deadline - time.perf_counter() - 1.0))
        res = solve_model(
            sub_am.model,
            backend if backend != "cpsat" else "highs",
            SolveOptions(time_limit=budget, mip_gap=mip_gap, seed=seed, threads=threads,
                         warm_start=sub_am.columns_from(incumbent) if incumbent is not None else None),
        )
        if res.x is not None:
            candidate = sub_am.assignment_from(res.x)
            if not problem.violations(candidate) and (incumbent is None or problem.objective(candidate) < problem.objective(incumbent)):
                incumbent = candidate
    if incumbent is None:
        candidate, ok = heuristic_plan(problem)
        if ok:
            incumbent = candidate
    if progress is not None and incumbent is not None:
        progress(problem.objective(incumbent), lp_bound, time.perf_counter() - t0)

    model_problem = problem
    if incumbent is not None and reduced is not None:
        mask = reduced_cost_mask(am, reduced, lp_bound, problem.objective(incumbent), incumbent)
        model_problem = replace(problem, allowed=mask & problem.allowed_mask())
        am = build_assignment_model(model_problem)
    build_seconds = time.perf_counter() - t0
    if incumbent is not None and problem.objective(incumbent) - lp_bound <= mip_gap * abs(problem.objective(incumbent)) + 1e-9:
        res_x, res_status, res_bound, res_backend = None, "optimal", lp_bound, "lp+rounding"
    else:
        options = SolveOptions(
            time_limit=max(1.0, deadline - time.perf_counter()),
            mip_gap=mip_gap,
            seed=seed,
            threads=threads,
            warm_start=am.columns_from(incumbent) if incumbent is not None else None,
            progress=progress,
            verbose=verbose,
        )
        res = solve_model(am.model, backend, options)
        if res.status == "infeasible" and incumbent is None:
            raise InfeasibleError(diagnose(problem, time_limit=min(60.0, max(10.0, time_limit / 2))))
        res_x, res_status, res_bound, res_backend = res.x, res.status, res.bound, res.backend

    candidates: list[tuple[np.ndarray, str]] = []
    if res_x is not None:
        candidates.append((am.assignment_from(res_x), res_status))
    if incumbent is not None:
        candidates.append((incumbent, res_status if res_status in ("optimal", "interrupted") else "time_limit"))
    valid = [(a, s) for a, s in candidates if not problem.violations(a)]
    if not valid:
        if res_x is not None:
            broken = problem.violations(candidates[0][0])
            raise SolverError(f"the {res_backend} backend returned a plan that breaks constraints ({broken[0]}); try another backend")
        raise NoPlanFoundError(relaxation_hints(problem, time_limit=min(30.0, max(5.0, time_limit / 2))))
    assignment, status = min(valid, key=lambda v: problem.objective(v[0]))
    objective = problem.objective(assignment)
    # Fixing removed only pairs that cannot beat the incumbent, so min(incumbent, bound of
    # the restricted model) is a valid bound of the full problem; the LP bound is too.
    bound = max(lp_bound, res_bound if np.isfinite(res_bound) else -math.inf)
    bound = min(bound, objective)
    if status == "optimal" and objective - bound > mip_gap * abs(objective) + 1e-9:
        status = "time_limit"
    return Solution(
        assignment=assignment,
        status=status,
        objective=objective,
        bound=bound,
        backend=res_backend,
        seconds=time.perf_counter() - t0,
        build_seconds=build_seconds,
    )
