"""Scenario constraints (territory_planner/model/constraints.py): each is checked on the returned plan.

Every test builds a tiny case (40 accounts × 4 reps around New York) in ``tmp_path`` and
recomputes what the constraint promises from the *input* rows and the plan's
assignments — never from the planner's own summary numbers alone.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from territory_planner import plan, write_plan
from territory_planner.cli import app
from territory_planner.data.geo import haversine_km
from territory_planner.errors import InfeasibleError, InputError, ScenarioError
from territory_planner.outputs.files import FOLDER_MARK

N_ACCOUNTS, N_REPS = 40, 4
runner = CliRunner(env={"COLUMNS": "200"})


def accounts(n: int = N_ACCOUNTS, seed: int = 11) -> list[dict]:
    """Accounts in a 2°×2° box; segments alternate; today's owner is i mod 4 (scattered)."""
    rng = np.random.default_rng(seed)
    return [
        {
            "account_id": f"A{i:03d}",
            "name": f"Account {i}",
            "segment": "Enterprise" if i % 2 == 0 else "SMB",
            "lat": round(40 + rng.uniform(0, 2), 4),
            "lon": round(-75 + rng.uniform(0, 2), 4),
            "potential": int(rng.integers(800, 1200)),
            "workload": int(rng.integers(20, 30)),
            "current_rep_id": f"R{i % N_REPS}",
            "locked_rep_id": "",
        }
        for i in range(n)
    ]


