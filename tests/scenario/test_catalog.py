"""``scenarios list``: the scenario files of a folder as a tree of parents and variants.

Each variant sits under the file it extends and says what it changes against it (keys it
overrides, its ``changes:`` in words, its sweep's size); a parent in another folder is
listed too; a file that cannot be used is listed with its error instead of crashing the
listing. The shipped ``scenarios/`` folder is checked the same way: every variant loads,
is named after its file, describes itself, and the sweep expands into valid runs.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from territory_planner.cli import app
from territory_planner.errors import ScenarioError
from territory_planner.scenario import load_scenario
from territory_planner.scenario.catalog import overrides, scenario_tree, sweep_line
from territory_planner.scenario.sweep import expand_sweep

runner = CliRunner(env={"COLUMNS": "250"})
SHIPPED = Path(__file__).resolve().parents[2] / "scenarios"

BASE = """\
name: base
description: The whole team.
data: {accounts: a.csv, reps: r.csv}
balance: {potential: 0.05}
changes: {remove_reps: [R9]}
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def by_name(roots) -> dict:
    return {e.name: e for root in roots for e in root.walk()}


@pytest.fixture
def folder(tmp_path) -> Path:
    d = tmp_path / "scenarios"
    write(d, "base.yaml", BASE)
    write(d, "tight.yaml", """\
        extends: base.yaml
        description: ±3% balance.
        balance: {potential: 0.03}
        solver: {time_limit: 20}
        """)
    write(d, "tight_locked.yaml", """\
        extends: tight.yaml
        description: ±3% and the top 10 locked.
        changes: {lock: {top: 10}}
        """)
    write(d, "grid.yaml", """\
        extends: base.yaml
        changes:
          rep_pool: [{rep_id: N1, lat: 30, lon: -97}]
        sweep: {balance.potential: [0.02, 0.03, 0.05], changes.add_reps: [[], [N1]]}
        """)
    write(d, "other.yml", "name: other\ndata: {accounts: b.csv, reps: r.csv}\n")
    return d


def test_variants_sit_under_their_parent(folder):
    roots = scenario_tree(folder)
    assert [r.name for r in roots] == ["base", "other"]
    base = roots[0]
    assert [c.name for c in base.children] == ["grid", "tight"]
    assert [c.name for c in base.children[1].children] == ["tight_locked"]
    assert base.description == "The whole team." and base.error is None
    assert base.changes == ["reps leave: R9"]  # a root has no keys to override, but says its own changes


def test_each_variant_says_what_it_changes_against_its_parent(folder):
    e = by_name(scenario_tree(folder))
    assert e["tight"].changes == ["balance.potential: 0.03", "solver.time_limit: 20"]
    # The lock is new; the departure of R9 is the parent's and not repeated.
    assert e["tight_locked"].changes == ["top 10 accounts by potential stay with today's owner"]
    assert e["grid"].changes == ["sweep: 6 runs (balance.potential × changes.add_reps)"]


def test_overrides_are_flattened_and_values_kept_short():
    assert overrides({"balance": {"potential": 0.03}, "overlays": [], "name": "x", "changes": {"lock": {"top": 3}},
                      "continuity": None, "eligibility": {"AE": ["SMB", "Mid-Market"]}}) == [
        "balance.potential: 0.03", "overlays: []", "continuity: default", "eligibility.AE: [SMB, Mid-Market]"]
    long = overrides({"description_of_ids": {"ids": [f"A{i:04d}" for i in range(100)]}})[0]
    assert len(long) < 120 and long.endswith("…")
    assert sweep_line(None) is None and sweep_line({"a.b": [1]}) == "sweep: 1 run (a.b)"


def test_a_parent_in_another_folder_is_listed_and_marked(tmp_path):
    write(tmp_path / "shared", "company.yaml", BASE)
    d = write(tmp_path / "west", "west.yaml", "extends: ../shared/company.yaml\nbalance: {potential: 0.1}\n").parent
    roots = scenario_tree(d)
    assert len(roots) == 1 and roots[0].outside and roots[0].name == "base"
    assert [c.name for c in roots[0].children] == ["west"] and not roots[0].children[0].outside


def test_files_that_cannot_be_used_are_listed_with_their_error(folder):
    write(folder, "typo.yaml", "extends: base.yaml\nbalanse: {potential: 0.1}\n")
    write(folder, "orphan.yaml", "extends: gone.yaml\ndescription: Lost.\n")
    write(folder, "loop_a.yaml", "extends: loop_b.yaml\n")
    write(folder, "loop_b.yaml", "extends: loop_a.yaml\n")
    write(folder, "broken.yaml", "name: broken\ndata: {accounts: a.csv\n")
    write(folder, "list.yaml", "- just\n- a list\n")
    roots = scenario_tree(folder)
    e = by_name(roots)
    assert "did you mean 'balance'" in e["typo"].error and e["typo"] in e["base"].children  # in place under its parent
    assert "does not exist" in e["orphan"].error and e["orphan"].description == "Lost." and e["orphan"] in roots
    assert "cycle" in e["loop_a"].error and "cycle" in e["loop_b"].error
    assert e["loop_a"] in roots and e["loop_b"] in roots  # a cycle has no top: both listed at the top
    assert "not valid YAML" in e["broken"].error and "YAML mapping" in e["list"].error
    assert not e["tight"].error


