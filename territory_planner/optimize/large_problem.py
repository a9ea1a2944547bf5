"""The problem of the large-instance path and its candidate pairs, shared by every part.

:class:`LargeProblem` is an assignment problem whose costs are computed on demand, pair
by pair; :meth:`LargeProblem.blocks` scans all n × k pairs in chunks. :func:`candidate_pairs`
finds each unit's (and each territory's) cheapest allowed pairs — step 1 of the method
described in :mod:`territory_planner.optimize.large` — as a ``_Pairs`` set, the pairs
the Lagrangian (:mod:`~territory_planner.optimize.large_lagrangian`), LP
(:mod:`~territory_planner.optimize.large_lp`), search
(:mod:`~territory_planner.optimize.large_search`) and grouping
(:mod:`~territory_planner.optimize.large_aggregate`) parts work over. Imported by those
parts and by the driver :mod:`territory_planner.optimize.large`; it imports none of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from territory_planner.errors import Conflict, Diagnosis, InfeasibleError
from territory_planner.optimize.problem import Band

#: Candidate territories per unit at the start (pricing adds any the LP wants).
CANDIDATES = 8
#: Each territory's nearest units join the candidates, this many times its mean share n/k:
#: without them a remote territory cannot reach its lower limit over the candidates, its
#: multiplier grows without end, and the bound over all pairs collapses.
TERRITORY_SHARE = 2.0
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
