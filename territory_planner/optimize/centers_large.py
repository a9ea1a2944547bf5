"""Choose centers among thousands of accounts: a location–allocation matheuristic with a
Lagrangian bound, for the capacitated p-median problem (CPMP) at scale.

The exact method of :mod:`territory_planner.optimize.centers` keeps dynamic-programming
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
   every pair of sites at once (:func:`best_pair`); after the start and each core MIP.
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
import scipy.sparse as sp

from territory_planner.errors import InfeasibleError
from territory_planner.optimize.backends import (
    Progress,
    SolveOptions,
    solve_model,
    stop_if_interrupted,
)
from territory_planner.optimize.centers import all_integers
from territory_planner.optimize.exact import MatrixModel

#: Largest p · n · m for the greedy p-median start (beyond it, k-means++ seeding only).
GREEDY_WORK = 3e8
#: Nearest open centers an account may use in a global allocation (doubled if too few).
ALLOCATION_SITES = 8
#: Accounts in one MIP neighbourhood (centers are added until their territories hold this many).
NEIGHBOURHOOD_POINTS = 30
#: Most and fewest centers in one neighbourhood.
NEIGHBOURHOOD_CENTERS = 25
#: Sites an account may use inside a neighbourhood (its current site is always allowed too).
NEIGHBOURHOOD_SITES = 12
#: Time limit of one neighbourhood MIP.
NEIGHBOURHOOD_SECONDS = 1.0
SELF_SERVICE = True
#: Relative gap at which a neighbourhood MIP stops (proving the last fraction costs most).
NEIGHBOURHOOD_GAP = 1e-3
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
#: Pair moves (core regime only): each territory and its PAIR_NEIGHBOURS nearest re-solved
#: exactly as a two-center problem, by a DP of at most PAIR_WIDTH weight steps per pair of
#: sites (skipped above PAIR_WORK cells), after the start and after each core MIP. They take
#: 1–3 s: from the start, ali535_050 from 18.9% above the best known to 9.9%, rl1304_200 from
#: 13.2% to 8.2%; after the first core MIP, ali535_050 from 2,551.6 to 2,506.3 in 1.2 s. At
#: 60 s on the eight Stefanello instances still above 1%, two seeds each (16 paired runs):
#: 1.67% above the best known on average against 1.79% without, better in 10 of 16. In the
#: make bench run after it (20 instances, one run each) the mean stayed at 0.87%, 11 within
#: 1% against 12 before: no change beyond the run-to-run noise of the CP-SAT MIPs.
PAIR_NEIGHBOURS = 4
PAIR_WIDTH = 2000
PAIR_WORK = 3e7
#: Relocation moves (core regime only, after the pair moves): a territory and its
#: RELOCATE_GROUP nearest re-solved with one center fewer (each MIP at most
#: RELOCATE_SECONDS), combined with the best splits of a territory elsewhere, the
#: RELOCATE_TRIES most promising tried each round. From the start's pair moves: ali535_050
#: from 2,713.8 to 2,526.7 in 5.4 s (the first core MIP, in 27 s, had reached 2,574.8),
#: ali535_150 from 1,323.7 to 1,116.7 in 2.6 s. Groups of 5 territories took 15–29 s for at
#: most 0.5% more (ali535_100/150) and are not used. At 60 s on eight Stefanello instances
#: above 1%, two seeds each, paired with the runs before: 1.59% above the best known on
#: average against 1.66%, u724_125 0.82/0.80% against 2.24/0.46%; within the CP-SAT noise.
#: Only when territories hold fewer than HEURISTIC_MIN_SIZE accounts on average: on
#: rl1304_050 (26 each) six runs found no relocation at all, and the 2–4 s of removal MIPs
#: came before results of 1.4–2.5% above the best known against 1.1–1.2% in four without.
#: make bench after both (BENCHMARKS.md): 14 of 20 within 1% against 11, mean 0.73% against
#: 0.87%; ali535_050 1.86 → 0.86%, u724_125 1.54 → 0.73%, rl1304_200 2.16 → 0.96%.
RELOCATE_GROUP = 2
RELOCATE_SECONDS = 1.0
RELOCATE_TRIES = 40
RELOCATE_BACKEND = "highs"
#: The exact method's column and cut generation as a stage (small territories: at most
#: PARTITION_MAX_SIZE accounts each on average, and at most PARTITION_MAX_PAIRS account ×
#: site pairs), from the plan found so far, for at most PARTITION_SHARE of the time. On
#: lin318_100 (3 accounts per territory) it proved the optimum 26 s into the run, where
#: the search alone stayed 1.1% above it after 160 s.
PARTITION_MAX_SIZE = 8
PARTITION_MAX_PAIRS = 2_000_000
PARTITION_SHARE = 0.4


def _seed_centers(cost: np.ndarray, demand: np.ndarray, p: int, open_ok: np.ndarray,
                  rng: np.random.Generator, same: bool) -> np.ndarray:
    """k-means++ seeding: each next center drawn with probability ∝ demand × (cost to the
    nearest chosen center)², among the candidate sites (deterministic for a seed)."""
    sites = np.flatnonzero(open_ok)
    # With ``same``, site j is the account in row j.
    weight = np.maximum(demand, 1e-9)
    first = int(sites[int(np.argmin((cost[:, sites] * weight[:, None]).sum(axis=0)))])
    chosen = [first]
    near = cost[:, first].copy()
    for _ in range(p - 1):
        score = weight * near**2
        # Probability over sites: the score of the account at a site (m = n), else of the
        # site's nearest account.
        site_score = score[sites] if same else score[np.argmin(cost[:, sites], axis=0)]
        site_score[np.isin(sites, chosen)] = 0.0
        total = site_score.sum()
        if total <= 0:
            rest = sites[~np.isin(sites, chosen)]
            j = int(rest[0])
        else:
            j = int(rng.choice(sites, p=site_score / total))
        chosen.append(j)
        near = np.minimum(near, cost[:, j])
    return np.array(sorted(chosen), dtype=int)


def quick_allocate(cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, centers: np.ndarray, same: bool,
                   per_account: int = ALLOCATION_SITES, sweeps: int = 50) -> tuple[np.ndarray, float] | None:
    """Assignment of every account to one of ``centers`` within capacity, in milliseconds:
    each center first serves its own account (``same``) or its nearest free one, the others
    go in order of regret (what they lose if their cheapest center fills) to the cheapest
    center with room; then shifts and swaps to any of an account's ``per_account`` nearest
    centers while they lower the cost. Every center keeps an account (its own when sites are
    accounts), so the plan has exactly ``len(centers)`` centers.

    The start of the search calls it once per location–allocation round: a GAP MIP per
    round (:func:`~territory_planner.optimize.centers.allocate`) took its 5 s limit each
    time at 150 centers (ali535_150) and ate the whole minute. Returns (assignment as
    column indices, cost), or None when the greedy order finds no room for an account (the
    caller falls back to the MIP).
    """
    centers = np.asarray(centers, dtype=int)
    n, p = cost.shape[0], len(centers)
    sub = cost[:, centers]
    cap = capacity[centers].astype(float)
    room = cap.copy()
    a = np.full(n, -1, dtype=int)
    fixed = np.zeros(n, bool)
    if same:
        own = centers
    else:
        own = np.full(p, -1)
        taken = np.zeros(n, bool)
        for t in np.argsort(sub.min(axis=0)):
            order = np.argsort(sub[:, t])
            for i in order:
                if not taken[i] and demand[i] <= room[t] + 1e-9:
                    own[t] = i
                    taken[i] = True
                    break
        if (own < 0).any():
            return None
    for t, i in enumerate(own):
        if demand[i] > room[t] + 1e-9:
            return None
        a[i] = t
        room[t] -= demand[i]
        fixed[i] = same  # an open site serves its own account; another first account may move
    fits = demand[:, None] <= cap[None, :] + 1e-9
    c = np.where(fits, sub, np.inf)
    two = np.partition(c, 1, axis=1)[:, :2] if p > 1 else np.c_[c, c]
    with np.errstate(invalid="ignore"):  # an account that fits one center only: inf − inf, ordered last
        regret = two[:, 1] - two[:, 0]
    order = np.lexsort((-demand, -regret))
    for i in order:
        if a[i] >= 0:
            continue
        row = np.where(room >= demand[i] - 1e-9, sub[i], np.inf)
        t = int(np.argmin(row))
        if not np.isfinite(row[t]):
            return None
        a[i] = t
        room[t] -= demand[i]
    K = min(p, per_account)
    if K < p:  # each account's K nearest centers, nearest first, without sorting all p
        part = np.argpartition(sub, K - 1, axis=1)[:, :K]
        near = np.take_along_axis(part, np.argsort(np.take_along_axis(sub, part, axis=1), axis=1), axis=1)
    else:
        near = np.argsort(sub, axis=1)
    members = [set() for _ in range(p)]
    for i, t in enumerate(a):
        members[t].add(i)
    for _ in range(sweeps):
        moved = 0
        for i in range(n):
            if fixed[i]:
                continue
            s = a[i]
            ci = sub[i, s]
            di = demand[i]
            for t in near[i]:
                gain_i = ci - sub[i, t]
                if gain_i <= 1e-12:
                    break
                if room[t] >= di - 1e-9 and len(members[s]) > 1:  # no center left empty
                    a[i] = t
                    room[t] -= di
                    room[s] += di
                    members[s].discard(i)
                    members[t].add(i)
                    moved += 1
                    break
                ks = np.fromiter(members[t], dtype=int)
                ks = ks[~fixed[ks]]
                if len(ks) == 0:
                    continue
                dk = demand[ks]
                okk = (dk <= room[s] + di + 1e-9) & (di <= room[t] + dk + 1e-9)
                g = gain_i + sub[ks, t] - sub[ks, s]
                g = np.where(okk, g, -np.inf)
                b = int(np.argmax(g))
                if g[b] > 1e-12:
                    k = int(ks[b])
                    a[i], a[k] = t, s
                    room[s] += di - demand[k]
                    room[t] += demand[k] - di
                    members[s].discard(i)
                    members[t].add(i)
                    members[t].discard(k)
                    members[s].add(k)
                    moved += 1
                    break
        if moved == 0:
            break
    out = centers[a]
    return out, float(cost[np.arange(n), out].sum())


def _neighbourhood_mip(cost, demand, capacity, open_ok, points, current, q, *, time_limit, seed, same, sites=None,
                       per_point=None, outside=None, backend="highs"):
    """Re-solve the CPMP over ``points`` with ``q`` centers (among ``sites``, default the
    points themselves, never the ``outside`` centers that serve other accounts); returns
    the new assignment of the points (column indices), with exactly q centers, or None."""
    if sites is not None:
        sites = np.unique(np.r_[sites, np.unique(current)])
    elif same:
        # The group's accounts as sites, and its current centers (a center's own account
        # may be served by a center outside the group).
        sites = np.unique(np.r_[points[open_ok[points]], np.unique(current)])
    else:
        sites = np.flatnonzero(open_ok)
        # Candidate sites: the current centers and the sites nearest to the points.
        near = np.argsort(cost[np.ix_(points, sites)].sum(axis=0))[: max(4 * q, NEIGHBOURHOOD_SITES)]
        sites = np.unique(np.r_[sites[near], np.unique(current)])
    if outside is not None and len(outside):
        sites = np.setdiff1d(sites, outside)
    S = len(sites)
    P = len(points)
    sub = cost[np.ix_(points, sites)]
    T = min(S, per_point or NEIGHBOURHOOD_SITES)
    near = np.argpartition(sub, T - 1, axis=1)[:, :T] if T < S else np.tile(np.arange(S), (P, 1))
    cur = np.searchsorted(sites, current)
    unit = np.r_[np.repeat(np.arange(P), near.shape[1]), np.arange(P)]
    site = np.r_[near.ravel(), cur]
    key = np.unique(unit.astype(np.int64) * S + site)
    unit, site = key // S, key % S
    fits = demand[points][unit] <= capacity[sites][site] + 1e-9
    unit, site = unit[fits], site[fits]
    nx = len(unit)
    cols = np.arange(nx)
    ycol = nx + np.arange(S)
    rows_assign = sp.csr_matrix((np.ones(nx), (unit, cols)), shape=(P, nx + S))
    rows_cap = sp.csr_matrix((np.r_[demand[points][unit], -capacity[sites]], (np.r_[site, np.arange(S)], np.r_[cols, ycol])),
                             shape=(S, nx + S))
    rows_link = sp.csr_matrix((np.r_[np.ones(nx), -np.ones(nx)], (np.r_[cols, cols], np.r_[cols, ycol[site]])),
                              shape=(nx, nx + S))
    # An open site serves at least one account: the group keeps exactly q centers.
    rows_used = sp.csr_matrix((np.r_[np.ones(nx), -np.ones(S)], (np.r_[site, np.arange(S)], np.r_[cols, ycol])),
                              shape=(S, nx + S))
    rows_count = sp.csr_matrix((np.r_[np.ones(S), capacity[sites]], (np.r_[np.zeros(S, dtype=int), np.ones(S, dtype=int)],
                                                                      np.r_[ycol, ycol])), shape=(2, nx + S))
    # Σ y = q, and the cover cut Σ Q_j y_j ≥ Σ d_i (the open sites hold the demand).
    blocks = [rows_assign, rows_cap, rows_link, rows_used, rows_count]
    lo = [np.ones(P), np.full(S, -np.inf), np.full(nx, -np.inf), np.zeros(S), [q, demand[points].sum()]]
    hi = [np.ones(P), np.zeros(S), np.zeros(nx), np.full(S, np.inf), [q, np.inf]]
    if same and SELF_SERVICE:
        # An open site serves its own account (x_jj ≥ y_j): true of every published optimum
        # we checked, and it cuts the subproblem's LP down to the plans that matter.
        own = np.flatnonzero(points[unit] == sites[site])
        blocks.append(sp.csr_matrix((np.r_[-np.ones(len(own)), np.ones(len(own))],
                                     (np.r_[np.arange(len(own)), np.arange(len(own))], np.r_[own, ycol[site[own]]])),
                                    shape=(len(own), nx + S)))
        lo.append(np.full(len(own), -np.inf))
        hi.append(np.zeros(len(own)))
    A = sp.vstack(blocks, format="csr")
    model = MatrixModel(
        c=np.r_[sub[unit, site], np.zeros(S)], A=A, row_lo=np.concatenate(lo), row_hi=np.concatenate(hi),
        col_lo=np.zeros(nx + S), col_hi=np.ones(nx + S), integer=np.ones(nx + S, dtype=bool))
    warm = np.r_[(site == cur[unit]).astype(float), np.isin(np.arange(S), cur).astype(float)]
    res = solve_model(model, backend, SolveOptions(time_limit=time_limit, mip_gap=NEIGHBOURHOOD_GAP, seed=seed, warm_start=warm))
    stop_if_interrupted(res)
    if res.x is None:
        return None
    x = res.x[:nx] > 0.5
    out = np.full(P, -1, dtype=int)
    out[unit[x]] = sites[site[x]]
    return out if (out >= 0).all() else None



def _pair_weights(demand: np.ndarray, capacity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer weights for the pair DP that keep every split it finds within capacity:
    demands rounded up, capacities down, after scaling to at most PAIR_WIDTH steps (exact
    when both are integers up to PAIR_WIDTH)."""
    qmax = float(capacity.max())
    if all_integers(demand, capacity) and qmax <= PAIR_WIDTH:
        return np.round(demand).astype(int), np.round(capacity).astype(int)
    s = PAIR_WIDTH / max(qmax, 1e-12)
    return np.ceil(demand * s - 1e-9).astype(int), np.floor(capacity * s + 1e-9).astype(int)


