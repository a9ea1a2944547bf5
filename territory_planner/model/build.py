"""Scenario + inputs → the solver-neutral problem: one territory per chosen rep.

:func:`build_problem` assembles the :class:`~territory_planner.optimize.problem.AssignmentProblem`
from the constraint builders of :mod:`territory_planner.model.constraints` and
:mod:`~territory_planner.model.hierarchy`; :func:`build_large_problem` the
:class:`~territory_planner.optimize.large_problem.LargeProblem` of the large-instance path (no
accounts × reps matrix); :func:`use_large_path` decides between them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from territory_planner.data.geo import coordinate_columns, distance_matrix
from territory_planner.data.inputs import Inputs
from territory_planner.data.reps import ramped_capacity, target_shares
from territory_planner.errors import Conflict, Diagnosis, InfeasibleError, ScenarioError
from territory_planner.model import constraints
from territory_planner.model.constraints import distance_weight
from territory_planner.model.hierarchy import hierarchy_constraints
from territory_planner.optimize.problem import AssignmentProblem, capacity_band
from territory_planner.scenario import Scenario


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
            "capacity_hours": ramped_capacity(reps, scenario.reps_path),
            "role": reps["role"].astype(str).to_numpy(),
        }
    )
    shares = target_shares(reps, scenario.reps_path)
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
        raise ScenarioError("build_problem takes territories centred on reps; centers: choose is planned by plan()",
                            file=scenario.source, column="territories.centers")
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
    """The scenario as a :class:`~territory_planner.optimize.large_problem.LargeProblem`: no n × k matrix.

    Returns (problem, distances computed on demand, territories).
    """
    from territory_planner.data.geo import PairDistances
    from territory_planner.optimize.large_problem import LargeProblem

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
