"""Repair and local search of the large-instance path (steps 4–5 of :mod:`territory_planner.optimize.large`).

Shift moves along the candidate pairs: :func:`repair_pairs` (with exchanges,
:func:`_best_swap`) moves a rounded plan inside every band, :func:`improve_pairs` saves
cost while every band holds, :func:`breach_neighbourhood` marks the units around the
breaches the shifts leave, and :func:`_checked` values a plan offered to the solver
(shifting it back inside a band it misses by a solver tolerance). MIP neighbourhoods:
:func:`_kernel_mip` re-optimises a set of free units with the others fixed (band
violation or cost), :func:`_near_tied` picks a kernel's units and :func:`_window_search`
runs the large-neighbourhood search over windows of neighbouring territories. Called by
the driver, :func:`~territory_planner.optimize.large.solve_large` and
:func:`~territory_planner.optimize.large.solve_aggregated`.
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp

from territory_planner.optimize.backends import SolveOptions, solve_model
from territory_planner.optimize.exact import MatrixModel
from territory_planner.optimize.heuristics import _violation
from territory_planner.optimize.large_problem import LargeProblem, _Pairs
from territory_planner.optimize.problem import REPAIR_TOL

#: Size and time of one large-neighbourhood-search window.
WINDOW_UNITS = 2_500
WINDOW_TERRITORIES = 6
WINDOW_SECONDS = 6.0


# --------------------------------------------------------------------------- repair


def _band_state(problem: LargeProblem):
    """Band values and limits normalised by a mean territory's load: (b, n), (b, k).

    The limits are :meth:`Band.working_limits` (widened by half the plan check's slack),
    so a plan these heuristics see inside every band passes the check, with room for the
    round-off of their running loads.
    """
    k = problem.k
    scale = np.array([max(1e-12, float(np.abs(b.values).sum()) / k) for b in problem.bands])
    values = np.vstack([b.values for b in problem.bands]) / scale[:, None]
    limits = [b.working_limits() for b in problem.bands]
    lower = np.vstack([lo for lo, _ in limits]) / scale[:, None]
    upper = np.vstack([hi for _, hi in limits]) / scale[:, None]
    return values, lower, upper


def repair_pairs(problem: LargeProblem, pairs: _Pairs, assignment: np.ndarray, *, max_rounds: int = 5000,
                 tol: float = REPAIR_TOL, deadline: float = math.inf) -> np.ndarray:
    """Shift units along candidate pairs until every band holds, cheapest repair first.

    Each round scores every shift that touches a violated territory by the extra cost
    per unit of violation it removes and applies the best ones whose territories do not
    overlap (so each applied move is scored exactly). Returns the assignment reached.
    """
    a = np.array(assignment, dtype=np.int64)
    if not problem.bands:
        return a
    values, lower, upper = _band_state(problem)
    k = problem.k
    loads = np.vstack([np.bincount(a, weights=v, minlength=k) for v in values])
    movable = np.ones(problem.n, bool) if problem.fixed is None else problem.fixed < 0
    cur_cost = problem.cost_of(a)
    cost_scale = max(float(np.median(np.abs(pairs.cost))), 1e-12)
    for _ in range(max_rounds):
        if time.perf_counter() > deadline:
            break
        viol = _violation(loads, lower, upper)
        bad = viol.sum(axis=0) > 0
        if not bad.any():
            break
        src_all = a[pairs.unit]
        sel = np.flatnonzero(movable[pairs.unit] & (pairs.terr != src_all) & (bad[src_all] | bad[pairs.terr]))
        if len(sel) == 0:
            if _best_swap(a, loads, values, lower, upper, pairs, movable, bad, cur_cost, problem, tol):
                continue
            break
        u, t = pairs.unit[sel], pairs.terr[sel]
        s_ = a[u]
        v = values[:, u]
        d = (_violation(loads[:, s_] - v, lower[:, s_], upper[:, s_]) - viol[:, s_]
             + _violation(loads[:, t] + v, lower[:, t], upper[:, t]) - viol[:, t]).sum(axis=0)
        good = d < -tol
        if not good.any():
            # No single shift helps (e.g. too little potential and no spare capacity):
            # exchange a unit of a breached territory with one of a neighbour.
            if _best_swap(a, loads, values, lower, upper, pairs, movable, bad, cur_cost, problem, tol):
                continue
            break
        sel, u, t, s_, d = sel[good], u[good], t[good], s_[good], d[good]
        score = (pairs.cost[sel] - cur_cost[u]) / cost_scale / -d
        order = np.argsort(score, kind="stable")
        used = np.zeros(k, bool)
        moved_units = set()
        for m in order[: 4 * k]:
            src, dst, unit = int(s_[m]), int(t[m]), int(u[m])
            if used[src] or used[dst] or unit in moved_units:
                continue
            used[src] = used[dst] = True
            moved_units.add(unit)
            loads[:, src] -= values[:, unit]
            loads[:, dst] += values[:, unit]
            a[unit] = dst
            cur_cost[unit] = pairs.cost[sel[m]]
    return a


def _best_swap(a, loads, values, lower, upper, pairs: _Pairs, movable, bad, cur_cost, problem: LargeProblem,
               tol: float) -> bool:
    """Apply the exchange (i in V ↔ j in B, both along candidate pairs) that most lowers the
    band violation of a breached territory V and its neighbour B; False if none does."""
    viol = _violation(loads, lower, upper)
    best = None
    for v_terr in np.flatnonzero(bad)[:20]:
        out_idx = np.flatnonzero((a[pairs.unit] == v_terr) & (pairs.terr != v_terr) & movable[pairs.unit])
        in_idx = np.flatnonzero((pairs.terr == v_terr) & (a[pairs.unit] != v_terr) & movable[pairs.unit])
        for b_terr in np.intersect1d(pairs.terr[out_idx], a[pairs.unit[in_idx]]):
            go = out_idx[pairs.terr[out_idx] == b_terr]  # i: V → B
            come = in_idx[a[pairs.unit[in_idx]] == b_terr]  # j: B → V
            if len(go) == 0 or len(come) == 0:
                continue
            vi, vj = values[:, pairs.unit[go]], values[:, pairs.unit[come]]  # (b, g), (b, c)
            dv = vj[:, None, :] - vi[:, :, None]  # V gains v_j − v_i
            before = viol[:, v_terr].sum() + viol[:, b_terr].sum()
            after = (_violation(loads[:, v_terr, None, None] + dv, lower[:, v_terr, None, None], upper[:, v_terr, None, None])
                     + _violation(loads[:, b_terr, None, None] - dv, lower[:, b_terr, None, None], upper[:, b_terr, None, None])).sum(axis=0)
            gain = before - after
            extra = (pairs.cost[go][:, None] + pairs.cost[come][None, :]
                     - cur_cost[pairs.unit[go]][:, None] - cur_cost[pairs.unit[come]][None, :])
            score = np.where(gain > tol, extra / np.maximum(gain, tol), np.inf)
            g, c = np.unravel_index(int(np.argmin(score)), score.shape)
            if np.isfinite(score[g, c]) and (best is None or score[g, c] < best[0]):
                best = (score[g, c], go[g], come[c])
    if best is None:
        return False
    _, pi, pj = best
    for p_ in (pi, pj):
        unit, src, dst = int(pairs.unit[p_]), int(a[pairs.unit[p_]]), int(pairs.terr[p_])
        loads[:, src] -= values[:, unit]
        loads[:, dst] += values[:, unit]
        a[unit] = dst
        cur_cost[unit] = pairs.cost[p_]
    return True


def improve_pairs(problem: LargeProblem, pairs: _Pairs, assignment: np.ndarray, *, max_rounds: int = 2000,
                  deadline: float = math.inf) -> np.ndarray:
    """Shift units along candidate pairs while it saves cost and every band still holds."""
    a = np.array(assignment, dtype=np.int64)
    values, lower, upper = _band_state(problem) if problem.bands else (np.zeros((0, problem.n)), None, None)
    k = problem.k
    loads = np.vstack([np.bincount(a, weights=v, minlength=k) for v in values]) if problem.bands else np.zeros((0, k))
    movable = np.ones(problem.n, bool) if problem.fixed is None else problem.fixed < 0
    cur_cost = problem.cost_of(a)
    for _ in range(max_rounds):
        if time.perf_counter() > deadline:
            break
        src_all = a[pairs.unit]
        gain = cur_cost[pairs.unit] - pairs.cost
        sel = np.flatnonzero(movable[pairs.unit] & (pairs.terr != src_all) & (gain > 1e-9))
        if len(sel) == 0:
            break
        u, t = pairs.unit[sel], pairs.terr[sel]
        s_ = a[u]
        if problem.bands:
            v = values[:, u]
            ok = ((loads[:, s_] - v >= lower[:, s_]) & (loads[:, t] + v <= upper[:, t])).all(axis=0)
            sel, u, t, s_ = sel[ok], u[ok], t[ok], s_[ok]
        if len(sel) == 0:
            break
        order = np.argsort(-gain[sel], kind="stable")
        used = np.zeros(k, bool)
        moved = 0
        for m in order[: 4 * k]:
            src, dst, unit = int(s_[m]), int(t[m]), int(u[m])
            if used[src] or used[dst]:
                continue
            used[src] = used[dst] = True
            if problem.bands:
                loads[:, src] -= values[:, unit]
                loads[:, dst] += values[:, unit]
            a[unit] = dst
            cur_cost[unit] = pairs.cost[sel[m]]
            moved += 1
        if moved == 0:
            break
    return a


def breach_neighbourhood(problem: LargeProblem, pairs: _Pairs, assignment: np.ndarray, rings: int) -> np.ndarray:
    """Units of the territories outside a band and those a few candidate moves away."""
    bad = np.zeros(problem.k, dtype=bool)
    for band in problem.bands:
        bad |= band.violation(assignment, problem.k) > band.slack()
    # Ring 0: the units of the breached territories and those with a pair into one; each
    # further ring adds the units with a pair into a territory the last ring touched.
    free = bad[assignment].copy()
    reach = bad.copy()
    for _ in range(rings):
        into = np.zeros(problem.n, dtype=bool)
        into[pairs.unit[reach[pairs.terr]]] = True
        free |= into
        reach = reach.copy()
        reach[assignment[free]] = True
    if problem.fixed is not None:
        free &= problem.fixed < 0
    return free


def _plan_value(problem: LargeProblem, a: np.ndarray | None) -> float:
    """The plan's cost, or +inf when there is no plan or it breaks a constraint."""
    if a is None or problem.violations(a):
        return math.inf
    return problem.objective(a)


def _checked(problem: LargeProblem, pairs: _Pairs | None, a: np.ndarray | None) -> tuple[np.ndarray | None, float]:
    """(plan, value) of an offered plan, +inf if it breaks a constraint.

    A MIP's plan may lie a solver tolerance (HiGHS: 1e-7 of a mean load) outside a band
    that the plan check measures at 1e-9 of the band's width: such a plan is shifted back
    inside along the candidate pairs and checked again, never passed on as it was.
    """
    value = _plan_value(problem, a)
    if a is not None and not math.isfinite(value) and pairs is not None and problem.bands:
        a = repair_pairs(problem, pairs, a, max_rounds=200)
        value = _plan_value(problem, a)
    return a, value


# --------------------------------------------------------------------------- kernel MIP


def _kernel_mip(problem: LargeProblem, pairs: _Pairs, rc: np.ndarray, start: np.ndarray, free: np.ndarray,
                delta: float, *, time_limit: float, mip_gap: float, seed: int, threads: int | None,
                phase: str, territories: np.ndarray | None = None) -> np.ndarray | None:
    """Re-optimise the free units over their pairs of reduced cost ≤ δ, the rest fixed.

    ``phase`` "feasibility" minimises the total (scaled) band violation with elastic
    slacks; "cost" minimises cost within the bands. Returns the new assignment or None.
    """
    n, k = problem.n, problem.k
    keep = free[pairs.unit] & ((rc <= delta) | (pairs.terr == start[pairs.unit]))
    if territories is not None:
        keep &= territories[pairs.terr]
    unit, terr, cost = pairs.unit[keep], pairs.terr[keep], pairs.cost[keep]
    free_units = np.flatnonzero(free)
    pos = np.full(n, -1, dtype=np.int64)
    pos[free_units] = np.arange(len(free_units))
    nv = len(unit)
    nf = len(free_units)
    blocks = [sp.csr_matrix((np.ones(nv), (pos[unit], np.arange(nv))), shape=(nf, nv))]
    row_lo, row_hi = [np.ones(nf)], [np.ones(nf)]
    fixed_units = ~free
    slack_cost = []
    for band in problem.bands:
        # Rows in units of a mean territory's load: HiGHS' tolerances are absolute.
        scale = max(1e-9, float(np.abs(band.values).sum()) / k)
        base = np.bincount(start[fixed_units], weights=band.values[fixed_units], minlength=k)
        blocks.append(sp.csr_matrix((band.values[unit] / scale, (terr, np.arange(nv))), shape=(k, nv)))
        row_lo.append((band.lower - base) / scale)
        row_hi.append((band.upper - base) / scale)
        slack_cost.append(np.ones(2 * k))
    A = sp.vstack(blocks, format="csr")
    nb = len(problem.bands)
    c = np.asarray(cost, float)
    integer = np.ones(nv, dtype=bool)
    col_lo, col_hi = np.zeros(nv), np.ones(nv)
    x0 = (terr == start[unit]).astype(float)
    if phase == "feasibility":
        # Elastic rows: band row b,j gets +s⁻ − s⁺; each slack costs 1 per mean load.
        ns = 2 * k * nb
        rows_idx = np.repeat(nf + np.arange(k * nb), 2)
        vals = np.tile([1.0, -1.0], k * nb)
        S = sp.csr_matrix((vals, (rows_idx, np.arange(ns))), shape=(nf + k * nb, ns))
        A = sp.hstack([A, S], format="csr")
        c = np.r_[np.zeros(nv), *slack_cost]
        integer = np.r_[integer, np.zeros(ns, bool)]
        col_lo, col_hi = np.r_[col_lo, np.zeros(ns)], np.r_[col_hi, np.full(ns, np.inf)]
        load = A[:, :nv] @ x0
        lo_all, hi_all = np.concatenate(row_lo), np.concatenate(row_hi)
        under = np.maximum(lo_all - load, 0)[nf:]
        over = np.maximum(load - hi_all, 0)[nf:]
        x0 = np.r_[x0, np.column_stack([under, over]).ravel()]
    model = MatrixModel(c=c, A=A, row_lo=np.concatenate(row_lo), row_hi=np.concatenate(row_hi),
                        col_lo=col_lo, col_hi=col_hi, integer=integer)
    # Phase 1 stops at a violation far below what the plan check tolerates (1e-6 of the
    # band's total), so it does not chase round-off.
    res = solve_model(model, "highs", SolveOptions(time_limit=max(1.0, time_limit), mip_gap=mip_gap, seed=seed,
                                                   threads=threads, warm_start=x0,
                                                   mip_abs_gap=1e-7 * k if phase == "feasibility" else None))
    if res.x is None:
        if res.status == "interrupted":
            raise KeyboardInterrupt
        return None
    chosen = res.x[:nv] > 0.5
    out = start.copy()
    out[unit[chosen]] = terr[chosen]
    if res.status == "interrupted":
        raise _Interrupted(out)
    return out


def _next_window(problem: LargeProblem, pairs: _Pairs, assignment: np.ndarray, tried: set) -> np.ndarray | None:
    """The territories of the next LNS window: a seed and its closest neighbours.

    Seeds come in order of how much their units could save by moving to their cheapest
    candidate (ignoring the bands); neighbours are the territories most units could move
    to. A window already tried with the same plan is skipped.
    """
    k = problem.k
    cur = np.asarray(problem.cost_of(assignment))
    cheapest = np.full(problem.n, np.inf)
    np.minimum.at(cheapest, pairs.unit, pairs.cost)
    saving = np.bincount(assignment, weights=np.maximum(cur - cheapest, 0.0), minlength=k)
    src = assignment[pairs.unit]
    links = np.bincount(src * k + pairs.terr, minlength=k * k).reshape(k, k).astype(float)
    links = links + links.T
    np.fill_diagonal(links, 0.0)
    units = np.bincount(assignment, minlength=k)
    for seed in np.argsort(-saving, kind="stable"):
        window = [int(seed)]
        count = int(units[seed])
        score = links[seed].copy()
        while count < WINDOW_UNITS and len(window) < WINDOW_TERRITORIES:
            score[window] = -1.0
            nxt = int(np.argmax(score))
            if score[nxt] <= 0:
                break
            window.append(nxt)
            count += int(units[nxt])
            score += links[nxt]
        key = tuple(sorted(window))
        if len(window) > 1 and key not in tried:
            return np.array(key)
    return None


def _near_tied(problem: LargeProblem, pairs: _Pairs, rc: np.ndarray, assignment: np.ndarray, split: np.ndarray,
               delta: float) -> np.ndarray:
    """Free units of a kernel: split in the LP, or with another pair of reduced cost ≤ δ."""
    free = split.copy()
    free[pairs.unit[(rc <= delta) & (pairs.terr != assignment[pairs.unit])]] = True
    if problem.fixed is not None:
        free &= problem.fixed < 0
    return free


def _gap(value: float, bound: float) -> float:
    return (value - bound) / max(abs(value), 1e-9)


class _Interrupted(KeyboardInterrupt):
    def __init__(self, assignment):
        super().__init__()
        self.assignment = assignment


def _window_search(problem: LargeProblem, pairs: _Pairs, offer, current, bound: float, *, deadline: float,
                   mip_gap: float, seed: int, threads: int | None, note) -> None:
    """Large-neighbourhood search over windows of neighbouring territories until time is up,
    the gap is closed, or a full pass finds nothing. ``offer`` takes a plan; ``current()``
    gives (best plan, its value)."""
    windows = 0
    stale = 0
    k = problem.k
    tried: set[tuple[int, ...]] = set()
    improved_in_pass = False
    best, best_value = current()
    while deadline - time.perf_counter() > 2 and best_value - bound > mip_gap * abs(best_value):
        window = _next_window(problem, pairs, best, tried)
        if window is None:
            if not improved_in_pass:
                break
            tried.clear()  # a full pass improved the plan: go round again
            improved_in_pass = False
            continue
        tried.add(tuple(window.tolist()))
        in_window = np.zeros(k, dtype=bool)
        in_window[window] = True
        free = in_window[best]
        if problem.fixed is not None:
            free &= problem.fixed < 0
        before = best_value
        offer(_kernel_mip(problem, pairs, np.zeros(len(pairs.unit)), best, free, np.inf,
                          time_limit=min(WINDOW_SECONDS, deadline - time.perf_counter()),
                          mip_gap=1e-3, seed=seed, threads=threads, phase="cost", territories=in_window))
        best, best_value = current()
        windows += 1
        stale = 0 if best_value < before - 1e-9 * abs(before) else stale + 1
        improved_in_pass |= stale == 0
        if windows % 10 == 0 or stale == 0 and windows <= 3:
            note(f"window {windows} ({len(window)} territories, {int(free.sum()):,} units): "
                 f"{best_value:,.6g} (gap {_gap(best_value, bound):.3%})")
        if stale >= k:
            break
    note(f"{windows} windows: {best_value:,.6g} (gap {_gap(best_value, bound):.3%})")
