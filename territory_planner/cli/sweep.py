"""``territory-planner sweep`` and ``frontier``: many runs at once on Dask, each kept in the run store."""

from __future__ import annotations

import math
import re
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from territory_planner.cli.common import STORE_OPTION, app, console, err, fail, fmt_gap, open_store
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


def _pct(value) -> str:
    return "—" if not isinstance(value, int | float) or not math.isfinite(value) else f"{value:.2f}%"


def _share(value) -> str:
    return "—" if not isinstance(value, int | float) or not math.isfinite(value) else f"{value:.1%}"


def _km(value) -> str:
    return "—" if not isinstance(value, int | float) or not math.isfinite(value) else f"{value:,.1f}"


def runs_table(outcomes, title: str) -> Table:
    """The runs of a sweep, in grid order: id, name, swept values, status and key KPIs."""
    from territory_planner.cli.runs import swept_text

    table = Table(title=title, title_justify="left")
    for column in ("id", "name", "swept", "status", "gap", "pot. max dev", "mean km", "moved"):
        table.add_column(column, justify="right" if column in ("gap", "pot. max dev", "mean km", "moved") else "left",
                         overflow="fold", no_wrap=column in ("id", "status", "gap"))
    for o in outcomes:
        run = o.run
        k = run.kpis if run is not None else {}
        status = o.status + (" (reused)" if o.reused else "")
        table.add_row(
            run.id if run is not None else "—", escape(o.job.name), escape(swept_text(o.job.swept)),
            status if o.ok else f"[red]{status}[/]",
            fmt_gap(run.gap if run.gap is not None else math.inf) if o.ok else "—",
            _pct(k.get("potential_max_dev_pct")), _km(k.get("mean_distance_km")), _share(k.get("accounts_moved_share")),
        )
    return table


def _epilogue(outcomes, *, reused: int, interrupted: bool, store_root: Path) -> None:
    """Reuse note, the compare suggestion, the Ctrl-C note."""
    if reused:
        err.print(f"[bold]Reused {reused} run(s)[/] the store already held with the same scenario and inputs "
                  "(--fresh plans them again).", highlight=False)
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
    A run that fails or is infeasible is kept with its error and the others finish.

    Exit code 0 when at least one run holds a plan, 2 when none does, 1 for a bad
    scenario, 130 after Ctrl-C (the finished runs are kept).

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
    console.print(runs_table(batch.outcomes, f"Sweep '{escape(sc.name)}': {len(jobs)} runs, group {batch.group_id}"))
    with_plan = sum(o.ok for o in batch.outcomes)
    line = f"{with_plan} of {len(jobs)} runs hold a plan"
    if batch.workers:
        line += (f"; {batch.seconds:.1f} s on {batch.workers} worker(s) × {batch.threads} solver thread(s), "
                 f"the runs' own time {batch.run_seconds:.1f} s in all")
    console.print(line + f". Store: {escape(str(store.root))}", highlight=False)
    _epilogue(batch.outcomes, reused=batch.reused, interrupted=batch.interrupted, store_root=store.root)
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
    y: str = typer.Option("travel", "--y", help="the goal minimised: travel (the scenario's objective)"),
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
    frontier.svg.

    Exit code 0 when at least one run holds a plan, 2 when none does, 1 for a bad
    scenario, 130 after Ctrl-C (the finished runs are kept).

    Example: territory-planner frontier scenarios/demo.yaml --x disruption --y travel --points 8
    """
    from territory_planner.runs.frontier import check_axes, run_frontier, write_frontier

    try:
        check_axes(x, y, by, points)
        sc = _load(scenario, time_limit)
        store = open_store(store_dir)
        bar = BatchProgress(f"frontier '{sc.name}' ({y} vs {x})", points, quiet)
        with bar.progress:
            frontier = run_frontier(sc, store, x=x, y=y, points=points, by=by, workers=workers, scheduler=scheduler,
                                    fresh=fresh, on_update=bar)
        folder = out if out is not None else Path("out") / f"{_slug(sc.name)}-frontier"
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
    _epilogue(frontier.outcomes, reused=frontier.reused, interrupted=frontier.interrupted, store_root=store.root)
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
        table.add_row(str(r["point"]), _share(level) if math.isfinite(level) else "none", _share(r["kept_share"]),
                      _share(r["accounts_moved_share"]), f"{r['objective']:,.1f}" if ok else "—",
                      fmt_gap(r["gap"]) if ok and math.isfinite(r["gap"]) else "—",
                      status if ok else f"[red]{status}[/]", r["run_id"] or "—")
    return table
