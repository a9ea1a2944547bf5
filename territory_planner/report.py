"""Write a Plan to a folder: assignments.csv, territories.csv, summary.json, map.html.

Every file is written atomically, and only after the whole plan exists, so bad input or
an infeasible scenario leaves the output folder untouched.
"""

from __future__ import annotations

from pathlib import Path

from territory_planner.io import write_csv, write_json
from territory_planner.overlays import role_slug
from territory_planner.plan import ASSIGNMENT_COLUMNS, TERRITORY_COLUMNS, Plan


def _columns(df, preferred: list[str]) -> list[str]:
    first = [c for c in preferred if c in df.columns]
    return first + [c for c in df.columns if c not in first]


def write_plan(plan: Plan, out_dir: str | Path, *, map_file: bool = True) -> dict[str, Path]:
    """Write the plan's files into ``out_dir`` (created if needed); returns their paths."""
    from territory_planner.maps import write_map

    out = Path(out_dir)
    a = plan.assignments
    t = plan.territories
    written = {
        "assignments": write_csv(a, out / "assignments.csv", columns=_columns(a, ASSIGNMENT_COLUMNS)),
        "territories": write_csv(t, out / "territories.csv", columns=_columns(t, TERRITORY_COLUMNS)),
        "summary": write_json(plan.summary(), out / "summary.json"),
    }
    for role, overlay in plan.overlays.items():
        ot = overlay.territories
        written[f"overlay {role}"] = write_csv(ot, out / f"overlay_{role_slug(role)}_territories.csv", columns=_columns(ot, TERRITORY_COLUMNS))
    if map_file and plan.geometry != "none":  # no coordinates to draw: summary.json says so
        written["map"] = write_map(plan, out / "map.html")
    return written
