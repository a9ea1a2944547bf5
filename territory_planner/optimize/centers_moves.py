"""Local search moves for the capacitated p-median at scale: the large path's improvement steps.

Used by :func:`~territory_planner.optimize.centers_large.solve_centers_large` (and the
exact method's incumbent polish): a start by k-means++ / greedy seeding
(:func:`_seed_centers`), a fast regret-ordered allocation to open centers
(:func:`quick_allocate`), MIP neighbourhoods (:func:`_neighbourhood_mip`), exact pair
moves (two territories re-solved as a two-center problem by one DP over the weight the
first center takes, :func:`best_pair` / :func:`pair_moves`) and relocation moves (a
territory and its nearest re-solved with one center fewer, the center reopened where a
territory splits best, :func:`relocation_moves`). Each returns a plan at least as good as
the one it was given.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from territory_planner.optimize.backends import (
    SolveOptions,
    solve_model,
    stop_if_interrupted,
)
from territory_planner.optimize.centers_base import all_integers
from territory_planner.optimize.exact import MatrixModel

#: Nearest open centers an account may use in a global allocation (doubled if too few).
ALLOCATION_SITES = 8
#: Sites an account may use inside a neighbourhood (its current site is always allowed too).
NEIGHBOURHOOD_SITES = 12
#: In a neighbourhood MIP an open site serves its own account (x_jj ≥ y_j).
SELF_SERVICE = True
#: Relative gap at which a neighbourhood MIP stops (proving the last fraction costs most).
NEIGHBOURHOOD_GAP = 1e-3
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
    round (:func:`~territory_planner.optimize.centers_base.allocate`) took its 5 s limit each
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


