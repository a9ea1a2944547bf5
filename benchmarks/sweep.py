"""The ``sweep`` set: 8 runs of the demo on a 2-worker Dask ``LocalCluster`` (issue 26, capability 3).

The grid is built here, not in a scenario file: ``balance.potential`` ±3/4/5/6% × with or
without a Dallas hire, on ``scenarios/demo.yaml`` (3,000 accounts, 30 reps) at a 20 s time
limit, ``solver.threads: 1`` (one core per run: 2 workers on 2 cores), planned fresh into a
temporary store (never reused). Reported: the wall time of the whole sweep (cluster start,
loading each run's inputs, maps drawn in the workers and the client saving each run
included) against the sum of the runs' own seconds divided by the workers: the goal is a
ratio within 1.2, i.e. the runs are packed onto the workers with little time lost between
them.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The goal: wall ≤ GOAL × Σ run seconds / workers.
GOAL = 1.2
DALLAS_HIRE = {"rep_id": "TX-NEW1", "name": "Dallas hire", "city": "Dallas", "state": "TX", "capacity_hours": 1056,
               "status": "open"}
GRID = {"balance.potential": [0.03, 0.04, 0.05, 0.06], "changes.add_reps": [[], [DALLAS_HIRE]]}


def run_sweep_set(row, time_limit: float = 20.0, workers: int = 2):
    """Plan the 8-run grid; yield one ``row`` (``benchmarks.run.Row``) per run, the sweep's figures in ``extra``."""
    from territory_planner.data.inputs import load_inputs
    from territory_planner.runs.store import RunStore
    from territory_planner.runs.sweep import DaskBackend, run_many, sweep_jobs
    from territory_planner.scenario import load_scenario

    scenario = load_scenario(ROOT / "scenarios/demo.yaml").with_overrides(sweep=GRID, solver={"time_limit": time_limit})
    jobs = sweep_jobs(scenario)
    size = load_inputs(jobs[0].scenario)
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as folder:
        with DaskBackend(workers=workers, threads=1) as backend:
            batch = run_many(jobs, RunStore(folder), backend=backend, fresh=True)
        figures = {"wall": batch.seconds, "sum": batch.run_seconds, "workers": batch.workers, "threads": batch.threads,
                   "time_limit": time_limit, "runs": len(jobs)}
        for o in batch.outcomes:
            run = o.run
            yield row("sweep", o.job.name.removeprefix(f"{scenario.name}["), len(size.accounts), len(size.reps), None,
                      run.objective if run is not None and run.objective is not None else math.inf,
                      run.bound if run is not None and run.bound is not None else -math.inf, o.status,
                      run.seconds if run is not None and run.seconds is not None else math.nan,
                      extra={**figures, "gap": run.gap if run is not None else None,
                             "error": (run.error or "").splitlines()[0][:100] if run is not None and run.error else ""})


def sweep_table(block) -> list[str]:
    """The section's lines: one row per run, then wall time against Σ run seconds / workers."""
    f = block[0].extra
    lines = ["| run | status | objective | proven gap % | run s |", "|---|---|---|---|---|"]
    for r in block:
        gap = r.extra.get("gap")
        status = r.status + (f" ({r.extra['error']})" if r.extra.get("error") else "")
        objective = f"{r.objective:,.0f}" if math.isfinite(r.objective) else "–"
        lines.append(f"| {r.instance.rstrip(']')} | {status} | {objective} | "
                     f"{f'{100 * gap:.3f}' if gap is not None else '–'} | {r.seconds:.1f} |")
    per_worker = f["sum"] / f["workers"] if f["workers"] else math.nan
    ratio = f["wall"] / per_worker if per_worker else math.nan
    verdict = "goal met" if ratio <= GOAL else "goal missed"
    lines += ["", f"**{f['runs']} runs, {f['workers']} workers × {f['threads']} solver thread:** wall {f['wall']:.1f} s; "
              f"the runs' own seconds {f['sum']:.1f} s in all, {per_worker:.1f} s per worker; "
              f"wall / (Σ run s / workers) = **{ratio:.3f}** (goal ≤ {GOAL:g}: {verdict}).", "",
              "Wall time covers the whole sweep: the cluster's start, each run's inputs loaded and checked on the "
              "client, the plans' files and maps rendered in the workers and each run saved by the client. A run's "
              "own seconds are its `summary.json` seconds (loading to plan).", ""]
    return lines
