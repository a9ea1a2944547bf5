"""The files of ``territory-planner potential``: where the untapped market is.

``potential.csv`` (one row per account: the potential, where it came from, whitespace,
penetration, tiers and the features the model read), ``tiers.csv`` (the tier table),
``potential.json`` (the model, the quantile, the cross-validated quality figures, the
tier table and the notes), ``potential_chart.png`` (potential against revenue by tier,
outputs/potential_chart.py) and ``whitespace_map.html`` (whitespace by county or ZIP,
outputs/potential_map.py; geographic data only). The folder is written whole or not at
all (outputs/files.write_folder), CSV cells Excel-safe.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from territory_planner.outputs.files import csv_text, json_text, write_folder
from territory_planner.outputs.potential_chart import potential_chart_png
from territory_planner.outputs.potential_map import whitespace_map_html
from territory_planner.potential import Estimate

ESTIMATE_COLUMNS = ("potential", "potential_source", "lookalike_potential", "whitespace", "penetration", "tier",
                    "penetration_tier", "coverage_tier")


def potential_table(estimate: Estimate) -> pd.DataFrame:
    """potential.csv: account_id, name, segment, the revenue read, the estimate's columns, workload, the features."""
    acc = estimate.accounts
    revenue = [c for c in [*_revenue_columns(estimate), estimate.revenue_column] if c in acc]
    columns = ["account_id", "name", "segment", *revenue, *ESTIMATE_COLUMNS, "workload", *estimate.features]
    return acc[list(dict.fromkeys(c for c in columns if c in acc))]


def _revenue_columns(estimate: Estimate) -> list[str]:
    acc = estimate.accounts
    wanted = {c.strip().lower() for c in estimate.spec.revenue_columns}
    return [c for c in acc.columns if str(c).strip().lower() in wanted]


def potential_files(estimate: Estimate, *, geometry: str, units=None, by: str = "county") -> dict[str, str | bytes]:
    """Every file of the potential folder, by name."""
    files: dict[str, str | bytes] = {
        "potential.csv": csv_text(potential_table(estimate)),
        "tiers.csv": csv_text(estimate.tiers),
        "potential.json": json_text({**estimate.summary(), "map": None}),
        "potential_chart.png": potential_chart_png(estimate),
    }
    page = whitespace_map_html(estimate, geometry=geometry, units=units, by=by)
    if page is not None:
        files["whitespace_map.html"] = page
        files["potential.json"] = json_text({**estimate.summary(), "map": f"whitespace_map.html (whitespace by {by})"})
    return files


def write_potential(estimate: Estimate, out_dir: str | Path, *, geometry: str, units=None,
                    by: str = "county") -> dict[str, Path]:
    """Write the potential folder whole (see the module docstring); returns the paths by file name."""
    files = potential_files(estimate, geometry=geometry, units=units, by=by)
    write_folder(out_dir, files)
    return {name: Path(out_dir) / name for name in files}
