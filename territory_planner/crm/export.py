"""A Plan as a CRM's load files, or as plain tables: the dispatcher, LOAD_ORDER.md and ``--resolve``.

``territory-planner export RUN --to salesforce|hubspot|dynamics|csv|xlsx|geojson --out DIR``
(issue 27). This module dispatches to one module per target (``salesforce_export``,
``hubspot_export``, ``dynamics_export``, ``tables_export``; what they share is in
``exporting``), writes LOAD_ORDER.md and fills Salesforce Ids in with ``--resolve``.
Each target renders its files in memory from the Plan alone (its
``assignments``, ``territories``, ``reps`` and ``scenario``; never the solver), checks them
whole, and only then writes the folder at once (``outputs.files.write_folder``): an
account without a CRM id, a rep without a CRM user or an owner email stops the export with
the list of them, and nothing is written.

Every folder holds, beside the data files:

* ``LOAD_ORDER.md``: which file to load in which order with which tool (Data Loader
  insert/update/delete, HubSpot import, the Dynamics 365 import wizard), which ids an
  earlier step fills in, and what was left out (accounts of open seats, which have no
  CRM user; old associations whose Id is unknown; what ``--changed-only`` skipped);
* ``export.json``: the same as data (target, steps, notes, and the DeveloperName
  references still waiting for Salesforce Ids), read by ``--resolve``.

Safety shared by all targets: cells a spreadsheet would run as a formula are escaped
(``outputs.files.csv_text``; FIELD.md §5), files are UTF-8 — with a BOM where Excel opens
them (HubSpot, Dynamics, the plan's tables), without one for Salesforce Data Loader (whose
UTF-8 reader takes a BOM for part of the first header) — and rows come in a fixed order
(sorted by their key), so that one plan always gives the same CSV bytes.

**Today's alignment** is the assignments' ``current_rep_id`` (and, for a Salesforce
territory import, ``territory_crm_id``); an account is *changed* when its new rep differs
from today's owner (or it has none).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from territory_planner.crm.exporting import (
    CRM_LABELS,
    Export,
    ExportOptions,
    csv_file,
    escaped_cells,
    read_csv_file,
)
from territory_planner.errors import InputError
from territory_planner.outputs.files import check_output_folder, json_text, write_folder
from territory_planner.plan import Plan

TARGETS = ("salesforce", "hubspot", "dynamics", "csv", "xlsx", "geojson")
#: The targets that load into a CRM: they need the CRM's own ids for accounts and users.
CRM_TARGETS = ("salesforce", "hubspot", "dynamics")
TITLES = {**CRM_LABELS, "csv": "CSV tables", "xlsx": "Excel workbook", "geojson": "GeoJSON"}
LOAD_ORDER = "LOAD_ORDER.md"
MANIFEST = "export.json"


# --------------------------------------------------------------------------- LOAD_ORDER.md


def load_order_text(manifest: dict) -> str:
    """LOAD_ORDER.md from an export's manifest: the steps in order, the ids still to fill
    in, what was left out."""
    title = TITLES.get(manifest["target"], manifest["target"])
    lines = [f"# Load order: {title} export", ""]
    lines += [f"{h}" for h in manifest.get("header", [])] + [""]
    lines += ["## Steps, in this order", ""]
    pending = manifest.get("pending", {})
    for number, step in enumerate(manifest["steps"], start=1):
        rows = f"{step['rows']:,} row{'' if step['rows'] == 1 else 's'}"
        lines.append(f"{number}. `{step['file']}` ({rows}): {step['tool']} — **{step['action']}**.")
        if step.get("detail"):
            lines.append(f"   {step['detail']}")
        waiting = pending.get(step["file"], {})
        for column, ref in waiting.items():
            lines.append(f"   - {column} holds {ref['object']} DeveloperNames until you run "
                         f"`territory-planner export --resolve success_{ref['object']}.csv <this folder>` "
                         f"with Data Loader's success file of the {ref['object']} insert ({len(ref['names'])} to fill).")
        if step.get("keep"):
            lines.append(f"   {step['keep']}")
    lines.append("")
    if pending:
        lines += ["## Ids still to fill in", "",
                  "Salesforce assigns Ids on insert; these files name the records by DeveloperName until "
                  "`--resolve` rewrites them with the Ids of Data Loader's success files (the folder is rewritten "
                  "whole, or written to `--out`).", ""]
        for file, columns in sorted(pending.items()):
            for column, ref in columns.items():
                lines.append(f"- `{file}` {column}: {len(ref['names'])} {ref['object']} DeveloperName(s).")
        lines.append("")
    else:
        lines += ["Every id is filled in: the files load as they are.", ""] if manifest["target"] == "salesforce" \
            else []
    notes = manifest.get("notes", [])
    if notes:
        lines += ["## Left out, and what needs attention", ""] + [f"- {n}" for n in notes] + [""]
    lines += ["Excel safety: a cell that starts with = + - or @ (or a tab or CR) — a name such as "
              "`=HYPERLINK(…)` — is written with a leading apostrophe (`'=HYPERLINK(…)`), so that no spreadsheet runs "
              "it as a formula; the CRM keeps the apostrophe in the value it loads.", ""]
    return "\n".join(lines)


def finish(export: Export, plan: Plan, options: ExportOptions) -> dict[str, str | bytes]:
    """The folder's files: the data files, LOAD_ORDER.md and export.json."""
    data = export.manifest(plan, options)
    return {**export.files, LOAD_ORDER: load_order_text(data), MANIFEST: json_text(data)}


