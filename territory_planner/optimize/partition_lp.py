"""The parts of the set partitioning form's column and cut generation: the pricing
oracle, the master LP and the subset-row cuts.

:func:`~territory_planner.optimize.partition.solve_partition` assembles them; it is step 4
of the exact CPMP method, called by
:func:`~territory_planner.optimize.centers_exact.solve_centers_exact` (the model, the
bounds and the flow are in :mod:`~territory_planner.optimize.partition`'s docstring).

- :func:`knapsack_tables` and :func:`backtrack`: the 0-1 knapsack per site by dynamic
  programming over integer weights, every site at once. It prices the LP's columns while
  there are no cuts; :mod:`~territory_planner.optimize.centers_exact` also solves its
  Lagrangian subproblems (steps 2 and 3) with it.
- Bit sets of accounts (:func:`masks_of`, :func:`members_of`): territories as uint64 words.
- :func:`enumerate_territories` with :class:`Cuts`: every territory at a site whose
  reduced cost, cut penalties included, is within a limit. Exact pricing once there are
  cuts, and the final enumeration of every territory within the gap.
- :class:`Master`: the LP over the pool of territories in HiGHS, re-solved as columns and
  cuts are added; its duals drive the pricing.
- :func:`separate_subset_rows`: the most violated subset-row cuts at the LP's point.

Nothing here imports :mod:`~territory_planner.optimize.partition`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: Subset-row cuts added per separation round, and their least violation.
CUTS_PER_ROUND = 40
CUT_VIOLATION = 0.02


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
