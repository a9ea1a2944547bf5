"""Capacity planning: every formula against numbers computed by hand, written out here.

Workload build-up and headcount (Zoltners & Sinha), the month-by-month hiring plan, the
ADBUDG allocation MIP against brute-force enumeration, quota blend/caps/redistribution,
every bad-input rule, the ``capacity`` command's four files, quotas in ``plan``, and
``territories: {count: auto}`` fed by the capacity section.
"""

from __future__ import annotations

import itertools
import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from territory_planner.capacity.allocation import (
    Group,
    adbudg,
    allocate_headcount,
    fit_adbudg,
    profit_curve,
)
from territory_planner.capacity.planning import plan_capacity, territory_quotas
from territory_planner.capacity.quotas import allocate_quotas, capped_split
from territory_planner.capacity.sizing import hiring_plan, simulate, target_reps
from territory_planner.capacity.workload import account_workload, capacity_table, selling_hours
from territory_planner.cli import app
from territory_planner.data.inputs import load_inputs
from territory_planner.errors import ScenarioError
from territory_planner.model.build import build_problem
from territory_planner.optimize.problem import AssignmentProblem
from territory_planner.pipeline import plan
from territory_planner.scenario import load_scenario, parse_scenario
from territory_planner.scenario.capacity import (
    CapacitySpec,
    HiringSpec,
    QuotaSpec,
    TargetSpec,
    WorkingTimeSpec,
)

runner = CliRunner(env={"COLUMNS": "200"})
DATA = {"name": "x", "data": {"accounts": "a.csv", "reps": "r.csv"}}


def capacity(**section) -> CapacitySpec:
    return parse_scenario({**DATA, "capacity": section}).capacity


# --- Workload build-up ----------------------------------------------------------------------


SEGMENTS = {
    "SMB": {"calls_per_year": 4, "minutes_per_call": 30, "travel_minutes_per_call": 15, "account_management_hours": 1},
    "Enterprise": {"calls_per_year": 24, "minutes_per_call": 45, "travel_minutes_per_call": 20, "account_management_hours": 15},
}


def test_selling_hours():
    # H = (250 − 10 − 15 − 5) × 8 × 0.6 = 220 × 4.8 = 1056
    hours, text = selling_hours(WorkingTimeSpec(working_days=250, holidays=10, pto_days=15, training_days=5, hours_per_day=8, selling_share=0.6))
    assert hours == pytest.approx(1056.0)
    assert "1,056.0 h" in text and "(250 − 10 − 15 − 5)" in text


def test_account_workload_from_segments_with_overrides():
    accounts = pd.DataFrame({
        "account_id": ["A", "B", "C", "D"],
        "segment": ["SMB", "SMB", "Enterprise", "Enterprise"],
        "workload": [0.0] * 4,
        "calls_per_year": [np.nan, 6, np.nan, np.nan],          # B overrides calls
        "Travel Minutes Per Call": [np.nan, np.nan, 5, np.nan],   # C overrides travel (header in any case)
    })
    work = account_workload(accounts, capacity(segments=SEGMENTS))
    # A: 4 × (30 + 15) / 60 + 1 = 3 + 1 = 4
    # B: 6 × (30 + 15) / 60 + 1 = 4.5 + 1 = 5.5
    # C: 24 × (45 + 5) / 60 + 15 = 20 + 15 = 35
    # D: 24 × (45 + 20) / 60 + 15 = 26 + 15 = 41
    assert work["workload_hours"].tolist() == pytest.approx([4.0, 5.5, 35.0, 41.0])
    assert work["formula"].iloc[1] == "6 calls × (30 + 15) min / 60 + 1 h = 5.50 h"


def test_without_a_segment_table_the_workload_column_is_used():
    accounts = pd.DataFrame({"account_id": ["A"], "segment": ["X"], "workload": [12.5]})
    assert account_workload(accounts, capacity())["workload_hours"].tolist() == [12.5]


