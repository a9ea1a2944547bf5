"""A Plan as plain tables for people and GIS tools: CSV, an Excel workbook, GeoJSON.

* ``csv``: ``assignments.csv`` and ``territories.csv`` (the plan's tables, the documented
  columns first), UTF-8 with a BOM so that Excel reads accents right, formula-like cells
  escaped (``outputs.files.csv_text``).
* ``xlsx``: ``plan.xlsx`` with the sheets ``assignments`` and ``territories`` (openpyxl).
  Every text cell is written as text — never as a formula, whatever it starts with — and
  escaped like the CSV cells, so a name ``=HYPERLINK(…)`` is the inert text
  ``'=HYPERLINK(…)`` in a string cell; characters XML cannot hold are dropped.
* ``geojson``: ``territories.geojson`` (one polygon per territory, from
  ``outputs.map_outlines.territory_outlines``, with the territory's KPIs as properties)
  and ``accounts.geojson`` (one point per account with its assignment), RFC 7946
  (lon/lat; a planar plan's x/y are written as they are and LOAD_ORDER.md says so).

Rows are sorted by account_id and territory_id. ``--changed-only`` keeps the accounts
whose rep changes and the territories they leave or join.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd

from territory_planner.crm.exporting import (
    Export,
    ExportOptions,
    Step,
    changed_mask,
    changed_note,
    csv_file,
    id_column,
)
from territory_planner.errors import InputError
from territory_planner.outputs.files import excel_safe, json_text
from territory_planner.plan import ASSIGNMENT_COLUMNS, TERRITORY_COLUMNS, Plan


def ordered(df: pd.DataFrame, preferred: list[str], key: str) -> pd.DataFrame:
    """The documented columns first, the rest after, rows sorted by ``key`` (stable)."""
    first = [c for c in preferred if c in df.columns]
    frame = df[first + [c for c in df.columns if c not in first and not str(c).startswith("_")]]
    return frame.sort_values(key, key=lambda s: s.astype(str), kind="stable").reset_index(drop=True)


def plan_tables(plan: Plan, options: ExportOptions) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(assignments, territories, notes) as exported: with ``changed_only`` the accounts
    whose rep changes and the territories they leave or join."""
    a, t = plan.assignments, plan.territories
    notes = []
    if options.changed_only:
        changed = changed_mask(a)
        rep_of = dict(zip(id_column(t["rep_id"]), t["territory_id"].astype(str), strict=False))
        touched = set(a.loc[changed, "territory_id"].astype(str))
        if "current_rep_id" in a:
            touched |= {rep_of[r] for r in id_column(a.loc[changed, "current_rep_id"]) if r in rep_of}
        notes.append(changed_note(int(changed.sum()), len(a), "the tables"))
        kept = t["territory_id"].astype(str).isin(touched)
        if (~kept).any():
            notes.append(f"--changed-only: {int((~kept).sum()):,} of {len(t):,} territories neither lose nor gain an "
                         "account and are left out.")
        a, t = a[changed.to_numpy()], t[kept.to_numpy()]
    return ordered(a, ASSIGNMENT_COLUMNS, "account_id"), ordered(t, TERRITORY_COLUMNS, "territory_id"), notes


def _cell(value):
    """A value as an inert worksheet cell: numbers stay numbers, NaN is empty, text is
    escaped like a CSV cell and stripped of characters XML cannot hold."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or (isinstance(value, float | np.floating) and not math.isfinite(float(value))):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    if not isinstance(value, str) and pd.isna(value):
        return None
    return excel_safe(ILLEGAL_CHARACTERS_RE.sub("", str(value)))


def workbook_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An .xlsx of ``sheets`` (name → table) whose text cells are all string cells."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for title, frame in sheets.items():
        sheet = book.create_sheet(title)
        sheet.append([_cell(str(c)) for c in frame.columns])
        for cell in sheet[1]:
            cell.data_type = "s"
            cell.font = Font(bold=True)
        for row in frame.itertuples(index=False, name=None):
            sheet.append([_cell(v) for v in row])
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text, never a formula (openpyxl reads "=…" as one)
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _properties(row: dict) -> dict:
    out = {}
    for k, v in row.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            v = None
        elif v is not None and not isinstance(v, str | int | float | bool) and pd.isna(v):
            v = None
        out[str(k)] = v
    return out


def geojson_files(plan: Plan, accounts: pd.DataFrame, territories: pd.DataFrame) -> dict[str, str]:
    """territories.geojson (polygons with KPIs) and accounts.geojson (points)."""
    from shapely.geometry import mapping

    from territory_planner.outputs.map_outlines import territory_outlines

    if plan.geometry == "none":
        raise InputError("this plan has no coordinates (geometry: none), so it has no map to export",
                         column="--to", fix="export it --to csv or --to xlsx")
    x, y = ("x", "y") if plan.geometry == "planar" else ("lon", "lat")
    outlines = territory_outlines(plan)
    shape_of = dict(zip(outlines["territory_id"].astype(str), outlines.geometry, strict=True))
    features = []
    for row in territories.to_dict("records"):
        shape = shape_of.get(str(row["territory_id"]))
        features.append({"type": "Feature", "properties": _properties(row),
                         "geometry": mapping(shape) if shape is not None and not shape.is_empty else None})
    points = [{"type": "Feature", "properties": _properties(row),
               "geometry": {"type": "Point", "coordinates": [float(row[x]), float(row[y])]}}
              for row in accounts.to_dict("records")]
    return {"territories.geojson": json_text({"type": "FeatureCollection", "features": features}),
            "accounts.geojson": json_text({"type": "FeatureCollection", "features": points})}


def tables_export(plan: Plan, options: ExportOptions, target: str) -> Export:
    """Render the ``csv``, ``xlsx`` or ``geojson`` files of ``plan`` (module docstring)."""
    accounts, territories, notes = plan_tables(plan, options)
    header = [f"Plan: {plan.scenario.name} ({options.label or plan.scenario.name}), {len(plan.assignments):,} accounts, "
              f"{len(plan.territories):,} territories; these files are for people and GIS tools, not a CRM load."]
    if target == "csv":
        files = {"assignments.csv": csv_file(accounts, bom=True), "territories.csv": csv_file(territories, bom=True)}
        tool = "Excel or any spreadsheet (UTF-8 with a BOM)"
        steps = [Step("assignments.csv", tool, "open", len(accounts), "One row per account: its territory and rep, "
                      "today's rep (current_rep_id) and whether it moves."),
                 Step("territories.csv", tool, "open", len(territories),
                      "One row per territory: its rep, status (open = a seat without a person) and KPIs.")]
    elif target == "xlsx":
        files = {"plan.xlsx": workbook_bytes({"assignments": accounts, "territories": territories})}
        steps = [Step("plan.xlsx", "Excel, LibreOffice or Google Sheets", "open", len(accounts) + len(territories),
                      "Two sheets, assignments and territories; text cells are text, never formulas.")]
    elif target == "geojson":
        files = geojson_files(plan, accounts, territories)
        tool = "QGIS, geojson.io, or any GIS tool"
        steps = [Step("territories.geojson", tool, "open", len(territories),
                      "One polygon per territory (its accounts' area), its KPIs as properties."),
                 Step("accounts.geojson", tool, "open", len(accounts), "One point per account with its assignment.")]
        if plan.geometry == "planar":
            notes.append("The plan is planar: coordinates are its x/y, not longitude/latitude (GeoJSON tools assume "
                         "WGS 84).")
    else:
        raise ValueError(target)
    return Export(target, files, steps, notes, {}, header)
