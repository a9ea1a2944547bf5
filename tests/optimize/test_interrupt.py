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
import pytest
from processes import alive, descendants

ROOT = Path(__file__).resolve().parents[2]


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


HARD_MODEL = """
import json, signal, sys, time
import numpy as np
import scipy.sparse as sp
from territory_planner.optimize.backends import SolveOptions, solve_model
from territory_planner.optimize.exact import MatrixModel

signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
# A multi-dimensional covering knapsack: every plan is easy to find, the proof is not.
rng = np.random.default_rng(7)
n, m = 150, 15
a = rng.integers(1, 100, size=(m, n)).astype(float)
c = (a.sum(axis=0) + rng.integers(0, 40, size=n)).astype(float)
model = MatrixModel(c=c, A=sp.csr_matrix(a), row_lo=a.sum(axis=1) / 2, row_hi=np.full(m, np.inf),
                    col_lo=np.zeros(n), col_hi=np.ones(n), integer=np.ones(n, dtype=bool))
print("solving", flush=True)
res = solve_model(model, sys.argv[1], SolveOptions(time_limit=120, mip_gap=0.0, threads=1, warm_start=np.ones(n)))
feasible = res.x is not None and bool(np.all(a @ res.x >= a.sum(axis=1) / 2 - 1e-9))
print(json.dumps({"status": res.status, "seconds": res.seconds, "feasible": feasible, "objective": res.objective,
                  "start": float(c.sum())}), flush=True)
# After the solve, Ctrl-C must raise in Python again (no backend may leave SIGINT changed).
try:
    signal.raise_signal(signal.SIGINT)
    print("no KeyboardInterrupt")
except KeyboardInterrupt:
    print("KeyboardInterrupt")
"""


def _interrupt(backend: str, *, group: bool) -> tuple[dict, list[str]]:
    """Run HARD_MODEL on ``backend``, send SIGINT after 3 s (to the process, or to its
    process group as a terminal does); return its result and any of its descendants still
    alive afterwards."""
    proc = subprocess.Popen([sys.executable, "-c", HARD_MODEL, backend], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, start_new_session=group)
    try:
        assert proc.stdout.readline().strip() == "solving", proc.communicate()
        time.sleep(3)
        assert proc.poll() is None, proc.communicate()  # still searching: the proof takes far longer
        children = descendants(proc.pid)
        if group:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    lines = stdout.strip().splitlines()
    assert lines[-1] == "KeyboardInterrupt", stdout
    return json.loads(lines[-2]), [pid for pid in children if alive(pid)]


@pytest.mark.parametrize("backend", ["highs", "cpsat", "cbc"])
def test_ctrl_c_stops_each_backend_and_keeps_its_incumbent(backend):
    """Ctrl-C ends a MIP search promptly, reported as interrupted, with the best plan the
    solver found (the large paths rely on the status to stop the whole search), and Python
    handles the next Ctrl-C as usual. CBC runs as a child process: the signal must reach
    it, and it may not keep running afterwards."""
    result, left = _interrupt(backend, group=False)
    assert not left, "a solver process outlived Ctrl-C"
    assert result["status"] == "interrupted"
    assert result["feasible"] and result["seconds"] < 30
    assert result["objective"] < result["start"]  # the solver's own plan, not the warm start handed to it


def test_ctrl_c_in_a_terminal_stops_cbc_with_its_plan():
    """In a terminal, Ctrl-C signals the whole process group: CBC gets it from the terminal
    and again from the forwarding handler, and must still stop with its own plan."""
    result, left = _interrupt("cbc", group=True)
    assert not left, "a CBC process outlived Ctrl-C"
    assert result["status"] == "interrupted" and result["feasible"]
    assert result["objective"] < result["start"]


class _FakeSolver:
    """Stands in for a CP-SAT solver: Solve blocks until StopSearch (or ``returns_after``
    seconds, as when CP-SAT stops on a limit of its own) and returns ``status``."""

    def __init__(self, status: int = 2, returns_after: float = 30.0, ignore_stops: int = 0, set_up: float = 0.0):
        import threading

        self.status, self.returns_after, self.ignore_stops = status, returns_after, ignore_stops
        self.set_up = set_up  # seconds before a stop can take effect (CP-SAT builds its search first)
        self.stop, self.ready = threading.Event(), threading.Event()
        self.stops = 0

    def Solve(self, model, callback):  # noqa: N802 - CP-SAT's name
        time.sleep(self.set_up)
        self.ready.set()
        self.stop.wait(self.returns_after)
        return self.status

    def StopSearch(self):  # noqa: N802
        if not self.ready.is_set():
            return  # lost, as in CP-SAT before its search exists
        self.stops += 1
        if self.stops > self.ignore_stops:
            self.stop.set()


@pytest.fixture
def sigint_after():
    """Send this process SIGINT after each of the given delays; timers left are cancelled
    at the end of the test (so a failing test cannot interrupt the next one)."""
    import threading

    timers = []

    def send(*delays: float):
        for d in delays:
            timers.append(threading.Timer(d, os.kill, (os.getpid(), signal.SIGINT)))
            timers[-1].start()

    yield send
    for t in timers:
        t.cancel()


def test_cpsat_ctrl_c_stops_the_search_and_is_reported(sigint_after):
    from territory_planner.optimize.backends import _solve_cpsat_stoppable

    fake = _FakeSolver(status=2)
    sigint_after(0.3)
    t = time.perf_counter()
    assert _solve_cpsat_stoppable(fake, None, None) == (2, True)
    assert fake.stops == 1 and time.perf_counter() - t < 5


def test_cpsat_stopping_on_its_own_early_is_not_ctrl_c():
    # The old rule (stopped well before the time limit ⇒ interrupted) would call this Ctrl-C.
    from territory_planner.optimize.backends import _solve_cpsat_stoppable

    fake = _FakeSolver(status=2, returns_after=0.2)
    assert _solve_cpsat_stoppable(fake, None, None) == (2, False)
    assert fake.stops == 0


def test_cpsat_second_ctrl_c_raises(sigint_after):
    from territory_planner.optimize.backends import _solve_cpsat_stoppable

    fake = _FakeSolver(status=2, ignore_stops=10**6)  # slow to wind down after a stop
    sigint_after(0.3, 0.8)
    try:
        t = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            _solve_cpsat_stoppable(fake, None, None)
        assert fake.stops >= 2 and time.perf_counter() - t < 5  # stopped again at each poll, then gave up
    finally:
        fake.stop.set()


def test_cpsat_ctrl_c_before_the_search_is_set_up_still_stops_it(sigint_after):
    from territory_planner.optimize.backends import _solve_cpsat_stoppable

    fake = _FakeSolver(status=2, set_up=0.5)
    sigint_after(0.1)  # lands while the search is being set up: its first stop is lost
    t = time.perf_counter()
    assert _solve_cpsat_stoppable(fake, None, None) == (2, True)
    assert time.perf_counter() - t < 5
