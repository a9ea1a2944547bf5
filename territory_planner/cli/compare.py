"""``territory-planner compare A B [C …] --out DIR``: plans side by side, what moves, a report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from territory_planner.cli.common import STORE_OPTION, app, console, err, fail, open_store
from territory_planner.errors import InputError, PlannerError


def unique_labels(labels: list[str]) -> list[str]:
    """Labels the comparison can take: as given where they can be, else renamed.

    A repeated label is numbered ("demo", "demo (2)"); one that names a column of the
    KPI table (``kpi``, ``unit``, ``better``, ``key``, or starting ``delta ``) gets
    ``plan`` in front ("plan key"); an empty one becomes "plan 3". No renamed label
    takes one given to another plan.

    >>> unique_labels(["demo", "demo", "key", "delta B", ""])
    ['demo', 'demo (2)', 'plan key', 'plan delta B', 'plan 5']
    """
    from territory_planner.outputs.compare import is_reserved_label

    given = set(labels)
    out: list[str] = []
    for i, label in enumerate(labels):
        base = f"plan {i + 1}" if not label.strip() else f"plan {label}" if is_reserved_label(label) else label
        candidate, n = base, 1
        while candidate in out or (candidate != label and candidate in given):
            n += 1
            candidate = f"{base} ({n})"
        out.append(candidate)
    return out


@app.command("compare")
def compare_command(
    plans: list[str] = typer.Argument(..., help="two or more plans: run ids (or labels, names), plan folders, or "
                                      "scenario files (planned first, through the store); the first is the reference"),
    out: Path = typer.Option(..., "--out", "-o", help="folder for comparison.csv, moves.csv, reps.csv, report.html"),
    title: str | None = typer.Option(None, "--title", help="the report's title"),
    store_dir: Path | None = STORE_OPTION,
    fresh: bool = typer.Option(False, "--fresh", help="plan scenario files again even if the store holds them"),
) -> None:
    """Compare plans: every KPI with its change against the first plan, each account that
    moves, each rep's gains and losses, and an offline report with charts and the maps
    side by side (moved accounts ringed).

    Example: territory-planner compare scenarios/demo.yaml scenarios/balance_3pct.yaml --out out/compare
    """
    from territory_planner.outputs.compare import compare_plans, print_comparison
    from territory_planner.outputs.compare_report import write_comparison
    from territory_planner.outputs.files import check_output_folder
    from territory_planner.runs.execute import open_plan

    if len(plans) < 2:
        fail(PlannerError("compare needs at least two plans; give a run id, plan folder or scenario file for each"))
    try:
        check_output_folder(out)  # before planning any scenario file, not after
        store = open_store(store_dir)
        opened = []
        for ref in plans:
            err.print(f"Opening {escape(ref)} …", highlight=False)
            opened.append(open_plan(ref, store, fresh=fresh))
        labels = unique_labels([label for _, label in opened])
        results = [p for p, _ in opened]
        try:
            comparison = compare_plans(results, labels)
        except ValueError as exc:  # a plan the comparison cannot read: bad input, not a crash
            raise InputError(f"cannot compare these plans: {exc}",
                             fix="plan them again, or check the plan folders were not edited by hand") from None
        written = write_comparison(comparison, results, labels, out, title=title)
    except PlannerError as exc:
        fail(exc)
    except KeyboardInterrupt:
        err.print("[bold red]Stopped[/]; nothing was written.")
        raise typer.Exit(130) from None
    print_comparison(comparison, console)
    moves = comparison.moves
    for label in labels[1:]:
        n = int((moves["plan"] == label).sum()) if len(moves) else 0
        console.print(f"{escape(labels[0])} → {escape(label)}: {n:,} account(s) change rep", highlight=False)
    console.print("Wrote: " + escape(", ".join(str(p) for p in written.values())), highlight=False)
