"""Shared by the workbench tests: one tiny planned run, copied per test, and an oracle.

The tiny instance is tests/test_cli.py's (40 accounts × 4 reps, ±5% potential, ±10%
workload, 400 capacity hours per rep). It is planned once per session into a template
store; each test gets its own copy of that store (a few files), so no test sees another
test's drafts or saved runs.

The :class:`Oracle` recomputes what the workbench states from the CSV files alone
(pandas and numpy, haversine km; nothing of territory_planner), and solves the
"textbook" MIP of tests/runs/test_replan.py (pulp + CBC) with some accounts fixed.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pulp
import pytest
from test_cli import BALANCE, CAPACITY_HOURS, haversine_km, make_scenario

from territory_planner import load_scenario
from territory_planner.runs.execute import plan_stored
from territory_planner.runs.store import RunStore
from territory_planner.workbench.session import Workbench


@dataclass(frozen=True)
class Planned:
    """A scenario planned into a store: the scenario file, the store's folder, the run."""

    scenario: Path
    store_root: Path
    run_id: str


def plan_into_store(scenario: Path, root: Path) -> Planned:
    store = RunStore(root)
    run = plan_stored(load_scenario(scenario), store).run
    assert run.ok, run.error
    return Planned(scenario, root, run.id)


def copy_store(planned: Planned, root: Path) -> RunStore:
    shutil.copytree(planned.store_root, root)
    return RunStore(root)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Planned:
    """The tiny scenario, planned once (a template store: never opened by a test)."""
    folder = tmp_path_factory.mktemp("tiny")
    return plan_into_store(make_scenario(folder / "s"), folder / "runs")


@pytest.fixture
def store(tiny, tmp_path) -> RunStore:
    """This test's own copy of the tiny run's store."""
    return copy_store(tiny, tmp_path / "runs")


@pytest.fixture
def bench(store, tiny) -> Workbench:
    return Workbench.for_run(store, tiny.run_id)


# --- the oracle ------------------------------------------------------------------------


