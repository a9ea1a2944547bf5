"""The where-to-sell command: potential, whitespace and coverage tiers of a scenario's accounts."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from territory_planner.cli.common import app, console, err, fail, fmt_share
from territory_planner.errors import PlannerError, ScenarioError

EXAMPLE = ("potential: {features: [industry, employees, state], revenue: revenue_last_year, quantile: 0.75, "
           "tiers: {by: abc, shares: {A: 0.5, B: 0.3, C: 0.2}}}")


@app.command("potential")
def potential_command(
    scenario: Path = typer.Argument(..., help="scenario YAML file with a potential: section, e.g. scenarios/demo_potential.yaml"),
    out: Path = typer.Option(..., "--out", "-o", help="folder for potential.csv, tiers.csv, potential.json, "
                                                      "potential_chart.png and whitespace_map.html"),
    by: str = typer.Option("county", "--by", help="the whitespace map's areas: county or zip"),
) -> None:
    """Estimate each account's potential from lookalike accounts, its whitespace and coverage tier.

    Potential is a high quantile (potential.quantile) of the revenue of similar accounts
    (potential.features), never below the account's own revenue; the model is
    cross-validated and its calibration, skill and feature importance written to
    potential.json. Nothing is written when the input is bad.

    Example: territory-planner potential scenarios/demo_potential.yaml --out out/potential
    """
    from territory_planner.data.inputs import load_inputs
    from territory_planner.data.units import load_units
    from territory_planner.outputs.files import check_output_folder
    from territory_planner.outputs.potential import write_potential
    from territory_planner.scenario import load_scenario

    if by not in ("county", "zip"):
        err.print(f"[bold red]Error:[/] --by {escape(by)}: write county or zip.", highlight=False)
        raise typer.Exit(1)
    try:
        sc = load_scenario(scenario)
        if sc.potential is None:
            raise ScenarioError("the scenario has no potential: section to estimate from", file=scenario,
                                column="potential", fix=f"add e.g. {EXAMPLE}")
        check_output_folder(out)
        with console.status("Estimating potential (model, 5-fold cross-validation) …"):
            inputs = load_inputs(sc, measure_potential=True)
            units = load_units(sc.units_path, geometry=sc.geometry) if sc.units_path else None
            written = write_potential(inputs.potential, out, geometry=sc.geometry, units=units, by=by)
    except PlannerError as exc:
        fail(exc)
    except KeyboardInterrupt:
        err.print("[bold red]Stopped[/]; nothing was written.")
        raise typer.Exit(130) from None
    _print(inputs.potential, inputs.notes, written)


def _print(estimate, notes, written: dict) -> None:
    from territory_planner.outputs.capacity import money

    summary = estimate.summary()
    q = summary["quality"] or {}
    model = summary["model"]
    console.print(f"[bold]Potential[/] of {summary['accounts']:,} accounts ({summary['potential_estimated']:,} estimated) "
                  f"from {summary['customers']:,} customers: {escape(model['name'])}", highlight=False)
    skill = q.get("skill")
    console.print(f"  {estimate.spec.quantile:.0%} quantile asked. Out of fold, the model put "
                  f"{fmt_share(q.get('share_at_or_below_potential'))} of customers at or below their potential; "
                  f"the estimate is scaled by {model['calibration_factor']:.3f} to bring it to "
                  f"{estimate.spec.quantile:.0%}. Skill {'—' if skill is None else f'{skill:.2f}'} "
                  "(0: no better than one potential for all).", highlight=False)
    top = [f"{escape(f['feature'])} {fmt_share(f['share'])}" for f in q.get("feature_importance") or [] if f["share"]]
    if top:
        console.print("  features that matter: " + ", ".join(top), highlight=False)
    table = Table(title="Coverage tiers")
    for column in ("tier", "accounts", "potential", "share", "revenue", "whitespace", "penetration", "workload h"):
        table.add_column(column, justify="left" if column == "tier" else "right")
    for row in estimate.tiers.to_dict(orient="records"):
        hours = row.get("workload_hours")
        table.add_row(escape(str(row["tier"])), f"{row['accounts']:,}", money(row["potential"]),
                      fmt_share(row["potential_share"]), money(row["revenue"]), money(row["whitespace"]),
                      fmt_share(row["penetration"]), "—" if hours is None or hours != hours else f"{hours:,.0f}")
    console.print(table)
    for note in notes:  # how the files were read, the estimate, the derived workload
        console.print(f"  - {escape(note)}", highlight=False, soft_wrap=True)
    console.print("Wrote " + ", ".join(escape(str(p)) for p in written.values()), highlight=False, soft_wrap=True)
