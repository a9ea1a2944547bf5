"""The mid-year re-plan: the fewest moves the bands require, then the least travel; every move explained.

Tiny instances (40 accounts × 4 reps, tests/test_cli.py's builders). Minimality is checked
against an independent textbook MIP (pulp + CBC) of the same rules, not the planner's own.
"""

from __future__ import annotations

import pandas as pd
import pulp
import pytest
from test_cli import N_REPS, account_rows, csv_text, make_scenario, rep_rows, runner

from territory_planner import load_scenario, plan
from territory_planner.cli import app
from territory_planner.data.geo import distance_matrix
from territory_planner.errors import ScenarioError
from territory_planner.runs.record import read_plan
from territory_planner.runs.replan import read_changes, replan
from territory_planner.runs.store import RunStore
from territory_planner.scenario.changes import ChangesSpec


def base_plan(folder, *, balance=None, capacity_hours=400.0):
    path = make_scenario(folder, reps=rep_rows(capacity_hours=capacity_hours), balance=balance)
    return plan(load_scenario(path))


def textbook(result, *, max_moves: int | None = None) -> float:
    """The re-plan's rules as a plain MIP over its own inputs: with ``max_moves`` None, the
    fewest moves of accounts whose rep stays; else the least workload-weighted distance
    with at most that many such moves."""
    a = result.assignments
    t = result.territories
    reps = t["rep_id"].astype(str).tolist()
    n, k = len(a), len(reps)
    dist = distance_matrix(a[["lat", "lon"]].to_numpy(float), t[["home_lat", "home_lon"]].to_numpy(float))
    owner = [reps.index(r) if isinstance(r, str) and r in reps else -1 for r in a["current_rep_id"]]
    model = pulp.LpProblem("replan", pulp.LpMinimize)
    x = [[pulp.LpVariable(f"x_{i}_{j}", cat="Binary") for j in range(k)] for i in range(n)]
    moves = pulp.lpSum(1 - x[i][owner[i]] for i in range(n) if owner[i] >= 0)
    workload = a["workload"].to_numpy(float)
    if max_moves is None:
        model += moves
    else:
        model += pulp.lpSum(dist[i, j] * workload[i] * x[i][j] for i in range(n) for j in range(k))
        model += moves <= max_moves
    for i in range(n):
        model += pulp.lpSum(x[i]) == 1
    for column, tol in result.scenario.balance.items():
        values = a[column].to_numpy(float)
        mean = values.sum() / k
        for j in range(k):
            load = pulp.lpSum(values[i] * x[i][j] for i in range(n))
            model += load >= (1 - tol) * mean
            model += load <= (1 + tol) * mean
    capacity = t["capacity_hours"].to_numpy(float)
    for j in range(k):
        model += pulp.lpSum(workload[i] * x[i][j] for i in range(n)) <= capacity[j]
    assert model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=60)) == 1
    return float(pulp.value(model.objective))


def test_a_departed_rep_s_accounts_move_and_nobody_else_s_when_the_bands_allow(tmp_path):
    base = base_plan(tmp_path / "s", balance={})  # no bands: nothing forces another move
    outcome = replan(base, ChangesSpec(remove_reps=["R3"]))
    a = outcome.plan.assignments
    left = base.assignments.loc[base.assignments["rep_id"] == "R3", "account_id"]
    assert "R3" not in set(a["rep_id"])
    assert set(outcome.moves["account_id"]) == set(left)  # exactly those, every one
    assert (outcome.moves["reason"] == "rep R3 left").all()
    stayed = a[~a["account_id"].isin(left)]
    before = base.assignments.set_index("account_id")["rep_id"]
    assert (stayed["rep_id"].to_numpy() == before.loc[stayed["account_id"]].to_numpy()).all()
    # today's owner is the base plan's rep, kept in current_rep_id
    assert (a.set_index("account_id").loc[left, "current_rep_id"] == "R3").all()
    assert outcome.fewest_moves == 0 and outcome.forced_moves == len(left)


def test_the_fewest_moves_the_bands_require_then_the_least_travel(tmp_path):
    base = base_plan(tmp_path / "s", balance={"potential": 0.05})
    outcome = replan(base, ChangesSpec(remove_reps=["R3"]), time_limit=30)
    result = outcome.plan
    assert result.status == "optimal"
    # Every constraint holds: ±5% potential around the mean of the three territories.
    loads = result.assignments.groupby("rep_id")["potential"].sum()
    assert (loads.sub(loads.mean()).abs() <= 0.05 * loads.mean() + 1e-6).all()
    # The fewest moves of owned accounts equal the textbook MIP's, and the travel is its.
    owned_moves = outcome.moves[outcome.moves["from_rep_id"] != "R3"]
    assert len(owned_moves) == outcome.fewest_moves == round(textbook(result))
    assert result.objective == pytest.approx(textbook(result, max_moves=outcome.fewest_moves), rel=2e-3)
    assert owned_moves["reason"].str.startswith("required by the bands").all()


