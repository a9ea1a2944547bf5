"""The planning commands: plan, validate, capacity, demo-data."""

from __future__ import annotations

import math
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
    fmt_gap,
    open_store,
)
from territory_planner.errors import PlannerError
from territory_planner.model.constraints import distance_unit
from territory_planner.outputs.files import FOLDER_MARK


def print_summary(result, written: dict) -> None:
    k = result.kpis
    head = Table(title=f"Plan '{escape(result.scenario.name)}'", show_header=False, title_justify="left")
    head.add_column(style="bold")
    head.add_column()
    head.add_row("status", result.status)
    head.add_row("objective", f"{result.objective:,.1f}  ({result.cost_label})")
    if math.isfinite(result.bound):
        head.add_row("proven bound", f"{result.bound:,.1f}")
    else:
        head.add_row("proven bound", "none: " + escape(str(result.solution.bound_from or "no stage proved one")))
    head.add_row("gap", fmt_gap(result.gap))
    head.add_row("seconds", f"{result.seconds:.1f} (whole run; backend {result.solution.backend})")
    head.add_row("accounts / territories", f"{len(result.assignments):,} / {len(result.territories)}")
    for col in ["potential", "workload", *[c for c in result.scenario.balance if c not in ("potential", "workload")]]:
        tol = result.scenario.balance.get(col)
        band = f" (band ±{tol * 100:g}%)" if tol is not None else ""
        digits = 2 if tol is None or tol >= 1e-3 else 6  # a narrow band is shown to its own precision
        head.add_row(f"max {col} deviation", f"{k[f'{col}_max_dev_pct']:.{digits}f}%{band}")
    if result.geometry != "none":
        unit = distance_unit(result.scenario)
        head.add_row("mean distance to rep", f"{k['mean_distance_km']:,.1f} {unit} "
                     f"(workload-weighted {k['workload_weighted_mean_distance_km']:,.1f})")
    if "relocation_km" in result.territories and result.territories["relocation_km"].notna().any():
        unit = distance_unit(result.scenario)
        moves = result.territories["relocation_km"]
        head.add_row("reps relocating to centers", f"{int(moves.notna().sum())} seated, total {moves.sum():,.1f} {unit} "
                     f"(max {moves.max():,.1f}); open seats {int(moves.isna().sum())}")
    head.add_row("utilisation", f"{k['utilisation_min']:.0%} – {k['utilisation_max']:.0%} (mean {k['utilisation_mean']:.0%})")
    if "accounts_moved" in k:
        head.add_row("accounts changing owner", f"{k['accounts_moved']:,} ({k['accounts_moved_share']:.1%}; {k['potential_moved_share']:.1%} of potential)")
    for key in (x for x in k if x.startswith("kept_share_by_")):
        head.add_row(f"kept with owner ({key.removeprefix('kept_share_by_')})", f"{k[key]:.1%}")
    if "quota_coverage_ratio" in k:
        head.add_row("quotas", f"Σ {k['quota_quota_total']:,.0f}, coverage {k['quota_coverage_ratio']:.2f}; expected attainment "
                     f"p10 {k['quota_attainment_p10']:.0%} · mean {k['quota_attainment_mean']:.0%} · p90 {k['quota_attainment_p90']:.0%}")
    left = result.summary().get("reps_without_territory")
    if left:
        head.add_row("reps without territory", escape(", ".join(left)))
    if result.notes:
        head.add_row("changes", escape("\n".join(result.notes)))
    if result.geometry == "none":
        head.add_row("map", "not drawn (geometry: none has no coordinates)")
    console.print(head)
    if len(result.solution.stages) > 1:
        stages = Table(title="Stages (the plan's bound and status are the whole run's)", title_justify="left")
        for column in ("stage", "status", "objective", "bound", "seconds"):
            stages.add_column(column, justify="left" if column in ("stage", "status") else "right")
        for st in result.solution.stages:
            stages.add_row(escape(st.name), st.status,
                           f"{st.objective:,.1f}" if math.isfinite(st.objective) else "—",
                           f"{st.bound:,.1f}" if math.isfinite(st.bound) else "—", f"{st.seconds:.1f}")
        console.print(stages)
    if written:
        console.print("Wrote: " + escape(", ".join(str(p) for p in written.values())), highlight=False)


def _check_tiles(value: str | None) -> str | None:
    """--tiles is checked before solving (a URL template or a known provider name); bad input exits 1."""
    if value:
        from territory_planner.outputs.maps import check_tiles

        try:
            check_tiles(value)
        except PlannerError as exc:
            fail(exc)
    return value


