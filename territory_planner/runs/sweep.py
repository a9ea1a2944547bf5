"""Many runs at once on Dask (``dask.distributed``): a sweep's grid, a frontier's points.

:func:`run_many` plans a list of :class:`Job` s, each a scenario with a name, on a Dask
cluster, and keeps every one in the run store; :func:`run_sweep` is it for the runs of a
scenario's ``sweep:`` grid (``scenario/sweep.py``). The frontier (``runs/frontier.py``)
uses the same executor.

**Where the runs go** (:class:`DaskBackend`). By default a ``LocalCluster`` on this
machine: one worker process per core (or ``workers``, and never more than there are runs
to plan), one task at a time each; every run's ``solver.threads`` is set to
``max(1, cores // workers)``, so the workers' solvers never ask for more threads than the
machine has (two CP-SAT searches with default workers on 2 cores starve each other,
FIELD.md §6). With ``scheduler="tcp://HOST:8786"`` the runs go to an existing cluster and
no cluster is started; each run's threads are then the cores of the busiest host divided
by the workers on it. The client loads and checks each run's inputs (accounts and reps,
with the scenario's ``changes`` applied) and they travel to the worker with the job as
DataFrames; files the pipeline reads itself — a ``data.units`` GeoJSON, ``barriers``,
``territories.candidates`` — are read by the worker from their path, so a remote cluster
needs them at the same path. The client and a cluster it started are closed on every exit.

**The store is written by the client alone** (workers may be other machines): a worker
plans, renders the plan's files (``outputs/report.render_plan``: maps are drawn in
parallel) and returns them with ``plan.summary()``; the client keeps them
(``RunStore.save``). The caching rules are those of ``runs/execute.plan_stored``: a run
whose key is already in the store with a reusable status (``REUSABLE``) is not planned
again unless ``fresh``; runs without a plan are always tried again.

**Bad input is not a run.** Every job's inputs are checked on the client before anything
is stored or submitted. When *every* job fails to load its inputs (an ``InputError``: a
misspelt sweep key such as ``balance.potental``, a missing file), the input is bad, not
one point: :func:`run_many` raises the first error (the CLI's exit code 1) and keeps
nothing.

**Failures are runs too.** A point whose inputs do not load while others' do (e.g. one
swept added rep in an unknown city; recorded before anything is submitted), that is
infeasible, that finds no plan in its time, or whose worker raised, is kept with status
``failed`` / ``infeasible`` / ``no_plan`` and its error; the others finish. **Ctrl-C** stops submitting, cancels what is queued or
running, and returns what finished (kept in the store); a second Ctrl-C stops at once.
Every run of one call shares a ``group_id``; the outcomes come back in the order of the
jobs (the sweep's grid), whatever order they finished in.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import yaml

from territory_planner.data.inputs import Inputs, load_inputs
from territory_planner.errors import InfeasibleError, InputError, NoPlanFoundError, PlannerError
from territory_planner.runs.execute import REUSABLE
from territory_planner.runs.record import input_hashes, run_key
from territory_planner.runs.store import Run, RunStore
from territory_planner.scenario import Scenario
from territory_planner.scenario.sweep import expand_sweep

#: Seconds between two looks at the running jobs.
POLL_SECONDS = 0.1
#: Statuses of a run without a plan (kept with its error).
FAILED = ("failed", "infeasible", "no_plan")


@dataclass(frozen=True)
class Job:
    """One run to plan: its name, the scenario, the swept values it records."""

    name: str
    scenario: Scenario
    swept: dict[str, Any] = field(default_factory=dict)
    kind: str = "sweep"
    parent: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of a job: its run in the store (None when cancelled by Ctrl-C)."""

    job: Job
    status: str  # the plan's status, failed / infeasible / no_plan, or cancelled (not stored)
    run: Run | None = None
    reused: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        """The run holds a plan."""
        return self.run is not None and self.run.ok


@dataclass(frozen=True)
class Tally:
    """Counts for a progress bar: planned with a plan, failed, reused, running, of total."""

    total: int
    done: int = 0
    failed: int = 0
    reused: int = 0
    running: int = 0

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.reused


@dataclass(frozen=True)
class Batch:
    """The outcomes of :func:`run_many`, in the order of its jobs."""

    group_id: str
    outcomes: list[Outcome]
    interrupted: bool = False
    seconds: float = 0.0  # wall time of the whole call, cluster start included
    workers: int = 0  # worker slots used (0: nothing was submitted)
    threads: int = 0  # solver threads per run

    @property
    def ok(self) -> bool:
        """At least one run holds a plan (the CLI's exit code 0)."""
        return any(o.ok for o in self.outcomes)

    @property
    def reused(self) -> int:
        return sum(o.reused for o in self.outcomes)

    @property
    def planned(self) -> list[Outcome]:
        """The runs planned by this call (not reused, not cancelled)."""
        return [o for o in self.outcomes if o.run is not None and not o.reused]

    @property
    def run_seconds(self) -> float:
        """The sum of the planned runs' own seconds (their ``summary.json`` seconds)."""
        return sum(o.run.seconds or 0.0 for o in self.planned)


