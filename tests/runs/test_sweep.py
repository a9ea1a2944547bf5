"""Sweeps on Dask: every point planned (or kept with its error), reused when unchanged, Ctrl-C clean.

Tiny scenarios (40 accounts × 4 reps, tests/test_cli.py's builders), each solved in well
under a second, on a 2-worker ``LocalCluster`` (processes) the module starts once; the
plans are checked against the input files, not against the planner's own tables.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from processes import alive, descendants
from test_cli import CAPACITY_HOURS, account_rows, haversine_km, make_scenario, rep_rows, runner

from territory_planner.cli import app
from territory_planner.errors import InputError
from territory_planner.runs.record import read_plan_table
from territory_planner.runs.store import RunStore
from territory_planner.runs.sweep import (
    Job,
    Outcome,
    _collect,
    plan_job,
    run_many,
    run_sweep,
    sweep_jobs,
)
from territory_planner.scenario import load_scenario
from territory_planner.scenario.sweep import expand_sweep

ROOT = Path(__file__).resolve().parents[2]
WORKLOAD_TOLERANCE = 0.10


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of 2 worker processes, as the CLI starts one; its address."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        yield lc.scheduler_address


def sweep_scenario(folder: Path, sweep: str, *, solver: str = "{time_limit: 20, mip_gap: 0}") -> Path:
    """The tiny scenario of tests/test_cli.py with a ``sweep:`` block."""
    path = make_scenario(folder)
    path.write_text(path.read_text(encoding="utf-8").replace("solver: {time_limit: 10}\n", f"solver: {solver}\n")
                    + f"sweep: {sweep}\n", encoding="utf-8")
    return path


def check_plan(run, tolerance: float, max_km: float) -> None:
    """The run's plan against the input files: one row per account, bands, capacity, max distance."""
    accounts = pd.DataFrame(account_rows()).set_index("account_id")
    reps = pd.DataFrame(rep_rows()).set_index("rep_id")
    plan = read_plan_table(run.folder / "assignments.csv")
    assert sorted(plan["account_id"]) == sorted(accounts.index) and plan["account_id"].is_unique
    ids = plan["account_id"]
    loads = accounts.loc[ids, ["potential", "workload"]].astype(float).groupby(plan["rep_id"].to_numpy()).sum()
    loads = loads.reindex(reps.index).fillna(0.0)
    for column, tol in (("potential", tolerance), ("workload", WORKLOAD_TOLERANCE)):
        mean = accounts[column].astype(float).sum() / len(reps)
        assert ((loads[column] - mean).abs() / mean <= tol + 1e-9).all(), (column, tol, loads[column].to_dict())
    assert (loads["workload"] <= CAPACITY_HOURS + 1e-9).all()
    a = accounts.loc[ids, ["lat", "lon"]].astype(float).to_numpy()
    r = reps.loc[plan["rep_id"], ["lat", "lon"]].astype(float).to_numpy()
    assert (haversine_km(a[:, 0], a[:, 1], r[:, 0], r[:, 1]) <= max_km + 1e-6).all()


