"""The set partitioning method for the CPMP: enumeration, subset-row cuts, the master LP's
duals, and the whole method against enumeration of every plan."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.readers import read_pmedcap
from territory_planner.optimize.partition import partition_model, solve_partition
from territory_planner.optimize.partition_lp import (
    Cuts,
    Master,
    enumerate_territories,
    knapsack_tables,
    masks_of,
    members_of,
    separate_subset_rows,
)

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "cpmp_osman" / "instances"


def subsets(n):
    for bits in itertools.product([False, True], repeat=n):
        yield np.array(bits, dtype=bool)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 9), st.booleans())
def test_enumeration_lists_exactly_the_sets_within_the_limit(seed, n, with_cuts):
    rng = np.random.default_rng(seed)
    r = np.round(rng.normal(-1.0, 2.0, size=n), 2)
    r[rng.random(n) < 0.15] = np.inf  # accounts that cannot join
    weight = rng.integers(0, 5, size=n)
    capacity = int(rng.integers(0, 12))
    limit = float(rng.normal(-1.0, 2.0))
    cuts = None
    if with_cuts and n >= 3:
        triples = np.array([rng.choice(n, 3, replace=False) for _ in range(int(rng.integers(1, 5)))])
        cuts = Cuts(triples, np.round(rng.uniform(0, 3, size=len(triples)), 2))
    expected = {}
    for s in subsets(n):
        if not s.any() or weight[s].sum() > capacity or not np.isfinite(r[s]).all():
            continue
        value = r[s].sum() + (cuts.value(s[None, :])[0] if cuts is not None else 0.0)
        if value <= limit + 1e-9:
            expected[tuple(s)] = value
    masks, values = enumerate_territories(r, weight, capacity, limit, 10_000, cuts)
    got = {tuple(row): v for row, v in zip(members_of(masks, n), values, strict=True)}
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-9)


def test_enumeration_gives_up_past_its_budget():
    r = -np.ones(12)
    assert enumerate_territories(r, np.ones(12, dtype=int), 12, 0.0, 100) is None
    masks, _ = enumerate_territories(r, np.ones(12, dtype=int), 12, 0.0, 5000)
    assert len(masks) == 2**12 - 1


def test_bit_sets_round_trip_past_one_word():
    rng = np.random.default_rng(0)
    members = rng.random((50, 150)) < 0.3
    assert np.array_equal(members_of(masks_of(members), 150), members)


def test_knapsack_tables_match_the_best_subset():
    rng = np.random.default_rng(1)
    n, m, width = 8, 4, 9
    profit = rng.normal(0, 3, size=(n, m))
    weight = rng.integers(0, 4, size=n)
    F, _ = knapsack_tables(profit, weight, width)
    for j in range(m):
        for q in (0, 4, width):
            best = max(profit[s, j].sum() for s in subsets(n) if weight[s].sum() <= q)
            assert F[j, q] == pytest.approx(best)


@pytest.mark.parametrize("seed", range(3))
def test_set_partitioning_model_prices_each_territory_at_its_members_cost(seed):
    rng = np.random.default_rng(seed)
    n, m, k, p = 30, 6, 40, 3
    cost = rng.uniform(0, 100, size=(n, m))
    site = rng.integers(0, m, size=k)
    members = rng.random((k, n)) < 0.25
    members[0] = False  # an empty territory costs nothing
    model = partition_model(cost, site, members, p, np.array([[0, 1, 2]]))
    for t in range(k):
        assert model.c[t] == pytest.approx(cost[members[t], site[t]].sum(), abs=1e-9)
    A = model.A.toarray()
    assert np.array_equal(A[:n], members.T.astype(float))  # each account in exactly one
    sites = np.unique(site)
    assert np.array_equal(A[n:n + len(sites)], (site[None, :] == sites[:, None]).astype(float))
    assert np.array_equal(A[n + len(sites)], np.ones(k)) and model.row_hi[n + len(sites)] == p
    assert np.array_equal(A[-1], (members[:, [0, 1, 2]].sum(axis=1) >= 2).astype(float))


@pytest.mark.parametrize("seed", range(5))
def test_separated_cuts_are_violated_new_and_spread(seed):
    rng = np.random.default_rng(seed)
    members = rng.random((30, 12)) < 0.35
    x = rng.random(30) * (rng.random(30) < 0.5)
    known = np.array([[0, 1, 2]])
    cuts = separate_subset_rows(members, x, limit=10, min_violation=0.01, known=known)
    lhs = lambda tri: float(((members[:, tri].sum(axis=1) >= 2) * x).sum())  # noqa: E731
    assert [0, 1, 2] not in cuts.tolist()
    assert np.bincount(cuts.ravel(), minlength=12).max() <= 2
    for tri in cuts:
        assert len(set(tri.tolist())) == 3
        assert lhs(tri) > 1.01
    # Every violated triple left out is either known or shares a saturated account.
    uses = np.bincount(cuts.ravel(), minlength=12)
    for tri in itertools.combinations(range(12), 3):
        if lhs(list(tri)) > 1.01 + 1e-9 and list(tri) not in cuts.tolist() and tri != (0, 1, 2):
            assert len(cuts) == 10 or uses[list(tri)].max() >= 2


def random_cpmp(seed, n=8, p=2, real=False):
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 40, size=(n, 2)).astype(float)
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    cost = d if real else np.floor(d)
    demand = rng.integers(1, 6, size=n).astype(float)
    capacity = np.full(n, float(np.ceil(demand.sum() / p * rng.uniform(1.05, 1.4))))
    return cost, demand, capacity


def enumerated_optimum(cost, demand, capacity, p):
    n = len(demand)
    best, plan = math.inf, None
    for centers in itertools.combinations(range(n), p):
        for choice in itertools.product(range(p), repeat=n):
            a = np.asarray(centers)[list(choice)]
            if np.all(np.bincount(a, weights=demand, minlength=n) <= capacity + 1e-9):
                value = cost[np.arange(n), a].sum()
                if value < best:
                    best, plan = value, a
    return best, plan


def worst_plan(cost, demand, capacity, p):
    """A feasible but poor plan: the most expensive one of a few random center sets."""
    n = len(demand)
    rng = np.random.default_rng(0)
    worst, plan = -math.inf, None
    for _ in range(200):
        centers = rng.choice(n, p, replace=False)
        for choice in itertools.islice(itertools.product(range(p), repeat=n), 0, None, 7):
            a = centers[list(choice)]
            if np.all(np.bincount(a, weights=demand, minlength=n) <= capacity + 1e-9):
                value = cost[np.arange(n), a].sum()
                if value > worst:
                    worst, plan = value, a
                break
    return plan


def test_master_duals_price_every_column_of_the_pool():
    cost, demand, capacity = random_cpmp(2, n=8, p=2)
    n = len(demand)
    master = Master(cost, demand, 2, np.arange(n))
    rng = np.random.default_rng(2)
    pool = [s for s in subsets(n) if s.any() and demand[s].sum() <= capacity[0]]
    picks = rng.choice(len(pool), 120, replace=False)
    for j in range(n):
        master.add(np.full(len(picks), j), np.array([pool[k] for k in picks]))
    plan = worst_plan(cost, demand, capacity, 2)
    own = np.unique(plan)
    master.add(own, plan[None, :] == own[:, None])
    master.add_cuts(np.array([[0, 1, 2], [3, 4, 5]]))
    value, pi, sigma, mu, beta, x = master.solve()
    assert master.dual_value(pi, sigma, mu, beta) == pytest.approx(value, abs=1e-6)
    cuts = Cuts(master.cuts, -beta)
    rc = master.col_cost - master.members @ pi - sigma - mu[master.site] - cuts.value(master.members)
    assert rc.min() >= -1e-6
    assert np.abs(rc[x > 1e-7]).max() <= 1e-6
    assert (sigma <= 0) and (mu <= 0).all() and (beta <= 0).all()


@pytest.mark.parametrize(("seed", "p", "real"), [(0, 2, False), (1, 3, False), (2, 2, True), (3, 3, True),
                                                 (4, 2, False), (5, 3, False)])
def test_method_reaches_and_proves_the_enumerated_optimum_from_a_poor_plan(seed, p, real):
    cost, demand, capacity = random_cpmp(seed, n=8, p=p, real=real)
    optimum, _ = enumerated_optimum(cost, demand, capacity, p)
    start = worst_plan(cost, demand, capacity, p)
    n = len(demand)
    res = solve_partition(cost, demand, capacity, p, demand.astype(int), capacity.astype(int),
                          np.ones((n, n), dtype=bool), start, not real, math.inf)
    assert res.proven
    assert res.objective == pytest.approx(optimum, rel=1e-9)
    assert cost[np.arange(n), res.assignment].sum() == pytest.approx(res.objective)
    assert len(np.unique(res.assignment)) <= p
    assert np.all(np.bincount(res.assignment, weights=demand, minlength=n) <= capacity + 1e-9)
    assert res.bound <= optimum + 1e-6


def test_seed_columns_start_the_pool_and_only_those_within_the_allowed_pairs_and_capacity(monkeypatch):
    """The Lagrangian phase's territories start the pool; one over its site's capacity
    (the DP rounds weights down) or using a removed pair stays out."""
    cost, demand, capacity = random_cpmp(4, n=8, p=2)
    n = len(demand)
    optimum, plan = enumerated_optimum(cost, demand, capacity, 2)
    start = worst_plan(cost, demand, capacity, 2)
    alive = np.ones((n, n), dtype=bool)
    outside = next(i for i in range(n) if plan[i] != plan[0] and start[i] != plan[0])
    alive[outside, plan[0]] = False  # a pair neither this optimal plan nor the start uses
    good_sites = np.unique(plan)
    good = plan[None, :] == good_sites[:, None]
    other = next(int(j) for j in good_sites if j != plan[0])
    heavy = np.ones((1, n), dtype=bool)  # every account at `other` (all its pairs allowed): over capacity
    dead = np.zeros((1, n), dtype=bool)
    dead[0, outside] = True  # one account, within capacity, but by the removed pair
    assert demand.sum() > capacity[other] and demand[outside] <= capacity[plan[0]]
    sites = np.r_[good_sites, other, plan[0]]
    members = np.vstack([good, heavy, dead])
    added = []
    real_add = Master.add

    def spy(self, site, members):
        added.append((np.asarray(site).copy(), np.asarray(members).copy()))
        return real_add(self, site, members)

    monkeypatch.setattr(Master, "add", spy)
    res = solve_partition(cost, demand, capacity, 2, demand.astype(int), capacity.astype(int), alive, start, True,
                          math.inf, columns=(sites, members))
    seeded_site, seeded = added[1]  # after the incumbent's territories
    seeded_keys = {(int(j), tuple(s)) for j, s in zip(seeded_site, seeded, strict=True)}
    assert seeded_keys == {(int(j), tuple(s)) for j, s in zip(good_sites, good, strict=True)}
    assert (other, tuple(heavy[0])) not in seeded_keys  # over capacity
    assert (int(plan[0]), tuple(dead[0])) not in seeded_keys  # by a removed pair
    every = [(j, s) for sites_k, members_k in added for j, s in zip(sites_k, members_k, strict=True)]
    assert all(demand[s].sum() <= capacity[j] + 1e-9 and alive[s, j].all() for j, s in every)
    assert res.proven and res.objective == pytest.approx(optimum)


def test_a_bound_left_short_of_the_proof_is_still_below_the_optimum():
    cost, demand, capacity = random_cpmp(7, n=9, p=3)
    optimum, _ = enumerated_optimum(cost, demand, capacity, 3)
    start = worst_plan(cost, demand, capacity, 3)
    n = len(demand)
    res = solve_partition(cost, demand, capacity, 3, demand.astype(int), capacity.astype(int),
                          np.ones((n, n), dtype=bool), start, True, math.inf, budget=1, max_rounds=0)
    assert res.bound <= optimum + 1e-6
    assert res.objective >= optimum - 1e-6
    assert np.all(np.bincount(res.assignment, weights=demand, minlength=n) <= capacity + 1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_knapsack_sets_that_break_the_real_capacity_leave_a_valid_bound(seed):
    # DP weights rounded down to nothing: every knapsack set takes each account it gains
    # from and breaks the real capacity, so none enters the pool. The LP over the pool is
    # then not optimal over every territory; pricing falls back to exact enumeration, and
    # the bound stays below the optimum.
    cost, demand, capacity = random_cpmp(20 + seed, n=8, p=2)
    n = len(demand)
    optimum, _ = enumerated_optimum(cost, demand, capacity, 2)
    start = worst_plan(cost, demand, capacity, 2)
    zero = np.zeros(n, dtype=int)
    res = solve_partition(cost, demand, capacity, 2, zero, zero, np.ones((n, n), dtype=bool), start, True, math.inf,
                          max_rounds=0, budget=1)
    assert cost[np.arange(n), start].sum() > optimum + 1  # the start's LP alone would overstate the bound
    assert res.bound <= optimum + 1e-6
    assert np.all(np.bincount(res.assignment, weights=demand, minlength=n) <= capacity + 1e-9)


def test_pmedcap1_08_whose_lp_bound_is_six_percent_short_is_proven_optimal():
    """pmedcap1_08: the Dantzig–Wolfe bound is 771.7 against the optimum 820; subset-row
    cuts and the set partitioning MIP close it."""
    from territory_planner.optimize.centers import solve_centers

    inst = read_pmedcap(DATA / "pmedcap1_08.txt")
    s = solve_centers(inst.cost, inst.demand, inst.capacity, inst.p, time_limit=300)
    assert s.objective == 820 and s.bound == 820 and s.status == "optimal"
    assert s.lagrangian_bound < 775  # the proof came from the cuts, not the Lagrangian
    load = np.bincount(s.assignment, weights=inst.demand, minlength=inst.n)
    assert np.all(load <= inst.capacity + 1e-9) and len(np.unique(s.assignment)) <= inst.p
    assert s.objective == inst.cost[np.arange(inst.n), s.assignment].sum()


@pytest.mark.parametrize("seed", range(3))
def test_ctrl_c_in_a_mip_stops_the_search_and_keeps_the_plan_it_found(seed, monkeypatch):
    # Ctrl-C inside HiGHS ends its solve with status "interrupted" and the plan it had:
    # that plan reaches the caller (on_plan) and the search stops (KeyboardInterrupt)
    # instead of going on to the next step.
    import dataclasses

    import territory_planner.optimize.partition as partition

    real = partition.solve_model

    def interrupted(*args, **kwargs):
        return dataclasses.replace(real(*args, **kwargs), status="interrupted")

    monkeypatch.setattr(partition, "solve_model", interrupted)
    cost, demand, capacity = random_cpmp(seed, n=8, p=3)
    start = worst_plan(cost, demand, capacity, 3)
    n = len(demand)
    seen = []
    with pytest.raises(KeyboardInterrupt):
        solve_partition(cost, demand, capacity, 3, demand.astype(int), capacity.astype(int),
                        np.ones((n, n), dtype=bool), start, True, math.inf, max_rounds=0,
                        on_plan=lambda a, v: seen.append((a.copy(), v)))
    plan, value = seen[-1]
    assert value < cost[np.arange(n), start].sum()
    assert value == cost[np.arange(n), plan].sum()
    assert np.all(np.bincount(plan, weights=demand, minlength=n) <= capacity + 1e-9)
