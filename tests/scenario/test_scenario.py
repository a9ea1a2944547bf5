"""The scenario file: the contract keys parse, everything else is refused with a fix.

A misspelt key silently ignored would give a planner a plan they believe obeys a rule
it never saw, so every unknown key, bad value or broken YAML must name the file, the
line and the key, and say what to write instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_helpers import error_of, write

from territory_planner.errors import InputError, ScenarioError
from territory_planner.scenario import Scenario, load_scenario, parse_scenario

MINIMAL = "name: tiny\ndata: {accounts: accounts.csv, reps: reps.csv}\n"


def assert_teaches(err: ScenarioError, path: Path, *, row: int | None, column: str | None):
    message = str(err)
    assert err.file == str(path) and str(path) in message
    assert err.row == row
    if row is not None:
        assert f"row {row}" in message
    if column is not None:
        assert err.column == column and f"column '{column}'" in message
    assert err.fix and "Fix:" in message


# --- Defaults and the contract keys ---------------------------------------------------------


def test_defaults(tmp_path):
    s = load_scenario(write(tmp_path, MINIMAL))
    assert s.name == "tiny" and s.description is None
    assert s.geometry == "geographic"
    assert s.territories.centers == "reps" and s.territories.count is None
    assert s.objective.distance_weight == "workload"
    assert s.balance == {}
    assert s.capacity is True
    assert (s.solver.backend, s.solver.time_limit, s.solver.mip_gap) == ("auto", 60.0, 0.001)
    assert s.data.units is None and s.units_path is None
    assert s.source == tmp_path / "scenario.yaml" and s.base_dir == tmp_path


def test_the_contract_keys_of_the_issue_parse(tmp_path):
    path = write(
        tmp_path,
        """\
        name: contract
        data: {accounts: a.csv, reps: r.csv}
        geometry: planar
        territories: {centers: reps}
        objective: {distance_weight: potential}
        balance: {potential: 0.05, workload: 0.1, revenue_2024: 0.2}
        capacity: false
        solver: {backend: highs, time_limit: 30, mip_gap: 0.01}
        """,
    )
    s = load_scenario(path)
    assert s.name == "contract"
    assert (s.accounts_path, s.reps_path) == (tmp_path / "a.csv", tmp_path / "r.csv")
    assert s.geometry == "planar"
    assert s.territories.centers == "reps"
    assert s.objective.distance_weight == "potential"
    assert s.balance == {"potential": 0.05, "workload": 0.1, "revenue_2024": 0.2}
    assert s.capacity is False
    assert (s.solver.backend, s.solver.time_limit, s.solver.mip_gap) == ("highs", 30.0, 0.01)


@pytest.mark.parametrize(
    "key, value, read",
    [
        *[("geometry", g, lambda s: s.geometry) for g in ("geographic", "planar")],
        *[
            ("objective", {"distance_weight": w}, lambda s: s.objective.distance_weight)
            for w in ("none", "potential", "workload")
        ],
        *[
            ("solver", {"backend": b}, lambda s: s.solver.backend)
            for b in ("auto", "highs", "cbc", "cpsat")
        ],
        ("territories", {"centers": "reps"}, lambda s: s.territories.centers),
        ("capacity", True, lambda s: s.capacity),
        ("capacity", False, lambda s: s.capacity),
    ],
)
def test_every_allowed_value_parses(key, value, read):
    s = parse_scenario({"name": "x", "data": {"accounts": "a.csv", "reps": "r.csv"}, key: value})
    expected = next(iter(value.values())) if isinstance(value, dict) else value
    assert read(s) == expected


@pytest.mark.parametrize(
    "key, value, column, allowed",
    [
        ("geometry", "spherical", "geometry", ("'geographic'", "'planar'")),
        ("objective", {"distance_weight": "revenue"}, "objective.distance_weight", ("'none'", "'potential'", "'workload'")),
        ("solver", {"backend": "gurobi"}, "solver.backend", ("'auto'", "'highs'", "'cbc'", "'cpsat'")),
        ("territories", {"centers": "kmeans"}, "territories.centers", ("'reps'",)),
    ],
)
def test_values_outside_the_contract_list_the_allowed_ones(key, value, column, allowed):
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"name": "x", "data": {"accounts": "a.csv", "reps": "r.csv"}, key: value})
    err = info.value
    assert err.column == column and "Fix:" in str(err)
    for word in allowed:
        assert word in err.fix


# --- Unknown keys, missing keys, broken YAML ------------------------------------------------


def test_unknown_top_level_key_suggests_the_right_one(tmp_path):
    path = write(tmp_path, MINIMAL + "balanse: {potential: 0.05}\n")
    err = error_of(path)
    assert_teaches(err, path, row=3, column="balanse")
    assert "did you mean 'balance'?" in err.fix


@pytest.mark.parametrize(
    "text, line",
    [
        (MINIMAL + "solver: {time_limt: 5}\n", 3),
        (MINIMAL + "solver:\n  backend: highs\n  time_limt: 5\n", 5),
    ],
    ids=["flow", "block"],
)
def test_unknown_nested_key_names_its_line_and_suggests(tmp_path, text, line):
    path = write(tmp_path, text)
    err = error_of(path)
    assert_teaches(err, path, row=line, column="solver.time_limt")
    assert "did you mean 'time_limit'?" in err.fix
    assert "backend" in err.fix  # lists the valid keys of that section


def test_unknown_key_with_nothing_close_says_remove_it(tmp_path):
    path = write(tmp_path, MINIMAL + "remarks: first draft\n")
    err = error_of(path)
    assert_teaches(err, path, row=3, column="remarks")
    assert "remove it" in err.fix


def test_missing_data(tmp_path):
    path = write(tmp_path, "name: tiny\nbalance: {potential: 0.05}\n")
    err = error_of(path)
    assert err.column == "data" and "missing" in str(err)
    assert "data:" in err.fix and str(path) in str(err)


def test_missing_reps_inside_data_names_the_data_line(tmp_path):
    path = write(tmp_path, "name: tiny\ndata: {accounts: a.csv}\n")
    err = error_of(path)
    assert_teaches(err, path, row=2, column="data.reps")


@pytest.mark.parametrize(
    "text, line",
    [
        ("name: tiny\ndata: {accounts: a.csv, reps: r.csv\nbalance: {}\n", None),
        ("name: tiny\ndata:\n  accounts: a.csv\n reps: r.csv\n", 4),
        ("name: tiny\n\tdata: x\n", 2),
    ],
    ids=["unclosed brace", "bad indent", "tab"],
)
def test_invalid_yaml_names_a_line(tmp_path, text, line):
    path = write(tmp_path, text)
    err = error_of(path)
    assert "not valid YAML" in str(err)
    assert err.row is not None and f"row {err.row}" in str(err)
    if line is not None:
        assert err.row == line
    assert err.fix and str(path) in str(err)


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"], ids=["empty", "list", "scalar"])
def test_a_scenario_must_be_a_mapping(tmp_path, text):
    path = write(tmp_path, text)
    err = error_of(path)
    assert "mapping" in str(err) and err.fix


def test_missing_scenario_file(tmp_path):
    err = error_of(tmp_path / "nope.yaml")
    assert "not found" in str(err) and "nope.yaml" in str(err) and err.fix


def test_scenario_not_utf8(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_bytes("name: Café\ndata: {accounts: a.csv, reps: r.csv}\n".encode("cp1252"))
    err = error_of(path)
    assert "UTF-8" in str(err) and err.fix


def test_scenario_errors_are_input_errors_with_exit_code_1():
    assert issubclass(ScenarioError, InputError) and ScenarioError.exit_code == 1


# --- Balance tolerances and other values ----------------------------------------------------


@pytest.mark.parametrize("tolerance", [5, 1, 1.0, -0.01, 100])
def test_tolerance_out_of_range(tmp_path, tolerance):
    path = write(tmp_path, MINIMAL + f"balance: {{potential: {tolerance}}}\n")
    err = error_of(path)
    assert_teaches(err, path, row=3, column="balance")
    assert "potential" in str(err) and "0.05" in err.fix


@pytest.mark.parametrize("tolerance", [0, 0.001, 0.5, 0.999])
def test_tolerance_in_range(tmp_path, tolerance):
    s = load_scenario(write(tmp_path, MINIMAL + f"balance: {{potential: {tolerance}}}\n"))
    assert s.balance == {"potential": tolerance}


@pytest.mark.parametrize(
    "section, column",
    [
        ("solver: {time_limit: 0}", "solver.time_limit"),
        ("solver: {time_limit: soon}", "solver.time_limit"),
        ("solver: {mip_gap: 1}", "solver.mip_gap"),
        ("solver: {threads: 0}", "solver.threads"),
        ("territories: {count: 0}", "territories.count"),
        ("capacity: maybe", "capacity"),
    ],
)
def test_other_bad_values_name_the_key_and_teach(tmp_path, section, column):
    path = write(tmp_path, MINIMAL + section + "\n")
    err = error_of(path)
    assert_teaches(err, path, row=3, column=column)


# --- Paths ------------------------------------------------------------------------------------


def test_relative_paths_resolve_against_the_scenario_folder(tmp_path, monkeypatch):
    folder = tmp_path / "plans" / "q3"
    path = write(
        folder,
        "name: q3\ndata: {accounts: data/accounts.csv, reps: ../shared/reps.csv, units: units.geojson}\n",
    )
    monkeypatch.chdir(tmp_path)  # the working folder must not matter
    s = load_scenario(Path("plans/q3/scenario.yaml"))
    assert s.accounts_path.resolve() == folder / "data" / "accounts.csv"
    assert s.reps_path.resolve() == tmp_path / "plans" / "shared" / "reps.csv"
    assert s.units_path.resolve() == folder / "units.geojson"
    assert load_scenario(path).accounts_path == folder / "data" / "accounts.csv"


def test_absolute_paths_are_kept(tmp_path):
    accounts = tmp_path / "elsewhere" / "accounts.csv"
    path = write(tmp_path / "s", f"name: x\ndata: {{accounts: '{accounts}', reps: r.csv}}\n")
    s = load_scenario(path)
    assert s.accounts_path == accounts
    assert s.reps_path == tmp_path / "s" / "r.csv"


# --- with_overrides -------------------------------------------------------------------------


def base(tmp_path) -> Scenario:
    return load_scenario(
        write(
            tmp_path,
            MINIMAL
            + "balance: {potential: 0.05, workload: 0.1}\n"
            + "solver: {backend: highs, time_limit: 30, mip_gap: 0.01}\n",
        )
    )


def test_with_overrides_merges_nested_dicts(tmp_path):
    s = base(tmp_path)
    t = s.with_overrides(solver={"time_limit": 5}, objective={"distance_weight": "none"})
    assert (t.solver.backend, t.solver.time_limit, t.solver.mip_gap) == ("highs", 5.0, 0.01)
    assert t.objective.distance_weight == "none"
    assert t.data == s.data and t.balance == s.balance
    # Paths still resolve against the original scenario folder.
    assert (t.base_dir, t.source, t.accounts_path) == (s.base_dir, s.source, s.accounts_path)
    assert s.solver.time_limit == 30.0  # the original is unchanged


def test_with_overrides_replaces_balance_whole_and_top_level_values(tmp_path):
    s = base(tmp_path)
    t = s.with_overrides(balance={"potential": 0.03}, geometry="planar", name="tight")
    # balance is replaced, not merged, so an override can drop a balance column.
    assert t.balance == {"potential": 0.03}
    assert (t.geometry, t.name) == ("planar", "tight")


def test_with_overrides_validates_like_the_file(tmp_path):
    s = base(tmp_path)
    with pytest.raises(ScenarioError) as info:
        s.with_overrides(solver={"time_limt": 5})
    assert "did you mean 'time_limit'?" in info.value.fix
    with pytest.raises(ScenarioError):
        s.with_overrides(balance={"potential": 5})


# --- changes, resolved() and input_paths() ----------------------------------------------------

CHANGES = """\
changes:
  remove_reps: [R017]
  rep_pool:
    - {rep_id: N1, city: Dallas, state: TX, capacity_hours: 1056, region: Central}
  add_reps: [N1, {rep_id: N2, postal_code: "02116"}]
  lock: {top: 50, by: potential}
  exclude_accounts: [A1, 1002]
  add_accounts: new/accounts.csv