def _accounts(region_hours: dict[str, list[float]]) -> pd.DataFrame:
    rows = [(f"{r}{i}", r, h) for r, hours in region_hours.items() for i, h in enumerate(hours)]
    return pd.DataFrame({"account_id": [r[0] for r in rows], "segment": "All", "region": [r[1] for r in rows],
                         "workload": [r[2] for r in rows], "_row": range(2, len(rows) + 2)})


def _reps(regions: list[str], status: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame({"rep_id": [f"R{i}" for i in range(len(regions))], "role": "AE", "region": regions,
                         "status": status or ["active"] * len(regions)})


def test_fte_and_headcount_rounding_by_region():
    spec = capacity(regions={"column": "region"}, target_utilisation=0.85)
    accounts = _accounts({"North": [1000.0, 1112.0], "South": [1795.2]})
    rows, arithmetic = capacity_table(accounts, _reps(["North", "South", "South"], ["active", "active", "open"]), spec)
    north, south = rows.set_index("region").loc["North"], rows.set_index("region").loc["South"]
    # North: FTE = 2,112 / 1,056 = 2;  headcount = ⌈2 / 0.85⌉ = ⌈2.353⌉ = 3
    assert north["fte"] == pytest.approx(2.0) and north["headcount"] == 3
    # South: FTE = 1,795.2 / 1,056 = 1.7;  1.7 / 0.85 = 2 exactly (2.0000000000000004 in floats) → 2, not 3
    assert south["fte"] == pytest.approx(1.7) and south["headcount"] == 2
    # today: North 1 active; South 1 active + 1 open seat → gaps 3 − 1 = 2 and 2 − 1 − 1 = 0
    assert (north["current_headcount"], north["open_seats"], north["gap"]) == (1, 0, 2)
    assert (south["current_headcount"], south["open_seats"], south["gap"]) == (1, 1, 0)
    assert north["formula"] == "FTE = 2,112.0 h / 1,056.0 h = 2.00; headcount = ⌈2.00 / 0.85⌉ = 3"
    # Σ workload = 3,907.2 h → FTE 3,907.2 / 1,056 = 3.70
    assert arithmetic["fte_formula"] == "FTE = Σ workload / H = 3,907.2 / 1,056.0 = 3.70"
    assert arithmetic["headcount"] == 5


def test_regions_from_a_mapped_column_and_unmapped_values():
    spec = capacity(regions={"column": "state", "map": {"West": ["CA", "wa"], "East": ["NY"]}})
    accounts = pd.DataFrame({"account_id": ["A", "B", "C"], "segment": "All", "state": ["CA", "WA", "NY"],
                             "workload": [1056.0, 1056.0, 528.0], "_row": [2, 3, 4]})
    reps = pd.DataFrame({"rep_id": ["R1"], "role": "AE", "state": ["ca"], "status": ["active"]})
    rows, _ = capacity_table(accounts, reps, spec)
    got = rows.set_index("region")
    assert got.loc["West", "headcount"] == 3  # ⌈2 / 0.85⌉ = 3
    assert got.loc["West", "current_headcount"] == 1
    assert got.loc["East", "headcount"] == 1  # ⌈0.5 / 0.85⌉ = 1
    accounts.loc[2, "state"] = "TX"
    with pytest.raises(ScenarioError) as info:
        capacity_table(accounts, reps, spec)
    assert info.value.row == 4 and info.value.value == "TX" and "capacity.regions.map" in info.value.fix


# --- Target-based sizing and the hiring plan --------------------------------------------------


def test_target_reps():
    # reps = 205,000,000 / (7,000,000 × 0.9) = 205 / 6.3 = 32.54 → 33
    exact, whole, _ = target_reps(TargetSpec(revenue=205e6, productivity=7e6, expected_attainment=0.9))
    assert exact == pytest.approx(32.5397, abs=1e-4) and whole == 33


def test_hiring_plan_hires_up_front_the_fewest_that_reach_the_target():
    target = TargetSpec(revenue=3000, productivity=1200, expected_attainment=1.0)
    hiring = HiringSpec(ramp=[0, 0.5, 1], attrition=0, lead_time_months=0)
    result = hiring_plan(ramped=2, new_hires=0, target=target, hiring=hiring)
    # A ramped rep books 1,200 × 1 / 12 = 100 a month. Two reps: 2 × 12 × 100 = 2,400 < 3,000.
    # One hire in month 1 adds (0 + 0.5 + 10 × 1) × 100 = 1,050 → 3,450 ≥ 3,000: one growth hire.
    assert result.growth_hires == 1 and result.target_met
    m = result.months
    assert m["hires"].tolist() == [1] + [0] * 11
    assert m["effective_capacity"].tolist()[:3] == [2.0, 2.5, 3.0]
    assert m["expected_bookings"].tolist()[:3] == [200.0, 250.0, 300.0]
    assert result.expected_bookings == pytest.approx(3450.0)
    assert m["heads_end"].tolist() == [3] * 12


def test_hiring_plan_with_attrition_backfills_and_lead_time():
    target = TargetSpec(revenue=100, productivity=1200, expected_attainment=1.0)
    hiring = HiringSpec(ramp=[0, 0.5], attrition=0.75, lead_time_months=1)
    m = simulate(ramped=4, new_hires=0, growth_hires=0, target=target, hiring=hiring)
    # Expected departures a month = 0.75 / 12 × heads in seat = 0.0625 × heads; cumulative, rounded half up:
    # m1 4 → 0.25 (0) · m2 4 → 0.5 (1: leaves at the end of m2, back-fill starts m2 + 1 + 1 = m4)
    # m3 3 → 0.6875 (1) · m4 3 + 1 hire → 0.9375 (1) · m5 4 → 1.1875 · m6 4 → 1.4375
    # m7 4 → 1.6875 (2: second departure, back-fill in m9) · m8 3 → 1.875 · m9 3 + 1 → 2.125
    # m10 4 → 2.375 · m11 4 → 2.625 (3: third departure; its back-fill would start in m13) · m12 3 → 2.8125
    assert m["departures"].tolist() == [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0]
    assert m["hires"].tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0]
    assert m["heads_start"].tolist() == [4, 4, 3, 3, 4, 4, 4, 3, 3, 4, 4, 3]
    assert m["heads_end"].tolist() == [4, 3, 3, 4, 4, 4, 3, 3, 4, 4, 3, 3]
    # A back-fill produces 0 in its first month, 0.5 in its second, then 1; the most tenured leave first.
    assert m["effective_capacity"].tolist() == [4, 4, 3, 3, 3.5, 4, 4, 3, 3, 3.5, 4, 3]


