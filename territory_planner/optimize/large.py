"""Large alignments (10⁴–10⁶ accounts × 10²–10³ territories) without dense n × k matrices.

A plain MIP of a national alignment does not even find a plan (FIELD.md §6: none in
120 s at 10,000 × 100). This path keeps the exactness that matters — every plan meets
every constraint, and the summary proves how far it can be from the optimum — while only
ever holding O(n·K) pairs in memory:

1. **Candidates.** Each unit's K cheapest allowed territories, found in chunks of units
   (memory O(chunk·k)); a locked unit has just its lock.
2. **Lagrangian multipliers** y of the band rows by subgradient ascent over the
   candidates (O(n·K) a step), the candidates re-ranked by Lagrangian cost
   c_ij − Σ_b y_bj·v_bi between rounds so that a far territory the balance needs joins.
   For *any* y,
   L(y) = Σ_i min_j (c_ij − Σ_b y_bj v_bi) + Σ_bj (y_bj·lo_bj if y_bj > 0 else y_bj·hi_bj)
   is a lower bound on the optimum of the *full* problem (Geoffrion 1974); it is always
   evaluated over every allowed pair, so the reported bound never trusts the candidates.
3. **Restricted LP** (HiGHS) over the candidate pairs of the units near a boundary; each
   territory's units with the widest Lagrangian margin keep their territory (at most
   ``fill`` of its lower limit, so the LP keeps room). Pricing over every pair from the LP
   duals adds the pairs of negative reduced cost (column generation, warm basis); when
   every unit is in the LP and none is left, the bound is the LP bound of the full
   problem.
4. **Rounding and repair.** The LP is re-solved with its bands pulled in by a fifth
   (the optimal LP sits on its limits, where any rounding breaks them), rounded, repaired
   by shifts along candidate pairs and improved by cost-saving shifts.
5. **Kernel MIP and windows.** One MIP over the units that are split or have a
   near-tied alternative (reduced cost ≤ δ), the others fixed; then large-neighbourhood
   search: a window of neighbouring territories at a time, its units free to move among
   its territories only, one small warm-started MIP each, while time remains.
6. **Grouping** above :data:`AGGREGATE_PAIRS` pairs (:func:`solve_aggregated`). Units
   sharing their two cheapest territories are grouped in order of preference, about 1% of
   a mean territory per group; a coarser grouping's LP (every group free) gives the first
   multipliers; the groups are solved by steps 1–5 and their plan, a plan of the units
   with the same loads, is improved unit by unit. The bound is L(y) over every unit ×
   territory pair again.

On the grouped path (``robust``), each territory's nearest units are candidates too
(``TERRITORY_SHARE`` × n/k of them): without them a remote territory cannot reach its
lower limit over its candidates and the ascent's multipliers run away; multipliers whose
bound over all pairs falls are dropped. Up to 100,000 × 300 the plain path measured
better, so it keeps each unit's nearest territories and the ascent's last multipliers.

Peak memory measured by ``make bench``: about 0.6 GB at 10,000 × 100, 1.5 GB at
100,000 × 300 and 4.7 GB at 500,000 × 500 (grouped); one dense float matrix at
500,000 × 500 alone would be 2 GB, and pulp's model of it about 250 GB.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from territory_planner.errors import Conflict, Diagnosis, InfeasibleError, NoPlanFoundError
from territory_planner.optimize.backends import Progress, SolveOptions, solve_model
from territory_planner.optimize.exact import MatrixModel
from territory_planner.optimize.heuristics import _violation
from territory_planner.optimize.problem import REPAIR_TOL, Band
from territory_planner.optimize.solution import Solution

#: Pairs (n × k) above which ``method: auto`` takes this path.
LARGE_PAIRS = 600_000
#: Candidate territories per unit at the start (pricing adds any the LP wants).
CANDIDATES = 8
#: Each territory's nearest units join the candidates, this many times its mean share n/k:
#: without them a remote territory cannot reach its lower limit over the candidates, its
#: multiplier grows without end, and the bound over all pairs collapses.
TERRITORY_SHARE = 2.0
#: Most units in the LP; the others keep the territory the Lagrangian multipliers give them.
LP_UNITS = 30_000
#: Most near-tied pairs in the one kernel MIP before the windows.
KERNEL_UNITS = 2_000
#: Size and time of one large-neighbourhood-search window.
WINDOW_UNITS = 2_500
WINDOW_TERRITORIES = 6
WINDOW_SECONDS = 6.0
#: Pairs above which units are grouped before the LP (:func:`solve_aggregated`), and the
#: most units in one group.
AGGREGATE_PAIRS = 60_000_000
AGGREGATE_GROUP = 10
#: Groups of the coarse problem whose LP (every group free) gives the first multipliers,
#: and its share of the time.
COARSE_GROUPS = 10_000
COARSE_SHARE = 0.12
#: Units per chunk when scanning all n × k pairs.
CHUNK_PAIRS = 4_000_000

PairCost = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class LargeProblem:
    """An assignment problem whose costs are computed on demand, pair by pair.

    ``pair_cost(rows, cols)`` returns the cost of the pairs (rows[t], cols[t]) with numpy
    broadcasting (``rows[:, None], cols[None, :]`` gives a block). ``pair_allowed`` (same
    calling convention, bool) forbids pairs (eligibility, max distance); ``fixed[i] = j``
    locks unit i (−1 free). Bands are per-unit values (n,) like
    :class:`~territory_planner.optimize.problem.Band`.
    """

    unit_ids: np.ndarray
    territory_ids: np.ndarray
    pair_cost: PairCost
    bands: tuple[Band, ...] = ()
    fixed: np.ndarray | None = None
    pair_allowed: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    cost_label: str = "cost"
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for band in self.bands:
            if band.values.shape != (self.n,):
                raise ValueError(f"band '{band.label}': the large path takes per-unit values (n,)")

    @property
    def n(self) -> int:
        return len(self.unit_ids)

    @property
    def k(self) -> int:
        return len(self.territory_ids)

    def cost_of(self, assignment: np.ndarray) -> np.ndarray:
        return np.asarray(self.pair_cost(np.arange(self.n), np.asarray(assignment)), dtype=float)

    def objective(self, assignment: np.ndarray) -> float:
        return float(self.cost_of(assignment).sum())

    def violations(self, assignment: np.ndarray) -> list[str]:
        """Every constraint the assignment breaks, in words; empty if it is feasible
        (bands measured on their own scale, as :meth:`AssignmentProblem.violations`)."""
        a = np.asarray(assignment)
        if a.shape != (self.n,) or a.min(initial=0) < 0 or a.max(initial=0) >= self.k:
            return ["not every unit is assigned to exactly one territory"]
        out: list[str] = []
        if self.fixed is not None:
            locked = self.fixed >= 0
            for i in np.flatnonzero(locked & (a != self.fixed))[:5]:
                out.append(f"unit {self.unit_ids[i]} is locked to {self.territory_ids[self.fixed[i]]}")
        if self.pair_allowed is not None:
            bad = ~np.asarray(self.pair_allowed(np.arange(self.n), a), dtype=bool)
            for i in np.flatnonzero(bad)[:5]:
                out.append(f"unit {self.unit_ids[i]} is assigned to a territory it may not use ({self.territory_ids[a[i]]})")
        for band in self.bands:
            out.extend(band.breaches(a, self.k, self.territory_ids))
        return out

    # ------------------------------------------------------------------ chunked scans

    def blocks(self, chunk_pairs: int = CHUNK_PAIRS, order: np.ndarray | None = None):
        """Yield (rows, cost block (b, k)) over all units (in ``order`` if given), forbidden
        pairs at +inf."""
        k = self.k
        step = max(1, chunk_pairs // max(1, k))
        cols = np.arange(k)
        order = np.arange(self.n) if order is None else order
        for start in range(0, self.n, step):
            rows = order[start : start + step]
            block = np.asarray(self.pair_cost(rows[:, None], cols[None, :]), dtype=float)
            block = np.broadcast_to(block, (len(rows), k)).copy()
            if self.pair_allowed is not None:
                block[~np.broadcast_to(np.asarray(self.pair_allowed(rows[:, None], cols[None, :]), bool), block.shape)] = np.inf
            if self.fixed is not None:
                locked = self.fixed[rows] >= 0
                if locked.any():
                    keep = block[locked, self.fixed[rows][locked]].copy()
                    block[locked] = np.inf
                    block[np.flatnonzero(locked), self.fixed[rows][locked]] = keep
            yield rows, block


@dataclass
class _Pairs:
    """The candidate pairs (sorted by unit, then territory) and their costs."""

    unit: np.ndarray
    terr: np.ndarray
    cost: np.ndarray

    def add(self, unit, terr, cost) -> np.ndarray:
        """Append the pairs not yet present; returns their indices."""
        key_old = self.unit.astype(np.int64) * 1_000_003 + self.terr
        key_new = unit.astype(np.int64) * 1_000_003 + terr
        fresh = ~np.isin(key_new, key_old)
        unit, terr, cost = unit[fresh], terr[fresh], cost[fresh]
        first = len(self.unit)
        self.unit = np.r_[self.unit, unit].astype(np.int64)
        self.terr = np.r_[self.terr, terr].astype(np.int64)
        self.cost = np.r_[self.cost, cost]
        return np.arange(first, len(self.unit))


def candidate_pairs(problem: LargeProblem, per_unit: int = CANDIDATES, y: np.ndarray | None = None,
                    per_territory: float = TERRITORY_SHARE) -> _Pairs:
    """Each unit's ``per_unit`` cheapest allowed territories (ties broken by index), and
    each territory's ``per_territory · n/k`` cheapest allowed units.

    With band multipliers ``y`` the ranking is by the Lagrangian cost c_ij − Σ_b y_bj v_bi,
    so a territory the balance pulls towards is a candidate even when it is far.
    """
    K = min(per_unit, problem.k)
    M = min(problem.n, math.ceil(per_territory * problem.n / problem.k)) if per_territory > 0 else 0
    top_val = np.full((M, problem.k), np.inf)
    top_row = np.zeros((M, problem.k), dtype=np.int64)
    units, terrs, costs = [], [], []
    for rows, block in problem.blocks():
        rank = block
        if y is not None and len(y):
            rank = block.copy()
            for b, band in enumerate(problem.bands):
                rank -= band.values[rows, None] * y[b][None, :]
        if M:
            # Running per-territory best M over the blocks seen so far.
            val = np.vstack([top_val, rank])
            row = np.vstack([top_row, np.broadcast_to(rows[:, None], rank.shape)])
            keep = np.argpartition(val, M - 1, axis=0)[:M] if len(val) > M else np.arange(len(val))[:, None].repeat(problem.k, 1)
            top_val = np.take_along_axis(val, keep, axis=0)
            top_row = np.take_along_axis(row, keep, axis=0)
        part = np.argpartition(rank, K - 1, axis=1)[:, :K] if K < problem.k else np.tile(np.arange(problem.k), (len(rows), 1))
        c = np.take_along_axis(block, part, axis=1)
        ok = np.isfinite(c)
        if not ok.any(axis=1).all():
            i = int(rows[np.flatnonzero(~ok.any(axis=1))[0]])
            raise InfeasibleError(Diagnosis(f"unit {problem.unit_ids[i]} may not go to any territory", [Conflict(
                "eligibility / max_distance_km", f"unit {problem.unit_ids[i]} is excluded from every territory",
                "allow it at least one territory (check its segment's eligibility and max_distance_km)")]))
        r = np.repeat(rows, K)[ok.ravel()]
        units.append(r)
        terrs.append(part.ravel()[ok.ravel()])
        costs.append(c.ravel()[ok.ravel()])
    if M:
        ok = np.isfinite(top_val)
        t = np.broadcast_to(np.arange(problem.k)[None, :], top_val.shape)[ok]
        r = top_row[ok]
        units.append(r)
        terrs.append(t)
        costs.append(np.asarray(problem.pair_cost(r, t), dtype=float) * np.ones(len(r)))
    unit, terr, cost = np.concatenate(units), np.concatenate(terrs), np.concatenate(costs)
    key = unit.astype(np.int64) * problem.k + terr
    key, first = np.unique(key, return_index=True)  # sorted by unit, then territory
    return _Pairs(key // problem.k, key % problem.k, cost[first])


# --------------------------------------------------------------------------- the LP


class _RestrictedLP:
    """HiGHS LP over the candidate pairs of the free units, extended column by column.

    Units outside ``free`` keep the territory in ``start``; their loads are taken off the
    band limits. Columns are added with the warm basis kept (column generation).
    """

    def __init__(self, problem: LargeProblem, pairs: _Pairs, options: SolveOptions,
                 free: np.ndarray | None = None, start: np.ndarray | None = None) -> None:
        import highspy

        self.problem, self.pairs = problem, pairs
        n, k = problem.n, problem.k
        self.free = np.ones(n, bool) if free is None else free
        self.free_units = np.flatnonzero(self.free)
        self.pos = np.full(n, -1, dtype=np.int64)
        self.pos[self.free_units] = np.arange(len(self.free_units))
        self.nf = len(self.free_units)
        fixed = ~self.free
        self.base = [np.bincount(start[fixed], weights=b.values[fixed], minlength=k) if fixed.any() else np.zeros(k)
                     for b in problem.bands]
        inf = highspy.kHighsInf
        self.h = h = highspy.Highs()
        h.setOptionValue("output_flag", bool(options.verbose))
        h.setOptionValue("random_seed", int(options.seed))
        if options.threads:
            h.setOptionValue("threads", int(options.threads))
        h.HandleKeyboardInterrupt = True
        lo = [np.ones(self.nf)]
        hi = [np.ones(self.nf)]
        for band, base in zip(problem.bands, self.base, strict=True):
            lo.append(np.where(np.isfinite(band.lower), band.lower - base, -inf))
            hi.append(np.where(np.isfinite(band.upper), band.upper - base, inf))
        row_lo, row_hi = np.concatenate(lo), np.concatenate(hi)
        h.addRows(len(row_lo), row_lo, row_hi, 0, np.zeros(len(row_lo) + 1, np.int32), np.zeros(0, np.int32), np.zeros(0))
        # Elastic band rows: a slack on each finite limit at a price no real move can
        # beat, so the LP is always feasible and its duals price in the pairs the bands
        # need (phase-1 pricing). A plan with slack left is not a plan.
        self.n_slack = 0
        self.slack = 0.0
        prices = []
        for b, band in enumerate(problem.bands):
            v = np.abs(band.values[pairs.unit])
            ratio = pairs.cost[v > 0] / v[v > 0]
            price = 1e3 * max(float(np.max(ratio)) if len(ratio) else 1.0, 1e-6)
            for limit, sign in ((band.lower, 1.0), (band.upper, -1.0)):
                rows = (self.nf + b * k + np.flatnonzero(np.isfinite(limit))).astype(np.int32)
                m = len(rows)
                if m:
                    h.addCols(m, np.full(m, price), np.zeros(m), np.full(m, inf), m, np.arange(m, dtype=np.int32),
                              rows, np.full(m, sign))
                    self.n_slack += m
                    prices.append(np.full(m, price))
        self.slack_price = np.concatenate(prices) if prices else np.zeros(0)
        self.n_cols = 0
        self.col_pair = np.zeros(0, dtype=np.int64)
        self.add(np.arange(len(pairs.unit)))

    def add(self, pair_index: np.ndarray) -> None:
        """Add the listed pairs (indices into ``pairs``) whose unit is free."""
        pair_index = pair_index[self.free[self.pairs.unit[pair_index]]]
        unit, terr, cost = self.pairs.unit[pair_index], self.pairs.terr[pair_index], self.pairs.cost[pair_index]
        n, k = self.nf, self.problem.k
        nb = len(self.problem.bands)
        m = len(unit)
        index = np.empty((m, 1 + nb), dtype=np.int32)
        value = np.empty((m, 1 + nb))
        index[:, 0] = self.pos[unit]
        value[:, 0] = 1.0
        for b, band in enumerate(self.problem.bands):
            index[:, 1 + b] = n + b * k + terr
            value[:, 1 + b] = band.values[unit]
        starts = np.arange(m, dtype=np.int32) * (1 + nb)
        # x ≤ 1 is implied by the assignment row; leaving it out keeps every column's
        # reduced cost ≥ 0 at the optimum, so pricing finds only pairs not yet in the LP.
        upper = np.full(m, highspy_inf())
        self.h.addCols(m, np.asarray(cost, float), np.zeros(m), upper, m * (1 + nb), starts, index.ravel(), value.ravel())
        self.n_cols += m
        self.col_pair = np.r_[self.col_pair, pair_index]

    def raise_slack_price(self, factor: float) -> None:
        self.slack_price = self.slack_price * factor
        self.h.changeColsCost(self.n_slack, np.arange(self.n_slack, dtype=np.int32), self.slack_price)

    def assign_duals(self, row_dual: np.ndarray) -> np.ndarray:
        """(n,) dual of each unit's assignment row; −inf for units not in the LP."""
        out = np.full(self.problem.n, -np.inf)
        out[self.free_units] = row_dual[: self.nf]
        return out

    def band_duals(self, row_dual: np.ndarray) -> np.ndarray:
        return np.asarray(row_dual[self.nf:], float)

    def set_bands(self, shrink: float) -> None:
        """Pull every band limit inwards by ``shrink`` of its half-width (one-sided: of the limit)."""
        import highspy

        inf = highspy.kHighsInf
        k = self.problem.k
        for b, band in enumerate(self.problem.bands):
            lo, hi = band.lower.astype(float) - self.base[b], band.upper.astype(float) - self.base[b]
            both = np.isfinite(lo) & np.isfinite(hi)
            half = np.where(both, (hi - lo) / 2, 0.0)
            one_hi = ~both & np.isfinite(hi)
            one_lo = ~both & np.isfinite(lo)
            lo[both] += shrink * half[both]
            hi[both] -= shrink * half[both]
            hi[one_hi] -= shrink * 0.1 * np.abs(hi[one_hi])
            lo[one_lo] += shrink * 0.1 * np.abs(lo[one_lo])
            rows = (self.nf + b * k + np.arange(k)).astype(np.int32)
            self.h.changeRowsBounds(k, rows, np.where(np.isfinite(lo), lo, -inf), np.where(np.isfinite(hi), hi, inf))

    def solve(self, time_limit: float) -> tuple[str, np.ndarray | None, np.ndarray | None, float]:
        import highspy

        self.h.setOptionValue("time_limit", float(max(1.0, time_limit)))
        self.h.run()
        status = self.h.getModelStatus()
        ms = highspy.HighsModelStatus
        if status == ms.kOptimal:
            sol = self.h.getSolution()
            x = np.asarray(sol.col_value, float)
            self.slack = float(x[: self.n_slack].sum())
            z = self.h.getInfo().objective_function_value - float(np.dot(x[: self.n_slack], self.slack_price))
            return "optimal", x[self.n_slack:], np.asarray(sol.row_dual, float), z
        if status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
            return "infeasible", None, None, math.inf
        if status == ms.kInterrupt:
            raise KeyboardInterrupt
        return "time_limit", None, None, math.inf