class Oracle:
    """Independent recomputation of loads, bands, objective; the textbook MIP."""

    def __init__(self, folder: Path, balance: dict[str, float], capacity: bool = True) -> None:
        self.accounts = pd.read_csv(folder / "accounts.csv", dtype={"account_id": str})
        self.reps = pd.read_csv(folder / "reps.csv", dtype={"rep_id": str})
        self.balance = dict(balance)
        self.capacity = capacity
        self.ids = self.accounts["account_id"].tolist()

    def distance(self) -> pd.DataFrame:
        """account × rep haversine km."""
        a, r = self.accounts, self.reps
        d = haversine_km(a["lat"].to_numpy()[:, None], a["lon"].to_numpy()[:, None],
                         r["lat"].to_numpy()[None, :], r["lon"].to_numpy()[None, :])
        return pd.DataFrame(d, index=a["account_id"], columns=r["rep_id"])

    def frame(self, assignment: dict[str, str]) -> pd.DataFrame:
        a = self.accounts.copy()
        a["rep_id"] = a["account_id"].map(assignment)
        assert a["rep_id"].notna().all(), "the assignment leaves accounts out"
        return a

    def loads(self, assignment: dict[str, str], team: list[str]) -> pd.DataFrame:
        """Per rep of ``team`` (in that order): n_accounts, potential, workload (groupby sums)."""
        a = self.frame(assignment)
        out = a.groupby("rep_id").agg(n_accounts=("account_id", "size"), potential=("potential", "sum"),
                                      workload=("workload", "sum"))
        return out.reindex(team).fillna(0.0)

    def capacity_of(self, team: list[str]) -> pd.Series:
        return self.reps.set_index("rep_id").loc[team, "capacity_hours"].astype(float)

    def broken(self, assignment: dict[str, str], team: list[str]) -> dict[str, list[str]]:
        """rep → the bands (columns, or "capacity") it breaks; empty when every one holds."""
        loads = self.loads(assignment, team)
        k = len(team)
        out: dict[str, list[str]] = {r: [] for r in team}
        for column, tol in self.balance.items():
            mean = self.accounts[column].sum() / k
            for r in team:
                if abs(loads.loc[r, column] - mean) > tol * mean + 1e-7 * mean:
                    out[r].append(column)
        if self.capacity:
            cap = self.capacity_of(team)
            for r in team:
                if loads.loc[r, "workload"] > cap[r] * (1 + 1e-9):
                    out[r].append("capacity")
        return out

    def keeps_every_band(self, assignment: dict[str, str], team: list[str]) -> bool:
        return not any(self.broken(assignment, team).values())

    def objective(self, assignment: dict[str, str]) -> float:
        """Σ workload × km to the rep's home (the scenario's distance_weight: workload)."""
        d = self.distance()
        a = self.frame(assignment)
        km = d.to_numpy()[np.arange(len(a)), d.columns.get_indexer(a["rep_id"])]
        return float((a["workload"].to_numpy(float) * km).sum())

    def mean_km(self, assignment: dict[str, str]) -> float:
        d = self.distance()
        a = self.frame(assignment)
        return float(d.to_numpy()[np.arange(len(a)), d.columns.get_indexer(a["rep_id"])].mean())

    def textbook(self, team: list[str], fixed: dict[str, str]) -> float:
        """The least Σ workload × km under the bands and capacity, ``fixed`` accounts held."""
        d = self.distance()[team].to_numpy()
        n, k = d.shape
        w = self.accounts["workload"].to_numpy(float)
        model = pulp.LpProblem("textbook", pulp.LpMinimize)
        x = [[pulp.LpVariable(f"x_{i}_{j}", cat="Binary") for j in range(k)] for i in range(n)]
        model += pulp.lpSum(d[i, j] * w[i] * x[i][j] for i in range(n) for j in range(k))
        for i in range(n):
            model += pulp.lpSum(x[i]) == 1
            if self.ids[i] in fixed:
                model += x[i][team.index(fixed[self.ids[i]])] == 1
        for column, tol in self.balance.items():
            values = self.accounts[column].to_numpy(float)
            mean = values.sum() / k
            for j in range(k):
                load = pulp.lpSum(values[i] * x[i][j] for i in range(n))
                model += load >= (1 - tol) * mean
                model += load <= (1 + tol) * mean
        if self.capacity:
            cap = self.capacity_of(team).to_numpy()
            for j in range(k):
                model += pulp.lpSum(w[i] * x[i][j] for i in range(n)) <= cap[j]
        assert model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=60, gapRel=1e-9)) == 1
        return float(pulp.value(model.objective))

    def single_moves(self, assignment: dict[str, str], team: list[str], *, keeps: bool):
        """(account, to_rep, new assignment) of moving one account, keeping (or breaking) every band."""
        for account in self.ids:
            for rep in team:
                if rep == assignment[account]:
                    continue
                after = {**assignment, account: rep}
                if self.keeps_every_band(after, team) == keeps:
                    yield account, rep, after

    def swaps(self, assignment: dict[str, str], team: list[str]):
        """(a, b, new assignment) of two accounts of different reps trading reps with every
        band kept, the ones that add the most travel first."""
        loads = self.loads(assignment, team)
        k = len(team)
        limits = {c: (self.accounts[c].sum() / k, tol) for c, tol in self.balance.items()}
        cap = self.capacity_of(team)
        values = self.accounts.set_index("account_id")
        km = self.distance()

        def fits(rep, delta):
            for c, (mean, tol) in limits.items():
                if abs(loads.loc[rep, c] + delta[c] - mean) > tol * mean:
                    return False
            return not self.capacity or loads.loc[rep, "workload"] + delta["workload"] <= cap[rep]

        found = []
        for i, a in enumerate(self.ids):
            for b in self.ids[i + 1:]:
                ra, rb = assignment[a], assignment[b]
                if ra == rb:
                    continue
                delta = {c: values.loc[b, c] - values.loc[a, c] for c in ("potential", "workload")}
                if fits(ra, delta) and fits(rb, {c: -v for c, v in delta.items()}):
                    extra = values.loc[a, "workload"] * (km.loc[a, rb] - km.loc[a, ra]) + \
                        values.loc[b, "workload"] * (km.loc[b, ra] - km.loc[b, rb])
                    found.append((extra, a, b, {**assignment, a: rb, b: ra}))
        found.sort(key=lambda f: -f[0])
        return [(a, b, after) for _, a, b, after in found]


@pytest.fixture
def client(bench):
    """The workbench's API on ``bench`` (starlette's test client)."""
    from starlette.testclient import TestClient

    from territory_planner.workbench.app import Server, create_app

    with TestClient(create_app(Server(bench))) as c:
        yield c


@pytest.fixture(scope="session")
def tiny_oracle(tiny) -> Oracle:
    return Oracle(tiny.scenario.parent, BALANCE)


def assignment_of(state: dict) -> dict[str, str]:
    """item id → rep id, read from a GET /api/state (items are accounts here)."""
    reps = [t["rep_id"] for t in state["territories"]]
    return dict(zip(state["items"]["ids"], (reps[t] for t in state["items"]["territory"]), strict=True))


def team_of(state: dict) -> list[str]:
    return [t["rep_id"] for t in state["territories"]]


@pytest.fixture(scope="session")
def helpers():
    """The plain functions above, for the test modules (conftest is not importable by name)."""

    class H:
        assignment_of = staticmethod(assignment_of)
        team_of = staticmethod(team_of)
        plan_into_store = staticmethod(plan_into_store)
        copy_store = staticmethod(copy_store)
        Oracle = Oracle
        capacity_hours = CAPACITY_HOURS

    return H
