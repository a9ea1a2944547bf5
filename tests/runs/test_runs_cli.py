"""``runs list`` and ``runs approve`` as a planner meets them: at 80 columns, with a broken
run folder in the store, in a shell where no user name is set.

No planning here: the runs are written with ``RunStore.save`` (what a sweep's client
does), so every test takes well under a second.
"""

from __future__ import annotations

import getpass

import pytest
from typer.testing import CliRunner

from territory_planner.cli import app
from territory_planner.runs.store import RunStore

KPIS = {"potential_max_dev_pct": 2.9876, "mean_distance_km": 1234.56, "accounts_moved_share": 0.1234}


def fill(store: RunStore) -> list:
    """Three runs as a sweep and a plan leave them: long names, swept values, one failure."""
    runs = [
        store.save({"scenario.yaml": "name: demo_sweep\n"}, name="demo_sweep[potential=0.03,add_reps=none]",
                   kind="sweep", status="optimal", summary={"objective": 10.0, "bound": 10.0, "gap": 0.0, "kpis": KPIS},
                   group_id="sweep-1", swept={"balance.potential": 0.03, "changes.add_reps": []}),
        store.save({"scenario.yaml": "name: demo_sweep\n"}, name="demo_sweep[potential=0.05,add_reps=TX-NEW1+TX-NEW2]",
                   kind="sweep", status="time_limit", group_id="sweep-1",
                   summary={"objective": 10.0, "bound": 9.9, "gap": 0.01, "kpis": {**KPIS, "accounts_moved_share": 0.25}},
                   swept={"balance.potential": 0.05, "changes.add_reps": ["TX-NEW1", "TX-NEW2"]}),
        store.save({"scenario.yaml": "name: demo\n"}, name="demo", kind="plan", status="infeasible",
                   error="balance potential ±1% cannot hold"),
    ]
    store.label(runs[1].id, "board-pick")
    store.approve(runs[1].id, "Dana Lee")
    return runs


def listing(store: RunStore, columns: int):
    result = CliRunner(env={"COLUMNS": str(columns)}).invoke(app, ["runs", "list", "--store", str(store.root)])
    assert result.exit_code == 0, result.output
    return result


def test_runs_list_is_readable_at_80_columns(tmp_path):
    store = RunStore(tmp_path / "runs")
    runs = fill(store)
    lines = listing(store, 80).stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    for run in runs:  # each id whole on one line, never folded letter by letter
        assert any(run.id in line for line in lines), (run.id, text)
    # What the list is for: the name, the swept values, status, gap and the key KPIs.
    assert "demo_sweep[" in text and "potential=0.05" in text
    assert any("add_reps=TX-NEW1+TX-NEW2" in line for line in lines)  # a swept value is never cut
    assert {"optimal", "time_limit", "infeasible", "1.000%", "2.99%", "1,234.6", "25.0%"} <= set(text.split())
    assert "label board-pick" in text and "✓ Dana" in text  # label and approval: a line of their own


def test_runs_list_gives_every_field_a_column_at_160(tmp_path):
    store = RunStore(tmp_path / "runs")
    runs = fill(store)
    lines = listing(store, 160).stdout.splitlines()
    assert max(len(line) for line in lines) <= 160
    header = next(line for line in lines if " id " in line)
    for column in ("name", "kind", "swept", "status", "gap", "pot. max dev", "mean km", "moved", "label", "approved"):
        assert column in header
    for run in runs:  # the id, its name, kind and status side by side
        row = next(line for line in lines if run.id in line)
        assert run.kind in row and run.status in row and run.name[:12] in row
    assert any("add_reps=TX-NEW1+TX-NEW2" in line for line in lines)  # a swept value is never cut


def test_runs_list_warns_of_run_folders_it_could_not_index(tmp_path):
    store = RunStore(tmp_path / "runs")
    good = fill(store)[0]
    broken = store.root / "20260101-000000-dead"
    broken.mkdir()
    (broken / "run.json").write_text("{not json", encoding="utf-8")
    result = listing(RunStore(store.root), 120)
    assert good.id in result.stdout
    warning = " ".join(result.stderr.split())
    assert "Warning:" in warning and "20260101-000000-dead" in warning and "Fix:" in warning


def test_approve_without_a_user_name_asks_for_by(tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs")
    run = fill(store)[0]

    def no_user():
        raise KeyError("getpwuid(): uid not found: 1234")  # a container without a passwd entry

    monkeypatch.setattr(getpass, "getuser", no_user)
    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(variable, raising=False)
    runner = CliRunner(env={"COLUMNS": "120"})
    refused = runner.invoke(app, ["runs", "approve", run.id, "--store", str(store.root)])
    assert refused.exit_code == 1 and "--by NAME" in refused.stderr, refused.output
    assert not isinstance(refused.exception, KeyError) and not store.get(run.id).approved

    monkeypatch.setenv("USERNAME", "dana")  # e.g. Windows' variable, set where getuser() still fails
    approved = runner.invoke(app, ["runs", "approve", run.id, "--store", str(store.root)])
    assert approved.exit_code == 0, approved.output
    assert store.get(run.id).approved_by == "dana"
    by = runner.invoke(app, ["runs", "approve", run.id, "--by", "Dana Lee", "--store", str(store.root)])
    assert by.exit_code == 0 and store.get(run.id).approved_by == "Dana Lee"


@pytest.mark.parametrize("columns", [80, 160])
def test_runs_list_of_an_empty_store_says_how_to_fill_it(tmp_path, columns):
    result = listing(RunStore(tmp_path / "runs"), columns)
    assert "No runs yet" in result.stdout and not result.stderr
