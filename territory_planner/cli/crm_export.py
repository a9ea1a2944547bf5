"""``territory-planner export RUN --to salesforce|hubspot|dynamics|csv|xlsx|geojson --out DIR``.

A plan as the files a CRM loads (or as plain tables and GeoJSON), with ``LOAD_ORDER.md``
saying which file to load when and with which tool; ``export DIR --resolve
success_Territory2.csv`` fills the Ids Salesforce assigned into a Salesforce export folder.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from territory_planner.cli.common import STORE_OPTION, app, console, err, fail, open_store
from territory_planner.errors import InputError, PlannerError

TARGETS_HELP = "salesforce, hubspot, dynamics (CRM load files), csv, xlsx or geojson (the plan's tables and map)"


@app.command("export")
def export_command(
    run: str = typer.Argument(..., help="a run id (or label, name), a plan folder, or a scenario file; with "
                                        "--resolve: a Salesforce export folder"),
    to: str | None = typer.Option(None, "--to", help=TARGETS_HELP),
    out: Path | None = typer.Option(None, "--out", "-o", help="the folder to write (with --resolve: default RUN "
                                                              "itself, rewritten whole)"),
    changed_only: bool = typer.Option(False, "--changed-only",
                                      help="only the accounts whose rep differs from today's (current_rep_id)"),
    ids_are_crm_ids: bool = typer.Option(False, "--ids-are-crm-ids",
                                         help="take account_id and rep_id as the CRM's record and user ids where "
                                              "the plan has no crm_id"),
    salesforce_model: str = typer.Option("auto", "--salesforce-model",
                                         help="new: a new territory model; current: only the changes to the model "
                                              "the accounts were imported from; auto: current for a plan imported "
                                              "from Salesforce territories, else new"),
    model_id: str | None = typer.Option(None, "--model-id", help="Salesforce, current model: the Territory2ModelId "
                                                                 "for territories new to the org"),
    type_id: str | None = typer.Option(None, "--type-id", help="Salesforce: the Territory2TypeId of a type the "
                                                               "org has, for the territories inserted (a new model "
                                                               "then inserts no Territory2Type)"),
    type_priority: int | None = typer.Option(None, "--type-priority", min=1,
                                             help="Salesforce, new model: the first Territory2Type Priority to use "
                                                  "(priorities are unique in the org)"),
    types: Path | None = typer.Option(None, "--types", help="Salesforce, new model: the org's Territory2Type export "
                                                            "(Id, DeveloperName, Priority): the new types take free "
                                                            "priorities, types of the same DeveloperName are reused"),
    role: str = typer.Option("Owner", "--role-in-territory", help="Salesforce: RoleInTerritory2 of each rep"),
    territory_property: str = typer.Option("Territory", "--territory-property",
                                           help="HubSpot: the custom company property for the territory ('' for "
                                                "none)"),
    resolve: list[Path] = typer.Option([], "--resolve", help="Data Loader success file(s) (success_Territory2Model"
                                                             ".csv, success_Territory2Type.csv, success_Territory2"
                                                             ".csv): fill their Ids into the export folder RUN"),
    store_dir: Path | None = STORE_OPTION,
) -> None:
    """Export a plan for a CRM (Salesforce Enterprise Territory Management, HubSpot, Dynamics 365)
    or as tables (csv, xlsx) and territory polygons (geojson). Nothing is written unless the
    whole export is valid; LOAD_ORDER.md in the folder says what to load, in which order, with
    which tool.

    Examples:

      territory-planner export board-pick --to salesforce --out out/sf

      territory-planner export out/sf --resolve success_Territory2.csv

      territory-planner export out/demo --to hubspot --changed-only --out out/hubspot
    """
    from territory_planner.crm.export import TARGETS, ExportOptions, resolve_export, write_export
    from territory_planner.outputs.files import check_output_folder
    from territory_planner.runs.execute import open_plan

    try:
        if resolve:
            if to is not None:
                raise InputError("--resolve rewrites an export folder; it takes no --to", column="--to",
                                 fix=f"territory-planner export {run} --resolve SUCCESS.csv")
            manifest = resolve_export(Path(run), list(resolve), out)
            _print_steps(manifest, out or Path(run))
            return
        if to is None or to not in TARGETS:
            raise InputError(f"--to {to or '(missing)'}: choose what to export", column="--to",
                             fix=f"use one of {', '.join(TARGETS)}")
        if out is None:
            raise InputError("--out is missing", column="--out", fix="name a new folder, e.g. --out out/" + to)
        check_output_folder(out)  # before planning a scenario file, not after
        plan, label = open_plan(run, open_store(store_dir))
        options = ExportOptions(changed_only=changed_only, ids_are_crm_ids=ids_are_crm_ids, label=label,
                                salesforce_model=salesforce_model, model_id=model_id, type_id=type_id,
                                type_priority=type_priority, types_file=types,
                                role_in_territory=role, territory_property=territory_property or None)
        export = write_export(plan, to, out, options)
    except PlannerError as exc:
        fail(exc)
    except KeyboardInterrupt:
        err.print("[bold red]Stopped[/]; nothing was written.")
        raise typer.Exit(130) from None
    _print_steps(export.manifest(), out)


def _print_steps(manifest: dict, out: Path) -> None:
    tools = sorted({step["tool"] for step in manifest["steps"]})
    one_tool = len(tools) == 1
    title = f"{manifest['target']} export → {out}" + (f" (load with {tools[0]})" if one_tool else "")
    table = Table(title=escape(title), title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("file", no_wrap=True)
    table.add_column("rows", justify="right", no_wrap=True)
    table.add_column("action" if one_tool else "load with", overflow="fold")
    for number, step in enumerate(manifest["steps"], start=1):
        how = step["action"] if one_tool else f"{step['tool']}: {step['action']}"
        table.add_row(str(number), escape(step["file"]), f"{step['rows']:,}", escape(how))
    console.print(table)
    pending = manifest.get("pending") or {}
    if pending:
        objects = sorted({ref["object"] for cols in pending.values() for ref in cols.values()})
        console.print("Ids to fill in with --resolve: " + ", ".join(f"success_{o}.csv" for o in objects),
                      highlight=False)
    for note in manifest.get("notes", []):
        console.print(f"• {escape(note)}", highlight=False, soft_wrap=True)
    console.print(f"See {escape(str(out / 'LOAD_ORDER.md'))}", highlight=False)
