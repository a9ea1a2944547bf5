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
arithmetic, each row on its own scale (``AssignmentProblem.violations``: 1e-9 of a band's
width). A backend answer that breaks one, e.g. by the solver's own feasibility tolerance
on a very narrow band, is never passed on: it is repaired exactly (shift and swap moves,
then if need be a re-solve with the bands pulled in by more than the solver's tolerance,
whose plans are inside the real bands; the bound stays that of the real model) or dropped.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np

from territory_planner.errors import Diagnosis, InfeasibleError, NoPlanFoundError
from territory_planner.optimize.backends import (
    Progress,
    SolveOptions,
    solve_lp_relaxation,
    solve_model,
    stop_if_interrupted,
)
from territory_planner.optimize.diagnose import diagnose, precheck, relaxation_hints
from territory_planner.optimize.exact import AssignmentModel, build_assignment_model
from territory_planner.optimize.heuristics import heuristic_plan, improve, repair
from territory_planner.optimize.problem import AssignmentProblem
from territory_planner.optimize.solution import Solution, proven_within

#: Gap at which the incumbent-finding kernel MIP stops (it only feeds the exact solve).
KERNEL_GAP = 0.005
#: Shortest time a phase is given when the run's budget is nearly spent (a floor, so that
#: a phase with nothing left still returns what it has rather than refusing to start).
MIN_PHASE_SECONDS = 0.1
#: How far the bands are pulled in for the exact repair's re-solve: this share of each
#: limit's magnitude (ten times HiGHS' 1e-7 feasibility tolerance on a row of that size),
#: at most a quarter of the band's width.
PULL_IN = 1e-6


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
    incumbent: np.ndarray | None = None,
    explain: bool = True,
) -> Solution:
    """Best plan within the time limit, with the bound the solver proved.

    Ctrl-C (KeyboardInterrupt) at any phase stops the search and returns the best plan
    found so far with status ``interrupted``. Raises :class:`InfeasibleError` (with a
    diagnosis) when no plan exists, and :class:`NoPlanFoundError` (with hints on what to
    loosen) when none was found in time. ``explain=False`` skips the diagnosis (its
    extra solves) when only the fact matters, e.g. for a ``count: auto`` attempt.
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit

    def infeasible() -> InfeasibleError:
        if not explain:
            return InfeasibleError(Diagnosis("no plan satisfies every constraint (proven by the solver)"))
        return InfeasibleError(diagnose(problem, time_limit=min(60.0, max(10.0, time_limit / 2))))

    precheck(problem)
    am = build_assignment_model(problem)
    search = _Search(problem)
    # A known plan (e.g. the contiguity loop's best, a planner's edited plan) is kept only
    # if it satisfies every row; one outside a band is first repaired by the fewest, cheapest
    # shifts (a few edits break a band by a little: its repair is a near-optimal start).
    search.offer(None if incumbent is None else start_plan(problem, np.asarray(incumbent, dtype=int)))
    try:
        lp = None
        if use_lp and problem.bands:
            lp = solve_lp_relaxation(am.model, SolveOptions(time_limit=max(MIN_PHASE_SECONDS, 0.5 * time_limit),
                                                            seed=seed, threads=threads))
            if lp.status == "infeasible":
                raise infeasible()
            if lp.x is None:
                lp = None
            else:
                search.lp_bound = lp.objective
                rounded = repair(problem, am.assignment_from(lp.x))
                search.offer(improve(problem, rounded) if not problem.violations(rounded) else None)
        if lp is not None and not search.within(mip_gap):
            # A small MIP over each unit's few best pairs by reduced cost (plus the LP
            # support and the incumbent) finds a near-optimal plan fast; it only feeds the
            # exact solve below and never limits it.
            kernel = kernel_mask(am, lp.x, lp.reduced_costs, search.incumbent)
            sub_am = build_assignment_model(replace(problem, allowed=kernel & problem.allowed_mask()))
            # Only an incumbent is wanted here: a short budget and a loose gap, so the
            # exact solve below gets most of the time.
            budget = max(MIN_PHASE_SECONDS, min(0.15 * time_limit, deadline - time.perf_counter() - 0.1 * time_limit))
            res = solve_model(
                sub_am.model,
                backend if backend != "cpsat" else "highs",
                SolveOptions(time_limit=budget, mip_gap=max(mip_gap, KERNEL_GAP), seed=seed, threads=threads,
                             warm_start=search.columns(sub_am)),
            )
            if res.x is not None:
                search.offer(search.inside_bands(sub_am.assignment_from(res.x)))
            stop_if_interrupted(res)
        if search.incumbent is None:
            candidate, ok = heuristic_plan(problem)
            search.offer(candidate if ok else None)
        if progress is not None and search.incumbent is not None:
            progress(search.objective, search.lp_bound, time.perf_counter() - t0)
        if lp is not None and search.incumbent is not None:
            mask = reduced_cost_mask(am, lp.reduced_costs, search.lp_bound, search.objective, search.incumbent)
            am = build_assignment_model(replace(problem, allowed=mask & problem.allowed_mask()))
        search.build_seconds = time.perf_counter() - t0
        if search.within(mip_gap):
            search.status, search.backend = "optimal", "lp+rounding"
        else:
            options = SolveOptions(
                time_limit=max(MIN_PHASE_SECONDS, deadline - time.perf_counter()),
                mip_gap=mip_gap,
                seed=seed,
                threads=threads,
                warm_start=search.columns(am),
                progress=progress,
                verbose=verbose,
            )
            res = solve_model(am.model, backend, options)
            search.backend = res.backend
            if res.status == "infeasible" and search.incumbent is None:
                raise infeasible()
            if res.x is not None:
                candidate = am.assignment_from(res.x)
                if problem.violations(candidate):
                    # Outside a band by up to the backend's feasibility tolerance: shift and
                    # swap moves, else a re-solve with the bands pulled in (exact repair).
                    candidate = search.inside_bands(candidate)
                    if candidate is None and (search.incumbent is None or res.objective < search.objective):
                        candidate = _pulled_in_solve(problem, am, backend, seed, threads, deadline, search)
                search.offer(candidate)
            # Fixing removed only pairs that cannot beat the incumbent, so the restricted
            # model's bound is valid for the full problem (capped by the incumbent below).
            if np.isfinite(res.bound):
                search.bound = max(search.bound, res.bound)
            search.status = res.status
    except KeyboardInterrupt:
        search.status = "interrupted"
    if search.incumbent is None:
        if search.status == "interrupted":
            raise KeyboardInterrupt
        raise NoPlanFoundError(relaxation_hints(problem, time_limit=min(30.0, max(5.0, time_limit / 2))))
    return search.solution(mip_gap, time.perf_counter() - t0)


def start_plan(problem: AssignmentProblem, assignment: np.ndarray) -> np.ndarray | None:
    """``assignment`` as a first plan: as it is when it keeps every constraint, else its
    repair (improved) when that keeps every one, else None. Locks and forbidden pairs
    are never moved onto (``repair`` and ``improve`` keep them)."""
    if assignment.shape != (problem.n,) or assignment.min(initial=0) < 0 or assignment.max(initial=0) >= problem.k:
        return None
    if not problem.violations(assignment):
        return assignment
    repaired = repair(problem, assignment)
    if problem.violations(repaired):
        return None
    return improve(problem, repaired)


def pulled_in(problem: AssignmentProblem) -> AssignmentProblem:
    """The problem with every band's limits pulled in by ``PULL_IN`` of their magnitude
    (at most a quarter of the band's width): any plan a backend accepts for it, within
    the backend's own tolerance, lies inside the real bands."""
    bands = []
    for band in problem.bands:
        lo_ok, hi_ok = np.isfinite(band.lower), np.isfinite(band.upper)
        size = np.fmax(np.where(lo_ok, np.abs(band.lower), 0.0), np.where(hi_ok, np.abs(band.upper), 0.0))
        margin = PULL_IN * np.maximum(size, float(np.abs(band.values).max(initial=0.0)))
        margin = np.where(lo_ok & hi_ok, np.minimum(margin, 0.25 * (band.upper - band.lower)), margin)
        bands.append(replace(band, lower=np.where(lo_ok, band.lower + margin, band.lower),
                             upper=np.where(hi_ok, band.upper - margin, band.upper)))
    return replace(problem, bands=tuple(bands))


def _pulled_in_solve(problem, am: AssignmentModel, backend, seed, threads, deadline, search) -> np.ndarray | None:
    """Exact repair: the MIP over the same pairs with the bands pulled in, warm-started
    with the incumbent when it fits. Its plan is checked against the real bands by the
    caller; its bound is not used (the pulled-in model is a restriction)."""
    narrow = build_assignment_model(replace(pulled_in(problem), allowed=am.problem.allowed_mask()))
    start = search.incumbent
    warm = narrow.columns_from(start) if start is not None and not narrow.problem.violations(start) else None
    res = solve_model(narrow.model, backend, SolveOptions(time_limit=max(MIN_PHASE_SECONDS, deadline - time.perf_counter()),
                                                          mip_gap=1e-4, seed=seed, threads=threads, warm_start=warm))
    stop_if_interrupted(res)
    if res.x is None:
        return None
    candidate = narrow.assignment_from(res.x)
    return None if problem.violations(candidate) else candidate


class _Search:
    """The best verified plan so far and what has been proven about the optimum."""

    def __init__(self, problem: AssignmentProblem) -> None:
        self.problem = problem
        self.incumbent: np.ndarray | None = None
        self.objective = math.inf
        self.lp_bound = -math.inf
        self.bound = -math.inf
        self.status = "time_limit"
        self.backend = "heuristic"
        self.build_seconds = 0.0

    def offer(self, assignment: np.ndarray | None) -> None:
        """Keep ``assignment`` if it satisfies every constraint and beats the incumbent."""
        if assignment is None or self.problem.violations(assignment):
            return
        value = self.problem.objective(assignment)
        if value < self.objective:
            self.incumbent, self.objective = np.asarray(assignment), value

    def inside_bands(self, assignment: np.ndarray) -> np.ndarray | None:
        """``assignment`` if feasible; else shifted and swapped back inside its bands, then
        improved; None when the moves cannot make it feasible."""
        if not self.problem.violations(assignment):
            return assignment
        moved = repair(self.problem, assignment, max_moves=20 * self.problem.k + 100)
        return None if self.problem.violations(moved) else improve(self.problem, moved)

    def within(self, mip_gap: float) -> bool:
        return self.incumbent is not None and proven_within(self.objective, max(self.lp_bound, self.bound), mip_gap)

    def columns(self, am: AssignmentModel) -> np.ndarray | None:
        return am.columns_from(self.incumbent) if self.incumbent is not None else None

    def solution(self, mip_gap: float, seconds: float) -> Solution:
        bound = min(max(self.lp_bound, self.bound), self.objective)
        # optimal: proven within mip_gap; time_limit: the limit ran out first;
        # interrupted: Ctrl-C; feasible: a verified plan without a proof of optimality
        # for any other reason (e.g. a backend that could not certify its bound).
        status = self.status if self.status in ("optimal", "interrupted", "time_limit") else "feasible"
        if status == "optimal" and not self.within(mip_gap):
            status = "feasible"  # the solver stopped, but not within the gap asked for
        return Solution(
            assignment=self.incumbent,
            status=status,
            objective=self.objective,
            bound=bound,
            backend=self.backend,
            seconds=seconds,
            build_seconds=self.build_seconds,
        )
