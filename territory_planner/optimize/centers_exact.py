"""The capacitated p-median problem (CPMP) solved exactly: the method for up to a few hundred accounts.

Sets: accounts i = 1..n with demand d_i (workload), candidate sites j = 1..m with
capacity Q_j, cost c_ij of serving i from j. Pick exactly p sites and give every
account to one open site within its capacity, at least total cost (FIELD.md §3):

    min  Σ_ij c_ij x_ij
    s.t. Σ_j x_ij = 1            every account served once
         x_ij ≤ y_j              only by an open site
         Σ_i d_i x_ij ≤ Q_j y_j  within capacity
         Σ_j y_j = p,  Σ_j Q_j y_j ≥ Σ_i d_i   (cover cut)
         x, y ∈ {0, 1}

A plain MIP of this model takes about 730 s on the 20 OR-Library instances (FIELD.md §6).
The method here (after Lorena & Senne 2004, *Computers & OR* 31:863, and the Lagrangian
CPMP literature they cite) is:

1. **Incumbent** by location–allocation: centers spread by demand, accounts assigned by a
   small assignment MIP (a GAP on the p open sites, cut off at the incumbent's cost, so
   a set of sites that cannot do better is dismissed without solving it to the end),
   each center moved to the 1-median of its territory, repeated while it improves. Each
   new incumbent is polished by exact pair moves (two territories re-solved as a
   two-center problem, :func:`~territory_planner.optimize.centers_moves.pair_moves`).
2. **Lagrangian relaxation** of the assignment rows with multipliers λ_i: the problem
   splits into one 0-1 knapsack per site, v_j(λ) = min Σ_i (c_ij − λ_i) x_ij s.t.
   Σ_i d_i x_ij ≤ Q_j, solved exactly by dynamic programming over integer weights for
   all sites at once (numpy over sites × capacities). L(λ) = Σ λ_i + the p smallest
   v_j is a lower bound, stronger than the LP relaxation because the knapsacks lack the
   integrality property. λ follows subgradient steps (Held, Wolfe & Crowder 1974). The
   open sets it proposes are turned into incumbents by step 1's allocation.
3. **Exact fixing.** At any λ, forcing y_j or x_ij to the value the relaxation did not
   choose raises L(λ) by an amount we can bound from the DP tables; when the raised
   bound reaches the incumbent (minus one when all costs are integers), no plan better
   than the incumbent uses that choice, so it is removed. Fixings from every iteration
   are united (each is valid for the final, lower incumbent too).
   The subgradient ascent is kept short (``max_iterations``): step 4 raises the bound
   much further per second.
4. **Column and cut generation** on the set partitioning form over what remains
   (:mod:`~territory_planner.optimize.partition`): the LP over territories, whose plain
   value is the Lagrangian bound, raised by subset-row cuts. Its pool starts with the
   territories the knapsacks chose in the last Lagrangian steps (``SEED_STEPS``), so
   the first LP needs few pricing rounds; then every territory whose
   reduced cost leaves it a chance to be in a better plan is enumerated and the set
   partitioning MIP over them settles the problem (its optimum, or its infeasibility,
   proves the incumbent). Its bound, capped by the fixing threshold, is a valid bound
   for the whole problem.
5. Only if that enumeration grows beyond its budget: the **MIP** of the strong
   formulation on what remains, with HiGHS via
   :func:`~territory_planner.optimize.backends.solve_model`, warm-started with the
   incumbent.

Non-integer demands are scaled and rounded *down* for the DP (Σ ⌊s d_i⌋ ≤ ⌊s Q_j⌋ holds
for every set that fits, so the knapsack is a relaxation and the bound stays valid).
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from territory_planner.errors import NoPlanFoundError
from territory_planner.optimize.backends import SolveOptions, solve_model
from territory_planner.optimize.centers_base import (
    _NO_PLAN,
    DP_CELL_BUDGET,
    CenterSolution,
    Progress,
    _feasible,
    all_integers,
    allocate,
    prepare,
    recenter,
    spread_centers,
)
from territory_planner.optimize.centers_moves import pair_moves
from territory_planner.optimize.exact import MatrixModel
from territory_planner.optimize.partition import solve_partition
from territory_planner.optimize.partition_lp import backtrack, knapsack_tables

#: Time limit of one incumbent allocation (a GAP MIP) once there is a plan. Its
#: plan comes early; the rest of the time goes to proving it, which the incumbent does not
#: need. 10 s spent 12–21 s of cpmp_osman 14 and 17 in allocations; 1 s cut 14 from 36 to
#: 31 s and 17 from 34 to 24 s, with the same incumbents on 08 and 20.
ALLOCATE_SECONDS = 1.0
#: Cap on the pair-move polish of each new incumbent (on pmedcap1 a pass ends well before).
PAIR_POLISH_SECONDS = 1.0
#: The p territories of each of the last SEED_STEPS Lagrangian steps start the column
#: generation's pool: knapsack solutions at near-optimal multipliers, so its LP starts
#: near its optimum (pmedcap1_20: 1,019 columns and 0.1 s to the first LP optimum, against
#: 7,648 columns and 2.4 s from the incumbent's territories alone).
SEED_STEPS = 150


class _Incumbent:
    def __init__(self, cost, demand, capacity, p, open_ok, seed, deadline):
        self.cost, self.demand, self.capacity, self.p = cost, demand, capacity, p
        self.open_ok, self.seed, self.deadline = open_ok, seed, deadline
        self.assignment: np.ndarray | None = None
        self.objective = math.inf
        self.tried: set[tuple[int, ...]] = set()

    def offer(self, assignment: np.ndarray, value: float) -> None:
        """Keep a plan found elsewhere if it is better and within every constraint."""
        if value < self.objective - 1e-9 and _feasible(self.cost, self.demand, self.capacity, assignment, self.p):
            self.assignment, self.objective = np.asarray(assignment).copy(), float(value)

    def try_centers(self, centers: np.ndarray, *, polish: bool = True) -> bool:
        """Allocate to ``centers`` (then re-center and re-allocate while it improves)."""
        improved = False
        centers = np.array(sorted(set(map(int, centers))), dtype=int)
        for _ in range(5):
            key = tuple(centers.tolist())
            if key in self.tried or len(centers) != self.p:
                break
            self.tried.add(key)
            # Until there is a plan at all, an allocation may take longer to find one.
            limit = ALLOCATE_SECONDS if self.assignment is not None else 10.0
            budget = max(0.5, min(limit, self.deadline - time.perf_counter()))
            assignment, value = allocate(self.cost, self.demand, self.capacity, centers, time_limit=budget, seed=self.seed,
                                         cutoff=self.objective)
            if assignment is None:
                break
            if value < self.objective - 1e-9:
                # Every new incumbent is polished by exact pair moves (two territories
                # re-solved as a two-center problem): a strong incumbent early lets the
                # Lagrangian fixing and the partitioning below remove far more.
                polished = pair_moves(self.cost, self.demand, self.capacity, self.open_ok, assignment,
                                      self.cost.shape[0] == self.cost.shape[1],
                                      min(self.deadline, time.perf_counter() + PAIR_POLISH_SECONDS),
                                      np.random.default_rng(self.seed))
                polished_value = float(self.cost[np.arange(len(polished)), polished].sum())
                if polished_value < value - 1e-9:
                    assignment, value = polished, polished_value
                self.assignment, self.objective = assignment, value
                improved = True
            if not polish:
                break
            moved = recenter(self.cost, self.demand, self.capacity, assignment, self.open_ok)
            if len(moved) < self.p:
                break
            centers = moved
        return improved


# --------------------------------------------------------------------------- Lagrangian


def _distinct_columns(seeds, n: int):
    """(sites, members (k, n) bool) of the distinct territories in ``seeds`` (a sequence
    of (sites (p,), bit-packed members (p, ⌈n/8⌉))), None when there are none. Successive
    steps repeat most territories; they are packed until here."""
    if not seeds:
        return None
    site = np.concatenate([c for c, _ in seeds]).astype(np.int64)
    packed = np.vstack([s for _, s in seeds])
    key = np.concatenate([site[:, None].view(np.uint8).reshape(len(site), -1), packed], axis=1)
    first = np.sort(np.unique(key, axis=0, return_index=True)[1])
    return site[first], np.unpackbits(packed[first], axis=1, count=n).astype(bool)


def _integer_weights(demand: np.ndarray, capacity: np.ndarray, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer DP weights and capacities; rounding down keeps the knapsack a relaxation."""
    qmax = float(capacity.max())
    integral = all_integers(demand, capacity)
    limit = max(8, int(DP_CELL_BUDGET / max(1, n * m)))
    if integral and qmax <= limit:
        return np.round(demand).astype(int), np.round(capacity).astype(int)
    scale = min(limit, 4000) / qmax
    return np.floor(demand * scale + 1e-9).astype(int), np.floor(capacity * scale + 1e-9).astype(int)


