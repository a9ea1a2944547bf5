"""Every figure a plan states is true, on every staged path (issue 24).

Each staged path (``centers: choose`` with and without balance bands, ``count: auto``,
units with contiguity, hierarchy, overlays, the large path) is planned on a tiny
instance whose optimum is found here by enumerating every plan, independently of the
solver: the reported bound must not exceed that optimum, ``optimal`` is said only of a
plan that attains it, and ``seconds`` covers every stage. Bands are checked from the
files a planner opens, and reps chosen for centers against every permutation.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from territory_planner import parse_scenario, plan, write_plan
from territory_planner.cli import app
from territory_planner.errors import ScenarioError

runner = CliRunner()
REL = 1e-7  # solvers prove optima to ~1e-9 relative; enumeration is exact


# --------------------------------------------------------------------------- enumeration


def every_plan(n: int, k: int) -> np.ndarray:
    """All k**n assignments of n units to k territories, one row each."""
    return np.array(list(itertools.product(range(k), repeat=n)), dtype=np.int64).reshape(-1, n)


def sums(plans: np.ndarray, values, k: int) -> np.ndarray:
    """(plans, k): Σ values over each territory of each plan."""
    values = np.asarray(values, float)
    return np.stack([np.where(plans == j, values, 0.0).sum(axis=1) for j in range(k)], axis=1)


def within(load: np.ndarray, target, tolerance: float) -> np.ndarray:
    """Plans whose every load is within ±tolerance of its target (1e-9 of the band width)."""
    target = np.asarray(target, float)
    slack = 1e-9 * 2 * tolerance * np.abs(target)
    return ((load >= (1 - tolerance) * target - slack) & (load <= (1 + tolerance) * target + slack)).all(axis=1)


def costs(plans: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Σ_i cost[i, plan_i] of each plan."""
    return cost[np.arange(cost.shape[0])[None, :], plans].sum(axis=1)


def distance(points, homes) -> np.ndarray:
    points, homes = np.asarray(points, float), np.asarray(homes, float)
    return np.hypot(points[:, None, 0] - homes[None, :, 0], points[:, None, 1] - homes[None, :, 1])


def check_figures(result, optimum: float, *, stages: int | None = None) -> None:
    """The contract of issue 24 against an optimum found by enumeration."""
    scale = max(1.0, abs(optimum))
    assert math.isfinite(optimum), "the instance must have a plan"
    assert result.bound <= optimum + REL * scale, (result.bound, optimum)
    assert result.objective >= optimum - REL * scale  # a returned plan is a feasible plan
    if result.status == "optimal":
        assert result.objective == pytest.approx(optimum, rel=result.scenario.solver.mip_gap + REL)
        assert result.gap <= result.scenario.solver.mip_gap + REL
    assert result.seconds >= sum(st.seconds for st in result.solution.stages)
    assert result.seconds <= result.scenario.solver.time_limit + 5.0  # stages share the limit
    summary = result.summary()
    assert summary["stages"] and all(set(st) == {"name", "seconds", "objective", "bound", "status"} for st in summary["stages"])
    if stages is not None:
        assert len(summary["stages"]) == stages, summary["stages"]
    if not math.isfinite(result.bound):
        assert summary["bound_from"] and result.status != "optimal"


def write(tmp_path: Path, name: str, frame: pd.DataFrame) -> str:
    frame.to_csv(tmp_path / name, index=False)
    return name


def scenario(tmp_path: Path, **keys):
    raw = {"name": "trust", "geometry": "planar", "objective": {"distance_weight": "none"},
           "solver": {"time_limit": 30, "mip_gap": 0.0}, **keys}
    return parse_scenario(raw, base_dir=tmp_path)


def planar_accounts(rng, n: int, *, segments=None) -> pd.DataFrame:
    frame = pd.DataFrame({
        "account_id": [f"A{i:02d}" for i in range(n)],
        "x": rng.integers(0, 40, n).astype(float), "y": rng.integers(0, 40, n).astype(float),
        "potential": rng.integers(10, 60, n).astype(float), "workload": rng.integers(2, 9, n).astype(float),
    })
    if segments is not None:
        frame["segment"] = segments
    return frame


# --------------------------------------------------------------------------- centers: choose


