"""The product path end to end: shipped demo scenario → CLI plan → files → map in Chromium."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from territory_planner.cli import app
from territory_planner.outputs.map_frame import OUTLINE_FILL_OPACITY, PALETTE

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "demo.yaml"


@pytest.fixture(scope="module")
def demo_plan(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "plan"
    result = CliRunner().invoke(app, ["plan", str(DEMO), "--out", str(out), "--time-limit", "15", "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def test_demo_plan_meets_every_band(demo_plan):
    accounts = pd.read_csv(ROOT / "scenarios/demo/accounts.csv", dtype={"postal_code": str, "unit_id": str})
    reps = pd.read_csv(ROOT / "scenarios/demo/reps.csv")
    plan = pd.read_csv(demo_plan / "assignments.csv")
    assert sorted(plan["account_id"]) == sorted(accounts["account_id"])
    merged = plan[["account_id", "rep_id"]].merge(accounts, on="account_id")
    per_rep = merged.groupby("rep_id")[["potential", "workload"]].sum().reindex(reps["rep_id"]).fillna(0)
    for column, tolerance in {"potential": 0.05, "workload": 0.10}.items():
        mean = accounts[column].sum() / len(reps)
        assert np.all(np.abs(per_rep[column] / mean - 1) <= tolerance + 1e-9), column
    assert np.all(per_rep["workload"].to_numpy() <= reps["capacity_hours"].to_numpy() + 1e-6)
    summary = json.loads((demo_plan / "summary.json").read_text())
    assert summary["status"] in ("optimal", "time_limit")
    assert summary["bound"] <= summary["objective"]
    assert summary["kpis"]["max_balance_dev_pct"] <= 10.0 + 1e-6


def _blend(hex_color: str, alpha: float) -> tuple[int, int, int]:
    rgb = [int(hex_color[i : i + 2], 16) for i in (1, 3, 5)]
    return tuple(round(alpha * c + (1 - alpha) * 255) for c in rgb)


@pytest.mark.browser
def test_demo_map_shows_the_territories_offline(demo_plan, tmp_path):
    try:
        from browser import chromium_or_skip, pixels_near, read_png, visit
    except ImportError:  # tests/ became a package
        from tests.browser import chromium_or_skip, pixels_near, read_png, visit

    chromium_or_skip()
    # Count the maps, then hide the accounts and rep homes (with the layer control, as a planner
    # would) so that the territory fills are measured, not the dots drawn over small metro ones.
    count = """async () => {
      const n = document.querySelectorAll('.leaflet-container').length;
      for (const label of document.querySelectorAll('.leaflet-control-layers-overlays label')) {
        const text = label.textContent.trim();
        const box = label.querySelector('input');
        if ((text.startsWith('Accounts') || text.startsWith('Rep homes')) && box.checked) box.click();
      }
      await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
      return n;
    }"""
    page = visit(demo_plan / "map.html", tmp_path / "demo_map.png", evaluate=count,
                 wait_for=".leaflet-container", viewport=(1200, 800))
    assert page.network_requests == []  # network off: nothing was even attempted
    assert page.errors == []
    assert page.value == 1
    _, _, pixels = read_png(page.screenshot)
    shown = sum(pixels_near(pixels, _blend(c, OUTLINE_FILL_OPACITY)) > 150 for c in PALETTE[:30])
    assert shown >= 27, f"only {shown} of 30 territory colours visible"
