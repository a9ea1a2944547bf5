"""The run store: runs kept whole, found again, reused when nothing changed, never half-written.

Tiny scenarios (40 accounts × 4 reps, tests/test_cli.py's builders) solved in about a second.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cli import account_rows, make_scenario, runner

from territory_planner import load_scenario, plan
from territory_planner.cli import app
from territory_planner.errors import InputError, ScenarioError
from territory_planner.outputs.files import FOLDER_MARK, write_folder
from territory_planner.outputs.report import PLAN_FILES
from territory_planner.runs.execute import open_plan, plan_stored
from territory_planner.runs.record import read_plan
from territory_planner.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """One tiny plan, solved once for the module, with a name Excel would run as a formula."""
    folder = tmp_path_factory.mktemp("tiny")
    rows = account_rows()
    rows[3]["name"] = "=HYPERLINK(\"http://x\")"
    rows[5]["account_id"] = "00123"  # an id that looks like a number stays text
    path = make_scenario(folder, accounts=rows)
    return path, plan(load_scenario(path))


def test_a_plan_read_back_from_its_run_is_the_plan(solved, tmp_path):
    _, result = solved
    store = RunStore(tmp_path / "runs")
    run = store.save_plan(result, key="k1")
    back = store.get(run.id).plan()
    pd.testing.assert_frame_equal(back.assignments[result.assignments.columns].reset_index(drop=True),
                                  result.assignments.reset_index(drop=True), check_dtype=False)
    assert back.assignments.loc[3, "name"] == "=HYPERLINK(\"http://x\")"  # the Excel escape undone
    assert "00123" in set(back.assignments["account_id"])
    assert (back.status, back.objective, back.bound) == (result.status, pytest.approx(result.objective),
                                                         pytest.approx(result.bound))
    assert back.kpis == pytest.approx(result.kpis)
    assert back.cost_label == result.cost_label
    assert np.array_equal(back.solution.assignment, result.solution.assignment)
    assert back.scenario.resolved(absolute=True) == result.scenario.resolved(absolute=True)
    # The index row carries the figures the list shows.
    assert (run.status, run.objective, run.gap) == (result.status, pytest.approx(result.objective),
                                                    pytest.approx(result.gap))
    assert run.kpis["potential_max_dev_pct"] == pytest.approx(result.kpis["potential_max_dev_pct"])
    assert {p.name for p in run.folder.iterdir()} >= {*PLAN_FILES, "run.json", "map.html"}


def test_the_stored_scenario_plans_the_same_from_anywhere(solved, tmp_path, monkeypatch):
    _, result = solved
    run = RunStore(tmp_path / "runs").save_plan(result)
    monkeypatch.chdir(tmp_path)  # another folder: the scenario's paths are absolute
    again = plan(read_plan(run.folder).scenario)
    assert again.objective == pytest.approx(result.objective, rel=1e-6)


def test_an_unchanged_scenario_returns_the_stored_run_and_one_changed_cell_plans_again(tmp_path):
    path = make_scenario(tmp_path / "s")
    store = RunStore(tmp_path / "runs")
    first = plan_stored(load_scenario(path), store)
    second = plan_stored(load_scenario(path), store)
    assert not first.reused and second.reused and second.run.id == first.run.id
    assert len(store.runs()) == 1
    fresh = plan_stored(load_scenario(path), store, fresh=True)
    assert not fresh.reused and fresh.run.id != first.run.id
    # One cell of the accounts file changes: a new run.
    accounts = tmp_path / "s" / "accounts.csv"
    frame = pd.read_csv(accounts, dtype=str)
    frame.loc[7, "potential"] = str(int(frame.loc[7, "potential"]) + 1)
    frame.to_csv(accounts, index=False)
    changed = plan_stored(load_scenario(path), store)
    assert not changed.reused and changed.run.id not in (first.run.id, fresh.run.id)
    assert len(store.runs()) == 3
    # A scenario key changes: a new run too (threads aside: where it ran is not what it plans).
    threads = plan_stored(load_scenario(path).with_overrides(solver={"threads": 1}), store)
    assert threads.reused
    tighter = plan_stored(load_scenario(path).with_overrides(balance={"potential": 0.04, "workload": 0.1}), store)
    assert not tighter.reused


def test_runs_are_found_by_id_prefix_label_and_name(solved, tmp_path):
    _, result = solved
    store = RunStore(tmp_path / "runs")
    a = store.save_plan(result, name="base")
    b = store.save_plan(result, name="base")
    assert store.get(b.id[:-1] if b.id[:-1] != a.id[:-1] else b.id).id == b.id
    assert store.get("base").id == b.id  # a name: its latest run
    store.label(a.id, "board-pick")
    assert store.get("board-pick").id == a.id
    with pytest.raises(ScenarioError, match="already run"):
        store.label(b.id, "board-pick")
    with pytest.raises(ScenarioError, match="ambiguous"):
        store.get("2")  # every id starts with the year
    with pytest.raises(ScenarioError, match="no run 'nope'"):
        store.get("nope")
    approved = store.approve(a.id, "Dana Lee")
    assert approved.approved and approved.approved_by == "Dana Lee" and approved.approved_at
    # Label and approval live in the index; the run's folder never changes.
    assert "label" not in json.loads((a.folder / "run.json").read_text())
    store.remove(b.id)
    assert not b.folder.exists() and [r.id for r in store.runs()] == [a.id]


def test_the_index_is_rebuilt_from_whole_run_folders(solved, tmp_path):
    _, result = solved
    store = RunStore(tmp_path / "runs")
    kept = store.save_plan(result, name="kept")
    gone = store.save_plan(result, name="gone")
    with sqlite3.connect(store.index) as db:  # a kill between the rename and the index row
        db.execute("DELETE FROM runs WHERE id = ?", (kept.id,))
    import shutil

    shutil.rmtree(gone.folder)  # a folder deleted by hand
    reopened = RunStore(tmp_path / "runs")
    assert [r.id for r in reopened.runs()] == [kept.id]
    assert reopened.get(kept.id).objective == pytest.approx(result.objective)


KILL_SCRIPT = textwrap.dedent("""
    import sys
    from territory_planner.runs.store import RunStore
    from territory_planner.outputs.files import write_folder
    files = {f"file{i}.txt": "x" * 1000 for i in range(6)}
    print("start", flush=True)
    if sys.argv[1] == "store":
        RunStore(sys.argv[2]).save(files, name="half", kind="plan", status="optimal", pause_between=0.4)
    else:
        write_folder(sys.argv[2], files, pause_between=0.4)
    print("done", flush=True)
