"""Choose centers among thousands of accounts: a location–allocation matheuristic with a
Lagrangian bound, for the capacitated p-median problem (CPMP) at scale.

The exact method (:mod:`territory_planner.optimize.centers_exact`) keeps dynamic-programming
tables of sites × accounts × capacity steps and a MIP over every pair; both grow out of
reach beyond a few hundred accounts. This path keeps only sparse lists: each account's
nearest candidate sites and each site's nearest accounts. The cost matrix is its input
(n × m floats, 74 MB at n = m = 3,038); no model over all n × m pairs is ever built.

1. **Start** (location–allocation). Centers are seeded far apart, weighted by demand
   (k-means++ seeding with a fixed seed; with few centers also the greedy uncapacitated
   p-median). Accounts are given to open centers by a regret-ordered greedy with shifts
   and swaps (:func:`quick_allocate`; a GAP MIP over each account's nearest open centers
   only when the greedy finds no room). Each center then moves to the 1-median of its
   territory, and the cycle repeats while it improves. When territories are large (see
   ``HEURISTIC_MIN_SIZE``), the sites the Lagrangian relaxation (4.) opened at each step of
   its ascent seed the same cycle too, best bound first (a Lagrangian heuristic).
   **Pair moves** (up to ``CORE_MAX_ACCOUNTS`` accounts): each territory and each of its
   nearest territories are re-solved exactly as a two-center problem (both centers among
   their accounts, and the split): one DP over the weight the first center takes, for
   every pair of sites at once (:func:`~territory_planner.optimize.centers_moves.best_pair`); after the start and each core MIP.
   **Relocation moves** follow each round of pair moves: pair moves and neighbourhoods keep
   each region's number of centers, so a center is moved across the map by re-solving a
   territory and its nearest with one center fewer (a MIP) while splitting a territory
   elsewhere exactly in two (the pair DP), then pair moves around both
   (:func:`relocation_moves`).
   **Column and cut generation** (small territories: ``PARTITION_MAX_SIZE``,
   ``PARTITION_MAX_PAIRS``): the exact method of :mod:`~territory_planner.optimize.centers`
   from the plan found so far, for at most ``PARTITION_SHARE`` of the time. Its set
   partitioning LP with subset-row cuts bounds far above the fractional relaxation of 4.,
   and its MIPs over territories find strong plans, often the optimum with its proof
   (the search then stops). Its bound is kept; the search goes on from its plan.
2. **MIP neighbourhoods** (after Stefanello, de Araújo & Müller 2015, *ITOR* 22:149).
   A center and its nearest centers, with every account they serve, are re-solved as a
   small CPMP: choose as many centers among those accounts, assign each account to one of
   its nearest sites in the group, within capacity, an open site serving its own account.
   Each account's current site is always allowed and the plan is the MIP's start; a
   result is kept only when it is better.
   Neighbourhoods are visited in turn until a full pass finds no improvement; then larger
   ones, with more time each.
3. **Core MIP** (up to ``CORE_MAX_ACCOUNTS`` accounts). The whole problem restricted to
   the ``CORE_SITES · p`` sites the Lagrangian relaxation likes best (smallest knapsack
   values) and the current centers, each account to its ``CORE_PER_POINT`` nearest of
   them, warm-started with the plan. In this regime the core MIP runs first, then the
   small neighbourhoods, then the core MIP again, all solved by CP-SAT (see
   ``CORE_BACKEND``); beyond it, neighbourhoods only, solved by HiGHS. Neighbourhoods
   follow with the time left, growing to the whole problem; time left after that goes to
   the whole problem as one sparse, warm-started MIP.
4. **Lower bound.** The assignment rows are relaxed with multipliers λ_i. The problem
   splits into one knapsack per site, relaxed to a fractional knapsack (solved by ratio
   order). L(λ) = Σ λ_i + the p smallest site values is a lower bound on the optimum, and
   λ follows subgradient steps. Only each site's nearest accounts are scanned: λ_i is
   capped at the cheapest cost of a pair left out of the lists, so no pair outside them
   could have entered a knapsack, and the bound holds for the full problem.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from territory_planner.errors import InfeasibleError, NoPlanFoundError
from territory_planner.optimize.backends import Progress
from territory_planner.optimize.centers_base import (
    _NO_PLAN,
    CenterSolution,
    allocate,
    recenter,
    spread_centers,
)
from territory_planner.optimize.centers_exact import solve_centers_exact
from territory_planner.optimize.centers_moves import (
    ALLOCATION_SITES,
    NEIGHBOURHOOD_SITES,
    _neighbourhood_mip,
    _seed_centers,
    pair_moves,
    quick_allocate,
    relocation_moves,
)

#: Largest p · n · m for the greedy p-median start (beyond it, k-means++ seeding only).
GREEDY_WORK = 3e8
#: Accounts in one MIP neighbourhood (centers are added until their territories hold this many).
NEIGHBOURHOOD_POINTS = 30
#: Most and fewest centers in one neighbourhood.
NEIGHBOURHOOD_CENTERS = 25
#: Time limit of one neighbourhood MIP.
NEIGHBOURHOOD_SECONDS = 1.0
#: Share of the time for the first round of small neighbourhoods.
NEIGHBOURHOOD_SHARE = 0.5
#: The core MIP: sites (× p) the Lagrangian relaxation likes best, sites per account, and
#: its share of the time left.
CORE_SITES = 2
CORE_PER_POINT = 5
CORE_SHARE = 0.3
#: Beyond this many accounts the core MIP's root alone outlasts its share (measured on p3038).
CORE_MAX_ACCOUNTS = 1500
#: Up to CORE_MAX_ACCOUNTS accounts (the core regime) the search starts with the core MIP,
#: given this share of the time, and then alternates neighbourhoods and the core MIP.
#: Its MIPs go to CP-SAT, whose own large-neighbourhood search found better plans than
#: HiGHS on these small, tightly packed subproblems (their LP bound is weak: 5–15% at 6
#: centers, and HiGHS spends its time on the proof). Measured at 60 s on
#: cpmp_stefanello: ali535_150 from 12.3% above the best known (HiGHS) to 1.7%,
#: rl1304_200 from 3.6% to 2.4%, lin318_040 from 0.97% to 0.40%.
CORE_FIRST_SHARE = 0.5
CORE_BACKEND = "cpsat"
CORE_NEIGHBOURHOOD_SECONDS = 0.5
CORE_NEIGHBOURHOOD_SHARE = 0.6
#: Share of the time for the heuristic search; the rest raises the Lagrangian bound.
SEARCH_SHARE = 0.9
#: The Lagrangian heuristic, when territories hold HEURISTIC_MIN_SIZE accounts or more on
#: average: location–allocation from each set of sites the relaxation opened during the
#: ascent, best L(λ) first, until HEURISTIC_SHARE of the time is spent. Measured at 60 s
#: on cpmp_stefanello (make bench): ali535_025 from 1.58% above the best known to 0.30%,
#: u724_030 from 1.68% to 0.66%, rl1304_010 from 1.00% to 0.10%, rl1304_050 from 1.66% to
#: 1.11%. With smaller territories the opened sites allocate badly (ali535_150: 30% above
#: the best known, lin318_070: 14%) and the time is better spent on the MIPs; at 10
#: (ali535_050, rl1304_100) no difference beyond the run-to-run noise.
HEURISTIC_MIN_SIZE = 20
HEURISTIC_SHARE = 0.25
#: The exact method's column and cut generation as a stage (small territories: at most
#: PARTITION_MAX_SIZE accounts each on average, and at most PARTITION_MAX_PAIRS account ×
#: site pairs), from the plan found so far, for at most PARTITION_SHARE of the time. On
#: lin318_100 (3 accounts per territory) it proved the optimum 26 s into the run, where
#: the search alone stayed 1.1% above it after 160 s.
PARTITION_MAX_SIZE = 8
PARTITION_MAX_PAIRS = 2_000_000
PARTITION_SHARE = 0.4



class _Lagrangian:
    """L(λ) = Σ λ_i + Σ of the p smallest fractional-knapsack values over each site's
    nearest accounts, with λ_i capped so that no pair outside the lists can matter."""

    def __init__(self, cost, demand, capacity, p, open_ok, per_site):
        n, m = cost.shape
        self.sites = np.flatnonzero(open_ok)
        N = min(n, per_site)
        sub = cost[:, self.sites]
        lists = np.argpartition(sub, N - 1, axis=0)[:N] if N < n else np.tile(np.arange(n)[:, None], (1, len(self.sites)))
        self.lists = lists.T  # (sites, N) account indices
        self.c = np.take_along_axis(sub, lists, axis=0).T  # (sites, N)
        inside = np.zeros((n, len(self.sites)), dtype=bool)
        np.put_along_axis(inside, lists, True, axis=0)
        outside = np.where(inside, np.inf, sub)
        self.cap = outside.min(axis=1)  # λ_i above this would let a pair outside the lists in
        self.d = demand[self.lists]
        self.Q = capacity[self.sites]
        self.demand, self.p, self.n = demand, p, n
        self.lam: np.ndarray | None = None
        self.best_lam: np.ndarray | None = None
        self.best, self.step = -math.inf, 2.0
        #: Each set of sites the relaxation opened (sorted column indices) → best L(λ) it had.
        self.opened: dict[tuple[int, ...], float] = {}

    def site_values(self, lam: np.ndarray) -> np.ndarray:
        """Each candidate site's knapsack value at λ (the smaller, the more the relaxation
        wants the site open)."""
        return self._knapsacks(lam)[0]

    def value(self, lam: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(L(λ), how many times each account is served in the relaxed optimum, the p sites
        it opens, as column indices)."""
        v, frac, order = self._knapsacks(lam)
        pick = np.argpartition(v, self.p - 1)[: self.p] if self.p < len(v) else np.arange(len(v))
        served = np.zeros(self.n)
        acc = np.take_along_axis(self.lists, order, axis=1)
        np.add.at(served, acc[pick].ravel(), frac[pick].ravel())
        return float(lam.sum() + v[pick].sum()), served, self.sites[pick]

    def _knapsacks(self, lam):
        rc = self.c - lam[self.lists]
        neg = rc < 0
        ratio = np.where(neg, rc / np.maximum(self.d, 1e-12), np.inf)
        order = np.argsort(ratio, axis=1)
        r = np.take_along_axis(rc, order, axis=1)
        w = np.take_along_axis(self.d, order, axis=1)
        ok = np.take_along_axis(neg, order, axis=1)
        w = np.where(ok, w, 0.0)
        before = np.cumsum(w, axis=1) - w
        room = self.Q[:, None] - before
        frac = np.where(w > 0, np.clip(room / np.maximum(w, 1e-12), 0.0, 1.0), room >= 0) * ok
        v = (frac * np.where(ok, r, 0.0)).sum(axis=1)
        return v, frac, order

    def ascend(self, upper: float, deadline: float, iterations: int = 3000, record: bool = False) -> float:
        """Subgradient steps (Polyak, toward ``upper``) from where the last call stopped;
        returns the best bound so far. ``record``: keep the sets of sites opened on the way
        (:meth:`opened_sets`)."""
        if self.lam is None:
            self.lam = np.minimum(self._start(), self.cap)
        else:
            self.step = max(self.step, 0.25)  # a later call (a better target) may step again
        lam = self.lam
        stall = 0
        for _ in range(iterations):
            if time.perf_counter() > deadline:
                break
            L, served, opened = self.value(lam)
            if record:
                key = tuple(np.sort(opened).tolist())
                self.opened[key] = max(self.opened.get(key, -math.inf), L)
            if L > self.best + 1e-9 * abs(L):
                self.best, self.best_lam, stall = L, lam.copy(), 0
            else:
                stall += 1
                if stall >= 30:
                    self.step, stall = self.step / 2, 0
                    if self.step < 1e-3:
                        break
            g = 1.0 - served
            gg = float(g @ g)
            if gg < 1e-12:
                break
            lam = np.minimum(lam + self.step * max(upper - L, 1e-6 * abs(upper)) / gg * g, self.cap)
        self.lam = lam
        return self.best

    def opened_sets(self) -> list[np.ndarray]:
        """The sets of sites the relaxation opened so far, best L(λ) first (the seeds of
        the Lagrangian heuristic)."""
        return [np.array(k, dtype=int) for k in sorted(self.opened, key=lambda k: -self.opened[k])]

    def _start(self) -> np.ndarray:
        # Each account's cheapest cost from a site other than its own: a usual first λ.
        lam = np.full(self.n, np.inf)
        np.minimum.at(lam, self.lists.ravel(), np.where(self.c > 0, self.c, np.inf).ravel())
        return np.where(np.isfinite(lam), lam, 0.0)