# --------------------------------------------------------------------------- dispatch


def render_export(plan: Plan, target: str, options: ExportOptions | None = None) -> tuple[Export, dict]:
    """(the Export, file name → content) for ``target``, checked whole; nothing written."""
    options = options or ExportOptions()
    if target not in TARGETS:
        raise InputError(f"unknown export target '{target}'", column="--to", fix=f"use one of {', '.join(TARGETS)}")
    if target == "salesforce":
        from territory_planner.crm.salesforce_export import salesforce_export as render
    elif target == "hubspot":
        from territory_planner.crm.hubspot_export import hubspot_export as render
    elif target == "dynamics":
        from territory_planner.crm.dynamics_export import dynamics_export as render
    else:
        from territory_planner.crm.tables_export import tables_export

        def render(p, o):
            return tables_export(p, o, target)
    export = render(plan, options)
    escaped = escaped_cells(export.files)
    if escaped:
        export = replace(export, notes=[*export.notes, escaped])
    if plan.overlays:
        export = replace(export, notes=[*export.notes, "Overlay teams (" + ", ".join(plan.overlays) + ") are not in "
                                        "this export: it holds the main alignment only."])
    return export, finish(export, plan, options)


def write_export(plan: Plan, target: str, out: str | Path, options: ExportOptions | None = None) -> Export:
    """Render ``target``'s files and write them as the whole of folder ``out`` (atomic)."""
    check_output_folder(out)
    export, files = render_export(plan, target, options)
    write_folder(out, files)
    return export


def resolve_export(folder: str | Path, success_files: list[str | Path], out: str | Path | None = None) -> dict:
    """Fill the Salesforce Ids of Data Loader's success files into an export folder.

    The folder (written by ``write_export(…, "salesforce", …)``) is rewritten whole, or
    written to ``out``; returns its new manifest. See ``salesforce_export.resolve_files``.
    """
    from territory_planner.crm.salesforce_export import resolve_files

    folder = Path(folder)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise InputError("not an export folder (no export.json)", file=folder,
                         fix="give the folder 'territory-planner export … --to salesforce --out DIR' wrote")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("target") != "salesforce":
        raise InputError(f"--resolve fills Salesforce Ids, but this folder is a {manifest.get('target')} export",
                         file=folder, fix="resolve a Salesforce export folder")
    target = Path(out) if out is not None else folder
    check_output_folder(target)
    names = [s["file"] for s in manifest["steps"]]
    frames = {n: read_csv_file(folder / n) for n in names if (folder / n).is_file()}
    frames, pending, resolved = resolve_files(frames, manifest.get("pending", {}), [Path(p) for p in success_files])
    manifest = {**manifest, "pending": pending,
                "resolved": sorted(set(manifest.get("resolved", [])) | set(resolved))}
    files: dict[str, str | bytes] = {n: csv_file(f, bom=False) for n, f in frames.items()}
    keep = {p.name: p.read_bytes() for p in folder.iterdir()
            if p.is_file() and p.name not in files and p.name not in (LOAD_ORDER, MANIFEST) and not p.name.startswith(".")}
    files |= keep
    files |= {LOAD_ORDER: load_order_text(manifest), MANIFEST: json_text(manifest)}
    write_folder(target, files)
    return manifest