def test_hiring_plan_new_hires_in_the_file_start_their_ramp():
    target = TargetSpec(revenue=100, productivity=1200, expected_attainment=1.0)
    m = simulate(ramped=1, new_hires=1, growth_hires=0, target=target, hiring=HiringSpec(ramp=[0.25, 0.75]))
    # month 1: 1 + 0.25; month 2: 1 + 0.75; month 3 on: 2
    assert m["effective_capacity"].tolist()[:3] == [1.25, 1.75, 2.0]


def test_hiring_plan_that_cannot_reach_the_target_says_so():
    target = TargetSpec(revenue=1e9, productivity=1200, expected_attainment=1.0)
    result = hiring_plan(ramped=1, new_hires=0, target=target, hiring=HiringSpec(lead_time_months=12), max_growth_hires=5)
    assert not result.target_met and result.growth_hires == 0


# --- ADBUDG and the allocation MIP -----------------------------------------------------------


def test_adbudg_value():
    # s(2) = 10 + (100 − 10)·2² / (4 + 2²) = 10 + 90 × 4 / 8 = 55
    assert float(adbudg(2, a=100, b=10, c=2, d=4)) == pytest.approx(55.0)
    assert float(adbudg(0, a=100, b=10, c=2, d=4)) == pytest.approx(10.0)


