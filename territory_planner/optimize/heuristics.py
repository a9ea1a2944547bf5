"""Fast primal heuristics: round a fractional plan, repair it into the bands, improve it.

They give the MIP a feasible warm start (plain HiGHS often finds none on balanced
alignments, FIELD.md §6) and are the building blocks of the large-instance path. They
work on an :class:`AssignmentProblem` and a territory-per-unit vector; every move is
scored exactly, so a returned assignment with zero violation satisfies every band.
"""

from __future__ import annotations

import numpy as np

from territory_planner.optimize.problem import REPAIR_TOL, AssignmentProblem


class _Values:
    """Band values of every band: (b, n), or (b, n, k) when some band is per pair (GAP)."""

    def __init__(self, problem: AssignmentProblem) -> None:
        n, k = problem.n, problem.k
        if any(b.per_pair for b in problem.bands):
            self.v = np.stack([b.values if b.per_pair else np.broadcast_to(b.values[:, None], (n, k)) for b in problem.bands])
        elif problem.bands:
            self.v = np.vstack([b.values for b in problem.bands])
        else:
            self.v = np.zeros((0, n))
        self.per_pair = self.v.ndim == 3

    def at(self, units, territories) -> np.ndarray:
        """(b, len(units)): what each unit weighs in the matching territory."""
        return self.v[:, units, territories] if self.per_pair else self.v[:, units]

    def all(self, units) -> np.ndarray:
        """(b, len(units), k) or broadcastable (b, len(units), 1): weight in every territory."""
        return self.v[:, units, :] if self.per_pair else self.v[:, units][:, :, None]

    def loads(self, assignment, k) -> np.ndarray:
        w = self.at(np.arange(len(assignment)), assignment)
        return np.vstack([np.bincount(assignment, weights=row, minlength=k) for row in w]) if len(w) else np.zeros((0, k))


def _band_arrays(problem: AssignmentProblem):
    """Stack the bands: values, lower/upper (b, k), scale (b,) for normalising.

    The limits are :meth:`Band.working_limits` (widened by half the plan check's slack),
    so a plan the heuristics see inside every band passes
    :meth:`AssignmentProblem.violations`, with room for the round-off of running loads.
    """
    values = _Values(problem)
    if not problem.bands:
        return values, np.zeros((0, problem.k)), np.zeros((0, problem.k)), np.zeros(0)
    limits = [b.working_limits() for b in problem.bands]
    lower = np.vstack([lo for lo, _ in limits])
    upper = np.vstack([hi for _, hi in limits])
    mean_abs = [np.abs(b.values).sum() / (problem.k if not b.per_pair else problem.k * problem.k) for b in problem.bands]
    scale = np.maximum(np.array(mean_abs, dtype=float), 1e-12)
    return values, lower, upper, scale


def _violation(load, lower, upper):
    return np.maximum(lower - load, 0.0) + np.maximum(load - upper, 0.0)


def total_violation(problem: AssignmentProblem, assignment: np.ndarray) -> float:
    """Σ over bands and territories of the normalised distance outside the band."""
    values, lower, upper, scale = _band_arrays(problem)
    if len(scale) == 0:
        return 0.0
    loads = values.loads(assignment, problem.k)
    return float((_violation(loads, lower, upper) / scale[:, None]).sum())


def cheapest_assignment(problem: AssignmentProblem) -> np.ndarray:
    """Each unit to its cheapest allowed territory (ignores bands)."""
    cost = np.where(problem.allowed_mask(), problem.cost, np.inf)
    return np.argmin(cost, axis=1)


def repair(problem: AssignmentProblem, assignment: np.ndarray, *, max_moves: int | None = None, tol: float = REPAIR_TOL) -> np.ndarray:
    """Shift units between territories until every band holds, preferring cheap moves.

    Each step evaluates every shift of a unit out of (or into) a violated territory and
    takes the one that lowers the total violation most per unit of extra cost. Returns
    the best assignment found (check ``total_violation`` to see if it is feasible).
    """
    assignment = np.array(assignment, dtype=int)
    values, lower, upper, scale = _band_arrays(problem)
    if len(scale) == 0:
        return assignment
    k = problem.k
    allowed = problem.allowed_mask()
    locked = problem.fixed >= 0 if problem.fixed is not None else np.zeros(problem.n, bool)
    loads = values.loads(assignment, k)
    cost = problem.cost
    max_moves = max_moves or 20 * problem.n
    cost_scale = max(float(np.median(np.abs(cost))), 1e-12)
    for _ in range(max_moves):
        viol = _violation(loads, lower, upper) / scale[:, None]  # (b, k)
        if viol.sum() <= tol:
            break
        bad = np.flatnonzero(viol.sum(axis=0) > tol)
        # Candidate units: those in a violated territory, and (for under-loaded ones) all units.
        in_bad = np.isin(assignment, bad) & ~locked
        under = (loads < lower - tol * scale[:, None]).any(axis=0)
        cand = np.flatnonzero(in_bad | (under.any() & ~locked))
        if len(cand) == 0:
            break
        src = assignment[cand]
        # New violation of source after removal, per band: (b, c)
        src_load = loads[:, src]
        d_src = _violation(src_load - values.at(cand, src), lower[:, src], upper[:, src]) - _violation(src_load, lower[:, src], upper[:, src])
        # New violation of every target after adding: (b, c, k)
        tgt_after = loads[:, None, :] + values.all(cand)
        d_tgt = _violation(tgt_after, lower[:, None, :], upper[:, None, :]) - _violation(loads, lower, upper)[:, None, :]
        delta = ((d_src[:, :, None] + d_tgt) / scale[:, None, None]).sum(axis=0)  # (c, k)
        delta[~allowed[cand]] = np.inf
        delta[np.arange(len(cand)), src] = np.inf
        dcost = (cost[cand] - cost[cand, src][:, None]) / cost_scale
        # Cheapest extra cost per unit of violation removed (moves that save cost come first).
        score = np.where(delta < -tol, dcost / np.maximum(-delta, tol), np.inf)
        flat = int(np.argmin(score))
        if not np.isfinite(score.flat[flat]):
            # No single shift helps: exchange an account of a violated territory with one
            # of another territory (fixes "too much potential, too little workload").
            if not _apply_best_swap(assignment, loads, values, lower, upper, scale, allowed, locked, bad, cost, cost_scale, tol):
                break
            continue
        c, t = divmod(flat, k)
        i = cand[c]
        s = assignment[i]
        loads[:, s] -= values.at([i], [s])[:, 0]
        loads[:, t] += values.at([i], [t])[:, 0]
        assignment[i] = t
    return assignment


