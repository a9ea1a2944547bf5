"""load → validate → build problem → solve → Plan. The Python API mirrors the CLI.

>>> from territory_planner import load_scenario, plan          # doctest: +SKIP
>>> result = plan(load_scenario("scenarios/demo.yaml"))         # doctest: +SKIP
>>> result.territories[["territory_id", "potential_dev_pct"]]   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from territory_planner.data import check_numeric_column, load_accounts, load_reps
from territory_planner.errors import ScenarioError
from territory_planner.geo import coordinate_columns, distance_matrix
from territory_planner.hierarchy import group_table, hierarchy_constraints
from territory_planner.kpis import plan_kpis, territory_table
from territory_planner.optimize.backends import Progress
from territory_planner.optimize.problem import AssignmentProblem, balance_band, capacity_band
from territory_planner.optimize.solve import solve_problem
from territory_planner.overlays import attach, overlay_scenario, split_inputs
from territory_planner.plan import Plan, Solution
from territory_planner.scenario import Scenario, load_scenario


@dataclass(frozen=True)
class Inputs:
    """Validated input tables of a scenario."""

    accounts: pd.DataFrame
    reps: pd.DataFrame


def load_inputs(scenario: Scenario) -> Inputs:
    """Load and validate every input file of a scenario; raises InputError on bad data."""
    reps = load_reps(scenario.reps_path, geometry=scenario.geometry)
    accounts = load_accounts(scenario.accounts_path, geometry=scenario.geometry, rep_ids=reps["rep_id"])
    for column in {*scenario.balance, *(scenario.hierarchy.balance if scenario.hierarchy else {})}:
        check_numeric_column(accounts, column, scenario.accounts_path)
    if len(reps) == 0:
        raise ScenarioError("the reps file has no rows; one territory is built per rep", file=scenario.reps_path)
    return Inputs(accounts, reps)


def territory_frame(scenario: Scenario, reps: pd.DataFrame) -> pd.DataFrame:
    """One row per territory (one per rep, centred on the rep's home base)."""
    a, b = coordinate_columns(scenario.geometry)
    return pd.DataFrame(
        {
            "territory_id": ["T-" + str(r) for r in reps["rep_id"]],
            "rep_id": reps["rep_id"].astype(str).to_numpy(),
            "rep_name": reps["name"].astype(str).to_numpy(),
            "status": reps["status"].astype(str).to_numpy(),
            f"home_{a}": reps[a].astype(float).to_numpy(),
            f"home_{b}": reps[b].astype(float).to_numpy(),
            "capacity_hours": reps["capacity_hours"].astype(float).to_numpy(),
        }
    )


def distance_weight(scenario: Scenario, accounts: pd.DataFrame) -> tuple[np.ndarray, str]:
    choice = scenario.objective.distance_weight
    unit = "km" if scenario.geometry == "geographic" else "distance units"
    if choice == "none":
        return np.ones(len(accounts)), f"total {unit} from rep home"
    label = {"workload": f"workload-weighted {unit} (hours × {unit})", "potential": f"potential-weighted {unit}"}[choice]
    return accounts[choice].to_numpy(dtype=float), label


def build_problem(scenario: Scenario, inputs: Inputs) -> tuple[AssignmentProblem, np.ndarray, pd.DataFrame]:
    """The solver-neutral problem of a scenario: (problem, distance matrix, territories)."""
    if scenario.territories.centers != "reps":
        raise ScenarioError(
            f"territories.centers: {scenario.territories.centers} is not available yet",
            file=scenario.source,
            column="territories.centers",
            fix="use 'centers: reps' (one territory per rep)",
        )
    accounts, reps = inputs.accounts, inputs.reps
    a, b = coordinate_columns(scenario.geometry)
    territories = territory_frame(scenario, reps)
    k = len(territories)
    distance = distance_matrix(accounts[[a, b]].to_numpy(float), reps[[a, b]].to_numpy(float), scenario.geometry)
    weight, label = distance_weight(scenario, accounts)
    bands = [balance_band(col, accounts[col].to_numpy(dtype=float), k, tol) for col, tol in scenario.balance.items()]
    if scenario.capacity:
        bands.append(capacity_band(accounts["workload"].to_numpy(dtype=float), territories["capacity_hours"].to_numpy()))
    rep_index = {r: j for j, r in enumerate(territories["rep_id"])}
    fixed = None
    if "locked_rep_id" in accounts and accounts["locked_rep_id"].notna().any():
        fixed = np.array([rep_index.get(r, -1) if isinstance(r, str) else -1 for r in accounts["locked_rep_id"]], dtype=int)
    rows = hierarchy_constraints(scenario.hierarchy, accounts, reps, file=scenario.source)
    problem = AssignmentProblem(
        rows=tuple(rows),
        unit_ids=accounts["account_id"].astype(str).to_numpy(),
        territory_ids=territories["territory_id"].to_numpy(),
        cost=distance * weight[:, None],
        bands=tuple(bands),
        fixed=fixed,
        cost_label=label,
    )
    return problem, distance, territories


def assemble_plan(
    scenario: Scenario,
    inputs: Inputs,
    problem: AssignmentProblem,
    distance: np.ndarray,
    territories: pd.DataFrame,
    solution: Solution,
) -> Plan:
    """Turn a solver solution into the Plan tables and KPIs."""
    accounts = inputs.accounts
    a, b = coordinate_columns(scenario.geometry)
    j = solution.assignment
    rows = np.arange(len(accounts))
    assignments = pd.DataFrame(
        {
            "account_id": accounts["account_id"].astype(str).to_numpy(),
            "name": accounts["name"].astype(str).to_numpy(),
            "segment": accounts["segment"].astype(str).to_numpy(),
            a: accounts[a].to_numpy(float),
            b: accounts[b].to_numpy(float),
            "potential": accounts["potential"].to_numpy(float),
            "workload": accounts["workload"].to_numpy(float),
            "territory_id": territories["territory_id"].to_numpy()[j],
            "rep_id": territories["rep_id"].to_numpy()[j],
            "rep_name": territories["rep_name"].to_numpy()[j],
            "distance_km": distance[rows, j],
        }
    )
    current = accounts["current_rep_id"] if "current_rep_id" in accounts else pd.Series([None] * len(accounts))
    assignments["current_rep_id"] = current.to_numpy(dtype=object)
    assignments["moved"] = current.notna().to_numpy() & (current.astype(object).to_numpy() != assignments["rep_id"].to_numpy())
    for col in scenario.balance:
        if col not in assignments:
            assignments[col] = accounts[col].to_numpy(float)
    if "postal_code" in accounts:
        assignments["postal_code"] = accounts["postal_code"].to_numpy(dtype=object)
    balance_columns = list(scenario.balance)
    targets = {band.column: (band.lower + band.upper) / 2 for band in problem.bands if band.kind == "balance"}
    table = territory_table(assignments, territories, balance_columns, targets)
    kpis = plan_kpis(assignments, table, balance_columns)
    if scenario.hierarchy is not None:
        for level in scenario.hierarchy.levels:
            columns = list(scenario.hierarchy.balance) or ["potential"]
            groups = group_table(table, inputs.reps, level, columns)
            for col in columns:
                kpis[f"{level}_{col}_max_dev_pct"] = float(groups[f"{col}_dev_pct"].abs().max())
    return Plan(scenario, assignments, table, inputs.reps, solution, kpis, problem)


def plan(
    scenario: Scenario | str | Path,
    *,
    inputs: Inputs | None = None,
    progress: Progress | None = None,
    verbose: bool = False,
    **overrides,
) -> Plan:
    """Run a scenario end to end and return its :class:`Plan`.

    ``overrides`` replace scenario keys for this run, e.g.
    ``plan("scenarios/demo.yaml", balance={"potential": 0.03}, solver={"time_limit": 30})``.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if overrides:
        scenario = scenario.with_overrides(**overrides)
    inputs = inputs or load_inputs(scenario)
    inputs, overlay_parts = split_inputs(scenario, inputs)
    problem, distance, territories = build_problem(scenario, inputs)
    s = scenario.solver
    solution = solve_problem(
        problem,
        backend=s.backend,
        time_limit=s.time_limit,
        mip_gap=s.mip_gap,
        seed=s.seed,
        threads=s.threads,
        progress=progress,
        verbose=verbose,
    )
    result = assemble_plan(scenario, inputs, problem, distance, territories, solution)
    if not overlay_parts:
        return result
    overlays = {spec.role: plan(overlay_scenario(scenario, spec), inputs=part, progress=progress, verbose=verbose)
                for spec, part in overlay_parts}
    assignments = result.assignments
    for role, overlay in overlays.items():
        assignments = attach(assignments, role, overlay.assignments)
    return replace(result, assignments=assignments, overlays=overlays)
