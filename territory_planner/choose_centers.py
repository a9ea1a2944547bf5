"""``territories: {centers: choose, count: P, capacity: Q}``: pick P centers, then plan.

The centers are chosen by the capacitated p-median optimizer
(:func:`territory_planner.optimize.centers.solve_centers`) over the accounts (every
account a candidate) or over the sites of ``territories.candidates`` (a table with
``site_id`` and the scenario's coordinate columns). The result is an ordinary
:class:`AssignmentProblem` over the P chosen centers — territories ``T01``, ``T02``, …,
home = the center's coordinates, ``capacity_hours`` = Q, with the capacity band and any
balance bands of the scenario — so the rest of the pipeline (solve, Plan, KPIs, maps,
exports) is unchanged. Without balance bands, solving it gives back exactly the p-median
assignment; with them, accounts are re-assigned to the chosen centers under every band
(location first, then allocation), and the plan's bound is the bound of that allocation.
The p-median's own objective and bound are kept in ``problem.meta["centers"]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from territory_planner.errors import ScenarioError
from territory_planner.geo import coordinate_columns, distance_matrix
from territory_planner.optimize.problem import AssignmentProblem, capacity_band


def load_candidates(scenario) -> pd.DataFrame:
    """The candidate sites file: site_id plus the scenario's coordinate columns."""
    from territory_planner.data.tables import read_table

    path = scenario.path(scenario.territories.candidates)
    frame = read_table(path)
    a, b = coordinate_columns(scenario.geometry)
    missing = [c for c in ("site_id", a, b) if c not in frame.columns]
    if missing:
        raise ScenarioError(
            f"the candidates file has no column {', '.join(missing)}", file=path,
            fix=f"give one row per candidate site with columns site_id, {a}, {b}",
        )
    for c in (a, b):
        if pd.to_numeric(frame[c], errors="coerce").isna().any():
            raise ScenarioError(f"column '{c}' of the candidates file must be numeric on every row", file=path, column=c)
    return frame.assign(site_id=frame["site_id"].astype(str))


def chosen_centers_problem(scenario, inputs, *, time_limit: float | None = None):
    """(problem, distance, territories) with P centers chosen by the capacitated p-median."""
    from territory_planner import constraints
    from territory_planner.optimize.centers import solve_centers
    from territory_planner.pipeline import distance_weight

    spec = scenario.territories
    where = scenario.source
    if not isinstance(spec.count, int):
        raise ScenarioError("'centers: choose' needs the number of centers", file=where, column="territories.count",
                            fix="write e.g. 'territories: {centers: choose, count: 8, capacity: 1000}'")
    if spec.capacity is None:
        raise ScenarioError("'centers: choose' needs the capacity of each territory", file=where,
                            column="territories.capacity", fix="add 'capacity: <hours>' (workload one territory can carry)")
    if scenario.geometry == "none":
        raise ScenarioError("'centers: choose' needs coordinates", file=where, column="geometry",
                            fix="use geometry: geographic or planar")
    accounts = inputs.accounts
    a, b = coordinate_columns(scenario.geometry)
    xy = accounts[[a, b]].to_numpy(float)
    at_accounts = spec.candidates is None  # every account a candidate site, column j = account j
    if not at_accounts:
        sites = load_candidates(scenario)
        site_xy = sites[[a, b]].to_numpy(float)
        site_ids = sites["site_id"].to_numpy()
    else:
        site_xy, site_ids = xy, accounts["account_id"].astype(str).to_numpy()
    weight, label = distance_weight(scenario, accounts)
    site_distance = distance_matrix(xy, site_xy, scenario.geometry)
    workload = accounts["workload"].to_numpy(float)
    capacity = float(spec.capacity)
    s = scenario.solver
    result = solve_centers(site_distance * weight[:, None], workload, capacity, spec.count,
                           time_limit=time_limit or s.time_limit, seed=s.seed,
                           backend="highs" if s.backend == "auto" else s.backend, method=s.method,
                           sites_are_accounts=at_accounts)
    centers = result.centers
    p = len(centers)
    ids = [f"T{t + 1:0{max(2, len(str(p)))}d}" for t in range(p)]
    territories = pd.DataFrame({
        "territory_id": ids,
        "rep_id": ids,
        "rep_name": ["(open)"] * p,
        "status": ["open"] * p,
        f"home_{a}": site_xy[centers, 0],
        f"home_{b}": site_xy[centers, 1],
        "capacity_hours": np.full(p, capacity),
        "role": [""] * p,
        "center_account_id" if at_accounts else "center_site_id": site_ids[centers],
    })
    distance = site_distance[:, centers]
    bands = constraints.balance_bands(scenario, accounts, territories)
    bands.append(capacity_band(workload, territories["capacity_hours"].to_numpy()))
    problem = AssignmentProblem(
        unit_ids=accounts["account_id"].astype(str).to_numpy(),
        territory_ids=np.asarray(ids),
        cost=distance * weight[:, None],
        bands=tuple(bands),
        cost_label=label,
    )
    problem.meta["centers"] = result
    return problem, distance, territories