CONCAVE = Group("A", a=100, b=0, c=1, d=1, min_reps=0, max_reps=6, cost_per_rep=10)  # s(x) = 100x / (1 + x)
S_CURVE = Group("B", a=100, b=0, c=4, d=16, min_reps=0, max_reps=6, cost_per_rep=10)  # s(x) = 100x⁴ / (16 + x⁴)


def brute_force(groups, margin, budget=None, total=None):
    best = None
    for xs in itertools.product(*(range(g.min_reps, g.max_reps + 1) for g in groups)):
        if budget is not None and sum(g.cost_per_rep * x for g, x in zip(groups, xs, strict=True)) > budget + 1e-9:
            continue
        if total is not None and sum(xs) != total:
            continue
        value = sum(margin * float(g.sales(x)) - g.cost_per_rep * x for g, x in zip(groups, xs, strict=True))
        if best is None or value > best[0] + 1e-9:
            best = (value, xs)
    return best


def test_allocation_by_hand_concave_and_s_curve():
    # A: s = 50, 66.67, 75, 80 at 1..4 → increments − cost: 40, 6.67, −1.67 → 2 reps.
    # B: s = 5.88, 50, 83.51, 94.12, 97.50 at 1..5 → increments − cost: −4.12, 34.12, 23.51, 0.61, −6.62 → 4 reps;
    #    the first rep loses money, so only the ordered binaries y₁ ≥ y₂ ≥ … reach 4.
    best = allocate_headcount([CONCAVE, S_CURVE], margin=1.0)
    assert best.headcount == {"A": 2, "B": 4}
    # profit = (66.67 − 20) + (94.12 − 40) = 46.67 + 54.12 = 100.78
    assert best.profit == pytest.approx(200 / 3 - 20 + 100 * 256 / 272 - 40)
    # Marginal value of one more rep (margin 1): A: s_A(3) − s_A(2) − 10 = 75 − 66.67 − 10 = −1.67
    assert best.marginal_value_next["A"] == pytest.approx(75 - 200 / 3 - 10)
    # B: s_B(5) − s_B(4) − 10 = 97.50 − 94.12 − 10 = −6.62;  the last rep of B earned 94.12 − 83.51 − 10 = 0.61
    assert best.marginal_value_next["B"] == pytest.approx(100 * 625 / 641 - 100 * 256 / 272 - 10)
    assert best.marginal_value_last["B"] == pytest.approx(100 * 256 / 272 - 100 * 81 / 97 - 10)


def test_allocation_with_a_budget_by_hand():
    # Budget 40 = 4 reps. (1, 3): 50 − 10 + 83.51 − 30 = 93.51 beats (2, 2): 76.67 and (0, 4): 54.12.
    best = allocate_headcount([CONCAVE, S_CURVE], margin=1.0, budget=40)
    assert best.headcount == {"A": 1, "B": 3}
    assert best.profit == pytest.approx(50 - 10 + 100 * 81 / 97 - 30)


@pytest.mark.parametrize("budget", [None, 0, 15, 35, 60, 95])
def test_allocation_equals_brute_force_on_three_groups(budget):
    groups = [
        CONCAVE,
        S_CURVE,
        Group("C", a=60, b=5, c=2.5, d=30, min_reps=1, max_reps=7, cost_per_rep=12),
    ]
    best = allocate_headcount(groups, margin=0.8, budget=budget)
    expected = brute_force(groups, 0.8, budget)
    if budget == 0:  # C needs at least 1 rep at 12: nothing fits
        assert best is None and expected is None
        return
    assert best.profit == pytest.approx(expected[0], abs=1e-6)
    assert tuple(best.headcount[g.name] for g in groups) == expected[1]


def test_profit_curve_is_the_best_profit_at_each_total():
    groups = [CONCAVE, S_CURVE]
    curve = profit_curve(groups, margin=1.0, budget=40)
    assert [p["total_headcount"] for p in curve] == list(range(0, 13))
    for point in curve:
        assert point["profit"] == pytest.approx(brute_force(groups, 1.0, total=point["total_headcount"])[0], abs=1e-6)
        assert point["within_budget"] == (point["cost"] <= 40)
    # the unconstrained optimum (2, 4) is the peak of the curve
    assert max(curve, key=lambda p: p["profit"])["total_headcount"] == 6


