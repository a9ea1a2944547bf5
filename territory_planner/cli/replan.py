"""``territory-planner replan RUN --changes changes.yaml``: the mid-year re-plan."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from territory_planner.cli.common import (
    STORE_OPTION,
    SolveProgress,
    app,
    console,
    err,
    fail,
    open_store,
)
from territory_planner.errors import PlannerError

#: How many moved accounts the terminal lists (moves.csv has them all).
SHOWN = 25


@app.command("replan")
def replan_command(
    run: str = typer.Argument(..., help="the plan to start from: a run id, label or name (e.g. the approved run), "
                              "or a plan folder"),
    changes: Path = typer.Option(..., "--changes", "-c", help="what changed: a YAML file with the keys of a "
                                 "scenario's changes: section (remove_reps, add_reps, exclude_accounts, add_accounts, lock)"),
    out: Path | None = typer.Option(None, "--out", "-o", help="also write the re-plan's files here "
                                    "(the plan's files, moves.csv, changes.yaml, accounts.csv)"),
    time_limit: float | None = typer.Option(None, "--time-limit", help="seconds for both stages (default: the "
                                            "scenario's solver.time_limit)"),
    store_dir: Path | None = STORE_OPTION,
    fresh: bool = typer.Option(False, "--fresh", help="re-plan even if the store holds this re-plan"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Re-plan from a run after reps leave or join and accounts open or close, moving as
    few accounts as possible: first the fewest moves the bands require (accounts of
    departed reps and new accounts move anyway), then the least travel with that few.
    Lists every account that moved and why; the re-plan is kept in the store.

    Example: territory-planner replan board-pick --changes scenarios/changes/r017_leaves.yaml --out out/replan
    """
    from territory_planner.outputs.files import check_output_folder, write_folder
    from territory_planner.runs.execute import open_plan
    from territory_planner.runs.record import file_sha256, input_hashes, read_plan_table
    from territory_planner.runs.replan import read_changes, replan, replan_key

    try:
        if out is not None:
            check_output_folder(out)  # before solving, not after
        store = open_store(store_dir)
        spec = read_changes(changes)
        base_path = Path(run)
        if base_path.is_dir():  # a plan folder; a stored run's folder is that run
            base, folder = open_plan(run, store)[0], base_path
            parent = base_path.name if (base_path / "run.json").is_file() else None
        else:
            stored = store.get(run)
            base, parent, folder = stored.plan(), stored.id, stored.folder
        hashes = input_hashes(base.scenario)
        if spec.add_accounts is not None:
            hashes["changes.add_accounts"] = {"path": str(spec.add_accounts), "sha256": file_sha256(spec.add_accounts)}
        key = replan_key(folder, spec, time_limit, hashes)
        hit = None if fresh else store.cached(key)
        if hit is not None:
            result_run, result, moves = hit, hit.plan(), read_plan_table(hit.folder / "moves.csv")
        else:
            limit = time_limit or base.scenario.solver.time_limit
            if quiet:
                outcome = replan(base, spec, time_limit=time_limit, changes_file=changes)
            else:
                bar = SolveProgress(limit)
                with bar.progress:
                    outcome = replan(base, spec, time_limit=time_limit, progress=bar, changes_file=changes)
            result, moves = outcome.plan, outcome.moves
            result_run = store.save(outcome.files(), name=result.scenario.name, kind="replan",
                                    status=result.status, summary=result.summary(), parent=parent, key=key,
                                    inputs=hashes, scenario_file=str(changes.resolve()),
                                    extra={"base_folder": str(folder.resolve()), "fewest_moves": outcome.fewest_moves,
                                           "forced_moves": outcome.forced_moves})
        written = {}
        if out is not None:
            written = write_folder(out, {f.name: f.read_bytes() for f in sorted(result_run.folder.iterdir())
                                         if f.is_file() and not f.name.startswith(".") and f.name != "run.json"})
    except PlannerError as exc:
        fail(exc)
    except KeyboardInterrupt:
        err.print("[bold red]Stopped[/] before any plan was found; nothing was written.")
        raise typer.Exit(130) from None
    from territory_planner.cli.plan import print_summary

    if hit is not None:
        err.print(f"[bold]Unchanged:[/] this re-plan is run {result_run.id} of {escape(result_run.created_at[:19])} "
                  "(--fresh re-plans).", highlight=False, soft_wrap=True)
    print_summary(result, written)
    table = Table(title=f"{len(moves):,} account(s) moved" + (f"; the first {SHOWN}" if len(moves) > SHOWN else ""),
                  title_justify="left")
    for column in ("account_id", "name", "from_rep_id", "to_rep_id", "potential", "reason"):
        table.add_column(column, overflow="fold", justify="right" if column == "potential" else "left")
    for _, row in moves.head(SHOWN).iterrows():
        table.add_row(*(escape(str(row[c])) if c != "potential" else f"{row[c]:,.0f}"
                        for c in ("account_id", "name", "from_rep_id", "to_rep_id", "potential", "reason")))
    if len(moves):
        console.print(table)
        why = moves["reason"].str.split(" \\(").str[0].value_counts()
        console.print("Why: " + escape(", ".join(f"{n} {reason}" for reason, n in why.items())), highlight=False)
    console.print(f"Run {result_run.id} in {escape(str(store.root))}" + (" (reused)" if hit is not None else ""),
                  highlight=False)
