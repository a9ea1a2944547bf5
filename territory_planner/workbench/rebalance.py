"""Rebalance around the planner's edits: ``plan()`` in a solver process that can be stopped.

The solve runs ``territory_planner.plan`` — the same function as the command line, with
the scenario's constraints, the planner's locks as ``locked_rep_id`` and the plan in
hand as its start (``plan(start=…)``) — in a separate process, so that

- **Stop** is Ctrl-C: the button sends SIGINT to that process, and ``plan()`` stops the
  way it does in a terminal, keeping the best plan found (status ``interrupted``);
- the web server stays responsive while the solver holds every core;
- the progress callback's (objective, bound, seconds) reach the page as they improve.

The process is started once, when the workbench opens (importing the solvers takes a
second or two), and waits for jobs. One job runs at a time.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from territory_planner.errors import PlannerError, ScenarioError
from territory_planner.optimize.solution import proven_bound, proven_within, relative_gap


def _idle(signum, frame) -> None:  # pragma: no cover - a signal handler of the solver process
    """SIGINT between solves: a Stop that came after the solve ended; there is nothing to stop."""


def _worker(conn) -> None:  # pragma: no cover - runs in the solver process (covered through the tests' jobs)
    """The solver process: plan each job it is sent, report progress, answer with the plan.

    SIGINT stops a solve (``plan()`` keeps its best plan, as on Ctrl-C in a terminal) and
    only a solve: between jobs it is ignored, and the server sends it only once the job
    has said ``started``.
    """
    signal.signal(signal.SIGINT, _idle)
    from territory_planner.pipeline import plan

    conn.send(("ready",))
    while True:
        signal.signal(signal.SIGINT, _idle)
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return

        def progress(objective, bound, seconds):
            conn.send(("progress", float(objective), float(bound), float(seconds)))

        result, failure = None, None
        try:
            # Stoppable from here: the server sends SIGINT only once it has "started" whole.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            conn.send(("started",))
            try:
                result = plan(job["scenario"], inputs=job["inputs"], start=job["start"], progress=progress)
            finally:
                signal.signal(signal.SIGINT, _idle)
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, _idle)
        except PlannerError as exc:
            failure = str(exc)
        except Exception as exc:  # noqa: BLE001 — reported to the planner, the process lives on
            failure = f"{type(exc).__name__}: {exc} (a bug in territory_planner; please report it)"
        if result is None:
            conn.send(("failed", failure or "stopped before the solver had a plan"))
            continue
        a = result.assignments
        conn.send(("done", {"assignment": dict(zip(a["account_id"].astype(str), a["rep_id"].astype(str), strict=True)),
                            "status": result.status, "objective": float(result.objective),
                            "bound": float(result.bound), "seconds": float(result.seconds),
                            "bound_from": result.solution.bound_from}))


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - the solver process's entry point
    """``python -m territory_planner.workbench.rebalance READ_FD WRITE_FD``: the solver process."""
    from multiprocessing.connection import Connection

    args = sys.argv[1:] if argv is None else argv
    conn = Connection(int(args[0]), readable=True, writable=False)
    out = Connection(int(args[1]), readable=False, writable=True)
    _worker(_Duplex(conn, out))


class _Duplex:
    """One object to recv from one pipe and send on another (the solver process's end)."""

    def __init__(self, read, write) -> None:
        self._read, self._write = read, write

    def recv(self):
        return self._read.recv()

    def send(self, message) -> None:
        self._write.send(message)

    def poll(self, timeout: float = 0.0) -> bool:
        return self._read.poll(timeout)


class SolverProcess:
    """The one solver process of a workbench server: ``python -m
    territory_planner.workbench.rebalance``, talking pickled messages over two pipes.

    A plain child process (not ``multiprocessing``'s spawn, which re-imports the caller's
    main module: a script without a ``__main__`` guard, or code read from stdin, would
    break it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        self.conn = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ensure(self, timeout: float = 120.0) -> None:
        """Start the process unless it runs; wait until it has imported the solvers."""
        from multiprocessing.connection import Connection

        with self._lock:
            if self.alive():
                return
            to_child_r, to_child_w = os.pipe()
            to_parent_r, to_parent_w = os.pipe()
            try:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "territory_planner.workbench.rebalance", str(to_child_r), str(to_parent_w)],
                    pass_fds=(to_child_r, to_parent_w), stdin=subprocess.DEVNULL, close_fds=True,
                    restore_signals=True, start_new_session=True)  # a terminal's Ctrl-C is the server's, not its
            finally:
                os.close(to_child_r)
                os.close(to_parent_w)
            self.conn = _Duplex(Connection(to_parent_r, readable=True, writable=False),
                                Connection(to_child_w, readable=False, writable=True))
            if not self.conn.poll(timeout):
                raise RuntimeError(f"the solver process did not start in {timeout:g} s")
            try:
                ready = self.conn.recv()
            except EOFError:
                raise RuntimeError("the solver process ended while starting (exit code "
                                   f"{self.process.wait(timeout=5)})") from None
            if ready != ("ready",):
                raise RuntimeError(f"the solver process said {ready!r} instead of ready")

    def interrupt(self) -> None:
        """Ctrl-C for the solve in progress: it stops and answers with its best plan."""
        if self.alive():
            with contextlib.suppress(OSError):
                os.kill(self.process.pid, signal.SIGINT)

    def close(self) -> None:
        with self._lock:
            if self.process is None:
                return
            self.interrupt()  # a solve in progress stops (between solves SIGINT is ignored)
            with contextlib.suppress(OSError, BrokenPipeError, ValueError):
                self.conn.send(None)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            for end in (self.conn._read, self.conn._write):
                with contextlib.suppress(OSError):
                    end.close()
            self.process = None


@dataclass
class Job:
    """A rebalance in progress or finished (what ``GET /api/rebalance`` shows)."""

    state: str = "idle"  # idle | starting | running | stopping | done | failed
    started: float = 0.0
    time_limit: float = 0.0
    seconds: float = 0.0
    objective: float | None = None
    bound: float | None = None
    history: list = field(default_factory=list)
    error: str | None = None
    result: dict | None = None
    version: int = 0  # the draft version the job started from
    draft_id: str = ""  # and its draft
    acknowledged: bool = False  # the solver process said it started this job (a Stop may be sent)

    def as_dict(self) -> dict:
        seconds = (time.perf_counter() - self.started) if self.state in ("starting", "running", "stopping") else \
            self.seconds
        gap = None
        if self.objective is not None and self.bound is not None and math.isfinite(self.bound):
            gap = relative_gap(self.objective, self.bound)
        return {"state": self.state, "seconds": round(seconds, 2), "time_limit": self.time_limit,
                "objective": self.objective, "bound": self.bound, "gap": gap,
                "history": list(self.history[-400:]), "error": self.error, "result": self.result}


class Rebalancer:
    """Runs rebalances of one :class:`~territory_planner.workbench.session.Workbench`."""

    def __init__(self, bench, solver: SolverProcess | None = None) -> None:
        self.bench = bench
        self.solver = solver or SolverProcess()
        self.job = Job()
        self._lock = threading.Lock()

    def status(self) -> dict:
        with self._lock:
            return self.job.as_dict()

    def start(self, version: int, time_limit: float | None = None) -> dict:
        """Start a rebalance of the plan in hand at ``version`` (stale versions are refused)."""
        from territory_planner.runs.drafts import stale
        from territory_planner.runs.replan import team_scenario
        from territory_planner.workbench.session import rebalance_inputs

        bench = self.bench
        with self._lock:
            if self.job.state in ("starting", "running", "stopping"):
                raise ScenarioError("a rebalance is already running", fix="wait for it, or press Stop")
            with bench.lock:
                if version != bench.draft.version:
                    raise stale(bench.draft.version, version)
                limit = float(time_limit if time_limit is not None else bench.scenario.solver.time_limit)
                if not (math.isfinite(limit) and 1 <= limit <= 24 * 3600):
                    raise ScenarioError(f"time_limit {time_limit} is out of range", fix="give 1 to 86400 seconds")
                # The run's scenario on its team as planned; overlays are refused at open.
                scenario = team_scenario(bench.scenario).with_overrides(solver={"time_limit": limit})
                job = {"scenario": scenario, "inputs": rebalance_inputs(bench), "start": bench.assignment()}
                base_bound, _ = bench.bound()
            self.job = Job(state="starting", started=time.perf_counter(), time_limit=limit, version=version,
                           draft_id=bench.draft.id)
            job_state = self.job
        threading.Thread(target=self._run, args=(job, job_state, base_bound), daemon=True,
                         name="tp-rebalance").start()
        return self.status()

    def stop(self) -> dict:
        """Stop the rebalance, keeping its best plan. Before the solver process has begun
        this job, the Stop is held and sent the moment it does."""
        with self._lock:
            if self.job.state in ("starting", "running"):
                self.job.state = "stopping"
                if self.job.acknowledged:
                    self.solver.interrupt()
        return self.status()

    def _run(self, job: dict, state: Job, base_bound: float) -> None:
        try:
            self.solver.ensure()
            conn = self.solver.conn
            conn.send(job)
            best_obj, best_bound = math.inf, base_bound
            while True:
                if not conn.poll(0.5):
                    if not self.solver.alive():
                        raise RuntimeError("the solver process ended unexpectedly")
                    continue
                message = conn.recv()
                if message[0] == "started":
                    with self._lock:
                        state.acknowledged = True
                        if state.state == "stopping":
                            self.solver.interrupt()
                        elif state.state == "starting":
                            state.state = "running"
                    continue
                if message[0] == "progress":
                    _, objective, bound, seconds = message
                    with self._lock:
                        if math.isfinite(objective):
                            best_obj = min(best_obj, objective)
                            state.objective = best_obj
                        if math.isfinite(bound):
                            best_bound = max(best_bound, bound)
                        if math.isfinite(best_bound):
                            state.bound = best_bound
                        state.history.append([round(time.perf_counter() - state.started, 2),
                                              state.objective, state.bound])
                    continue
                if message[0] == "failed":
                    with self._lock:
                        state.state, state.error = "failed", message[1]
                        state.seconds = time.perf_counter() - state.started
                    return
                result = message[1]
                break
            applied = self._apply(result, state, base_bound)
            with self._lock:
                state.result = applied
                state.objective = applied["figures"]["objective"]
                state.bound = applied["figures"]["bound"]
                state.state = "done"
                state.seconds = time.perf_counter() - state.started
        except PlannerError as exc:
            with self._lock:
                state.state, state.error = "failed", str(exc)
                state.seconds = time.perf_counter() - state.started
        except Exception as exc:  # noqa: BLE001 — shown to the planner; the server lives on
            with self._lock:
                state.state, state.error = "failed", f"{type(exc).__name__}: {exc}"
                state.seconds = time.perf_counter() - state.started

    def _apply(self, result: dict, state: Job, base_bound: float) -> dict:
        """Record the rebalanced plan as one edit of the draft (undoable) and return what changed."""
        bench = self.bench
        with bench.lock:
            before = bench.item_territories()
            reps = bench.territories["rep_id"].astype(str).to_numpy()
            assignment = result["assignment"]
            j = np.asarray([bench.rep_position[assignment[a]] for a in bench.inputs.accounts["account_id"].astype(str)])
            objective = bench.problem.objective(j)
            if abs(objective - result["objective"]) > 1e-6 * max(1.0, abs(objective)):
                raise RuntimeError(f"the rebalanced plan's objective {result['objective']:.10g} differs from the "
                                   f"workbench's {objective:.10g}; this is a bug in territory_planner, please report it")
            item_t = np.zeros(len(bench.items.ids), dtype=int)
            item_t[bench.items.of_account] = j
            lock_bound = result["bound"] if math.isfinite(result["bound"]) else -math.inf
            bound, bound_from = lock_bound, "the rebalance's proven bound (with the planner's locks)"
            if math.isfinite(base_bound) and base_bound > bound:
                bound, bound_from = base_bound, bench.base_bound_from
            bound = proven_bound(bound, objective)
            status = result["status"]
            if status != "interrupted" and proven_within(objective, bound, bench.scenario.solver.mip_gap):
                status = "optimal"
            elif status == "optimal":  # proven by the solver: keep its word
                pass
            moves = [[str(bench.items.ids[i]), str(reps[item_t[i]])] for i in np.flatnonzero(item_t != before)]
            figures = {"status": status, "objective": objective, "bound": bound if math.isfinite(bound) else None,
                       "bound_from": bound_from if math.isfinite(bound) else None, "seconds": result["seconds"],
                       "lock_bound": lock_bound if math.isfinite(lock_bound) else None,
                       "time_limit": state.time_limit}
            if bench.draft.id != state.draft_id or bench.draft.version != state.version:
                raise ScenarioError("the plan was edited while the rebalance ran; its result was not applied",
                                    fix="rebalance again")
            out = bench._commit(state.version, {"kind": "rebalance", "moves": moves, "figures": figures})
            names = dict(zip(bench.items.ids.astype(str), bench.items.names, strict=True))
            out["moved"] = [{"id": item, "name": names[item], "from_rep": str(reps[before[bench.items.positions([item])[0]]]),
                             "to_rep": rep} for item, rep in moves]
            return out


if __name__ == "__main__":  # pragma: no cover
    main()