def test_fit_adbudg_recovers_the_curve():
    true = dict(a=90e6, b=10e6, c=1.8, d=25.0)
    points = [(x, float(adbudg(x, **true))) for x in (0, 2, 4, 6, 9, 12, 16, 20)]
    a, b, c, d = fit_adbudg(points)
    for x in (3, 10, 18):
        assert float(adbudg(x, a, b, c, d)) == pytest.approx(float(adbudg(x, **true)), rel=1e-3)


# --- Quotas ----------------------------------------------------------------------------------


def test_quota_blend_caps_and_redistribution_by_hand():
    spec = QuotaSpec(potential_weight=0.5, coverage=1.1, max_increase=0.2, max_decrease=0.1)
    table, summary = allocate_quotas(["T1", "T2", "T3"], [50, 30, 20], [20, 40, 40], [300, 400, 300], spec, 1000)
    # potential shares .5 .3 .2, history shares .2 .4 .4 → blend .35 .35 .30
    # total = 1,000 × 1.1 = 1,100 → uncapped 385, 385, 330
    assert table["uncapped_quota"].tolist() == pytest.approx([385, 385, 330])
    # caps: T1 [270, 360], T2 [360, 480], T3 [270, 360]. T1 is cut to 360; the 25 cut goes to T2 and T3
    # by blend: λ = (1,100 − 360) / (.35 + .30) = 1,138.46 → T2 = 398.46, T3 = 341.54
    assert table["quota"].tolist() == pytest.approx([360, 740 * 0.35 / 0.65, 740 * 0.30 / 0.65])
    assert table["capped"].tolist() == [True, False, False]
    assert table["quota"].sum() == pytest.approx(1100) and summary["coverage_ratio"] == pytest.approx(1.1)


def test_quota_redistribution_cascades():
    spec = QuotaSpec(potential_weight=0.5, coverage=1.1, max_increase=0.2, max_decrease=0.1)
    table, summary = allocate_quotas(["T1", "T2", "T3"], [50, 30, 20], [20, 40, 40], [300, 400, 280], spec, 1000)
    # T3's cap is now 280 × 1.2 = 336. Round 1: T1 → 360, T3 = 341.54 > 336 → round 2: T3 → 336,
    # T2 = 1,100 − 360 − 336 = 404 (inside [360, 480]).
    assert table["quota"].tolist() == pytest.approx([360, 404, 336])
    assert table["capped"].tolist() == [True, False, True]
    # Expected bookings (run-rate): 1,000 × history share = 200, 400, 400
    # attainment = 200 / 360, 400 / 404, 400 / 336 = 0.556, 0.990, 1.190
    att = [200 / 360, 400 / 404, 400 / 336]
    assert table["expected_attainment"].tolist() == pytest.approx(att)
    assert summary["attainment_mean"] == pytest.approx(sum(att) / 3)
    # p10 by linear interpolation: 0.556 + 0.2 × (0.990 − 0.556)
    assert summary["attainment_p10"] == pytest.approx(att[0] + 0.2 * (att[1] - att[0]))
    assert summary["share_below_80pct"] == pytest.approx(1 / 3)


def test_capped_split_floor_binds():
    # λ·w = 10, 90 → the floor 30 lifts the first, the second gives up 20: 30, 70
    assert capped_split(100, np.array([0.1, 0.9]), np.array([30, 0]), np.array([np.inf, np.inf])).tolist() == pytest.approx([30, 70])


def test_quota_caps_that_cannot_hold_name_the_fix():
    spec = QuotaSpec(coverage=1.1, max_increase=0.05)
    with pytest.raises(ScenarioError) as info:
        allocate_quotas(["T1", "T2"], [1, 1], [1, 1], [500, 500], spec, 1000)
    # Σ quotas must be 1,100 but the caps allow at most 2 × 525 = 1,050
    assert info.value.column == "capacity.quotas.max_increase" and "widen" in info.value.fix


