"""Comparing plans: the moves and rep changes a planner would count by hand, KPI deltas, an offline report.

Hand-built plans (six accounts, three reps, a fourth rep in plan C) give moves and rep
changes written out row by row; two tiny scenarios solved in about a second give real
KPIs for the deltas. The report is checked for loaded resources (none outside the page),
escaping of user text, CSV round trips and, in headless Chromium with the network off,
for tables, charts and maps that render without a console error.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from territory_planner.kpis import plan_kpis, territory_table
from territory_planner.optimize.solution import Solution
from territory_planner.outputs.compare import (
    MOVE_COLUMNS,
    REP_COLUMNS,
    compare_plans,
    print_comparison,
)
from territory_planner.outputs.compare_report import render_report, write_comparison
from territory_planner.outputs.files import FOLDER_MARK
from territory_planner.plan import Plan
from territory_planner.scenario import parse_scenario

EVIL = "<script>alert(1)</script>"
TODAY = {"A1": "R1", "A2": "R1", "A3": "R2", "A4": "R2", "A5": "R3", "A6": "R3", "A7": "R3"}
HOMES = {"R1": (38.0, -98.0), "R2": (38.5, -96.0), "R3": (37.5, -95.0), "R4": (39.0, -97.0)}


def coords(account: str) -> tuple[float, float]:
    i = int(account[1:])
    return 37.2 + 0.45 * (i % 3), -98.4 + 0.55 * i


def distance_km(account: str, rep: str) -> float:
    """A made-up but fixed distance: 10 × account number + rep number (A2 to R1: 21 km)."""
    return 10.0 * int(account[1:]) + int(rep[1:])


def hand_plan(owners: dict[str, str], *, quota: dict[str, float] | None = None, names: dict[str, str] | None = None,
              rep_names: dict[str, str] | None = None, scenario_name: str = "hand", capacity=True,
              reps_extra: dict[str, list] | None = None, with_kpis: bool = True) -> Plan:
    """A plan of accounts ``A<i>`` (potential 100·i, workload i) owned as ``owners`` says."""
    names, rep_names = names or {}, rep_names or {}
    accounts = list(owners)
    reps = list(dict.fromkeys(sorted(owners.values())))
    a = pd.DataFrame({
        "account_id": accounts,
        "name": [names.get(k, f"Account {k}") for k in accounts],
        "segment": "SMB",
        "lat": [coords(k)[0] for k in accounts], "lon": [coords(k)[1] for k in accounts],
        "potential": [100.0 * int(k[1:]) for k in accounts], "workload": [float(k[1:]) for k in accounts],
        "territory_id": ["T-" + owners[k] for k in accounts], "rep_id": [owners[k] for k in accounts],
        "rep_name": [rep_names.get(owners[k], f"Rep {owners[k]}") for k in accounts],
        "distance_km": [distance_km(k, owners[k]) for k in accounts],
        "current_rep_id": [TODAY[k] for k in accounts],
    })
    a["moved"] = a["rep_id"] != a["current_rep_id"]
    base = pd.DataFrame({
        "territory_id": ["T-" + r for r in reps], "rep_id": reps, "rep_name": [rep_names.get(r, f"Rep {r}") for r in reps],
        "status": "active", "home_lat": [HOMES[r][0] for r in reps], "home_lon": [HOMES[r][1] for r in reps],
        "capacity_hours": 100.0,
    })
    territories = territory_table(a, base, ["potential"])
    if quota is not None:
        territories["quota"] = [quota[r] for r in reps]
    scenario = parse_scenario({"name": scenario_name, "data": {"accounts": "accounts.csv", "reps": "reps.csv"},
                               "balance": {"potential": 0.25}, "capacity": capacity})
    reps_table = base[["rep_id", "rep_name"]].copy()
    for column, values in (reps_extra or {}).items():
        reps_table[column] = values
    # As read back from a folder: no solver problem, no assignment vector to lean on.
    solution = Solution(assignment=np.array([], dtype=int), status="optimal", objective=float(a["distance_km"].sum()),
                        bound=float(a["distance_km"].sum()) - 1.0, backend="test", seconds=0.5)
    kpis = plan_kpis(a, territories, ["potential"]) if with_kpis else {}
    return Plan(scenario, a, territories, reps_table, solution, kpis)


A_OWNERS = {"A1": "R1", "A2": "R1", "A3": "R2", "A4": "R2", "A5": "R3", "A6": "R3"}
B_OWNERS = {"A1": "R1", "A2": "R2", "A3": "R2", "A4": "R2", "A5": "R1", "A6": "R3"}
# C: a new rep R4 takes A1 and A3; A6 is gone, A7 is new.
C_OWNERS = {"A1": "R4", "A2": "R1", "A3": "R4", "A4": "R2", "A5": "R3", "A7": "R3"}


@pytest.fixture(scope="module")
def hand():
    plans = [hand_plan(A_OWNERS, quota={"R1": 1000.0, "R2": 2000.0, "R3": 3000.0}),
             hand_plan(B_OWNERS),
             hand_plan(C_OWNERS, quota={"R1": 900.0, "R2": 1800.0, "R3": 3100.0, "R4": 500.0})]
    labels = ["A", "B", "C"]
    return plans, labels, compare_plans(plans, labels)


# --------------------------------------------------------------------------- moves


def test_moves_equal_the_hand_computed_diff(hand):
    _, _, comparison = hand
    nan = math.nan
    expected = pd.DataFrame(
        [
            ["B", "A2", "Account A2", "T-R1", "R1", "T-R2", "R2", 200.0, 2.0, 21.0, 22.0, "moved"],
            ["B", "A5", "Account A5", "T-R3", "R3", "T-R1", "R1", 500.0, 5.0, 53.0, 51.0, "moved"],
            ["C", "A1", "Account A1", "T-R1", "R1", "T-R4", "R4", 100.0, 1.0, 11.0, 14.0, "moved"],
            ["C", "A3", "Account A3", "T-R2", "R2", "T-R4", "R4", 300.0, 3.0, 32.0, 34.0, "moved"],
            ["C", "A6", "Account A6", "T-R3", "R3", None, None, 600.0, 6.0, 63.0, nan, "removed"],
            ["C", "A7", "Account A7", None, None, "T-R3", "R3", 700.0, 7.0, nan, 73.0, "added"],
        ],
        columns=MOVE_COLUMNS, dtype=object,
    )
    for column in ("potential", "workload", "distance_km_before", "distance_km_after"):
        expected[column] = expected[column].astype(float)
    assert list(comparison.moves.columns) == MOVE_COLUMNS
    pd.testing.assert_frame_equal(comparison.moves, expected, check_dtype=False)


def test_moves_are_ordered_by_plan_then_account_id_numerically_when_ids_are_numbers():
    a, b = hand_plan(A_OWNERS), hand_plan(B_OWNERS)
    renumber = {"A1": 100, "A2": 9, "A3": 10, "A4": 11, "A5": 2, "A6": 3}
    a_num = Plan(a.scenario, a.assignments.assign(account_id=a.assignments["account_id"].map(renumber)), a.territories,
                 a.reps, a.solution, a.kpis)
    moved = {"A1": "R2", "A2": "R2", "A3": "R1", "A5": "R1"}
    owners = {k: moved.get(k, v) for k, v in A_OWNERS.items()}
    b = hand_plan(owners)
    b_num = Plan(b.scenario, b.assignments.assign(account_id=b.assignments["account_id"].map(renumber).astype(float)),
                 b.territories, b.reps, b.solution, b.kpis)
    moves = compare_plans([a_num, b_num], ["A", "B"]).moves
    assert [int(v) for v in moves["account_id"]] == [2, 9, 10, 100]  # 9 before 10 before 100; ints match floats


def test_no_moves_between_a_plan_and_itself(hand):
    plans, _, _ = hand
    comparison = compare_plans([plans[0], plans[0]], ["A", "again"])
    assert comparison.moves.empty and list(comparison.moves.columns) == MOVE_COLUMNS
    assert (comparison.reps[["accounts_net", "potential_net", "workload_net"]] == 0).all().all()
    numeric = comparison.kpis[comparison.kpis["key"] != "status"]
    deltas = pd.to_numeric(numeric["delta again"], errors="coerce")
    assert (deltas.dropna() == 0).all()


# --------------------------------------------------------------------------- reps


def test_reps_gain_and_lose_what_the_moves_say(hand):
    _, _, comparison = hand
    reps = comparison.reps.set_index(["plan", "rep_id"])
    assert list(comparison.reps.columns) == REP_COLUMNS
    expected = {  # (plan, rep): gained, lost, net accounts; potential gained, lost; workload net
        ("B", "R1"): (1, 1, 0, 500.0, 200.0, 3.0),
        ("B", "R2"): (1, 0, 1, 200.0, 0.0, 2.0),
        ("B", "R3"): (0, 1, -1, 0.0, 500.0, -5.0),
        ("C", "R1"): (0, 1, -1, 0.0, 100.0, -1.0),
        ("C", "R2"): (0, 1, -1, 0.0, 300.0, -3.0),
        ("C", "R3"): (1, 1, 0, 700.0, 600.0, 1.0),
        ("C", "R4"): (2, 0, 2, 400.0, 0.0, 4.0),  # the new rep gains everything it has
    }
    assert set(reps.index) == set(expected)
    for key, (gained, lost, net, p_gained, p_lost, w_net) in expected.items():
        row = reps.loc[key]
        assert (row["accounts_gained"], row["accounts_lost"], row["accounts_net"]) == (gained, lost, net), key
        assert (row["potential_gained"], row["potential_lost"]) == (p_gained, p_lost), key
        assert row["potential_net"] == p_gained - p_lost and row["workload_net"] == pytest.approx(w_net), key
    assert reps.loc[("C", "R4"), "rep_name"] == "Rep R4"
    # Quotas: plan A and C have them (a rep without a territory has none), plan B has none.
    assert (reps.loc[("C", "R4"), ["quota_before", "quota_after", "quota_change"]] == [0.0, 500.0, 500.0]).all()
    assert (reps.loc[("C", "R3"), ["quota_before", "quota_after", "quota_change"]] == [3000.0, 3100.0, 100.0]).all()
    assert reps.loc[("B", "R1"), "quota_before"] == 1000.0 and math.isnan(reps.loc[("B", "R1"), "quota_after"])
    assert [r for p, r in reps.index if p == "C"] == ["R1", "R2", "R3", "R4"]  # plan A's reps first, then new ones


def test_rep_changes_sum_to_zero_when_both_plans_hold_the_same_accounts(hand, tiny):
    _, _, comparison = hand
    b = comparison.reps[comparison.reps["plan"] == "B"]
    for column in ("accounts_net", "potential_net", "workload_net"):
        assert b[column].sum() == pytest.approx(0.0, abs=1e-9)
    assert b["potential_gained"].sum() == b["potential_lost"].sum() == 700.0
    plans, labels = tiny
    solved = compare_plans(plans, labels)
    assert len(solved.moves) > 0
    for label in labels[1:]:
        rows = solved.reps[solved.reps["plan"] == label]
        assert rows["potential_net"].sum() == pytest.approx(0.0, abs=1e-6)
        assert rows["accounts_gained"].sum() == rows["accounts_lost"].sum() == (solved.moves["plan"] == label).sum()


# --------------------------------------------------------------------------- KPIs


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Two small geographic scenarios solved for real: loose and tight potential balance."""
    from territory_planner.pipeline import plan

    folder = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(5)
    n, homes = 24, [(38.2, -98.0), (38.9, -95.8), (37.4, -96.6)]
    accounts = pd.DataFrame({
        "account_id": [f"A{i:02d}" for i in range(n)], "name": [f"Account {i}" for i in range(n)],
        "lat": rng.uniform(37.0, 39.5, n).round(4), "lon": rng.uniform(-98.8, -95.2, n).round(4),
        "potential": rng.integers(800, 1200, n), "workload": rng.integers(20, 30, n),
        "current_rep_id": [f"R{i % 3}" for i in range(n)],
    })
    reps = pd.DataFrame({"rep_id": [f"R{j}" for j in range(3)], "name": [f"Rep {j}" for j in range(3)],
                         "lat": [h[0] for h in homes], "lon": [h[1] for h in homes], "capacity_hours": 400.0})
    accounts.to_csv(folder / "accounts.csv", index=False)
    reps.to_csv(folder / "reps.csv", index=False)
    raw = {"name": "tiny", "data": {"accounts": "accounts.csv", "reps": "reps.csv"},
           "balance": {"potential": 0.15}, "solver": {"time_limit": 20}}
    scenario = parse_scenario(raw, base_dir=folder)
    loose = plan(scenario)
    tight = plan(scenario, balance={"potential": 0.02, "workload": 0.10})
    return [loose, tight], ["loose", "tight"]


