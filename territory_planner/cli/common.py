"""What every command shares: the typer app, the consoles, errors as exit codes, progress.

0 ok · 1 bad input · 2 infeasible · 3 solver failure · 130 stopped before any plan.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from territory_planner.errors import InfeasibleError, NoPlanFoundError, PlannerError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Territory and capacity planning for sales organisations.\n\nExample: territory-planner plan scenarios/demo.yaml --out out/demo",
)
console = Console()
err = Console(stderr=True)


def fail(exc: PlannerError) -> None:
    # Messages quote cells, ids and paths from the planner's files: escape them so a
    # '[/b]' in a cell is shown as written, not taken as rich markup (or crash the CLI);
    # soft_wrap: never fold a line at the console width, so a path stays whole in logs.
    if isinstance(exc, InfeasibleError | NoPlanFoundError):
        head = "Infeasible:" if isinstance(exc, InfeasibleError) else "No plan:"
        err.print(f"[bold red]{head}[/] " + escape(exc.diagnosis.summary), highlight=False, soft_wrap=True)
        for c in exc.diagnosis.conflicts:
            line = f"  • [bold]{escape(c.constraint)}[/]: {escape(c.detail)}"
            if c.loosest_feasible:
                line += f" — {escape(c.loosest_feasible)}"
            err.print(line, highlight=False, soft_wrap=True)
    else:
        err.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code)


def fmt_gap(gap: float) -> str:
    return "∞" if not math.isfinite(gap) else f"{gap:.3%}"


class SolveProgress:
    """A rich progress line: elapsed time against the limit, incumbent, bound, gap."""

    def __init__(self, time_limit: float):
        self.progress = Progress(
            TextColumn("[bold]optimising[/]"),
            BarColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self.task = self.progress.add_task("solve", total=time_limit, info="building model…")
        self.start = time.perf_counter()

    def __call__(self, objective: float, bound: float, seconds: float) -> None:
        gap = (objective - bound) / abs(objective) if math.isfinite(objective) and math.isfinite(bound) and objective else math.inf
        info = f"best {objective:,.0f} · bound {bound:,.0f} · gap {fmt_gap(gap)}" if math.isfinite(objective) else "searching…"
        self.progress.update(self.task, completed=time.perf_counter() - self.start, info=info)


#: ``--store DIR`` on every command that reads or writes runs (default: runs/ here, or the
#: folder that the environment variable TERRITORY_PLANNER_STORE names).
STORE_OPTION = typer.Option(None, "--store", envvar="TERRITORY_PLANNER_STORE",
                            help="the run store's folder (default: runs/ in the current folder)")


def open_store(folder: Path | None):
    """The run store at ``folder`` (created if needed)."""
    from territory_planner.runs.store import RunStore

    return RunStore(folder)
