"""Write a Plan to a folder: assignments.csv, territories.csv, summary.json, map.html.

Every file is written atomically, and only after the whole plan exists, so bad input or
an infeasible scenario leaves the output folder untouched.
"""

from __future__ import annotations

from pathlib import Path

from territory_planner.model.overlays import role_slug
from territory_planner.outputs.files import atomic_write_text, csv_text, json_text
from territory_planner.plan import ASSIGNMENT_COLUMNS, TERRITORY_COLUMNS, Plan


def _columns(df, preferred: list[str]) -> list[str]:
    first = [c for c in preferred if c in df.columns]
    return first + [c for c in df.columns if c not in first]


def write_plan(plan: Plan, out_dir: str | Path, *, map_file: bool = True) -> dict[str, Path]:
    """Write the plan's files into ``out_dir`` (created if needed); returns their paths.

    Every file's content is rendered before the first one is written, so a failure while
    rendering (the map, a value JSON cannot hold) leaves the folder as it was.
    """
    from territory_planner.outputs.maps import plan_map

    out = Path(out_dir)
    a = plan.assignments
    t = plan.territories
    texts = {
        "assignments": (out / "assignments.csv", csv_text(a, columns=_columns(a, ASSIGNMENT_COLUMNS))),
        "territories": (out / "territories.csv", csv_text(t, columns=_columns(t, TERRITORY_COLUMNS))),
        "summary": (out / "summary.json", json_text(plan.summary())),
    }
    for role, overlay in plan.overlays.items():
        ot = overlay.territories
        texts[f"overlay {role}"] = (out / f"overlay_{role_slug(role)}_territories.csv", csv_text(ot, columns=_columns(ot, TERRITORY_COLUMNS)))
    if map_file and plan.geometry != "none":  # no coordinates to draw: summary.json says so
        texts["map"] = (out / "map.html", plan_map(plan).get_root().render())
    return {name: atomic_write_text(path, text) for name, (path, text) in texts.items()}