def test_kpi_values_are_the_plans_and_deltas_are_the_differences(tiny):
    plans, labels = tiny
    kpis = compare_plans(plans, labels).kpis
    assert list(kpis.columns) == ["kpi", "unit", "loose", "tight", "delta tight", "better", "key"]
    rows = kpis.set_index("key")
    for key, row in rows.iterrows():
        if key == "status":
            assert (row["loose"], row["tight"]) == (plans[0].status, plans[1].status)
            assert math.isnan(row["delta tight"])
            continue
        a, b = float(row["loose"]), float(row["tight"])
        if math.isfinite(a) and math.isfinite(b):
            assert row["delta tight"] == pytest.approx(b - a), key
        else:
            assert math.isnan(row["delta tight"]), key
        for plan, value in zip(plans, (a, b), strict=True):
            if key in plan.kpis:
                assert value == pytest.approx(plan.kpis[key], nan_ok=True), key
    assert rows.loc["objective", "loose"] == pytest.approx(plans[0].objective)
    assert rows.loc["gap", "tight"] == pytest.approx(plans[1].gap)
    # workload has a band only in the tight plan: its rows are there for both plans
    assert {"potential_max_dev_pct", "workload_max_dev_pct", "accounts_moved_share", "headcount"} <= set(rows.index)
    assert rows.loc["potential_max_dev_pct", "tight"] <= 2.0 + 1e-6
    assert rows.loc["potential_max_dev_pct", "better"] == "lower"