class _Settled(Exception):
    """The exact stage proved the plan optimal: the search stops."""


def solve_centers_large(cost, demand, capacity, p: int, *, open_ok: np.ndarray, time_limit: float = 600.0,
                        seed: int = 0, progress: Progress | None = None,
                        log: Callable[[str], None] | None = None, sites_are_accounts: bool | None = None):
    """Best choice of ``p`` centers found within ``time_limit`` and a proven lower bound.

    ``sites_are_accounts``: column j is the site of the account in row j (default: when the
    cost matrix is square).

    Same arguments and result (:class:`~territory_planner.optimize.centers.CenterSolution`)
    as :func:`~territory_planner.optimize.centers.solve_centers`, which calls this above
    :data:`~territory_planner.optimize.centers_base.LARGE_PAIRS` account × site pairs.
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    heuristic_end = t0 + SEARCH_SHARE * time_limit
    n, m = cost.shape
    exact_bound = -math.inf  # from the column and cut generation stage, if it ran
    stages = ["location-allocation", "MIP neighbourhoods"]
    same = m == n if sites_are_accounts is None else bool(sites_are_accounts)
    rng = np.random.default_rng(seed)
    say = log or (lambda _m: None)
    best = {"a": None, "v": math.inf}
    bound = -math.inf
    status = "time_limit"
    searched_to_the_limit = True

    def note(msg):
        say(f"{time.perf_counter() - t0:7.1f}s  {msg}")

    def offer(a):
        if a is None:
            return False
        load = np.bincount(a, weights=demand, minlength=m)
        # At most p centers: the exact stage may leave one empty (an extra center costs nothing).
        if len(np.unique(a)) > p or (load > capacity + 1e-9).any() or not open_ok[np.unique(a)].all():
            return False
        v = float(cost[np.arange(n), a].sum())
        if v < best["v"] - 1e-9 * max(1.0, abs(v)):
            best["a"], best["v"] = a.copy(), v
            if progress is not None:
                progress(v, min(max(bound, exact_bound), v), time.perf_counter() - t0)
            return True
        return False

    try:
        # 1. A start by location–allocation from a spread of seeds.
        def locate(centers: np.ndarray, rounds: int, seconds: float, until: float | None = None) -> float:
            """Allocate to ``centers``, move each to its territory's 1-median, repeat until
            ``until`` at the latest (``seconds``: the GAP MIP's limit when the greedy finds
            no room; 0: give up)."""
            until = heuristic_end if until is None else until
            tried: set[tuple[int, ...]] = set()
            for _ in range(rounds):
                key = tuple(centers.tolist())
                if key in tried or len(centers) != p or time.perf_counter() > until:
                    break
                tried.add(key)
                r = quick_allocate(cost, demand, capacity, centers, same)
                if r is None and seconds <= 0:
                    break
                if r is None:  # no room found greedily: the GAP MIP over each account's nearest centers
                    r = allocate(cost, demand, capacity, centers, seed=seed, time_limit=seconds,
                                 per_account=ALLOCATION_SITES, every_center_used=True, mip_gap=1e-5)
                a = r[0]
                if a is None:
                    break
                offer(a)
                centers = recenter(cost, demand, capacity, a, open_ok, same)
            return best["v"]

        if p * n * m <= GREEDY_WORK:
            # The greedy uncapacitated p-median spreads centers by the whole cost matrix; a
            # better start than random seeding when there are few centers.
            locate(spread_centers(cost, demand, p, open_ok), 30, 5.0)
        for attempt in range(3):
            # A start that finds no allocation in its time gets another seed and more time.
            locate(_seed_centers(cost, demand, p, open_ok, rng, same), 30, 5.0 * 3**attempt)
            if best["a"] is not None or time.perf_counter() > heuristic_end:
                break
        if best["a"] is None:
            raise NoPlanFoundError(_NO_PLAN)
        note(f"location–allocation: {best['v']:,.8g}")
        pair_done: set = set()
        relocate_cache: dict = {}
        core_regime = n <= CORE_MAX_ACCOUNTS
        # Territories of HEURISTIC_MIN_SIZE accounts or more: the Lagrangian heuristic runs,
        # relocation moves do not.
        heuristic = n >= HEURISTIC_MIN_SIZE * p

        def pairs():
            if core_regime and time.perf_counter() < heuristic_end:
                offer(pair_moves(cost, demand, capacity, open_ok, best["a"], same, heuristic_end, rng, done=pair_done))
                note(f"pair moves: {best['v']:,.8g}")
                if heuristic:
                    return  # large territories: see RELOCATE_GROUP
                offer(relocation_moves(cost, demand, capacity, open_ok, best["a"], same, heuristic_end, rng, seed=seed,
                                       done=pair_done, cache=relocate_cache))
                note(f"relocation moves: {best['v']:,.8g}")

        pairs()
        if n <= PARTITION_MAX_SIZE * p and n * m <= PARTITION_MAX_PAIRS:
            # Small territories: the exact method from this plan (a bound far above the
            # fractional Lagrangian one, and often the optimum from its MIPs).
            budget = min(PARTITION_SHARE * time_limit, heuristic_end - time.perf_counter())
            if budget >= 1.0:
                r = solve_centers_exact(cost, demand, capacity, p, candidates=open_ok, time_limit=budget, seed=seed,
                                        start=best["a"], sites_are_accounts=same, log=log, _compact_mip=False,
                                  progress=None if progress is None else
                                  (lambda o, b, _s: progress(min(o, best["v"]), min(b, o, best["v"]),
                                                             time.perf_counter() - t0)))
                offer(r.assignment)
                exact_bound = r.bound
                stages.append("column and cut generation")
                note(f"column and cut generation ({r.status}): {best['v']:,.8g}, bound {r.bound:,.8g}")
                if r.status == "interrupted":
                    raise KeyboardInterrupt
                if r.status == "optimal" and r.objective <= best["v"] + 1e-9 * max(1.0, abs(best["v"])):
                    raise _Settled
        # 2. The bound, with the start's value as the Polyak target (refined at the end).
        lag = _Lagrangian(cost, demand, capacity, p, open_ok, per_site=min(n, max(60, int(4 * n / p))))
        bound = lag.ascend(best["v"], max(t0 + 0.1 * time_limit, time.perf_counter() + 0.05 * time_limit), record=heuristic)
        note(f"Lagrangian bound {bound:,.8g}")
        if heuristic:
            # The Lagrangian heuristic: each set of sites the relaxation opened, as a start
            # (skipped when the greedy allocation finds no room: no MIP per set).
            tried, until = 0, t0 + HEURISTIC_SHARE * time_limit
            for sites in lag.opened_sets():
                if time.perf_counter() > until:
                    break
                locate(sites, 30, 0.0, until)
                tried += 1
            note(f"Lagrangian heuristic ({tried:,} of {len(lag.opened):,} site sets): {best['v']:,.8g}")
            lag.opened.clear()
        # 3. MIP neighbourhoods, in turn, until a full pass finds nothing; then larger ones.
        solved: set[tuple] = set()
        backend = CORE_BACKEND if core_regime else "highs"
        first_seconds = CORE_NEIGHBOURHOOD_SECONDS if core_regime else NEIGHBOURHOOD_SECONDS
        # Distance between two centers: from the account nearest to the first (the account
        # at the site itself when sites are accounts) to the second.
        anchor = np.argmin(cost, axis=0)

        def neighbourhoods(until: float, levels: int) -> None:
            passes = 0
            points_target, centers_most, seconds = NEIGHBOURHOOD_POINTS, NEIGHBOURHOOD_CENTERS, first_seconds
            for _level in range(levels):
                improved = True
                while improved and time.perf_counter() < until:
                    improved = False
                    for c in rng.permutation(np.unique(best["a"])):
                        if time.perf_counter() > until:
                            break
                        a = best["a"]
                        centers = np.unique(a)
                        if c not in centers:
                            continue
                        size = np.bincount(np.searchsorted(centers, a), minlength=len(centers))
                        near = np.argsort(cost[anchor[c], centers], kind="stable")
                        cum = np.cumsum(size[near])
                        count = int(np.clip(np.searchsorted(cum, points_target) + 1, 2, min(centers_most, len(centers))))
                        group = np.sort(centers[near[:count]])
                        key = (seconds, *group.tolist())  # a group may be retried with more time
                        if key in solved:
                            continue
                        solved.add(key)
                        points = np.flatnonzero(np.isin(a, group))
                        new = _neighbourhood_mip(cost, demand, capacity, open_ok, points, a[points], len(group),
                                                 time_limit=min(seconds, max(0.5, until - time.perf_counter())), seed=seed,
                                                 same=same, outside=np.setdiff1d(centers, group), backend=backend)
                        if new is not None:
                            cand = a.copy()
                            cand[points] = new
                            improved |= offer(cand)
                    passes += 1
                    note(f"neighbourhood pass {passes} (about {points_target} accounts, at most {centers_most} centers): "
                         f"{best['v']:,.8g} ({len(solved):,} neighbourhoods solved)")
                if points_target >= n or time.perf_counter() >= until:
                    break
                # Stuck at this size: larger neighbourhoods (up to the whole problem), more time each.
                points_target, centers_most, seconds = 2 * points_target, 2 * centers_most, 2 * seconds

        def core_mip(share):
            # The whole problem over the sites the relaxation likes best and the current
            # centers, each account to a few of its nearest core sites; warm-started.
            if not core_regime or time.perf_counter() > heuristic_end - 5 or lag.best_lam is None:
                return
            v = lag.site_values(lag.best_lam)
            core = lag.sites[np.argsort(v, kind="stable")[: min(len(v), CORE_SITES * p)]]
            a = best["a"]
            offer(_neighbourhood_mip(cost, demand, capacity, open_ok, np.arange(n), a, p, sites=core,
                                     per_point=CORE_PER_POINT, time_limit=share * (heuristic_end - time.perf_counter()),
                                     seed=seed, same=same, backend=backend))
            note(f"core MIP over {len(np.unique(np.r_[core, a])):,} sites: {best['v']:,.8g}")

        # 4. Up to CORE_MAX_ACCOUNTS, the core MIP first; then small neighbourhoods; then the
        #    core MIP again from the better plan.
        core_mip(CORE_FIRST_SHARE)
        pairs()
        neighbourhoods(t0 + (CORE_NEIGHBOURHOOD_SHARE if core_regime else NEIGHBOURHOOD_SHARE) * time_limit, 1)
        core_mip(CORE_SHARE)
        pairs()
        # 5. Neighbourhoods again, growing until one is the whole problem, with what time is left.
        neighbourhoods(heuristic_end, 64)
        # 6. Every level done with time left: the whole problem as one sparse MIP, each
        #    account to its nearest sites and its own, warm-started, until the time is up.
        if time.perf_counter() < heuristic_end - 1:
            offer(_neighbourhood_mip(cost, demand, capacity, open_ok, np.arange(n), best["a"], p,
                                     time_limit=heuristic_end - time.perf_counter(), seed=seed, same=same,
                                     per_point=2 * NEIGHBOURHOOD_SITES, backend=backend))
            note(f"whole-problem MIP: {best['v']:,.8g}")
        searched_to_the_limit = time.perf_counter() >= heuristic_end - 1
        # 7. More steps for the bound, toward the final plan's value.
        bound = lag.ascend(best["v"], deadline)
        note(f"Lagrangian bound {bound:,.8g}")
    except _Settled:
        pass
    except KeyboardInterrupt:
        status = "interrupted"
        if best["a"] is None:
            raise
    a = best["a"]
    lagrangian = min(bound, best["v"])
    bound = min(max(bound, exact_bound), best["v"])
    gap = (best["v"] - bound) / max(abs(best["v"]), 1e-9)
    if status != "interrupted" and gap <= 1e-4:
        status = "optimal"
    elif status != "interrupted" and not searched_to_the_limit:
        status = "feasible"  # the search ended before the limit, without a proof
    if a is None:
        raise InfeasibleError(_NO_PLAN)
    centers = np.unique(a)
    if len(centers) < p:  # open extra (empty) centers so exactly p are reported: cost unchanged
        spare = np.setdiff1d(np.flatnonzero(open_ok), centers)[: p - len(centers)]
        centers = np.sort(np.r_[centers, spare]).astype(int)
    return CenterSolution(centers=centers, assignment=a, objective=best["v"], bound=bound, status=status,
                          seconds=time.perf_counter() - t0, backend=" + ".join(stages),
                          lagrangian_bound=lagrangian)