def highspy_inf() -> float:
    import highspy

    return highspy.kHighsInf


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


def infeasibility(problem: LargeProblem) -> Diagnosis:
    """What arithmetic shows when no fractional plan exists over all pairs."""
    conflicts = []
    for band in problem.bands:
        total = float(band.values.sum())
        if total > float(np.sum(band.upper)) + 1e-9:
            conflicts.append(Conflict(band.label, f"the total {total:,.6g} exceeds the sum of the upper limits "
                                      f"({float(np.sum(band.upper)):,.6g})", "raise the limits or add territories"))
        if np.all(np.isfinite(band.lower)) and total < float(np.sum(band.lower)) - 1e-9:
            conflicts.append(Conflict(band.label, f"the total {total:,.6g} is below the sum of the lower limits "
                                      f"({float(np.sum(band.lower)):,.6g})", "lower the limits or use fewer territories"))
    if not conflicts:
        conflicts = [Conflict(band.label, "takes part in the conflict", "widen it") for band in problem.bands]
    return Diagnosis("no plan meets every band, not even fractionally, with the allowed territories", conflicts)


def _regular(pairs: _Pairs, n: int) -> _Pairs:
    """The pairs as n rows of equal length K (sorted by unit), padded with +inf costs.

    Units have different numbers of candidates (forbidden pairs dropped, a locked unit
    has one, pricing adds some); the vectorised steps below need a rectangle.
    """
    o = np.argsort(pairs.unit, kind="stable")
    u, t, c = pairs.unit[o], pairs.terr[o], pairs.cost[o]
    count = np.bincount(u, minlength=n)
    K = int(count.max())
    first = np.r_[0, np.cumsum(count)[:-1]]
    slot = np.arange(len(u)) - first[u]
    terr = np.repeat(t[first][:, None], K, axis=1)
    cost = np.full((n, K), np.inf)
    terr[u, slot] = t
    cost[u, slot] = c
    return _Pairs(np.repeat(np.arange(n), K), terr.ravel(), cost.ravel())


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