#: KPI rows whose numbers a plan's tables could also give: the comparison must take plan.kpis'.
TABLE_KPIS = ("potential_max_dev_pct", "potential_cv", "potential_gini", "mean_distance_km", "max_distance_km",
              "workload_weighted_mean_distance_km", "potential_within_coverage_share", "accounts_moved",
              "accounts_moved_share", "potential_moved_share", "utilisation_min", "utilisation_max", "headcount",
              "open_seats")


def test_kpis_are_the_plans_own_never_recomputed_from_its_tables(hand):
    """One source for every KPI (territory_planner.kpis, as summary.json states it): a
    plan's kpis are shown as they are, and a KPI a plan lacks stays missing."""
    plans, _, _ = hand
    stated = {key: 7.0 + i for i, key in enumerate(TABLE_KPIS)}
    own = dataclasses.replace(plans[1], kpis=dict(plans[1].kpis, **stated))
    bare = dataclasses.replace(plans[1], kpis={})
    kpis = compare_plans([plans[0], own, bare], ["A", "own", "bare"]).kpis.set_index("key")
    for key, value in stated.items():
        assert float(kpis.loc[key, "own"]) == value, key
        assert math.isnan(float(kpis.loc[key, "bare"])), key  # not filled in from the tables
    assert math.isnan(kpis.loc["cost", "bare"])


