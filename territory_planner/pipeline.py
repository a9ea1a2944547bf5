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

from territory_planner import constraints
from territory_planner.capacity.planning import territory_quotas, with_open_seats
from territory_planner.data import check_numeric_column, load_accounts, load_reps
from territory_planner.errors import Conflict, Diagnosis, InfeasibleError, ScenarioError
from territory_planner.geo import coordinate_columns, distance_matrix
from territory_planner.hierarchy import group_table, hierarchy_constraints
from territory_planner.kpis import plan_kpis, territory_table
from territory_planner.optimize.backends import Progress
from territory_planner.optimize.problem import AssignmentProblem, capacity_band
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
    constraints.check_constraint_inputs(scenario, accounts, reps)
    return Inputs(accounts, reps)


def territory_frame(scenario: Scenario, reps: pd.DataFrame) -> pd.DataFrame:
    """One row per territory (one per rep, centred on the rep's home base).

    An open seat (status ``open``) is a territory without a person: rep_name "(open)".
    ``capacity_hours`` is the effective capacity (a new hire's × ``ramp``).
    """
    a, b = coordinate_columns(scenario.geometry)
    frame = pd.DataFrame(
        {
            "territory_id": ["T-" + str(r) for r in reps["rep_id"]],
            "rep_id": reps["rep_id"].astype(str).to_numpy(),
            "rep_name": constraints.territory_names(reps),
            "status": reps["status"].astype(str).to_numpy(),
            f"home_{a}": reps[a].astype(float).to_numpy(),
            f"home_{b}": reps[b].astype(float).to_numpy(),
            "capacity_hours": constraints.ramped_capacity(reps, scenario.reps_path),
            "role": reps["role"].astype(str).to_numpy(),
        }
    )
    shares = constraints.target_shares(reps, scenario.reps_path)
    if shares is not None:
        frame["target_share"] = shares
    return frame


def chosen_territories(scenario: Scenario, inputs: Inputs, rep_rows: np.ndarray | None):
    """(rep_rows, reps, territories); rep_rows defaults to the first choice of ``territories.count``."""
    if rep_rows is None:
        rep_rows = next(constraints.territory_rep_rows(scenario, inputs.accounts, inputs.reps))
    reps = inputs.reps.iloc[rep_rows].reset_index(drop=True)
    return rep_rows, reps, territory_frame(scenario, reps)


def scenario_bands(scenario: Scenario, accounts: pd.DataFrame, territories: pd.DataFrame) -> list:
    """Balance bands of the scenario, and the capacity band when capacity is enforced."""
    bands = constraints.balance_bands(scenario, accounts, territories)
    if scenario.capacity_enforced:
        bands.append(capacity_band(accounts["workload"].to_numpy(dtype=float), territories["capacity_hours"].to_numpy()))
    return bands


def distance_weight(scenario: Scenario, accounts: pd.DataFrame) -> tuple[np.ndarray, str]:
    choice = scenario.objective.distance_weight
    unit = "km" if scenario.geometry == "geographic" else "distance units"
    if choice == "none":
        return np.ones(len(accounts)), f"total {unit} from rep home"
    label = {"workload": f"workload-weighted {unit} (hours × {unit})", "potential": f"potential-weighted {unit}"}[choice]
    return accounts[choice].to_numpy(dtype=float), label


