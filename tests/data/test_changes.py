"""``changes:``: the edits a manager asks for, applied to the inputs, and what the plan does with them.

Each kind of change is planned on a small Texas team (4 reps, 32 accounts, solved in about
a second) and checked in the plan a planner opens: a rep who leaves has no territory and
his accounts all go to others, still counted as moved; a rep who joins (placed by
coordinates, ZIP code or city) gets a territory; locked accounts keep today's owner even
where distance would move them; excluded accounts are gone, added ones planned. A typo in
an id is an error naming the nearest id, never a silent no-op.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from territory_planner import plan
from territory_planner.cli import app
from territory_planner.data.changes import apply_changes
from territory_planner.data.geocode import city_point, zip_point
from territory_planner.data.inputs import load_inputs
from territory_planner.errors import InputError, ScenarioError
from territory_planner.scenario import load_scenario
from territory_planner.scenario.changes import ChangesSpec

#: Four reps in Texas cities; eight accounts around each, owned today by that city's rep.
HOMES = {"R1": (32.78, -96.80), "R2": (29.76, -95.37), "R3": (30.27, -97.74), "R4": (29.42, -98.49)}
EL_PASO = (31.76, -106.49)  # no rep and no account there: a new rep placed there is far from all
SOLVER = {"backend": "highs", "time_limit": 20, "mip_gap": 0.0}


def account_rows(owners: dict[str, str] | None = None) -> list[dict]:
    rng = np.random.default_rng(5)
    rows = []
    for j, (rep, (lat, lon)) in enumerate(HOMES.items()):
        for k in range(8):
            i = 8 * j + k
            rows.append({"account_id": f"A{i:03d}", "lat": f"{lat + rng.uniform(-0.3, 0.3):.4f}",
                         "lon": f"{lon + rng.uniform(-0.3, 0.3):.4f}", "potential": str(1000 + 7 * i),
                         "workload": "10", "current_rep_id": rep})
    for account, owner in (owners or {}).items():
        next(r for r in rows if r["account_id"] == account)["current_rep_id"] = owner
    return rows


def rep_rows() -> list[dict]:
    return [{"rep_id": rep, "name": f"Rep {rep}", "lat": lat, "lon": lon, "capacity_hours": 1000, "city": "", "state": "TX"}
            for rep, (lat, lon) in HOMES.items()]


def write_csv(path: Path, rows: list[dict]) -> Path:
    fields = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def scenario(tmp_path: Path, changes: dict | None = None, *, accounts: list[dict] | None = None,
             balance: float = 0.15, **extra) -> Path:
    """A scenario file over the small team, with ``changes`` (written as YAML)."""
    write_csv(tmp_path / "accounts.csv", accounts or account_rows())
    write_csv(tmp_path / "reps.csv", rep_rows())
    raw = {"name": "tx", "data": {"accounts": "accounts.csv", "reps": "reps.csv"},
           "balance": {"potential": balance}, "solver": SOLVER, **extra}
    if changes is not None:
        raw["changes"] = changes
    path = tmp_path / "tx.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def owners(result) -> dict[str, str]:
    a = result.assignments
    return dict(zip(a["account_id"], a["rep_id"], strict=True))


def error_of(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_inputs(load_scenario(path))
    return info.value


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The plan without changes: each city's accounts with the city's rep."""
    return plan(scenario(tmp_path_factory.mktemp("base")))


def test_the_baseline_keeps_every_city_with_its_rep(baseline):
    assert baseline.status == "optimal"
    assert baseline.kpis["accounts_moved"] == 0 and not baseline.notes
    assert "changes" not in baseline.summary()


# --- remove_reps ----------------------------------------------------------------------------


