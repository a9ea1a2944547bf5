"""Geographic units: roll accounts up into polygons, assign units, hand accounts back.

When a scenario names ``data.units`` (counties, ZIP areas, …), territories are made of
whole units: every account of a unit goes to the same rep. This module

1. **joins** accounts to units: by the accounts' ``unit_id`` column where it is filled,
   otherwise spatially (the polygon containing the account; the nearest polygon for an
   account just outside every polygon, e.g. on the coast);
2. **splits** units too heavy for any territory (a unit holding more than
   ``SPLIT_SHARE`` of the tightest band bound, e.g. Los Angeles County, which alone
   holds 1.5 territories' worth of the demo's potential): its accounts are clustered
   (k-means on their coordinates) and the unit's polygon is cut into the Voronoi cells
   of the clusters, so the pieces are real polygons with real borders (ids ``06037/1``…);
3. **aggregates** the account-level problem exactly: with every account i of unit u on
   the same territory (x_ij = y_uj), any linear row over the x_ij is a row over the
   y_uj whose coefficients are summed per unit. Costs, balance, capacity, locks,
   eligibility, continuity and hierarchy rows built for accounts all carry over, and the
   unit plan's objective *is* the account plan's objective;
4. builds the **adjacency graph** (rook, via :func:`territory_planner.data.geo.unit_adjacency`),
   cut by ``barriers`` and made connected by virtual edges, and the **root** unit of each
   territory (the unit containing the rep's home, or the nearest; distinct per rep);
5. solves (with separator cuts when ``contiguity: true``,
   :mod:`territory_planner.optimize.contiguity`) and **disaggregates**: every account
   gets its unit's territory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from territory_planner.data.columns import first_problem, row_numbers
from territory_planner.data.files import ROW
from territory_planner.errors import InputError, ScenarioError
from territory_planner.optimize.problem import AssignmentProblem

#: A unit heavier than this share of the tightest upper bound of a band is split.
SPLIT_SHARE = 0.5


@dataclass(frozen=True)
class UnitRollup:
    """Units after the join and the splits, and where each account went.

    ``units`` is a GeoDataFrame (``unit_id``, ``name``, ``parent_unit_id``, ``n_accounts``,
    ``geometry``); ``account_unit[a]`` is the row of account a's unit; ``points`` is
    each unit's representative point as (x, y) = (lon, lat) or planar (x, y).
    """

    units: object
    account_unit: np.ndarray
    points: np.ndarray

    @property
    def unit_ids(self) -> np.ndarray:
        return self.units["unit_id"].to_numpy(str)


# ------------------------------------------------------------------------------ the join


def account_xy(accounts: pd.DataFrame, geometry: str) -> np.ndarray:
    """(n, 2) account coordinates as shapely sees them: (lon, lat) or (x, y)."""
    if geometry == "planar":
        return accounts[["x", "y"]].to_numpy(float)
    if geometry == "geographic":
        return accounts[["lon", "lat"]].to_numpy(float)
    raise ScenarioError(
        f"data.units needs coordinates, but the scenario has geometry: {geometry}",
        column="geometry",
        fix="set geometry: geographic (lat/lon) or planar (x/y), or remove data.units",
    )


def join_accounts(accounts: pd.DataFrame, units, *, geometry: str = "geographic", accounts_file=None) -> np.ndarray:
    """Row of ``units`` for every account: by ``unit_id`` where given, else spatially.

    Raises :class:`InputError` for an account whose ``unit_id`` is not in the units file.
    """
    index = {u: r for r, u in enumerate(units["unit_id"].astype(str))}
    out = np.full(len(accounts), -1, dtype=int)
    given = (
        np.array([v is not None and not pd.isna(v) and str(v).strip() != "" for v in accounts["unit_id"]], bool)
        if "unit_id" in accounts
        else np.zeros(len(accounts), bool)
    )
    if given.any():
        ids = accounts["unit_id"].to_numpy(object)
        found = np.array([index.get(str(v).strip(), -1) if g else -1 for v, g in zip(ids, given, strict=True)])
        unknown = given & (found < 0)
        error = first_problem(
            unknown,
            table_file=str(accounts_file or "accounts"),
            rows=row_numbers(accounts) if ROW in accounts else np.arange(2, len(accounts) + 2),
            column="unit_id",
            series=accounts["unit_id"],
            problem="the unit_id is not a unit_id of the units file",
            fix="correct the id, add the unit to the units file, or leave the cell blank to join the account by its location",
        )
        if error:
            raise error
        out[given] = found[given]
    missing = np.flatnonzero(~given)
    if len(missing):
        xy = account_xy(accounts.iloc[missing], geometry)
        out[missing] = locate_points(units.geometry.values, xy)
    return out


def locate_points(polygons, xy: np.ndarray) -> np.ndarray:
    """Index of the polygon containing each point; the nearest polygon where none does."""
    polygons = np.asarray(polygons, dtype=object)
    tree = shapely.STRtree(polygons)
    points = shapely.points(np.asarray(xy, float))
    out = np.full(len(points), -1, dtype=int)
    p_idx, g_idx = tree.query(points, predicate="intersects")
    out[p_idx[::-1]] = g_idx[::-1]  # a point on a shared border goes to the first polygon
    rest = np.flatnonzero(out < 0)
    if len(rest):
        p_idx, g_idx = tree.query_nearest(points[rest], all_matches=False)
        out[rest[p_idx]] = g_idx
    return out


# ------------------------------------------------------------------------------ splitting


def split_heavy_units(units, account_unit: np.ndarray, xy: np.ndarray, loads: np.ndarray, *, seed: int = 0):
    """Cut every unit whose accounts' load exceeds 1 (on any column of ``loads``) into pieces.

    ``loads`` is (n_accounts, c), each column already divided by its limit. A heavy unit
    is cut into ⌈load⌉ pieces by k-means on its accounts' coordinates, and its polygon
    into the Voronoi cells of the cluster centres (so each account lies in its piece);
    pieces still too heavy are cut again. A unit whose accounts share one location
    cannot be cut and is left whole. Returns (units, account_unit) with pieces appended
    in place of their unit.
    """
    import geopandas as gpd

    loads = np.asarray(loads, float).reshape(len(account_unit), -1)
    per_unit = np.zeros((len(units), loads.shape[1]))
    np.add.at(per_unit, account_unit, loads)
    heavy = np.flatnonzero(per_unit.max(axis=1) > 1 + 1e-9)
    if len(heavy) == 0:
        return units, account_unit
    rng = np.random.default_rng(seed)
    account_unit = account_unit.copy()
    records = units.drop(columns=units.geometry.name).to_dict("records")
    shapes = list(units.geometry.values)
    new_records, new_shapes = [], []
    for u in heavy:
        members = np.flatnonzero(account_unit == u)
        pieces = _cut(shapes[u], members, xy, loads, rng)
        if len(pieces) <= 1:
            continue
        for p, (shape, idx) in enumerate(pieces):
            rec = dict(records[u])
            rec["unit_id"] = f"{records[u]['unit_id']}/{p + 1}"
            rec["parent_unit_id"] = records[u]["unit_id"]
            account_unit[idx] = len(records) + len(new_records)
            new_records.append(rec)
            new_shapes.append(shape)
        records[u] = None
    keep = [r for r, rec in enumerate(records) if rec is not None]
    remap = np.full(len(records) + len(new_records), -1, dtype=int)
    remap[keep] = np.arange(len(keep))
    remap[len(records):] = np.arange(len(keep), len(keep) + len(new_records))
    frame = pd.DataFrame([records[r] for r in keep] + new_records)
    out = gpd.GeoDataFrame(frame, geometry=[shapes[r] for r in keep] + new_shapes, crs=units.crs)
    return out, remap[account_unit]


def _cut(polygon, members: np.ndarray, xy: np.ndarray, loads: np.ndarray, rng) -> list[tuple[object, np.ndarray]]:
    """Pieces (polygon, account indices) of a heavy polygon; [(polygon, members)] if it cannot be cut."""
    from scipy.cluster.vq import kmeans2

    total = loads[members].sum(axis=0).max()
    points = xy[members]
    if total <= 1 + 1e-9 or len(np.unique(points, axis=0)) < 2:
        return [(polygon, members)]
    m = min(int(math.ceil(total)), len(np.unique(points, axis=0)))
    centres, _ = kmeans2(points, m, minit="++", seed=rng)
    centres = np.unique(centres, axis=0)
    if len(centres) < 2:
        return [(polygon, members)]
    # Label by nearest centre, which is exactly the Voronoi cell the account lies in.
    label = np.argmin(((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
    used = np.unique(label)
    if len(used) < 2:
        return [(polygon, members)]
    centres = centres[used]
    label = np.searchsorted(used, label)
    x0, y0, x1, y1 = polygon.bounds
    pad = 2 * max(x1 - x0, y1 - y0, 1e-9)
    frame = shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(centres), extend_to=frame))
    pieces = []
    for c in range(len(centres)):
        cell = next(g for g in cells if g.contains(shapely.Point(centres[c])) or g.touches(shapely.Point(centres[c])))
        shape = shapely.intersection(polygon, cell)
        shape = shapely.union_all([g for g in shapely.get_parts(shape) if g.geom_type == "Polygon"])
        if shape.is_empty:
            return [(polygon, members)]
        pieces.append((shape, members[label == c]))
    out = []
    for shape, idx in pieces:
        out.extend(_cut(shape, idx, xy, loads, rng))
    return out


# ------------------------------------------------------------------------- aggregation


def unit_matrix(account_unit: np.ndarray, n_units: int) -> sp.csr_matrix:
    """(n_units, n_accounts) 0/1 matrix: row u sums the accounts of unit u."""
    n = len(account_unit)
    return sp.csr_matrix((np.ones(n), (account_unit, np.arange(n))), shape=(n_units, n))


def aggregate_problem(problem: AssignmentProblem, account_unit: np.ndarray, unit_ids) -> AssignmentProblem:
    """The problem over units, exact for plans that keep each unit's accounts together.

    Substituting x_ij = y_{u(i)j} into any linear expression sums its coefficients per
    unit; so costs, bands and general rows aggregate by summation, a pair is allowed for
    a unit when it is allowed for all its accounts, and locks carry over (accounts of one
    unit locked to two different reps are an error).
    """
    unit_ids = np.asarray(unit_ids)
    m = len(unit_ids)
    k = problem.k
    S = unit_matrix(account_unit, m)
    cost = np.asarray(S @ problem.cost)
    bands = []
    for band in problem.bands:
        values = np.asarray(S @ band.values) if band.per_pair else S @ band.values
        bands.append(replace(band, values=np.asarray(values, float)))
    allowed = None
    if problem.allowed is not None:
        forbidden = np.asarray(S @ (~problem.allowed).astype(float)) > 0
        allowed = ~forbidden
    fixed = None
    if problem.fixed is not None and (problem.fixed >= 0).any():
        fixed = np.full(m, -1, dtype=int)
        for a in np.flatnonzero(problem.fixed >= 0):
            u, j = account_unit[a], problem.fixed[a]
            if fixed[u] not in (-1, j):
                raise InputError(
                    f"unit {unit_ids[u]} has accounts locked to two different reps "
                    f"({problem.territory_ids[fixed[u]]} and {problem.territory_ids[j]}); a unit goes to one territory",
                    column="locked_rep_id",
                    fix="lock the unit's accounts to the same rep, or plan without data.units",
                )
            fixed[u] = j
    rows = []
    if problem.rows:
        # Column i·k + j of an account row maps to column u(i)·k + j of the unit row.
        n = problem.n
        cols = (account_unit[:, None] * k + np.arange(k)[None, :]).ravel()
        P = sp.csr_matrix((np.ones(n * k), (np.arange(n * k), cols)), shape=(n * k, m * k))
        for pc in problem.rows:
            rows.append(replace(pc, A=(pc.A @ P).tocsr()))
    return AssignmentProblem(
        unit_ids=unit_ids,
        territory_ids=problem.territory_ids,
        cost=cost,
        bands=tuple(bands),
        fixed=fixed,
        allowed=allowed,
        cost_label=problem.cost_label,
        rows=tuple(rows),
        meta=dict(problem.meta),
    )


def band_loads(problem: AssignmentProblem) -> np.ndarray:
    """(n, c) each account's weight in every band with a finite upper bound, divided by
    ``SPLIT_SHARE`` × the band's tightest upper bound (so > 1 summed over a unit = heavy)."""
    columns = []
    for band in problem.bands:
        upper = band.upper[np.isfinite(band.upper)]
        if len(upper) == 0 or upper.min() <= 0:
            continue
        values = band.values.max(axis=1) if band.per_pair else band.values
        columns.append(np.maximum(values, 0) / (SPLIT_SHARE * upper.min()))
    return np.column_stack(columns) if columns else np.zeros((problem.n, 0))


