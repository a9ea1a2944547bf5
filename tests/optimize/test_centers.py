"""Choosing centers: the capacitated p-median optimizer and the `centers: choose` scenario."""

from __future__ import annotations

import functools
import itertools
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.readers import read_pmedcap
from territory_planner.optimize.centers import solve_centers

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "cpmp_osman" / "instances"


@pytest.mark.parametrize(("name", "optimum"), [("pmedcap1_01", 713), ("pmedcap1_02", 740), ("pmedcap1_03", 751)])
def test_or_library_optimum_is_reached_and_proven(name, optimum):
    inst = read_pmedcap(DATA / f"{name}.txt")
    s = solve_centers(inst.cost, inst.demand, inst.capacity, inst.p, time_limit=120)
    assert s.objective == optimum
    assert s.status == "optimal" and s.bound == s.objective
    assert len(s.centers) == inst.p and np.all(np.diff(s.centers) > 0)
    assert set(np.unique(s.assignment)) <= set(s.centers.tolist())
    load = np.bincount(s.assignment, weights=inst.demand, minlength=inst.n)
    assert np.all(load <= inst.capacity + 1e-9)
    assert s.objective == inst.cost[np.arange(inst.n), s.assignment].sum()


def brute_force(cost, demand, capacity, p, sites=None):
    """The optimum by enumeration of every choice of p sites (among ``sites``) and assignment."""
    n, m = cost.shape
    best = np.inf
    for centers in itertools.combinations(range(m) if sites is None else sites, p):
        for choice in itertools.product(range(p), repeat=n):
            a = np.asarray(centers)[list(choice)]
            if np.all(np.bincount(a, weights=demand, minlength=m) <= capacity + 1e-9):
                best = min(best, cost[np.arange(n), a].sum())
    return best


@pytest.mark.parametrize("seed", range(6))
def test_tiny_instances_match_enumeration(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 8))
    xy = rng.integers(0, 30, size=(n, 2))
    cost = np.floor(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    demand = rng.integers(1, 6, size=n).astype(float)
    capacity = float(np.ceil(demand.sum() * rng.uniform(0.55, 0.9)))
    s = solve_centers(cost, demand, capacity, 2, time_limit=30)
    assert s.objective == brute_force(cost, demand, np.full(n, capacity), 2)
    assert s.bound <= s.objective + 1e-9 and s.status == "optimal"


def test_no_lagrangian_step_still_proves_the_optimum():
    # With no subgradient step the Lagrangian bound is still −inf: the optimality test must
    # take it (it once rounded it up and raised OverflowError) and the rest still proves 713.
    inst = read_pmedcap(DATA / "pmedcap1_01.txt")
    s = solve_centers(inst.cost, inst.demand, inst.capacity, inst.p, max_iterations=0, time_limit=120)
    assert s.objective == 713 and s.bound == 713 and s.status == "optimal"


@functools.cache
def sites_instance():
    """12 accounts, 5 separate sites (site 1 not a candidate), capacity for 2.5 sites: the
    cost matrix, the demand and the optimum with 3 centers by enumeration."""
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 10, size=(12, 2))
    sites = rng.uniform(0, 10, size=(5, 2))
    cost = np.hypot(xy[:, None, 0] - sites[None, :, 0], xy[:, None, 1] - sites[None, :, 1])
    demand = rng.uniform(1, 3, size=12)
    return cost, demand, brute_force(cost, demand, np.full(5, demand.sum() / 2.5), 3, sites=[0, 2, 3, 4])


def test_candidates_restrict_the_centers_and_real_costs_keep_a_valid_bound():
    cost, demand, best = sites_instance()
    s = solve_centers(cost, demand, demand.sum() / 2.5, 3, candidates=[0, 2, 3, 4])
    assert 1 not in s.centers and len(s.centers) == 3
    assert s.objective == pytest.approx(best, rel=1e-6)
    assert s.bound <= best + 1e-6


