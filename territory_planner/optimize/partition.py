"""Exact CPMP by column and cut generation, then set partitioning over every territory
that can still be in a better plan.

A plan is p territories (site j, accounts S), each within j's capacity. The set
partitioning form of the CPMP (Baldacci, Hadjiconstantinou, Maniezzo & Mingozzi 2002,
*Computers & OR* 29:365) has one column per territory:

    min  Σ_k c_k z_k
    s.t. Σ_k a_ik z_k = 1      every account in one territory        (dual π_i)
         Σ_k z_k ≤ p           at most p territories                 (dual σ ≤ 0)
         Σ_{k at j} z_k ≤ 1    one territory per site                (dual μ_j ≤ 0)
         Σ_k ⌊|S_k ∩ C|/2⌋ z_k ≤ 1   subset-row cuts, C three accounts (dual β_C ≤ 0)

Its LP without cuts is the Dantzig–Wolfe bound, equal to the Lagrangian bound of
:mod:`~territory_planner.optimize.centers`; on the hard OR-Library instances it stays
3–6% below the optimum (771.7 against 820 on pmedcap1_08). The subset-row cuts of Jepsen,
Petersen, Spoorendonk & Pisinger (2008, *Operations Research* 56:497) — two accounts of
the three share a territory at most once — raise it most of the way (to about 814 there).

The LP is solved by column generation. Pricing is a 0-1 knapsack per site over the
reduced costs r_i = c_ij − π_i: exact by dynamic programming while there are no cuts; a
cut adds −β_C whenever a territory takes two of its accounts, which no knapsack DP sees,
so pricing then enumerates (:func:`enumerate_territories`) with the DP value of the
accounts still to come as the bound. The DP value alone is a lower bound of every
territory's reduced cost (the cut terms are ≥ 0), so at any moment

    LB = D + Σ_{p smallest sites} min(0, DP_j − σ − μ_j),   D the LP's dual value,

is a valid lower bound of the CPMP, converged or not.

Any plan z costs Σ_k rc_k z_k + D at least (each row's dual times its slack has the
right sign), so a territory whose reduced cost exceeds (incumbent − 1) − D cannot be in
a better plan with integer costs. Once the gap is small, every territory within it is
enumerated and the set partitioning MIP over them (with the cuts) settles the problem:
its optimum, or its infeasibility, proves the best plan.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from territory_planner.optimize.backends import SolveOptions, solve_model, stop_if_interrupted
from territory_planner.optimize.exact import MatrixModel

#: Most territories one enumeration may hold before it gives up (pricing and the final
#: set of columns alike).
ENUMERATION_BUDGET = 400_000
#: Subset-row cuts added per separation round, and their least violation.
CUTS_PER_ROUND = 40
CUT_VIOLATION = 0.02
#: Cut rounds stop once a round raises the LP by less than this share of the gap left.
CUT_STALL = 0.02
#: Exact pricing (with cuts): most territories held per site, columns kept per site, and
#: columns per round before the LP is re-solved.
PRICING_BUDGET = 20_000
#: The MIP over the generated territories (for a better incumbent, before the final
#: enumeration, whose size the incumbent sets) runs for at most this long.
POOL_MIP_SECONDS = 3.0
#: Territories within the gap that go straight to the final MIP, without the pool MIP
#: first (which costs up to POOL_MIP_SECONDS and only helps by narrowing a wide gap).
QUICK_ENUMERATION = 30_000
#: HiGHS presolve without probing and enumeration (presolve rules 15 and 16): on these
#: set partitioning MIPs (a few thousand dense columns) they took 11 of the 13 s that
#: pmedcap1_08's pool MIP needed, and reduced little.
SET_PARTITIONING_HIGHS = (("presolve_rule_off", (1 << 15) | (1 << 16)),)
COLUMNS_PER_SITE = 5
COLUMNS_PER_ROUND = 30


# --------------------------------------------------------------------------- knapsack pricing


def knapsack_tables(profit: np.ndarray, weight: np.ndarray, width: int):
    """0-1 knapsack by DP for every site at once.

    profit (n, m): gain of putting item i in site j's knapsack; weight (n,) integer.
    Returns F (m, width+1), the best gain with total weight ≤ q, and the take table
    (n, m, width+1) for backtracking.
    """
    n, m = profit.shape
    F = np.zeros((m, width + 1))
    take = np.zeros((n, m, width + 1), dtype=bool)
    for i in range(n):
        w = int(weight[i])
        g = profit[i]
        useful = g > 0
        if not useful.any() or w > width:
            continue
        if w == 0:
            F[useful] += g[useful, None]
            take[i, useful, :] = True
            continue
        cand = F[:, : width + 1 - w] + g[:, None]
        better = cand > F[:, w:]
        better &= useful[:, None]
        F[:, w:] = np.where(better, cand, F[:, w:])
        take[i, :, w:] = better
    return F, take


def backtrack(take: np.ndarray, weight: np.ndarray, sites: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """(n, len(sites)) bool: the items in each listed site's optimal knapsack."""
    n = take.shape[0]
    q = cap[sites].astype(int).copy()
    chosen = np.zeros((n, len(sites)), dtype=bool)
    cols = np.arange(len(sites))
    for i in range(n - 1, -1, -1):
        t = take[i, sites, q] if len(sites) else np.zeros(0, bool)
        chosen[i] = t
        q = q - np.where(t, int(weight[i]), 0)
    return chosen[:, cols]


