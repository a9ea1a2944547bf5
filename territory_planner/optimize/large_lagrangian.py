"""Lagrangian multipliers and bounds of the band rows (step 2 of :mod:`territory_planner.optimize.large`).

:func:`lagrangian_ascent` fits the multipliers by subgradient ascent over the candidate
pairs; :func:`lagrangian_scan` evaluates L(y) over *every* allowed pair (the bound the
solver reports) and, given the LP's assignment duals, prices in the pairs of negative
reduced cost; :func:`band_multipliers` turns the LP's band duals into multipliers of the
right sign; :func:`margins` and :func:`interior_units` pick the units kept out of the
restricted LP (:mod:`~territory_planner.optimize.large_lp`). Called by the driver,
:func:`~territory_planner.optimize.large.solve_large` and
:func:`~territory_planner.optimize.large.solve_aggregated`.
"""

from __future__ import annotations

import math
import time

import numpy as np

from territory_planner.optimize.large_problem import LargeProblem, _Pairs, _regular


def band_multipliers(problem: LargeProblem, band_dual: np.ndarray) -> np.ndarray:
    """(n_bands, k) multipliers of the band rows with the sign each row's bounds allow."""
    y = np.asarray(band_dual, float).reshape(len(problem.bands), problem.k).copy()
    for b, band in enumerate(problem.bands):
        y[b] = np.where(np.isfinite(band.lower), y[b], np.minimum(y[b], 0.0))
        y[b] = np.where(np.isfinite(band.upper), y[b], np.maximum(y[b], 0.0))
    return y


