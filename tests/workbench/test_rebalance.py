"""Rebalance around the planner's edits: plan() in a solver process, stoppable, undoable.

The tiny instance's rebalance is checked against conftest's textbook MIP (pulp + CBC)
with the planner's locks as fixed accounts. Stop is checked on a demo instance big and
tight enough (1,000 accounts × 15 reps, ±3% / ±5%) that a 60 s solve is still running
when Stop is pressed; the solver process must survive it and go away on close().
"""

from __future__ import annotations

import os
import time

import pytest
from processes import alive, descendants
from starlette.testclient import TestClient

from territory_planner.demo_data import write_demo
from territory_planner.runs.store import RunStore
from territory_planner.workbench.app import Server, create_app
from territory_planner.workbench.rebalance import Rebalancer, SolverProcess
from territory_planner.workbench.session import Workbench

MIP_GAP = 0.001
RUNNING = ("starting", "running", "stopping")
BIG_BALANCE = {"potential": 0.03, "workload": 0.05}
EDIT_KEYS = {"version", "can_undo", "can_redo", "changed", "kpis", "figures"}
REBALANCE_KEYS = {"state", "seconds", "time_limit", "objective", "bound", "gap", "history", "error", "result"}


@pytest.fixture(scope="module")
def solver():
    process = SolverProcess()
    yield process
    process.close()


@pytest.fixture(scope="module")
def big(tmp_path_factory, helpers):
    """1,000 demo accounts × 15 reps with tight bands, planned for 3 s (status time_limit)."""
    folder = tmp_path_factory.mktemp("big")
    write_demo(folder / "s", seed=3, n_accounts=1000, n_reps=15, counties=False)
    path = folder / "s" / "scenario.yaml"
    path.write_text("name: big\ndata: {accounts: accounts.csv, reps: reps.csv}\ngeometry: geographic\n"
                    "territories: {centers: reps}\nobjective: {distance_weight: workload}\n"
                    "balance: {potential: 0.03, workload: 0.05}\ncapacity: true\nsolver: {time_limit: 3}\n",
                    encoding="utf-8")
    return helpers.plan_into_store(path, folder / "runs")


@pytest.fixture(scope="module")
def big_oracle(big, helpers):
    return helpers.Oracle(big.scenario.parent, BIG_BALANCE)


def big_bench(big) -> Workbench:
    return Workbench.for_run(RunStore(big.store_root), big.run_id, new_draft=True)


def wait(rebalancer: Rebalancer, timeout: float, until=lambda s: s["state"] not in RUNNING) -> dict:
    end = time.monotonic() + timeout
    while True:
        status = rebalancer.status()
        if until(status) or time.monotonic() > end:
            return status
        time.sleep(0.05)


def snapshot(bench: Workbench) -> dict:
    s = bench.state()
    return {"territory": s["items"]["territory"], "locked": s["items"]["locked"], "kpis": s["kpis"],
            "figures": s["figures"]}


def move_two_to_their_next_nearest_rep(bench, oracle, helpers) -> dict[str, str]:
    """Move the first two accounts each to the nearest rep that is not theirs; return the locks."""
    state = bench.state()
    current = helpers.assignment_of(state)
    km = oracle.distance()
    locks = {}
    for account in state["items"]["ids"][:2]:
        locks[account] = km.loc[account].drop(current[account]).idxmin()
        bench.move([account], locks[account], bench.draft.version)
    return locks


# --- 8. the rebalance is the textbook optimum with the planner's locks ---------------------------