# --------------------------------------------------------------------------- the solver


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


def _note(lines: list[str], say: Callable[[str], None], t0: float) -> Callable[[str], None]:
    """A logger that stamps each line with the seconds since ``t0`` and keeps it in ``lines``."""
    def note(msg: str) -> None:
        lines.append(f"{time.perf_counter() - t0:7.1f}s  {msg}")
        say(lines[-1])
    return note


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


def _result(problem: LargeProblem, best, best_value: float, bound: float, status: str, *, mip_gap: float,
            time_limit: float, t0: float, lines: list[str], why: str) -> Solution:
    """The Solution of the best plan (its status from the gap), or the error when there is none."""
    if best is None:
        if status == "interrupted":
            raise KeyboardInterrupt
        raise NoPlanFoundError(Diagnosis(f"no plan meeting every band was found in {time_limit:g} s", [
            Conflict("solver.time_limit", f"{time_limit:g} s", "raise solver.time_limit"),
            *(Conflict(band.label, why, "or widen this tolerance") for band in problem.bands),
        ]))
    bound = min(bound, best_value)
    gap = (best_value - bound) / max(abs(best_value), 1e-9)
    if status != "interrupted":
        status = "optimal" if gap <= mip_gap + 1e-12 else "time_limit"
    return Solution(assignment=best, status=status, objective=best_value, bound=bound, backend="large",
                    seconds=time.perf_counter() - t0, log=tuple(lines))