def test_a_sweep_plans_every_point_and_keeps_the_infeasible_one_with_its_error(cluster, tmp_path):
    path = sweep_scenario(tmp_path / "in", "{balance.potential: [0.03, 0.08], max_distance_km: [500, 150, 5]}")
    scenario = load_scenario(path)
    store = RunStore(tmp_path / "runs")
    seen = []
    batch = run_sweep(scenario, store, scheduler=cluster, on_update=lambda t, o: seen.append((t, o)))

    assert [o.job.name for o in batch.outcomes] == [p.name for p in expand_sweep(scenario)]  # grid order
    assert len(batch.outcomes) == 6 and not batch.interrupted and batch.reused == 0
    assert seen[-1][0].finished == 6 and seen[-1][0].running == 0
    assert max(t.running for t, _ in seen) <= 2  # never more at once than the 2 workers
    stored = store.runs(group_id=batch.group_id)
    assert {r.id for r in stored} == {o.run.id for o in batch.outcomes} and len(stored) == 6
    assert all(r.kind == "sweep" for r in stored)
    for o in batch.outcomes:
        assert o.run.swept == o.job.swept and o.run.name == o.job.name
        if o.job.swept["max_distance_km"] == 5:  # no rep within 5 km of any account
            assert o.status == o.run.status == "infeasible" and not o.ok
            assert "max_distance_km" in o.run.error and (o.run.folder / "scenario.yaml").is_file()
            continue
        assert o.ok and o.run.status == "optimal"
        check_plan(o.run, o.job.swept["balance.potential"], o.job.swept["max_distance_km"])
        # Each run's solver threads were fixed so the 2 workers do not oversubscribe the cores.
        raw = yaml.safe_load((o.run.folder / "scenario.yaml").read_text(encoding="utf-8"))
        assert raw["solver"]["threads"] == max(1, (os.cpu_count() or 1) // 2)
    assert batch.ok and batch.run_seconds > 0

    again = run_sweep(scenario, store, scheduler=cluster)  # unchanged: the plans are reused
    assert again.reused == 4 and [o.job.name for o in again.outcomes] == [o.job.name for o in batch.outcomes]
    for before, after in zip(batch.outcomes, again.outcomes, strict=True):
        if before.ok:
            assert after.reused and after.run.id == before.run.id
        else:  # a run without a plan is tried again
            assert not after.reused and after.status == "infeasible" and after.run.id != before.run.id

    fresh = run_sweep(scenario, store, scheduler=cluster, fresh=True)
    assert fresh.reused == 0 and sum(o.ok for o in fresh.outcomes) == 4
    assert not {o.run.id for o in fresh.outcomes} & {o.run.id for o in batch.outcomes}


def test_a_point_whose_inputs_do_not_load_is_kept_before_anything_is_submitted(cluster, tmp_path):
    bad = "{rep_id: NEW9, city: Nowhere, state: ZZ}"
    new = "{rep_id: NEW1, lat: 41.0, lon: -74.0, capacity_hours: 400}"
    path = sweep_scenario(tmp_path / "in", f"{{changes.add_reps: [[], [{new}], [{bad}]]}}")
    store = RunStore(tmp_path / "runs")
    seen = []
    batch = run_sweep(load_scenario(path), store, scheduler=cluster, on_update=lambda t, o: seen.append((t, o)))
    first = next((t, o) for t, o in seen if o is not None)
    assert first[1].job.swept["changes.add_reps"][0]["rep_id"] == "NEW9" and first[0].running == 0
    statuses = [o.status for o in batch.outcomes]
    assert statuses[2] == "failed" and all(s == "optimal" for s in statuses[:2])
    assert "Nowhere" in batch.outcomes[2].run.error and batch.outcomes[2].run.run_key is not None
    with_new = read_plan_table(batch.outcomes[1].run.folder / "assignments.csv")
    assert "NEW1" in set(with_new["rep_id"])  # the added rep got a territory


def test_a_misspelt_sweep_key_is_bad_input_exit_1_and_nothing_is_kept(tmp_path):
    """``balance`` takes any column, so ``balance.potental`` parses; every point then fails to
    load its inputs. That is bad input (exit 1, the first error with its fix), not a sweep of
    failed runs (exit 2): nothing is stored, no cluster is started."""
    path = sweep_scenario(tmp_path / "in", "{balance.potental: [0.03, 0.05]}")
    store = tmp_path / "runs"
    result = runner.invoke(app, ["sweep", str(path), "--workers", "1", "--store", str(store), "--quiet"])
    assert result.exit_code == 1, result.output
    message = " ".join(result.stderr.split())
    assert "none of the 2 runs can load its inputs" in message and "did you mean 'potential'" in message
    assert RunStore(store).runs() == [] and not [p for p in store.iterdir() if p.is_dir()]
    # One scenario, no grid: the error as it is.
    one = sweep_scenario(tmp_path / "one", "{balance.potental: [0.03]}")
    with pytest.raises(InputError, match="potental") as info:
        run_sweep(load_scenario(one), RunStore(store))
    assert "none of" not in str(info.value) and RunStore(store).runs() == []


def test_errors_in_a_worker_come_back_as_failed_runs(tmp_path, monkeypatch):
    """plan_job returns an unexpected exception as data (with its traceback), and a task that
    could not run at all (a worker killed) is kept as failed: the sweep goes on."""
    import territory_planner.pipeline as pipeline

    scenario = load_scenario(make_scenario(tmp_path / "in"))

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(pipeline, "plan", broken)
    result = plan_job(scenario, None)
    assert result["status"] == "failed" and result["error"] == "ZeroDivisionError: a bug"
    assert "ZeroDivisionError" in result["traceback"]

    class Killed:
        def result(self):
            raise RuntimeError("KilledWorker: the worker died 3 times")

    store = RunStore(tmp_path / "runs")
    outcome = _collect(store, Killed(), Job("tiny[x=1]", scenario, {"x": 1}), "key", {}, "sweep-test")
    assert isinstance(outcome, Outcome) and outcome.status == "failed" and not outcome.ok
    assert store.get(outcome.run.id).error == "RuntimeError: KilledWorker: the worker died 3 times"


def test_the_sweep_command_tables_the_runs_and_exits_0_when_one_holds_a_plan(cluster, tmp_path):
    path = sweep_scenario(tmp_path / "in", "{balance.potential: [0.05, 0.08], max_distance_km: [500, 5]}")
    store = tmp_path / "runs"
    result = runner.invoke(app, ["sweep", str(path), "--scheduler", cluster, "--store", str(store), "--quiet"])
    assert result.exit_code == 0, result.output
    runs = RunStore(store).runs()
    assert len(runs) == 4 and len({r.group_id for r in runs}) == 1
    ok = [r for r in runs if r.ok]
    assert len(ok) == 2 and all(r.id in result.stdout for r in runs)
    compare = next(line for line in result.stdout.splitlines() if "territory-planner compare" in line)
    assert set(compare.split("compare ", 1)[1].split()) == {r.id for r in ok}
    assert "infeasible" in result.stdout and "2 of 4 runs hold a plan" in result.stdout

    again = runner.invoke(app, ["sweep", str(path), "--scheduler", cluster, "--store", str(store), "--quiet"])
    assert again.exit_code == 0 and "Reused 2 run(s)" in again.stderr
    # The reused runs keep the group that planned them: the message names them and says so.
    note = " ".join(again.stderr.split())
    group = next(r.group_id for r in RunStore(store).runs() if r.group_id != runs[0].group_id)
    assert all(r.id in note for r in ok) and f"runs list --group {group}' lists the 2 run(s) of this call" in note
    assert len(RunStore(store).runs(group_id=group)) == 2

    none = sweep_scenario(tmp_path / "none", "{max_distance_km: [5, 4]}")
    failed = runner.invoke(app, ["sweep", str(none), "--scheduler", cluster, "--store", str(store), "--quiet"])
    assert failed.exit_code == 2, failed.output  # no run holds a plan


def test_sweep_jobs_are_the_grid_in_order(tmp_path):
    path = sweep_scenario(tmp_path / "in", "{balance.potential: [0.03, 0.05], changes.add_reps: [[], [{rep_id: N, lat: 41, lon: -74}]]}")
    jobs = sweep_jobs(load_scenario(path))
    assert [j.swept["balance.potential"] for j in jobs] == [0.03, 0.03, 0.05, 0.05]  # the first key varies slowest
    assert [j.name for j in jobs] == [j.name for j in sweep_jobs(load_scenario(path))]
    assert all(j.kind == "sweep" for j in jobs)
    empty = run_many([], RunStore(tmp_path / "runs"))
    assert empty.outcomes == [] and not empty.ok and empty.workers == 0


def test_ctrl_c_cancels_the_sweep_and_keeps_the_finished_runs(tmp_path):
    """Two tiny runs finish, two demo runs (3,000 accounts, no gap allowed) are still solving
    when Ctrl-C comes: the CLI cancels them, keeps the two, says so and exits 130, and leaves
    no worker process behind."""
    demo = ROOT / "scenarios/demo"
    grid = (f"{{data: [{{accounts: accounts.csv, reps: reps.csv}}, {{accounts: {demo / 'accounts.csv'}, "
            f"reps: {demo / 'reps.csv'}}}], balance.potential: [0.05, 0.06]}}")
    path = sweep_scenario(tmp_path / "in", grid, solver="{time_limit: 300, mip_gap: 0}")
    store = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "territory_planner.cli", "sweep", str(path), "--workers", "2", "--store", str(store), "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "250"},
        # A terminal's foreground job has SIGINT at its default (a background job of a script does not).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 90
        while len(list(store.glob("*/run.json"))) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()
        assert len(list(store.glob("*/run.json"))) == 2
        time.sleep(1.0)  # the demo runs are solving now
        workers = descendants(proc.pid)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert time.monotonic() - started < 30
    assert "Stopped by Ctrl-C" in stderr and "kept the 2 finished run(s)" in stderr and "2 cancelled" in stderr
    runs = RunStore(store).runs()
    assert len(runs) == 2 and all(r.ok and r.status == "optimal" for r in runs)
    assert all("accounts.csv,reps=reps.csv" in r.name for r in runs)  # the tiny ones
    assert "cancelled" in stdout
    time.sleep(0.5)
    assert not [pid for pid in workers if alive(pid)], "a worker process outlived Ctrl-C"


def test_worker_threads_never_oversubscribe_the_cores():
    from territory_planner.runs.sweep import DaskBackend, machine_cores

    backend = DaskBackend(workers=2)
    backend.slots = 2
    assert backend.threads_per_run(8) == max(1, machine_cores() // 2)
    assert backend.threads_per_run(1) == machine_cores()  # one run left: it may use every core
    with pytest.raises(Exception, match="at least 1"):
        DaskBackend(workers=0)
    assert np.isfinite(machine_cores())