def test_a_rebalance_keeps_the_locks_and_every_band_and_is_the_textbook_optimum(bench, solver, tiny_oracle,
                                                                               helpers):
    state = bench.state()
    team = helpers.team_of(state)
    locks = {"A000": "R3", "A001": "R3"}
    assert all(helpers.assignment_of(state)[a] != r for a, r in locks.items())
    bench.move(list(locks), "R3", bench.draft.version)
    pre = snapshot(bench)
    assert bench.state()["kpis"]["violations"]  # the moves broke bands: the rebalance must repair them
    version = bench.draft.version

    rebalancer = Rebalancer(bench, solver)
    started = rebalancer.start(version, time_limit=10)
    assert set(started) == REBALANCE_KEYS and started["state"] == "starting" and started["time_limit"] == 10
    final = wait(rebalancer, 60)
    assert final["state"] == "done", final["error"]
    result = final["result"]
    assert EDIT_KEYS | {"moved"} <= set(result)

    after = bench.state()
    assignment = helpers.assignment_of(after)
    assert after["draft"]["version"] == result["version"] == version + 1 and after["draft"]["can_undo"]
    assert {a: assignment[a] for a in locks} == locks  # the locks held
    assert {i for i, f in zip(after["items"]["ids"], after["items"]["locked"], strict=True) if f} == set(locks)
    assert tiny_oracle.keeps_every_band(assignment, team), tiny_oracle.broken(assignment, team)
    assert after["kpis"]["violations"] == []
    objective = tiny_oracle.objective(assignment)
    assert result["figures"]["objective"] == pytest.approx(objective, rel=1e-9)
    assert after["kpis"]["objective"] == pytest.approx(objective, rel=1e-9)
    assert after["figures"] == result["figures"]

    figures = result["figures"]
    assert figures["status"] == "optimal", figures  # 40 × 4 in 10 s
    assert figures["bound"] is not None and figures["bound"] <= objective + 1e-6 and figures["gap"] <= MIP_GAP
    best = tiny_oracle.textbook(team, locks)
    assert best - 1e-6 <= objective <= best * (1 + MIP_GAP) + 1e-6

    # result["moved"] = exactly the items whose territory the rebalance changed
    changed = {after["items"]["ids"][i] for i, (t0, t1) in enumerate(zip(pre["territory"], after["items"]["territory"],
                                                                       strict=True)) if t0 != t1}
    assert changed and {m["id"] for m in result["moved"]} == changed
    assert {c["index"] for c in result["changed"]} == {after["items"]["ids"].index(i) for i in changed}
    reps = helpers.team_of(after)
    for m in result["moved"]:
        i = after["items"]["ids"].index(m["id"])
        assert (m["from_rep"], m["to_rep"]) == (reps[pre["territory"][i]], assignment[m["id"]])
        assert m["name"] == after["items"]["names"][i]

    # one edit: undo gives back the plan before the rebalance
    bench.undo(bench.draft.version)
    assert snapshot(bench) == pre
    bench.redo(bench.draft.version)
    assert helpers.assignment_of(bench.state()) == assignment and bench.figures().as_dict() == figures
    # and a restart replays it
    again = Workbench.for_run(bench.store, bench.run.id)
    assert helpers.assignment_of(again.state()) == assignment and again.state()["figures"] == figures


def test_the_rebalance_endpoints_answer_in_the_documented_shape(bench, solver):
    client = TestClient(create_app(Server(bench, rebalancer=Rebalancer(bench, solver))))
    idle = client.get("/api/rebalance")
    assert idle.status_code == 200 and set(idle.json()) == REBALANCE_KEYS and idle.json()["state"] == "idle"
    client.post("/api/move", json={"items": ["A000"], "to": "R3", "version": 0})
    for body, status, word in (({"version": 0}, 409, "stale"), ({"version": 1, "time_limit": 0}, 400, "time_limit"),
                               ({"version": 1, "time_limit": "5"}, 400, "time_limit"),
                               ({"version": 1, "seconds": 5}, 400, "seconds")):
        response = client.post("/api/rebalance", json=body)
        assert response.status_code == status and word in response.json()["error"] and response.json()["fix"]
    assert client.get("/api/rebalance").json()["state"] == "idle"

    started = client.post("/api/rebalance", json={"version": 1, "time_limit": 10})
    assert started.status_code == 202 and set(started.json()) == REBALANCE_KEYS
    assert started.json()["state"] in RUNNING and started.json()["time_limit"] == 10
    end = time.monotonic() + 60
    while (status := client.get("/api/rebalance").json())["state"] in RUNNING and time.monotonic() < end:
        time.sleep(0.1)
    assert status["state"] == "done", status["error"]
    assert EDIT_KEYS | {"moved"} <= set(status["result"])
    for m in status["result"]["moved"]:
        assert set(m) == {"id", "name", "from_rep", "to_rep"}
    for point in status["history"]:
        assert len(point) == 3
    state = client.get("/api/state").json()
    assert state["rebalance"]["state"] == "done" and state["draft"]["version"] == 2 == status["result"]["version"]
    stop = client.post("/api/rebalance/stop", json={})
    assert stop.status_code == 200 and stop.json()["state"] == "done"
    assert client.get("/api/state").json()["draft"]["version"] == 2


# --- 9. Stop ----------------------------------------------------------------------------------------


def test_stop_keeps_the_best_plan_found_and_the_solver_process_lives_on(big, big_oracle, helpers):
    solver = SolverProcess()
    pid, below = None, []
    try:
        bench = big_bench(big)
        locks = move_two_to_their_next_nearest_rep(bench, big_oracle, helpers)
        team = helpers.team_of(bench.state())
        rebalancer = Rebalancer(bench, solver)
        rebalancer.start(bench.draft.version, time_limit=60)
        progress = wait(rebalancer, 30, until=lambda s: s["state"] != "starting" and s["history"]
                        or s["state"] not in RUNNING)
        assert progress["state"] == "running" and progress["history"], progress
        pid = solver.process.pid
        assert alive(pid) and pid in descendants(os.getpid())
        below = descendants(pid)

        pressed = time.monotonic()
        assert rebalancer.stop()["state"] == "stopping"
        final = wait(rebalancer, 15)
        assert time.monotonic() - pressed < 5, "Stop took too long"
        assert final["state"] == "done", final["error"]
        figures = final["result"]["figures"]
        if figures["status"] == "optimal":
            pytest.fail("the rebalance was optimal before Stop: make the instance harder")
        assert figures["status"] == "interrupted" and "stop" in figures["status_text"].lower()

        state = bench.state()
        assignment = helpers.assignment_of(state)
        assert {a: assignment[a] for a in locks} == locks
        assert big_oracle.keeps_every_band(assignment, team), big_oracle.broken(assignment, team)
        assert state["kpis"]["violations"] == [] and state["figures"]["status"] == "interrupted"
        assert figures["objective"] == pytest.approx(big_oracle.objective(assignment), rel=1e-9)
        assert figures["bound"] is None or figures["bound"] <= figures["objective"] + 1e-6

        # the next rebalance runs in the same process
        rebalancer.start(bench.draft.version, time_limit=1)
        again = wait(rebalancer, 60)
        assert again["state"] == "done", again["error"]
        assert solver.process.pid == pid
        assert big_oracle.keeps_every_band(helpers.assignment_of(bench.state()), team)
        assert again["result"]["figures"]["objective"] <= figures["objective"] + 1e-6  # warm-started
    finally:
        solver.close()
    assert pid is not None
    assert not alive(pid) and pid not in descendants(os.getpid()), "the solver process outlived close()"
    assert not [p for p in below if alive(p)], "a process of the solver outlived close()"
    assert solver.process is None


