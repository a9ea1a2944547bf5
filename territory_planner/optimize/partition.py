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
so pricing then enumerates
(:func:`~territory_planner.optimize.partition_lp.enumerate_territories`) with the DP
value of the accounts still to come as the bound. The DP value alone is a lower bound of
every territory's reduced cost (the cut terms are ≥ 0), so at any moment

    LB = D + Σ_{p smallest sites} min(0, DP_j − σ − μ_j),   D the LP's dual value,

is a valid lower bound of the CPMP, converged or not.

Any plan z costs Σ_k rc_k z_k + D at least (each row's dual times its slack has the
right sign), so a territory whose reduced cost exceeds (incumbent − 1) − D cannot be in
a better plan with integer costs. Once the gap is small, every territory within it is
enumerated and the set partitioning MIP over them (with the cuts) settles the problem:
its optimum, or its infeasibility, proves the best plan.

This module is the method: :func:`solve_partition`, step 4 of the exact CPMP method (called
by :func:`~territory_planner.optimize.centers_exact.solve_centers_exact` on the pairs its
Lagrangian fixing left), and the set partitioning MIP over territories
(:func:`partition_model`). The parts it drives (the knapsack pricing, the enumeration, the
master LP and the cut separation) are in :mod:`~territory_planner.optimize.partition_lp`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from territory_planner.optimize.backends import SolveOptions, solve_model, stop_if_interrupted
from territory_planner.optimize.exact import MatrixModel
from territory_planner.optimize.partition_lp import (
    Cuts,
    Master,
    backtrack,
    enumerate_territories,
    knapsack_tables,
    members_of,
    separate_subset_rows,
)

#: Most territories one enumeration may hold before it gives up (pricing and the final
#: set of columns alike).
ENUMERATION_BUDGET = 400_000
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
