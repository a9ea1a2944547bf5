"""Territory outlines, the polygons under the accounts: step two of Plan → map HTML.

From a :class:`~territory_planner.outputs.map_frame.PlanFrame`, one polygon per
territory: the Voronoi cells of its accounts, dissolved and clipped to the accounts'
surroundings (US land when the accounts are in the US), or for unit plans the unit
polygons, dissolved (:func:`outline_shapes`). The outlines also give the territory
adjacency graph (:func:`territory_adjacency`), from which the caller colours the
territories so that no two neighbours share a colour (``map_frame.neighbour_colors``):
``maps.plan_map`` does that as a step of its own and hands the shapes to
``map_layers.outline_js``. :func:`territory_outlines` is the entry point on a Plan: the
shapes with the colours the map gives them.
"""

from __future__ import annotations

import importlib.resources
import math
from functools import lru_cache

import numpy as np
import pandas as pd
import shapely

from territory_planner.outputs.map_frame import PlanFrame, neighbour_colors
from territory_planner.plan import Plan

_US_STATES = ("_plotly_geo", "package_data", "cb_2016_us_state_500k.shp")


def territory_outlines(plan: Plan):
    """One polygon per territory that has accounts: its accounts' Voronoi cells, dissolved.

    Cells are computed in the plan's own coordinates (lon/lat degrees or planar x/y) on
    the distinct account locations, so the outlines of different territories never
    overlap and every account lies inside its own territory's outline. Where several
    accounts share a location, the location (and its cell) goes to the territory holding
    most of them (ties: the earlier territory). The cells are clipped to a buffer around
    the accounts' convex hull and, for geographic plans whose accounts are (nearly) all
    in the US, to US land (Census cartographic boundaries, 2016, simplified).

    Returns a GeoDataFrame with columns ``territory_id``, ``order`` (position in
    ``plan.territories``), ``color`` (as on the map: no two touching territories share
    one, see :func:`territory_adjacency`), ``n_accounts`` and ``geometry``, in territory
    order.
    """
    frame = PlanFrame(plan)
    shapes = outline_shapes(frame)
    colors = neighbour_colors(territory_adjacency(shapes, len(frame.territory_ids)))
    shapes.insert(2, "color", [colors[int(t)] for t in shapes["order"]])
    return shapes


def territory_adjacency(outlines, n_territories: int) -> list[set[int]]:
    """The territory adjacency graph: ``[neighbours of territory 0, …]`` by position.

    Two territories are neighbours when their outlines touch or overlap (a shared edge or
    a shared corner; within a hair of 10⁻⁷ of the map's extent, so that boundaries
    clipped separately still meet). ``outlines`` is :func:`territory_outlines`'s frame
    (its ``order`` column gives the positions); territories without an outline have no
    neighbours.
    """
    neighbours: list[set[int]] = [set() for _ in range(n_territories)]
    if len(outlines) < 2:
        return neighbours
    geoms = np.asarray(outlines.geometry.values, dtype=object)
    order = outlines["order"].to_numpy()
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    hair = 1e-7 * max(maxx - minx, maxy - miny, 1e-9)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=hair)
    for a, b in zip(order[left], order[right], strict=True):
        if a != b:
            neighbours[int(a)].add(int(b))
    return neighbours


def outline_shapes(frame: PlanFrame):
    """The territories' polygons, as :func:`territory_outlines` describes them, without colours.

    A GeoDataFrame with columns ``territory_id``, ``order`` (the territory's position in
    ``frame.territory_ids``), ``n_accounts`` and ``geometry``, one row per territory with
    accounts, in territory order. ``frame`` is not changed.
    """
    import geopandas as gpd

    crs = None if frame.planar else "EPSG:4326"
    rows = []
    placed = frame.accounts[frame.accounts["_t"] >= 0]
    if frame.unit_shapes is not None and "unit_id" in placed.columns and len(placed):
        return _unit_outlines(frame, placed, crs)
    if len(placed):
        xy = placed[["_x", "_y"]].to_numpy(float)
        unique_xy, inverse = np.unique(xy, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        n_terr = len(frame.territory_ids)
        votes = np.zeros((len(unique_xy), n_terr), dtype=np.int64)
        np.add.at(votes, (inverse, placed["_t"].to_numpy()), 1)
        owner = votes.argmax(axis=1)  # first maximum: ties go to the earlier territory
        region = _clip_region(unique_xy, geographic=not frame.planar)
        cells = _voronoi_cells(unique_xy, region)
        counts = np.bincount(placed["_t"].to_numpy(), minlength=n_terr)
        for t in range(n_terr):
            mine = owner == t
            if not mine.any():
                continue
            shape = shapely.intersection(shapely.coverage_union_all(cells[mine]), region)
            polygons = [g for g in shapely.get_parts(shape) if g.geom_type == "Polygon" and not g.is_empty]
            if not polygons:  # cannot happen for accounts inside the region; be safe
                continue
            rows.append(
                {
                    "territory_id": frame.territory_ids[t],
                    "order": t,
                    "n_accounts": int(counts[t]),
                    "geometry": shapely.MultiPolygon(polygons) if len(polygons) > 1 else polygons[0],
                }
            )
    columns = ["territory_id", "order", "n_accounts", "geometry"]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns), geometry="geometry", crs=crs)


