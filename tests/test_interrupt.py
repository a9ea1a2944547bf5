"""Ctrl-C keeps the best plan found so far (and never a broken one)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def test_ctrl_c_writes_the_best_plan_so_far(tmp_path):
    out = tmp_path / "plan"
    proc = subprocess.Popen(
        [sys.executable, "-m", "territory_planner.cli", "plan", str(ROOT / "scenarios/demo.yaml"),
         "--out", str(out), "--time-limit", "300", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # Let it get past the LP and the first incumbent, well before the 300 s limit.
    time.sleep(12)
    assert proc.poll() is None, proc.communicate()
    started = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert time.perf_counter() - started < 30  # stops promptly
    assert proc.returncode == 0, stderr
    assert "Ctrl-C" in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert summary["bound"] <= summary["objective"]
    plan = pd.read_csv(out / "assignments.csv")
    territories = pd.read_csv(out / "territories.csv")
    assert len(plan) == 3000 and plan["account_id"].is_unique
    assert territories["potential_dev_pct"].abs().max() <= 5 + 1e-6
    assert territories["workload_dev_pct"].abs().max() <= 10 + 1e-6
    assert (territories["workload"] <= territories["capacity_hours"] + 1e-6).all()
    assert not [p for p in os.listdir(out) if p.endswith(".tmp")]