"""


def test_the_changes_section_parses(tmp_path):
    s = load_scenario(write(tmp_path, MINIMAL + CHANGES))
    ch = s.changes
    assert ch.remove_reps == ["R017"] and ch.exclude_accounts == ["A1", "1002"]
    assert [r.rep_id for r in ch.new_reps()] == ["N1", "N2"] and ch.new_reps()[1].postal_code == "02116"
    assert ch.new_reps()[0].model_extra == {"region": "Central"}  # any reps-file column
    assert (ch.lock.top, ch.lock.by) == (50, "potential")
    assert ch.describe() == ["reps leave: R017", "reps join: N1 (Dallas, TX), N2 (ZIP 02116)",
                             "top 50 accounts by potential stay with today's owner", "accounts excluded: A1, 1002",
                             "accounts added from new/accounts.csv"]
    assert load_scenario(write(tmp_path, MINIMAL, "plain.yaml")).changes.empty


def test_resolved_round_trips_and_makes_every_path_absolute(tmp_path, monkeypatch):
    s = load_scenario(write(tmp_path, MINIMAL + CHANGES))
    raw = s.resolved(absolute=True)
    assert raw["changes"]["add_accounts"] == str((tmp_path / "new" / "accounts.csv").resolve())
    monkeypatch.chdir(tmp_path.parent)  # from another folder, the mapping plans the same
    again = parse_scenario(raw, base_dir="elsewhere")
    assert again.changes == s.changes.model_copy(update={"add_accounts": Path(raw["changes"]["add_accounts"])})
    assert again.accounts_path == (tmp_path / "accounts.csv").resolve()
    assert s.input_paths() == {"data.accounts": tmp_path / "accounts.csv", "data.reps": tmp_path / "reps.csv",
                               "changes.add_accounts": tmp_path / "new" / "accounts.csv"}


def test_with_overrides_can_switch_pool_reps_on(tmp_path):
    s = load_scenario(write(tmp_path, MINIMAL + CHANGES))
    t = s.with_overrides(changes={"add_reps": []})
    assert t.changes.add_reps == [] and t.changes.rep_pool == s.changes.rep_pool and t.changes.lock == s.changes.lock


@pytest.mark.parametrize("changes, column, words", [
    ("{add_reps: [N9]}", "changes.add_reps", "not a rep_id of changes.rep_pool"),
    ("{add_reps: [{rep_id: N1, postal_code: 02116}]}", "changes.add_reps.0.postal_code", "not a ZIP code as written"),
    ("{lock: {by: potential}}", "changes.lock", "lock names no accounts"),
    ("{lock: {top: 0}}", "changes.lock.top", "greater than or equal to 1"),
    ("{remove_rep: [R1]}", "changes.remove_rep", "unknown key"),
])
def test_bad_changes_name_the_key_and_the_line(tmp_path, changes, column, words):
    path = write(tmp_path, MINIMAL + f"\nchanges: {changes}\n")
    err = error_of(path)
    assert err.column == column and words in err.problem and err.row == 4 and err.fix


# --- data.accounts / data.reps as a mapping (issue 27: input as the CRM gives it) ---------------

CRM = """\
name: crm
data:
  accounts:
    file: crm/Account.csv
    columns: {account_id: Id, potential: AnnualRevenue, current_rep_id: OwnerId}
    geocode: {on_missing: skip}
  reps: {file: crm/Users.xlsx, sheet: Reps, header_row: 3}