OnUpdate = Callable[[Tally, "Outcome | None"], None]


def machine_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def new_group_id(kind: str = "sweep") -> str:
    """A group id for the runs of one sweep or frontier, e.g. ``sweep-20261207-153012-a3f9``."""
    return f"{kind}-{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


# --------------------------------------------------------------------------- workers


def _ignore_sigint() -> None:
    """In a worker process: Ctrl-C in the terminal reaches the whole process group, but only
    the client decides what stops (it cancels the jobs and closes the cluster)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def plan_job(scenario: Scenario, inputs: Inputs) -> dict:
    """Runs in a worker: plan ``scenario`` on ``inputs`` and render its files.

    Returns ``{"status", "files", "summary"}`` for a plan, ``{"status", "error"}`` for
    infeasible / no_plan / failed (with ``"traceback"`` for an unexpected exception):
    errors come back as data, so one bad run never stops the others.
    """
    from territory_planner.outputs.report import render_plan
    from territory_planner.pipeline import plan

    try:
        result = plan(scenario, inputs=inputs)
        return {"status": result.status, "files": render_plan(result), "summary": result.summary()}
    except InfeasibleError as exc:
        return {"status": "infeasible", "error": exc.diagnosis.render()}
    except NoPlanFoundError as exc:
        return {"status": "no_plan", "error": exc.diagnosis.render()}
    except PlannerError as exc:
        return {"status": "failed", "error": str(exc)}
    except Exception as exc:  # a bug or a library failure: recorded, the sweep goes on
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}


class DaskBackend:
    """A Dask client for :func:`run_many`: a ``LocalCluster`` it starts, or an existing scheduler.

    Started on first use (:meth:`start`) and closed by :meth:`close` (or ``with``).
    ``workers``: worker processes of the local cluster (default: the machine's cores,
    never more than ``expect`` runs). ``scheduler``: the address of a running scheduler
    (``tcp://HOST:8786``) to use instead. ``threads``: solver threads of every run, instead
    of the cores shared out among the runs at once (the benchmark fixes 1).
    """

    def __init__(self, *, workers: int | None = None, scheduler: str | None = None, expect: int | None = None,
                 threads: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise PlannerError(f"--workers must be at least 1 (got {workers})")
        self.workers, self.scheduler, self.expect, self.threads = workers, scheduler, expect, threads
        self.client = None
        self.cluster = None
        self.slots = 0  # tasks that run at once (worker threads)
        self._host_threads = 1  # remote: solver threads per run that no host oversubscribes

    def __enter__(self) -> DaskBackend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def local(self) -> bool:
        return self.scheduler is None

    def start(self, jobs: int | None = None):
        """The client (starting the cluster, or connecting, the first time)."""
        if self.client is not None:
            return self.client
        import dask
        from distributed import Client, LocalCluster

        if self.local:
            cores = machine_cores()
            n = self.workers or cores
            wanted = max(jobs or 0, self.expect or 0)
            if wanted:
                n = min(n, wanted)
            # One task per worker at a time: a queued run waits at the scheduler, not behind
            # a long run on a busy worker, so the runs are packed as they finish.
            with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
                self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                            dashboard_address=None, silence_logs=logging.ERROR)
            try:
                self.client = Client(self.cluster)
                self.client.run(_ignore_sigint)
            except BaseException:
                self.close()
                raise
            self.slots = n
            return self.client
        try:
            self.client = Client(self.scheduler, timeout="15s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise PlannerError(f"cannot reach the Dask scheduler at {self.scheduler}: {exc}. Fix: start one "
                               "(dask scheduler; dask worker ADDRESS --nthreads 1) or leave out --scheduler to "
                               "run on this machine") from None
        threads = self.client.nthreads()
        if not threads:
            self.close()
            raise PlannerError(f"the Dask scheduler at {self.scheduler} has no workers. Fix: start workers "
                               f"(dask worker {self.scheduler} --nthreads 1)")
        self.slots = sum(threads.values())
        self._host_threads = _remote_threads(self.client, threads)
        return self.client

    def threads_per_run(self, running: int) -> int:
        """Solver threads for each of ``running`` runs at once (no core oversubscribed)."""
        if self.threads:
            return self.threads
        if self.local:
            return max(1, machine_cores() // max(1, min(self.slots, running)))
        return self._host_threads

    def close(self) -> None:
        """Close the client and the cluster this backend started (safe to call twice)."""
        client, cluster = self.client, self.cluster
        self.client = self.cluster = None
        for part in (client, cluster):
            if part is None:
                continue
            try:
                part.close()
            except Exception:  # closing after Ctrl-C or a lost scheduler: nothing more to do
                pass


def _remote_threads(client, threads: dict[str, int]) -> int:
    """The fewest cores per busy worker thread over the hosts of a remote cluster."""
    try:
        cores = client.run(os.cpu_count)
    except Exception:
        return 1
    hosts: dict[str, list[int]] = {}
    for addr, n in threads.items():
        host = addr.rsplit(":", 1)[0]
        hosts.setdefault(host, [0, int(cores.get(addr) or 1)])[0] += n
    return max(1, min(c // max(1, n) for n, c in hosts.values()))


# --------------------------------------------------------------------------- the client


@contextmanager
def _ctrl_c() -> Iterator[Callable[[], bool]]:
    """A flag set by the first Ctrl-C (a second one raises KeyboardInterrupt at once).

    Only the main thread with Python's own handler in place installs it: elsewhere (a
    background job that ignores SIGINT, a thread) Ctrl-C is left as it is.
    """
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield lambda: False
        return
    hit: list[float] = []

    def handler(signum, frame):
        if hit:
            raise KeyboardInterrupt
        hit.append(time.monotonic())

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(hit)
    finally:
        signal.signal(signal.SIGINT, previous)


def scenario_yaml(scenario: Scenario) -> str:
    """The scenario of a run without a plan, as ``scenario.yaml`` (what was tried)."""
    head = "# The scenario of this run as it was tried: extends merged, defaults filled in, paths absolute.\n"
    return head + yaml.safe_dump(scenario.resolved(absolute=True), sort_keys=False, allow_unicode=True)


def _failed(store: RunStore, job: Job, status: str, error: str, group_id: str, *, key=None, hashes=None,
            extra: dict | None = None) -> Outcome:
    run = store.save({"scenario.yaml": scenario_yaml(job.scenario)}, name=job.name, kind=job.kind, status=status,
                     parent=job.parent, group_id=group_id, swept=job.swept, error=error,
                     scenario_file=job.scenario.source, key=key, inputs=hashes, extra=extra)
    return Outcome(job, status, run, error=error)


def run_many(
    jobs: Sequence[Job],
    store: RunStore,
    *,
    backend: DaskBackend | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    on_update: OnUpdate | None = None,
    group_id: str | None = None,
) -> Batch:
    """Plan ``jobs`` on Dask and keep each as a run of ``store`` (see the module docstring).

    ``backend``: a :class:`DaskBackend` to use (left open); without one, a backend of
    ``workers`` / ``scheduler`` is started for this call and closed before it returns.
    ``on_update(tally, outcome)`` is called as runs start and finish (``outcome``: the one
    that just finished, else None). Returns the outcomes in the order of ``jobs``. Raises
    the first :class:`InputError`, keeping nothing, when every job's inputs fail to load.
    """
    t0 = time.perf_counter()
    group_id = group_id or new_group_id(jobs[0].kind if jobs else "sweep")
    outcomes: dict[int, Outcome] = {}
    counts = {"done": 0, "failed": 0, "reused": 0, "running": 0}

    def record(index: int, outcome: Outcome | None) -> None:
        if outcome is not None:
            outcomes[index] = outcome
            counts["reused" if outcome.reused else "done" if outcome.ok else "failed"] += 1
        if on_update is not None:
            on_update(Tally(len(jobs), **counts), outcome)

    own = backend is None
    backend = backend or DaskBackend(workers=workers, scheduler=scheduler, expect=len(jobs))
    interrupted = False
    threads = 0
    try:
        with _ctrl_c() as stopped:
            record(0, None)
            checked = _check_inputs(jobs, store, fresh, stopped)
            if len(checked) == len(jobs) and not stopped():
                _raise_if_all_bad(checked)
            pending: list[tuple[int, Job, str, dict, Inputs]] = []
            for c in checked:  # nothing was stored before this line
                if c.reused is not None:
                    record(c.index, Outcome(c.job, c.reused.status, c.reused, reused=True))
                elif c.error is not None:
                    record(c.index, _failed(store, c.job, "failed", str(c.error), group_id, key=c.key, hashes=c.hashes))
                else:
                    pending.append((c.index, c.job, c.key, c.hashes, c.inputs))
            if pending and not stopped():
                client = backend.start(len(pending))
                threads = backend.threads_per_run(len(pending))
                queue = deque(pending)
                flying: dict = {}
                while (queue or flying) and not stopped():
                    while queue and len(flying) < backend.slots:
                        index, job, key, hashes, inputs = queue.popleft()
                        scenario = job.scenario.with_overrides(solver={"threads": threads})
                        future = client.submit(plan_job, scenario, inputs, key=f"{group_id}-{index:04d}",
                                               pure=False, retries=0)
                        flying[future] = (index, job, key, hashes)
                        counts["running"] = len(flying)
                        record(index, None)
                    for future in [f for f in flying if f.done()]:
                        index, job, key, hashes = flying.pop(future)
                        counts["running"] = len(flying)
                        record(index, _collect(store, future, job, key, hashes, group_id))
                    time.sleep(POLL_SECONDS)
                if flying:  # Ctrl-C: what is running is cancelled, what finished is kept
                    client.cancel(list(flying), force=True)
                    counts["running"] = 0
            interrupted = stopped()
    except KeyboardInterrupt:  # a second Ctrl-C
        interrupted = True
    finally:
        if own:
            backend.close()
    ordered = [outcomes.get(i) or Outcome(job, "cancelled") for i, job in enumerate(jobs)]
    return Batch(group_id, ordered, interrupted, time.perf_counter() - t0, backend.slots if threads else 0, threads)


@dataclass(frozen=True)
class _Checked:
    """A job after the client's look at it: reused, its inputs loaded, or the error they raised."""

    index: int
    job: Job
    key: str | None = None
    hashes: dict | None = None
    inputs: Inputs | None = None
    reused: Run | None = None
    error: PlannerError | None = None