def solve_large(
    problem: LargeProblem,
    *,
    time_limit: float = 600.0,
    mip_gap: float = 1e-3,
    seed: int = 0,
    threads: int | None = None,
    progress: Progress | None = None,
    verbose: bool = False,
    log: Callable[[str], None] | None = None,
    per_unit: int = CANDIDATES,
    per_territory: float = 0.0,
    aggregate: bool = True,
    multipliers: dict | None = None,
    lp_units: int = LP_UNITS,
    y0: np.ndarray | None = None,
    lp_only: bool = False,
    robust: bool = False,
) -> Solution | None:
    """Best plan within the time limit and a lower bound proven over *all* pairs.

    Above :data:`AGGREGATE_PAIRS` pairs the units are first grouped (see
    :func:`solve_aggregated`). ``multipliers``, if a dict, receives under ``"y"`` the band
    multipliers of the best bound; ``y0`` are multipliers to start from (kept only if their
    bound beats L(0)); without them, above ``lp_units`` units, they come from the LP of a
    coarse grouping (:func:`coarse_multipliers`). ``lp_only`` stops after the LP (returns
    None; for the multipliers).

    ``robust`` (the grouped path, for a national alignment where some territories must reach
    far): multipliers whose bound falls are dropped, each territory's nearest units join
    the candidates (``per_territory``) and, above ``lp_units``, a coarse LP gives the
    first multipliers. Without it (the default, measured best up to 100,000 × 300) the
    ascent keeps its last multipliers and the candidates are each unit's nearest only.
    """
    if aggregate and problem.n * problem.k > AGGREGATE_PAIRS and problem.n >= 200 * problem.k:
        return solve_aggregated(problem, time_limit=time_limit, mip_gap=mip_gap, seed=seed, threads=threads,
                                progress=progress, verbose=verbose, log=log, per_unit=per_unit,
                                per_territory=per_territory or TERRITORY_SHARE)
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    say = log or (lambda _msg: None)
    lines: list[str] = []
    note = _note(lines, say, t0)
    best, best_value, bound = None, math.inf, -math.inf
    status = "time_limit"
    pairs = None

    def offer(a: np.ndarray | None) -> None:
        nonlocal best, best_value
        a, v = _checked(problem, pairs, a)
        if v < best_value:
            best, best_value = a.copy(), v
            if progress is not None:
                progress(best_value, bound, time.perf_counter() - t0)

    try:
        if robust and y0 is None and problem.bands and problem.n > max(lp_units, 2 * COARSE_GROUPS):
            # The LP below fixes the units deep inside their territory; where that territory
            # is depends on the multipliers, which must already be near balance.
            y0 = coarse_multipliers(problem, time_limit=COARSE_SHARE * time_limit, seed=seed, threads=threads,
                                    verbose=verbose, per_unit=per_unit, per_territory=per_territory, note=note)
        pairs = candidate_pairs(problem, per_unit, per_territory=per_territory)
        note(f"candidates: {len(pairs.unit):,} pairs ({len(pairs.unit) / problem.n:.1f} per unit)")
        # 1. Multipliers by subgradient ascent over the candidates, the candidates re-ranked
        #    by Lagrangian cost between rounds; each round's y bounds the full problem.
        y = np.zeros((len(problem.bands), problem.k))
        # L(0): each unit at its cheapest allowed territory, which is among its candidates.
        bound = float(np.minimum.reduceat(pairs.cost, np.r_[0, np.flatnonzero(np.diff(pairs.unit)) + 1]).sum())
        best_y = y.copy()
        if y0 is not None and problem.bands:
            L0, _ = lagrangian_scan(problem, y0)
            note(f"Lagrangian bound {L0:,.6g} from the given multipliers (L(0) = {bound:,.6g})")
            if L0 > bound:
                best_y, bound = np.array(y0, dtype=float).reshape(y.shape), L0
                pairs = candidate_pairs(problem, per_unit, best_y, per_territory)
        if multipliers is not None:
            multipliers["y"] = best_y
        for outer in range(4 if problem.bands else 0):
            y, L_cand = lagrangian_ascent(problem, pairs, deadline=t0 + 0.05 * (outer + 1) * time_limit,
                                          y0=best_y if robust else y)
            L, _ = lagrangian_scan(problem, y)
            note(f"Lagrangian bound {L:,.6g} over all {problem.n * problem.k:,} pairs (candidates: {L_cand:,.6g})")
            if L > bound:
                best_y, bound = y.copy(), L
                if multipliers is not None:
                    multipliers["y"] = best_y
            elif robust:
                # Multipliers fitted to the candidates can overshoot (a territory that cannot
                # fill its band from its candidates pulls ever harder): keep the best ones.
                break
            if L >= L_cand - 1e-6 * abs(L_cand):
                break
            pairs = candidate_pairs(problem, per_unit, y, per_territory)
        if robust:
            y = best_y
        # 2. Units far from any boundary keep their best territory; the LP decides the rest.
        lead, margin = margins(problem, pairs, y)
        if problem.fixed is not None:
            lead = np.where(problem.fixed >= 0, problem.fixed, lead)
        fill = 0.9 if problem.n > lp_units else 0.0
        while True:
            free = ~interior_units(problem, lead, margin, fill, lp_units) if fill > 0 else np.ones(problem.n, bool)
            lp = _RestrictedLP(problem, pairs, SolveOptions(seed=seed, threads=threads, verbose=verbose), free, lead)
            word, x, duals, z = lp.solve(deadline - time.perf_counter() - 0.25 * time_limit)
            note(f"LP over {lp.nf:,} units and {lp.n_cols:,} pairs: {z:,.6g}")
            scale = max(1e-9, max((float(np.abs(b_.values).sum()) / problem.k for b_ in problem.bands), default=1.0))
            for bump in range(4):
                priced = False
                for round_ in range(30):
                    if word != "optimal":
                        break
                    yl = band_multipliers(problem, lp.band_duals(duals))
                    L, (nu, nt, nc) = lagrangian_scan(problem, yl, lp.assign_duals(duals))
                    if L > bound and multipliers is not None:
                        multipliers["y"] = yl.copy()
                    bound = max(bound, L)
                    note(f"LP round {round_ + 1}: {z:,.6g} (band slack {lp.slack:.3g}); bound over all pairs "
                         f"{bound:,.6g}; {len(nu):,} pairs priced in")
                    added = pairs.add(nu, nt, nc)
                    if len(added) == 0:
                        priced = True
                        break
                    if time.perf_counter() > deadline - 0.3 * time_limit:
                        break
                    lp.add(added)
                    word, x_new, d_new, z_new = lp.solve(deadline - time.perf_counter() - 0.25 * time_limit)
                    if word == "optimal":
                        x, duals, z = x_new, d_new, z_new
                if word != "optimal" or lp.slack <= 1e-7 * scale or fill > 0 or not priced:
                    break
                if bump == 3:
                    # Every pair was priced at a slack price no move can beat and the bands
                    # still need slack: no fractional plan exists.
                    raise InfeasibleError(infeasibility(problem))
                # The slack may just be cheaper than a far pair the bands need: raise its price.
                lp.raise_slack_price(1e3)
                word, x, duals, z = lp.solve(deadline - time.perf_counter() - 0.25 * time_limit)
            if word != "optimal" or lp.slack <= 1e-7 * scale or fill <= 0:
                break
            fill = fill - 0.3 if fill > 0.3 else 0.0
            note(f"the bands need the kept units to move: keeping {fill:.0%} of each territory")
        if lp_only:
            return None
        split = np.zeros(problem.n, dtype=bool)
        if x is None or duals is None:
            # The LP did not finish in its share of the time: start from the Lagrangian
            # plan (each unit at its best territory under the multipliers) instead.
            note("the LP did not finish in its time; rounding the Lagrangian plan instead")
            start = lead.copy()
            rc = np.zeros(len(pairs.unit))
        else:
            yl = band_multipliers(problem, lp.band_duals(duals))
            rc = pairs.cost - np.where(np.isfinite(lp.assign_duals(duals)[pairs.unit]), lp.assign_duals(duals)[pairs.unit], 0.0)
            for b, band in enumerate(problem.bands):
                rc = rc - yl[b][pairs.terr] * band.values[pairs.unit]
            # Round a plan of the LP with the bands pulled in by a fraction of their width:
            # the optimal LP sits on its band limits, where any rounding breaks them; the
            # narrower LP leaves room for the rounding and the repair.
            for shrink in (0.1, 0.2, 0.05):
                if deadline - time.perf_counter() < 0.25 * time_limit:
                    break
                lp.set_bands(shrink)
                word_t, x_t, _, z_t = lp.solve(deadline - time.perf_counter() - 0.2 * time_limit)
                if word_t == "optimal" and lp.slack <= 1e-7 * scale:
                    x = x_t
                    note(f"LP with bands narrowed by {shrink:.0%} of their width: {z_t:,.6g}")
                    break
                note(f"LP with bands narrowed by {shrink:.0%}: "
                     + (f"needs band slack {lp.slack:.3g}" if word_t == "optimal" else f"{word_t}"))
            lp.set_bands(0.0)
            cols = lp.col_pair[: len(x)]  # a re-solve that did not finish leaves the older, shorter x
            order = np.lexsort((-x, pairs.unit[cols]))
            u_sorted = pairs.unit[cols][order]
            first = np.r_[True, u_sorted[1:] != u_sorted[:-1]]
            start = lead.copy()
            start[u_sorted[first]] = pairs.terr[cols][order][first]
            split[pairs.unit[cols][(x > 1e-6) & (x < 1 - 1e-6)]] = True
        note(f"LP plan: {int(split.sum()):,} split units of {problem.n:,}")
        repaired = repair_pairs(problem, pairs, start, deadline=deadline)
        offer(repaired)
        for ring in (2, 4, 8):
            if best is not None or time.perf_counter() > deadline - 2:
                break
            # Shifts alone are stuck (every neighbour sits on its limit): a small MIP over
            # the units of the breached territories and of their neighbours finishes it.
            free = breach_neighbourhood(problem, pairs, repaired, ring)
            if not free.any():
                break
            note(f"repair left breaches: a feasibility MIP over {int(free.sum()):,} units nearby")
            fixed_up = _kernel_mip(problem, pairs, np.zeros(len(pairs.unit)), repaired, free, np.inf,
                                   time_limit=min(0.05 * time_limit * ring, deadline - time.perf_counter()),
                                   mip_gap=1e-4, seed=seed, threads=threads, phase="feasibility")
            offer(fixed_up)
        if best is not None:
            note(f"rounded and repaired: {best_value:,.6g} (gap {_gap(best_value, bound):.3%})")
            offer(improve_pairs(problem, pairs, best, deadline=deadline))
            note(f"shift moves: {best_value:,.6g} (gap {_gap(best_value, bound):.3%})")
        # 3. No plan yet (the repair was stuck): kernel MIPs that minimise band violation.
        gaps = np.sort(rc[rc > 1e-9]) if (rc > 1e-9).any() else np.zeros(1)
        for size in (min(problem.n, max(2000, 20 * problem.k)), min(problem.n, max(8000, 60 * problem.k))):
            remaining = deadline - time.perf_counter()
            if best is not None or remaining < 2:
                break
            delta = float(gaps[min(len(gaps) - 1, size)])
            free = _near_tied(problem, pairs, rc, start, split, delta)
            note(f"feasibility kernel: {int(free.sum()):,} free units, δ = {delta:.4g}")
            offer(_kernel_mip(problem, pairs, rc, start, free, delta, time_limit=0.5 * remaining,
                              mip_gap=1e-4, seed=seed, threads=threads, phase="feasibility"))
        # 4. One kernel MIP over the units with a near-tied alternative (reduced cost ≤ δ).
        if best is not None and best_value - bound > mip_gap * abs(best_value):
            # Capped: beyond a few thousand units HiGHS spends the time without a better plan.
            size = min(problem.n, KERNEL_UNITS)
            delta = float(gaps[min(len(gaps) - 1, size)])
            free = _near_tied(problem, pairs, rc, best, split, delta)
            offer(_kernel_mip(problem, pairs, rc, best, free, delta,
                              time_limit=min(0.1 * time_limit, deadline - time.perf_counter()),
                              mip_gap=mip_gap / 2, seed=seed, threads=threads, phase="cost"))
            note(f"kernel of {int(free.sum()):,} near-tied units: {best_value:,.6g} "
                 f"(gap {_gap(best_value, bound):.3%})")
        # 5. Large-neighbourhood search: a window of neighbouring territories at a time,
        #    every unit of the window free to move among the window's territories (so no
        #    other territory's load changes), one small MIP each, warm-started.
        if best is not None:
            _window_search(problem, pairs, offer, lambda: (best, best_value), bound, deadline=deadline, mip_gap=mip_gap,
                           seed=seed, threads=threads, note=note)
    except _Interrupted as stop:
        offer(stop.assignment)
        status = "interrupted"
    except KeyboardInterrupt:
        status = "interrupted"
    return _result(problem, best, best_value, bound, status, mip_gap=mip_gap, time_limit=time_limit, t0=t0, lines=lines,
                   why="the kernel MIP could not meet it")