def build_problem(
    scenario: Scenario, inputs: Inputs, *, cost_matrix=None, rep_rows: np.ndarray | None = None
) -> tuple[AssignmentProblem, np.ndarray, pd.DataFrame]:
    """The solver-neutral problem of a scenario: (problem, distance matrix, territories).

    ``rep_rows`` picks the reps that get a territory (default: the first choice of
    ``territories.count``, every rep without it). ``cost_matrix`` (accounts × reps, see
    :func:`constraints.custom_cost`) replaces distance × weight in the objective.
    Distances are NaN under ``geometry: none``.
    """
    if scenario.territories.centers == "choose":
        # Capacitated p-median picks the centers; the problem is then over those centers.
        from territory_planner.choose_centers import chosen_centers_problem

        return chosen_centers_problem(scenario, inputs)
    accounts = inputs.accounts
    rep_rows, reps, territories = chosen_territories(scenario, inputs, rep_rows)
    a, b = coordinate_columns(scenario.geometry)
    k = len(territories)
    if scenario.geometry == "none":
        distance = np.full((len(accounts), k), np.nan)
        cost, label = np.zeros((len(accounts), k)), "no distance cost (geometry: none)"
    else:
        distance = distance_matrix(accounts[[a, b]].to_numpy(float), reps[[a, b]].to_numpy(float), scenario.geometry)
        weight, label = distance_weight(scenario, accounts)
        cost = distance * weight[:, None]
    if cost_matrix is not None:
        cost = constraints.custom_cost(cost_matrix, accounts, inputs.reps)[:, rep_rows]
        label = "custom cost (cost_matrix)"
    owner = constraints.current_owner(accounts, territories)
    penalty = constraints.continuity_penalty(scenario, owner, k)
    if penalty is not None:
        cost = cost + penalty
        label += f" + {scenario.continuity.penalty:g} per account changing owner"
    bands = scenario_bands(scenario, accounts, territories)
    fixed = constraints.locked_assignments(accounts, territories)
    exclusions = {
        "eligibility": constraints.eligibility_mask(scenario, accounts, territories),
        "max_distance_km": constraints.max_distance_mask(scenario, distance),
    }
    constraints.check_locks(accounts, territories, fixed, exclusions, distance)
    constraints.check_coverage(accounts, exclusions, distance)
    masks = [m for m in exclusions.values() if m is not None]
    allowed = np.logical_and.reduce(masks) if masks else None
    rows = hierarchy_constraints(scenario.hierarchy, accounts, reps, file=scenario.source)
    continuity = constraints.continuity_row(scenario, accounts, owner, k)
    if continuity is not None:
        rows = [*rows, continuity]
    problem = AssignmentProblem(
        rows=tuple(rows),
        unit_ids=accounts["account_id"].astype(str).to_numpy(),
        territory_ids=territories["territory_id"].to_numpy(),
        cost=cost,
        bands=tuple(bands),
        fixed=fixed,
        allowed=allowed,
        cost_label=label,
    )
    return problem, distance, territories


def large_path_blockers(scenario: Scenario, cost_matrix=None) -> list[str]:
    """Scenario features the large-instance path does not take (they need the exact model)."""
    out = []
    if scenario.geometry == "none":
        out.append("geometry: none")
    if scenario.territories.centers == "choose":
        out.append("territories.centers: choose")
    if scenario.units_path is not None or scenario.contiguity or scenario.barriers:
        out.append("data.units / contiguity / barriers")
    if scenario.hierarchy is not None:
        out.append("hierarchy")
    if scenario.continuity.active and scenario.continuity.min_kept is not None:
        out.append("continuity.min_kept")
    if cost_matrix is not None:
        out.append("cost_matrix")
    return out


def use_large_path(scenario: Scenario, inputs: Inputs, cost_matrix=None) -> bool:
    """``solver.method``: large, exact, or auto (large above LARGE_PAIRS account × rep pairs)."""
    from territory_planner.optimize.large import LARGE_PAIRS

    method = scenario.solver.method
    blockers = large_path_blockers(scenario, cost_matrix)
    if method == "large" and blockers:
        raise ScenarioError(
            f"solver.method: large does not support {', '.join(blockers)}; use solver.method: exact (or auto)",
            file=scenario.source,
        )
    if method == "exact" or blockers:
        return False
    return method == "large" or len(inputs.accounts) * len(inputs.reps) > LARGE_PAIRS