def _apply_best_swap(assignment, loads, values, lower, upper, scale, allowed, locked, bad, cost, cost_scale, tol) -> bool:
    """Apply the swap (i in a violated territory ↔ i' elsewhere) that lowers violation most."""
    best = (-tol, None)
    others = np.flatnonzero(~locked)
    for s_ in bad:
        inside = np.flatnonzero((assignment == s_) & ~locked)
        outside = others[assignment[others] != s_]
        if len(inside) == 0 or len(outside) == 0:
            continue
        t = assignment[outside]  # (o,)
        v_is = values.at(inside, np.full(len(inside), s_))[:, :, None]  # (b, c, 1): i leaves s
        v_os = values.at(outside, np.full(len(outside), s_))[:, None, :]  # (b, 1, o): o joins s
        v_ot = values.at(outside, t)[:, None, :]  # (b, 1, o): o leaves t
        v_it = values.all(inside)
        v_it = v_it[:, :, t] if values.per_pair else v_it  # (b, c, o): i joins t
        ls = loads[:, s_][:, None, None]
        lt = loads[:, t][:, None, :]
        lo_s, hi_s = lower[:, s_][:, None, None], upper[:, s_][:, None, None]
        lo_t, hi_t = lower[:, t][:, None, :], upper[:, t][:, None, :]
        d = (
            _violation(ls - v_is + v_os, lo_s, hi_s) - _violation(ls, lo_s, hi_s)
            + _violation(lt - v_ot + v_it, lo_t, hi_t) - _violation(lt, lo_t, hi_t)
        )
        delta = (d / scale[:, None, None]).sum(axis=0)  # (c, o)
        ok = allowed[inside][:, t] & allowed[outside][:, s_][None, :]
        dcost = (cost[inside][:, t] + cost[outside, s_][None, :] - cost[inside, s_][:, None] - cost[outside, t][None, :]) / cost_scale
        score = np.where(ok & (delta < -tol), delta + 1e-6 * dcost, np.inf)
        flat = int(np.argmin(score))
        if score.flat[flat] < best[0]:
            c, o = divmod(flat, len(outside))
            best = (score.flat[flat], (inside[c], outside[o]))
    if best[1] is None:
        return False
    i, j = best[1]
    si, sj = assignment[i], assignment[j]
    loads[:, si] += values.at([j], [si])[:, 0] - values.at([i], [si])[:, 0]
    loads[:, sj] += values.at([i], [sj])[:, 0] - values.at([j], [sj])[:, 0]
    assignment[i], assignment[j] = sj, si
    return True


def improve(problem: AssignmentProblem, assignment: np.ndarray, *, max_rounds: int = 50, tol: float = REPAIR_TOL) -> np.ndarray:
    """Shift and swap moves that lower cost and keep every band satisfied.

    Assumes ``assignment`` is feasible; never makes it infeasible.
    """
    assignment = np.array(assignment, dtype=int)
    values, lower, upper, scale = _band_arrays(problem)
    k, n = problem.k, problem.n
    allowed = problem.allowed_mask()
    locked = problem.fixed >= 0 if problem.fixed is not None else np.zeros(n, bool)
    loads = values.loads(assignment, k)
    cost = problem.cost
    slack = tol * scale[:, None] if len(scale) else 0
    free = np.flatnonzero(~locked)
    for _ in range(max_rounds):
        moved = 0
        # Shifts: all (unit, target) at once, applied greedily while still valid.
        src = assignment[free]
        gain = cost[free, src][:, None] - cost[free]  # > 0 improves
        gain[~allowed[free]] = -np.inf
        gain[np.arange(len(free)), src] = -np.inf
        order = np.argsort(-gain, axis=None, kind="stable")
        for flat in order[: 50 * k]:
            c, t = divmod(int(flat), k)
            if gain[c, t] <= 1e-12:
                break
            i = free[c]
            s = assignment[i]
            if s != src[c]:
                continue
            v_s = values.at([i], [s])[:, 0]
            v_t = values.at([i], [t])[:, 0]
            if len(scale) and (
                np.any(loads[:, s] - v_s < lower[:, s] - slack[:, 0]) or np.any(loads[:, t] + v_t > upper[:, t] + slack[:, 0])
            ):
                continue
            loads[:, s] -= v_s
            loads[:, t] += v_t
            assignment[i] = t
            moved += 1
        if moved == 0:
            break
    return assignment


def heuristic_plan(problem: AssignmentProblem, start: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    """A cheap plan that satisfies every band if the repair succeeds: (assignment, feasible)."""
    assignment = cheapest_assignment(problem) if start is None else np.asarray(start, int)
    assignment = repair(problem, assignment)
    feasible = not problem.violations(assignment)
    if feasible:
        assignment = improve(problem, assignment)
    return assignment, feasible