def test_a_broken_parent_keeps_its_variants_under_it(tmp_path):
    d = tmp_path / "s"
    write(d, "base.yaml", BASE + "solver: {time_limt: 3}\n")
    write(d, "v.yaml", "extends: base.yaml\n")
    [root] = scenario_tree(d)
    assert "time_limt" in root.error and [c.name for c in root.children] == ["v"] and "time_limt" in root.children[0].error


def test_not_a_folder_is_an_error(tmp_path):
    with pytest.raises(ScenarioError, match="not a folder"):
        scenario_tree(tmp_path / "nope")


# --- The command ------------------------------------------------------------------------------


def test_the_command_prints_the_tree(folder):
    write(folder, "typo.yaml", "extends: base.yaml\nbalanse: {potential: 0.1}\n")
    out = runner.invoke(app, ["scenarios", "list", str(folder)])
    assert out.exit_code == 0, out.output
    text = out.output
    for words in ("base", "base.yaml", "The whole team.", "tight_locked", "±3% and the top 10 locked.",
                  "balance.potential: 0.03", "sweep: 6 runs", "top 10 accounts by potential", "cannot be used",
                  "did you mean 'balance'", "6 scenario files, 1 with errors"):
        assert words in text, words
    lines = text.splitlines()
    row = {name: next(i for i, line in enumerate(lines) if f" {name}  " in line) for name in ("base", "tight", "tight_locked")}
    indent = {name: lines[i].index(name) for name, i in row.items()}
    assert indent["base"] < indent["tight"] < indent["tight_locked"]  # the tree: parent → variant → its variant


def test_user_text_is_printed_as_written_not_as_markup(tmp_path):
    d = tmp_path / "s"
    write(d, "base.yaml", "name: '[bold]x[/]'\ndescription: 'Split [red] and [/] by hand'\ndata: {accounts: a.csv, reps: r.csv}\n")
    write(d, "[v].yaml", "extends: base.yaml\nbalance: {'[b]': 0.1}\n")
    out = runner.invoke(app, ["scenarios", "list", str(d)])
    assert out.exit_code == 0, out.output
    assert "[bold]x[/]" in out.output and "Split [red] and [/] by hand" in out.output
    assert "[v].yaml" in out.output and "balance.[b]: 0.1" in out.output


def test_the_default_folder_is_scenarios(folder, monkeypatch):
    monkeypatch.chdir(folder.parent)
    out = runner.invoke(app, ["scenarios", "list"])
    assert out.exit_code == 0 and "tight_locked" in out.output


def test_an_empty_folder_and_a_missing_one(tmp_path):
    (tmp_path / "empty").mkdir()
    out = runner.invoke(app, ["scenarios", "list", str(tmp_path / "empty")])
    assert out.exit_code == 0 and "No scenario files" in out.output
    out = runner.invoke(app, ["scenarios", "list", str(tmp_path / "missing")])
    assert out.exit_code == 1 and "not a folder" in out.output


# --- The shipped scenarios ----------------------------------------------------------------------

VARIANTS = ["balance_3pct", "continuity_90", "demo_potential", "demo_sweep", "lock_top50", "rep_leaves", "tx_two_more"]


def test_the_shipped_variants_extend_the_demo_and_load():
    e = by_name(scenario_tree(SHIPPED))
    demo = load_scenario(SHIPPED / "demo.yaml")
    assert not [name for name, entry in e.items() if entry.error]
    assert set(VARIANTS) <= {c.name for c in e["demo"].children}
    for name in VARIANTS:
        variant = e[name]
        assert variant.path.stem == name and variant.scenario.name == name
        assert variant.description and variant.changes
        # Compared with the demo on the same search time: a variant's effect is not confounded
        # with a shorter solve (the sweep's runs share their own limit).
        assert variant.scenario.solver.time_limit == (20 if name == "demo_sweep" else demo.solver.time_limit)
    assert e["balance_3pct"].scenario.balance == {**demo.balance, "potential": 0.03}
    assert e["continuity_90"].scenario.continuity.min_kept == 0.9
    assert e["lock_top50"].scenario.changes.lock.top == 50
    assert e["rep_leaves"].scenario.changes.remove_reps == ["R017"]
    assert [r.rep_id for r in e["tx_two_more"].scenario.changes.new_reps()] == ["TX-NEW1", "TX-NEW2"]
    potential = e["demo_potential"].scenario
    assert potential.potential.features == ["industry", "employees", "state"] and potential.potential.overwrite
    assert potential.capacity.segments_by == "tier" and potential.capacity.derive_workload
    assert list(potential.capacity.segments) == ["A", "B", "C"]


def test_the_rep_who_leaves_is_a_rep_of_the_demo():
    import pandas as pd

    reps = pd.read_csv(SHIPPED / "demo" / "reps.csv")
    assert "R017" in set(reps["rep_id"])


def test_the_shipped_sweep_expands_into_eight_valid_runs():
    runs = expand_sweep(load_scenario(SHIPPED / "demo_sweep.yaml"))
    assert len(runs) == 8 and len({r.name for r in runs}) == 8
    grid = {(r.scenario.balance["potential"], tuple(x.rep_id for x in r.scenario.changes.new_reps()),
             r.scenario.objective.distance_weight) for r in runs}
    assert grid == {(p, reps, w) for p in (0.03, 0.05) for reps in ((), ("TX-NEW1",)) for w in ("workload", "potential")}
    assert all(r.scenario.sweep is None and r.scenario.solver.time_limit == 20 for r in runs)
