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
    """potential.csv: account_id, name, segment, the revenue read, the estimate's columns, workload, the features.

    Amounts in cents, shares to 4 decimals (sums of floats would print 28803.410000000003).
    """
    acc = estimate.accounts
    columns = ["account_id", "name", "segment", *estimate.revenue_columns, "revenue_basis", *ESTIMATE_COLUMNS,
               "workload", *estimate.features]
    table = acc[list(dict.fromkeys(c for c in columns if c in acc))].copy()
    for column in ("potential", "lookalike_potential", "whitespace", "revenue_basis"):
        if column in table:
            table[column] = table[column].astype(float).round(2)
    table["penetration"] = table["penetration"].astype(float).round(4)
    return table


def tier_rows(estimate: Estimate) -> pd.DataFrame:
    """tiers.csv: the tier table, amounts in cents, shares to 4 decimals."""
    table = estimate.tiers
    for column in table.columns:
        if column in ("potential_share", "penetration"):
            table[column] = table[column].round(4)
        elif column not in ("tier", "accounts"):
            table[column] = table[column].round(2)
    return table


def potential_files(estimate: Estimate, *, geometry: str, units=None, by: str = "county") -> dict[str, str | bytes]:
    """Every file of the potential folder, by name."""
    files: dict[str, str | bytes] = {
        "potential.csv": csv_text(potential_table(estimate)),
        "tiers.csv": csv_text(tier_rows(estimate)),
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