def build_large_problem(scenario: Scenario, inputs: Inputs, *, rep_rows: np.ndarray | None = None):
    """The scenario as a :class:`~territory_planner.optimize.large.LargeProblem`: no n × k matrix.

    Returns (problem, distances computed on demand, territories).
    """
    from territory_planner.geo import PairDistances
    from territory_planner.optimize.large import LargeProblem

    accounts = inputs.accounts
    rep_rows, reps, territories = chosen_territories(scenario, inputs, rep_rows)
    a, b = coordinate_columns(scenario.geometry)
    k = len(territories)
    distance = PairDistances(accounts[[a, b]].to_numpy(float), reps[[a, b]].to_numpy(float), scenario.geometry)
    weight, label = distance_weight(scenario, accounts)
    owner = constraints.current_owner(accounts, territories)
    penalty = scenario.continuity.penalty or 0.0
    if penalty:
        label += f" + {penalty:g} per account changing owner"

    def pair_cost(rows, cols):
        cost = weight[rows] * distance[rows, cols]
        if penalty:
            o = owner[rows]
            cost = cost + penalty * ((o >= 0) & (o != cols))
        return cost

    segment_ok = None
    if scenario.eligibility:
        segments = accounts["segment"].astype(str).to_numpy()
        names, seg_code = np.unique(segments, return_inverse=True)
        roles = territories["role"].astype(str).to_numpy()
        segment_ok = np.ones((len(names), k), dtype=bool)
        for j, role in enumerate(roles):
            if role in scenario.eligibility:
                segment_ok[:, j] = np.isin(names, [str(x) for x in scenario.eligibility[role]])
    limit = scenario.max_distance_km

    def pair_allowed(rows, cols):
        ok = np.ones(np.broadcast_shapes(np.shape(rows), np.shape(cols)), dtype=bool)
        if segment_ok is not None:
            ok &= segment_ok[seg_code[rows], cols]
        if limit is not None:
            ok &= distance[rows, cols] <= limit
        return ok

    bands = scenario_bands(scenario, accounts, territories)
    fixed = constraints.locked_assignments(accounts, territories)
    allowed_fn = pair_allowed if (segment_ok is not None or limit is not None) else None
    if fixed is not None and allowed_fn is not None:
        locked = np.flatnonzero(fixed >= 0)
        clash = locked[~allowed_fn(locked, fixed[locked])]
        if len(clash):
            i = int(clash[0])
            raise InfeasibleError(Diagnosis(
                f"account {accounts['account_id'].iloc[i]} is locked to {territories['rep_id'].iloc[fixed[i]]}, "
                "which eligibility or max_distance_km forbids",
                [Conflict("locked_rep_id", f"{len(clash)} locked account(s) on forbidden pairs",
                          "unlock them, or relax eligibility / max_distance_km")]))
    problem = LargeProblem(
        unit_ids=accounts["account_id"].astype(str).to_numpy(),
        territory_ids=territories["territory_id"].to_numpy(),
        pair_cost=pair_cost,
        bands=tuple(bands),
        fixed=fixed,
        pair_allowed=allowed_fn,
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
    if "unit_id" in accounts and accounts["unit_id"].notna().any():
        assignments["unit_id"] = accounts["unit_id"].to_numpy(dtype=object)
    balance_columns = list(scenario.balance)
    targets = constraints.territory_targets(accounts, territories, ["potential", "workload", *balance_columns])
    targets |= {band.column: (band.lower + band.upper) / 2 for band in problem.bands if band.kind == "balance"}
    table = territory_table(assignments, territories, balance_columns, targets)
    kpis = plan_kpis(assignments, table, balance_columns)
    if scenario.continuity.active:
        weights = constraints.continuity_weights(scenario, accounts)
        share = constraints.kept_share(accounts, assignments["rep_id"].to_numpy(), territories["rep_id"], weights)
        kpis[f"kept_share_by_{scenario.continuity.by}"] = share
    if scenario.hierarchy is not None:
        for level in scenario.hierarchy.levels:
            columns = list(scenario.hierarchy.balance) or ["potential"]
            groups = group_table(table, inputs.reps, level, columns)
            for col in columns:
                kpis[f"{level}_{col}_max_dev_pct"] = float(groups[f"{col}_dev_pct"].abs().max())
    quotas = territory_quotas(scenario, accounts, inputs.reps, table, j)
    if quotas is not None:  # a revenue target in the capacity section: quotas on the new territories
        rows, quota_kpis = quotas
        table = table.assign(quota=rows["quota"].to_numpy(), quota_capped=rows["capped"].to_numpy(),
                             expected_attainment=rows["expected_attainment"].to_numpy())
        kpis.update({f"quota_{k}": v for k, v in quota_kpis.items() if isinstance(v, int | float) and k != "target"})
    return Plan(scenario, assignments, table, inputs.reps, solution, kpis, problem)


def _auto_exhausted(diagnosis: Diagnosis, sizes: list[int], team: int) -> InfeasibleError:
    """``count: auto`` tried every team size up to the whole team and none was feasible:
    say so, and give the whole team's diagnosis (the loosest setting count can reach)."""
    tried = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]} to {sizes[-1]}"
    return InfeasibleError(Diagnosis(
        f"territories.count: auto tried {tried} territories and none gives a feasible plan; even with all "
        f"{team} reps: {diagnosis.summary}",
        [*diagnosis.conflicts,
         Conflict("territories.count: auto", f"all {team} reps (open seats included) are already in use",
                  "add reps or open seats (status: open) to the reps file, or relax the constraints above")],
    ))


