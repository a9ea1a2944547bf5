"""The map's background: US state and county lines from the offline Census shapes.

Without web tiles a plan map would float on white; these lines say where it is. From a
:class:`~territory_planner.outputs.map_frame.PlanFrame`, :func:`background_shapes` picks
the US Census Bureau's cartographic boundaries (cb_2016_us_state_500k and
cb_2016_us_county_500k, public domain, shipped by the ``plotly-geo`` package) around the
plan's accounts:

* **states**: every state within the accounts' surroundings, always (cheap: about 45 KB
  for the lower 48 once simplified and delta-encoded);
* **counties**: only when the accounts lie in at most ``MAX_COUNTY_STATES`` states, the
  counties of those states (a national plan would carry 3,000 county shapes).

Both are simplified as coverages (``shapely.coverage_simplify``: neighbouring shapes keep
one shared border, no gaps or slivers). Planar plans and plans whose accounts are not
(nearly all) in the US get no background. ``map_layers.background_js`` draws the result;
this module imports only ``map_frame``.
"""

from __future__ import annotations

import importlib.resources
from functools import lru_cache

import numpy as np
import shapely

from territory_planner.outputs.map_frame import PlanFrame

_PACKAGE = ("_plotly_geo", "package_data")
_STATES = "cb_2016_us_state_500k.shp"
_COUNTIES = "cb_2016_us_county_500k.shp"
#: Coverage simplification tolerances in degrees (Visvalingam–Whyatt, √area).
STATE_TOLERANCE = 0.03
COUNTY_TOLERANCE = 0.01
#: Parts smaller than this (deg², about 25 km²) are dropped: islets the eye cannot see.
MIN_PART_AREA = 0.002
#: Counties are drawn when the accounts lie in at most this many states.
MAX_COUNTY_STATES = 3
#: A plan is a US plan when this share of its accounts is in (or within 0.05° of) a state.
US_SHARE = 0.95
SOURCE = "State and county lines: US Census Bureau, 2016"


def _read(name: str, **kwargs):
    import geopandas as gpd

    path = importlib.resources.files(_PACKAGE[0]).joinpath(_PACKAGE[1], name)
    return gpd.read_file(str(path), **kwargs)


def _simplified(frame, tolerance: float):
    """``frame``'s shapes simplified as one coverage, islets dropped (empty shapes removed)."""
    geoms = shapely.coverage_simplify(np.asarray(frame.geometry.values, dtype=object), tolerance)
    kept = []
    for geom in geoms:
        parts = [p for p in shapely.get_parts(geom) if p.area >= MIN_PART_AREA]
        kept.append(shapely.MultiPolygon(parts) if len(parts) > 1 else (parts[0] if parts else None))
    out = frame.assign(geometry=kept)
    return out[out.geometry.notna()].reset_index(drop=True)


@lru_cache(maxsize=1)
def _states():
    """Every state (50, DC and the territories), simplified; columns STATEFP, STUSPS, NAME."""
    states = _read(_STATES)[["STATEFP", "STUSPS", "NAME", "geometry"]]
    return _simplified(states.sort_values("STATEFP").reset_index(drop=True), STATE_TOLERANCE)


def background_shapes(frame: PlanFrame) -> dict:
    """``{"states": GeoDataFrame, "counties": GeoDataFrame}`` to draw under the plan; ``{}`` if none.

    ``counties`` is present only when the accounts lie in at most ``MAX_COUNTY_STATES``
    states. Each frame has columns ``NAME`` and ``geometry``: the borders as (multi)line
    strings in lon/lat, cut to the accounts' surroundings (a margin of 15% of their
    extent, at least 1°), so a plan in Washington does not carry all of Alaska.
    """
    if frame.planar or not len(frame.accounts):
        return {}
    try:
        states = _states()
    except Exception:  # plotly-geo missing or unreadable: a map without background still works
        return {}
    points = shapely.points(frame.accounts[["_x", "_y"]].to_numpy(float))
    tree = shapely.STRtree(np.asarray(states.geometry.values, dtype=object))
    hit_point, hit_state = tree.query(points, predicate="dwithin", distance=0.05)
    if len(np.unique(hit_point)) < US_SHARE * len(points):
        return {}
    xmin, ymin, xmax, ymax = shapely.total_bounds(points)
    margin = max(1.0, 0.15 * max(xmax - xmin, ymax - ymin))
    view = shapely.box(xmin - margin, ymin - margin, xmax + margin, ymax + margin)
    out = {"states": _lines_in(states.iloc[np.sort(tree.query(view, predicate="intersects"))], view)}
    plan_states = states["STATEFP"].to_numpy()[np.unique(hit_state)]
    if len(plan_states) <= MAX_COUNTY_STATES:
        counties = _counties(tuple(sorted(plan_states)))
        if len(counties):
            out["counties"] = _lines_in(counties, view)
    return out


def _lines_in(shapes, view):
    """The shapes' borders inside ``view`` (lines, so the cut adds no edge of its own)."""
    lines = shapely.intersection(shapely.boundary(np.asarray(shapes.geometry.values, dtype=object)), view)
    out = shapes[["NAME"]].assign(geometry=lines)
    return out[~shapely.is_empty(lines)].reset_index(drop=True)


@lru_cache(maxsize=4)
def _counties(state_fips: tuple[str, ...]):
    """The counties of the given states (FIPS codes), simplified as one coverage."""
    states = _states()
    bounds = shapely.total_bounds(np.asarray(states[states["STATEFP"].isin(state_fips)].geometry.values, dtype=object))
    counties = _read(_COUNTIES, bbox=tuple(float(b) for b in bounds))
    counties = counties[counties["STATEFP"].isin(state_fips)].sort_values("GEOID").reset_index(drop=True)
    return _simplified(counties[["NAME", "geometry"]], COUNTY_TOLERANCE)