# --- Bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "section, column, words",
    [
        ({"segments": {"SMB": {"calls_per_year": -4, "minutes_per_call": 30}}}, "capacity.segments.SMB.calls_per_year", "negative"),
        ({"working_time": {"pto_days": -1}}, "capacity.working_time.pto_days", "negative"),
        ({"hiring": {"attrition": 1.2}}, "capacity.hiring.attrition", "outside [0, 1]"),
        ({"segments": {}}, "capacity.segments", "segment table is empty"),
        ({"target": {"revenue": 2e8}}, "capacity.target", "productivity"),
        ({"hiring": {"ramp": [0, 0.5, 1.5]}}, "capacity.hiring.ramp", "outside [0, 1]"),
        ({"hiring": {"ramp": [-0.1, 1]}}, "capacity.hiring.ramp", "outside [0, 1]"),
        ({"target_utilisation": 0}, "capacity.target_utilisation", "share"),
        ({"allocation": {"cost_per_rep": -5, "response": {"W": {"a": 1, "b": 0, "c": 1, "d": 1}}}}, "capacity.allocation.cost_per_rep", "negative"),
        ({"allocation": {"cost_per_rep": 5, "response": {"W": {"a": 1, "b": 0, "c": 1}}}}, "capacity.allocation.response.W", "misses d"),
        ({"working_time": {"working_days": 20, "pto_days": 25}}, "capacity.working_time", "no selling days"),
        ({"quotas": {"potential_weight": 1.5}}, "capacity.quotas.potential_weight", "outside"),
        ({"enforse": True}, "capacity.enforse", "unknown key"),
    ],
)
def test_bad_capacity_sections_name_the_key_and_the_fix(section, column, words):
    with pytest.raises(ScenarioError) as info:
        parse_scenario({**DATA, "capacity": section})
    err = info.value
    assert err.column == column
    assert words in str(err) and err.fix


def test_capacity_true_false_and_enforce_false():
    assert parse_scenario({**DATA, "capacity": True}).capacity_enforced is True
    assert parse_scenario({**DATA, "capacity": False}).capacity_enforced is False
    assert parse_scenario({**DATA, "capacity": {}}).capacity_enforced is True
    s = parse_scenario({**DATA, "capacity": {"enforce": False}})
    assert s.capacity_enforced is False and s.capacity_plan is not None


# --- A tiny scenario on files: CLI, plan, count: auto -----------------------------------------

N_PER_REGION = 20