# --------------------------------------------------------------------------- aggregation


def unit_groups(problem: LargeProblem, size: int = AGGREGATE_GROUP) -> np.ndarray:
    """Group id per unit: units with the same cheapest and second-cheapest territory,
    in order of how strongly they prefer the first, in runs of at most ``size``.

    Units in a group are near each other in cost (they sit on the same side of the same
    boundary, at a similar depth), so moving them together costs little. Locked units
    stay alone.
    """
    n = problem.n
    reg = _regular(candidate_pairs(problem, 2, per_territory=0), n)
    K = len(reg.unit) // n
    cost = reg.cost.reshape(n, K)
    terr = reg.terr.reshape(n, K)
    o = np.argsort(cost, axis=1, kind="stable")
    rows = np.arange(n)
    j1 = terr[rows, o[:, 0]]
    j2 = terr[rows, o[:, 1]] if K > 1 else j1
    margin = cost[rows, o[:, 1]] - cost[rows, o[:, 0]] if K > 1 else np.zeros(n)
    margin = np.where(np.isfinite(margin), margin, np.finfo(float).max)
    key = j1.astype(np.int64) * problem.k + j2
    if problem.fixed is not None:
        locked = problem.fixed >= 0
        key = np.where(locked, -1 - np.arange(n), key)  # a key of its own
    order = np.lexsort((margin, key))
    k_sorted = key[order]
    run_start = np.r_[True, k_sorted[1:] != k_sorted[:-1]]
    start_pos = np.maximum.accumulate(np.where(run_start, np.arange(n), 0))
    new_group = run_start | ((np.arange(n) - start_pos) % size == 0)
    group = np.empty(n, dtype=np.int64)
    group[order] = np.cumsum(new_group) - 1
    return group