def test_a_rep_who_leaves_has_no_territory_and_his_accounts_move(tmp_path):
    result = plan(scenario(tmp_path, {"remove_reps": ["R2"]}))
    assert result.status == "optimal"
    assert "R2" not in set(result.territories["rep_id"]) and len(result.territories) == 3
    a = result.assignments
    his = a[a["current_rep_id"] == "R2"]
    assert len(his) == 8 and set(his["rep_id"]) <= {"R1", "R3", "R4"}
    assert his["moved"].all()  # current_rep_id is kept: they count as moved
    assert result.kpis["accounts_moved"] >= 8
    assert result.notes == ("reps removed: R2 (8 accounts re-planned)",)
    assert result.summary()["changes"] == ["reps removed: R2 (8 accounts re-planned)"]
    assert "R2" not in result.reps_without_territory  # gone from the team, not left idle


def test_a_lock_to_a_rep_who_leaves_is_released(tmp_path):
    rows = account_rows()
    rows[8]["locked_rep_id"] = "R2"  # A008 is locked to R2 in the accounts file
    result = plan(scenario(tmp_path, {"remove_reps": ["R2"]}, accounts=rows))
    assert owners(result)["A008"] != "R2"
    assert "locks to departed reps released: 1" in result.notes


def test_continuity_counts_the_accounts_of_a_rep_who_left_as_moved(tmp_path):
    result = plan(scenario(tmp_path, {"remove_reps": ["R4"]}, balance=0.5, continuity={"penalty": 100}))
    a = result.assignments
    assert a.loc[a["current_rep_id"] == "R4", "moved"].all()
    assert not a.loc[a["current_rep_id"] != "R4", "moved"].any()  # the rest stay: moving costs 100 each


def test_a_change_that_leaves_no_reps_is_an_error(tmp_path):
    err = error_of(scenario(tmp_path, {"remove_reps": list(HOMES)}))
    assert "leave no reps" in err.problem and err.column == "changes.remove_reps" and err.fix


def test_removing_every_rep_but_adding_one_plans(tmp_path):
    inputs = load_inputs(load_scenario(scenario(tmp_path, {"remove_reps": list(HOMES),
                                                           "add_reps": [{"rep_id": "N1", "lat": 31, "lon": -97}]})))
    assert list(inputs.reps["rep_id"]) == ["N1"]


# --- add_reps -------------------------------------------------------------------------------


@pytest.mark.parametrize("row, home", [
    ({"lat": EL_PASO[0], "lon": EL_PASO[1]}, EL_PASO),
    ({"postal_code": "79901"}, zip_point("79901")),
    ({"postal_code": 79901}, zip_point("79901")),
    ({"city": "El Paso", "state": "TX"}, city_point("El Paso", "TX")),
    ({"city": "el paso", "state": "tx", "postal_code": "00000"}, city_point("El Paso", "TX")),  # ZIP unknown: the city
])
def test_a_new_rep_gets_a_territory_wherever_the_home_comes_from(tmp_path, row, home):
    result = plan(scenario(tmp_path, {"add_reps": [{"rep_id": "TX-NEW1", "capacity_hours": 1000, **row}]}))
    assert result.status == "optimal"
    t = result.territories.set_index("rep_id")
    assert len(t) == 5 and t.loc["TX-NEW1", "n_accounts"] > 0  # balance gives the new rep a fair share
    assert (t.loc["TX-NEW1", "home_lat"], t.loc["TX-NEW1", "home_lon"]) == pytest.approx(home)
    assert t.loc["TX-NEW1", "rep_name"] == "(open)"  # status: open by default: a seat to fill
    assert result.notes[0].startswith("reps added: TX-NEW1")
    assert abs(home[0] - EL_PASO[0]) < 0.3 and abs(home[1] - EL_PASO[1]) < 0.3