def _check_inputs(jobs: Sequence[Job], store: RunStore, fresh: bool, stopped: Callable[[], bool]) -> list[_Checked]:
    """Reuse or load every job's inputs, in order, writing nothing (stops early on Ctrl-C)."""
    checked = []
    for index, job in enumerate(jobs):
        if stopped():
            break
        try:
            hashes = input_hashes(job.scenario)
            key = run_key(job.scenario, hashes)
        except PlannerError as exc:
            checked.append(_Checked(index, job, error=exc))
            continue
        hit = None if fresh else store.cached(key)
        if hit is not None and hit.status in REUSABLE:
            checked.append(_Checked(index, job, key, hashes, reused=hit))
            continue
        try:
            checked.append(_Checked(index, job, key, hashes, inputs=load_inputs(job.scenario)))
        except PlannerError as exc:
            checked.append(_Checked(index, job, key, hashes, error=exc))
    return checked


def _raise_if_all_bad(checked: list[_Checked]) -> None:
    """Raise the first InputError when every job's inputs failed to load: the input is bad.

    One point failing among others that load is that point's own trouble (kept as a
    failed run); all of them failing is a mistake every point shares, such as a misspelt
    sweep key, and nothing is planned or kept.
    """
    if not checked or not all(isinstance(c.error, InputError) for c in checked):
        return
    first = checked[0].error
    if len(checked) == 1:
        raise first
    raise type(first)(f"none of the {len(checked)} runs can load its inputs, so nothing was planned or kept; "
                      f"the first, {checked[0].job.name}: {first.problem}", file=first.file, row=first.row,
                      column=first.column, value=first.value, fix=first.fix) from None


