"""Shared by every test: no test writes a run store into the repository.

Commands that keep runs (plan, sweep, replan, compare of a scenario) default to ``runs/``
in the current folder; each test gets a store of its own in its temporary folder.
"""

import pytest


@pytest.fixture(autouse=True)
def _run_store_in_tmp(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TERRITORY_PLANNER_STORE", str(tmp_path_factory.mktemp("store") / "runs"))