def test_cost_comes_from_the_capacity_section_or_the_reps_file():
    capacity = {"allocation": {"cost_per_rep": 180000, "response": {"West": {"a": 9e7, "b": 1e7, "c": 1.5, "d": 40}}}}
    with_section = hand_plan(A_OWNERS, capacity=capacity)
    with_column = hand_plan(B_OWNERS, reps_extra={"cost": [100.0, 200.0, 300.0]})
    without = hand_plan(B_OWNERS)
    kpis = compare_plans([with_section, with_column, without], ["section", "column", "none"]).kpis.set_index("key")
    assert kpis.loc["cost", "section"] == 3 * 180000
    assert kpis.loc["cost", "column"] == 600.0
    assert math.isnan(kpis.loc["cost", "none"])
    assert kpis.loc["cost", "delta column"] == 600.0 - 540000


def test_quota_rows_only_where_a_plan_has_quotas(hand):
    plans, _, comparison = hand
    assert "quota_coverage_ratio" not in set(comparison.kpis["key"])  # no plan has a revenue target
    extra = dict(plans[0].kpis, quota_coverage_ratio=1.1, quota_attainment_p10=0.8, quota_attainment_p90=1.05)
    with_quota = Plan(plans[0].scenario, plans[0].assignments, plans[0].territories, plans[0].reps, plans[0].solution, extra)
    kpis = compare_plans([with_quota, plans[1]], ["q", "B"]).kpis.set_index("key")
    assert kpis.loc["quota_attainment_spread", "q"] == pytest.approx(0.25)
    assert math.isnan(kpis.loc["quota_attainment_spread", "B"])


# --------------------------------------------------------------------------- objectives

WORKLOAD_KM = "workload-weighted km (hours × km)"
POTENTIAL_KM = "potential-weighted km"


def labelled(plan: Plan, cost_label: str, objective: float | None = None) -> Plan:
    """``plan`` as read back from a folder whose objective measures ``cost_label``."""
    solution = plan.solution if objective is None else dataclasses.replace(plan.solution, objective=objective,
                                                                             bound=objective - 1.0)
    return dataclasses.replace(plan, objective_label=cost_label, solution=solution)


def test_objectives_that_measure_different_things_get_no_delta(hand):
    plans, _, _ = hand
    a = labelled(plans[0], WORKLOAD_KM, 38_255.0)
    b = labelled(plans[1], POTENTIAL_KM, 1_597_408.0)
    c = labelled(plans[2], WORKLOAD_KM, 37_000.0)
    comparison = compare_plans([a, b, c], ["A", "B", "C"])
    rows = comparison.kpis.set_index("key")
    for key in ("objective", "bound"):
        assert math.isnan(rows.loc[key, "delta B"]), key  # B's objective is another measure
        assert rows.loc[key, "delta C"] == pytest.approx(rows.loc[key, "C"] - rows.loc[key, "A"]), key
    assert rows.loc["objective", "B"] == 1_597_408.0  # each plan's value is still shown
    assert rows.loc["gap", "delta B"] == pytest.approx(b.gap - a.gap)  # the gap is relative: comparable
    name = rows.loc["objective", "kpi"]
    assert "not comparable" in name and f"A, C: {WORKLOAD_KM}" in name and f"B: {POTENTIAL_KM}" in name
    assert any("not comparable" in note and "B" in note for note in comparison.notes)

    console = Console(record=True, width=300)
    print_comparison(comparison, console)
    text = console.export_text()
    line = next(line for line in text.splitlines() if "38,255" in line)
    assert "+1,559,153" not in line and "-1,255" in line  # no A→B delta; A→C's is there
    assert "not comparable" in text

    page = render_report(comparison, [a, b, c], ["A", "B", "C"])
    row = next(r for r in re.findall(r"<tr>.*?</tr>", page) if "not comparable" in r and "<td" in r)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells[5] == "" and "worse" not in row.split("</td>")[5]  # Δ B: empty, not red
    assert "objective and bound not comparable" in page
    # The trade-off chart does not put both objectives on one axis: it shows the mean distance.
    tradeoff = page[page.rindex("<figure class='chart'>"):]
    assert "mean distance (km)" in tradeoff and "measure different things" in tradeoff


def test_plans_with_the_same_objective_keep_their_deltas(hand):
    plans, _, _ = hand
    same = [labelled(plans[0], WORKLOAD_KM, 100.0), labelled(plans[1], WORKLOAD_KM, 90.0)]
    comparison = compare_plans(same, ["A", "B"])
    rows = comparison.kpis.set_index("key")
    assert rows.loc["objective", "kpi"] == f"objective ({WORKLOAD_KM})"
    assert rows.loc["objective", "delta B"] == -10.0 and rows.loc["bound", "delta B"] == -10.0
    assert not any("not comparable" in note for note in comparison.notes)


# --------------------------------------------------------------------------- labels


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["A", "A"], "labels must be unique"),
        (["A"], "2 plans but 1 labels"),
        (["A", ""], "non-empty"),
        (["A", "kpi"], "clash"),
        (["A", "delta B"], "clash"),
    ],
)
def test_labels_must_be_unique_and_usable(hand, labels, message):
    plans, _, _ = hand
    with pytest.raises(ValueError, match=message):
        compare_plans(plans[:2], labels)