def _collect(store: RunStore, future, job: Job, key: str, hashes: dict, group_id: str) -> Outcome:
    """Keep the run a finished future holds (a plan, or the error it ended with)."""
    try:
        result = future.result()
    except Exception as exc:  # the worker died (KilledWorker) or the task could not run
        return _failed(store, job, "failed", f"{type(exc).__name__}: {exc}", group_id, key=key, hashes=hashes)
    if "error" in result:
        extra = {"traceback": result["traceback"]} if result.get("traceback") else None
        return _failed(store, job, result["status"], result["error"], group_id, key=key, hashes=hashes, extra=extra)
    run = store.save(result["files"], name=job.name, kind=job.kind, status=result["status"], summary=result["summary"],
                     parent=job.parent, group_id=group_id, swept=job.swept, scenario_file=job.scenario.source,
                     key=key, inputs=hashes)
    return Outcome(job, run.status, run)


def sweep_jobs(scenario: Scenario, *, kind: str = "sweep") -> list[Job]:
    """The jobs of a scenario's ``sweep:`` grid, in grid order (one job without a grid)."""
    return [Job(point.name, point.scenario, dict(point.values), kind) for point in expand_sweep(scenario)]


def run_sweep(
    scenario: Scenario,
    store: RunStore,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    on_update: OnUpdate | None = None,
    overrides: dict | None = None,
) -> Batch:
    """Plan every run of ``scenario``'s ``sweep:`` grid on Dask and keep them (kind ``sweep``).

    ``overrides``: scenario keys set on every run (e.g. ``{"solver": {"time_limit": 20}}``).
    """
    jobs = sweep_jobs(scenario)
    if overrides:
        jobs = [replace(j, scenario=j.scenario.with_overrides(**overrides)) for j in jobs]
    return run_many(jobs, store, workers=workers, scheduler=scheduler, fresh=fresh, on_update=on_update,
                    group_id=new_group_id("sweep"))
