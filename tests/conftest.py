"""Shared by every test: no test writes a run store into the repository.

Commands that keep runs (plan, sweep, replan, compare of a scenario) default to ``runs/``
in the current folder. The whole session gets a store of its own in a temporary folder
(session-scoped, so that module-scoped fixtures which plan, set up before any
function-scoped fixture, see it too), and each test a fresh one.
"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _run_store_for_the_session(tmp_path_factory):
    had_runs = (ROOT / "runs").exists()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TERRITORY_PLANNER_STORE", str(tmp_path_factory.mktemp("session-store") / "runs"))
        yield
    # The check that this works: the session left no run store in the repository.
    assert had_runs or not (ROOT / "runs").exists(), "a test wrote runs/ into the repository"


@pytest.fixture(autouse=True)
def _run_store_in_tmp(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TERRITORY_PLANNER_STORE", str(tmp_path_factory.mktemp("store") / "runs"))