def test_at_least_two_plans(hand):
    plans, _, _ = hand
    with pytest.raises(ValueError, match="at least 2 plans"):
        compare_plans(plans[:1], ["A"])


def test_an_account_listed_twice_is_refused(hand):
    plans, _, _ = hand
    twice = pd.concat([plans[1].assignments, plans[1].assignments.iloc[[0]]], ignore_index=True)
    bad = Plan(plans[1].scenario, twice, plans[1].territories, plans[1].reps, plans[1].solution, plans[1].kpis)
    with pytest.raises(ValueError, match="'B' lists account 'A1' more than once"):
        compare_plans([plans[0], bad], ["A", "B"])


# --------------------------------------------------------------------------- the command


def plan_folder(path, owners: dict[str, str]):
    """A plan folder (``territory-planner plan --out``) of a hand-made plan, without its map."""
    from territory_planner.outputs.report import write_plan

    write_plan(hand_plan(owners), path, map_file=False)
    return path


def run_compare(tmp_path, *folders):
    from typer.testing import CliRunner

    from territory_planner.cli import app

    args = ["compare", *map(str, folders), "--out", str(tmp_path / "cmp"), "--store", str(tmp_path / "runs")]
    return CliRunner(env={"COLUMNS": "200"}).invoke(app, args)


def test_the_command_renames_plans_named_like_a_column_of_the_kpi_table(tmp_path):
    folders = [plan_folder(tmp_path / "key", A_OWNERS), plan_folder(tmp_path / "delta key", B_OWNERS),
               plan_folder(tmp_path / "unit", C_OWNERS)]
    result = run_compare(tmp_path, *folders)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    assert list(table.columns) == ["kpi", "unit", "plan key", "plan delta key", "plan unit", "delta plan delta key",
                                   "delta plan unit", "better", "key"]
    assert set(pd.read_csv(tmp_path / "cmp" / "moves.csv")["plan"]) == {"plan delta key", "plan unit"}