def choose_optimum(acc: pd.DataFrame, p: int, capacity: float, tolerance: float | None, centers=None) -> float:
    """Least total distance over every choice of p centers among the accounts (or the given
    ones) and every assignment within capacity and the potential band."""
    xy = acc[["x", "y"]].to_numpy(float)
    n = len(acc)
    plans = every_plan(n, p)
    best = math.inf
    for chosen in [centers] if centers is not None else itertools.combinations(range(n), p):
        cost = distance(xy, xy[list(chosen)])
        ok = (sums(plans, acc["workload"], p) <= capacity + 1e-9).all(axis=1)
        if tolerance is not None:
            ok &= within(sums(plans, acc["potential"], p), np.full(p, acc["potential"].sum() / p), tolerance)
        if ok.any():
            best = min(best, float(costs(plans[ok], cost).min()))
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("tolerance", [None, 0.15])
def test_centers_choose_figures_hold_for_the_whole_problem(tmp_path, seed, tolerance):
    rng = np.random.default_rng(seed)
    acc = planar_accounts(rng, 8)
    capacity = float(np.ceil(acc["workload"].sum() * 0.55))
    keys = {"data": {"accounts": write(tmp_path, "accounts.csv", acc)},
            "territories": {"centers": "choose", "count": 2, "capacity": capacity}}
    if tolerance is not None:
        keys["balance"] = {"potential": tolerance}
    result = plan(scenario(tmp_path, **keys))
    check_figures(result, choose_optimum(acc, 2, capacity, tolerance), stages=1 if tolerance is None else 2)
    assert result.solution.bound_from.startswith("choose centers")
    load = result.assignments.groupby("territory_id")["workload"].sum()
    assert (load <= capacity + 1e-9).all()


def test_balanced_centers_are_not_called_optimal_when_other_centers_do_better(tmp_path):
    """The p-median picks centers for distance and capacity; with tight bands other centers
    can do better, and the allocation's own bound (for the chosen centers) must not make
    the plan `optimal`."""
    for seed in range(40):
        rng = np.random.default_rng(seed)
        acc = planar_accounts(rng, 7)
        capacity = float(np.ceil(acc["workload"].sum() * 0.6))
        keys = {"data": {"accounts": write(tmp_path, "accounts.csv", acc)}, "balance": {"potential": 0.05},
                "territories": {"centers": "choose", "count": 2, "capacity": capacity}}
        whole = choose_optimum(acc, 2, capacity, 0.05)
        if not math.isfinite(whole):
            continue
        result = plan(scenario(tmp_path, **keys))
        ids = result.assignments["account_id"].tolist()
        chosen = [ids.index(c) for c in result.territories["center_account_id"]]
        on_chosen = choose_optimum(acc, 2, capacity, 0.05, centers=chosen)
        if on_chosen > whole * (1 + 1e-6):
            break
    else:
        pytest.fail("no seed where the p-median's centers are not the balanced optimum's")
    check_figures(result, whole, stages=2)
    assert result.objective >= on_chosen - 1e-6 * on_chosen  # the plan lives on the chosen centers
    assert result.status != "optimal" and result.gap > 0
    allocation = result.solution.stages[1]
    assert allocation.status == "optimal" and allocation.bound > whole  # its bound holds for its centers only