"""


def test_a_table_given_as_a_mapping_parses_and_its_file_is_the_path(tmp_path):
    s = load_scenario(write(tmp_path, CRM))
    accounts, reps = s.data.table("accounts"), s.data.table("reps")
    assert accounts.columns == {"account_id": "Id", "potential": "AnnualRevenue", "current_rep_id": "OwnerId"}
    assert accounts.geocode.on_missing == "skip" and (accounts.sheet, accounts.header_row) == (None, None)
    assert (reps.sheet, reps.header_row, reps.columns, reps.geocode.on_missing) == ("Reps", 3, {}, "error")
    assert (s.accounts_path, s.reps_path) == (tmp_path / "crm" / "Account.csv", tmp_path / "crm" / "Users.xlsx")
    assert s.input_paths() == {"data.accounts": tmp_path / "crm" / "Account.csv",
                               "data.reps": tmp_path / "crm" / "Users.xlsx"}
    # A plain path stays a path, and reads as a table with nothing mapped.
    plain = load_scenario(write(tmp_path, MINIMAL, "plain.yaml"))
    assert plain.data.accounts == Path("accounts.csv") and plain.data.table("accounts").columns == {}
    assert plain.data.table("accounts").file == Path("accounts.csv")


def test_a_mapped_file_is_made_absolute_and_round_trips(tmp_path, monkeypatch):
    s = load_scenario(write(tmp_path, CRM))
    raw = s.resolved(absolute=True)
    assert raw["data"]["accounts"]["file"] == str((tmp_path / "crm" / "Account.csv").resolve())
    assert raw["data"]["reps"] == {"file": str((tmp_path / "crm" / "Users.xlsx").resolve()), "sheet": "Reps",
                                   "header_row": 3, "columns": {}, "geocode": {"on_missing": "error"}}
    monkeypatch.chdir(tmp_path.parent)
    again = parse_scenario(raw, base_dir="elsewhere")
    assert again.accounts_path == (tmp_path / "crm" / "Account.csv").resolve()
    assert again.data.table("accounts").columns == s.data.table("accounts").columns


def test_a_parents_mapped_file_is_rebased_for_a_child_in_another_folder(tmp_path):
    write(tmp_path / "base", CRM)
    child = write(tmp_path / "variants", "extends: ../base/scenario.yaml\nbalance: {potential: 0.05}\n", "tight.yaml")
    s = load_scenario(child)
    assert s.accounts_path.resolve() == tmp_path / "base" / "crm" / "Account.csv"
    assert s.reps_path.resolve() == tmp_path / "base" / "crm" / "Users.xlsx"
    assert s.data.table("accounts").columns["account_id"] == "Id"


@pytest.mark.parametrize("table, row, column, words", [
    ("{file: a.csv, colums: {account_id: Id}}", 3, "data.accounts.colums", "did you mean 'columns'?"),
    ("{file: a.csv, geocode: {on_missing: drop}}", 3, "data.accounts.geocode.on_missing", "'skip'"),
    ("{file: a.xlsx, sheet: 0}", 3, "data.accounts.sheet", "number sheets from 1"),
    ("{file: a.xlsx, header_row: 0}", 3, "data.accounts.header_row", "greater than or equal to 1"),
    ("{columns: {account_id: Id}}", 3, "data.accounts.file", "add 'file:'"),
])
def test_a_bad_table_mapping_names_the_key_and_the_line(tmp_path, table, row, column, words):
    path = write(tmp_path, f"name: x\ndata:\n  accounts: {table}\n  reps: r.csv\n")
    err = error_of(path)
    assert_teaches(err, path, row=row, column=column)
    assert words in str(err)
