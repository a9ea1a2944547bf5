"""Regions ⊃ districts ⊃ territories: every level balanced on the returned plan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territory_planner import parse_scenario, plan
from territory_planner.errors import ScenarioError
from territory_planner.model.hierarchy import group_rows
from territory_planner.optimize.problem import AssignmentProblem, balance_band
from territory_planner.optimize.solve import solve_problem


def _write(tmp_path, n=160, k=8, seed=4):
    rng = np.random.default_rng(seed)
    accounts = pd.DataFrame({
        "account_id": [f"A{i:03d}" for i in range(n)],
        "lat": rng.uniform(30, 45, n), "lon": rng.uniform(-110, -75, n),
        "potential": rng.integers(50, 150, n).astype(float), "workload": rng.integers(5, 15, n).astype(float),
    })
    # Reps in the west belong to region W, in the east to E; two districts per region.
    lon = np.sort(rng.uniform(-110, -75, k))
    reps = pd.DataFrame({
        "rep_id": [f"R{j}" for j in range(k)], "lat": rng.uniform(32, 43, k), "lon": lon,
        "capacity_hours": [400.0] * k,
        "region": ["W"] * (k // 2) + ["E"] * (k - k // 2),
        "district": [f"D{j // 2}" for j in range(k)],
    })
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    reps.to_csv(tmp_path / "reps.csv", index=False)
    return accounts, reps


def _scenario(tmp_path, **extra):
    raw = {"name": "h", "data": {"accounts": "accounts.csv", "reps": "reps.csv"},
           "balance": {"potential": 0.25}, "solver": {"time_limit": 20, "mip_gap": 0.0}, **extra}
    return parse_scenario(raw, base_dir=tmp_path)


def test_every_level_is_balanced_on_the_returned_plan(tmp_path):
    accounts, reps = _write(tmp_path)
    hier = {"levels": ["region", "district"], "balance": {"potential": 0.02}}
    result = plan(_scenario(tmp_path, hierarchy=hier))
    merged = result.assignments[["account_id", "rep_id"]].merge(accounts, on="account_id").merge(reps, on="rep_id")
    total, k = accounts["potential"].sum(), len(reps)
    for level in ["region", "district"]:
        sizes = reps.groupby(level).size()
        loads = merged.groupby(level)["potential"].sum()
        fair = total * sizes / k
        assert (np.abs(loads / fair - 1) <= 0.02 + 1e-9).all(), level
        assert result.kpis[f"{level}_potential_max_dev_pct"] <= 2 + 1e-6
    free = plan(_scenario(tmp_path))
    assert result.objective >= free.objective - 1e-6  # nesting can only cost


def test_group_rows_match_brute_force():
    """Two groups of two territories: the hierarchy rows cut exactly the unbalanced plans."""
    import itertools

    rng = np.random.default_rng(2)
    n, k = 6, 4
    cost = rng.integers(1, 20, (n, k)).astype(float)
    values = rng.integers(1, 10, n).astype(float)
    row = group_rows(values, np.array(["a", "a", "b", "b"]), 0.1, label="region")
    problem = AssignmentProblem.from_cost_matrix(cost, bands=(balance_band("v", values, k, 0.9),), rows=(row,))
    best = min(
        (problem.objective(np.array(c)) for c in itertools.product(range(k), repeat=n) if not problem.violations(np.array(c))),
        default=None,
    )
    if best is None:
        pytest.skip("instance infeasible")
    s = solve_problem(problem, mip_gap=0.0)
    assert s.objective == pytest.approx(best)


def test_unknown_level_column_is_a_clear_error(tmp_path):
    _write(tmp_path)
    with pytest.raises(ScenarioError) as info:
        plan(_scenario(tmp_path, hierarchy={"levels": ["area"], "balance": {"potential": 0.05}}))
    assert "hierarchy level 'area' is not a column of the reps file" in str(info.value)
    assert "region" in str(info.value)  # lists what is there
