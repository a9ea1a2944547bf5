"""A plan folder read back into a :class:`~territory_planner.plan.Plan`, and what identifies a run.

A plan folder (``territory-planner plan --out DIR``, or a run of the store) holds the
plan's tables, ``summary.json`` (status, objective, bound, gap, seconds, stages, KPIs) and
``scenario.yaml`` (the scenario as planned, paths absolute): enough to compare, re-plan
and export it without solving again. A Plan read back has no solver ``problem``; its
``solution.assignment`` indexes its ``territories`` rows.

A run's **key** is the hash of what determines its plan: the scenario as resolved (every
default filled in, ``extends`` merged), the content of every input file it reads, the
package version and, for a re-plan, the run it starts from (``solver.threads`` aside:
how many cores a run used is not what it plans). Two runs with one key plan
the same thing, so the store returns the first instead of solving again.
"""

from __future__ import annotations

import hashlib
import json
import math
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from territory_planner.errors import ScenarioError
from territory_planner.optimize.solution import Solution, Stage
from territory_planner.outputs.files import FORMULA_PREFIXES
from territory_planner.plan import Plan
from territory_planner.scenario import Scenario, parse_scenario

#: Columns read as text whatever they look like (ids such as 00123 or 1e5 stay as written).
TEXT_COLUMNS = ("account_id", "name", "segment", "territory_id", "rep_id", "rep_name", "current_rep_id",
                "locked_rep_id", "postal_code", "unit_id", "status", "role", "city", "state", "center_account_id",
                "crm_id", "email", "region", "district")


def package_version() -> str:
    try:
        return version("territory_planner")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_hashes(scenario: Scenario) -> dict[str, dict[str, str]]:
    """Every input file the scenario reads: key → {path, sha256}."""
    out = {}
    for key, path in scenario.input_paths().items():
        if not Path(path).is_file():
            raise ScenarioError("input file not found", file=path, column=key,
                                fix="check the path in the scenario; it is relative to the scenario file")
        out[key] = {"path": str(Path(path).resolve()), "sha256": file_sha256(Path(path))}
    return out


def run_key(scenario: Scenario, inputs: dict, *, kind: str = "plan", extra: dict | None = None) -> str:
    """The hash of everything that determines a run's plan (see the module docstring)."""
    raw = scenario.resolved(absolute=True)
    # How many threads the solver may use is where it runs, not what it plans (a sweep
    # sets it per worker): the same scenario on 1 or 2 workers is the same run.
    raw.get("solver", {}).pop("threads", None)
    payload = {"kind": kind, "scenario": raw, "inputs": {k: v["sha256"] for k, v in inputs.items()},
               "version": package_version(), "extra": extra or {}}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _unescape(value):
    """Undo the Excel-safe escape of ``outputs.files.excel_safe`` ("'=x" back to "=x")."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def read_plan_table(path: Path) -> pd.DataFrame:
    """A CSV the product wrote, ids as text, Excel escapes undone, blanks as None/NaN."""
    header = pd.read_csv(path, nrows=0).columns
    frame = pd.read_csv(path, dtype={c: str for c in header if c in TEXT_COLUMNS}, keep_default_na=True)
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = pd.Series([None if pd.isna(v) else _unescape(v) for v in frame[column]], dtype=object,
                                      index=frame.index)
    frame.columns = [_unescape(c) for c in frame.columns]
    return frame


def _float(value) -> float:
    return float(value) if value is not None else float("nan")


def read_plan(folder: str | Path) -> Plan:
    """The Plan a plan folder holds (``territory-planner plan --out``, or a stored run).

    Errors name the folder and what is missing: a folder written before plan folders
    kept their scenario (``scenario.yaml``) cannot be read back and must be planned again.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ScenarioError("plan folder not found", file=folder,
                            fix="give a folder written by 'territory-planner plan --out', a run id, or a scenario file")
    missing = [n for n in ("assignments.csv", "territories.csv", "summary.json", "scenario.yaml")
               if not (folder / n).is_file()]
    if missing:
        raise ScenarioError(f"not a plan folder: {', '.join(missing)} missing", file=folder,
                            fix="plan the scenario again with 'territory-planner plan SCENARIO --out DIR' "
                                "(plan folders keep their scenario.yaml since issue 26)")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    raw = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    scenario = parse_scenario(raw, base_dir=folder, source=folder / "scenario.yaml")
    assignments = read_plan_table(folder / "assignments.csv")
    territories = read_plan_table(folder / "territories.csv")
    reps = read_plan_table(folder / "reps.csv") if (folder / "reps.csv").is_file() else pd.DataFrame({"rep_id": []})
    if "moved" in assignments:
        assignments["moved"] = assignments["moved"].astype(str).str.lower().eq("true")
    position = pd.Index(territories["territory_id"].astype(str))
    assignment = position.get_indexer(assignments["territory_id"].astype(str))
    if (assignment < 0).any():
        bad = assignments.loc[assignment < 0, "account_id"].iloc[0]
        raise ScenarioError(f"assignments.csv gives account '{bad}' a territory that territories.csv does not list",
                            file=folder / "assignments.csv", fix="the folder was edited by hand; plan it again")
    bound = summary.get("bound")
    stages = tuple(Stage(st["name"], float(st.get("seconds") or 0.0), _float(st.get("objective")),
                         float(st["bound"]) if st.get("bound") is not None else -math.inf, st.get("status", "done"))
                   for st in summary.get("stages", []))
    solution = Solution(
        assignment=np.asarray(assignment, dtype=int), status=summary["status"],
        objective=_float(summary.get("objective")), bound=float(bound) if bound is not None else -math.inf,
        backend=summary.get("backend", ""), seconds=float(summary.get("seconds") or 0.0),
        build_seconds=float(summary.get("build_seconds") or 0.0), stages=stages, bound_from=summary.get("bound_from"),
    )
    return Plan(scenario, assignments, territories, reps, solution, dict(summary.get("kpis", {})),
                objective_label=summary.get("objective_label"), notes=tuple(summary.get("changes", ())))