def lagrangian_scan(problem: LargeProblem, y: np.ndarray, assign_dual: np.ndarray | None = None,
                    *, tol: float = 1e-9, per_unit: int = 2) -> tuple[float, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """L(y) over every allowed pair, and the pairs of negative LP reduced cost.

    Returns (bound, (unit, territory, cost) of up to ``per_unit`` pairs per unit whose
    reduced cost c_ij − u_i − Σ_b y_bj v_bi is below −tol, with u the assignment duals).
    """
    # Multipliers of a one-sided row must have its sign, or L(y) is no bound.
    y = band_multipliers(problem, np.ravel(y)) if problem.bands else y
    total = 0.0
    found_u, found_t, found_c = [], [], []
    for b, band in enumerate(problem.bands):
        lo = np.where(y[b] > 0, band.lower, band.upper)
        term = np.where(y[b] != 0, y[b] * np.where(np.isfinite(lo), lo, 0.0), 0.0)
        total += float(term.sum())
    for rows, block in problem.blocks():
        adj = block.copy()
        for b, band in enumerate(problem.bands):
            adj -= band.values[rows, None] * y[b][None, :]
        total += float(adj.min(axis=1).sum())
        if assign_dual is not None:
            rc = adj - assign_dual[rows, None]
            neg = rc < -tol * np.maximum(1.0, np.abs(block))
            if neg.any():
                rc = np.where(neg, rc, np.inf)
                take = min(per_unit, problem.k)
                best = np.argpartition(rc, take - 1, axis=1)[:, :take] if take < problem.k else np.tile(np.arange(problem.k), (len(rows), 1))
                vals = np.take_along_axis(rc, best, axis=1)
                ok = np.isfinite(vals)
                r = np.repeat(rows, take).reshape(len(rows), take)
                found_u.append(r[ok])
                found_t.append(best[ok])
                found_c.append(np.take_along_axis(block, best, axis=1)[ok])
    if found_u:
        pairs = (np.concatenate(found_u), np.concatenate(found_t), np.concatenate(found_c))
    else:
        pairs = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    return total, pairs


def lagrangian_ascent(problem: LargeProblem, pairs: _Pairs, *, deadline: float, iterations: int = 400,
                      target: float | None = None, y0: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Multipliers of the band rows by subgradient ascent on L(y) over the candidate pairs.

    Each step costs O(n·K). Returns (y, L over the candidates) — a bound only for the
    restricted problem; :func:`lagrangian_scan` turns y into a bound over every pair.
    Polyak steps toward ``target`` (an upper estimate), halved after 20 steps without
    progress (Held, Wolfe & Crowder 1974).
    """
    n, k = problem.n, problem.k
    nb = len(problem.bands)
    if nb == 0:
        return np.zeros((0, k)), -math.inf
    pairs = _regular(pairs, n)
    K = len(pairs.unit) // n
    unit = pairs.unit.reshape(n, K)
    terr = pairs.terr.reshape(n, K)
    cost = pairs.cost.reshape(n, K)
    values = np.vstack([b.values for b in problem.bands])
    lower = np.vstack([b.lower for b in problem.bands])
    upper = np.vstack([b.upper for b in problem.bands])
    scale = np.maximum(np.abs(values).sum(axis=1) / k, 1e-12)
    y = np.zeros((nb, k)) if y0 is None else y0.copy()
    best_y, best_L = y.copy(), -math.inf
    step, stall = 1.0, 0
    rows = np.arange(n)
    for _ in range(iterations):
        if time.perf_counter() > deadline:
            break
        adj = cost.copy()
        for b in range(nb):
            adj -= y[b][terr] * values[b][unit]
        pick = np.argmin(adj, axis=1)
        choice = terr[rows, pick]
        const = np.where(y > 0, y * np.where(np.isfinite(lower), lower, 0), y * np.where(np.isfinite(upper), upper, 0))
        L = float(adj[rows, pick].sum() + const.sum())
        if L > best_L + 1e-9 * abs(L):
            best_L, best_y, stall = L, y.copy(), 0
        else:
            stall += 1
            if stall >= 20:
                step, stall = step / 2, 0
                y = best_y.copy()
                if step < 1e-4:
                    break
                continue
        load = np.vstack([np.bincount(choice, weights=values[b], minlength=k) for b in range(nb)])
        g = np.where(load < lower, lower - load, np.where(load > upper, upper - load, 0.0))
        g = np.where(y > 0, lower - load, np.where(y < 0, upper - load, g))
        g = np.where(np.isfinite(g), g, 0.0) / scale[:, None]
        gg = float((g * g).sum())
        if gg <= 1e-18:
            break
        goal = target if target is not None and target > L else L + 0.01 * abs(L) + 1e-9
        y = y + step * (goal - L) / gg * (g / scale[:, None])
        for b in range(nb):
            y[b] = np.where(np.isfinite(lower[b]), y[b], np.minimum(y[b], 0.0))
            y[b] = np.where(np.isfinite(upper[b]), y[b], np.maximum(y[b], 0.0))
    return best_y, best_L


def margins(problem: LargeProblem, pairs: _Pairs, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(best territory, second-best minus best adjusted cost) per unit over the regular candidates."""
    n = problem.n
    pairs = _regular(pairs, n)
    K = len(pairs.unit) // n
    unit = pairs.unit.reshape(n, K)
    terr = pairs.terr.reshape(n, K)
    adj = pairs.cost.reshape(n, K).copy()
    for b, band in enumerate(problem.bands):
        adj -= y[b][terr] * band.values[unit]
    order = np.argsort(adj, axis=1)[:, :2]
    first = np.take_along_axis(adj, order[:, :1], axis=1)[:, 0]
    second = np.take_along_axis(adj, order[:, 1:2], axis=1)[:, 0] if K > 1 else np.full(n, np.inf)
    best = np.take_along_axis(terr, order[:, :1], axis=1)[:, 0]
    return best, second - first


def interior_units(problem: LargeProblem, lead: np.ndarray, margin: np.ndarray, fill: float,
                   lp_units: int | None = None) -> np.ndarray:
    """Units kept out of the LP: per territory, those with the widest margin, up to ``fill``.

    The ``lp_units`` units of narrowest margin always go to the LP.

    A territory's kept units never carry more than ``fill`` of its lower limit (or of its
    upper limit when it has none) in any band, so the LP over the others always has room.
    """
    n = problem.n
    keep = np.ones(n, dtype=bool)
    if lp_units is not None and lp_units < n:
        keep[np.argsort(margin, kind="stable")[:lp_units]] = False
    order = np.lexsort((-margin, lead))
    grouped = lead[order]
    starts = np.r_[0, np.flatnonzero(grouped[1:] != grouped[:-1]) + 1]
    for band in problem.bands:
        limit = np.where(np.isfinite(band.lower), band.lower, band.upper)
        if not np.isfinite(limit).any():
            continue
        v = band.values[order]
        cum = np.cumsum(v)
        offset = np.repeat(cum[starts] - v[starts], np.diff(np.r_[starts, n]))
        within = (cum - offset) <= fill * np.where(np.isfinite(limit), limit, np.inf)[grouped]
        keep[order[~within]] = False
    if problem.fixed is not None:
        keep |= problem.fixed >= 0
    return keep
