"""``territories: {centers: choose, count: P, capacity: Q}``: pick P centers, then plan.

The centers are chosen by the capacitated p-median optimizer
(:func:`territory_planner.optimize.centers.solve_centers`) over the accounts (every
account a candidate) or over the sites of ``territories.candidates`` (a table with
``site_id`` and the scenario's coordinate columns). :func:`centers_problem` turns the
choice into an ordinary :class:`AssignmentProblem` over the P chosen centers —
territories ``T01``, ``T02``, …, home = the center's coordinates, ``capacity_hours`` = Q,
with the capacity band and any balance bands of the scenario — so the rest of the
pipeline (Plan, KPIs, maps, exports) is unchanged.

What the stages prove (the orchestrator reports it): the p-median's plan is a plan of
that problem, and its bound is a lower bound of the whole scenario, balance bands or
not, because dropping the bands only relaxes the problem. With balance bands the
accounts are re-assigned to the chosen centers under every band (location first, then
allocation): that stage's own bound holds only for those centers, never for the whole.

With a reps file, :func:`assign_reps` seats the reps on the chosen centers by an exact
assignment problem minimising the total relocation distance from each rep's home;
centers left without a rep are open seats, reps left without a center are listed as
``reps_without_territory``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from territory_planner.data.geo import coordinate_columns, distance_matrix
from territory_planner.errors import ScenarioError
from territory_planner.model.constraints import OPEN_SEAT_NAME, balance_bands, distance_weight
from territory_planner.optimize.problem import AssignmentProblem, capacity_band


def load_candidates(scenario) -> pd.DataFrame:
    """The candidate sites file: site_id plus the scenario's coordinate columns."""
    from territory_planner.data.files import read_table

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


@dataclass(frozen=True)
class CenterSites:
    """The candidate sites of a ``centers: choose`` scenario and the p-median's inputs."""

    site_xy: np.ndarray  # (m, 2) in the scenario's coordinate columns
    site_ids: np.ndarray  # (m,) str
    at_accounts: bool  # every account a candidate: site j is account j
    distance: np.ndarray  # (n, m) account → site distance
    weight: np.ndarray  # (n,) distance weight of each account
    label: str  # the objective in words

    @property
    def cost(self) -> np.ndarray:
        return self.distance * self.weight[:, None]


def check_choose(scenario) -> None:
    """The keys ``centers: choose`` needs, with the fix for each."""
    spec, where = scenario.territories, scenario.source
    if not isinstance(spec.count, int):
        raise ScenarioError("'centers: choose' needs the number of centers", file=where, column="territories.count",
                            fix="write e.g. 'territories: {centers: choose, count: 8, capacity: 1000}'")
    if spec.capacity is None:
        raise ScenarioError("'centers: choose' needs the capacity of each territory", file=where,
                            column="territories.capacity", fix="add 'capacity: <hours>' (workload one territory can carry)")
    if scenario.geometry == "none":
        raise ScenarioError("'centers: choose' needs coordinates", file=where, column="geometry",
                            fix="use geometry: geographic or planar")


def center_sites(scenario, accounts: pd.DataFrame) -> CenterSites:
    """The candidate sites (the accounts, or ``territories.candidates``) and their costs."""
    check_choose(scenario)
    a, b = coordinate_columns(scenario.geometry)
    xy = accounts[[a, b]].to_numpy(float)
    at_accounts = scenario.territories.candidates is None
    if at_accounts:
        site_xy, site_ids = xy, accounts["account_id"].astype(str).to_numpy()
    else:
        sites = load_candidates(scenario)
        site_xy, site_ids = sites[[a, b]].to_numpy(float), sites["site_id"].to_numpy()
    weight, label = distance_weight(scenario, accounts)
    return CenterSites(site_xy, site_ids, at_accounts, distance_matrix(xy, site_xy, scenario.geometry), weight, label)


def centers_problem(scenario, accounts: pd.DataFrame, sites: CenterSites, centers: np.ndarray):
    """(problem, distance, territories) over the chosen ``centers`` (site indices)."""
    a, b = coordinate_columns(scenario.geometry)
    p = len(centers)
    capacity = float(scenario.territories.capacity)
    ids = [f"T{t + 1:0{max(2, len(str(p)))}d}" for t in range(p)]
    territories = pd.DataFrame({
        "territory_id": ids,
        "rep_id": ids,
        "rep_name": [OPEN_SEAT_NAME] * p,
        "status": ["open"] * p,
        f"home_{a}": sites.site_xy[centers, 0],
        f"home_{b}": sites.site_xy[centers, 1],
        "capacity_hours": np.full(p, capacity),
        "role": [""] * p,
        "center_account_id" if sites.at_accounts else "center_site_id": sites.site_ids[centers],
    })
    distance = sites.distance[:, centers]
    workload = accounts["workload"].to_numpy(float)
    bands = balance_bands(scenario, accounts, territories)
    bands.append(capacity_band(workload, territories["capacity_hours"].to_numpy()))
    problem = AssignmentProblem(
        unit_ids=accounts["account_id"].astype(str).to_numpy(),
        territory_ids=np.asarray(ids),
        cost=distance * sites.weight[:, None],
        bands=tuple(bands),
        cost_label=sites.label,
    )
    return problem, distance, territories


def relocation_matrix(scenario, reps: pd.DataFrame, territories: pd.DataFrame) -> np.ndarray:
    """(reps, territories) distance from each rep's home to each chosen center."""
    a, b = coordinate_columns(scenario.geometry)
    homes = reps[[a, b]].to_numpy(float)
    centers = territories[[f"home_{a}", f"home_{b}"]].to_numpy(float)
    return distance_matrix(homes, centers, scenario.geometry)


def assign_reps(scenario, reps: pd.DataFrame, territories: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Seat the reps on the chosen centers at least total relocation distance.

    An exact assignment problem (Hungarian method, ``scipy.optimize.linear_sum_assignment``):
    each rep to at most one center, each center to at most one rep, min(reps, centers)
    pairs. Centers without a rep stay open seats (rep_id = territory_id, "(open)"); a rep
    whose file status is ``open`` is an open seat by name too. Returns (territories with
    rep_id, rep_name, status, role, rep_home_*, relocation_km; total relocation distance).
    """
    from scipy.optimize import linear_sum_assignment

    a, b = coordinate_columns(scenario.geometry)
    out = territories.copy()
    out[f"rep_home_{a}"] = np.nan
    out[f"rep_home_{b}"] = np.nan
    out["relocation_km"] = np.nan
    if len(reps) == 0:
        return out, 0.0
    move = relocation_matrix(scenario, reps, territories)
    rows, cols = linear_sum_assignment(move)
    seated = reps.iloc[rows]
    names = np.where(seated["status"].astype(str).to_numpy() == "open", OPEN_SEAT_NAME,
                     seated["name"].astype(str).to_numpy())
    out.loc[cols, "rep_id"] = seated["rep_id"].astype(str).to_numpy()
    out.loc[cols, "rep_name"] = names
    out.loc[cols, "status"] = seated["status"].astype(str).to_numpy()
    out.loc[cols, "role"] = seated["role"].astype(str).to_numpy()
    out.loc[cols, f"rep_home_{a}"] = seated[a].to_numpy(float)
    out.loc[cols, f"rep_home_{b}"] = seated[b].to_numpy(float)
    out.loc[cols, "relocation_km"] = move[rows, cols]
    return out, float(move[rows, cols].sum())