def test_stop_right_after_start_stops_the_rebalance(big, bench, solver):
    warm = Rebalancer(bench, solver)  # a solver process that is up and idle, as after a first rebalance
    warm.start(bench.draft.version, time_limit=5)
    assert wait(warm, 60)["state"] == "done"

    rebalancer = Rebalancer(big_bench(big), solver)
    rebalancer.start(rebalancer.bench.draft.version, time_limit=20)
    try:
        assert rebalancer.stop()["state"] == "stopping"
        final = wait(rebalancer, 5)
        assert final["state"] not in RUNNING, "Stop was lost: the rebalance runs on"
        assert final["state"] == "done" or "stopped" in (final["error"] or ""), final["error"]
    finally:
        while rebalancer.status()["state"] in RUNNING:  # free the shared solver for the next test
            rebalancer.solver.interrupt()
            wait(rebalancer, 1)


def test_stop_while_the_solver_process_starts_is_a_clean_stop(bench):
    solver = SolverProcess()
    try:
        rebalancer = Rebalancer(bench, solver)
        rebalancer.start(bench.draft.version, time_limit=5)
        time.sleep(0.3)  # the process is up, importing the solvers
        assert rebalancer.status()["state"] == "starting" and solver.alive()
        rebalancer.stop()
        final = wait(rebalancer, 30)
        assert final["state"] not in RUNNING
        # whatever it says, the next rebalance works (a new process if need be)
        rebalancer.start(bench.draft.version, time_limit=5)
        assert wait(rebalancer, 60)["state"] == "done"
    finally:
        solver.close()
    assert final["state"] == "done" or "stopped" in (final["error"] or ""), final["error"]


# --- 10. no edit while a rebalance runs ----------------------------------------------------------------


def look(client) -> dict:
    state = client.get("/api/state").json()
    runs = client.get("/api/runs").json()["runs"]
    return {"version": state["draft"]["version"], "draft": state["draft"]["id"],
            "territory": state["items"]["territory"], "locked": state["items"]["locked"],
            "runs": [(r["id"], r["approved"]) for r in runs]}


def test_an_edit_while_a_rebalance_runs_is_refused_and_changes_nothing(big, solver):
    bench = big_bench(big)
    rebalancer = Rebalancer(bench, solver)
    client = TestClient(create_app(Server(bench, rebalancer=rebalancer)))
    first = client.get("/api/state").json()["items"]["ids"][0]
    client.post("/api/lock", json={"items": [first], "locked": True, "version": 0})
    assert client.post("/api/rebalance", json={"version": 1, "time_limit": 60}).status_code == 202
    try:
        running = wait(rebalancer, 30, until=lambda s: s["state"] == "running" and s["history"]
                       or s["state"] not in RUNNING)
        assert running["state"] == "running", running
        before = look(client)
        requests = [("/api/move", {"items": [first], "to": "R001", "version": 1}),
                    ("/api/lock", {"items": [first], "locked": False, "version": 1}),
                    ("/api/undo", {"version": 1}), ("/api/redo", {"version": 1}),
                    ("/api/save", {"version": 1, "label": "mid-solve"}), ("/api/open", {"run": big.run_id})]
        for path, body in requests:
            response = client.post(path, json=body)
            assert response.status_code == 409, (path, response.text)
            assert "rebalance is running" in response.json()["error"] and response.json()["fix"]
        again = client.post("/api/rebalance", json={"version": 1, "time_limit": 5})
        assert 400 <= again.status_code < 500 and "already running" in again.json()["error"]
        assert look(client) == before
        assert client.get("/api/rebalance").json()["state"] in ("running", "stopping")
    finally:
        client.post("/api/rebalance/stop", json={})
        final = wait(rebalancer, 15)
    assert final["state"] == "done", final["error"]
    after = client.get("/api/state").json()
    assert after["draft"]["version"] == 2 and after["items"]["locked"][0] is True  # the rebalance, one edit
    assert after["items"]["ids"][0] == first