@app.command("plan")
def plan_command(
    scenario: Path = typer.Argument(..., help="scenario YAML file, e.g. scenarios/demo.yaml"),
    out: Path | None = typer.Option(None, "--out", "-o", help="also write the plan's files to this folder "
                                    "(assignments.csv, territories.csv, reps.csv, summary.json, scenario.yaml, map.html)"),
    map_path: Path | None = typer.Option(None, "--map", help="also write the map here (e.g. maps/demo.html)"),
    tiles: str | None = typer.Option(None, "--tiles", help="web map tiles under the --map copy (needs --map; the "
                                     "--out folder's map.html stays the stored run's): a URL template "
                                     "(https://…/{z}/{x}/{y}.png) or a provider name (OpenStreetMap, OpenTopoMap). "
                                     "Default none: the map works offline. With tiles the page fetches them from that "
                                     "server each time it is viewed", callback=_check_tiles),
    time_limit: float | None = typer.Option(None, "--time-limit", help="override solver.time_limit (seconds)"),
    backend: str | None = typer.Option(None, "--backend", help="override solver.backend: auto, highs, cbc, cpsat"),
    store_dir: Path | None = STORE_OPTION,
    fresh: bool = typer.Option(False, "--fresh", help="plan again even if the store holds a run of this unchanged "
                               "scenario with unchanged inputs"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Optimise a scenario, keep the run in the store and write the plan and its map.

    Every run is kept in the run store (runs/ here, or --store DIR); an unchanged
    scenario with unchanged input files returns the stored run (--fresh plans again).

    Example: territory-planner plan scenarios/demo.yaml --out out/demo
    """
    from territory_planner.errors import InputError
    from territory_planner.outputs.files import check_output_folder, write_folder
    from territory_planner.outputs.maps import write_map
    from territory_planner.runs.execute import plan_stored
    from territory_planner.scenario import load_scenario

    try:
        if tiles and map_path is None:  # --out's map.html is the stored run's own, byte for byte: no tiles
            raise InputError("--tiles draws the --map copy, and no --map was given", value=tiles,
                             fix="add --map FILE (e.g. --map maps/demo.html), or leave --tiles out")
        if out is not None:
            check_output_folder(out)  # before solving, not after
        sc = load_scenario(scenario)
        solver = {k: v for k, v in {"time_limit": time_limit, "backend": backend}.items() if v is not None}
        if solver:
            sc = sc.with_overrides(solver=solver)
        store = open_store(store_dir)
        if quiet:
            stored = plan_stored(sc, store, fresh=fresh)
        else:
            bar = SolveProgress(sc.solver.time_limit)
            with bar.progress:
                stored = plan_stored(sc, store, fresh=fresh, progress=bar)
        result, run = stored.plan, stored.run
        written = {}
        if out is not None:  # the run's own files, byte for byte
            written = write_folder(out, {f.name: f.read_bytes() for f in sorted(run.folder.iterdir())
                                         if f.is_file() and f.name not in ("run.json", FOLDER_MARK)})
        if map_path is not None and result.geometry != "none":
            written["map copy"] = write_map(result, map_path, tiles=tiles)
    except PlannerError as exc:
        fail(exc)
    except KeyboardInterrupt:
        err.print("[bold red]Stopped[/] before any plan was found; nothing was written.")
        raise typer.Exit(130) from None
    if result.status == "interrupted":
        err.print("[bold yellow]Stopped by Ctrl-C:[/] kept the best plan found so far.")
    if stored.reused:
        err.print(f"[bold]Unchanged scenario and inputs:[/] this is run {run.id} of {escape(run.created_at[:19])} from the "
                  f"store {escape(str(store.root))} (--fresh plans again).", highlight=False, soft_wrap=True)
    print_summary(result, written)
    console.print(f"Run {run.id} in {escape(str(store.root))}" + (" (reused)" if stored.reused else ""), highlight=False)


@app.command("validate")
def validate_command(scenario: Path = typer.Argument(..., help="scenario YAML file")) -> None:
    """Check a scenario and its input files without optimising.

    Says what reading the files did: how a file was read where it had to be guessed
    (encoding, separator, decimal commas, thousands dots), rows placed by ZIP code or
    city, rows left out, what the scenario's changes did.

    Example: territory-planner validate scenarios/demo.yaml
    """
    from territory_planner.data.inputs import load_inputs
    from territory_planner.scenario import load_scenario

    try:
        sc = load_scenario(scenario)
        inputs = load_inputs(sc)
    except PlannerError as exc:
        fail(exc)
    console.print(f"OK: {len(inputs.accounts):,} accounts, {len(inputs.reps):,} reps in scenario '{escape(sc.name)}'.")
    for note in inputs.notes:  # cells and file names quoted in a note are text, not rich markup
        console.print(f"  - {escape(note)}", highlight=False, soft_wrap=True)


@app.command("capacity")
def capacity_command(
    scenario: Path = typer.Argument(..., help="scenario YAML file with a capacity section, e.g. scenarios/demo.yaml"),
    out: Path = typer.Option(..., "--out", "-o", help="folder for capacity.csv, hiring_plan.csv, quotas.csv, capacity.json"),
) -> None:
    """Size the sales team: reps needed by region and role, hires by month, cost, quotas.

    Example: territory-planner capacity scenarios/demo.yaml --out out/capacity
    """
    from territory_planner.capacity.planning import plan_capacity
    from territory_planner.outputs.capacity import print_capacity_summary, write_capacity
    from territory_planner.scenario import load_scenario

    try:
        result = plan_capacity(load_scenario(scenario))
        written = write_capacity(result, out)
    except PlannerError as exc:
        fail(exc)
    print_capacity_summary(result, console, written)


@app.command("demo-data")
def demo_data_command(
    out: Path = typer.Option(Path("scenarios/demo"), "--out", "-o", help="folder for accounts.csv, reps.csv, counties.geojson"),
    seed: int = typer.Option(7, help="random seed (same seed, same files)"),
    accounts: int = typer.Option(3000, "--accounts", help="number of accounts"),
    reps: int = typer.Option(30, "--reps", help="number of reps"),
) -> None:
    """Generate the realistic US demo dataset offline (deterministic for a seed).

    Example: territory-planner demo-data --out scenarios/demo --seed 7
    """
    from territory_planner.demo_data import write_demo

    written = write_demo(out, seed=seed, n_accounts=accounts, n_reps=reps)
    console.print("Wrote: " + ", ".join(str(p) for p in written.values()), highlight=False)
