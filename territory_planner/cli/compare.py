"""``territory-planner compare A B [C …] --out DIR``: plans side by side, what moves, a report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from territory_planner.cli.common import STORE_OPTION, app, console, err, fail, open_store
from territory_planner.errors import PlannerError


def unique_labels(labels: list[str]) -> list[str]:
    """Labels as given, a repeated one numbered ("demo", "demo (2)")."""
    out, seen = [], {}
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
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
    from territory_planner.runs.execute import open_plan

    if len(plans) < 2:
        fail(PlannerError("compare needs at least two plans; give a run id, plan folder or scenario file for each"))
    try:
        store = open_store(store_dir)
        opened = []
        for ref in plans:
            err.print(f"Opening {escape(ref)} …", highlight=False)
            opened.append(open_plan(ref, store, fresh=fresh))
        labels = unique_labels([label for _, label in opened])
        results = [p for p, _ in opened]
        comparison = compare_plans(results, labels)
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