def _unit_outlines(frame: PlanFrame, placed: pd.DataFrame, crs):
    """Territory outlines of a unit plan: the polygons of each territory's units, dissolved."""
    import geopandas as gpd

    shapes = frame.unit_shapes
    if "territory_id" in shapes.columns:  # every unit, with or without accounts
        position = {tid: i for i, tid in enumerate(frame.territory_ids)}
        territory = shapes["territory_id"].map(position)
    else:
        territory = shapes["unit_id"].map(placed.groupby("unit_id")["_t"].first())
    counts = np.bincount(placed["_t"].to_numpy(), minlength=len(frame.territory_ids))
    rows = []
    for t in range(len(frame.territory_ids)):
        mine = shapes.geometry.values[(territory == t).to_numpy()]
        if not len(mine):
            continue
        polygons = [g for g in shapely.get_parts(shapely.union_all(np.asarray(mine, dtype=object))) if g.geom_type == "Polygon"]
        if polygons:
            rows.append({"territory_id": frame.territory_ids[t], "order": t, "n_accounts": int(counts[t]),
                         "geometry": shapely.MultiPolygon(polygons) if len(polygons) > 1 else polygons[0]})
    columns = ["territory_id", "order", "n_accounts", "geometry"]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns), geometry="geometry", crs=crs)


def location_cells(points: np.ndarray, *, geographic: bool) -> np.ndarray:
    """The area of each location: its Voronoi cell, clipped as the outlines are.

    ``points`` are distinct (x, y) locations (lon/lat when ``geographic``); returns one
    shapely polygon (or multipolygon) per point, in order, tiling the region the
    outlines cover (the workbench fills each account's cell with its territory's colour,
    so that moving an account recolours its area without recomputing any outline).
    """
    points = np.asarray(points, dtype=float)
    if not len(points):
        return np.array([], dtype=object)
    region = _clip_region(points, geographic=geographic)
    return shapely.intersection(_voronoi_cells(points, region), region)


# ------------------------------------------------------------------------------- geometry


@lru_cache(maxsize=1)
def _us_land():
    """US land (50 states, DC, Puerto Rico), simplified and slightly buffered, in lon/lat.

    US Census Bureau cartographic boundary file cb_2016_us_state_500k (public domain),
    shipped by the ``plotly-geo`` package. About 6,000 vertices after simplification; the
    0.05° buffer keeps coastal accounts inside despite the simplification.
    """
    import geopandas as gpd

    path = importlib.resources.files(_US_STATES[0]).joinpath(*_US_STATES[1:])
    states = gpd.read_file(str(path))
    land = shapely.union_all(shapely.simplify(states.geometry.values, 0.02))
    land = shapely.simplify(shapely.buffer(land, 0.05), 0.01)
    shapely.prepare(land)
    return land


def _clip_region(points: np.ndarray, *, geographic: bool):
    """Where outlines may extend: a buffer around the accounts' hull, ∩ US land for US plans.

    A plan counts as a US plan when at least 95% of its account locations are on US
    land; the few others (geocoded onto a pier, or cut off by the simplified coast) keep
    a small disc around them, so every account stays inside its territory's outline.
    """
    hull = shapely.convex_hull(shapely.multipoints(points))
    minx, miny, maxx, maxy = hull.bounds
    diag = math.hypot(maxx - minx, maxy - miny)
    margin = max(0.06 * diag, 0.1 if geographic else 0.0) or 1.0
    region = shapely.buffer(hull, margin, quad_segs=4)
    if not geographic:
        return region
    try:
        land = _us_land()
    except Exception:  # plotly-geo missing or unreadable: the hull buffer is enough
        return region
    on_land = shapely.contains_xy(land, points[:, 0], points[:, 1])
    if on_land.mean() < 0.95:
        return region
    region = shapely.intersection(region, land)
    if not on_land.all():
        discs = shapely.buffer(shapely.points(points[~on_land]), min(margin, 0.15), quad_segs=4)
        region = shapely.union_all([region, *discs])
    return region


def _voronoi_cells(points: np.ndarray, region) -> np.ndarray:
    """Voronoi cell of each (distinct) point, in input order, covering ``region``."""
    if len(points) == 1:
        return np.array([region], dtype=object)
    minx, miny, maxx, maxy = region.bounds
    pad = max(maxx - minx, maxy - miny, 1.0)
    envelope = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    cells = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=envelope, ordered=True)
    return shapely.get_parts(cells)