def test_a_new_rep_takes_the_fewest_accounts_that_fill_the_band(tmp_path):
    base = base_plan(tmp_path / "s", balance={"potential": 0.10})
    joins = {"rep_id": "NEW", "name": "Hire", "lat": 41.0, "lon": -74.0, "capacity_hours": 400, "status": "open"}
    outcome = replan(base, ChangesSpec.model_validate({"add_reps": [joins]}), time_limit=30)
    a = outcome.plan.assignments
    assert (a["rep_id"] == "NEW").any()
    assert len(outcome.moves) == outcome.fewest_moves == round(textbook(outcome.plan)) > 0
    assert outcome.moves["reason"].str.contains("NEW").all()
    assert "reps added: NEW" in " ".join(outcome.plan.notes)


def test_locks_hold_and_closed_and_new_accounts_are_handled(tmp_path):
    base = base_plan(tmp_path / "s", balance={"potential": 0.10})
    new = [{**row, "account_id": f"N{i}", "current_rep_id": ""} for i, row in enumerate(account_rows()[:3])]
    (tmp_path / "new.csv").write_text(csv_text(new), encoding="utf-8")
    changes = tmp_path / "changes.yaml"
    changes.write_text("remove_reps: [R1]\nexclude_accounts: [A000, A001]\nadd_accounts: new.csv\n"
                       "lock: {top: 5, by: potential}\n", encoding="utf-8")
    outcome = replan(base, read_changes(changes), time_limit=30)
    a = outcome.plan.assignments.set_index("account_id")
    assert {"A000", "A001"}.isdisjoint(a.index) and {"N0", "N1", "N2"} <= set(a.index)
    assert set(outcome.moves.loc[outcome.moves["account_id"].str.startswith("N"), "reason"]) == {"new account"}
    today = base.assignments.set_index("account_id")
    candidates = today[(today["rep_id"] != "R1") & ~today.index.isin(["A000", "A001"])]
    top = candidates.sort_values(["potential"], ascending=False, kind="stable").head(5).index
    assert (a.loc[top, "rep_id"] == today.loc[top, "rep_id"]).all()  # locked with today's owner


def test_a_replan_folder_plans_again_and_replans_from_itself(tmp_path):
    base = base_plan(tmp_path / "s", balance={"potential": 0.10}, capacity_hours=800.0)
    store = RunStore(tmp_path / "runs")
    first = replan(base, ChangesSpec(remove_reps=["R3"]))
    run = store.save(first.files(), name="re", kind="replan", status=first.plan.status, summary=first.plan.summary())
    back = read_plan(run.folder)
    assert (back.assignments["rep_id"] == first.plan.assignments["rep_id"]).all()
    assert set(back.assignments["current_rep_id"]) == set(base.assignments["rep_id"])
    # The folder's scenario reads its own accounts.csv and reps.csv: the same problem again.
    assert plan(back.scenario).objective == pytest.approx(first.plan.objective, rel=2e-3)
    again = replan(back, ChangesSpec(remove_reps=["R2"]))
    assert set(again.plan.assignments["rep_id"]) == {"R0", "R1"}
    # today's owners are the first re-plan's
    moved = again.moves.set_index("account_id")
    assert (moved["from_rep_id"] == back.assignments.set_index("account_id").loc[moved.index, "rep_id"]).all()