def test_the_command_reports_a_plan_it_cannot_compare_as_an_error(tmp_path):
    good, bad = plan_folder(tmp_path / "A", A_OWNERS), plan_folder(tmp_path / "B", B_OWNERS)
    rows = (bad / "assignments.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (bad / "assignments.csv").write_text("".join([*rows, rows[1]]), encoding="utf-8")  # account A1 twice
    result = run_compare(tmp_path, good, bad)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a ValueError's traceback
    assert "Traceback" not in result.output
    assert "Error:" in result.stderr and "'B' lists account 'A1' more than once" in result.stderr
    assert not (tmp_path / "cmp").exists()


# --------------------------------------------------------------------------- printing


def test_vs_today_rows_say_today_is_each_plans_own_current_rep(hand):
    plans, labels, comparison = hand
    moved = comparison.kpis[comparison.kpis["key"].isin(["accounts_moved", "accounts_moved_share",
                                                          "potential_moved_share"])]
    assert len(moved) == 3 and moved["kpi"].str.contains("current_rep_id").all()
    note = next(note for note in comparison.notes if "vs today" in note)
    assert "each plan's own" in note and "not from plan A" in note
    page = render_report(comparison, plans, labels)
    assert html.escape(note) in page
    console = Console(record=True, width=220)
    print_comparison(comparison, console)
    assert "each plan's own" in console.export_text()
    # Without current_rep_id there are no such rows, and no note about them.
    bare = [dataclasses.replace(p, kpis={k: v for k, v in p.kpis.items() if "moved" not in k}) for p in plans[:2]]
    assert not any("vs today" in note for note in compare_plans(bare, ["A", "B"]).notes)


def test_print_comparison_shows_every_kpi_and_escapes_labels(hand):
    plans, _, _ = hand
    comparison = compare_plans(plans, ["A", "[bold]B[/bold]", "C"])
    console = Console(record=True, width=220)
    print_comparison(comparison, console)
    text = console.export_text()
    assert "[bold]B[/bold]" in text  # shown literally, not taken as markup
    for kpi in comparison.kpis["kpi"]:
        assert kpi in text
    moved = next(line for line in text.splitlines() if "accounts moved vs today" in line and "share" not in line)
    assert re.search(r"\b0\b.*\b2\b.*\b2\b.*\+2\b.*\+2\b", moved), moved  # A: 0 moved, B and C: 2, deltas +2


# --------------------------------------------------------------------------- the report


class _Resources(HTMLParser):
    """Every resource a page would load (src/href of script, link, img, …; CSS url() and @import),
    the pages embedded with srcdoc or data-srcdoc included."""

    LOADING = {"script": ("src",), "link": ("href",), "img": ("src", "srcset"), "iframe": ("src",),
               "source": ("src", "srcset"), "embed": ("src",), "object": ("data",), "video": ("src", "poster"),
               "audio": ("src",), "image": ("href", "xlink:href"), "use": ("href", "xlink:href")}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.embedded: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in self.LOADING.get(tag, ()):
            if attrs.get(name):
                self.urls.append(attrs[name])
        for name in ("srcdoc", "data-srcdoc"):
            if attrs.get(name):
                self.embedded.append(attrs[name])
        if attrs.get("style"):
            self.urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", attrs["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", data)
            self.urls += re.findall(r"@import\s+['\"]([^'\"]+)", data)


def loaded_resources(page: str) -> list[str]:
    parser = _Resources()
    parser.feed(page)
    urls = list(parser.urls)
    for inner in parser.embedded:
        urls += loaded_resources(inner)
    return urls


@pytest.fixture(scope="module")
def evil():
    """Plans whose names, reps, scenario and labels are all script tags."""
    names = {"A2": EVIL, "A5": "=HYPERLINK(\"http://x\")"}
    reps = {"R1": EVIL}
    plans = [hand_plan(A_OWNERS, names=names, rep_names=reps, scenario_name=EVIL, quota={"R1": 1.0, "R2": 2.0, "R3": 3.0}),
             hand_plan(B_OWNERS, names=names, rep_names=reps, scenario_name=EVIL),
             hand_plan(C_OWNERS, names=names, rep_names=reps, scenario_name="C $x$ plan")]
    labels = ["A", EVIL, "C $x$"]
    return plans, labels, compare_plans(plans, labels)


def test_report_loads_nothing_from_the_network(evil):
    plans, labels, comparison = evil
    page = render_report(comparison, plans, labels)
    urls = loaded_resources(page)
    assert any(u.startswith("data:text/javascript") for u in urls)  # Leaflet, inlined in each map
    remote = [u for u in urls if re.match(r"\s*(https?:)?//", u, re.I)]
    assert remote == []
    assert page.count("class='tp-map'") == 3


def test_report_escapes_user_text(evil):
    plans, labels, comparison = evil
    page = render_report(comparison, plans, labels, title=EVIL)
    assert EVIL not in page
    assert "<script>alert" not in page and "<script>alert" not in html.unescape(page.replace("&lt;script&gt;", ""))
    assert f"<h1>{html.escape(EVIL)}</h1>" in page
    assert html.escape(EVIL) in page  # the account name, rep name and label shown as text
    # Inside each map page (embedded escaped once more), the user strings are escaped too.
    parser = _Resources()
    parser.feed(page)
    for inner in parser.embedded:
        assert EVIL not in inner
    # matplotlib took "$x$" as text, not as mathematics
    assert "C $x$" in page


def test_report_colours_deltas_and_notes_truncated_moves(hand):
    plans, labels, comparison = hand
    page = render_report(comparison, plans, labels, max_moves=1)
    assert "class='num better'" in page or "class='num worse'" in page
    assert "Showing the 1 largest by potential of 4 moves; moves.csv lists every one." in page
    assert page.count("<svg") >= 2  # balance per territory, trade-off


def test_report_shows_workload_in_hours_and_potential_as_an_amount():
    small = {"A1": "R1", "A2": "R2"}
    plans = [hand_plan(small), hand_plan({"A1": "R2", "A2": "R2"})]
    plans = [dataclasses.replace(p, assignments=p.assignments.assign(potential=[0.25, 0.5], workload=[1.25, 2.0]))
             for p in plans]
    comparison = compare_plans(plans, ["A", "B"])
    page = render_report(comparison, plans, ["A", "B"])
    moves = page[page.index("<h2>Moved accounts</h2>"):]
    reps = page[page.index("<h2>Changes per rep</h2>"):page.index("<h2>Moved accounts</h2>")]
    assert "<th>workload (h)</th>" in moves and "<th>workload net (h)</th>" in reps
    assert "<td class='num'>0.25</td>" in moves  # a potential of 0.25, not rounded as money to 0
    assert "<td class='num'>1.2</td>" in moves or "<td class='num'>1.3</td>" in moves  # hours, 1 decimal
    assert "<td class='num'>+0.25</td>" in reps and "<td class='num'>-0.25</td>" in reps


def test_report_takes_tradeoff_points_and_refuses_bad_ones(hand):
    plans, labels, comparison = hand
    points = pd.DataFrame({"accounts_moved_share": [0.0, 0.2, 0.5], "objective": [250.0, 240.0, 230.0],
                           "label": ["k=1", "k=0.8", "k=0.5"]})
    page = render_report(comparison, plans, labels, tradeoff=points)
    assert "trade-off points given" in page and "k=0.8" in page
    page = render_report(comparison, plans, labels, tradeoff=points.to_dict("records"))
    assert "k=0.8" in page
    with pytest.raises(ValueError, match="accounts_moved_share"):
        render_report(comparison, plans, labels, tradeoff=[{"x": 1, "y": 2}])
    with pytest.raises(ValueError, match="plans and labels of the comparison"):
        render_report(comparison, plans, ["A", "B", "other"])


def nearest_home_plan(homes: dict[str, tuple[float, float]], points: np.ndarray, today: list[str]) -> Plan:
    """Accounts at ``points`` (lat, lon), each in the territory ``T-<rep>`` of its nearest rep home."""
    reps = list(homes)
    home = np.array([homes[r] for r in reps])
    owner = np.hypot(points[:, None, 0] - home[None, :, 0], points[:, None, 1] - home[None, :, 1]).argmin(axis=1)
    n = len(points)
    a = pd.DataFrame({
        "account_id": [f"A{i}" for i in range(n)], "name": [f"Account {i}" for i in range(n)], "segment": "SMB",
        "lat": points[:, 0], "lon": points[:, 1], "potential": 1000.0, "workload": 10.0,
        "territory_id": ["T-" + reps[j] for j in owner], "rep_id": [reps[j] for j in owner],
        "rep_name": [f"Rep {reps[j]}" for j in owner], "distance_km": 10.0, "current_rep_id": today,
    })
    a["moved"] = a["rep_id"] != a["current_rep_id"]
    base = pd.DataFrame({"territory_id": ["T-" + r for r in reps], "rep_id": reps, "rep_name": [f"Rep {r}" for r in reps],
                         "status": "active", "home_lat": home[:, 0], "home_lon": home[:, 1], "capacity_hours": 1000.0})
    territories = territory_table(a, base, ["potential"])
    scenario = parse_scenario({"name": "regions", "data": {"accounts": "accounts.csv", "reps": "reps.csv"},
                               "balance": {"potential": 0.25}})
    solution = Solution(assignment=np.array([], dtype=int), status="optimal", objective=1.0, bound=1.0, backend="test",
                        seconds=0.1)
    return Plan(scenario, a, territories, base[["rep_id", "rep_name"]].copy(), solution,
                plan_kpis(a, territories, ["potential"]))


def map_colours(report: str) -> list[dict[str, str]]:
    """Per map of the report: territory id → the colour its outline and accounts are drawn in."""
    colours = []
    for srcdoc in re.findall(r'data-srcdoc="([^"]*)"', report):
        page = html.unescape(srcdoc)
        start = page.index("map.tpT = ") + len("map.tpT = ")
        table, _ = json.JSONDecoder().raw_decode(page, start)
        colours.append({t["id"]: t["color"] for t in table})
    return colours


def test_a_territory_has_one_colour_on_every_map_of_the_report():
    """45 territories (more than the 40 colours): each keeps plan A's colour on plan B's and C's map, and
    no two neighbours share a colour on any map, C's new territory included.

    B holds the same 45 territories with moved homes, listed in another order (its reps file
    sorted west to east); C adds a territory in the middle of A's order. On their own, both
    maps would give most territories other colours than plan A's map does."""
    from territory_planner.outputs.map_outlines import territory_adjacency, territory_outlines

    rng = np.random.default_rng(11)
    grid = [(36.0 + 1.1 * i, -101.0 + 1.4 * j) for i in range(5) for j in range(9)]  # Kansas and around
    homes_a = {f"R{k:02d}": (lat + rng.uniform(-0.3, 0.3), lon + rng.uniform(-0.3, 0.3)) for k, (lat, lon) in enumerate(grid)}
    moved = {r: (lat + rng.uniform(-0.5, 0.5), lon + rng.uniform(-0.6, 0.6)) for r, (lat, lon) in homes_a.items()}
    homes_b = dict(sorted(moved.items(), key=lambda item: item[1][1]))
    reps_a = list(homes_a.items())
    homes_c = dict([*reps_a[:22], ("R45", (38.4, -95.5)), *reps_a[22:]])  # a new territory in the middle
    points = np.column_stack([rng.uniform(35.5, 41.0, 1400), rng.uniform(-101.5, -89.0, 1400)])
    plan_a = nearest_home_plan(homes_a, points, ["R00"] * len(points))
    today = list(plan_a.assignments["rep_id"])
    plans = [nearest_home_plan(h, points, today) for h in (homes_a, homes_b, homes_c)]
    labels = ["A", "B", "C"]
    assert [len(p.territories) for p in plans] == [45, 45, 46]

    colours = map_colours(render_report(compare_plans(plans, labels), plans, labels))
    assert len(colours) == 3
    a, b, c = colours
    assert b == a  # the same 45 territories: one colour each on both maps
    assert {tid: c[tid] for tid in a} == a and "T-R45" in c
    for plan, colour in zip(plans, colours, strict=True):
        ids = list(plan.territories["territory_id"])
        neighbours = territory_adjacency(territory_outlines(plan), len(ids))
        clashes = [(ids[t], ids[u]) for t in range(len(ids)) for u in neighbours[t] if colour[ids[t]] == colour[ids[u]]]
        assert clashes == []
    c_ids = list(plans[2].territories["territory_id"])
    new_neighbours = territory_adjacency(territory_outlines(plans[2]), 46)[c_ids.index("T-R45")]
    assert len(new_neighbours) >= 3 and c["T-R45"] not in {c[c_ids[u]] for u in new_neighbours}


def test_planar_plans_get_maps_too(tmp_path):
    def planar(plan: Plan) -> Plan:
        a = plan.assignments.rename(columns={"lat": "x", "lon": "y"})
        scenario = plan.scenario.model_copy(update={"geometry": "planar"})
        return Plan(scenario, a, plan.territories, plan.reps, plan.solution, plan.kpis)

    plans = [planar(hand_plan(A_OWNERS)), planar(hand_plan(B_OWNERS))]
    page = render_report(compare_plans(plans, ["A", "B"]), plans, ["A", "B"])
    assert page.count("class='tp-map'") == 2 and "L.CRS.Simple" in html.unescape(page)


def test_write_comparison_writes_the_folder_and_csvs_round_trip(evil, tmp_path):
    plans, labels, comparison = evil
    written = write_comparison(comparison, plans, labels, tmp_path / "cmp")
    assert set(written) == {"comparison", "moves", "reps", "report"}
    assert sorted(p.name for p in (tmp_path / "cmp").iterdir()) == sorted(
        ["comparison.csv", "moves.csv", "reps.csv", "report.html", FOLDER_MARK])

    moves = pd.read_csv(written["moves"], keep_default_na=True)
    assert list(moves.columns) == MOVE_COLUMNS
    expected = comparison.moves.copy()
    # Excel-safe: a name that starts like a formula comes back with its leading apostrophe
    expected["name"] = expected["name"].map(lambda v: "'" + v if isinstance(v, str) and v.startswith("=") else v)
    pd.testing.assert_frame_equal(moves.astype(object).where(moves.notna(), None),
                                  expected.astype(object).where(expected.notna(), None), check_dtype=False)
    assert "'=HYPERLINK" in written["moves"].read_text(encoding="utf-8")

    reps = pd.read_csv(written["reps"])
    assert list(reps.columns) == REP_COLUMNS
    pd.testing.assert_frame_equal(reps, comparison.reps, check_dtype=False)

    table = pd.read_csv(written["comparison"])
    assert list(table.columns) == list(comparison.kpis.columns)
    assert list(table["key"]) == list(comparison.kpis["key"])
    for label in [*labels, *(c for c in table.columns if c.startswith("delta "))]:
        back = pd.to_numeric(table[label], errors="coerce").to_numpy(float)
        before = pd.to_numeric(comparison.kpis[label], errors="coerce").to_numpy(float)
        np.testing.assert_allclose(back, before, equal_nan=True, rtol=1e-12)
    assert (written["report"].read_text(encoding="utf-8")).startswith("<!DOCTYPE html>")


# --------------------------------------------------------------------------- browser

PAGE_STATE = """() => ({
    kpiRows: document.querySelectorAll('table.kpis tbody tr').length,
    charts: document.querySelectorAll('figure.chart svg').length,
    frames: document.querySelectorAll('iframe.tp-map').length,
    colouredDeltas: document.querySelectorAll('td.better, td.worse').length,
})"""

MAP_STATE = """() => {
    const el = document.querySelector('.folium-map'), map = window[el.id];
    let rings = 0, circles = 0, polygons = 0;
    map.eachLayer(l => {
        if (l instanceof L.CircleMarker) { if (l.options.radius === 9) rings++; else circles++; }
        else if (l instanceof L.Polygon) polygons++;
    });
    const c = map.getCenter();
    return {id: el.id, rings, circles, polygons, leaflet: L.version, size: [map.getSize().x, map.getSize().y],
            zoom: map.getZoom(), center: [c.lat, c.lng]};
}"""


@pytest.mark.browser
def test_report_renders_offline_in_chromium(tmp_path, evil):
    try:
        from browser import chromium_or_skip, read_png, visit
    except ImportError:  # tests/ became a package
        from tests.browser import chromium_or_skip, read_png, visit

    chromium_or_skip()
    plans, labels, comparison = evil
    report = write_comparison(comparison, plans, labels, tmp_path / "cmp")["report"]

    def interact(page):
        maps = {}
        for frame in page.frames[1:]:
            state = frame.evaluate(MAP_STATE)
            maps[int(re.search(r"cmp(\d+)_", state["id"]).group(1))] = (frame, state)
        first, second = maps[0][0], maps[1][0]
        # The user zooms plan A's map with the mouse wheel: plan B's map follows.
        frame = page.locator("iframe.tp-map").first
        frame.scroll_into_view_if_needed()
        box = frame.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(800)
        return {i: state for i, (_, state) in maps.items()}, first.evaluate(MAP_STATE), second.evaluate(MAP_STATE)

    page = visit(report, tmp_path / "compare_report.png", evaluate=PAGE_STATE, interact=interact,
                 wait_for="iframe.tp-map", viewport=(1300, 2400), settle_ms=800, timeout_ms=30_000)
    assert page.network_requests == []
    assert page.errors == []  # console errors, uncaught exceptions and alert() dialogs
    assert page.value == {"kpiRows": len(comparison.kpis), "charts": 2, "frames": 3,
                          "colouredDeltas": page.value["colouredDeltas"]}
    assert page.value["colouredDeltas"] > 0
    maps, zoomed, followed = page.interaction
    # Rings: plan A shows every account another plan moves (A1, A2, A3, A5, A6), B its 2, C its 3 (A1, A3, A7).
    assert {i: s["rings"] for i, s in maps.items()} == {0: 5, 1: 2, 2: 3}
    assert {i: s["circles"] for i, s in maps.items()} == {0: 6, 1: 6, 2: 6}
    for state in maps.values():
        assert state["leaflet"] == "1.9.4" and state["size"][0] > 300 and math.isfinite(state["zoom"])
        assert state["polygons"] >= 3  # territory outlines
    # Synchronised maps: plan A's map zoomed in, plan B's followed to the same view.
    assert zoomed["zoom"] > maps[0]["zoom"]
    assert followed["zoom"] == zoomed["zoom"] and followed["center"] == pytest.approx(zoomed["center"])
    width, height, pixels = read_png(page.screenshot)
    assert (width, height) == (1300, 2400)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # tables, charts and maps, not a blank page