def write_tiny(tmp_path: Path, *, capacity_yaml: str, territories: str = "{centers: reps}", segment_of=lambda i: "SMB",
               workload: float = 12) -> Path:
    """40 planar accounts (20 North, 20 South) of ``workload`` h each; 4 reps of 100 h, 2 per region."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(2 * N_PER_REGION):
        region = "North" if i < N_PER_REGION else "South"
        y = rng.uniform(55, 100) if region == "North" else rng.uniform(0, 45)
        rows.append({"account_id": f"A{i:02d}", "name": f"Account {i}", "segment": segment_of(i), "x": round(rng.uniform(0, 100), 3),
                     "y": round(y, 3), "potential": 1000 + 10 * i, "revenue_last_year": 400 + 5 * (i % 7), "workload": workload,
                     "region": region, "current_rep_id": f"R{(i // 10)}"})
    pd.DataFrame(rows).to_csv(tmp_path / "accounts.csv", index=False)
    reps = pd.DataFrame({"rep_id": ["R0", "R1", "R2", "R3"], "name": ["Ann", "Bo", "Cy", "Di"], "role": "AE",
                         "x": [25, 75, 25, 75], "y": [80, 80, 20, 20], "capacity_hours": 100, "quota": [5000, 5000, 5000, 5000],
                         "status": "active", "region": ["North", "North", "South", "South"]})
    reps.to_csv(tmp_path / "reps.csv", index=False)
    text = textwrap.dedent(f"""\
        name: tiny capacity
        data: {{accounts: accounts.csv, reps: reps.csv}}
        geometry: planar
        territories: {territories}
        solver: {{time_limit: 20}}
        """) + capacity_yaml
    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    return path


# H = 250 days × 8 h × 0.05 = 100 h; each account 12 calls × 60 min / 60 = 12 h.
TINY_CAPACITY = textwrap.dedent("""\
    capacity:
      segments:
        SMB: {calls_per_year: 12, minutes_per_call: 60}
      working_time: {working_days: 250, holidays: 0, pto_days: 0, training_days: 0, hours_per_day: 8, selling_share: 0.05}
      target_utilisation: 1.0
      regions: {column: region}
      target: {revenue: 20000, productivity: 6000, expected_attainment: 1.0}
      hiring: {ramp: [0, 0.5, 1], attrition: 0.0}
      allocation:
        cost_per_rep: 1000
        margin: 0.5
        budget: 6000
        response:
          North: {a: 20000, b: 1000, c: 1.5, d: 8}
          South: {a: 16000, b: 1000, c: 1.5, d: 8}
      quotas: {potential_weight: 0.5, coverage: 1.2}
    """)


def test_capacity_command_writes_the_four_files(tmp_path):
    path = write_tiny(tmp_path, capacity_yaml=TINY_CAPACITY)
    out = tmp_path / "out"
    result = runner.invoke(app, ["capacity", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"capacity.csv", "hiring_plan.csv", "quotas.csv", "capacity.json"}
    cap = pd.read_csv(out / "capacity.csv")
    # each region: 20 × 12 h = 240 h → FTE 240 / 100 = 2.4 → headcount ⌈2.4 / 1.0⌉ = 3; today 2 → gap 1
    assert cap["headcount"].tolist() == [3, 3] and cap["gap"].tolist() == [1, 1]
    assert {"workload_hours", "selling_hours_per_rep", "fte", "target_utilisation"} <= set(cap.columns)
    hiring = pd.read_csv(out / "hiring_plan.csv")
    assert list(hiring.columns[:2]) == ["month", "label"] and len(hiring) == 12
    assert {"heads_start", "hires", "departures", "heads_end", "effective_capacity", "expected_bookings"} <= set(hiring.columns)
    # 4 reps × 6,000 = 24,000 ≥ 20,000: no hire needed
    assert hiring["hires"].sum() == 0
    quotas = pd.read_csv(out / "quotas.csv")
    assert quotas["quota"].sum() == pytest.approx(20000 * 1.2)
    assert {"potential_share", "history_share", "capped", "expected_attainment"} <= set(quotas.columns)
    summary = json.loads((out / "capacity.json").read_text())
    assert summary["workload"]["selling_hours_formula"] == "H = (250 − 0 − 0 − 0) days × 8 h × 0.05 = 100.0 h"
    assert summary["allocation"]["total_headcount"] <= 6 and summary["allocation"]["profit_curve"]
    assert "Reps needed by region" in result.output and "Hiring plan" in result.output and "coverage 1.20" in result.output


def test_capacity_command_writes_nothing_on_bad_input(tmp_path):
    path = write_tiny(tmp_path, capacity_yaml=TINY_CAPACITY, segment_of=lambda i: "SMB" if i != 7 else "Mid-Market")
    out = tmp_path / "out"
    result = runner.invoke(app, ["capacity", str(path), "--out", str(out)])
    assert result.exit_code == 1
    assert "Mid-Market" in result.output and "capacity.segments" in result.output
    assert not out.exists()


def test_unknown_segment_names_the_row(tmp_path):
    path = write_tiny(tmp_path, capacity_yaml=TINY_CAPACITY, segment_of=lambda i: "SMB" if i != 7 else "Mid-Market")
    with pytest.raises(ScenarioError) as info:
        plan_capacity(load_scenario(path))
    # account A07 is the 8th data row: line 9 counting the header
    assert info.value.row == 9 and info.value.column == "segment" and info.value.value == "Mid-Market"


def test_capacity_command_needs_a_section(tmp_path):
    path = write_tiny(tmp_path, capacity_yaml="capacity: true\n")
    result = runner.invoke(app, ["capacity", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "no capacity section" in result.output


def test_plan_with_a_target_puts_quotas_on_territories(tmp_path):
    # the accounts file's workload (9 h, 360 h in all) fits the 4 reps' 400 h; the build-up says 6 reps
    path = write_tiny(tmp_path, capacity_yaml=TINY_CAPACITY, workload=9)
    out = tmp_path / "plan"
    result = runner.invoke(app, ["plan", str(path), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    territories = pd.read_csv(out / "territories.csv")
    # Σ quota = target × coverage = 20,000 × 1.2 = 24,000
    assert territories["quota"].sum() == pytest.approx(24000)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kpis"]["quota_coverage_ratio"] == pytest.approx(1.2)


def test_quotas_follow_the_plan_territories(tmp_path):
    path = write_tiny(tmp_path, capacity_yaml=TINY_CAPACITY)
    scenario = load_scenario(path)
    inputs = load_inputs(scenario)
    territories = pd.DataFrame({"territory_id": ["T-R0", "T-R1"], "rep_id": ["R0", "R1"]})
    assignment = np.r_[np.zeros(20, int), np.ones(20, int)]
    rows, summary = territory_quotas(scenario, inputs.accounts, inputs.reps, territories, assignment)
    acc = inputs.accounts
    p = np.array([acc["potential"][:20].sum(), acc["potential"][20:].sum()]) / acc["potential"].sum()
    h = np.array([acc["revenue_last_year"][:20].sum(), acc["revenue_last_year"][20:].sum()]) / acc["revenue_last_year"].sum()
    assert rows["quota"].tolist() == pytest.approx((24000 * (0.5 * p + 0.5 * h)).tolist())


def test_count_auto_adds_open_seats_where_reps_are_short(tmp_path):
    path = write_tiny(tmp_path, capacity_yaml=TINY_CAPACITY, territories="{centers: reps, count: auto}")
    result = plan(load_scenario(path))
    t = result.territories
    # 3 reps needed in each region, 2 there today → one open seat in North and one in South
    assert len(t) == 6
    opened = t[t["status"] == "open"]
    assert sorted(opened["rep_id"]) == ["OPEN-North-1", "OPEN-South-1"]
    assert (opened["n_accounts"] > 0).all()
    assert opened["capacity_hours"].tolist() == [100.0, 100.0]
    north_seat = opened.set_index("rep_id").loc["OPEN-North-1"]
    assert north_seat["home_y"] >= 55  # placed on a North account
    assert (t["workload"] <= t["capacity_hours"] + 1e-9).all()


def test_enforce_false_drops_the_capacity_band(tmp_path):
    path = write_tiny(tmp_path, capacity_yaml="capacity: {enforce: false}\n")
    scenario = load_scenario(path)
    problem, _, _ = build_problem(scenario, load_inputs(scenario))
    assert isinstance(problem, AssignmentProblem)
    assert not [b for b in problem.bands if b.kind == "capacity"]
    scenario = load_scenario(write_tiny(tmp_path, capacity_yaml="capacity: {}\n"))
    problem, _, _ = build_problem(scenario, load_inputs(scenario))
    assert [b for b in problem.bands if b.kind == "capacity"]


def test_demo_scenario_capacity_section():
    root = Path(__file__).resolve().parents[2]
    result = plan_capacity(load_scenario(root / "scenarios" / "demo.yaml"), curve=False)
    s = result.summary
    assert set(result.capacity["region"]) == {"West", "Central", "East"}
    assert s["today"]["in_seat"] == 30
    assert s["hiring"]["target_met"]
    assert s["quotas"]["coverage_ratio"] == pytest.approx(1.1)
    assert s["allocation"]["cost"] <= 6_000_000
    assert not math.isnan(s["quotas"]["attainment_p10"])