def aggregate(problem: LargeProblem, group: np.ndarray) -> LargeProblem:
    """The problem over groups: each group's cost to a territory is the sum of its units'
    (+inf if any unit may not go there), its band values the sums."""
    m = int(group.max()) + 1
    order = np.argsort(group, kind="stable")
    cost = np.zeros((m, problem.k))
    for rows, block in problem.blocks(order=order):
        g = group[rows]
        starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
        cost[g[starts]] += np.add.reduceat(block, starts, axis=0)
    bands = tuple(Band(b.label, b.kind, b.column, np.bincount(group, weights=b.values, minlength=m), b.lower, b.upper,
                       b.tolerance) for b in problem.bands)
    fixed = None
    if problem.fixed is not None:
        fixed = np.full(m, -1, dtype=np.int64)
        locked = problem.fixed >= 0
        fixed[group[locked]] = problem.fixed[locked]
    return LargeProblem(unit_ids=np.array([f"group {g}" for g in range(m)]), territory_ids=problem.territory_ids,
                        pair_cost=lambda r, c: cost[r, c], bands=bands, fixed=fixed,
                        pair_allowed=lambda r, c: np.isfinite(cost[r, c]), cost_label=problem.cost_label)


class _Keeper:
    """The best plan offered so far, its value and the best bound; reports progress."""

    def __init__(self, problem: LargeProblem, progress: Progress | None, t0: float):
        self.problem, self.progress, self.t0 = problem, progress, t0
        self.best: np.ndarray | None = None
        self.value, self.bound = math.inf, -math.inf
        self.pairs: _Pairs | None = None  # candidate pairs, once known, to shift a plan back inside a band

    def offer(self, a: np.ndarray | None) -> None:
        a, v = _checked(self.problem, self.pairs, a)
        if v < self.value:
            self.best, self.value = a.copy(), v
            if self.progress is not None:
                self.progress(v, self.bound, time.perf_counter() - self.t0)