def test_choose_plans_from_accounts_alone_through_the_cli(tmp_path):
    rng = np.random.default_rng(7)
    acc = planar_accounts(rng, 40)
    acc.to_csv(tmp_path / "accounts.csv", index=False)
    capacity = float(np.ceil(acc["workload"].sum() / 3.6))
    (tmp_path / "s.yaml").write_text(
        "name: cpmp\ngeometry: planar\nobjective: {distance_weight: none}\n"
        "data: {accounts: accounts.csv}\n"
        f"territories: {{centers: choose, count: 4, capacity: {capacity}}}\nsolver: {{time_limit: 30}}\n")
    done = runner.invoke(app, ["plan", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert "distance units" in done.output and " km" not in done.output  # planar labels
    assert "seconds" in done.output and "whole run" in done.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["stages"][0]["name"].startswith("choose centers") and summary["bound_from"]
    assert summary["bound"] is None or summary["bound"] <= summary["objective"]
    territories = pd.read_csv(tmp_path / "out" / "territories.csv")
    assignments = pd.read_csv(tmp_path / "out" / "assignments.csv")
    assert len(territories) == 4 and territories["center_account_id"].isin(acc["account_id"]).all()
    assert (territories["rep_name"] == "(open)").all()
    load = assignments.merge(acc[["account_id"]], on="account_id").groupby("territory_id")["workload"].sum()
    assert (load <= capacity + 1e-9).all() and len(assignments) == len(acc)


def test_reps_are_seated_on_the_chosen_centers_at_least_total_relocation(tmp_path):
    rng = np.random.default_rng(11)
    acc = planar_accounts(rng, 30)
    reps = pd.DataFrame({"rep_id": ["R1", "R2", "R3"], "name": ["Ann <b>", "Bo", "Cy"],
                         "x": [0.0, 39.0, 20.0], "y": [0.0, 39.0, 5.0], "capacity_hours": [1.0] * 3})
    capacity = float(np.ceil(acc["workload"].sum() / 3.5))
    keys = {"data": {"accounts": write(tmp_path, "accounts.csv", acc), "reps": write(tmp_path, "reps.csv", reps)},
            "territories": {"centers": "choose", "count": 4, "capacity": capacity}}
    result = plan(scenario(tmp_path, **keys))
    t = result.territories
    centers = t[["home_x", "home_y"]].to_numpy(float)
    move = distance(reps[["x", "y"]], centers)
    brute = min(sum(move[r, c] for r, c in enumerate(seats)) for seats in itertools.permutations(range(4), 3))
    seated = t[t["rep_id"].isin(reps["rep_id"])]
    assert sorted(seated["rep_id"]) == ["R1", "R2", "R3"]  # each rep once, on one center
    assert seated["relocation_km"].sum() == pytest.approx(brute, rel=1e-12)
    for _, row in seated.iterrows():
        j = reps.index[reps["rep_id"] == row["rep_id"]][0]
        assert row["relocation_km"] == pytest.approx(np.hypot(*(reps.loc[j, ["x", "y"]].to_numpy(float) - row[["home_x", "home_y"]].to_numpy(float))))
        assert row["rep_name"] == reps.loc[j, "name"]
    open_seat = t[~t["rep_id"].isin(reps["rep_id"])]
    assert len(open_seat) == 1 and open_seat["rep_name"].iloc[0] == "(open)"
    assert (result.assignments.set_index("territory_id")["rep_id"].groupby(level=0).first()
            == t.set_index("territory_id")["rep_id"]).all()  # accounts carry their seated rep
    assert result.summary()["stages"][-1]["name"].startswith("seat the reps")
    assert result.summary()["reps_without_territory"] == []
    # The map shows who moves where, with the rep's name escaped.
    written = write_plan(result, tmp_path / "out")
    page = Path(written["map"]).read_text()
    assert "Rep moves" in page and "Ann \\u0026lt;b\\u0026gt; moves" in page and "Ann <b>" not in page


def test_choose_names_the_keys_it_does_not_take(tmp_path):
    rng = np.random.default_rng(3)
    acc = planar_accounts(rng, 12)
    keys = {"data": {"accounts": write(tmp_path, "accounts.csv", acc)}, "max_distance_km": 50,
            "territories": {"centers": "choose", "count": 2, "capacity": 1e6}}
    with pytest.raises(ScenarioError) as caught:
        plan(scenario(tmp_path, **keys))
    assert "max_distance_km" in str(caught.value) and "centers: reps" in str(caught.value)


def test_reps_centred_territories_still_need_a_reps_file(tmp_path):
    acc = planar_accounts(np.random.default_rng(0), 5)
    with pytest.raises(ScenarioError) as caught:
        scenario(tmp_path, data={"accounts": write(tmp_path, "accounts.csv", acc)})
    assert "data.reps" in str(caught.value)


# --------------------------------------------------------------------------- count: auto


def test_count_auto_figures_hold_for_the_whole_problem(tmp_path):
    """The two largest reps carry the workload but cannot split it within capacity, so the
    first attempt is proven infeasible and the second plans; the bound is the problem's."""
    rng = np.random.default_rng(4)
    acc = planar_accounts(rng, 7)
    acc["workload"] = [6.0, 6.0, 6.0, 6.0, 6.0, 3.0, 3.0]  # 36 hours
    reps = pd.DataFrame({"rep_id": ["R1", "R2", "R3", "R4"], "x": [5.0, 35.0, 20.0, 0.0], "y": [5.0, 35.0, 20.0, 39.0],
                         "capacity_hours": [20.0, 17.0, 14.0, 11.0]})
    keys = {"data": {"accounts": write(tmp_path, "accounts.csv", acc), "reps": write(tmp_path, "reps.csv", reps)},
            "territories": {"centers": "reps", "count": "auto"}}
    result = plan(scenario(tmp_path, **keys))
    # Enumerate: the fewest reps by capacity whose team has a plan, then its best plan.
    xy, homes = acc[["x", "y"]].to_numpy(float), reps[["x", "y"]].to_numpy(float)
    for k in range(1, 5):
        if reps["capacity_hours"].iloc[:k].sum() < acc["workload"].sum():
            continue
        plans = every_plan(len(acc), k)
        ok = (sums(plans, acc["workload"], k) <= reps["capacity_hours"].iloc[:k].to_numpy() + 1e-9).all(axis=1)
        if ok.any():
            optimum = float(costs(plans[ok], distance(xy, homes[:k])).min())
            break
    assert k == 3 and len(result.territories) == 3
    check_figures(result, optimum, stages=2)
    assert result.solution.stages[0].status == "infeasible" and result.status == "optimal"


# --------------------------------------------------------------------------- units + contiguity


def test_units_with_contiguity_figures_hold_for_the_whole_problem(tmp_path):
    rng = np.random.default_rng(6)
    cells = [(x, y) for y in range(3) for x in range(3)]
    features = [{"type": "Feature", "properties": {"unit_id": f"U{x}{y}"},
                 "geometry": shapely.geometry.mapping(shapely.box(x * 10, y * 10, x * 10 + 10, y * 10 + 10))}
                for x, y in cells]
    (tmp_path / "units.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    per_cell = 2
    xy = np.array([(x * 10 + rng.uniform(1, 9), y * 10 + rng.uniform(1, 9)) for x, y in cells for _ in range(per_cell)])
    unit_of = np.repeat(np.arange(len(cells)), per_cell)
    acc = pd.DataFrame({"account_id": [f"A{i:02d}" for i in range(len(xy))], "x": xy[:, 0].round(3), "y": xy[:, 1].round(3),
                        "potential": rng.integers(40, 60, len(xy)).astype(float), "workload": 1.0,
                        "unit_id": [f"U{cells[u][0]}{cells[u][1]}" for u in unit_of]})
    reps = pd.DataFrame({"rep_id": ["R1", "R2"], "x": [5.0, 25.0], "y": [5.0, 15.0], "capacity_hours": [1e6, 1e6]})
    keys = {"data": {"accounts": write(tmp_path, "accounts.csv", acc), "reps": write(tmp_path, "reps.csv", reps),
                     "units": "units.geojson"},
            "balance": {"potential": 0.25}, "contiguity": True}
    result = plan(scenario(tmp_path, **keys))
    # Enumerate unit plans: each territory connected (rook) and holding its rep's home cell.
    graph = nx.grid_2d_graph(3, 3)
    roots = [cells.index((0, 0)), cells.index((2, 1))]
    plans = every_plan(len(cells), 2)
    plans = plans[(plans[:, roots] == [0, 1]).all(axis=1)]
    connected = np.array([all(nx.is_connected(graph.subgraph([cells[u] for u in np.flatnonzero(p == j)])) for j in range(2))
                          for p in plans])
    unit_cost = np.zeros((len(cells), 2))
    np.add.at(unit_cost, unit_of, distance(acc[["x", "y"]], reps[["x", "y"]]))
    unit_potential = np.bincount(unit_of, weights=acc["potential"], minlength=len(cells))
    ok = connected & within(sums(plans, unit_potential, 2), np.full(2, unit_potential.sum() / 2), 0.25)
    check_figures(result, float(costs(plans[ok], unit_cost).min()))
    assert result.assignments.groupby("unit_id")["territory_id"].nunique().max() == 1  # accounts follow units


# --------------------------------------------------------------------------- hierarchy


def test_hierarchy_figures_hold_for_the_whole_problem(tmp_path):
    rng = np.random.default_rng(9)
    acc = planar_accounts(rng, 7)
    reps = pd.DataFrame({"rep_id": ["R1", "R2", "R3", "R4"], "x": [5.0, 10.0, 30.0, 35.0], "y": [5.0, 35.0, 5.0, 35.0],
                         "capacity_hours": [1e6] * 4, "region": ["W", "W", "E", "E"]})
    keys = {"data": {"accounts": write(tmp_path, "accounts.csv", acc), "reps": write(tmp_path, "reps.csv", reps)},
            "balance": {"potential": 0.6}, "hierarchy": {"levels": ["region"], "balance": {"potential": 0.1}}}
    result = plan(scenario(tmp_path, **keys))
    plans = every_plan(len(acc), 4)
    total = acc["potential"].sum()
    load = sums(plans, acc["potential"], 4)
    ok = within(load, np.full(4, total / 4), 0.6)
    ok &= within(np.stack([load[:, :2].sum(axis=1), load[:, 2:].sum(axis=1)], axis=1), [total / 2, total / 2], 0.1)
    check_figures(result, float(costs(plans[ok], distance(acc[["x", "y"]], reps[["x", "y"]])).min()))


# --------------------------------------------------------------------------- overlays


def test_overlay_figures_hold_for_the_whole_problem(tmp_path):
    """The whole problem is the main team's alignment plus the overlay team's: the plan's
    objective and bound are sums over both, every team's stages listed."""
    rng = np.random.default_rng(12)
    segments = ["Enterprise", "SMB", "Enterprise", "SMB", "SMB", "Enterprise", "Enterprise", "SMB"]
    acc = planar_accounts(rng, 8, segments=segments)
    reps = pd.DataFrame({"rep_id": ["R1", "R2", "S1", "S2"], "x": [5.0, 35.0, 20.0, 0.0], "y": [5.0, 30.0, 35.0, 20.0],
                         "capacity_hours": [1e6] * 4, "role": ["AE", "AE", "Specialist", "Specialist"]})
    keys = {"data": {"accounts": write(tmp_path, "accounts.csv", acc), "reps": write(tmp_path, "reps.csv", reps)},
            "balance": {"potential": 0.3},
            "overlays": [{"role": "Specialist", "segments": ["Enterprise"], "balance": {"potential": 0.2}}]}
    result = plan(scenario(tmp_path, **keys))

    def best(accounts, team, tolerance):
        plans = every_plan(len(accounts), 2)
        ok = within(sums(plans, accounts["potential"], 2), np.full(2, accounts["potential"].sum() / 2), tolerance)
        return float(costs(plans[ok], distance(accounts[["x", "y"]], team[["x", "y"]])).min())

    enterprise = acc[acc["segment"] == "Enterprise"].reset_index(drop=True)
    optimum = best(acc, reps.iloc[:2], 0.3) + best(enterprise, reps.iloc[2:], 0.2)
    check_figures(result, optimum, stages=2)
    names = [st["name"] for st in result.summary()["stages"]]
    assert names[0].startswith("main alignment") and names[1].startswith("overlay Specialist")


# --------------------------------------------------------------------------- large path


@pytest.mark.parametrize("seed", [0, 1])
def test_large_path_figures_hold_for_the_whole_problem(tmp_path, seed):
    rng = np.random.default_rng(20 + seed)
    acc = planar_accounts(rng, 8)
    reps = pd.DataFrame({"rep_id": ["R1", "R2", "R3"], "x": [5.0, 35.0, 20.0], "y": [5.0, 10.0, 35.0],
                         "capacity_hours": [float(np.ceil(acc["workload"].sum() * 0.4))] * 3})
    keys = {"data": {"accounts": write(tmp_path, "accounts.csv", acc), "reps": write(tmp_path, "reps.csv", reps)},
            "balance": {"potential": 0.2}, "solver": {"time_limit": 20, "mip_gap": 0.0, "method": "large"}}
    result = plan(scenario(tmp_path, **keys))
    plans = every_plan(len(acc), 3)
    ok = within(sums(plans, acc["potential"], 3), np.full(3, acc["potential"].sum() / 3), 0.2)
    ok &= (sums(plans, acc["workload"], 3) <= reps["capacity_hours"].to_numpy() + 1e-9).all(axis=1)
    check_figures(result, float(costs(plans[ok], distance(acc[["x", "y"]], reps[["x", "y"]])).min()))
    assert "large" in result.solution.stages[0].name


# --------------------------------------------------------------------------- bands at 1e-9 of their width


@given(k=st.integers(2, 12), per=st.integers(1, 40), scale=st.floats(1e-3, 1e9),
       tolerance=st.sampled_from([1e-6, 1e-5, 1e-3, 0.05, 0.5]), ratio=st.floats(0.0, 3.0), seed=st.integers(0, 2**16))
@settings(max_examples=200, deadline=None)
def test_the_verification_measures_a_band_on_its_own_width(k, per, scale, tolerance, ratio, seed):
    """A territory ``ratio`` band half-widths from its target breaks the band exactly when
    ratio > 1 (beyond 1e-9 of the width), however large the row's total and however many
    territories: the check that issue 24 found letting 0.0019% through a ±0.001% band."""
    from territory_planner.optimize.problem import AssignmentProblem, balance_band

    rng = np.random.default_rng(seed)
    assignment = np.repeat(np.arange(k), per)
    values = rng.uniform(0.5, 1.5, (k, per)) * scale
    values /= values.sum(axis=1, keepdims=True) / (scale * per)  # every territory at the mean
    deviation = ratio * tolerance * scale * per
    values[0, 0] += deviation * (k - 1) / k  # territory 0 above the mean by `deviation`,
    values[1, 0] -= deviation * (k - 1) / k  # territory 1 below it by as much
    values = values.ravel()
    load = np.bincount(assignment, weights=values, minlength=k)
    off = np.abs(load / (values.sum() / k) - 1).max() / tolerance  # the true ratio, after rounding
    problem = AssignmentProblem.from_cost_matrix(np.zeros((k * per, k)), bands=(balance_band("potential", values, k, tolerance),))
    broken = problem.violations(assignment)
    if off > 1 + 1e-6:
        assert broken and "balance of potential" in broken[0]
    elif off < 1 - 1e-6:
        assert not broken, broken


@pytest.mark.parametrize(("seed", "n", "k", "time_limit"), [(1, 40, 2, 5), (4, 40, 2, 5), (1, 30, 3, 2)])
def test_a_band_of_a_thousandth_of_a_percent_is_kept_or_no_plan_is_returned(tmp_path, seed, n, k, time_limit):
    """±0.001%: the plan written is inside the band, checked from the files against the
    input, or there is no plan (exit 2, nothing written); never a plan outside it."""
    rng = np.random.default_rng(seed)
    acc = pd.DataFrame({"account_id": [f"A{i:02d}" for i in range(n)],
                        "x": rng.uniform(0, 100, n).round(3), "y": rng.uniform(0, 100, n).round(3),
                        "potential": rng.lognormal(4, 0.6, n).round(4), "workload": 1.0})
    reps = pd.DataFrame({"rep_id": [f"R{j}" for j in range(k)], "x": rng.uniform(0, 100, k), "y": rng.uniform(0, 100, k),
                         "capacity_hours": [1e6] * k})
    acc.to_csv(tmp_path / "accounts.csv", index=False)
    reps.to_csv(tmp_path / "reps.csv", index=False)
    (tmp_path / "s.yaml").write_text(
        "name: band\ngeometry: planar\ndata: {accounts: accounts.csv, reps: reps.csv}\n"
        f"balance: {{potential: 0.00001}}\nsolver: {{time_limit: {time_limit}}}\n")
    out = tmp_path / "out"
    done = runner.invoke(app, ["plan", str(tmp_path / "s.yaml"), "--out", str(out), "--quiet"])
    if done.exit_code == 2:
        assert not out.exists() or not any(out.iterdir())
        assert "No plan" in done.output or "infeasible" in done.output.lower()
        return
    assert done.exit_code == 0, done.output
    assignments = pd.read_csv(out / "assignments.csv", dtype={"account_id": str})
    merged = assignments[["account_id", "rep_id"]].merge(acc[["account_id", "potential"]], on="account_id")
    assert len(merged) == n
    load = merged.groupby("rep_id")["potential"].sum().reindex(reps["rep_id"], fill_value=0.0)
    mean = acc["potential"].sum() / k
    width = 2 * 0.00001 * mean
    assert (np.abs(load - mean) <= 0.00001 * mean + 1e-9 * width).all(), (load - mean) / mean