def plan(
    scenario: Scenario | str | Path,
    *,
    inputs: Inputs | None = None,
    progress: Progress | None = None,
    verbose: bool = False,
    cost_matrix=None,
    **overrides,
) -> Plan:
    """Run a scenario end to end and return its :class:`Plan`.

    ``overrides`` replace scenario keys for this run, e.g.
    ``plan("scenarios/demo.yaml", balance={"potential": 0.03}, solver={"time_limit": 30})``.
    ``cost_matrix``: an (n_accounts, n_reps) array, or a DataFrame indexed by account_id
    with rep_id columns (e.g. travel times from a routing engine), that replaces
    distance × weight in the objective; distance_km is still reported from coordinates.
    With ``territories: {count: auto}`` the fewest reps that carry the workload are
    tried first, then one more at a time until a plan is feasible.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if overrides:
        scenario = scenario.with_overrides(**overrides)
    inputs = inputs or load_inputs(scenario)
    inputs, overlay_parts = split_inputs(scenario, inputs)
    scenario, inputs = with_open_seats(scenario, inputs)  # count: auto + capacity section → open seats
    s = scenario.solver
    choices = list(constraints.territory_rep_rows(scenario, inputs.accounts, inputs.reps))
    for attempt, rep_rows in enumerate(choices):
        try:
            if use_large_path(scenario, inputs, cost_matrix):
                from territory_planner.optimize.large import solve_large

                problem, distance, territories = build_large_problem(scenario, inputs, rep_rows=rep_rows)
                solution = solve_large(problem, time_limit=s.time_limit, mip_gap=s.mip_gap, seed=s.seed,
                                       threads=s.threads, progress=progress, verbose=verbose)
                break
            problem, distance, territories = build_problem(scenario, inputs, cost_matrix=cost_matrix, rep_rows=rep_rows)
            if scenario.units_path is not None or scenario.contiguity or scenario.barriers:
                # Units (not accounts) are assigned; accounts get their unit's territory.
                from territory_planner.units import solve_units

                inputs, solution = solve_units(scenario, inputs, problem, territories, progress=progress, verbose=verbose)
                break
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
            break
        except InfeasibleError as error:
            if attempt < len(choices) - 1:
                continue
            if scenario.territories.count != "auto" or scenario.territories.centers != "reps":
                raise
            # count: auto's last attempt is always the whole team.
            raise _auto_exhausted(error.diagnosis, [len(c) for c in choices], len(inputs.reps)) from None
    result = assemble_plan(scenario, inputs, problem, distance, territories, solution)
    if not overlay_parts:
        return result
    overlays = {spec.role: plan(overlay_scenario(scenario, spec), inputs=part, progress=progress, verbose=verbose)
                for spec, part in overlay_parts}
    assignments = result.assignments
    for role, overlay in overlays.items():
        assignments = attach(assignments, role, overlay.assignments)
    return replace(result, assignments=assignments, overlays=overlays)