def test_bad_changes_are_clear_errors(tmp_path):
    base = base_plan(tmp_path / "s")
    changes = tmp_path / "changes.yaml"
    changes.write_text("remove_reps: [R1]\nadd_rep: [X]\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        read_changes(changes)
    assert info.value.row == 2 and "add_rep" in str(info.value) and "remove_reps" in info.value.fix
    with pytest.raises(ScenarioError, match="did you mean 'R1'"):
        replan(base, ChangesSpec(remove_reps=["R01"]))
    with pytest.raises(ScenarioError, match="leave no reps"):
        replan(base, ChangesSpec(remove_reps=[f"R{j}" for j in range(N_REPS)]))


def test_the_cli_replans_a_stored_run_keeps_it_and_reuses_it(tmp_path):
    path = make_scenario(tmp_path / "s")
    store = tmp_path / "runs"
    assert runner.invoke(app, ["plan", str(path), "--store", str(store), "-q"]).exit_code == 0
    base = RunStore(store).runs()[0]
    changes = tmp_path / "changes.yaml"
    changes.write_text("changes:\n  remove_reps: [R2]\n", encoding="utf-8")
    args = ["replan", base.id, "--changes", str(changes), "--store", str(store), "--out", str(tmp_path / "o"), "-q"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "rep R2 left" in first.output
    runs = RunStore(store).runs(kind="replan")
    assert len(runs) == 1 and runs[0].parent == base.id
    moves = pd.read_csv(tmp_path / "o" / "moves.csv", dtype=str)
    theirs = set(read_plan(base.folder).assignments.query("rep_id == 'R2'")["account_id"])
    assert set(moves.loc[moves["reason"] == "rep R2 left", "account_id"]) == theirs  # every one of them
    assert (moves.loc[moves["from_rep_id"] != "R2", "reason"].str.startswith("required by the bands")).all()
    second = runner.invoke(app, args[:-3] + ["-q"])
    assert second.exit_code == 0 and "(reused)" in second.output
    assert len(RunStore(store).runs(kind="replan")) == 1


def test_a_start_plan_is_never_worse_than_the_result(tmp_path):
    """plan(start=...) keeps a valid start as its first plan: even with almost no time the
    result is at least as good (re-plans and edits start from the plan in hand)."""
    path = make_scenario(tmp_path / "s", balance={"potential": 0.10})
    good = plan(load_scenario(path))
    start = dict(zip(good.assignments["account_id"], good.assignments["rep_id"], strict=True))
    quick = plan(load_scenario(path), start=start, solver={"time_limit": 0.05, "mip_gap": 0.001})
    assert quick.objective <= good.objective + 1e-6
    with pytest.raises(ScenarioError, match="start plan"):
        plan(load_scenario(path), start=start, territories={"centers": "choose", "count": 2, "capacity": 1000})


def test_the_base_scenario_s_own_continuity_and_changes_do_not_skew_the_re_plan(tmp_path):
    """A penalty per moved account in the base scenario must not inflate the first stage's
    bound (it would 'prove' a count it did not); the base's changes are already in its
    team, and the re-plan's folder plans and re-plans again."""
    rows = rep_rows(capacity_hours=800.0)
    path = make_scenario(tmp_path / "s", reps=rows, balance={"potential": 0.10})
    text = path.read_text() + ("continuity: {penalty: 500}\nchanges:\n  add_reps:\n"
                               "    - {rep_id: NEW0, lat: 41.5, lon: -74.5, capacity_hours: 800}\n")
    path.write_text(text)
    base = plan(load_scenario(path))
    assert "NEW0" in set(base.territories["rep_id"])
    outcome = replan(base, ChangesSpec(remove_reps=["R0"]), time_limit=30)
    first = outcome.plan.solution.stages[0]
    assert first.bound <= first.objective == outcome.fewest_moves
    assert outcome.fewest_moves == round(textbook(outcome.plan))
    store = RunStore(tmp_path / "runs")
    run = store.save(outcome.files(), name="re", kind="replan", status=outcome.plan.status,
                     summary=outcome.plan.summary())
    back = read_plan(run.folder)
    assert plan(back.scenario).objective == pytest.approx(outcome.plan.objective, rel=2e-3)
    again = replan(back, ChangesSpec(remove_reps=["NEW0"]))
    assert "NEW0" not in set(again.plan.assignments["rep_id"])


def test_an_interrupted_first_stage_returns_its_plan_and_says_so(tmp_path, monkeypatch):
    import territory_planner.runs.replan as module

    base = base_plan(tmp_path / "s", balance={"potential": 0.10})
    real = module.plan
    calls = []

    def first_stopped(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append(result)
        if len(calls) == 1:  # as if Ctrl-C stopped the fewest-moves stage
            from dataclasses import replace as dc_replace
            return dc_replace(result, solution=dc_replace(result.solution, status="interrupted"))
        return result

    monkeypatch.setattr(module, "plan", first_stopped)
    outcome = replan(base, ChangesSpec(remove_reps=["R3"]))
    assert len(calls) == 1 and outcome.plan.status == "interrupted"
    assert "stopped before the travel stage" in outcome.plan.cost_label
    assert "R3" not in set(outcome.plan.assignments["rep_id"])


def test_a_changes_file_names_its_mistakes(tmp_path):
    with pytest.raises(ScenarioError, match="changes file not found"):
        read_changes(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("remove_rep: [R1]\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        read_changes(bad)
    assert "unknown key 'remove_rep'" in str(info.value) and "did you mean 'remove_reps'" in info.value.fix


def test_an_interrupted_re_plan_is_never_reused(tmp_path):
    path = make_scenario(tmp_path / "s")
    store = tmp_path / "runs"
    assert runner.invoke(app, ["plan", str(path), "--store", str(store), "-q"]).exit_code == 0
    base = RunStore(store).runs()[0]
    changes = tmp_path / "changes.yaml"
    changes.write_text("remove_reps: [R2]\n", encoding="utf-8")
    args = ["replan", base.id, "--changes", str(changes), "--store", str(store), "-q"]
    assert runner.invoke(app, args).exit_code == 0
    import sqlite3

    with sqlite3.connect(store / "runs.sqlite") as db:
        db.execute("UPDATE runs SET status = 'interrupted' WHERE kind = 'replan'")
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "(reused)" not in again.output
    assert len(RunStore(store).runs(kind="replan")) == 2