def roll_up(units, accounts: pd.DataFrame, problem: AssignmentProblem, *, geometry: str, accounts_file=None, seed: int = 0) -> UnitRollup:
    """Join accounts to units and split the units too heavy for a territory."""
    account_unit = join_accounts(accounts, units, geometry=geometry, accounts_file=accounts_file)
    units = units.copy()
    units["parent_unit_id"] = units["unit_id"]
    xy = account_xy(accounts, geometry)
    loads = band_loads(problem)
    if loads.shape[1]:
        units, account_unit = split_heavy_units(units, account_unit, xy, loads, seed=seed)
    units = units.reset_index(drop=True)
    units["n_accounts"] = np.bincount(account_unit, minlength=len(units))
    points = shapely.get_coordinates(shapely.point_on_surface(units.geometry.values))
    return UnitRollup(units, account_unit, points)


# ------------------------------------------------------------------------ graph and roots


def unit_graph(rollup: UnitRollup, *, geometry: str, barriers=None, rule: str = "rook"):
    """Rook adjacency of the units, joined into one graph by virtual edges, then cut by barriers.

    Virtual edges (see :func:`territory_planner.data.geo.connect_components`) are added before
    the barrier cut, so a barrier can separate islands too. Returns the graph with
    ``graph.graph["virtual_edges"]`` and ``graph.graph["barrier_edges"]`` recorded.
    """
    from territory_planner.data.geo import connect_components, drop_barrier_edges, unit_adjacency

    graph = unit_adjacency(np.asarray(rollup.units.geometry.values, dtype=object), rule=rule)
    first_second = rollup.points[:, ::-1] if geometry == "geographic" else rollup.points
    virtual = connect_components(graph, first_second, geometry)
    cut = drop_barrier_edges(graph, rollup.points, barriers) if barriers is not None else []
    from territory_planner.data.geo import distance_matrix

    first_second_points = np.asarray(first_second, float)
    for u, v, data in graph.edges(data=True):
        data["length"] = float(distance_matrix(first_second_points[[u]], first_second_points[[v]], geometry)[0, 0])
    graph.graph["virtual_edges"] = virtual
    graph.graph["barrier_edges"] = cut
    return graph