def coarse_multipliers(problem: LargeProblem, *, time_limit: float, seed: int, threads: int | None, verbose: bool,
                       per_unit: int, per_territory: float, note: Callable[[str], None]) -> np.ndarray | None:
    """Band multipliers from the LP of about ``COARSE_GROUPS`` groups, every group free.

    An LP over the boundary units alone cannot move load across the country; this one can,
    and its multipliers put the units deep inside each territory where a balanced plan
    has them. None if its LP gives no multipliers better than zero.
    """
    found: dict = {}
    coarse = aggregate(problem, unit_groups(problem, max(1, problem.n // COARSE_GROUPS)))
    note(f"{problem.n:,} units in {coarse.n:,} coarse groups for the multipliers")
    try:
        solve_large(coarse, time_limit=time_limit, seed=seed, threads=threads, verbose=verbose, per_unit=per_unit,
                    per_territory=per_territory, aggregate=False, multipliers=found, lp_units=coarse.n, lp_only=True,
                    robust=True,
                    log=lambda m: note(f"  coarse: {m.strip()}"))
    except InfeasibleError:
        pass  # a group may allow fewer territories than its units: the units may still have a plan
    y = found.get("y")
    return None if y is None or not np.any(y) else y


def solve_aggregated(problem: LargeProblem, *, time_limit: float, mip_gap: float, seed: int, threads: int | None,
                     progress: Progress | None, verbose: bool, log: Callable[[str], None] | None, per_unit: int,
                     per_territory: float) -> Solution:
    """Aggregation and disaggregation for the largest alignments.

    The units are grouped (:func:`unit_groups`, about ``AGGREGATE_GROUP`` a group) and the
    grouped problem is solved by :func:`solve_large`. Every plan of the groups is a plan
    of the units with the same loads, so it meets every band. Its band multipliers give a
    Lagrangian bound over every unit × territory pair, valid for the full problem. Shift
    moves and window MIPs over the units then improve the plan until the time is up.
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    say = log or (lambda _msg: None)
    lines: list[str] = []
    note = _note(lines, say, t0)
    keep = _Keeper(problem, progress, t0)
    offer = keep.offer
    status = "time_limit"

    try:
        # A group is at most about 1% of a mean territory, so that rounding a group moves
        # a load by much less than the usual band width.
        group = unit_groups(problem, max(1, min(AGGREGATE_GROUP, problem.n // (100 * problem.k))))
        small = aggregate(problem, group)
        note(f"{problem.n:,} units in {small.n:,} groups")
        # Multipliers first, from an LP over a coarser grouping; with them the groups' own
        # LP starts near balance.
        found: dict = {}
        y_coarse = coarse_multipliers(problem, time_limit=COARSE_SHARE * time_limit, seed=seed, threads=threads,
                                      verbose=verbose, per_unit=per_unit, per_territory=per_territory, note=note)
        if y_coarse is not None:
            found["y"] = y_coarse
        try:
            sub = solve_large(small, time_limit=max(1.0, 0.6 * time_limit - (time.perf_counter() - t0)), mip_gap=mip_gap,
                              seed=seed, threads=threads, verbose=verbose, per_unit=per_unit, per_territory=per_territory,
                              aggregate=False, multipliers=found, y0=found.get("y"), robust=True,
                              log=lambda m: say(f"  groups: {m.strip()}"))
        except (NoPlanFoundError, InfeasibleError) as exc:
            # Grouping restricts the problem; the units themselves may still have a plan.
            note(f"no plan of the groups ({type(exc).__name__}); the units without grouping")
            return solve_large(problem, time_limit=max(1.0, deadline - time.perf_counter()), mip_gap=mip_gap, seed=seed,
                               threads=threads, progress=progress, verbose=verbose, log=log, per_unit=per_unit,
                               per_territory=per_territory, aggregate=False, y0=found.get("y"), robust=True)
        offer(sub.assignment[group])
        if sub.status == "interrupted":
            raise KeyboardInterrupt
        note(f"plan of the groups: {keep.value:,.6g}")
        if "y" in found:
            # The groups' multipliers, a few ascent steps over the units' candidates from there.
            pairs = keep.pairs = candidate_pairs(problem, per_unit, found["y"], per_territory)
            y, _ = lagrangian_ascent(problem, pairs, deadline=time.perf_counter() + 0.05 * time_limit, y0=found["y"])
            for yy in (found["y"], y):
                keep.bound = max(keep.bound, lagrangian_scan(problem, yy)[0])
            note(f"Lagrangian bound over all {problem.n * problem.k:,} pairs: {keep.bound:,.6g} "
                 f"(gap {_gap(keep.value, keep.bound):.3%})")
        if keep.best is not None and deadline - time.perf_counter() > 5:
            if "y" not in found:
                pairs = keep.pairs = candidate_pairs(problem, per_unit, None, per_territory)
            offer(improve_pairs(problem, pairs, keep.best, deadline=deadline))
            note(f"shift moves over the units: {keep.value:,.6g} (gap {_gap(keep.value, keep.bound):.3%})")
            _window_search(problem, pairs, offer, lambda: (keep.best, keep.value), keep.bound, deadline=deadline,
                           mip_gap=mip_gap, seed=seed, threads=threads, note=note)
    except _Interrupted as stop:
        offer(stop.assignment)
        status = "interrupted"
    except KeyboardInterrupt:
        status = "interrupted"
    return _result(problem, keep.best, keep.value, keep.bound, status, mip_gap=mip_gap, time_limit=time_limit, t0=t0,
                   lines=lines, why="no plan of the grouped units met it")