""")


@pytest.mark.parametrize("where", ["store", "out"])
def test_a_kill_during_a_write_leaves_only_whole_runs(tmp_path, solved, where):
    """Killed between two files (a pause injected between them makes it certain), the store
    and an --out folder hold whole runs only: the old one, or nothing; never a part."""
    _, result = solved
    target = tmp_path / ("runs" if where == "store" else "out")
    if where == "store":
        before = RunStore(target).save_plan(result, name="before")
    else:
        write_folder(target, {"old.txt": "old"})
    child = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, where, str(target)], stdout=subprocess.PIPE,
                             text=True, cwd=ROOT)
    assert child.stdout.readline().strip() == "start"
    time.sleep(1.0)  # about two files into six
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    if where == "store":
        store = RunStore(target)
        assert [r.id for r in store.runs()] == [before.id]
        visible = [p for p in target.iterdir() if p.is_dir() and not p.name.startswith(".")]
        assert visible == [before.folder]
        assert any(p.name.startswith(".") and p.name.endswith(".tmp") for p in target.iterdir())  # the half-written one
        # The store still works, and the next run is whole.
        after = store.save({"a.txt": "a"}, name="after", kind="plan", status="optimal")
        assert (after.folder / "a.txt").read_text() == "a"
    else:
        assert sorted(p.name for p in target.iterdir()) == sorted([".territory_planner", "old.txt"])
        write_folder(target, {"new.txt": "new"})  # the next write replaces the folder whole
        assert sorted(p.name for p in target.iterdir()) == [".territory_planner", "new.txt"]
        assert not list(tmp_path.glob(".*.tmp"))


def test_an_output_folder_with_other_files_is_never_touched(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="holds files this program did not write"):
        write_folder(folder, {"a.csv": "x"})
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert not (folder / FOLDER_MARK).exists()


def test_open_plan_takes_a_run_a_folder_or_a_scenario(tmp_path):
    path = make_scenario(tmp_path / "s")
    store = RunStore(tmp_path / "runs")
    from_scenario, label = open_plan(str(path), store)
    assert label == "tiny" and len(store.runs()) == 1
    run = store.runs()[0]
    assert open_plan(run.id, store)[0].objective == pytest.approx(from_scenario.objective)
    assert open_plan(str(run.folder), store)[0].objective == pytest.approx(from_scenario.objective)
    with pytest.raises(ScenarioError, match="not a plan folder, run or scenario file"):
        open_plan(str(tmp_path / "s"), store)
    with pytest.raises(ScenarioError, match="no run"):
        open_plan("20991231", store)


def test_the_cli_keeps_every_plan_and_reuses_an_unchanged_one(tmp_path):
    path = make_scenario(tmp_path / "s")
    store = tmp_path / "store"
    first = runner.invoke(app, ["plan", str(path), "--store", str(store), "-q", "--out", str(tmp_path / "o1")])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["plan", str(path), "--store", str(store), "-q", "--out", str(tmp_path / "o2")])
    assert second.exit_code == 0, second.output
    assert "(reused)" in second.output
    for name in ("assignments.csv", "summary.json", "scenario.yaml"):
        assert (tmp_path / "o1" / name).read_bytes() == (tmp_path / "o2" / name).read_bytes()
    listing = runner.invoke(app, ["runs", "list", "--store", str(store)])
    assert listing.exit_code == 0 and listing.output.count("tiny") == 1
    run_id = RunStore(store).runs()[0].id
    assert run_id in listing.output
    assert runner.invoke(app, ["runs", "label", run_id, "pick", "--store", str(store)]).exit_code == 0
    approve = runner.invoke(app, ["runs", "approve", "pick", "--by", "Dana", "--store", str(store)])
    assert approve.exit_code == 0 and "approved by Dana" in approve.output
    show = runner.invoke(app, ["runs", "show", "pick", "--store", str(store)])
    assert show.exit_code == 0 and "Dana" in show.output and "potential_max_dev_pct" in show.output
    refused = runner.invoke(app, ["runs", "rm", "pick", "--yes", "--store", str(store)])
    assert refused.exit_code == 1 and "approved" in refused.output
    assert runner.invoke(app, ["runs", "rm", "pick", "--yes", "--force", "--store", str(store)]).exit_code == 0
    assert RunStore(store).runs() == []
    missing = runner.invoke(app, ["runs", "show", "pick", "--store", str(store)])
    assert missing.exit_code == 1 and "no run 'pick'" in missing.output


def test_the_default_store_is_runs_here_or_the_environment_s(tmp_path, monkeypatch):
    monkeypatch.delenv("TERRITORY_PLANNER_STORE")
    monkeypatch.chdir(tmp_path)
    assert RunStore().root == Path("runs") and (tmp_path / "runs" / "runs.sqlite").is_file()
    monkeypatch.setenv("TERRITORY_PLANNER_STORE", str(tmp_path / "elsewhere"))
    assert RunStore().root == tmp_path / "elsewhere"
    assert os.path.isfile(tmp_path / "elsewhere" / "runs.sqlite")


def test_output_folders_that_must_not_be_replaced_are_refused(solved, tmp_path, monkeypatch):
    _, result = solved
    store = RunStore(tmp_path / "runs")
    run = store.save_plan(result)
    before = sorted(p.name for p in run.folder.iterdir())
    for target in (run.folder, tmp_path / "runs" / "new-folder-in-the-store"):
        with pytest.raises(InputError, match="run of the run store"):
            write_folder(target, {"a.csv": "x"})
    assert sorted(p.name for p in run.folder.iterdir()) == before and store.get(run.id).ok
    monkeypatch.chdir(tmp_path / "runs")
    for target in (".", ".."):
        with pytest.raises(InputError, match="folder you are working in"):
            write_folder(target, {"a.csv": "x"})
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        write_folder(tmp_path / "afile", {"a.csv": "x"})


def test_a_broken_run_record_is_reported_not_fatal(solved, tmp_path):
    _, result = solved
    store = RunStore(tmp_path / "runs")
    good = store.save_plan(result)
    for name, text in (("20990101-000000-dead", "{"), ("20990101-000000-beef", "{}")):
        (tmp_path / "runs" / name).mkdir()
        (tmp_path / "runs" / name / "run.json").write_text(text)
    reopened = RunStore(tmp_path / "runs")
    assert [r.id for r in reopened.runs()] == [good.id]
    assert len(reopened.problems) == 2 and all("Fix:" in p for p in reopened.problems)
    assert "20990101-000000-dead" in reopened.problems[0] + reopened.problems[1]


def test_the_index_has_the_issue_s_columns_and_an_approved_flag(solved, tmp_path):
    _, result = solved
    store = RunStore(tmp_path / "runs")
    run = store.save_plan(result, name="demo", swept={"balance.potential": 0.03})
    store.approve(run.id, "Dana")
    with sqlite3.connect(store.index) as db:
        columns = {r[1] for r in db.execute("PRAGMA table_info(runs)")}
        approved, kpis = db.execute("SELECT approved, kpis FROM runs").fetchone()
    assert {"id", "name", "parent", "created_at", "status", "objective", "bound", "gap", "kpis", "seconds", "label",
            "approved"} <= columns
    assert approved == 1 and json.loads(kpis)["potential_max_dev_pct"] == pytest.approx(
        result.kpis["potential_max_dev_pct"])


def test_an_interrupted_latest_run_does_not_hide_an_earlier_whole_one(solved, tmp_path):
    _, result = solved
    store = RunStore(tmp_path / "runs")
    whole = store.save_plan(result, key="k")
    store.save({"a.txt": "a"}, name="tiny", kind="plan", status="interrupted", key="k")
    assert store.cached("k").id == whole.id


def test_two_processes_saving_at_once_keep_every_run(tmp_path):
    script = textwrap.dedent("""
        import sys
        from territory_planner.runs.store import RunStore
        store = RunStore(sys.argv[1])
        for i in range(15):
            store.save({"a.txt": str(i)}, name=f"p{sys.argv[2]}", kind="plan", status="optimal")
    """)
    children = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "runs"), str(k)], cwd=ROOT)
                for k in range(3)]
    assert all(c.wait(timeout=120) == 0 for c in children)
    runs = RunStore(tmp_path / "runs").runs()
    assert len(runs) == 45 and len({r.id for r in runs}) == 45
    assert all((r.folder / "a.txt").is_file() for r in runs)


def test_a_plan_folder_of_an_earlier_version_is_replaced_whole(tmp_path):
    """`make demo` again on a checkout whose out/demo predates the folder mark."""
    old = tmp_path / "demo"
    old.mkdir()
    for name in ("assignments.csv", "territories.csv", "summary.json", "map.html"):
        (old / name).write_text("old")
    write_folder(old, {"assignments.csv": "new"})
    assert sorted(p.name for p in old.iterdir()) == [".territory_planner", "assignments.csv"]