def solve_centers_exact(
    cost,
    demand,
    capacity,
    p: int,
    *,
    candidates=None,
    time_limit: float = 60.0,
    mip_gap: float = 1e-4,
    seed: int = 0,
    backend: str = "auto",
    progress: Progress | None = None,
    max_iterations: int = 150,
    log: Callable[[str], None] | None = None,
    sites_are_accounts: bool | None = None,
    start: np.ndarray | None = None,
    _compact_mip: bool = True,
) -> CenterSolution:
    """The exact method of :func:`~territory_planner.optimize.centers.solve_centers` (same
    parameters but ``method``): Lagrangian bound, exact fixing, column and cut generation,
    and the MIP on what remains (this module's docstring).
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    cost, demand, capacity, open_ok = prepare(cost, demand, capacity, p, candidates)
    n, m = cost.shape
    integral_cost = all_integers(cost)
    inc = _Incumbent(cost, demand, capacity, p, open_ok, seed, deadline)
    interrupted = False
    status = "time_limit"
    lagr_best = -math.inf
    alive = np.broadcast_to(open_ok, (n, m)) & (demand[:, None] <= capacity[None, :] + 1e-9)
    alive = alive.copy()
    y_fixed_one = np.zeros(m, dtype=bool)
    backend_name = "lagrangian"
    mip_bound = -math.inf
    build_seconds = 0.0
    lagrangian_seconds = 0.0

    def report():
        if progress is not None:
            progress(inc.objective, lagr_best, time.perf_counter() - t0)

    def rounded(bound: float) -> float:
        # With integer costs no plan costs less than the next integer above a bound.
        return math.ceil(bound - 1e-6) if integral_cost and math.isfinite(bound) else bound

    def gap_closed(bound: float) -> bool:
        # The one optimality test: the loops' stops and the result's status.
        return inc.objective - rounded(bound) <= mip_gap * abs(inc.objective) + 1e-9

    try:
        if start is not None:
            start = np.asarray(start)
            if start.shape != (n,) or not np.issubdtype(start.dtype, np.integer) or start.min() < 0 or start.max() >= m:
                raise ValueError(f"start must give each of the {n} accounts a site index in 0..{m - 1}")
            if open_ok[np.unique(start)].all():
                inc.offer(start, float(cost[np.arange(n), start].sum()))
        if inc.assignment is None:
            inc.try_centers(spread_centers(cost, demand, p, open_ok))
        report()

        def floor_removed() -> float:
            # Every plan that uses a removed choice costs at least this much.
            return inc.objective if integral_cost else threshold()

        def threshold() -> float:
            # A choice whose bound exceeds this cannot be in a plan better than the incumbent.
            if integral_cost:
                return inc.objective - 1 + 1e-6
            return inc.objective + 1e-9 * max(1.0, abs(inc.objective))

        # ---------------- Lagrangian relaxation with subgradient steps
        weight, cap_int = _integer_weights(demand, capacity, n, m)
        width = int(cap_int[open_ok].max())
        big = np.where(alive, 0.0, np.inf)  # pairs already excluded
        lam = cost[np.arange(n), inc.assignment] if inc.assignment is not None else np.sort(cost, axis=1)[:, min(1, m - 1)]
        lam = lam.astype(float).copy()
        step_scale, stall = 2.0, 0
        seeds: collections.deque = collections.deque(maxlen=max(1, SEED_STEPS))
        mark = -math.inf
        y_closed = ~open_ok
        for it in range(max_iterations):
            if time.perf_counter() > t0 + 0.5 * time_limit:
                break
            # Stop once the bound has nearly stopped rising: 200 more steps bought less
            # than 1% of the remaining gap (the MIP does better then).
            if it % 200 == 0:
                if it and lagr_best - mark < 1e-2 * max(inc.objective - lagr_best, 1e-9):
                    break
                mark = lagr_best
            reduced = cost - lam[:, None] + big  # (n, m)
            F, take = knapsack_tables(-reduced, weight, width)
            sites = np.flatnonzero(~y_closed)
            v = np.full(m, np.inf)
            v[sites] = -F[sites, cap_int[sites]]
            # At most p sites open (an extra, empty center costs nothing); every v_j ≤ 0.
            order = sites[np.argsort(v[sites], kind="stable")]
            chosen = order[:p]
            S = float(v[chosen].sum())
            L = float(lam.sum() + S)
            if L > lagr_best + 1e-9:
                lagr_best, stall = L, 0
            else:
                stall += 1
            # Exact fixing at this λ.
            T = threshold()
            vp = float(v[chosen[-1]]) if len(chosen) == p else 0.0
            vnext = min(0.0, float(v[order[p]])) if len(order) > p else 0.0
            in_chosen = np.zeros(m, dtype=bool)
            in_chosen[chosen] = True
            base = lam.sum() + S
            # y_j = 1 for a site outside the chosen set
            y_open_bound = np.where(in_chosen, base, base - vp + v)
            closed_out = (~in_chosen) & ~y_closed & (y_open_bound > T)
            if inc.assignment is not None:
                closed_out[inc.assignment] = False
            y_closed |= closed_out
            alive[:, closed_out] = False
            # y_j = 0 for a chosen site
            y_close_bound = np.where(in_chosen, base - v + vnext, -np.inf)
            y_fixed_one |= in_chosen & (y_close_bound > T)
            # x_ij = 1: item i forced into j's knapsack; F[j, Q_j - w_i] bounds the rest.
            rem = cap_int[None, :] - weight[:, None]
            okw = rem >= 0
            rest = np.where(okw, -F[np.arange(m)[None, :], np.clip(rem, 0, None)], np.inf)
            forced = np.maximum(reduced + rest, v[None, :])
            others = np.where(in_chosen, S - v, S - vp)[None, :]
            x_bound = lam.sum() + forced + others
            alive &= ~(x_bound > T)
            if inc.assignment is not None:
                alive[np.arange(n), inc.assignment] = True  # keep the warm start feasible
            big = np.where(alive, 0.0, np.inf)
            if gap_closed(lagr_best):
                break
            in_sets = backtrack(take, weight, chosen, cap_int)  # (n, p)
            if SEED_STEPS:
                seeds.append((chosen.copy(), np.packbits(in_sets.T, axis=1)))
            g = 1.0 - in_sets.sum(axis=1)
            if not g.any():
                # The relaxation's plan is a plan: it is optimal.
                a = chosen[np.argmax(in_sets, axis=1)]
                value = float(cost[np.arange(n), a].sum())
                if value < inc.objective and _feasible(cost, demand, capacity, a, p):
                    inc.assignment, inc.objective = a, value
                lagr_best = max(lagr_best, value)
                break
            if it % 100 == 0:
                if inc.try_centers(chosen, polish=it % 50 == 0):
                    report()
            if stall >= 30:
                step_scale /= 2
                stall = 0
                if step_scale < 1e-3:
                    break
            gap_now = max(inc.objective - L, 1e-6 * max(1.0, abs(inc.objective)))
            lam = lam + step_scale * gap_now / float(g @ g) * g
            if it % 20 == 0:
                report()
        report()
        lagrangian_seconds = time.perf_counter() - t0
        # ---------------- MIP on what remains
        closed = y_closed | ~alive.any(axis=0)
        if inc.assignment is None:
            raise NoPlanFoundError(_NO_PLAN)
        if gap_closed(lagr_best):
            status = "optimal"
        else:
            alive &= ~closed[None, :]
            part = solve_partition(
                cost, demand, capacity, p, weight, cap_int, alive, inc.assignment, integral_cost, deadline,
                seed=seed, mip_gap=mip_gap, backend=backend, log=log,
                try_sites=lambda sites: (inc.assignment if inc.try_centers(sites) else None, inc.objective),
                on_plan=inc.offer,
                progress=None if progress is None else (lambda o, b: progress(o, max(b, lagr_best), time.perf_counter() - t0)),
                columns=_distinct_columns(seeds, n),
            )
            build_seconds = part.build_seconds
            backend_name = "lagrangian+partition"
            inc.offer(part.assignment, part.objective)
            mip_bound = min(part.bound, floor_removed())
            status = "optimal" if part.proven else "time_limit"
            if not part.proven and time.perf_counter() < deadline - 1.0 and _compact_mip:
                # Too many territories within the gap: the compact MIP on what remains
                # (not as a stage of the large method, whose search goes on instead).
                tb = time.perf_counter()
                model, unit, site, ys = _center_model(cost, demand, capacity, p, alive, y_fixed_one)
                warm = np.r_[(inc.assignment[unit] == site).astype(float), np.isin(ys, inc.assignment).astype(float)]
                build_seconds += time.perf_counter() - tb
                best_bound = max(lagr_best, mip_bound)
                res = solve_model(model, backend, SolveOptions(
                    time_limit=max(1.0, deadline - time.perf_counter()), mip_gap=mip_gap, seed=seed, warm_start=warm,
                    progress=None if progress is None else (lambda o, b, s: progress(o, max(b, best_bound), time.perf_counter() - t0)),
                ))
                backend_name = "lagrangian+partition+" + res.backend
                if res.x is not None:
                    xs = res.x[: len(unit)] > 0.5
                    a = np.full(n, -1, dtype=int)
                    a[unit[xs]] = site[xs]
                    if (a >= 0).all() and _feasible(cost, demand, capacity, a, p):
                        value = float(cost[np.arange(n), a].sum())
                        if value < inc.objective - 1e-9:
                            inc.assignment, inc.objective = a, value
                if res.status == "infeasible":
                    mip_bound = floor_removed()  # nothing better than the incumbent remains
                elif np.isfinite(res.bound):
                    mip_bound = max(mip_bound, min(res.bound, floor_removed()))
                status = {"optimal": "optimal", "infeasible": "optimal", "interrupted": "interrupted"}.get(res.status, "time_limit")
    except KeyboardInterrupt:
        interrupted = True
    if inc.assignment is None:
        if interrupted:
            raise KeyboardInterrupt
        raise NoPlanFoundError(_NO_PLAN)
    bound = min(rounded(max(lagr_best, mip_bound)), inc.objective)
    if interrupted:
        status = "interrupted"
    elif gap_closed(bound):
        status = "optimal"
    elif status == "optimal":
        status = "time_limit"
    centers = np.unique(inc.assignment)
    if len(centers) < p:
        # Open extra (empty) centers so exactly p are reported: cost unchanged.
        spare = [j for j in np.flatnonzero(open_ok) if j not in set(centers.tolist())]
        centers = np.sort(np.r_[centers, spare[: p - len(centers)]]).astype(int)
    removed = 1.0 - float(alive.sum()) / max(1, n * m)
    return CenterSolution(
        centers=centers, assignment=inc.assignment, objective=float(inc.objective), bound=float(bound),
        status=status, seconds=time.perf_counter() - t0, backend=backend_name,
        lagrangian_bound=float(lagr_best), fixed_share=removed, build_seconds=build_seconds,
        lagrangian_seconds=lagrangian_seconds,
    )


def _center_model(cost, demand, capacity, p, alive, y_fixed_one):
    """The strong CPMP formulation over the surviving pairs (x columns, then y columns)."""
    n, _ = cost.shape
    unit, site = np.nonzero(alive)
    ys = np.unique(site)
    ypos = np.searchsorted(ys, site)
    nx, ny = len(unit), len(ys)
    xcols = np.arange(nx)
    ycols = nx + np.arange(ny)
    blocks = [
        # Σ_j x_ij = 1
        sp.csr_matrix((np.ones(nx), (unit, xcols)), shape=(n, nx + ny)),
        # x_ij − y_j ≤ 0
        sp.csr_matrix((np.r_[np.ones(nx), -np.ones(nx)], (np.r_[xcols, xcols], np.r_[xcols, nx + ypos])), shape=(nx, nx + ny)),
        # Σ_i d_i x_ij − Q_j y_j ≤ 0
        sp.csr_matrix((np.r_[demand[unit], -capacity[ys]], (np.r_[ypos, np.arange(ny)], np.r_[xcols, ycols])), shape=(ny, nx + ny)),
        # Σ_j y_j ≤ p and the cover cut Σ_j Q_j y_j ≥ Σ_i d_i
        sp.csr_matrix((np.r_[np.ones(ny), capacity[ys]], (np.r_[np.zeros(ny, int), np.ones(ny, int)], np.r_[ycols, ycols])), shape=(2, nx + ny)),
    ]
    A = sp.vstack(blocks, format="csr")
    # Σ y ≤ p: a plan with fewer centers is one with p (extra centers left empty).
    row_lo = np.r_[np.ones(n), np.full(nx, -np.inf), np.full(ny, -np.inf), -np.inf, demand.sum()]
    row_hi = np.r_[np.ones(n), np.zeros(nx), np.zeros(ny), p, np.inf]
    col_lo = np.r_[np.zeros(nx), y_fixed_one[ys].astype(float)]
    model = MatrixModel(
        c=np.r_[cost[unit, site], np.zeros(ny)], A=A, row_lo=row_lo, row_hi=row_hi,
        col_lo=col_lo, col_hi=np.ones(nx + ny), integer=np.ones(nx + ny, dtype=bool),
    )
    return model, unit, site, ys