def test_centers_choose_scenario_end_to_end(tmp_path):
    from territory_planner import plan

    rng = np.random.default_rng(5)
    n = 30
    accounts = pd.DataFrame({
        "account_id": [f"A{i:03d}" for i in range(n)],
        "name": [f"Account {i}" for i in range(n)],
        "segment": ["SMB"] * n,
        "x": rng.uniform(0, 100, n).round(2),
        "y": rng.uniform(0, 100, n).round(2),
        "potential": rng.integers(10, 100, n),
        "workload": rng.integers(5, 20, n),
    })
    reps = pd.DataFrame({"rep_id": ["R1"], "name": ["Placeholder"], "x": [50.0], "y": [50.0], "capacity_hours": [1000.0]})
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    reps.to_csv(tmp_path / "reps.csv", index=False)
    capacity = float(np.ceil(accounts["workload"].sum() / 3.5))
    (tmp_path / "s.yaml").write_text(textwrap.dedent(f"""
        name: choose
        geometry: planar
        data: {{accounts: accounts.csv, reps: reps.csv}}
        territories: {{centers: choose, count: 4, capacity: {capacity}}}
        solver: {{time_limit: 30}}
    """))
    result = plan(tmp_path / "s.yaml")
    t = result.territories
    assert list(t["territory_id"]) == ["T01", "T02", "T03", "T04"]
    assert "center_account_id" in t and t["center_account_id"].isin(accounts["account_id"]).all()
    assert len(result.assignments) == n and result.assignments["territory_id"].isin(t["territory_id"]).all()
    load = result.assignments.groupby("territory_id")["workload"].sum()
    assert (load <= capacity + 1e-9).all()
    centers = result.problem.meta["centers"]
    assert result.objective == pytest.approx(centers.objective)


# --------------------------------------------------------------------------- thousands of accounts (issue 7)


def _feasible(s, demand, capacity, p, open_ok=None):
    assert len(s.centers) == p and set(np.unique(s.assignment)) <= set(s.centers.tolist())
    if open_ok is not None:
        assert open_ok[s.centers].all()
    load = np.bincount(s.assignment, weights=demand, minlength=len(capacity))
    assert np.all(load <= capacity + 1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_large_path_meets_capacity_and_its_bound_is_below_the_enumerated_optimum(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(5, 8))
    xy = rng.uniform(0, 30, size=(n, 2))
    cost = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    demand = rng.integers(1, 6, size=n).astype(float)
    capacity = np.full(n, float(np.ceil(demand.sum() * rng.uniform(0.55, 0.9))))
    s = solve_centers(cost, demand, capacity, 2, time_limit=20, method="large")
    _feasible(s, demand, capacity, 2)
    best = brute_force(cost, demand, capacity, 2)
    assert s.objective == pytest.approx(cost[np.arange(n), s.assignment].sum())
    # A neighbourhood of two centers here is the whole problem, solved exactly.
    assert s.objective == pytest.approx(best, rel=1e-9)
    assert s.bound <= best + 1e-6


def test_large_path_with_separate_candidate_sites():
    cost, demand, best = sites_instance()
    capacity = np.full(5, demand.sum() / 2.5)
    s = solve_centers(cost, demand, capacity, 3, candidates=[0, 2, 3, 4], method="large", time_limit=20)
    _feasible(s, demand, capacity, 3, np.array([True, False, True, True, True]))
    assert s.objective == pytest.approx(best, rel=1e-6)
    assert s.bound <= best + 1e-6


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), per_site=st.integers(1, 6), scale=st.floats(0.0, 3.0))
def test_lagrangian_bound_with_short_site_lists_never_exceeds_the_optimum(seed, per_site, scale):
    # Short lists leave pairs out; λ is capped so that none of them could have counted.
    from territory_planner.optimize.centers_large import _Lagrangian

    rng = np.random.default_rng(seed)
    n = 6
    xy = rng.uniform(0, 20, size=(n, 2))
    cost = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    demand = rng.integers(1, 6, size=n).astype(float)
    capacity = np.full(n, float(np.ceil(demand.sum() * 0.6)))
    lag = _Lagrangian(cost, demand, capacity, 2, np.ones(n, bool), per_site)
    lam = np.minimum(rng.uniform(0, scale * cost.max() + 1e-9, n), lag.cap)
    value, _, opened = lag.value(lam)
    assert len(opened) == 2
    assert value <= brute_force(cost, demand, capacity, 2) + 1e-6
    assert lag.ascend(1e9, deadline=time.perf_counter() + 5, iterations=50) <= brute_force(cost, demand, capacity, 2) + 1e-6