# --------------------------------------------------------------------------- bit sets


def words(n: int) -> int:
    """uint64 words per set of n accounts."""
    return max(1, (n + 63) // 64)


def masks_of(members: np.ndarray) -> np.ndarray:
    """(k, n) bool → (k, words) uint64 bit sets."""
    k, n = members.shape
    out = np.zeros((k, words(n)), dtype=np.uint64)
    for w in range(out.shape[1]):
        block = members[:, 64 * w: 64 * (w + 1)].astype(np.uint64)
        out[:, w] = (block << np.arange(block.shape[1], dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
    return out


def members_of(masks: np.ndarray, n: int) -> np.ndarray:
    """(k, words) uint64 bit sets → (k, n) bool."""
    i = np.arange(n)
    return ((masks[:, i // 64] >> (i % 64).astype(np.uint64)) & np.uint64(1)).astype(bool)


def _bits(masks: np.ndarray, items: np.ndarray) -> np.ndarray:
    """(states, len(items)) 0/1: which of ``items`` each set holds."""
    items = np.asarray(items)
    return ((masks[:, items // 64] >> (items % 64).astype(np.uint64)) & np.uint64(1)).astype(np.int8)


# --------------------------------------------------------------------------- enumeration


@dataclass(frozen=True)
class Cuts:
    """Subset-row cuts: ``triples`` (K, 3) accounts and the penalty (−β ≥ 0) a territory
    pays when it holds two or three of them."""

    triples: np.ndarray
    penalty: np.ndarray

    @staticmethod
    def none() -> Cuts:
        return Cuts(np.zeros((0, 3), dtype=np.int64), np.zeros(0))

    def of_item(self):
        """For each account i: (other two accounts (c, 2), penalty (c,)) of its cuts."""
        out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        live = self.penalty > 1e-12
        for pos in range(3):
            others = np.delete(self.triples, pos, axis=1)
            for i in np.unique(self.triples[live, pos]):
                sel = live & (self.triples[:, pos] == i)
                o, pn = out.get(int(i), (np.zeros((0, 2), dtype=np.int64), np.zeros(0)))
                out[int(i)] = (np.vstack([o, others[sel]]), np.concatenate([pn, self.penalty[sel]]))
        return out

    def value(self, members: np.ndarray) -> np.ndarray:
        """(k,) Σ_C penalty_C ⌊|S_k ∩ C| / 2⌋ of each territory (k, n) bool."""
        if not len(self.penalty):
            return np.zeros(len(members))
        held = members[:, self.triples].sum(axis=2) >= 2  # (k, K)
        return held.astype(float) @ self.penalty


def _completion_table(r: np.ndarray, w: np.ndarray, Q: int) -> np.ndarray:
    """B[k, q]: the least Σ r over subsets of items k.. of weight ≤ q (0 for none)."""
    K = len(r)
    B = np.zeros((K + 1, Q + 1))
    for k in range(K - 1, -1, -1):
        B[k] = B[k + 1]
        wk = int(w[k])
        if r[k] < 0 and wk <= Q:
            B[k, wk:] = np.minimum(B[k + 1, wk:], B[k + 1, : Q + 1 - wk] + r[k])
    return B


def enumerate_territories(r: np.ndarray, weight: np.ndarray, capacity: int, limit: float, budget: int,
                          cuts: Cuts | None = None, by_item=None):
    """Every set S of accounts with Σ weight ≤ ``capacity`` and
    Σ_{i∈S} r_i + (cut penalties of S) ≤ ``limit``.

    Returns (bit sets (k, words) uint64, values (k,)), or None when more than ``budget``
    sets (partial or whole) would be held. ``r`` may hold ``inf`` for accounts that
    cannot join. Accounts are taken in increasing r, one level each; a partial set lives
    on only if its value so far plus the best completion (an exact knapsack DP over the
    accounts still to come, without cuts, so a lower bound) stays within ``limit``, which
    makes the work proportional to the answer.

    Examples
    --------
    >>> import numpy as np
    >>> masks, vals = enumerate_territories(np.array([-3.0, -1.0, 2.0]), np.array([1, 1, 1]), 2, -0.5, 10)
    >>> sorted(members_of(masks, 3).astype(int).tolist())
    [[0, 1, 0], [1, 0, 0], [1, 0, 1], [1, 1, 0]]
    """
    n = len(r)
    W = words(n)
    items = np.flatnonzero(np.isfinite(r) & (weight <= capacity))
    order = items[np.argsort(r[items], kind="stable")]
    rs, ws = r[order], weight[order].astype(np.int64)
    B = _completion_table(rs, ws, capacity)
    if B[0, capacity] > limit + 1e-9:
        return np.zeros((0, W), dtype=np.uint64), np.zeros(0)
    if cuts is not None and by_item is None:
        by_item = cuts.of_item()
    val = np.zeros(1)
    room = np.full(1, capacity, dtype=np.int64)
    masks = np.zeros((1, W), dtype=np.uint64)
    for k, i in enumerate(order):
        keep = val + B[k + 1, room] <= limit + 1e-9
        fits = room >= ws[k]
        left = np.where(fits, room - ws[k], 0)
        add_val = val + rs[k]
        if by_item and int(i) in by_item:
            others, pen = by_item[int(i)]
            held = _bits(masks, others.ravel()).reshape(len(val), -1, 2).sum(axis=2)  # (states, cuts)
            add_val = add_val + (held == 1) @ pen
        add = fits & (add_val + B[k + 1, left] <= limit + 1e-9)
        n_keep, n_add = int(keep.sum()), int(add.sum())
        if n_keep + n_add > budget:
            return None
        if n_add:
            new = masks[add]
            new[:, i // 64] |= np.uint64(1) << np.uint64(i % 64)
            val = np.concatenate([val[keep], add_val[add]])
            room = np.concatenate([room[keep], left[add]])
            masks = np.concatenate([masks[keep], new])
        elif n_keep < len(val):
            val, room, masks = val[keep], room[keep], masks[keep]
        if not len(val):
            break
    nonempty = masks.any(axis=1)
    return masks[nonempty], val[nonempty]


# --------------------------------------------------------------------------- the master LP


class Master:
    """The set partitioning LP over a pool of territories, re-solved as columns and cuts
    are added (HiGHS keeps its basis between solves)."""

    def __init__(self, cost: np.ndarray, demand: np.ndarray, p: int, sites: np.ndarray):
        import highspy

        self.cost, self.demand, self.p = cost, demand, p
        self.n, m = cost.shape
        self.sites = np.asarray(sites)
        self.row_of_site = np.full(m, -1)
        self.row_of_site[self.sites] = self.n + 1 + np.arange(len(self.sites))
        self.site = np.zeros(0, dtype=np.int64)
        self.masks = np.zeros((0, words(self.n)), dtype=np.uint64)
        self.members = np.zeros((0, self.n), dtype=bool)
        self.col_cost = np.zeros(0)
        self.seen: set[tuple[int, bytes]] = set()
        self.cuts = np.zeros((0, 3), dtype=np.int64)
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        inf = highspy.kHighsInf
        nrows = self.n + 1 + len(self.sites)
        lo = np.r_[np.ones(self.n), -inf, np.full(len(self.sites), -inf)]
        hi = np.r_[np.ones(self.n), p, np.ones(len(self.sites))]
        self.h.addRows(nrows, lo, hi, 0, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))

    def add(self, site: np.ndarray, members: np.ndarray) -> int:
        """Add territories (site (k,), members (k, n) bool) not in the pool yet; returns how many."""
        masks = masks_of(members)
        fresh = []
        for t in range(len(site)):
            key = (int(site[t]), masks[t].tobytes())
            if key not in self.seen and members[t].any():
                self.seen.add(key)
                fresh.append(t)
        if not fresh:
            return 0
        site, members, masks = np.asarray(site)[fresh], members[fresh], masks[fresh]
        cost = (members * self.cost[:, site].T).sum(axis=1)
        k = len(fresh)
        col_rows = [np.flatnonzero(members[t]).tolist() + [self.n, int(self.row_of_site[site[t]])] for t in range(k)]
        col_vals = [[1.0] * len(rows) for rows in col_rows]
        if len(self.cuts):
            held = (members[:, self.cuts].sum(axis=2) >= 2)  # (k, K)
            first_cut = self.n + 1 + len(self.sites)
            for t in range(k):
                cs = np.flatnonzero(held[t])
                col_rows[t] += (first_cut + cs).tolist()
                col_vals[t] += [1.0] * len(cs)
        starts = np.cumsum([0] + [len(rows) for rows in col_rows[:-1]]).astype(np.int32)
        index = np.fromiter((i for rows in col_rows for i in rows), dtype=np.int32)
        value = np.fromiter((v for vals in col_vals for v in vals), dtype=float)
        self.h.addCols(k, cost, np.zeros(k), np.full(k, np.inf), len(index), starts, index, value)
        self.site = np.concatenate([self.site, site])
        self.masks = np.vstack([self.masks, masks])
        self.members = np.vstack([self.members, members])
        self.col_cost = np.concatenate([self.col_cost, cost])
        return k

    def add_cuts(self, triples: np.ndarray) -> None:
        """Subset-row rows Σ_k ⌊|S_k ∩ C|/2⌋ z_k ≤ 1 for each triple C."""
        import highspy

        triples = np.asarray(triples, dtype=np.int64).reshape(-1, 3)
        held = self.members[:, triples].sum(axis=2) >= 2  # (cols, K)
        csr = sp.csr_matrix(held.T.astype(float))
        K = len(triples)
        self.h.addRows(K, np.full(K, -highspy.kHighsInf), np.ones(K), csr.nnz, csr.indptr[:-1].astype(np.int32),
                       csr.indices.astype(np.int32), csr.data)
        self.cuts = np.vstack([self.cuts, triples])

    def solve(self):
        """(LP value, π (n,), σ, μ (m,) by site, β (cuts,), x (cols,))."""
        self.h.run()
        sol = self.h.getSolution()
        y = np.asarray(sol.row_dual)
        n, s = self.n, len(self.sites)
        mu = np.zeros(self.cost.shape[1])
        mu[self.sites] = y[n + 1: n + 1 + s]
        # HiGHS gives c − Aᵀy as reduced costs: a ≤ row at its bound has y ≤ 0 in a minimisation.
        return (self.h.getInfo().objective_function_value, y[:n], float(y[n]), np.minimum(mu, 0.0),
                np.minimum(y[n + 1 + s:], 0.0), np.asarray(sol.col_value))

    def dual_value(self, pi, sigma, mu, beta) -> float:
        return float(pi.sum() + self.p * sigma + mu[self.sites].sum() + beta.sum())


# --------------------------------------------------------------------------- cuts


def separate_subset_rows(members: np.ndarray, x: np.ndarray, limit: int = CUTS_PER_ROUND,
                         min_violation: float = CUT_VIOLATION, known: np.ndarray | None = None) -> np.ndarray:
    """The most violated subset-row cuts at the LP point x over territories ``members``.

    For accounts a < b < c, Σ_k x_k [S_k holds two of them] = P_ab + P_ac + P_bc − 2 T_abc
    with P and T the pair and triple co-occurrence weighted by x. Cuts are taken in order
    of violation, each account in at most two of them (spread cuts help the LP more than
    many around one account). Returns (K, 3) account triples."""
    active = x > 1e-9
    M = members[active].astype(float)
    xa = x[active]
    n = members.shape[1]
    if M.shape[0] == 0:
        return np.zeros((0, 3), dtype=np.int64)
    touched = np.flatnonzero(((M > 0) & ((xa > 1e-6) & (xa < 1 - 1e-6))[:, None]).any(axis=0))
    if len(touched) < 3:
        return np.zeros((0, 3), dtype=np.int64)
    Mt = M[:, touched]
    t = len(touched)
    if t > 160:  # the (t, t, t) table would outgrow memory; keep the 160 most fractional accounts
        share = (Mt * xa[:, None]).sum(axis=0)
        keep = np.argsort(np.abs(share - 0.5), kind="stable")[:160]
        touched, Mt, t = touched[keep], Mt[:, keep], 160
    P = (Mt * xa[:, None]).T @ Mt  # (t, t)
    T = np.einsum("ka,kb,kc->abc", Mt * xa[:, None], Mt, Mt, optimize=True)
    ia, ib, ic = np.meshgrid(np.arange(t), np.arange(t), np.arange(t), indexing="ij", sparse=False)
    upper = (ia < ib) & (ib < ic)
    ia, ib, ic = ia[upper], ib[upper], ic[upper]
    value = P[ia, ib] + P[ia, ic] + P[ib, ic] - 2.0 * T[ia, ib, ic]
    viol = np.flatnonzero(value > 1.0 + min_violation)
    if known is not None and len(known):
        have = {tuple(row) for row in np.sort(known, axis=1).tolist()}
    else:
        have = set()
    order = viol[np.argsort(-value[viol], kind="stable")]
    uses = np.zeros(n, dtype=int)
    out = []
    for v in order:
        tri = tuple(sorted((int(touched[ia[v]]), int(touched[ib[v]]), int(touched[ic[v]]))))
        if tri in have or max(uses[list(tri)]) >= 2:
            continue
        out.append(tri)
        uses[list(tri)] += 1
        if len(out) >= limit:
            break
    return np.array(out, dtype=np.int64).reshape(-1, 3)


# --------------------------------------------------------------------------- the method


@dataclass(frozen=True)
class PartitionResult:
    """What :func:`solve_partition` proved: ``assignment`` (column indices) is the best
    plan it knows (the incumbent when nothing better was found) and ``bound`` a lower bound
    over every plan that uses only the allowed pairs. ``proven``: no plan of those pairs is
    better than ``objective`` (within the integer step or ``mip_gap``)."""

    assignment: np.ndarray
    objective: float
    bound: float
    proven: bool
    columns: int = 0
    cuts: int = 0
    enumerated: int = -1  # territories in the final set partitioning MIP (−1: not reached)
    build_seconds: float = 0.0  # enumerating them and building that MIP


def _plan_of(site: np.ndarray, members: np.ndarray, x: np.ndarray, n: int) -> np.ndarray | None:
    """The assignment (column indices) of the territories with x > ½, or None if some
    account is left out."""
    a = np.full(n, -1, dtype=int)
    for k in np.flatnonzero(x > 0.5):
        a[members[k]] = site[k]
    return a if (a >= 0).all() else None


def _site_limits(D: float, rc_min: np.ndarray, p: int, threshold: float) -> np.ndarray:
    """Per site, the largest reduced cost a territory there may have and still be in a
    plan of cost ≤ ``threshold``: threshold − D − (the p − 1 most negative rc_min of the
    other sites)."""
    neg = np.minimum(rc_min, 0.0)
    order = np.sort(neg)
    low = order[: p - 1].sum()
    nxt = order[p - 1] if len(order) >= p else 0.0
    rank = np.empty(len(neg), dtype=np.int64)
    rank[np.argsort(neg, kind="stable")] = np.arange(len(neg))
    others = np.where(rank < p - 1, low - neg + nxt, low)
    return threshold - D - others


def solve_partition(cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, p: int, weight: np.ndarray,
                    cap_int: np.ndarray, alive: np.ndarray, incumbent: np.ndarray, integral: bool, deadline: float,
                    *, seed: int = 0, mip_gap: float = 1e-4, backend: str = "highs", budget: int = ENUMERATION_BUDGET,
                    max_rounds: int = 60, try_sites=None, on_plan=None, progress=None, log=None,
                    columns=None) -> PartitionResult:
    """Column and cut generation on the set partitioning form, then the MIP over every
    territory within the gap (module docstring).

    ``columns`` = (sites (k,), members (k, n) bool), if given, are territories to start
    the pool with (the Lagrangian phase's knapsack solutions); those that use a pair
    outside ``alive`` or exceed their site's capacity are left out.

    ``weight``/``cap_int`` are the integer DP weights and capacities (rounded down, so the
    knapsack is a relaxation); ``alive`` (n, m) the account–site pairs still allowed;
    ``incumbent`` a plan (column indices) that uses only allowed pairs; ``integral``: every
    cost is an integer, so a better plan costs at least one less. Stops at ``deadline``
    (``time.perf_counter()``) with the bound reached so far. ``try_sites(sites)``, if
    given, returns a plan with those centers and its cost, (None, inf) if none: it is
    called with the p sites the LP uses most. ``on_plan(assignment, cost)`` receives each
    better plan as it is found, so a caller that catches Ctrl-C (KeyboardInterrupt, raised
    here too when it stops a MIP) keeps it. ``log`` receives a line per step.
    """
    t0 = time.perf_counter()

    def say(text: str) -> None:
        if log is not None:
            log(f"partition {time.perf_counter() - t0:6.2f}s  {text}")

    n, m = cost.shape
    incumbent = np.asarray(incumbent)
    best = incumbent.copy()
    best_value = float(cost[np.arange(n), best].sum())
    sites = np.flatnonzero(alive.any(axis=0))
    width = int(cap_int[sites].max())
    master = Master(cost, demand, p, sites)

    def within_capacity(site: np.ndarray | int, members: np.ndarray) -> np.ndarray:
        # Against the real capacity: the DP's weights are rounded down.
        return members.astype(float) @ demand <= capacity[site] + 1e-9

    own = np.unique(best)
    master.add(own, best[None, :] == own[:, None])
    if columns is not None and len(columns[0]):
        # Knapsack solutions at near-optimal multipliers: the LP starts near its optimum.
        site0, members0 = np.asarray(columns[0]), np.asarray(columns[1], dtype=bool)
        ok = ~(members0 & ~alive[:, site0].T).any(axis=1) & within_capacity(site0, members0)
        master.add(site0[ok], members0[ok])
    dead = np.where(alive[:, sites], 0.0, -np.inf)

    def threshold() -> float:
        # A plan better than the incumbent costs at most this.
        return best_value - 1 + 1e-6 if integral else best_value - 1e-9 * max(1.0, abs(best_value))

    def cutoff() -> float:
        # The MIPs over territories look only below this (HiGHS's objective_bound prunes
        # every node that cannot get there): a plan better than the incumbent by a whole
        # unit with integer costs, by half the relative gap otherwise.
        return best_value - 0.5 if integral else best_value - 0.5 * mip_gap * abs(best_value)

    def done(bound: float) -> bool:
        return bound > threshold() or best_value - bound <= mip_gap * abs(best_value)

    def offer(a: np.ndarray | None, source: str) -> None:
        nonlocal best, best_value
        if a is None:
            return
        value = float(cost[np.arange(n), a].sum())
        if value < best_value - 1e-9 and np.all(np.bincount(a, weights=demand, minlength=m) <= capacity + 1e-9):
            say(f"plan {value:,.6g} from {source}")
            best, best_value = np.asarray(a).copy(), value
            if on_plan is not None:
                on_plan(best, best_value)
            mine = np.unique(best)
            master.add(mine, best[None, :] == mine[:, None])

    def improve_from_lp(x: np.ndarray) -> None:
        # Location–allocation on the sites the LP leans on most.
        if try_sites is None:
            return
        weight_of = np.bincount(master.site, weights=x, minlength=m)
        chosen = np.argsort(-weight_of, kind="stable")[:p]
        offer(try_sites(chosen)[0], "the sites the LP uses most")

    def improve_from_pool(time_limit: float) -> None:
        # The set partitioning MIP over the territories generated so far (price and
        # branch): a plan, often the optimum, long before the proof.
        model = partition_model(cost, master.site, master.members, p, master.cuts)
        warm = np.zeros(len(master.site))
        warm[: len(own)] = 1.0  # the incumbent's territories were added first
        res = solve_model(model, "highs", SolveOptions(time_limit=max(0.2, min(time_limit, deadline - time.perf_counter())),
                                                       mip_gap=mip_gap, seed=seed, warm_start=warm,
                                                       highs_options=SET_PARTITIONING_HIGHS + (("objective_bound", cutoff()),)))
        say(f"set partitioning over the {len(master.site):,} territories generated: {res.status} in {res.seconds:.2f}s")
        offer(None if res.x is None else _plan_of(master.site, master.members, res.x, n),
              f"the {len(master.site)} territories generated")
        stop_if_interrupted(res)

    def territories_at(j: int, limit: float, most: int):
        """(members (k, n) bool, values (k,)) of the territories at site j within capacity
        whose Σ (c_ij − π_i) plus cut penalties at the current duals is ≤ ``limit``; None
        past ``most``."""
        r = np.where(alive[:, j], cost[:, j] - pi, np.inf)
        found = enumerate_territories(r, weight, int(cap_int[j]), limit, most, cuts, by_item)
        if found is None:
            return None
        members = members_of(found[0], n)
        ok = within_capacity(j, members)
        return members[ok], found[1][ok]

    def within_gap(most: int):
        """(sites, members, seconds) of every territory that may be in a better plan, or
        None past ``most`` territories or the deadline. Uses the duals of the last pricing:
        rc_known holds, per site, the exact least reduced cost where pricing enumerated it
        and the knapsack's lower bound elsewhere."""
        tb = time.perf_counter()
        limits = _site_limits(D_known, rc_known[sites], p, threshold())
        site_of, members, count = [], [], 0
        for pos, j in enumerate(sites):
            if time.perf_counter() >= deadline:
                return None
            found = territories_at(j, limits[pos] + sigma + mu[j], most - count)
            if found is None:
                say(f"more than {most:,} territories within the gap {threshold() - D_known:,.6g}")
                return None
            sets = found[0]
            count += len(sets)
            site_of.append(np.full(len(sets), j, dtype=np.int64))
            members.append(sets)
        return site_of, members, time.perf_counter() - tb

    def stopped() -> PartitionResult:
        return PartitionResult(best, best_value, min(bound, best_value), done(bound), len(master.site), len(master.cuts))

    bound = -math.inf
    by_item = None
    cuts = Cuts.none()
    rounds = 0
    last_lp = -math.inf
    while time.perf_counter() < deadline:
        value, pi, sigma, mu, beta, x = master.solve()
        D = master.dual_value(pi, sigma, mu, beta)
        if len(beta):
            cuts = Cuts(master.cuts, -beta)
            by_item = cuts.of_item()
        # Pricing: the plain knapsack per site (a lower bound of every reduced cost there).
        F, take = knapsack_tables(pi[:, None] - cost[:, sites] + dead, weight, width)
        plain = -F[np.arange(len(sites)), cap_int[sites]]
        rc_lb = np.full(m, np.inf)
        rc_lb[sites] = plain - sigma - mu[sites]
        bound = max(bound, D + np.sort(np.minimum(rc_lb[sites], 0.0))[:p].sum())
        rc_known, D_known = rc_lb, D
        if progress is not None:
            progress(best_value, bound)
        if done(bound):
            break
        neg = np.flatnonzero(rc_lb[sites] < -1e-6)
        added = 0
        if len(neg):
            pos = neg
            sets = backtrack(take, weight, pos, cap_int[sites]).T  # (len(neg), n)
            fits = within_capacity(sites[pos], sets)
            pen = cuts.value(sets)
            good = fits & (rc_lb[sites[pos]] + pen < -1e-6)
            added = master.add(sites[pos[good]], sets[good])
            if not added and not len(cuts.penalty) and not fits.all():
                # Without cuts only the real capacity keeps a DP set out (its weights are
                # rounded down): refill each such set greedily within the capacity and add
                # those that still price out. Not a proof: the bound below does not take
                # the LP's value while a site's least reduced cost is unknown.
                over, over_sets = pos[~fits], sets[~fits]
                refilled = np.zeros((len(over), n), dtype=bool)
                for k, q in enumerate(over):
                    j = sites[q]
                    r = np.where(over_sets[k], cost[:, j] - pi, np.inf)
                    room = capacity[j]
                    for i in np.argsort(r / np.maximum(demand, 1e-12), kind="stable"):
                        if r[i] >= 0:
                            break
                        if demand[i] <= room + 1e-9:
                            refilled[k, i] = True
                            room -= demand[i]
                rc = (refilled * (cost[:, sites[over]].T - pi[None, :])).sum(axis=1) - sigma - mu[sites[over]]
                ok = refilled.any(axis=1) & (rc < -1e-6)
                added = master.add(sites[over[ok]], refilled[ok])
            elif not added:
                # No DP set can enter (each pays for cuts, or is in the pool already):
                # price exactly by enumeration.
                rc_exact = rc_lb.copy()
                for j in sites[neg[np.argsort(rc_lb[sites[neg]], kind="stable")]]:
                    found = territories_at(j, sigma + mu[j] - 1e-6, PRICING_BUDGET)
                    if found is None:
                        continue
                    members, vals = found
                    rc_exact[j] = 0.0 if not len(vals) else min(0.0, float(vals.min()) - sigma - mu[j])
                    take_k = np.argsort(vals, kind="stable")[:COLUMNS_PER_SITE]
                    added += master.add(np.full(len(take_k), j), members[take_k])
                    if added >= COLUMNS_PER_ROUND:
                        break
                bound = max(bound, D + np.sort(np.minimum(rc_exact[sites], 0.0))[:p].sum())
                rc_known = rc_exact
                if done(bound):
                    break
        if added:
            continue
        # Nothing priced in. The LP is optimal over every territory, and its value the bound
        # at this round, only when every site's least reduced cost is known to be ≥ 0 (an
        # enumeration past its budget leaves it unknown: the bound above stands).
        if (rc_known[sites] >= -1e-6).all():
            bound = max(bound, value)
        if done(bound) or rounds >= max_rounds:
            break
        if rounds and value - last_lp < CUT_STALL * max(threshold() - value, 1e-9):
            break  # the cuts have stopped paying
        last_lp = value
        say(f"LP {value:,.6g} with {len(master.site)} territories, {len(master.cuts)} cuts; bound {bound:,.6g}, "
            f"incumbent {best_value:,.6g}")
        improve_from_lp(x)
        if done(bound):
            break
        new = separate_subset_rows(master.members[: len(x)], x, known=master.cuts)
        if not len(new):
            break
        master.add_cuts(new)
        rounds += 1
    # ---------------- every territory within the gap, then set partitioning
    if done(bound) or time.perf_counter() >= deadline:
        return stopped()
    # Few territories within the gap: straight to the final MIP. Many: first a better
    # incumbent from the territories generated, which narrows the gap, then all of them.
    final = within_gap(min(budget, QUICK_ENUMERATION))
    if final is None and time.perf_counter() < deadline:
        improve_from_pool(POOL_MIP_SECONDS)
        if done(bound) or time.perf_counter() >= deadline:
            return stopped()
        final = within_gap(budget)
    if final is None:
        return stopped()
    site_of, members, build_seconds = final
    count = sum(len(k) for k in site_of)
    mine = np.unique(best)  # the incumbent's territories (not within the gap: add them)
    site_of.append(mine)
    members.append(best[None, :] == mine[:, None])
    site_all = np.concatenate(site_of)
    member_all = np.vstack(members)
    # Only the cuts the LP leans on: the others make the MIP denser, not stronger.
    binding = np.zeros(len(master.cuts), dtype=bool)
    binding[: len(beta)] = beta < -1e-9
    tb = time.perf_counter()
    model = partition_model(cost, site_all, member_all, p, master.cuts[binding])
    say(f"set partitioning over the {count:,} territories within the gap {threshold() - D_known:,.6g}")
    warm = np.zeros(len(site_all))
    warm[-len(mine):] = 1.0
    build_seconds += time.perf_counter() - tb
    floor = cutoff()
    res = solve_model(model, backend, SolveOptions(time_limit=max(0.5, deadline - time.perf_counter()), mip_gap=mip_gap,
                                                   seed=seed, warm_start=warm,
                                                   highs_options=SET_PARTITIONING_HIGHS + (("objective_bound", floor),)))
    a = None if res.x is None else _plan_of(site_all, member_all, res.x, n)
    value_before = best_value
    offer(a, "the territories within the gap")
    improved = best_value < value_before
    stop_if_interrupted(res)
    say(f"set partitioning: {res.status} in {res.seconds:.2f}s, plan {best_value:,.6g}, bound {res.bound:,.6g}")
    if res.status in ("optimal", "infeasible"):
        # Every plan better than the incumbent is among these territories: settled. Either
        # HiGHS's own optimum (below the cutoff), or no plan below the cutoff at all.
        if improved:
            bound = max(bound, min(res.bound, best_value))
        else:
            bound = best_value if integral else max(bound, floor)
        return PartitionResult(best, best_value, min(bound, best_value), True, len(master.site), len(master.cuts), count,
                               build_seconds)
    if np.isfinite(res.bound):
        bound = max(bound, min(res.bound, threshold()))
    return PartitionResult(best, best_value, min(bound, best_value), done(bound), len(master.site), len(master.cuts), count,
                           build_seconds)


def partition_model(cost: np.ndarray, site: np.ndarray, members: np.ndarray, p: int,
                    cuts: np.ndarray | None = None) -> MatrixModel:
    """Set partitioning over territories: each account in exactly one, at most one per
    site, at most p in all (a plan with fewer is one with p: extra centers stay empty),
    and the subset-row cuts (valid for every plan, they keep the LP as strong as the
    column generation's)."""
    k, n = members.shape
    sites, spos = np.unique(site, return_inverse=True)
    rows, cols = np.nonzero(members.T)
    blocks = [sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, k)),
              sp.csr_matrix((np.ones(k), (spos, np.arange(k))), shape=(len(sites), k)),
              sp.csr_matrix(np.ones((1, k)))]
    lo = [np.ones(n), np.full(len(sites), -np.inf), [-np.inf]]
    hi = [np.ones(n), np.ones(len(sites)), [p]]
    if cuts is not None and len(cuts):
        held = members[:, cuts].sum(axis=2) >= 2  # (k, K)
        blocks.append(sp.csr_matrix(held.T.astype(float)))
        lo.append(np.full(len(cuts), -np.inf))
        hi.append(np.ones(len(cuts)))
    # Each territory's cost from its members alone: a dense (k, n) product would take
    # 8·k·n bytes (3.6 GB for 313,760 territories of u724_125 when it was written so).
    c = np.bincount(cols, weights=cost[rows, site[cols]], minlength=k)
    return MatrixModel(
        c=c, A=sp.vstack(blocks, format="csr"), row_lo=np.concatenate(lo), row_hi=np.concatenate(hi),
        col_lo=np.zeros(k), col_hi=np.ones(k), integer=np.ones(k, dtype=bool),
    )
