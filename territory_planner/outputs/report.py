"""A Plan as files: assignments.csv, territories.csv, reps.csv, summary.json, scenario.yaml, map.html.

The folder is written whole (``outputs.files.write_folder``): every file is rendered
before the first is written, then the set appears at once, so bad input, an infeasible
scenario or a kill half-way leaves the output folder as it was. ``scenario.yaml`` (the
scenario as planned, ``extends`` merged, paths absolute) and ``reps.csv`` make the folder
self-describing: ``runs.record.read_plan`` reads a Plan back from it.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from territory_planner.model.overlays import role_slug
from territory_planner.outputs.files import csv_text, json_text, write_folder
from territory_planner.plan import ASSIGNMENT_COLUMNS, TERRITORY_COLUMNS, Plan

#: The files of a plan folder, in the order they are written.
PLAN_FILES = ("assignments.csv", "territories.csv", "reps.csv", "summary.json", "scenario.yaml")


def _columns(df, preferred: list[str]) -> list[str]:
    first = [c for c in preferred if c in df.columns]
    return first + [c for c in df.columns if c not in first]


def scenario_text(plan: Plan) -> str:
    """The scenario as planned, as YAML that plans the same from any folder."""
    head = "# The scenario of this plan as it was run: extends merged, defaults filled in, paths absolute.\n"
    return head + yaml.safe_dump(plan.scenario.resolved(absolute=True), sort_keys=False, allow_unicode=True)


def render_plan(plan: Plan, *, map_file: bool = True) -> dict[str, str]:
    """The plan's files, file name → text, rendered in memory (nothing written)."""
    from territory_planner.outputs.maps import plan_map

    a, t = plan.assignments, plan.territories
    reps = plan.reps.drop(columns=[c for c in plan.reps.columns if c.startswith("_")])
    files = {
        "assignments.csv": csv_text(a, columns=_columns(a, ASSIGNMENT_COLUMNS)),
        "territories.csv": csv_text(t, columns=_columns(t, TERRITORY_COLUMNS)),
        "reps.csv": csv_text(reps),
        "summary.json": json_text(plan.summary()),
        "scenario.yaml": scenario_text(plan),
    }
    for role, overlay in plan.overlays.items():
        ot = overlay.territories
        files[f"overlay_{role_slug(role)}_territories.csv"] = csv_text(ot, columns=_columns(ot, TERRITORY_COLUMNS))
    if map_file and plan.geometry != "none":  # no coordinates to draw: summary.json says so
        files["map.html"] = plan_map(plan).get_root().render()
    return files


def write_plan(plan: Plan, out_dir: str | Path, *, map_file: bool = True) -> dict[str, Path]:
    """Write the plan's files as the whole of folder ``out_dir``; returns their paths.

    A folder this program wrote before (a plan) is replaced whole; a folder holding
    other files is refused (``InputError``), never mixed into.
    """
    written = write_folder(out_dir, render_plan(plan, map_file=map_file))
    overlays = {f"overlay_{role_slug(role)}_territories.csv": f"overlay {role}" for role in plan.overlays}
    return {overlays.get(name, Path(name).stem): path for name, path in written.items()}