def _split_dp(g: np.ndarray, wp: np.ndarray, start_w: np.ndarray, start_g: np.ndarray, width: int,
              keep: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """For each row (a pair of sites), the least total of ``g`` over the points given to the
    first site, by the exact weight they take (0/1 knapsack over ``wp``; inf: no such set),
    starting from ``start_g`` at weight ``start_w``. ``keep``: also each point's decision at
    each weight (one row only), to read the set back."""
    f = np.full((len(g), width + 1), np.inf)
    ok = start_w <= width
    f[np.flatnonzero(ok), start_w[ok]] = start_g[ok]
    take = np.zeros((len(wp), width + 1), dtype=bool) if keep else None
    for i, wi in enumerate(wp.tolist()):
        if wi > width:
            continue
        cand = f[:, : width + 1 - wi] + g[:, i : i + 1]
        if keep:
            take[i, wi:] = cand[0] < f[0, wi:]
        np.minimum(f[:, wi:], cand, out=f[:, wi:])
    return f, take


def best_pair(cost: np.ndarray, w: np.ndarray, W: np.ndarray, points: np.ndarray, sites: np.ndarray,
              own: np.ndarray) -> tuple[float, int, int, np.ndarray] | None:
    """The best two of ``sites`` to serve ``points`` and the best split between them,
    exactly: for every pair of sites, a DP over the weight the first one takes (integer
    ``w`` and ``W``, see :func:`_pair_weights`), both within capacity. ``own[s]``: the
    position in ``points`` of site s's own account, which it must serve (−1: none).
    Returns (cost, first site, second site, which points go to the first) or None."""
    P, S = len(points), len(sites)
    if S < 2:
        return None
    ia, ib = np.triu_indices(S, 1)
    C = cost[np.ix_(points, sites)]
    wp = w[points]
    D = int(wp.sum())
    Wa, Wb = W[sites][ia], W[sites][ib]
    width = int(Wa.max())
    K = len(ia)
    g = (C[:, ia] - C[:, ib]).T  # (K, P): what moving a point from the second site to the first changes
    base = C[:, ib].sum(axis=0)
    oa, ob = own[ia], own[ib]
    start_w = np.where(oa >= 0, wp[np.maximum(oa, 0)], 0)
    start_g = np.where(oa >= 0, g[np.arange(K), np.maximum(oa, 0)], 0.0)
    rows = np.flatnonzero(oa >= 0)
    g[rows, oa[rows]] = np.inf  # already placed with the first site
    rows = np.flatnonzero(ob >= 0)
    g[rows, ob[rows]] = np.inf  # stays with the second site
    f, _ = _split_dp(g, wp, start_w, start_g, width)
    steps = np.arange(width + 1)
    feasible = (steps[None, :] <= Wa[:, None]) & (D - steps[None, :] <= Wb[:, None])
    val = np.where(feasible, f, np.inf).min(axis=1) + base
    k = int(np.argmin(val))
    if not np.isfinite(val[k]):
        return None
    # The chosen pair again, keeping the decisions, to read its split.
    f, take = _split_dp(g[k : k + 1], wp, start_w[k : k + 1], start_g[k : k + 1], width, keep=True)
    q = int(np.argmin(np.where(feasible[k], f[0], np.inf)))
    in_a = np.zeros(P, dtype=bool)
    for i in range(P - 1, -1, -1):
        if take[i, q]:
            in_a[i] = True
            q -= int(wp[i])
    if oa[k] >= 0:
        in_a[oa[k]] = True
    return float(val[k]), int(sites[ia[k]]), int(sites[ib[k]]), in_a


def _best_split(cost: np.ndarray, w: np.ndarray, W: np.ndarray, open_ok: np.ndarray, points: np.ndarray,
                keep: list, others: np.ndarray, same: bool) -> tuple[float, int, int, np.ndarray] | None:
    """:func:`best_pair` over ``points``, the sites being their own accounts (``same``) or
    the sites nearest to them, and the ``keep`` centers, never one of the ``others``
    (centers serving other accounts); None when the DP would exceed PAIR_WORK cells."""
    if same:
        sites = np.union1d(points[open_ok[points]], keep)
    else:
        all_sites = np.flatnonzero(open_ok)
        total = cost[np.ix_(points, all_sites)].sum(axis=0)
        sites = np.union1d(all_sites[np.argsort(total, kind="stable")[: max(2 * len(points), 12)]], keep)
    sites = np.setdiff1d(sites, others)
    K = len(sites) * (len(sites) - 1) // 2
    if K * len(points) * int(W[sites].max()) > PAIR_WORK:
        return None
    pos = np.full(len(sites), -1)
    if same:
        mine = np.searchsorted(points, sites)
        hit = (mine < len(points)) & (points[np.minimum(mine, len(points) - 1)] == sites)
        pos[hit] = mine[hit]
    return best_pair(cost, w, W, points, sites, pos)


def pair_moves(cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, open_ok: np.ndarray, a: np.ndarray,
               same: bool, until: float, rng: np.random.Generator, neighbours: int | None = None,
               done: set | None = None) -> np.ndarray:
    """Each territory with each of its ``neighbours`` nearest, re-solved exactly as a
    two-center problem (:func:`best_pair`), in passes until one changes nothing (or
    ``until``). Returns the improved assignment (same centers count, within capacity)."""
    neighbours = PAIR_NEIGHBOURS if neighbours is None else neighbours
    w, W = _pair_weights(demand, capacity)
    a = a.copy()
    anchor = np.argmin(cost, axis=0)
    done = set() if done is None else done
    improved = True
    while improved and time.perf_counter() < until:
        improved = False
        for c in rng.permutation(np.unique(a)):
            if time.perf_counter() > until:
                break
            centers = np.unique(a)
            if c not in centers:
                continue
            near = centers[np.argsort(cost[anchor[c], centers], kind="stable")]
            for c2 in near[near != c][:neighbours]:
                points = np.flatnonzero((a == c) | (a == c2))
                key = points.tobytes() + a[points].tobytes()  # these accounts, split this way
                if key in done:
                    continue
                done.add(key)
                res = _best_split(cost, w, W, open_ok, points, [c, c2], np.setdiff1d(centers, [c, c2]), same)
                if res is None:
                    continue
                now = float(cost[points, a[points]].sum())
                if res[0] < now - 1e-9 * max(1.0, abs(now)) and res[3].any() and not res[3].all():
                    a[points] = np.where(res[3], res[1], res[2])
                    improved = True
                    break
    return a


def relocation_moves(cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, open_ok: np.ndarray, a: np.ndarray,
                     same: bool, until: float, rng: np.random.Generator, *, seed: int = 0, backend: str | None = None,
                     group: int | None = None, tries: int | None = None, done: set | None = None,
                     cache: dict | None = None) -> np.ndarray:
    """A center moved across the map, which neither pair moves nor neighbourhoods (both
    keep each region's number of centers) can do. Every territory with its ``group``
    nearest is re-solved with one center fewer (a MIP; the loss), every territory is split
    exactly into two (:func:`best_pair` over its accounts; the gain); the ``tries`` most
    promising removal + split combinations far enough apart to be disjoint are applied,
    polished by :func:`pair_moves`, and the first that lowers the total is kept. Repeats
    until no candidate improves (or ``until``). ``cache``: results by territory/group
    accounts and centers, kept across calls. Returns the assignment (same number of
    centers, within capacity)."""
    group = RELOCATE_GROUP if group is None else group
    tries = RELOCATE_TRIES if tries is None else tries
    backend = RELOCATE_BACKEND if backend is None else backend
    done = set() if done is None else done
    cache = {} if cache is None else cache
    w, W = _pair_weights(demand, capacity)
    n = len(a)
    a = a.copy()
    anchor = np.argmin(cost, axis=0)

    def total(x):
        return float(cost[np.arange(n), x].sum())

    while time.perf_counter() < until:
        centers = np.unique(a)
        if len(centers) <= group + 1:
            break
        now = total(a)
        split = {}
        for b in centers:
            points = np.flatnonzero(a == b)
            key = ("split", points.tobytes(), int(b))
            if key not in cache:
                res = None
                if len(points) >= 2:
                    res = _best_split(cost, w, W, open_ok, points, [b], np.setdiff1d(centers, [b]), same)
                cache[key] = None if res is None else (res[0] - float(cost[points, b].sum()), res)
            if cache[key] is not None:
                split[int(b)] = (points, *cache[key])
        if not split:
            break  # every territory too large for the pair DP: no split, no removal worth its MIP
        remove = {}  # by the group's key: nearby centers often share one group; the first keeps it
        for c in centers:
            if time.perf_counter() > until:
                break
            near = centers[np.argsort(cost[anchor[c], centers], kind="stable")[: group + 1]]
            points = np.flatnonzero(np.isin(a, near))
            key = ("remove", points.tobytes(), near.tobytes())
            if key not in cache:
                new = _neighbourhood_mip(cost, demand, capacity, open_ok, points, a[points], len(near) - 1,
                                         time_limit=min(RELOCATE_SECONDS, max(0.1, until - time.perf_counter())),
                                         seed=seed, same=same, outside=np.setdiff1d(centers, near), backend=backend)
                cache[key] = None if new is None else (float(cost[points, new].sum() - cost[points, a[points]].sum()), new)
            if cache[key] is not None and key not in remove:
                remove[key] = (int(c), near, points, *cache[key])
        combos = sorted((r[3] + sp_[1], r[0], b, key) for key, r in remove.items() for b, sp_ in split.items()
                        if b not in r[1])
        moved = False
        for _raw, _c, b, key in combos[:tries]:
            if time.perf_counter() > until:
                break
            _c, _near, points, _loss, new = remove[key]
            cand = a.copy()
            cand[points] = new
            spoints, _gain, (_v, first, second, in_first) = split[b]
            cand[spoints] = np.where(in_first, first, second)
            if len(np.unique(cand)) != len(centers):
                continue  # the split took a site the removal opened (sites not accounts)
            cand = pair_moves(cost, demand, capacity, open_ok, cand, same, until, rng, done=done)
            if total(cand) < now - 1e-9 * max(1.0, abs(now)):
                a, moved = cand, True
                break
        if not moved:
            break
    return a


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
    :data:`~territory_planner.optimize.centers.LARGE_PAIRS` account × site pairs.
    """
    from territory_planner.errors import NoPlanFoundError
    from territory_planner.optimize.centers import (
        _NO_PLAN,
        CenterSolution,
        allocate,
        recenter,
        spread_centers,
    )

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
            from territory_planner.optimize.centers import solve_centers

            budget = min(PARTITION_SHARE * time_limit, heuristic_end - time.perf_counter())
            if budget >= 1.0:
                r = solve_centers(cost, demand, capacity, p, candidates=open_ok, time_limit=budget, seed=seed,
                                  method="exact", start=best["a"], sites_are_accounts=same, log=log, _compact_mip=False,
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