def test_lagrangian_ascent_records_the_sites_it_opens_best_bound_first():
    # The seeds of the Lagrangian heuristic: every set is p allowed sites as cost-matrix
    # columns (a third of them closed: positions among the open sites would name some),
    # ordered by the best L(λ) at which the relaxation opened it, each L a valid bound;
    # without ``record`` nothing is kept.
    from territory_planner.optimize import centers_large as CL

    n = 60
    cost, demand, capacity = plane_instance(3, n, 3, 1.1)
    open_ok = np.ones(n, bool)
    open_ok[::3] = False
    candidates = np.flatnonzero(open_ok)
    exact = solve_centers(cost, demand, capacity, 3, candidates=candidates.tolist(), time_limit=60, method="exact")
    lag = CL._Lagrangian(cost, demand, capacity, 3, open_ok, per_site=n)
    bound = lag.ascend(exact.objective * 1.2, deadline=time.perf_counter() + 30, iterations=300, record=True)
    sets = lag.opened_sets()
    assert len(sets) >= 2
    assert all(len(s) == 3 and open_ok[s].all() for s in sets)
    values = [lag.opened[tuple(s.tolist())] for s in sets]
    assert values == sorted(values, reverse=True) and values[0] == pytest.approx(lag.best)
    assert all(v <= exact.objective + 1e-6 for v in values)  # each is L(λ) at some λ
    assert bound <= exact.objective + 1e-6
    quiet = CL._Lagrangian(cost, demand, capacity, 3, open_ok, per_site=n)
    quiet.ascend(exact.objective * 1.2, deadline=time.perf_counter() + 30, iterations=50)
    assert quiet.opened_sets() == []


@pytest.mark.parametrize("p", [3, 5])
def test_large_path_runs_the_lagrangian_heuristic_only_with_large_territories(p):
    # n = 80: 3 territories hold 20+ accounts on average (the heuristic tries site sets),
    # 5 do not (no heuristic). Either way the plan meets capacity, and the bound is below
    # the exact optimum, below the plan.
    import re

    from territory_planner.optimize import centers_large as CL

    n = 80
    cost, demand, capacity = plane_instance(5, n, p, 1.1)
    said = []
    s = CL.solve_centers_large(cost, demand, capacity, p, open_ok=np.ones(n, bool), time_limit=4, log=said.append)
    lines = [m for m in said if "Lagrangian heuristic" in m]
    if n >= CL.HEURISTIC_MIN_SIZE * p:
        assert len(lines) == 1
        tried = int(re.search(r"\((\d+) of", lines[0]).group(1))
        assert tried >= 1
    else:
        assert lines == []
    _feasible(s, demand, capacity, p)
    exact = solve_centers(cost, demand, capacity, p, time_limit=60, method="exact")
    assert s.bound <= exact.objective + 1e-6 <= s.objective + 2e-6


