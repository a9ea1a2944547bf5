"""``territory-planner runs list|show|label|approve|rm``: the run store from the command line."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from territory_planner.cli.common import (
    STORE_OPTION,
    RunRow,
    app,
    console,
    err,
    fail,
    fmt_gap,
    open_store,
    runs_table,
    swept_text,
)
from territory_planner.errors import PlannerError

runs_app = typer.Typer(no_args_is_help=True, help="The run store: list, show, label, approve and remove runs.\n\n"
                       "Example: territory-planner runs list")
app.add_typer(runs_app, name="runs")


@runs_app.command("list")
def list_command(
    store_dir: Path | None = STORE_OPTION,
    name: str | None = typer.Option(None, "--name", help="only runs of this scenario name"),
    group: str | None = typer.Option(None, "--group", help="only the runs of this sweep or frontier (its group id)"),
    kind: str | None = typer.Option(None, "--kind", help="only plan, sweep, replan, frontier or edit runs"),
) -> None:
    """Every run in the store: name, swept values, status, gap and key KPIs, oldest first.

    In a terminal 140 columns wide or more every field has its column (with the kind, label
    and approval); in a narrower one a run's id, name, swept values, label and approval
    are the lines of one column.

    Example: territory-planner runs list --store runs
    """
    try:
        store = open_store(store_dir)
        runs = store.runs(name=name, group_id=group, kind=kind)
    except PlannerError as exc:
        fail(exc)
    console.print(runs_table(f"Runs in {escape(str(store.root))}", [RunRow.of(run) for run in runs], store=True))
    if not runs:
        console.print("No runs yet: 'territory-planner plan SCENARIO' keeps every run here.")
    for problem in getattr(store, "problems", []):  # run folders the store could not index
        err.print(f"[bold yellow]Warning:[/] {escape(problem)}", highlight=False, soft_wrap=True)


@runs_app.command("show")
def show_command(ref: str = typer.Argument(..., help="run id (or a unique start of it), label or name"),
                 store_dir: Path | None = STORE_OPTION) -> None:
    """One run: what it was, what it proved, its KPIs and its files.

    Example: territory-planner runs show 20261207-1530
    """
    try:
        run = open_store(store_dir).get(ref)
    except PlannerError as exc:
        fail(exc)
    head = Table(title=f"Run {run.id}", show_header=False, title_justify="left")
    head.add_column(style="bold")
    head.add_column(overflow="fold")
    rows = [("name", run.name), ("kind", run.kind), ("created", run.created_at), ("status", run.status),
            ("objective", f"{run.objective:,.1f}" if run.objective is not None else "—"),
            ("bound", f"{run.bound:,.1f}" if run.bound is not None else "none"),
            ("gap", fmt_gap(run.gap) if run.gap is not None else "—"),
            ("seconds", f"{run.seconds:.1f}" if run.seconds is not None else "—"),
            ("parent", run.parent or ""), ("group", run.group_id or ""), ("swept", swept_text(run.swept)),
            ("label", run.label or ""), ("approved", f"{run.approved_by} at {run.approved_at}" if run.approved else ""),
            ("scenario file", run.scenario_file or ""), ("version", run.version or ""), ("folder", str(run.folder))]
    if run.error:
        rows.insert(4, ("error", run.error))
    for key, value in rows:
        if value:
            head.add_row(key, escape(str(value)))
    console.print(head)
    if run.kpis:
        kpis = Table(title="KPIs", title_justify="left")
        kpis.add_column("kpi")
        kpis.add_column("value", justify="right")
        for key, value in run.kpis.items():
            kpis.add_row(escape(key), f"{value:,.4g}" if isinstance(value, float) else escape(str(value)))
        console.print(kpis)
    files = sorted(p.name for p in run.folder.iterdir() if p.is_file() and not p.name.startswith("."))
    console.print("Files: " + escape(", ".join(files)), highlight=False)


@runs_app.command("label")
def label_command(ref: str = typer.Argument(..., help="run id, label or name"),
                  text: str | None = typer.Argument(None, help="the label, e.g. 'board-pick' (unique in the store)"),
                  clear: bool = typer.Option(False, "--clear", help="remove the run's label"),
                  store_dir: Path | None = STORE_OPTION) -> None:
    """Give a run a label to find it by (runs show LABEL, compare LABEL …).

    Example: territory-planner runs label 20261207-1530 board-pick
    """
    if not clear and not text:
        fail(PlannerError("give a label, or --clear to remove it"))
    try:
        run = open_store(store_dir).label(ref, None if clear else text)
    except PlannerError as exc:
        fail(exc)
    console.print(f"Run {run.id}: label " + (f"'{escape(run.label)}'" if run.label else "cleared"), highlight=False)


def user_name() -> str:
    """Who is approving, when --by is not given: the system's user name, else USER or USERNAME.

    Raises a PlannerError asking for ``--by`` where none is set (a container or a service
    without a user: ``getpass.getuser()`` raises there).
    """
    try:
        name = getpass.getuser()
    except (KeyError, OSError, ImportError):  # no LOGNAME/USER/LNAME/USERNAME and no passwd entry
        name = os.environ.get("USER") or os.environ.get("USERNAME") or ""
    if not name.strip():
        raise PlannerError("no user name is set here (USER and USERNAME are empty) to record who approves. "
                           "Fix: give --by NAME, e.g. runs approve RUN --by \"Dana Lee\"")
    return name.strip()


@runs_app.command("approve")
def approve_command(ref: str = typer.Argument(..., help="run id, label or name"),
                    by: str = typer.Option(None, "--by", help="who approves (default: your user name; "
                                           "required where none is set, e.g. in a container)"),
                    store_dir: Path | None = STORE_OPTION) -> None:
    """Mark a run approved (who and when): the plan to publish and to re-plan from.

    Example: territory-planner runs approve board-pick --by "Dana Lee"
    """
    try:
        run = open_store(store_dir).approve(ref, by or user_name())
    except PlannerError as exc:
        fail(exc)
    console.print(f"Run {run.id} approved by {escape(run.approved_by)} at {run.approved_at}", highlight=False)


@runs_app.command("rm")
def rm_command(refs: list[str] = typer.Argument(..., help="run ids, labels or names"),
               yes: bool = typer.Option(False, "--yes", "-y", help="do not ask"),
               force: bool = typer.Option(False, "--force", help="also remove approved runs"),
               store_dir: Path | None = STORE_OPTION) -> None:
    """Remove runs from the store (their folders and index rows).

    Example: territory-planner runs rm 20261207-1530 --yes
    """
    try:
        store = open_store(store_dir)
        runs = [store.get(ref) for ref in refs]
        approved = [r.id for r in runs if r.approved]
        if approved and not force:
            raise PlannerError(f"run {approved[0]} is approved; add --force to remove an approved run")
        if not yes and not typer.confirm(f"Remove {len(runs)} run(s): {', '.join(r.id for r in runs)}?"):
            raise typer.Exit(1)
        for run in runs:
            store.remove(run.id)
    except PlannerError as exc:
        fail(exc)
    console.print(f"Removed {len(runs)} run(s).")