def home_units(rollup: UnitRollup, homes_xy: np.ndarray) -> np.ndarray:
    """A distinct root unit per territory: the unit containing the rep's home, else the nearest.

    Where several reps live in one unit, a minimum-distance matching gives the others
    the nearest free units (Hungarian method), so every territory has its own root.
    """
    from scipy.optimize import linear_sum_assignment

    polygons = np.asarray(rollup.units.geometry.values, dtype=object)
    homes = shapely.points(np.asarray(homes_xy, float))
    if len(homes) > len(polygons):
        raise InputError(
            f"{len(homes)} territories but only {len(polygons)} units: contiguous territories need a unit each",
            fix="use smaller units, or plan with contiguity: false",
        )
    d_poly = shapely.distance(homes[:, None], polygons[None, :])
    d_point = np.hypot(*(np.asarray(homes_xy, float)[:, None, :] - rollup.points[None, :, :]).transpose(2, 0, 1))
    scale = max(float(d_point.max()), 1e-12)
    rows, cols = linear_sum_assignment(d_poly + 1e-3 * d_point / scale)
    roots = np.empty(len(homes), dtype=int)
    roots[rows] = cols
    return roots


def load_barriers(path, geometry: str = "geographic"):
    """Barrier lines (GeoJSON/GeoPackage LineStrings or polygon outlines) as shapely geometries."""
    from territory_planner.data.files import read

    table = read(path)
    frame = table.frame
    shapes = frame.geometry
    if geometry == "geographic" and shapes.crs is not None and shapes.crs.to_epsg() != 4326:
        shapes = shapes.to_crs(4326)
    kinds = shapes.geom_type.fillna("").to_numpy(object)
    ok = np.isin(kinds, ["LineString", "MultiLineString", "Polygon", "MultiPolygon"])
    error = first_problem(
        ~ok,
        table_file=table.file,
        rows=row_numbers(frame),
        column=str(shapes.name),
        series=shapes.geom_type,
        problem="a barrier must be a line (or a polygon, whose outline is the barrier)",
        fix="draw barriers as LineStrings",
    )
    if error:
        raise error
    values = shapes.values
    return np.array([shapely.boundary(g) if g.geom_type.endswith("Polygon") else g for g in values], dtype=object)
