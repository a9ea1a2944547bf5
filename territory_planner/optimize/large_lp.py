"""The restricted LP of the large-instance path (step 3 of :mod:`territory_planner.optimize.large`).

:class:`_RestrictedLP` is a HiGHS LP over the candidate pairs of the free units, with
elastic band rows, extended column by column (warm basis kept) as pricing
(:func:`~territory_planner.optimize.large_lagrangian.lagrangian_scan` over the LP's
duals) finds pairs; its band limits can be pulled in before rounding.
:func:`infeasibility` says why no fractional plan exists when every pair is priced and
the bands still need slack. Built and driven by
:func:`~territory_planner.optimize.large.solve_large`.
"""

from __future__ import annotations

import math

import numpy as np

from territory_planner.errors import Conflict, Diagnosis
from territory_planner.optimize.backends import SolveOptions
from territory_planner.optimize.large_problem import LargeProblem, _Pairs


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