def test_a_new_rep_without_capacity_gets_the_teams_median_and_says_so(tmp_path):
    inputs = load_inputs(load_scenario(scenario(tmp_path, {"add_reps": [{"rep_id": "N1", "city": "Dallas", "state": "TX",
                                                                         "status": "active", "name": "Dana"}]})))
    new = inputs.reps.set_index("rep_id").loc["N1"]
    assert new["capacity_hours"] == 1000 and new["status"] == "active" and new["name"] == "Dana"
    assert new["state"] == "TX"  # a column of the reps file, so kept
    assert inputs.notes == ("reps added: N1 (at Dallas, TX; capacity_hours 1000, the team's median)",)


def test_reps_from_the_pool_are_added_by_id(tmp_path):
    pool = [{"rep_id": "TX-NEW1", "city": "El Paso", "state": "TX", "capacity_hours": 1000},
            {"rep_id": "TX-NEW2", "postal_code": "75201", "capacity_hours": 1000}]
    path = scenario(tmp_path, {"rep_pool": pool, "add_reps": ["TX-NEW1"]})
    s = load_scenario(path)
    assert [r.rep_id for r in s.changes.new_reps()] == ["TX-NEW1"]
    result = plan(s)
    assert set(result.territories["rep_id"]) == {*HOMES, "TX-NEW1"}  # TX-NEW2 waits in the pool
    both = plan(s, changes={"add_reps": ["TX-NEW1", "TX-NEW2"]})
    assert set(both.territories["rep_id"]) == {*HOMES, "TX-NEW1", "TX-NEW2"}


def test_a_pool_id_with_a_typo_suggests_the_pool_id(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario(tmp_path, {"rep_pool": [{"rep_id": "TX-NEW1", "lat": 31, "lon": -97}], "add_reps": ["TX-NEW"]}))
    assert info.value.column == "changes.add_reps" and "did you mean 'TX-NEW1'" in info.value.fix


def test_an_unknown_city_is_a_clear_error(tmp_path):
    err = error_of(scenario(tmp_path, {"add_reps": [{"rep_id": "N1", "city": "Dalas", "state": "TX"}]}))
    assert "cannot place the new rep" in err.problem and "Dalas, TX" in err.problem
    assert err.column == "changes.add_reps[0] (N1)" and "did you mean city: Dallas" in err.fix
    assert err.file == str(tmp_path / "tx.yaml")


@pytest.mark.parametrize("row, words", [
    ({"postal_code": "99999"}, "ZIP 99999 is not a known US place"),
    ({"postal_code": "09001"}, "ZIP 09001 is not a known US place"),  # an APO code: no point on record
    ({}, "no lat/lon, postal_code or city + state"),
    ({"lat": 31.0}, "only one of lat and lon"),
    ({"lat": 31.0, "lon": -97, "capacity_hour": 900}, "'capacity_hour', which is not a column of the reps file"),
])
def test_a_new_rep_that_cannot_be_placed_or_has_a_typo_is_an_error(tmp_path, row, words):
    err = error_of(scenario(tmp_path, {"add_reps": [{"rep_id": "N1", **row}]}))
    assert words in str(err) and err.fix


def test_a_misspelt_column_of_a_new_rep_suggests_the_column(tmp_path):
    err = error_of(scenario(tmp_path, {"add_reps": [{"rep_id": "N1", "lat": 31, "lon": -97, "capacity_hour": 900}]}))
    assert "did you mean 'capacity_hours'" in err.fix


def test_a_new_rep_with_a_taken_id_is_an_error(tmp_path):
    err = error_of(scenario(tmp_path, {"add_reps": [{"rep_id": "R3", "lat": 31, "lon": -97}]}))
    assert "already in the team" in err.problem and err.value == "R3"


def test_a_rep_who_leaves_can_be_replaced_under_the_same_id(tmp_path):
    inputs = load_inputs(load_scenario(scenario(tmp_path, {"remove_reps": ["R3"],
                                                           "add_reps": [{"rep_id": "R3", "city": "Waco", "state": "TX"}]})))
    r3 = inputs.reps.set_index("rep_id").loc["R3"]
    assert (r3["lat"], r3["lon"]) == pytest.approx(city_point("Waco", "TX"))