def plane_instance(seed: int, n: int, p: int, slack: float):
    """n accounts in a 100 × 100 square (Euclidean costs, demands 1–9), every account a
    site with capacity ``slack`` × the mean load of p centers."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n, 2))
    cost = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    demand = rng.integers(1, 10, size=n).astype(float)
    return cost, demand, np.full(n, float(np.ceil(demand.sum() / p * slack)))


def test_auto_takes_the_large_path_above_its_size():
    from territory_planner.optimize import centers as centers_module

    n = 40
    cost, demand, capacity = plane_instance(8, n, 4, 1.25)
    old = centers_module.LARGE_PAIRS
    try:
        centers_module.LARGE_PAIRS = n * n - 1
        s = solve_centers(cost, demand, capacity, 4, time_limit=20)
    finally:
        centers_module.LARGE_PAIRS = old
    assert s.backend.startswith("location-allocation")
    _feasible(s, demand, capacity, 4)
    exact = solve_centers(cost, demand, capacity, 4, time_limit=60, method="exact")
    assert s.bound <= exact.objective + 1e-6 <= s.objective + 2e-6


def test_large_path_with_small_territories_runs_the_exact_stage_and_proves_the_optimum():
    # 40 accounts, 8 centers: 5 accounts a territory, so the column and cut generation
    # runs from the search's plan; it settles the problem (the exact method's optimum).
    from territory_planner.optimize import centers_large as CL

    n, p = 40, 8
    cost, demand, capacity = plane_instance(12, n, p, 1.15)
    said = []
    s = CL.solve_centers_large(cost, demand, capacity, p, open_ok=np.ones(n, bool), time_limit=60, log=said.append)
    assert any("column and cut generation (optimal)" in line for line in said)
    assert "column and cut generation" in s.backend
    _feasible(s, demand, capacity, p)
    exact = solve_centers(cost, demand, capacity, p, time_limit=60, method="exact")
    assert exact.status == "optimal"
    assert s.status == "optimal"
    assert s.objective == pytest.approx(exact.objective, rel=1e-9)
    assert s.objective == pytest.approx(cost[np.arange(n), s.assignment].sum())
    assert s.bound <= exact.objective + 1e-6


def test_ctrl_c_in_the_exact_stage_stops_the_large_path_with_its_plan(monkeypatch):
    from territory_planner.optimize import centers_exact as centers_module
    from territory_planner.optimize import centers_large as CL

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(centers_module, "solve_partition", interrupted)
    n, p = 40, 8
    cost, demand, capacity = plane_instance(12, n, p, 1.15)
    said = []
    s = CL.solve_centers_large(cost, demand, capacity, p, open_ok=np.ones(n, bool), time_limit=60, log=said.append)
    assert s.status == "interrupted"
    assert any("column and cut generation (interrupted)" in line for line in said)
    assert not any("neighbourhood pass" in line for line in said)  # the search stopped there
    _feasible(s, demand, capacity, p)
    assert s.objective == pytest.approx(cost[np.arange(n), s.assignment].sum())


def test_exact_method_starts_from_a_given_plan_and_ignores_one_outside_the_candidates():
    n, p = 30, 4
    cost, demand, capacity = plane_instance(13, n, p, 1.2)
    best = solve_centers(cost, demand, capacity, p, time_limit=60, method="exact")
    # From the optimal plan, with no Lagrangian step: the plan stays, and is proven.
    # A poor start: each optimal territory served from its worst member instead.
    poor = best.assignment.copy()
    for c in np.unique(best.assignment):
        members = np.flatnonzero(best.assignment == c)
        poor[members] = members[np.argmax(cost[np.ix_(members, members)].sum(axis=0))]
    poor_cost = cost[np.arange(n), poor].sum()
    assert poor_cost > best.objective + 1
    seen = []
    s = solve_centers(cost, demand, capacity, p, time_limit=60, method="exact", start=poor,
                      progress=lambda objective, bound, seconds: seen.append(objective))
    assert seen[0] == pytest.approx(poor_cost)  # the first incumbent is the start
    assert s.objective == pytest.approx(best.objective) and s.status == "optimal"
    # A start that uses a site outside the candidates is not taken.
    allowed = np.ones(n, dtype=bool)
    allowed[np.unique(best.assignment)[0]] = False
    r = solve_centers(cost, demand, capacity, p, candidates=allowed, time_limit=60, method="exact", start=best.assignment)
    assert allowed[np.unique(r.assignment)].all()
    assert r.objective >= best.objective - 1e-6


def test_large_path_keeps_its_best_plan_on_ctrl_c():
    n = 60
    cost, demand, capacity = plane_instance(9, n, 6, 1.2)

    def stop(objective, bound, seconds):
        raise KeyboardInterrupt

    s = solve_centers(cost, demand, capacity, 6, time_limit=30, method="large", progress=stop)
    assert s.status == "interrupted"
    _feasible(s, demand, capacity, 6)
    assert s.objective == pytest.approx(cost[np.arange(n), s.assignment].sum())


def test_a_neighbourhood_keeps_its_centers_apart_from_the_others():
    # Center 5's own account is served elsewhere, so it is not among the group's accounts.
    from territory_planner.optimize.centers_moves import _neighbourhood_mip

    xy = np.array([[0, 0], [1, 0], [10, 0], [11, 0], [20, 0], [2, 0]], dtype=float)
    cost = np.abs(xy[:, None, 0] - xy[None, :, 0])
    demand = np.ones(6)
    capacity = np.full(6, 3.0)
    points = np.array([0, 1, 2, 3])
    current = np.array([5, 5, 2, 2])
    new = _neighbourhood_mip(cost, demand, capacity, np.ones(6, bool), points, current, 2, time_limit=10, seed=0,
                             same=True)
    assert new is not None and len(np.unique(new)) == 2
    assert cost[points, new].sum() <= cost[points, current].sum()
    # Account 3's site is a center serving other accounts: the group may not merge into it,
    # and it keeps exactly its two centers.
    new = _neighbourhood_mip(cost, demand, capacity, np.ones(6, bool), points, current, 2, time_limit=10, seed=0,
                             same=True, outside=np.array([3]))
    assert new is not None and 3 not in new and len(np.unique(new)) == 2


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(13, 40), st.integers(2, 12), st.sampled_from([True, False]),
       st.sampled_from([1.02, 1.1, 1.5, 2.0]), st.booleans())
def test_quick_allocation_keeps_capacity_and_every_center(seed, n, p, same, slack, fractional):
    """The fast allocation of the large path's start: within capacity, every account served,
    every center serving (its own account when sites are accounts), and no single shift to
    a center with room left that would lower the cost."""
    from territory_planner.optimize.centers_moves import quick_allocate

    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2))
    sites = xy if same else rng.random((n + 3, 2))
    cost = np.round(100 * np.hypot(*(xy[:, None, :] - sites[None, :, :]).transpose(2, 0, 1)), 3)
    demand = rng.uniform(0.5, 20, n) if fractional else rng.integers(1, 20, n).astype(float)
    capacity = np.full(len(sites), np.ceil(demand.sum() / p * slack))
    centers = np.sort(rng.choice(len(sites), p, replace=False))
    got = quick_allocate(cost, demand, capacity, centers, same)
    if got is None:
        return  # the caller falls back to the GAP MIP
    a, value = got
    assert value == pytest.approx(cost[np.arange(n), a].sum())
    assert set(np.unique(a)) == set(centers)
    load = np.bincount(a, weights=demand, minlength=len(sites))
    assert (load <= capacity + 1e-9).all()
    if same:
        assert (a[centers] == centers).all()
    room = capacity - load
    own = set(centers) if same else set()
    size = np.bincount(a, minlength=len(sites))
    for i in range(n):
        if i in own or size[a[i]] == 1:  # a center keeps its own account, and at least one
            continue
        better = [j for j in centers if cost[i, j] < cost[i, a[i]] - 1e-9 and room[j] >= demand[i]]
        # Shifts are searched among each account's nearest centers (ALLOCATION_SITES = 8).
        assert not better or p > 8


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("every_center_used", [False, True])
def test_allocation_mip_matches_enumeration(seed, every_center_used):
    # The GAP MIP both paths share: over every center, the optimum of all 3^n assignments;
    # over each account's nearest center only (widened while that has no plan), a plan
    # within capacity that is no better than it.
    from territory_planner.optimize.centers_base import allocate

    rng = np.random.default_rng(seed)
    n = 7
    xy = rng.random((n, 2)) * 10
    cost = np.round(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)), 2)
    demand = rng.integers(1, 6, size=n).astype(float)
    centers = np.sort(rng.choice(n, size=3, replace=False))
    capacity = np.full(n, float(np.ceil(demand.sum() / 2.5)))
    best = np.inf
    for choice in itertools.product(range(3), repeat=n):
        a = centers[list(choice)]
        load = np.bincount(a, weights=demand, minlength=n)
        if (load > capacity + 1e-9).any() or (every_center_used and len(set(choice)) < 3):
            continue
        best = min(best, cost[np.arange(n), a].sum())
    for per_account in (None, 1):
        a, value = allocate(cost, demand, capacity, centers, per_account=per_account, every_center_used=every_center_used)
        if not np.isfinite(best):
            assert a is None
            continue
        if per_account is None:
            assert value == pytest.approx(best, abs=1e-6)
        else:
            assert value >= best - 1e-6
        assert value == pytest.approx(cost[np.arange(n), a].sum())
        assert set(a) <= set(centers) and (not every_center_used or set(a) == set(centers))
        assert (np.bincount(a, weights=demand, minlength=n) <= capacity + 1e-9).all()
    if np.isfinite(best):
        # A cutoff above the optimum still finds it; at the optimum nothing cheaper exists.
        a, value = allocate(cost, demand, capacity, centers, every_center_used=every_center_used, cutoff=best + 0.5)
        assert value == pytest.approx(best, abs=1e-6)
        assert allocate(cost, demand, capacity, centers, every_center_used=every_center_used,
                        cutoff=best - 1e-6) == (None, np.inf)


def _pair_by_enumeration(cost, demand, capacity, points, sites, own):
    """The best two of ``sites`` for ``points`` and every split between them, by brute force."""
    best = np.inf
    for a, b in itertools.combinations(range(len(sites)), 2):
        for split in itertools.product([True, False], repeat=len(points)):
            in_a = np.array(split)
            if (own[a] >= 0 and not in_a[own[a]]) or (own[b] >= 0 and in_a[own[b]]):
                continue
            if demand[points][in_a].sum() > capacity[sites[a]] + 1e-9 or demand[points][~in_a].sum() > capacity[sites[b]] + 1e-9:
                continue
            best = min(best, cost[points, np.where(in_a, sites[a], sites[b])].sum())
    return best


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 8), st.sampled_from([True, False]), st.booleans(), st.floats(0.5, 0.95),
       st.booleans())
def test_pair_dp_matches_enumeration(seed, P, same, fractional, fill, metric):
    """The exact two-center move: the DP's plan is the enumerated optimum (integer demands)
    or a plan within capacity no better than it (fractional demands, rounded conservatively);
    a site that is one of the points serves its own account (which binds only when costs
    break the triangle inequality: a custom cost matrix)."""
    from territory_planner.optimize.centers_moves import _pair_weights, best_pair

    rng = np.random.default_rng(seed)
    n = P + 3
    xy = rng.random((n, 2))
    site_xy = xy if same else rng.random((6, 2))
    cost = np.round(100 * np.hypot(*(xy[:, None, :] - site_xy[None, :, :]).transpose(2, 0, 1)), 2)
    if not metric:
        cost = np.round(rng.uniform(1, 100, cost.shape), 2)
        if same:
            np.fill_diagonal(cost, 0.0)
    demand = rng.uniform(0.5, 9.5, n) if fractional else rng.integers(1, 10, n).astype(float)
    points = np.sort(rng.choice(n, P, replace=False))
    capacity = np.full(len(site_xy), np.ceil(demand[points].sum() / 2 / fill))
    if same:
        sites = points[: max(2, P - 2)]
        own = np.searchsorted(points, sites)
    else:
        sites = np.arange(len(site_xy))
        own = np.full(len(sites), -1)
    w, W = _pair_weights(demand, capacity)
    got = best_pair(cost, w, W, points, sites, own)
    exact = _pair_by_enumeration(cost, demand, capacity, points, sites, own)
    if got is None:
        assert fractional or not np.isfinite(exact)
        return
    value, sa, sb, in_a = got
    a = np.where(in_a, sa, sb)
    assert value == pytest.approx(cost[points, a].sum())
    assert demand[points][in_a].sum() <= capacity[sa] + 1e-9 and demand[points][~in_a].sum() <= capacity[sb] + 1e-9
    if same:
        assert all(a[k] == points[k] for k in range(P) if points[k] in (sa, sb))
    if fractional:
        assert value >= exact - 1e-9
    else:
        assert value == pytest.approx(exact)


def test_pair_dp_keeps_each_center_on_its_own_account_with_custom_costs():
    """With costs that break the triangle inequality, giving a center's own account away can
    pay (about 3% of these draws); the DP must still match the enumeration that forbids it."""
    from territory_planner.optimize.centers_moves import _pair_weights, best_pair

    for seed in range(150):
        rng = np.random.default_rng(seed)
        n, P = 9, 6
        cost = np.round(rng.uniform(1, 100, (n, n)), 2)
        np.fill_diagonal(cost, 0.0)
        demand = rng.integers(1, 10, n).astype(float)
        points = np.sort(rng.choice(n, P, replace=False))
        capacity = np.full(n, np.ceil(demand[points].sum() / 2 / 0.8))
        sites = points[:4]
        own = np.searchsorted(points, sites)
        w, W = _pair_weights(demand, capacity)
        got = best_pair(cost, w, W, points, sites, own)
        assert got is not None
        assert got[0] == pytest.approx(_pair_by_enumeration(cost, demand, capacity, points, sites, own))


def _random_start(seed, same, slack):
    """90 random accounts, 9 centers (among the accounts, or among 40 other sites), capacity
    ``slack`` × the mean load, and a greedy allocation to random centers: (cost, demand,
    capacity, p, assignment, its cost)."""
    from territory_planner.optimize.centers_moves import quick_allocate

    rng = np.random.default_rng(seed)
    n, p = 90, 9
    xy = rng.random((n, 2))
    site_xy = xy if same else rng.random((40, 2))
    cost = np.round(100 * np.hypot(*(xy[:, None, :] - site_xy[None, :, :]).transpose(2, 0, 1)), 3)
    demand = rng.integers(1, 20, n).astype(float)
    m = len(site_xy)
    capacity = np.full(m, np.ceil(demand.sum() / p * slack))
    start = None
    while start is None:
        start = quick_allocate(cost, demand, capacity, np.sort(rng.choice(m, p, replace=False)), same)
    return cost, demand, capacity, p, *start


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("same", [True, False])
def test_pair_moves_keep_every_constraint_and_leave_no_improving_pair(seed, same):
    """From the start allocation, pair moves never raise the cost, keep p centers within
    capacity (each serving its own account), and (sites are accounts) leave no territory and
    one of its nearest neighbours that the exact two-center move would still improve."""
    from territory_planner.optimize.centers_moves import (
        PAIR_NEIGHBOURS,
        _pair_weights,
        best_pair,
        pair_moves,
    )

    cost, demand, capacity, p, a0, v0 = _random_start(seed, same, 1.15)
    n, m = cost.shape
    a = pair_moves(cost, demand, capacity, np.ones(m, bool), a0, same, time.perf_counter() + 60, np.random.default_rng(0))
    value = cost[np.arange(n), a].sum()
    centers = np.unique(a)
    assert value < v0 - 1e-6  # a random start always leaves a move
    assert len(centers) == p
    assert (np.bincount(a, weights=demand, minlength=m) <= capacity + 1e-9).all()
    if not same:
        return
    assert (a[centers] == centers).all()
    w, W = _pair_weights(demand, capacity)
    anchor = np.argmin(cost, axis=0)
    for c in centers:
        near = centers[np.argsort(cost[anchor[c], centers], kind="stable")]
        for c2 in near[near != c][:PAIR_NEIGHBOURS]:
            points = np.flatnonzero((a == c) | (a == c2))
            got = best_pair(cost, w, W, points, points, np.arange(len(points)))
            assert got[0] >= cost[points, a[points]].sum() - 1e-6


def test_relocation_moves_move_a_center_to_the_region_that_needs_it():
    """Two regions far apart, each started with 6 of the 12 centers: a compact one that 3
    would serve and a spread one that needs more. Pair moves keep each region's count (every
    territory's nearest neighbours are in its own region); relocation moves take centers
    from the compact region to the spread one, lower the cost below what pair moves reach,
    and keep p centers within capacity, each serving its own account."""
    from territory_planner.optimize.centers_moves import (
        pair_moves,
        quick_allocate,
        relocation_moves,
    )

    rng = np.random.default_rng(3)
    xy = np.r_[rng.random((24, 2)) * 5, rng.random((24, 2)) * 100 + [1000, 0]]
    n, p = len(xy), 12
    cost = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    demand, capacity = np.ones(n), np.full(n, 8.0)
    start, _ = quick_allocate(cost, demand, capacity, np.r_[np.arange(0, 24, 4), np.arange(24, 48, 4)], True)
    ok = np.ones(n, bool)
    in_compact = lambda a: int((np.unique(a) < 24).sum())  # noqa: E731
    paired = pair_moves(cost, demand, capacity, ok, start, True, time.perf_counter() + 60, np.random.default_rng(0))
    moved = relocation_moves(cost, demand, capacity, ok, start, True, time.perf_counter() + 60, np.random.default_rng(0))
    value = lambda a: cost[np.arange(n), a].sum()  # noqa: E731
    assert in_compact(start) == in_compact(paired) == 6
    assert 3 <= in_compact(moved) < 6
    assert value(moved) < value(paired) - 1.0
    centers = np.unique(moved)
    assert len(centers) == p and (moved[centers] == centers).all()
    assert (np.bincount(moved, weights=demand, minlength=n) <= capacity).all()


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("same", [True, False])
def test_relocation_moves_keep_every_constraint(seed, same):
    """From a random start, relocation moves lower the cost (the pair moves that polish
    each candidate always find something there) and keep p distinct centers within
    capacity (each serving its own account when sites are accounts)."""
    from territory_planner.optimize.centers_moves import relocation_moves

    cost, demand, capacity, p, a0, v0 = _random_start(seed, same, 1.5)  # room to drop a center from 3 territories
    n, m = cost.shape
    a = relocation_moves(cost, demand, capacity, np.ones(m, bool), a0, same, time.perf_counter() + 60,
                         np.random.default_rng(0))
    centers = np.unique(a)
    assert cost[np.arange(n), a].sum() < v0 - 1e-6
    assert len(centers) == p
    assert (np.bincount(a, weights=demand, minlength=m) <= capacity + 1e-9).all()
    if same:
        assert (a[centers] == centers).all()
