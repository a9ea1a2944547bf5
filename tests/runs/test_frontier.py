"""The trade-off frontier: ε-constraint points as runs, monotone when proven, frontier.csv round-trips.

Tiny scenarios (40 accounts × 4 reps, tests/test_cli.py's builders) solved to proven
optimality (mip_gap 0) on a 2-worker ``LocalCluster`` the module starts once.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
import yaml
from test_cli import make_scenario, runner

from territory_planner.cli import app
from territory_planner.runs.frontier import (
    balance_levels,
    disruption_levels,
    dominated,
    read_frontier,
    run_frontier,
    write_frontier,
)
from territory_planner.runs.record import read_plan_table
from territory_planner.runs.store import RunStore
from territory_planner.scenario import load_scenario


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        yield lc.scheduler_address


def exact_scenario(folder):
    path = make_scenario(folder)
    path.write_text(path.read_text(encoding="utf-8").replace("solver: {time_limit: 10}", "solver: {time_limit: 20, mip_gap: 0}"),
                    encoding="utf-8")
    return path


def test_the_disruption_frontier_is_monotone_when_proven_and_its_csv_round_trips(cluster, tmp_path):
    store = RunStore(tmp_path / "runs")
    frontier = run_frontier(load_scenario(exact_scenario(tmp_path / "in")), store, x="disruption", points=5,
                            by="accounts", scheduler=cluster)
    t = frontier.table
    assert len(t) == 5 and list(t["point"]) == [1, 2, 3, 4, 5]
    # The unconstrained end comes last; its kept share κ0 is where the steps from 100% stop.
    end = t.iloc[-1]
    assert math.isnan(end["min_kept"]) and end["status"] == "optimal"
    kappa0 = end["kept_share"]
    assert list(t["min_kept"].iloc[:-1]) == disruption_levels(kappa0, 5) and t["min_kept"].iloc[0] == 1.0
    # Keeping every account with today's owner breaks the balance: kept with its error, the frontier's end.
    first = t.iloc[0]
    assert first["status"] == "infeasible" and math.isnan(first["objective"])
    assert "continuity" in store.get(first["run_id"]).error
    proven = t[t["status"] == "optimal"]
    assert len(proven) == 4
    assert (proven["kept_share"] >= proven["min_kept"].fillna(0) - 1e-9).all()  # every floor holds
    assert list(proven["x"]) == pytest.approx(list(1 - proven["kept_share"]))
    # More kept with the owner never costs less travel (proven optima): monotone, none dominated.
    by_kept = proven.sort_values("kept_share")
    assert by_kept["objective"].is_monotonic_increasing and not proven["dominated"].any()
    runs = store.runs(group_id=frontier.group_id)
    assert len(runs) == 5 and {r.kind for r in runs} == {"frontier"} and frontier.ok

    written = write_frontier(frontier, tmp_path / "out")
    back = read_frontier(written["frontier.csv"])
    pd.testing.assert_frame_equal(back, t, check_dtype=False)
    svg = written["frontier.svg"].read_text(encoding="utf-8")
    assert "<svg" in svg and "trade-off frontier" in svg

    again = run_frontier(load_scenario(exact_scenario(tmp_path / "in")), store, points=5, scheduler=cluster)
    assert again.reused == 4  # the points with a plan; the infeasible one is tried again
    pd.testing.assert_frame_equal(again.table.drop(columns="run_id").iloc[1:], t.drop(columns="run_id").iloc[1:])


def test_the_balance_frontier_command_steps_the_band_tighter(cluster, tmp_path):
    path = exact_scenario(tmp_path / "in")
    out = tmp_path / "frontier"
    result = runner.invoke(app, ["frontier", str(path), "--x", "balance", "--points", "3", "--out", str(out),
                                 "--scheduler", cluster, "--store", str(tmp_path / "runs"), "--quiet"])
    assert result.exit_code == 0, result.output
    t = read_frontier(out / "frontier.csv")
    assert list(t["balance_tolerance"]) == pytest.approx([0.05 / 3, 0.10 / 3, 0.05], abs=1e-6)
    assert (t["status"] == "optimal").all()
    assert (t["potential_max_dev_pct"] <= t["balance_tolerance"] * 100 + 1e-7).all()
    assert t["objective"].is_monotonic_decreasing  # a looser band never costs more travel
    assert {p.name for p in out.iterdir()} >= {"frontier.csv", "frontier.svg"}
    assert "Frontier 'tiny'" in result.stdout and "territory-planner compare" in result.stdout


def test_the_frontier_of_a_scenario_with_a_move_penalty_is_travel_alone(cluster, tmp_path):
    """continuity.penalty adds a cost per account changing owner to the objective; on a
    frontier whose x axis is disruption, y = travel must not count it again. Each point
    (the unconstrained end, the ε points, a balance frontier's) is planned without it."""
    path = exact_scenario(tmp_path / "in")
    path.write_text(path.read_text(encoding="utf-8") + "continuity: {penalty: 5000, by: potential}\n", encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.continuity.penalty == 5000
    store = RunStore(tmp_path / "runs")
    for x, points in (("disruption", 3), ("balance", 2)):
        frontier = run_frontier(scenario, store, x=x, points=points, by="accounts", scheduler=cluster)
        assert "changing owner" not in frontier.objective_label, frontier.objective_label
        assert len(frontier.outcomes) == points
        for o in frontier.outcomes:
            tried = yaml.safe_load((o.run.folder / "scenario.yaml").read_text(encoding="utf-8"))
            assert tried.get("continuity", {}).get("penalty") is None, (x, o.job.name)
            if o.ok:  # the objective is Σ distance × workload, nothing added for the moves
                a = read_plan_table(o.run.folder / "assignments.csv")
                travel = float((a["distance_km"].astype(float) * a["workload"].astype(float)).sum())
                assert o.run.objective == pytest.approx(travel, rel=1e-6)
                assert (a["rep_id"] != a["current_rep_id"]).any()  # moves there were, and cost nothing
        assert sum(o.ok for o in frontier.outcomes) >= 2


def test_an_out_folder_the_frontier_may_not_replace_is_refused_before_planning(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes\n", encoding="utf-8")
    store = tmp_path / "runs"
    result = runner.invoke(app, ["frontier", str(exact_scenario(tmp_path / "in")), "--x", "balance", "--points", "2",
                                 "--out", str(out), "--workers", "1", "--store", str(store), "--quiet"])
    assert result.exit_code == 1, result.output
    assert "holds files this program did not write" in " ".join(result.stderr.split())
    assert not store.exists()  # refused before the store was opened, let alone a point planned
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("args, message", [
    (["--x", "cost"], "unknown --x 'cost'; choose among disruption"),
    (["--y", "balance"], "unknown --y 'balance'; choose among travel"),
    (["--by", "workload"], "unknown --by 'workload'; choose among accounts, potential"),
    (["--points", "1"], "--points must be at least 2"),
])
def test_unknown_axes_are_clear_errors(tmp_path, args, message):
    result = runner.invoke(app, ["frontier", str(tmp_path / "missing.yaml"), *args, "--store", str(tmp_path / "runs")])
    assert result.exit_code == 1 and message in result.stderr
    assert not (tmp_path / "runs").exists()  # refused before anything ran


def test_levels_and_dominance():
    assert disruption_levels(0.2, 5) == [1.0, 0.8, 0.6, 0.4]
    assert disruption_levels(1.0, 5) == []  # nobody moves anyway: the frontier is one point
    assert balance_levels(0.05, 4) == [0.0125, 0.025, 0.0375, 0.05]
    # A time-limited point (open gap) beaten by a looser one on both axes is flagged.
    table = pd.DataFrame({"x": [0.1, 0.2, 0.3, math.nan], "objective": [100.0, 105.0, 90.0, math.nan]})
    assert list(dominated(table)) == [False, True, False, False]