def test_planar_new_reps_need_x_and_y(tmp_path):
    spec = ChangesSpec.model_validate({"add_reps": [{"rep_id": "N1", "city": "Dallas", "state": "TX"}]})
    inputs = load_inputs(load_scenario(scenario(tmp_path)))
    with pytest.raises(ScenarioError, match="planar scenarios have no places"):
        apply_changes(inputs, spec, geometry="planar", base_dir=tmp_path)


# --- lock -----------------------------------------------------------------------------------

#: The three Dallas accounts with the most potential are owned today by the Houston rep:
#: distance alone would give them to the Dallas rep.
FAR_OWNED = {"A007": "R2", "A006": "R2", "A005": "R2"}


def test_without_a_lock_far_owned_accounts_move(tmp_path):
    result = plan(scenario(tmp_path, accounts=account_rows(FAR_OWNED)))
    assert all(owners(result)[a] == "R1" for a in FAR_OWNED)


def test_the_top_accounts_by_potential_stay_with_their_owner(tmp_path):
    rows = account_rows(FAR_OWNED)
    for r in rows:  # A005-A007 are the three largest accounts
        r["potential"] = str(5000 + int(r["account_id"][1:])) if r["account_id"] in FAR_OWNED else r["potential"]
    result = plan(scenario(tmp_path, {"lock": {"top": 3, "by": "potential"}}, accounts=rows, balance=0.5))
    assert result.status == "optimal"
    got = owners(result)
    assert all(got[a] == "R2" for a in FAR_OWNED)  # locked with today's owner, far as he is
    assert result.notes == ("accounts locked with today's owner: 3",)
    assert not result.assignments.set_index("account_id").loc[list(FAR_OWNED), "moved"].any()


def test_named_accounts_stay_with_their_owner(tmp_path):
    result = plan(scenario(tmp_path, {"lock": {"accounts": ["A007", "A005"]}}, accounts=account_rows(FAR_OWNED)))
    got = owners(result)
    assert got["A007"] == "R2" and got["A005"] == "R2" and got["A006"] == "R1"


def test_top_and_named_accounts_lock_together(tmp_path):
    inputs = load_inputs(load_scenario(scenario(tmp_path, {"lock": {"top": 2, "accounts": ["A000"]}})))
    locked = inputs.accounts.set_index("account_id")["locked_rep_id"].dropna()
    assert locked.to_dict() == {"A000": "R1", "A030": "R4", "A031": "R4"}  # the two largest + A000


def test_lock_ties_are_broken_by_account_id(tmp_path):
    rows = account_rows()
    for r in rows:
        r["potential"] = "1000"  # every account ties
    inputs = load_inputs(load_scenario(scenario(tmp_path, accounts=rows)))
    spec = ChangesSpec.model_validate({"lock": {"top": 5}})
    shuffled = inputs.accounts.sample(frac=1, random_state=3).reset_index(drop=True)
    for frame in (inputs.accounts, shuffled):
        changed, applied = apply_changes(type(inputs)(frame, inputs.reps), spec, geometry="geographic", base_dir=tmp_path)
        assert sorted(applied.locked) == ["A000", "A001", "A002", "A003", "A004"]


def test_top_counts_only_accounts_whose_owner_stays(tmp_path):
    inputs = load_inputs(load_scenario(scenario(tmp_path, {"remove_reps": ["R4"], "lock": {"top": 2}})))
    locked = inputs.accounts.set_index("account_id")["locked_rep_id"].dropna()
    assert locked.to_dict() == {"A022": "R3", "A023": "R3"}  # A024-A031 (R4's, larger) cannot stay


def test_a_file_lock_is_kept_over_a_changes_lock(tmp_path):
    rows = account_rows()
    rows[31]["locked_rep_id"] = "R1"
    inputs = load_inputs(load_scenario(scenario(tmp_path, {"lock": {"top": 2}}, accounts=rows)))
    locked = inputs.accounts.set_index("account_id")["locked_rep_id"].dropna()
    assert locked.to_dict() == {"A030": "R4", "A031": "R1"}
    assert inputs.notes == ("accounts locked with today's owner: 1",)


