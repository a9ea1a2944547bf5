"""Overlay teams: specialists get their own balanced alignment over the same accounts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territory_planner import parse_scenario, plan, write_plan
from territory_planner.errors import ScenarioError


@pytest.fixture()
def files(tmp_path):
    rng = np.random.default_rng(8)
    n = 120
    accounts = pd.DataFrame({
        "account_id": [f"A{i:03d}" for i in range(n)],
        "lat": rng.uniform(30, 45, n), "lon": rng.uniform(-110, -75, n),
        "potential": rng.integers(50, 150, n).astype(float), "workload": rng.integers(5, 15, n).astype(float),
        "segment": rng.choice(["SMB", "Enterprise"], n, p=[0.7, 0.3]),
    })
    reps = pd.DataFrame({
        "rep_id": [f"R{j}" for j in range(6)] + ["S1", "S2"],
        "lat": rng.uniform(32, 43, 8), "lon": rng.uniform(-108, -77, 8),
        "capacity_hours": [400.0] * 6 + [600.0] * 2,
        "role": ["Account Executive"] * 6 + ["Specialist"] * 2,
    })
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    reps.to_csv(tmp_path / "reps.csv", index=False)
    return tmp_path, accounts, reps


def _scenario(tmp_path, overlays):
    return parse_scenario({
        "name": "o", "data": {"accounts": "accounts.csv", "reps": "reps.csv"},
        "balance": {"potential": 0.1}, "solver": {"time_limit": 20}, "overlays": overlays,
    }, base_dir=tmp_path)


def test_overlay_team_has_its_own_balanced_alignment(files):
    tmp_path, accounts, reps = files
    sc = _scenario(tmp_path, [{"role": "Specialist", "segments": ["Enterprise"], "balance": {"potential": 0.05}}])
    result = plan(sc)
    a = result.assignments
    # Main alignment uses only Account Executives; every account has one.
    assert set(a["rep_id"]) <= {f"R{j}" for j in range(6)}
    assert len(a) == len(accounts) and a["account_id"].is_unique
    # Enterprise accounts have a specialist, SMB accounts none.
    ent = a  # assignments carry each account's segment
    assert ent.loc[ent.segment == "Enterprise", "overlay_specialist_rep_id"].isin(["S1", "S2"]).all()
    assert ent.loc[ent.segment == "SMB", "overlay_specialist_rep_id"].isna().all()
    # The overlay's own balance (±5% of the Enterprise potential) holds.
    e = ent[ent.segment == "Enterprise"].merge(accounts[["account_id", "potential"]], on="account_id", suffixes=("", "_a"))
    loads = e.groupby("overlay_specialist_rep_id")["potential"].sum()
    assert (np.abs(loads / (e["potential"].sum() / 2) - 1) <= 0.05 + 1e-9).all()
    assert "Specialist" in result.summary()["overlays"]
    written = write_plan(result, tmp_path / "out", map_file=False)
    assert (tmp_path / "out" / "overlay_specialist_territories.csv").exists()
    assert "overlay Specialist" in written


def test_overlay_role_must_exist(files):
    tmp_path, _, _ = files
    with pytest.raises(ScenarioError) as info:
        plan(_scenario(tmp_path, [{"role": "Architect"}]))
    assert "overlay role 'Architect' matches no rep" in str(info.value)
    assert "Specialist" in str(info.value)
