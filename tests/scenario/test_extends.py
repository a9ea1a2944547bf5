"""``extends:``: a variant is its parent plus a few lines, and a broken chain says where.

Merge rules: mappings merge key by key, lists and values replace, ``null`` restores the
default; a variant's name, description and sweep are its own; a parent's relative paths
keep pointing at the parent's files from any folder. Cycles, missing parents and unknown
keys name the file that is wrong, its line, and the chain that reached it.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenario_helpers import error_of, write

from territory_planner.scenario import load_scenario
from territory_planner.scenario.extends import deep_merge, flatten, resolve

BASE = """\
name: base
description: The parent plan.
data: {accounts: data/accounts.csv, reps: data/reps.csv}
balance: {potential: 0.05, workload: 0.10}
objective: {distance_weight: workload}
continuity: {min_kept: 0.8, by: potential}
overlays:
  - {role: Specialist, balance: {potential: 0.1}}
solver: {backend: highs, time_limit: 60, mip_gap: 0.001}
"""


# --- Merge rules ----------------------------------------------------------------------------


def test_nested_mappings_merge_and_values_replace(tmp_path):
    write(tmp_path, name="base.yaml", text=BASE)
    child = write(tmp_path, name="child.yaml", text="""\
        extends: base.yaml
        balance: {potential: 0.03}
        solver: {time_limit: 20}
        objective: {distance_weight: potential}
        """)
    s = load_scenario(child)
    assert s.balance == {"potential": 0.03, "workload": 0.10}  # merged key by key
    assert (s.solver.backend, s.solver.time_limit, s.solver.mip_gap) == ("highs", 20.0, 0.001)
    assert s.objective.distance_weight == "potential"
    assert s.continuity.min_kept == 0.8 and s.overlays[0].role == "Specialist"  # inherited whole
    assert s.parent == tmp_path / "base.yaml" and s.source == child


def test_lists_replace_and_null_restores_the_default(tmp_path):
    write(tmp_path, name="base.yaml", text=BASE)
    child = write(tmp_path, name="child.yaml", text="""\
        extends: base.yaml
        overlays: []
        continuity: null
        balance: {workload: null}
        """)
    s = load_scenario(child)
    assert s.overlays == []
    assert s.continuity.min_kept is None and not s.continuity.active  # back to the default
    assert s.balance == {"potential": 0.05}


def test_a_list_in_the_child_replaces_the_parents_list_item_by_item(tmp_path):
    write(tmp_path, name="base.yaml", text=BASE + "changes: {remove_reps: [R1, R2], lock: {top: 5}}\n")
    child = write(tmp_path, name="child.yaml", text="extends: base.yaml\nchanges: {remove_reps: [R3]}\n")
    s = load_scenario(child)
    assert s.changes.remove_reps == ["R3"]  # not R1, R2, R3
    assert s.changes.lock.top == 5  # the rest of the section merges


def test_name_description_and_sweep_are_the_childs_own(tmp_path):
    write(tmp_path, name="base.yaml", text=BASE + "sweep: {balance.potential: [0.03, 0.05]}\n")
    plain = load_scenario(write(tmp_path, name="more_reps.yaml", text="extends: base.yaml\n"))
    assert plain.name == "more_reps"  # the file stem, never the parent's name
    assert plain.description is None  # the parent's description describes the parent
    assert plain.sweep is None  # the parent's experiment is not re-run by each variant
    named = load_scenario(write(tmp_path, name="v.yaml", text="extends: base.yaml\nname: west\ndescription: Only the West.\n"))
    assert (named.name, named.description) == ("west", "Only the West.")


def test_parent_paths_are_rebased_when_the_child_is_in_another_folder(tmp_path):
    parent = write(tmp_path / "scenarios", name="base.yaml", text=BASE + "barriers: rivers.geojson\n")
    child = write(tmp_path / "teams" / "west", name="west.yaml", text="""\
        extends: ../../scenarios/base.yaml
        data: {reps: west_reps.csv}
        changes: {add_accounts: new.csv}
        """)
    s = load_scenario(child)
    assert s.base_dir == child.parent
    assert s.accounts_path.resolve() == (parent.parent / "data/accounts.csv").resolve()  # the parent's file
    assert s.reps_path.resolve() == (child.parent / "west_reps.csv").resolve()  # the child's own
    assert s.barriers_path.resolve() == (parent.parent / "rivers.geojson").resolve()
    assert s.path(s.changes.add_accounts).resolve() == (child.parent / "new.csv").resolve()
    assert s.resolved(absolute=True)["data"]["accounts"] == str((parent.parent / "data/accounts.csv").resolve())


def test_absolute_parent_paths_are_kept(tmp_path):
    accounts = tmp_path / "elsewhere" / "accounts.csv"
    write(tmp_path / "a", name="base.yaml", text=f"name: base\ndata: {{accounts: {accounts}, reps: r.csv}}\n")
    s = load_scenario(write(tmp_path / "b", name="child.yaml", text="extends: ../a/base.yaml\n"))
    assert s.accounts_path == accounts
    assert s.reps_path.resolve() == (tmp_path / "a" / "r.csv").resolve()


def test_a_three_level_chain_merges_in_order(tmp_path):
    write(tmp_path / "base", name="base.yaml", text=BASE)
    write(tmp_path / "mid", name="mid.yaml", text="""\
        extends: ../base/base.yaml
        balance: {potential: 0.04}
        solver: {time_limit: 30}
        """)
    leaf = write(tmp_path / "mid" / "leaf", name="leaf.yaml", text="""\
        extends: ../mid.yaml
        balance: {workload: 0.2}
        solver: {mip_gap: 0.01}
        """)
    s = load_scenario(leaf)
    assert s.balance == {"potential": 0.04, "workload": 0.2}
    assert (s.solver.backend, s.solver.time_limit, s.solver.mip_gap) == ("highs", 30.0, 0.01)
    assert s.accounts_path.resolve() == (tmp_path / "base" / "data" / "accounts.csv").resolve()
    assert s.name == "leaf" and s.parent == tmp_path / "mid" / "mid.yaml"
    chain = resolve(leaf).chain
    assert [p.name for p in chain] == ["leaf.yaml", "mid.yaml", "base.yaml"]
    assert resolve(leaf).own == {"balance": {"workload": 0.2}, "solver": {"mip_gap": 0.01}}


# --- Errors that name the file and the chain --------------------------------------------


def test_a_file_extending_itself_is_a_cycle(tmp_path):
    path = write(tmp_path, name="a.yaml", text="name: a\nextends: a.yaml\n")
    err = error_of(path)
    assert "cycle" in err.problem and f"{path} → {path}" in err.problem
    assert err.file == str(path) and err.row == 2 and err.column == "extends" and err.fix


def test_a_two_file_cycle_names_the_chain(tmp_path):
    a = write(tmp_path, name="a.yaml", text="extends: b.yaml\n")
    b = write(tmp_path, name="b.yaml", text="balance: {potential: 0.1}\nextends: a.yaml\n")
    err = error_of(a)
    assert f"{a} → {b} → {a}" in str(err)
    assert err.file == str(b) and err.row == 2  # the extends line that closes the loop


def test_a_cycle_further_up_the_chain(tmp_path):
    leaf = write(tmp_path, name="leaf.yaml", text="extends: sub/b.yaml\n")
    write(tmp_path / "sub", name="b.yaml", text="extends: ../c.yaml\n")
    write(tmp_path, name="c.yaml", text="extends: sub/b.yaml\n")
    err = error_of(leaf)
    assert "cycle" in err.problem
    assert err.problem.count("→") == 3 and err.file == str(tmp_path / "c.yaml")


def test_a_missing_parent_names_the_chain(tmp_path):
    leaf = write(tmp_path, name="leaf.yaml", text="extends: mid.yaml\n")
    mid = write(tmp_path, name="mid.yaml", text="name: mid\n\nextends: gone.yaml\n")
    err = error_of(leaf)
    assert "does not exist" in err.problem
    assert f"{leaf} → {mid} → {tmp_path / 'gone.yaml'}" in err.problem
    assert err.file == str(mid) and err.row == 3 and err.value == "gone.yaml"
    assert "relative to this file" in err.fix


@pytest.mark.parametrize("value", ["[a.yaml, b.yaml]", "''", "3"])
def test_extends_must_name_one_file(tmp_path, value):
    path = write(tmp_path, name="a.yaml", text=f"name: a\nextends: {value}\n")
    err = error_of(path)
    assert "one parent" in err.problem and err.row == 2


def test_a_broken_parent_names_the_chain(tmp_path):
    write(tmp_path, name="base.yaml", text="name: base\ndata: {accounts: a.csv\n")
    leaf = write(tmp_path, name="leaf.yaml", text="extends: base.yaml\n")
    err = error_of(leaf)
    assert "not valid YAML" in err.problem and err.file == str(tmp_path / "base.yaml")
    assert f"extends chain: {leaf} → {tmp_path / 'base.yaml'}" in err.problem


def test_an_unknown_key_in_the_child_names_the_child_and_its_line(tmp_path):
    base = write(tmp_path, name="base.yaml", text=BASE)
    leaf = write(tmp_path, name="leaf.yaml", text="""\
        extends: base.yaml
        solver:
          time_limt: 20
        """)
    err = error_of(leaf)
    assert err.file == str(leaf) and err.row == 3 and err.column == "solver.time_limt"
    assert "did you mean 'time_limit'" in err.fix
    assert f"extends chain: {leaf} → {base}" in str(err)


def test_an_unknown_key_in_the_parent_names_the_parent_and_its_line(tmp_path):
    base = write(tmp_path, name="base.yaml", text=BASE.replace("objective: {distance_weight: workload}", "objectiv: {distance_weight: workload}"))
    leaf = write(tmp_path / "v", name="leaf.yaml", text="extends: ../base.yaml\nbalance: {potential: 0.03}\n")
    err = error_of(leaf)
    assert err.file == str(base) and err.row == 5 and err.column == "objectiv"
    assert "did you mean 'objective'" in err.fix and str(leaf) in err.problem


def test_an_unknown_key_in_the_middle_of_a_chain(tmp_path):
    write(tmp_path, name="base.yaml", text=BASE)
    mid = write(tmp_path, name="mid.yaml", text="extends: base.yaml\nchanges:\n  remove_rep: [R1]\n")
    leaf = write(tmp_path, name="leaf.yaml", text="extends: mid.yaml\nchanges: {exclude_accounts: [A1]}\n")
    err = error_of(leaf)
    assert err.file == str(mid) and err.row == 3 and "did you mean 'remove_reps'" in err.fix
    assert str(leaf) in err.problem and str(mid) in err.problem


def test_a_bad_value_the_child_replaces_is_not_blamed_on_the_parent(tmp_path):
    write(tmp_path, name="base.yaml", text=BASE)
    leaf = write(tmp_path, name="leaf.yaml", text="extends: base.yaml\n\noverlays:\n  - {rol: Specialist}\n")
    err = error_of(leaf)
    assert err.file == str(leaf) and err.row == 4  # the parent's overlays were replaced


def test_a_bad_value_in_a_list_item_names_its_line(tmp_path):
    write(tmp_path, name="base.yaml", text=BASE)
    leaf = write(tmp_path, name="leaf.yaml", text="""\
        extends: base.yaml
        changes:
          add_reps:
            - {rep_id: N1, lat: 30, lon: -97}
            - {rep_id: N2, postal_code: 02116}
        """)
    err = error_of(leaf)
    assert err.file == str(leaf) and err.row == 5 and err.column == "changes.add_reps.1.postal_code"
    assert "quotes" in err.fix


# --- deep_merge invariants ---------------------------------------------------------------

keys = st.sampled_from(["a", "b", "c", "d"])
leaves = st.one_of(st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=2), st.booleans())
trees = st.recursive(leaves, lambda inner: st.dictionaries(keys, inner, max_size=3), max_leaves=8)
mappings = st.dictionaries(keys, trees, max_size=4)
fast = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(mappings, mappings)
def test_every_leaf_of_the_child_wins_and_the_parent_keeps_the_rest(parent, child):
    merged = deep_merge(parent, child)
    flat_child, flat_merged = flatten(child), flatten(merged)
    for path, value in flat_child.items():
        if value != {}:
            assert flat_merged[path] == value
    for path, value in flatten(parent).items():
        # A parent leaf survives unless the child wrote that key or a key on its way.
        overridden = any(path[:len(c)] == c or c[:len(path)] == path for c in flat_child)
        if not overridden:
            assert flat_merged[path] == value


@fast
@given(mappings, mappings)
def test_merging_is_idempotent_and_leaves_its_inputs_alone(parent, child):
    before = (repr(parent), repr(child))
    merged = deep_merge(parent, child)
    assert deep_merge(merged, child) == merged
    assert (repr(parent), repr(child)) == before
    assert deep_merge(parent, {}) == parent and deep_merge({}, child) == child


@fast
@given(mappings, st.lists(keys, min_size=1, max_size=3, unique=True))
def test_null_drops_a_key(parent, dropped):
    merged = deep_merge(parent, dict.fromkeys(dropped))
    assert set(merged) == set(parent) - set(dropped)