@pytest.mark.parametrize("lock, words, fix", [
    ({"accounts": ["A0007"]}, "names account 'A0007'", "did you mean 'A007'"),
    ({"top": 3, "by": "potentail"}, "column 'potentail'", "did you mean 'potential'"),
])
def test_lock_typos_suggest_the_nearest(tmp_path, lock, words, fix):
    err = error_of(scenario(tmp_path, {"lock": lock}))
    assert words in err.problem and fix in err.fix


def test_a_lock_on_an_account_whose_owner_left_is_an_error(tmp_path):
    err = error_of(scenario(tmp_path, {"remove_reps": ["R1"], "lock": {"accounts": ["A001"]}}))
    assert "current owner is not in the team" in err.problem


# --- exclude_accounts and add_accounts ------------------------------------------------------


def test_excluded_accounts_are_gone_from_the_plan(tmp_path):
    result = plan(scenario(tmp_path, {"exclude_accounts": ["A001", "A017"]}))
    assert len(result.assignments) == 30 and not {"A001", "A017"} & set(result.assignments["account_id"])
    assert result.notes == ("accounts excluded: 2",)


def test_added_accounts_are_planned(tmp_path):
    write_csv(tmp_path / "new.csv", [
        {"account_id": "N001", "lat": "32.9", "lon": "-96.7", "potential": "1200", "workload": "12", "current_rep_id": ""},
        {"account_id": "N002", "lat": "29.5", "lon": "-98.4", "potential": "900", "workload": "8", "current_rep_id": "R4"},
    ])
    result = plan(scenario(tmp_path, {"add_accounts": "new.csv"}))
    got = owners(result)
    assert len(got) == 34 and got["N001"] == "R1" and got["N002"] == "R4"
    assert result.notes == ("accounts added: 2",)


def test_added_accounts_must_fill_the_balanced_columns_and_name_real_reps(tmp_path):
    write_csv(tmp_path / "new.csv", [{"account_id": "N001", "lat": "32.9", "lon": "-96.7", "potential": "1",
                                      "workload": "1", "current_rep_id": "R9"}])
    with pytest.raises(InputError) as info:
        load_inputs(load_scenario(scenario(tmp_path, {"add_accounts": "new.csv"})))
    assert info.value.file == str(tmp_path / "new.csv") and info.value.row == 2 and "'R9'" in info.value.problem
    write_csv(tmp_path / "new.csv", [{"account_id": "A001", "lat": "32.9", "lon": "-96.7", "potential": "1", "workload": "1"}])
    err = error_of(scenario(tmp_path, {"add_accounts": "new.csv"}))
    assert "already an account" in err.problem and err.value == "A001"


def test_an_added_account_missing_a_balanced_column_names_the_added_file(tmp_path):
    rows = account_rows()
    for r in rows:
        r["revenue"] = "10"
    write_csv(tmp_path / "new.csv", [{"account_id": "N001", "lat": "32.9", "lon": "-96.7", "potential": "1", "workload": "1"}])
    path = scenario(tmp_path, {"add_accounts": "new.csv"}, accounts=rows)
    raw = yaml.safe_load(path.read_text())
    raw["balance"]["revenue"] = 0.5
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(InputError) as info:
        load_inputs(load_scenario(path))
    assert info.value.file == str(tmp_path / "new.csv") and "'revenue'" in info.value.problem


