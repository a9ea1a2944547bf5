"""``territory-planner sweep`` and ``frontier``: many runs at once on Dask, each kept in the run store."""

from __future__ import annotations

import math
import re
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from territory_planner.cli.common import (
    STORE_OPTION,
    RunRow,
    app,
    console,
    err,
    fail,
    fmt_gap,
    fmt_share,
    open_store,
    runs_table,
)
from territory_planner.errors import PlannerError

WORKERS_OPTION = typer.Option(None, "--workers", "-w", min=1, help="worker processes of the local Dask cluster "
                              "(default: one per core); each run's solver.threads is cores // workers")
SCHEDULER_OPTION = typer.Option(None, "--scheduler", help="run on an existing Dask cluster, e.g. tcp://HOST:8786, "
                                "instead of starting one here (accounts and reps travel with each run; a units "
                                "GeoJSON is read by the worker from its path, so it must be there at the same path)")
FRESH_OPTION = typer.Option(False, "--fresh", help="plan every run again, even those the store holds with the same "
                            "scenario and inputs")
TIME_LIMIT_OPTION = typer.Option(None, "--time-limit", help="override solver.time_limit (seconds) of every run")
QUIET_OPTION = typer.Option(False, "--quiet", "-q", help="no progress bar")


class BatchProgress:
    """A rich progress bar of many runs: done, running, failed, reused; failures printed as they come."""

    def __init__(self, title: str, total: int, quiet: bool = False) -> None:
        self.quiet = quiet
        self.progress = Progress(TextColumn(f"[bold]{escape(title)}[/]"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=err,
                                 disable=quiet)
        self.task = self.progress.add_task(title, total=total, info="loading inputs…")

    def __call__(self, tally, outcome) -> None:
        info = (f"done {tally.done} · running {tally.running} · [red]failed {tally.failed}[/] · "
                f"reused {tally.reused}")
        self.progress.update(self.task, total=tally.total, completed=tally.finished, info=info)
        if outcome is not None and not outcome.ok:
            first = (outcome.error or "").strip().splitlines()[0] if outcome.error else ""
            self.progress.console.print(f"[red]✗[/] {escape(outcome.job.name)}: {outcome.status} — {escape(first)}",
                                        highlight=False, soft_wrap=True)


def outcome_rows(outcomes) -> list[RunRow]:
    """The rows of a sweep's table, in grid order (a cancelled point has no run: its id is —)."""
    rows = []
    for o in outcomes:
        status = o.status + (" (reused)" if o.reused else "")
        if o.run is None:
            rows.append(RunRow(None, o.job.name, status, False, o.job.swept))
        else:
            rows.append(RunRow.of(o.run, name=o.job.name, status=status, ok=o.ok, swept=o.job.swept, kind=None,
                                  label=None, approved_by=None))
    return rows


def _epilogue(outcomes, *, reused: int, interrupted: bool, store_root: Path, group_id: str) -> None:
    """Reuse note (the reused runs keep the groups that planned them), compare suggestion, Ctrl-C note."""
    if reused:
        ids = [o.run.id for o in outcomes if o.reused]
        own = sum(o.run is not None and not o.reused for o in outcomes)
        err.print(f"[bold]Reused {reused} run(s)[/] the store already held with the same scenario and inputs "
                  f"(--fresh plans them again): {', '.join(ids)}. They belong to the earlier group(s) that planned "
                  f"them, so 'territory-planner runs list --group {group_id}' lists the {own} run(s) of this "
                  "call only; the table above lists them all.", highlight=False, soft_wrap=True)
    ids = [o.run.id for o in outcomes if o.ok]
    if len(ids) >= 2:
        console.print("Compare them: territory-planner compare " + " ".join(ids), highlight=False, soft_wrap=True)
    if interrupted:
        kept = [o.run.id for o in outcomes if o.run is not None]
        cancelled = sum(o.run is None for o in outcomes)
        err.print(f"[bold yellow]Stopped by Ctrl-C:[/] kept the {len(kept)} finished run(s) in "
                  f"{escape(str(store_root))}" + (f" ({', '.join(kept)})" if kept else "") +
                  f"; {cancelled} cancelled.", highlight=False, soft_wrap=True)


def _load(scenario: Path, time_limit: float | None):
    from territory_planner.scenario import load_scenario

    sc = load_scenario(scenario)
    return sc.with_overrides(solver={"time_limit": time_limit}) if time_limit is not None else sc


@app.command("sweep")
def sweep_command(
    scenario: Path = typer.Argument(..., help="scenario YAML file with a sweep: block, e.g. scenarios/demo_sweep.yaml"),
    workers: int | None = WORKERS_OPTION,
    scheduler: str | None = SCHEDULER_OPTION,
    store_dir: Path | None = STORE_OPTION,
    fresh: bool = FRESH_OPTION,
    time_limit: float | None = TIME_LIMIT_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Plan every run of a scenario's sweep: grid on Dask; keep each run in the store.

    The grid (e.g. balance.potential: [0.02, 0.03, 0.05] × changes.add_reps: [[], [TX-NEW1]])
    expands into named runs that share a group id. They run on a local Dask cluster sized to
    the machine (--workers N), or on an existing one (--scheduler tcp://HOST:8786). Runs the
    store already holds with the same scenario and inputs are reused (--fresh plans again).
    A run that fails or is infeasible is kept with its error and the others finish. Every
    run's inputs are loaded before anything is planned: when none of them loads (a
    misspelt sweep key, a missing file), nothing is kept and the first error is shown.

    Exit code 0 when at least one run holds a plan, 2 when none does, 1 for a bad
    scenario or inputs no run can load, 130 after Ctrl-C (the finished runs are kept).

    Example: territory-planner sweep scenarios/demo_sweep.yaml --workers 2
    """
    from territory_planner.runs.sweep import new_group_id, run_many, sweep_jobs

    try:
        sc = _load(scenario, time_limit)
        jobs = sweep_jobs(sc)
        store = open_store(store_dir)
        bar = BatchProgress(f"sweep '{sc.name}'", len(jobs), quiet)
        with bar.progress:
            batch = run_many(jobs, store, workers=workers, scheduler=scheduler, fresh=fresh, on_update=bar,
                             group_id=new_group_id("sweep"))
    except PlannerError as exc:
        fail(exc)
    except KeyboardInterrupt:
        err.print("[bold red]Stopped[/] before any run finished; nothing was kept.")
        raise typer.Exit(130) from None
    console.print(runs_table(f"Sweep '{escape(sc.name)}': {len(jobs)} runs, group {batch.group_id}",
                             outcome_rows(batch.outcomes)))
    with_plan = sum(o.ok for o in batch.outcomes)
    line = f"{with_plan} of {len(jobs)} runs hold a plan"
    if batch.workers:
        line += (f"; {batch.seconds:.1f} s on {batch.workers} worker(s) × {batch.threads} solver thread(s), "
                 f"the runs' own time {batch.run_seconds:.1f} s in all")
    console.print(line + f". Store: {escape(str(store.root))}", highlight=False)
    _epilogue(batch.outcomes, reused=batch.reused, interrupted=batch.interrupted, store_root=store.root,
              group_id=batch.group_id)
    if batch.interrupted:
        raise typer.Exit(130)
    if not batch.ok:
        raise typer.Exit(2)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "scenario"


@app.command("frontier")
def frontier_command(
    scenario: Path = typer.Argument(..., help="scenario YAML file, e.g. scenarios/demo.yaml"),
    x: str = typer.Option("disruption", "--x", help="the goal held at ε: disruption (continuity.min_kept stepped "
                          "from 100% down) or balance (the potential tolerance stepped tighter)"),
    y: str = typer.Option("travel", "--y", help="the goal minimised: travel (the scenario's objective, Σ distance × "
                          "weight; a continuity.penalty in the scenario is left out of every point)"),
    points: int = typer.Option(8, "--points", "-n", help="points on the frontier, its two ends included"),
    by: str = typer.Option("accounts", "--by", help="disruption counted in accounts or potential"),
    out: Path | None = typer.Option(None, "--out", "-o", help="folder for frontier.csv and frontier.svg "
                                    "(default: out/<scenario name>-frontier)"),
    workers: int | None = WORKERS_OPTION,
    scheduler: str | None = SCHEDULER_OPTION,
    store_dir: Path | None = STORE_OPTION,
    fresh: bool = FRESH_OPTION,
    time_limit: float | None = TIME_LIMIT_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """The trade-off frontier (ε-constraint): travel minimised at each level of disruption or balance.

    With --x disruption the scenario is first planned with no continuity floor (the
    unconstrained end keeps a share κ0 with today's owner), then continuity.min_kept is
    stepped from 100% down towards κ0. Each point is a run of the store (one group),
    planned on Dask like a sweep; points with no plan are kept with their error and end
    the frontier. Writes frontier.csv (one row per point; dominated points flagged) and
    frontier.svg; the --out folder is checked before anything is planned.

    Travel is travel alone: the scenario's continuity.penalty (a cost per account changing
    owner) is dropped from every point, the unconstrained end included, since disruption
    is the x axis, held by the min_kept floor being stepped.

    Exit code 0 when at least one run holds a plan, 2 when none does, 1 for a bad
    scenario, 130 after Ctrl-C (the finished runs are kept).

    Example: territory-planner frontier scenarios/demo.yaml --x disruption --y travel --points 8
    """
    from territory_planner.outputs.files import check_output_folder
    from territory_planner.runs.frontier import check_axes, run_frontier, write_frontier

    try:
        check_axes(x, y, by, points)
        sc = _load(scenario, time_limit)
        folder = out if out is not None else Path("out") / f"{_slug(sc.name)}-frontier"
        check_output_folder(folder)  # before any planning: a folder it may not replace is refused now
        store = open_store(store_dir)
        bar = BatchProgress(f"frontier '{sc.name}' ({y} vs {x})", points, quiet)
        with bar.progress:
            frontier = run_frontier(sc, store, x=x, y=y, points=points, by=by, workers=workers, scheduler=scheduler,
                                    fresh=fresh, on_update=bar)
        # Stopped before any point finished: nothing to draw (the folder is left as it was).
        written = write_frontier(frontier, folder) if any(o.run for o in frontier.outcomes) else {}
    except PlannerError as exc:
        fail(exc)
    except KeyboardInterrupt:
        err.print("[bold red]Stopped[/] before any run finished; nothing was kept.")
        raise typer.Exit(130) from None
    console.print(frontier_table(frontier))
    if written:
        console.print("Wrote: " + escape(", ".join(str(p) for p in written.values())), highlight=False)
    _epilogue(frontier.outcomes, reused=frontier.reused, interrupted=frontier.interrupted, store_root=store.root,
              group_id=frontier.group_id)
    if frontier.interrupted:
        raise typer.Exit(130)
    if not frontier.ok:
        raise typer.Exit(2)


def frontier_table(frontier) -> Table:
    """The frontier's points as frontier.csv lists them."""
    t = frontier.table
    eps = "min_kept" if frontier.x == "disruption" else "band ±"
    table = Table(title=f"Frontier '{escape(frontier.scenario)}': {frontier.y} vs {frontier.x} "
                  f"(group {frontier.group_id})", title_justify="left")
    for column in ("point", eps, f"kept ({frontier.by})", "moved (accounts)", "objective", "gap", "status", "run"):
        table.add_column(column, justify="left" if column in ("status", "run") else "right", no_wrap=True)
    for _, r in t.iterrows():
        level = r["min_kept"] if frontier.x == "disruption" else r["balance_tolerance"]
        status = r["status"] + (" · dominated" if r["dominated"] else "")
        ok = math.isfinite(r["objective"])
        table.add_row(str(r["point"]), fmt_share(level) if math.isfinite(level) else "none", fmt_share(r["kept_share"]),
                      fmt_share(r["accounts_moved_share"]), f"{r['objective']:,.1f}" if ok else "—",
                      fmt_gap(r["gap"]) if ok and math.isfinite(r["gap"]) else "—",
                      status if ok else f"[red]{status}[/]", r["run_id"] or "—")
    return table
