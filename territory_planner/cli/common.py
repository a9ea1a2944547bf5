"""What every command shares: the typer app, the consoles, errors as exit codes, progress,
the number formats and the table of runs (``runs list``, ``sweep``).

0 ok · 1 bad input · 2 infeasible · 3 solver failure · 130 stopped before any plan.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich import box
from rich.cells import cell_len
from rich.console import Console, Group
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from territory_planner.errors import InfeasibleError, NoPlanFoundError, PlannerError
from territory_planner.runs.store import STORE_ENV

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


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def fmt_gap(gap: float) -> str:
    return "∞" if not math.isfinite(gap) else f"{gap:.3%}"


def fmt_pct(value) -> str:
    """A percentage that is already ×100 (``2.134`` → ``2.13%``); ``—`` when missing."""
    return f"{value:.2f}%" if _finite(value) else "—"


def fmt_share(value) -> str:
    """A share (``0.123`` → ``12.3%``); ``—`` when missing."""
    return f"{value:.1%}" if _finite(value) else "—"


def fmt_km(value) -> str:
    """A distance (``1234.56`` → ``1,234.6``); ``—`` when missing."""
    return f"{value:,.1f}" if _finite(value) else "—"


def swept_text(swept: dict) -> str:
    """The swept values of a run, as a list shows them ("potential=0.03, add_reps=TX-NEW1")."""
    from territory_planner.scenario.sweep import short_value

    return ", ".join(f"{k.split('.')[-1]}={short_value(v)}" for k, v in swept.items())


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
#: folder that the environment variable ``STORE_ENV`` names).
STORE_OPTION = typer.Option(None, "--store", envvar=STORE_ENV,
                            help="the run store's folder (default: runs/ in the current folder)")


def open_store(folder: Path | None):
    """The run store at ``folder`` (created if needed)."""
    from territory_planner.runs.store import RunStore

    return RunStore(folder)


# --------------------------------------------------------------------------- tables of runs

#: The KPIs a table of runs shows: (header, summary.json KPI, format, header when narrow).
KPI_COLUMNS = (("pot. max dev", "potential_max_dev_pct", fmt_pct, "pot. dev"),
               ("mean km", "mean_distance_km", fmt_km, "km"), ("moved", "accounts_moved_share", fmt_share, "moved"))
#: In the wide layout: the least a run's name and its swept values are given (below
#: that, the narrow layout), and the most a label or an approval column takes.
NAME_WIDTH, SWEPT_WIDTH, NOTE_WIDTH = 16, 20, 20


@dataclass(frozen=True)
class RunRow:
    """One row of a table of runs: a stored run, or a sweep point that has none (``id`` None)."""

    id: str | None
    name: str
    status: str
    ok: bool
    swept: dict = field(default_factory=dict)
    gap: float | None = None
    kpis: dict = field(default_factory=dict)
    kind: str | None = None
    label: str | None = None
    approved_by: str | None = None

    @classmethod
    def of(cls, run, **changes) -> RunRow:
        """The row of a stored run (``changes``: fields shown otherwise, e.g. the status)."""
        approved = (run.approved_by or "yes") if run.approved else None
        fields = dict(id=run.id, name=run.name, status=run.status, ok=run.ok, swept=run.swept, gap=run.gap,
                      kpis=run.kpis, kind=run.kind, label=run.label, approved_by=approved)
        return cls(**{**fields, **changes})

    def cells(self) -> dict[str, Text]:
        """The row's cells by column: text as written (never read as markup), each cut as it
        should be when its column is narrow: the name with an ellipsis, the swept values
        folded (they are what tells the runs of a sweep apart), an id never."""
        out = {"id": Text(self.id or "—", no_wrap=True), "name": Text(self.name, no_wrap=True, overflow="ellipsis"),
               "kind": Text(self.kind or ""), "swept": Text(swept_text(self.swept), overflow="fold"),
               "status": Text(self.status, style="" if self.ok else "red"),
               "gap": Text(fmt_gap(self.gap if self.gap is not None else math.inf) if self.ok else "—"),
               "label": Text(self.label or "", overflow="ellipsis"),
               "approved": Text(f"✓ {self.approved_by}" if self.approved_by else "", overflow="ellipsis")}
        for header, key, fmt, _ in KPI_COLUMNS:
            out[header] = Text(fmt(self.kpis.get(key)))
        return out


def _wide_widths(columns: list[str], cells: list[dict[str, Text]], width: int) -> dict[str, int] | None:
    """Column widths that fit every field its own column in ``width`` (None: they do not).

    Ids, statuses and numbers get their whole width, a label or approval up to
    :data:`NOTE_WIDTH`; the swept values (which tell a sweep's runs apart) get room for
    their longest value, one value a line, the name what is left, down to
    :data:`NAME_WIDTH` (it ends in an ellipsis), and the swept values any room beyond.
    """
    natural = {c: max([cell_len(c), *(max(map(cell_len, row[c].plain.splitlines()), default=0) for row in cells)])
               for c in columns}
    widths = {c: min(natural[c], NOTE_WIDTH) if c in ("label", "approved") else natural[c] for c in columns
              if c not in ("name", "swept")}
    room = width - sum(widths.values()) - 3 * len(columns) - 1  # a border and a space either side of each
    # The swept values wrap between values, so the longest value is the least they need.
    values = max((cell_len(v) for row in cells for v in row["swept"].plain.split(", ")), default=0)
    swept = min(natural["swept"], max(SWEPT_WIDTH, values))
    name = min(natural["name"], room - swept)
    if name < min(natural["name"], NAME_WIDTH):
        return None
    return {**widths, "name": name, "swept": min(natural["swept"], room - name)}


def runs_table(title: str, rows: Iterable[RunRow], *, width: int | None = None, store: bool = False) -> Table:
    """A table of runs, readable at 80 columns and roomy at 160.

    ``store``: also the kind, label and approval (``runs list``; the label and approval
    columns only when a run has one). When every field fits a column of its own in
    ``width`` (default: the console's) it gets one; otherwise the run's id, name, swept
    values and (with ``store``) label and approval are the lines of one ``run`` column
    beside the status, gap and KPIs. A name too long for its column ends in an ellipsis,
    the swept values wrap, an id is never cut: no column is folded letter by letter.
    """
    rows = list(rows)
    cells = [row.cells() for row in rows]
    numbers = ("gap", *(kpi[0] for kpi in KPI_COLUMNS))
    notes = [c for c, used in (("label", any(r.label for r in rows)), ("approved", any(r.approved_by for r in rows)))
             if store and used]
    columns = ["id", "name", *(["kind"] if store else []), "swept", "status", *numbers, *notes]
    widths = _wide_widths(columns, cells, width or console.width)
    if widths is not None:
        table = Table(title=title, title_justify="left", box=box.HEAVY_HEAD)
        for column in columns:
            table.add_column(column, justify="right" if column in numbers else "left", width=widths[column],
                             no_wrap=column not in ("swept", "label", "approved"), overflow="ellipsis")
        for row in cells:
            table.add_row(*(row[c] for c in columns))
        return table
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_lines=True, pad_edge=False)
    table.add_column("run", min_width=20)
    table.add_column("status", no_wrap=True)
    for header in ("gap", *(kpi[3] for kpi in KPI_COLUMNS)):
        table.add_column(header, justify="right", no_wrap=True)
    for row, cell in zip(rows, cells, strict=True):
        lines = [Text(cell["id"].plain, style="bold", no_wrap=True), cell["name"]]
        if row.swept:
            lines.append(Text(cell["swept"].plain, style="dim", overflow="fold"))
        if store and (row.label or row.approved_by):
            said = [f"label {row.label}" if row.label else "", cell["approved"].plain]
            lines.append(Text(" · ".join(n for n in said if n), overflow="fold"))
        status = Group(cell["status"], Text(row.kind, style="dim")) if store and row.kind else cell["status"]
        table.add_row(Group(*lines), status, *(cell[c] for c in numbers))
    return table
