"""Choosing centers: the capacitated p-median optimizer and the `centers: choose` scenario."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.readers import read_pmedcap
from territory_planner.optimize.centers import solve_centers

DATA = Path(__file__).parent / "data" / "cpmp_osman" / "instances"


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


def brute_force(cost, demand, capacity, p):
    n, m = cost.shape
    best = np.inf
    for centers in itertools.combinations(range(m), p):
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


def test_candidates_restrict_the_centers_and_real_costs_keep_a_valid_bound():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 10, size=(12, 2))
    sites = rng.uniform(0, 10, size=(5, 2))
    cost = np.hypot(xy[:, None, 0] - sites[None, :, 0], xy[:, None, 1] - sites[None, :, 1])
    demand = rng.uniform(1, 3, size=12)
    s = solve_centers(cost, demand, demand.sum() / 2.5, 3, candidates=[0, 2, 3, 4])
    assert 1 not in s.centers and len(s.centers) == 3
    best = np.inf
    for centers in itertools.combinations([0, 2, 3, 4], 3):
        for choice in itertools.product(range(3), repeat=12):
            a = np.asarray(centers)[list(choice)]
            if np.all(np.bincount(a, weights=demand, minlength=5) <= demand.sum() / 2.5 + 1e-9):
                best = min(best, cost[np.arange(12), a].sum())
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
