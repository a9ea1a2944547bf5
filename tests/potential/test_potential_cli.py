"""territory-planner potential and a scenario's potential: section, end to end on files.

A planar instance from benchmarks/generators.py (no potential or workload column in its
accounts file): the section estimates potential, tiers the accounts, and the tiers' call
plans in capacity.segments derive each account's workload, which the plan then uses.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from benchmarks.generators import firmographic_accounts, write_scenario
from territory_planner import load_scenario, plan
from territory_planner.cli import app
from territory_planner.data.inputs import load_inputs
from territory_planner.errors import ScenarioError
from territory_planner.scenario import parse_scenario

TIERS = {"A": {"calls_per_year": 24, "minutes_per_call": 60, "travel_minutes_per_call": 30, "account_management_hours": 10},
         "B": {"calls_per_year": 10, "minutes_per_call": 45, "travel_minutes_per_call": 20, "account_management_hours": 3},
         "C": {"calls_per_year": 3, "minutes_per_call": 30, "travel_minutes_per_call": 15}}
runner = CliRunner()


def instance(folder, n=600, k=6, **section):
    acc = firmographic_accounts(n, seed=61).drop(columns="true_potential")
    acc.insert(1, "name", "Firm " + acc["account_id"])
    rng = np.random.default_rng(3)
    reps = pd.DataFrame({"rep_id": [f"R{i}" for i in range(k)], "x": rng.uniform(0, 1000, k), "y": rng.uniform(0, 1000, k),
                         "capacity_hours": 1e6})
    scenario = {
        "geometry": "planar",
        "balance": {"potential": 0.1},
        "potential": {"features": ["industry", "employees", "region"], "revenue": "revenue", "quantile": 0.8,
                      "tiers": {"by": "abc", "shares": {"A": 0.5, "B": 0.3, "C": 0.2}}, **section},
        "capacity": {"segments": TIERS, "segments_by": "tier"},
        "solver": {"time_limit": 20, "mip_gap": 0.01},
    }
    return write_scenario(folder, acc, scenario, reps)


def test_workload_derived_from_tiers_equals_the_hand_computed_build_up(tmp_path):
    inputs = load_inputs(load_scenario(instance(tmp_path)))
    acc = inputs.accounts
    by_hand = {t: s["calls_per_year"] * (s["minutes_per_call"] + s.get("travel_minutes_per_call", 0)) / 60
               + s.get("account_management_hours", 0) for t, s in TIERS.items()}
    assert by_hand == pytest.approx({"A": 46.0, "B": 13.8333333, "C": 2.25})  # 24×90/60+10, 10×65/60+3, 3×45/60
    np.testing.assert_allclose(acc["workload"].to_numpy(float), acc["tier"].map(by_hand).to_numpy(float))
    assert any("workload: 600 accounts' hours derived from capacity.segments by tier" in n for n in inputs.notes)
    table = inputs.potential.tiers.set_index("tier")
    for tier, hours in by_hand.items():
        assert table.loc[tier, "workload_hours"] == pytest.approx(hours * (acc["tier"] == tier).sum())


def test_the_plan_balances_the_estimated_potential(tmp_path):
    scenario = load_scenario(instance(tmp_path))
    p = plan(scenario)
    estimated = load_inputs(scenario).accounts.set_index("account_id")["potential"]
    terr = p.assignments.assign(potential=p.assignments["account_id"].map(estimated)).groupby("rep_id")["potential"].sum()
    mean = estimated.sum() / 6
    assert p.status in ("optimal", "feasible")
    assert ((terr - mean).abs() <= 0.1 * mean + 1e-6).all()
    np.testing.assert_allclose(p.territories.set_index("rep_id")["potential"].sort_index(), terr.sort_index())
    assert any(n.startswith("potential: 600 of 600 accounts estimated") for n in p.notes)


def test_cli_writes_the_potential_folder(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["potential", str(instance(tmp_path / "s")), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Coverage tiers" in result.output
    names = {p.name for p in out.iterdir()}
    assert {"potential.csv", "tiers.csv", "potential.json", "potential_chart.png"} <= names
    assert "whitespace_map.html" not in names  # planar: no county shapes
    table = pd.read_csv(out / "potential.csv")
    for column in ("account_id", "potential", "whitespace", "penetration", "tier", "industry", "employees", "region"):
        assert column in table
    summary = json.loads((out / "potential.json").read_text())
    assert summary["quantile"] == 0.8 and summary["model"]["method"] in ("gbm", "peers")
    losses = summary["model"]["chosen"]["cross_validated_log_pinball_loss"]
    assert summary["model"]["method"] == min(losses, key=losses.get)
    quality = summary["quality"]
    assert (quality["calibration_factor"] > 1) == (quality["share_at_or_below_potential"] < 0.8)
    assert 0 < quality["skill"] < 1 and set(quality["by_segment"]) == set(table["segment"])
    assert {f["feature"] for f in summary["quality"]["feature_importance"]} == {"industry", "employees", "region"}
    tiers = pd.read_csv(out / "tiers.csv")
    assert tiers["accounts"].sum() == 600 and list(tiers["tier"]) == ["A", "B", "C"]
    # Deterministic: the same files again.
    again = tmp_path / "again"
    assert runner.invoke(app, ["potential", str(instance(tmp_path / "s")), "--out", str(again)]).exit_code == 0
    for name in names - {".territory_planner"}:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name


def test_cells_that_look_like_formulas_are_escaped(tmp_path):
    path = instance(tmp_path)
    acc = pd.read_csv(tmp_path / "accounts.csv")
    acc.loc[0, "name"] = "=HYPERLINK(\"http://x\")"
    acc.loc[0, "industry"] = "+cmd"
    acc.to_csv(tmp_path / "accounts.csv", index=False)
    out = tmp_path / "out"
    assert runner.invoke(app, ["potential", str(path), "--out", str(out)]).exit_code == 0
    text = (out / "potential.csv").read_text()
    assert "'=HYPERLINK" in text and "'+cmd" in text


@pytest.mark.parametrize(("change", "message"), [
    ({"features": ["industry", "headcount"]}, "'headcount'"),
    ({"revenue": "revenue_blank"}, "blank in every row"),
    ({"tiers": {"by": "rules", "rules": [{"tier": "A", "min": {"potential": 1e7}}]}}, "meet no tier rule"),
])
def test_bad_input_is_named_and_nothing_is_written(tmp_path, change, message):
    path = instance(tmp_path, **change)
    acc = pd.read_csv(tmp_path / "accounts.csv").assign(revenue_blank=np.nan)
    acc.to_csv(tmp_path / "accounts.csv", index=False)
    out = tmp_path / "out"
    result = runner.invoke(app, ["potential", str(path), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert message in " ".join(result.output.split()) and "Fix:" in result.output
    assert not out.exists()
    plan_out, store = tmp_path / "plan", tmp_path / "store"
    assert runner.invoke(app, ["plan", str(path), "--out", str(plan_out), "--store", str(store)]).exit_code == 1
    assert not plan_out.exists() and not list(store.glob("*/run.json"))


def test_a_scenario_without_the_section_is_told_what_to_add(tmp_path):
    acc = firmographic_accounts(50, seed=1).assign(potential=1.0, workload=1.0)
    path = write_scenario(tmp_path, acc, {"geometry": "planar"},
                          pd.DataFrame({"rep_id": ["R1"], "x": [0.0], "y": [0.0], "capacity_hours": [1e6]}))
    result = runner.invoke(app, ["potential", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "no potential: section" in result.output and "features" in result.output


def test_the_demo_variant_plans_on_estimated_potential_and_derived_workload():
    """scenarios/demo_potential.yaml: the demo from its firmographics, not its potential column."""
    from pathlib import Path

    scenario = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "demo_potential.yaml")
    inputs = load_inputs(scenario)
    acc = inputs.accounts
    assert (acc["potential_source"] == "estimated").all()
    tiers = scenario.capacity.segments
    hours = {t: s.calls_per_year * (s.minutes_per_call + s.travel_minutes_per_call) / 60 + s.account_management_hours
             for t, s in tiers.items()}
    np.testing.assert_allclose(acc["workload"], acc["tier"].map(hours))
    assert acc["workload"].sum() <= 0.85 * inputs.reps["capacity_hours"].sum()  # the tiers leave the team room
    p = plan(scenario, inputs=inputs, solver={"time_limit": 10})
    assert p.status in ("optimal", "feasible", "time_limit")
    terr = p.territories
    for column, band in scenario.balance.items():
        mean = acc[column].sum() / len(terr)
        assert (terr[column] - mean).abs().max() <= band * mean * (1 + 1e-6), column
    assert (terr["workload"] <= terr["capacity_hours"] + 1e-6).all()



def test_segments_by_naming_no_column_is_a_scenario_error_even_with_a_workload_column(tmp_path):
    import yaml

    path = instance(tmp_path)
    raw = yaml.safe_load(path.read_text())
    raw["capacity"]["segments_by"] = "tire"
    path.write_text(yaml.safe_dump(raw))
    pd.read_csv(tmp_path / "accounts.csv").assign(workload=1.0).to_csv(tmp_path / "accounts.csv", index=False)
    with pytest.raises(ScenarioError, match="capacity.segments_by names 'tire'") as caught:
        load_inputs(load_scenario(path))
    assert caught.value.file == str(path)


def test_derive_workload_needs_a_segment_table():
    with pytest.raises(ScenarioError, match="derive_workload needs the segment table"):
        parse_scenario({"name": "x", "data": {"accounts": "a.csv", "reps": "r.csv"}, "capacity": {"derive_workload": True}})


def test_blank_workload_cells_are_derived_and_given_ones_kept_unless_derive_workload(tmp_path):
    import yaml

    path = instance(tmp_path)
    acc = pd.read_csv(tmp_path / "accounts.csv").assign(workload=7.0, calls_per_year=1)
    acc.loc[::2, "workload"] = np.nan
    acc.to_csv(tmp_path / "accounts.csv", index=False)
    hours = {t: s["calls_per_year"] * (s["minutes_per_call"] + s.get("travel_minutes_per_call", 0)) / 60
             + s.get("account_management_hours", 0) for t, s in TIERS.items()}
    got = load_inputs(load_scenario(path)).accounts
    blank = acc["workload"].isna().to_numpy()
    assert (got["workload"].to_numpy()[~blank] == 7.0).all()
    # The file's calls_per_year (1) overrides each tier's calls for that account …
    one_call = {t: 1 * (s["minutes_per_call"] + s.get("travel_minutes_per_call", 0)) / 60
                + s.get("account_management_hours", 0) for t, s in TIERS.items()}
    np.testing.assert_allclose(got["workload"].to_numpy()[blank], got["tier"].map(one_call).to_numpy()[blank])
    # … unless account_overrides: false; derive_workload replaces every account's workload.
    raw = yaml.safe_load(path.read_text())
    raw["capacity"].update(account_overrides=False, derive_workload=True)
    path.write_text(yaml.safe_dump(raw))
    got = load_inputs(load_scenario(path)).accounts
    np.testing.assert_allclose(got["workload"], got["tier"].map(hours))


def test_changes_exclude_and_add_accounts_before_the_estimate(tmp_path):
    """Excluded accounts are not in the tiers' shares; added ones are estimated and tiered too."""
    import yaml

    path = instance(tmp_path)
    base = pd.read_csv(tmp_path / "accounts.csv")
    base.assign(current_rep_id=[f"R{i % 6}" for i in range(len(base))]).to_csv(tmp_path / "accounts.csv", index=False)
    added = firmographic_accounts(40, seed=99).drop(columns="true_potential")
    added["account_id"] = "NEW" + added["account_id"]
    added.insert(1, "name", "New firm")
    added.to_csv(tmp_path / "added.csv", index=False)
    raw = yaml.safe_load(path.read_text())
    raw["changes"] = {"exclude_accounts": ["F000001", "F000002"], "add_accounts": "added.csv",
                      "lock": {"top": 5, "by": "potential"}}
    path.write_text(yaml.safe_dump(raw))
    inputs = load_inputs(load_scenario(path))
    acc = inputs.accounts
    assert len(acc) == 600 - 2 + 40 and not acc["account_id"].isin(["F000001", "F000002"]).any()
    assert len(inputs.potential.accounts) == len(acc)  # the estimate is of the accounts planned
    new = acc[acc["account_id"].str.startswith("NEW")]
    assert new["potential"].notna().all() and (new["potential_source"] == "estimated").all()
    assert new["tier"].isin(["A", "B", "C"]).all() and new["workload"].notna().all()
    assert inputs.potential.tiers["accounts"].sum() == len(acc)
    # The lock ranks the owned accounts by the estimated potential (it runs after the estimate).
    locked = acc[acc["locked_rep_id"].notna()]
    owned = acc[acc["current_rep_id"].notna()]
    assert len(locked) == 5 and locked["potential"].min() >= owned["potential"].drop(locked.index).max()
