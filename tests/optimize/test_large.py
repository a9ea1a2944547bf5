"""The large-instance path (optimize/large.py): plans meet every constraint, bounds are valid.

Each check compares with the exact path on instances small enough to prove optimal, so
"the bound is ≤ the true optimum" is tested against a proven optimum, not assumed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territory_planner import plan
from territory_planner.data.geo import PairDistances, distance_matrix, haversine_km
from territory_planner.demo_data import generate_demo
from territory_planner.errors import ScenarioError
from territory_planner.optimize.large import LargeProblem, solve_large
from territory_planner.optimize.large_lagrangian import lagrangian_scan
from territory_planner.optimize.problem import AssignmentProblem, balance_band, capacity_band
from territory_planner.optimize.solve import solve_problem
from tests.model.test_constraints import accounts, reps, write_case


def demo_pair(seed: int, n: int, k: int, tol: float = 0.05, fixed=None, allowed=None):
    """The same demo instance as a dense AssignmentProblem and as a LargeProblem."""
    demo = generate_demo(seed=seed, n_accounts=n, n_reps=k)
    acc, team = demo.accounts, demo.reps
    a = acc[["lat", "lon"]].to_numpy(float)
    b = team[["lat", "lon"]].to_numpy(float)
    w = acc["workload"].to_numpy(float)
    bands = (balance_band("potential", acc["potential"].to_numpy(float), k, tol),
             capacity_band(w, team["capacity_hours"].to_numpy(float)))
    dense = AssignmentProblem.from_cost_matrix(distance_matrix(a, b) * w[:, None], bands=bands, fixed=fixed, allowed=allowed)
    d = PairDistances(a, b)
    large = LargeProblem(
        unit_ids=dense.unit_ids, territory_ids=dense.territory_ids,
        pair_cost=lambda r, c: w[r] * d[r, c], bands=bands, fixed=fixed,
        pair_allowed=None if allowed is None else (lambda r, c: allowed[r, c]),
    )
    return dense, large


@pytest.mark.parametrize("seed", [1, 2])
def test_large_path_plan_meets_every_band_and_its_bound_is_below_the_proven_optimum(seed):
    dense, large = demo_pair(seed, 300, 8)
    exact = solve_problem(dense, mip_gap=0.0, time_limit=60)
    assert exact.status == "optimal"
    got = solve_large(large, time_limit=30, mip_gap=1e-4, per_unit=3)
    # Every constraint, checked with the dense problem's own arithmetic.
    assert dense.violations(got.assignment) == []
    assert got.objective == pytest.approx(dense.objective(got.assignment))
    assert got.bound <= exact.objective + 1e-6 * exact.objective
    assert got.objective >= exact.objective - 1e-6 * exact.objective
    # The bound is the LP bound over *all* pairs, even though only 3 per unit started out.
    assert got.bound >= exact.bound * 0.98
    assert got.gap < 0.02


def test_locks_and_forbidden_pairs_hold_on_the_large_path():
    n, k = 200, 6
    rng = np.random.default_rng(4)
    allowed = rng.random((n, k)) > 0.3
    allowed[np.arange(n), rng.integers(0, k, n)] = True
    fixed = np.full(n, -1)
    locked = rng.choice(n, 10, replace=False)
    for i in locked:
        fixed[i] = int(np.flatnonzero(allowed[i])[-1])
    dense, large = demo_pair(3, n, k, tol=0.15, fixed=fixed, allowed=allowed)
    got = solve_large(large, time_limit=30, per_unit=3)
    a = got.assignment
    assert (a[locked] == fixed[locked]).all()
    assert allowed[np.arange(n), a].all()
    assert dense.violations(a) == []
    exact = solve_problem(dense, mip_gap=0.0, time_limit=60)
    assert got.bound <= exact.objective * (1 + 1e-9)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), spread=st.floats(0.0, 50.0))
def test_the_lagrangian_bound_never_exceeds_the_optimum_whatever_the_multipliers(seed, spread):
    dense, large = demo_pair(5, 60, 4, tol=0.2)
    optimum = solve_problem(dense, mip_gap=0.0, time_limit=30).objective
    y = np.random.default_rng(seed).normal(0.0, spread, size=(2, 4))
    y[1] = np.minimum(y[1], 0.0)  # capacity rows are ≤ rows: their multipliers are ≤ 0
    bound, _ = lagrangian_scan(large, y)
    assert bound <= optimum * (1 + 1e-9)


def test_pair_distances_match_the_dense_matrix():
    rng = np.random.default_rng(0)
    a = np.c_[rng.uniform(30, 45, 50), rng.uniform(-120, -75, 50)]
    b = np.c_[rng.uniform(30, 45, 7), rng.uniform(-120, -75, 7)]
    d = PairDistances(a, b)
    dense = distance_matrix(a, b)
    rows, cols = np.arange(50), rng.integers(0, 7, 50)
    np.testing.assert_allclose(d[rows, cols], dense[rows, cols])
    np.testing.assert_allclose(d[rows[:, None], np.arange(7)[None, :]], dense)
    assert d.shape == (50, 7)


def test_scenarios_choose_the_large_path_by_key_and_it_keeps_eligibility_and_locks(tmp_path):
    rows = accounts()
    rows[5]["locked_rep_id"] = "R3"
    eligibility = {"Enterprise AE": ["Enterprise"], "Account Executive": ["SMB", "Enterprise"]}
    path = write_case(tmp_path, rows, reps(), eligibility=eligibility, solver={"time_limit": 20, "method": "large"})
    result = plan(path)
    assert result.solution.backend == "large"
    got = result.assignments.set_index("account_id")
    assert got.loc["A005", "rep_id"] == "R3"
    role = {r["rep_id"]: r["role"] for r in reps()}
    assert all(seg in eligibility[role[rep]] for seg, rep in zip(got["segment"], got["rep_id"], strict=True))
    # Balance recomputed from the input rows, not from the plan's own table.
    source = pd.DataFrame(rows).set_index("account_id")
    potential = source.loc[got.index, "potential"].groupby(got["rep_id"].to_numpy()).sum()
    mean = source["potential"].sum() / 4
    assert (potential.sub(mean).abs() <= 0.25 * mean + 1e-6).all()
    # distance_km is computed pair by pair, the same as the dense path would.
    home = pd.DataFrame(reps()).set_index("rep_id").loc[got["rep_id"]]
    expected = haversine_km(got["lat"].to_numpy(), got["lon"].to_numpy(), home["lat"].to_numpy(), home["lon"].to_numpy())
    np.testing.assert_allclose(got["distance_km"].to_numpy(), expected)
    exact = plan(path, solver={"time_limit": 20, "method": "exact"})
    assert result.solution.bound <= exact.objective * (1 + 1e-9)


def test_asking_the_large_path_for_a_feature_it_lacks_names_the_key(tmp_path):
    path = write_case(tmp_path, accounts(), reps(), continuity={"min_kept": 0.5}, solver={"method": "large"})
    with pytest.raises(ScenarioError) as info:
        plan(path)
    assert "continuity.min_kept" in str(info.value) and "solver.method: exact" in str(info.value)


def test_ctrl_c_on_the_large_path_keeps_the_best_plan_found():
    dense, large = demo_pair(6, 600, 8)
    seen = []

    def stop_after_first_plan(objective, bound, seconds):
        seen.append(objective)
        raise KeyboardInterrupt  # what Ctrl-C raises in the main thread

    got = solve_large(large, time_limit=60, per_unit=3, progress=stop_after_first_plan)
    assert got.status == "interrupted" and len(seen) == 1
    assert dense.violations(got.assignment) == []
    assert got.objective == pytest.approx(seen[0])
    assert got.bound <= got.objective


def test_accounts_kept_out_of_the_lp_keep_an_allowed_territory(monkeypatch):
    # With locks and exclusions units have different numbers of candidates; the ones kept
    # out of the LP must still sit on a pair they may use.
    n, k = 200, 6
    rng = np.random.default_rng(4)
    allowed = rng.random((n, k)) > 0.3
    allowed[np.arange(n), rng.integers(0, k, n)] = True
    fixed = np.full(n, -1)
    fixed[:10] = [int(np.flatnonzero(allowed[i])[0]) for i in range(10)]
    dense, large = demo_pair(3, n, k, tol=0.15, fixed=fixed, allowed=allowed)
    import territory_planner.optimize.large as large_module

    kept_out = []
    real = large_module.interior_units

    def spy(*args, **kwargs):
        interior = real(*args, **kwargs)
        kept_out.append(int(interior.sum()))
        return interior

    monkeypatch.setattr(large_module, "interior_units", spy)
    got = solve_large(large, time_limit=30, per_unit=3, lp_units=50)  # above 50 units, some stay out of the LP
    assert kept_out and max(kept_out) > 0
    assert dense.violations(got.assignment) == []
    assert got.bound <= solve_problem(dense, mip_gap=0.0, time_limit=60).objective * (1 + 1e-9)


def test_a_band_that_needs_a_far_pair_is_not_called_infeasible():
    # Every unit's one candidate is territory 0 (cost 1); balance needs about half of them at
    # territory 1 (cost 3000): the slack is cheaper than those pairs until its price rises.
    n = 20
    cost = np.c_[np.ones(n), np.full(n, 3000.0)]
    band = balance_band("potential", np.ones(n), 2, 0.1)
    large = LargeProblem(unit_ids=np.array([f"u{i}" for i in range(n)]), territory_ids=np.array(["a", "b"]),
                         pair_cost=lambda r, c: np.broadcast_to(cost[r, c], np.broadcast_shapes(np.shape(r), np.shape(c))),
                         bands=(band,))
    got = solve_large(large, time_limit=20, per_unit=1, per_territory=0)
    assert large.violations(got.assignment) == []
    # ±10% of 10 allows 9 at the expensive territory: the optimum is 11 + 9 × 3000.
    assert list(np.bincount(got.assignment, minlength=2)) == [11, 9]
    assert got.objective == pytest.approx(11 + 9 * 3000)
    assert got.bound <= got.objective + 1e-6


def test_an_all_zero_cost_problem_is_planned():
    n, k = 40, 4
    band = balance_band("potential", np.arange(1, n + 1, dtype=float), k, 0.1)
    large = LargeProblem(unit_ids=np.array([f"u{i}" for i in range(n)]), territory_ids=np.array(list("abcd")),
                         pair_cost=lambda r, c: np.zeros(np.broadcast_shapes(np.shape(r), np.shape(c))), bands=(band,))
    got = solve_large(large, time_limit=20, per_unit=2)
    assert large.violations(got.assignment) == [] and got.objective == 0.0


def test_when_the_lp_does_not_finish_the_lagrangian_plan_is_repaired_into_a_plan(monkeypatch):
    import territory_planner.optimize.large_lp as large_lp

    monkeypatch.setattr(large_lp._RestrictedLP, "solve", lambda self, limit: ("time_limit", None, None, np.inf))
    dense, large = demo_pair(7, 400, 6, tol=0.1)
    got = solve_large(large, time_limit=30, per_unit=3)
    assert dense.violations(got.assignment) == []
    assert got.bound <= solve_problem(dense, mip_gap=0.0, time_limit=60).objective * (1 + 1e-9)


def test_planner_errors_survive_a_trip_between_processes():
    import pickle

    from territory_planner.errors import Conflict, Diagnosis, InfeasibleError, NoPlanFoundError

    for cls in (InfeasibleError, NoPlanFoundError):
        err = pickle.loads(pickle.dumps(cls(Diagnosis("no plan", [Conflict("balance", "too tight", "widen it")]))))
        assert isinstance(err, cls) and "too tight" in str(err) and err.diagnosis.conflicts[0].constraint == "balance"


def test_grouped_units_give_a_plan_of_the_units_and_a_bound_over_every_pair(monkeypatch):
    import territory_planner.optimize.large as large_module
    from territory_planner.optimize.large_aggregate import aggregate, unit_groups

    # Groups are formed above AGGREGATE_PAIRS; lowered here so a small instance takes the path.
    monkeypatch.setattr(large_module, "AGGREGATE_PAIRS", 1000)
    monkeypatch.setattr(large_module, "COARSE_GROUPS", 150)
    n, k = 1800, 6
    fixed = np.full(n, -1)
    fixed[[3, 40, 500]] = [0, 5, 2]
    dense, large = demo_pair(4, n, k, tol=0.08, fixed=fixed)
    group = unit_groups(large, 4)
    assert np.bincount(group).max() <= 4 and all(np.sum(group == group[i]) == 1 for i in (3, 40, 500))
    small = aggregate(large, group)
    # A group's cost and band values are its units' sums (locked units: their lock only).
    free_groups, free_units = np.flatnonzero(small.fixed < 0), np.flatnonzero(fixed < 0)
    assert np.allclose(small.pair_cost(free_groups[:, None], np.arange(k)[None, :]).sum(axis=0),
                       large.pair_cost(free_units[:, None], np.arange(k)[None, :]).sum(axis=0))
    assert np.allclose(small.bands[0].values.sum(), large.bands[0].values.sum())
    got = solve_large(large, time_limit=40, per_unit=3)
    assert any("groups" in line for line in got.log)
    assert dense.violations(got.assignment) == []
    assert list(got.assignment[[3, 40, 500]]) == [0, 5, 2]
    exact = solve_problem(dense, mip_gap=1e-6, time_limit=60)
    assert got.bound <= exact.objective + 1e-6 * exact.objective  # valid for the units, not only the groups
    assert got.objective >= exact.objective - 1e-6 * exact.objective


def test_coarse_multipliers_start_the_lp_of_a_problem_larger_than_its_lp(monkeypatch):
    import territory_planner.optimize.large as large_module

    monkeypatch.setattr(large_module, "COARSE_GROUPS", 200)
    dense, large = demo_pair(6, 1600, 6, tol=0.08)
    got = solve_large(large, time_limit=40, per_unit=3, lp_units=500, robust=True)
    assert any("coarse groups" in line for line in got.log)
    assert dense.violations(got.assignment) == []
    exact = solve_problem(dense, mip_gap=1e-6, time_limit=60)
    assert got.bound <= exact.objective * (1 + 1e-9) <= got.objective * (1 + 2e-9)