def reps(capacity_hours: float = 400.0, n: int = N_REPS) -> list[dict]:
    return [
        {
            "rep_id": f"R{j}",
            "name": f"Rep {j}",
            "role": "Enterprise AE" if j < 2 else "Account Executive",
            "lat": 40.5 + (j // 2) % 2,
            "lon": -74.5 + j % 2,
            "capacity_hours": capacity_hours,
            "status": "active",
        }
        for j in range(n)
    ]


def write_case(folder, account_rows, rep_rows, **keys) -> str:
    """accounts.csv, reps.csv and scenario.yaml (``keys`` are scenario keys); returns the YAML path."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(account_rows).to_csv(folder / "accounts.csv", index=False)
    pd.DataFrame(rep_rows).to_csv(folder / "reps.csv", index=False)
    scenario = {
        "name": "case",
        "data": {"accounts": "accounts.csv", "reps": "reps.csv"},
        "balance": {"potential": 0.25},
        "solver": {"time_limit": 20},
        **keys,
    }
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return str(path)


def loads(result, column: str = "workload") -> pd.Series:
    return result.assignments.groupby("rep_id")[column].sum()


def check_basic(result, account_rows) -> None:
    """Every account exactly once, and the plan re-checks against its own problem."""
    a = result.assignments
    assert sorted(a["account_id"]) == sorted(r["account_id"] for r in account_rows)
    assert a["account_id"].is_unique
    ids = {t: j for j, t in enumerate(result.problem.territory_ids)}
    assert result.problem.violations(a["territory_id"].map(ids).to_numpy()) == []


# --- 1. Locks, eligibility, max distance ------------------------------------------------------


def test_locks_are_honoured_including_to_an_open_seat(tmp_path):
    rows, team = accounts(), reps()
    team[3]["status"] = "open"
    locks = {"A000": "R3", "A001": "R3", "A013": "R3", "A005": "R1"}  # A000/A001 lie far from R3
    for r in rows:
        r["locked_rep_id"] = locks.get(r["account_id"], "")
    result = plan(write_case(tmp_path, rows, team))
    check_basic(result, rows)
    got = result.assignments.set_index("account_id")["rep_id"]
    assert {a: got[a] for a in locks} == locks
    seat = result.territories.set_index("rep_id").loc["R3"]
    assert seat["status"] == "open" and seat["rep_name"] == "(open)" and seat["n_accounts"] >= 3
    assert (result.assignments.loc[result.assignments["rep_id"] == "R3", "rep_name"] == "(open)").all()
    # The open seat counts for capacity: its workload fits its capacity_hours.
    assert loads(result)["R3"] <= 400 + 1e-9
    write_plan(result, tmp_path / "out")
    written = pd.read_csv(tmp_path / "out" / "territories.csv", dtype={"rep_id": str}).set_index("rep_id")
    assert written.loc["R3", "rep_name"] == "(open)" and written.loc["R3", "status"] == "open"


def test_locks_that_overflow_a_territory_are_diagnosed(tmp_path):
    rows = accounts()
    for r in rows[:20]:  # ~500 hours locked to a rep with 400
        r["locked_rep_id"] = "R0"
    with pytest.raises(InfeasibleError) as info:
        plan(write_case(tmp_path, rows, reps()))
    text = str(info.value)
    assert "locks" in text and "T-R0" in text and "capacity" in text


def test_eligibility_keeps_segments_with_the_roles_that_may_serve_them(tmp_path):
    rows = accounts()
    eligibility = {"Enterprise AE": ["Enterprise"], "Account Executive": ["SMB"]}
    result = plan(write_case(tmp_path, rows, reps(), eligibility=eligibility))
    check_basic(result, rows)
    role = {r["rep_id"]: r["role"] for r in reps()}
    for segment, rep in zip(result.assignments["segment"], result.assignments["rep_id"], strict=True):
        assert segment in eligibility[role[rep]], (segment, rep)


def test_roles_not_listed_in_eligibility_serve_every_segment(tmp_path):
    rows = accounts()
    result = plan(write_case(tmp_path, rows, reps(), eligibility={"Enterprise AE": ["Enterprise"]}))
    role = {r["rep_id"]: r["role"] for r in reps()}
    a = result.assignments
    assert (a.loc[a["rep_id"].map(role) == "Enterprise AE", "segment"] == "Enterprise").all()
    assert set(a["segment"]) == {"Enterprise", "SMB"}


@pytest.mark.parametrize(
    "eligibility, named, valid",
    [
        ({"Enterprise Rep": ["Enterprise"]}, "Enterprise Rep", ["Account Executive", "Enterprise AE"]),
        ({"Enterprise AE": ["Entreprise"]}, "Entreprise", ["Enterprise", "SMB"]),
    ],
)
def test_unknown_role_or_segment_in_eligibility_names_the_valid_ones(tmp_path, eligibility, named, valid):
    with pytest.raises(ScenarioError) as info:
        plan(write_case(tmp_path, accounts(), reps(), eligibility=eligibility))
    text = str(info.value)
    assert named in text and all(v in text for v in valid)


def test_an_account_no_role_may_serve_is_named(tmp_path):
    rows = accounts()
    rows[4]["segment"] = "Mid-Market"
    eligibility = {"Enterprise AE": ["Enterprise"], "Account Executive": ["SMB"]}
    with pytest.raises(InfeasibleError) as info:
        plan(write_case(tmp_path, rows, reps(), eligibility=eligibility))
    assert "A004" in str(info.value) and "eligibility" in str(info.value)


def test_a_lock_eligibility_forbids_is_a_conflict_naming_the_account(tmp_path):
    rows = accounts()
    rows[1]["locked_rep_id"] = "R0"  # A001 is SMB; R0 is an Enterprise AE
    with pytest.raises(InfeasibleError) as info:
        plan(write_case(tmp_path, rows, reps(), eligibility={"Enterprise AE": ["Enterprise"]}))
    assert "A001" in str(info.value) and "eligibility" in str(info.value)


def test_max_distance_keeps_every_assignment_within_it(tmp_path):
    rows = accounts(seed=13)
    free = plan(write_case(tmp_path / "free", rows, reps(), balance={"potential": 0.05}))
    limit = round(0.97 * float(free.assignments["distance_km"].max()), 2)  # the free plan breaks it
    result = plan(write_case(tmp_path / "cap", rows, reps(), balance={"potential": 0.05}, max_distance_km=limit))
    check_basic(result, rows)
    source = pd.DataFrame(rows).set_index("account_id").loc[result.assignments["account_id"]]
    home = pd.DataFrame(reps()).set_index("rep_id").loc[result.assignments["rep_id"]]
    distance = haversine_km(source["lat"].to_numpy(), source["lon"].to_numpy(), home["lat"].to_numpy(), home["lon"].to_numpy())
    assert distance.max() <= limit
    assert result.objective >= free.objective - 1e-6


def test_an_account_out_of_range_of_every_rep_is_named(tmp_path):
    rows = accounts()
    rows[7]["lat"], rows[7]["lon"] = 45.0, -70.0  # ~500 km away
    path = write_case(tmp_path, rows, reps(), max_distance_km=300)
    with pytest.raises(InfeasibleError) as info:
        plan(path)
    assert "A007" in str(info.value) and "max_distance_km" in str(info.value)
    result = runner.invoke(app, ["plan", path, "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 2 and "A007" in result.output
    assert not (tmp_path / "out").exists()


def test_a_lock_beyond_max_distance_is_a_conflict_naming_the_account(tmp_path):
    rows = accounts()
    rows[7]["lat"], rows[7]["lon"] = 45.0, -70.0
    rows[7]["locked_rep_id"] = "R2"
    with pytest.raises(InfeasibleError) as info:
        plan(write_case(tmp_path, rows, reps(), max_distance_km=300))
    assert "A007" in str(info.value) and "max_distance_km" in str(info.value)


# --- 2. Continuity ----------------------------------------------------------------------------


def kept(result, account_rows, by: str) -> float:
    source = pd.DataFrame(account_rows).set_index("account_id")
    a = result.assignments.set_index("account_id")
    w = pd.Series(1.0, index=source.index) if by == "accounts" else source[by].astype(float)
    stayed = a.loc[source.index, "rep_id"].to_numpy() == source["current_rep_id"].to_numpy()
    return float(w[stayed].sum() / w.sum())


@pytest.mark.parametrize("by", ["potential", "accounts"])
def test_continuity_min_kept_holds_and_costs_distance(tmp_path, by):
    rows = accounts()
    free = plan(write_case(tmp_path / "free", rows, reps()))
    assert kept(free, rows, by) < 0.8  # today's alignment is scattered: the floor binds
    result = plan(write_case(tmp_path / "kept", rows, reps(), continuity={"min_kept": 0.8, "by": by}))
    check_basic(result, rows)
    share = kept(result, rows, by)
    assert share >= 0.8 - 1e-9
    assert result.kpis[f"kept_share_by_{by}"] == pytest.approx(share)
    assert result.objective >= free.objective - 1e-6


def test_continuity_by_an_unknown_column_is_an_input_error(tmp_path):
    with pytest.raises(InputError) as info:
        plan(write_case(tmp_path, accounts(), reps(), continuity={"min_kept": 0.8, "by": "revenue"}))
    assert "revenue" in str(info.value)


def test_a_huge_continuity_penalty_moves_nobody_when_keeping_all_is_feasible(tmp_path):
    rows = accounts()
    result = plan(write_case(tmp_path, rows, reps(), balance={"potential": 0.3}, continuity={"penalty": 1e7}))
    check_basic(result, rows)
    a = result.assignments
    assert not a["moved"].any()
    assert kept(result, rows, "accounts") == 1.0
    # The objective is the distance of the kept alignment (no penalty paid).
    assert result.objective == pytest.approx(float((a["distance_km"] * a["workload"]).sum()), rel=1e-9)


def test_continuity_penalty_prices_each_move(tmp_path):
    rows = accounts()
    penalty = 50.0
    result = plan(write_case(tmp_path, rows, reps(), continuity={"penalty": penalty}))
    a = result.assignments
    expected = float((a["distance_km"] * a["workload"]).sum()) + penalty * int(a["moved"].sum())
    assert result.objective == pytest.approx(expected, rel=1e-9)
    assert 0 < a["moved"].sum() < len(a)


# --- 3. Vacancies, ramp, count: auto -----------------------------------------------------------


def test_new_hire_capacity_is_scaled_by_ramp(tmp_path):
    rows, team = accounts(), reps()
    for r in team:
        r["ramp"] = ""
    team[2]["status"], team[2]["ramp"] = "new_hire", 0.5
    team[0]["ramp"] = 0.5  # ignored: only new hires ramp
    result = plan(write_case(tmp_path, rows, team))
    capacity = result.territories.set_index("rep_id")["capacity_hours"]
    assert capacity.to_dict() == {"R0": 400, "R1": 400, "R2": 200, "R3": 400}
    assert loads(result)["R2"] <= 200 + 1e-9


def test_count_auto_uses_the_fewest_reps_that_carry_the_workload(tmp_path):
    rows = accounts()
    capacities = [300, 450, 300, 250, 450, 200]
    statuses = ["active", "active", "open", "active", "open", "new_hire"]
    team = reps(n=6)
    for r, cap, status in zip(team, capacities, statuses, strict=True):
        r["capacity_hours"], r["status"] = cap, status
    path = write_case(tmp_path, rows, team, balance={}, territories={"centers": "reps", "count": "auto"})
    result = plan(path)
    check_basic(result, rows)
    total = sum(r["workload"] for r in rows)
    k = len(result.territories)
    top = sorted(capacities, reverse=True)
    assert sum(top[: k - 1]) < total <= sum(top[:k])  # k − 1 reps cannot carry it
    cap = result.territories.set_index("rep_id")["capacity_hours"]
    assert (loads(result).reindex(cap.index).fillna(0) <= cap + 1e-9).all()
    left = result.summary()["reps_without_territory"]
    assert len(left) == 6 - k and not set(left) & set(result.territories["rep_id"])
    done = runner.invoke(app, ["plan", path, "--out", str(tmp_path / "out"), "--quiet"])
    assert done.exit_code == 0 and "reps without territory" in done.output
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["reps_without_territory"] == left


def test_count_auto_adds_a_rep_when_the_fewest_cannot_make_a_feasible_plan(tmp_path):
    rows = accounts()
    rows.append({**rows[0], "account_id": "FAR", "lat": 44.0, "lon": -70.0})
    for r in rows:
        r["current_rep_id"] = ""
    team = reps(n=3)
    team[0]["capacity_hours"] = team[1]["capacity_hours"] = 700  # these two carry the workload…
    team[2].update(lat=44.1, lon=-70.1, capacity_hours=100)  # …but only R2 is near FAR
    result = plan(write_case(tmp_path, rows, team, balance={}, max_distance_km=200,
                             territories={"centers": "reps", "count": "auto"}))
    assert len(result.territories) == 3
    assert result.assignments.set_index("account_id").loc["FAR", "rep_id"] == "R2"


def test_count_auto_that_no_team_size_satisfies_says_so_and_why(tmp_path):
    rows = accounts()
    for r in rows:
        r["current_rep_id"] = ""
    team = reps(n=3)
    for r in team:
        r["capacity_hours"] = 700
    total = sum(r["workload"] for r in rows)
    path = write_case(tmp_path, rows, team, balance={}, territories={"centers": "reps", "count": "auto"})
    # Reachable only by the team of 3 once capacity is tight; impossible with a 1 km radius.
    with pytest.raises(InfeasibleError) as caught:
        plan(path, max_distance_km=1)
    text = str(caught.value)
    first = next(k for k in range(1, 4) if 700 * k >= total)
    tried = "3" if first == 3 else f"{first} to 3"
    assert f"territories.count: auto tried {tried} territories" in text and "even with all 3 reps" in text
    assert "max_distance_km" in text  # the whole team's own diagnosis follows
    assert any(c.constraint == "territories.count: auto" for c in caught.value.diagnosis.conflicts)
    done = runner.invoke(app, ["plan", path, "--out", str(tmp_path / "out"), "--quiet"])
    assert done.exit_code == 0  # without the radius the same file plans


# --- 4. Target shares ---------------------------------------------------------------------------


def test_target_shares_centre_each_territory_on_its_target(tmp_path):
    rows, team = accounts(), reps(capacity_hours=600)
    shares = [1.2, 1.0, 1.0, 0.8]
    for r, s in zip(team, shares, strict=True):
        r["target_share"] = s
    tol = 0.05
    result = plan(write_case(tmp_path, rows, team, balance={"potential": tol}))
    check_basic(result, rows)
    total = sum(r["potential"] for r in rows)
    got = loads(result, "potential")
    for r, s in zip(team, shares, strict=True):
        target = s / sum(shares) * total
        assert abs(got[r["rep_id"]] - target) <= tol * target + 1e-6
    dev = result.territories.set_index("rep_id")["potential_dev_pct"]
    assert (dev.abs() <= 100 * tol + 1e-6).all()
    assert dev.abs().max() < 100 * 0.2  # measured against the target, not the mean
    # The map's popups say what the deviation is measured against.
    from territory_planner.outputs.maps import plan_map

    html = plan_map(result).get_root().render()
    assert "vs target (1.2 share)" in html and "vs mean" not in html


# --- 5. Non-geographic alignment ----------------------------------------------------------------


def test_geometry_none_plans_without_coordinates_and_draws_no_map(tmp_path):
    rows = [{k: v for k, v in r.items() if k not in ("lat", "lon")} for r in accounts()]
    team = [{k: v for k, v in r.items() if k not in ("lat", "lon")} for r in reps()]
    balance = {"potential": 0.05, "workload": 0.1}
    path = write_case(tmp_path, rows, team, geometry="none", balance=balance, continuity={"penalty": 1})
    result = plan(path)
    check_basic(result, rows)
    for column, tol in balance.items():
        mean = sum(r[column] for r in rows) / N_REPS
        assert ((loads(result, column) - mean).abs() <= tol * mean + 1e-6).all()
    assert result.assignments["distance_km"].isna().all()
    assert result.objective == pytest.approx(result.assignments["moved"].sum())  # only the penalty
    done = runner.invoke(app, ["plan", path, "--out", str(tmp_path / "out"), "--quiet"])
    assert done.exit_code == 0, done.output
    assert not (tmp_path / "out" / "map.html").exists()
    assert "not drawn" in json.loads((tmp_path / "out" / "summary.json").read_text())["map"]
    written = pd.read_csv(tmp_path / "out" / "assignments.csv")
    assert written["distance_km"].isna().all()


def test_geometry_none_accepts_blank_coordinates_that_geographic_refuses(tmp_path):
    rows = accounts()
    rows[3]["lat"] = rows[3]["lon"] = ""
    with pytest.raises(InputError):
        plan(write_case(tmp_path / "geo", rows, reps()))
    result = plan(write_case(tmp_path / "none", rows, reps(), geometry="none"))
    check_basic(result, rows)


# --- 6. Custom costs ------------------------------------------------------------------------------


def test_cost_matrix_replaces_distance_in_the_objective(tmp_path):
    rows = accounts()
    path = write_case(tmp_path, rows, reps())
    rng = np.random.default_rng(3)
    cost = rng.uniform(10, 100, (N_ACCOUNTS, N_REPS))
    result = plan(path, cost_matrix=cost)
    check_basic(result, rows)
    i = np.arange(N_ACCOUNTS)
    j = result.assignments["rep_id"].str[1:].astype(int).to_numpy()
    assert result.objective == pytest.approx(cost[i, j].sum(), rel=1e-9)
    assert result.assignments["distance_km"].notna().all()  # still reported from geography
    # A DataFrame in any order, indexed by account_id with rep_id columns, means the same.
    frame = pd.DataFrame(cost, index=[r["account_id"] for r in rows], columns=[f"R{k}" for k in range(N_REPS)])
    again = plan(path, cost_matrix=frame.iloc[::-1, ::-1])
    assert again.objective == pytest.approx(result.objective, rel=1e-9)


@pytest.mark.parametrize(
    "bad, words",
    [
        (np.ones((N_ACCOUNTS, N_REPS + 1)), ["shape", "(40, 4)"]),
        (np.ones((N_ACCOUNTS - 1, N_REPS)), ["shape", "(40, 4)"]),
        (pd.DataFrame(1.0, index=[f"A{i:03d}" for i in range(N_ACCOUNTS)], columns=["R0", "R1", "R2"]), ["R3"]),
        (np.full((N_ACCOUNTS, N_REPS), np.nan), ["not finite", "A000"]),
    ],
)
def test_a_bad_cost_matrix_is_a_clear_error(tmp_path, bad, words):
    with pytest.raises(InputError) as info:
        plan(write_case(tmp_path, accounts(), reps()), cost_matrix=bad)
    assert all(w in str(info.value) for w in words), str(info.value)


# --- 7. Through the CLI ----------------------------------------------------------------------------


def test_cli_plans_continuity_and_eligibility_from_the_scenario_file(tmp_path):
    rows = accounts()
    eligibility = {"Enterprise AE": ["Enterprise", "SMB"], "Account Executive": ["SMB"]}
    path = write_case(tmp_path, rows, reps(), eligibility=eligibility, continuity={"min_kept": 0.5, "by": "potential"})
    done = runner.invoke(app, ["plan", path, "--out", str(tmp_path / "out"), "--quiet"])
    assert done.exit_code == 0, done.output
    assert "kept with owner" in done.output
    a = pd.read_csv(tmp_path / "out" / "assignments.csv", dtype={"rep_id": str, "current_rep_id": str})
    role = {r["rep_id"]: r["role"] for r in reps()}
    assert all(seg in eligibility[role[rep]] for seg, rep in zip(a["segment"], a["rep_id"], strict=True))
    potential = a["potential"].astype(float)
    assert potential[a["rep_id"] == a["current_rep_id"]].sum() >= 0.5 * potential.sum() - 1e-6


def test_cli_names_an_unknown_segment_with_exit_code_1(tmp_path):
    path = write_case(tmp_path, accounts(), reps(), eligibility={"Enterprise AE": ["Mid-Market"]})
    done = runner.invoke(app, ["plan", path, "--out", str(tmp_path / "out"), "--quiet"])
    assert done.exit_code == 1
    assert "Mid-Market" in done.output and "Enterprise, SMB" in done.output


def test_write_plan_renders_everything_before_writing_anything(tmp_path, monkeypatch):
    """A failure while rendering the map must not leave assignments.csv behind half a plan."""
    import territory_planner.outputs.maps as maps

    result = plan(write_case(tmp_path, accounts(), reps()))

    def broken_map(*args, **kwargs):
        raise RuntimeError("map rendering failed")

    monkeypatch.setattr(maps, "plan_map", broken_map)
    with pytest.raises(RuntimeError, match="map rendering failed"):
        write_plan(result, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    monkeypatch.undo()
    written = write_plan(result, tmp_path / "out")
    # The files written, and the mark that says the folder was written whole by the program.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [FOLDER_MARK, *(p.name for p in written.values())])
    assert {"assignments.csv", "territories.csv", "summary.json", "map.html"} <= {p.name for p in written.values()}