@pytest.mark.parametrize("changes, words, fix", [
    ({"remove_reps": ["R22"]}, "changes.remove_reps names rep 'R22'", "did you mean 'R2'"),
    ({"remove_reps": ["r3"]}, "changes.remove_reps names rep 'r3'", "did you mean 'R3'"),
    ({"exclude_accounts": ["a017"]}, "changes.exclude_accounts names account 'a017'", "did you mean 'A017'"),
])
def test_typos_in_ids_suggest_the_nearest_id(tmp_path, changes, words, fix):
    err = error_of(scenario(tmp_path, changes))
    assert words in err.problem and fix in err.fix and err.file == str(tmp_path / "tx.yaml")


def test_numbers_as_ids_are_read_as_text(tmp_path):
    spec = ChangesSpec.model_validate({"remove_reps": [17], "exclude_accounts": [1001], "lock": {"accounts": [7]}})
    assert spec.remove_reps == ["17"] and spec.exclude_accounts == ["1001"] and spec.lock.accounts == ["7"]


# --- Notes reach the plan's outputs -----------------------------------------------------------


def test_the_notes_reach_summary_json_and_the_cli(tmp_path):
    path = scenario(tmp_path, {"remove_reps": ["R2"], "exclude_accounts": ["A000"]})
    out = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["plan", str(path), "--out", str(tmp_path / "out"), "-q",
                                                         "--store", str(tmp_path / "runs")])
    assert out.exit_code == 0, out.output
    assert "changes" in out.output and "reps removed: R2" in out.output and "accounts excluded: 1" in out.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["changes"] == ["reps removed: R2 (8 accounts re-planned)", "accounts excluded: 1"]
    assert pd.read_csv(tmp_path / "out" / "assignments.csv")["account_id"].nunique() == 31


# --- Invariants -----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(removed=st.sets(st.sampled_from(list(HOMES)), max_size=3),
       excluded=st.sets(st.integers(0, 31), max_size=6),
       top=st.integers(1, 10))
def test_changes_keep_the_tables_consistent(tmp_path, removed, excluded, top):
    inputs = load_inputs(load_scenario(scenario(tmp_path)))
    spec = ChangesSpec.model_validate({"remove_reps": sorted(removed), "exclude_accounts": [f"A{i:03d}" for i in sorted(excluded)],
                                       "lock": {"top": top}})
    changed, applied = apply_changes(inputs, spec, geometry="geographic", base_dir=tmp_path)
    a, r = changed.accounts, changed.reps
    assert set(r["rep_id"]) == set(HOMES) - removed
    assert len(a) == 32 - len(excluded) and a["account_id"].is_unique
    assert (a["current_rep_id"] == inputs.accounts.set_index("account_id").loc[a["account_id"], "current_rep_id"].values).all()
    locked = a.dropna(subset=["locked_rep_id"])
    assert (locked["locked_rep_id"] == locked["current_rep_id"]).all() and set(locked["locked_rep_id"]) <= set(r["rep_id"])
    owned = a[a["current_rep_id"].isin(r["rep_id"])]
    assert len(locked) == min(top, len(owned))
    if len(locked):  # the locked are the largest of the owned accounts
        rest = owned.drop(locked.index)["potential"]
        assert rest.empty or locked["potential"].min() >= rest.max()


def test_choosing_centers_without_reps_takes_account_changes_and_refuses_rep_changes(tmp_path):
    choose = {"territories": {"centers": "choose", "count": 3, "capacity": 200}, "data": {"accounts": "accounts.csv"}}
    inputs = load_inputs(load_scenario(scenario(tmp_path, {"exclude_accounts": ["A000"]}, **choose)))
    assert len(inputs.accounts) == 31 and len(inputs.reps) == 0 and inputs.notes == ("accounts excluded: 1",)
    for changes, key in (({"remove_reps": ["R1"]}, "remove_reps"), ({"lock": {"top": 3}}, "lock"),
                         ({"add_reps": [{"rep_id": "N1", "lat": 31, "lon": -97}]}, "add_reps")):
        err = error_of(scenario(tmp_path, changes, **choose))
        assert err.column == f"changes.{key}" and "centers: choose" in err.problem
