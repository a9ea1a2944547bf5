"""The area of each item the workbench draws: an account's Voronoi cell, a unit's polygon.

Sent once per opened plan; the page fills each area with its item's territory colour and
recolours it when the item moves, so territories look like areas without any outline
being recomputed on an edit (FIELD.md §5b: send geometry once, then only assignment
changes). Rings are ``[[lat, lon], …]`` (planar plans: ``[[y, x], …]``), simplified to
about a thousandth of the map's extent and rounded to 5 decimals.
"""

from __future__ import annotations

import numpy as np
import shapely

#: Above this many items the page draws dots only (the cells would cost more than they show).
CELL_LIMIT = 20_000


def _rings(geom, digits: int = 5) -> list | None:
    if geom is None or geom.is_empty:
        return None
    out = []
    for part in shapely.get_parts(geom):
        if part.geom_type != "Polygon" or part.is_empty:
            continue
        ring = np.round(np.asarray(part.exterior.coords)[:, ::-1], digits)  # (x, y) → (lat, lon)
        out.append(ring.tolist())
    return out or None


def item_cells(bench) -> list | None:
    """One list of rings per item of ``bench`` (None where it has no area), or None."""
    items = bench.items
    if len(items.ids) > CELL_LIMIT or bench.scenario.geometry == "none":
        return None
    if items.kind == "unit":
        return _unit_cells(bench)
    from territory_planner.outputs.map_outlines import location_cells

    xy = np.column_stack([items.x, items.y])
    finite = np.isfinite(xy).all(axis=1)
    if not finite.any():
        return None
    unique, first = np.unique(xy[finite], axis=0, return_index=True)
    cells = location_cells(unique, geographic=bench.scenario.geometry == "geographic")
    extent = float(np.ptp(unique, axis=0).max()) if len(unique) > 1 else 1.0
    cells = shapely.simplify(cells, 1e-3 * extent, preserve_topology=True)
    rows = np.flatnonzero(finite)
    out: list = [None] * len(items.ids)
    for u, i in enumerate(rows[first]):  # accounts sharing a location: the first one holds the cell
        out[int(i)] = _rings(cells[u])
    return out


def _unit_cells(bench) -> list | None:
    from territory_planner.data.units import load_units

    path = bench.scenario.units_path
    if path is None:
        return None
    units = load_units(path, geometry=bench.scenario.geometry)
    bounds = units.total_bounds
    extent = float(max(bounds[2] - bounds[0], bounds[3] - bounds[1], 1e-9))
    shapes = dict(zip(units["unit_id"].astype(str),
                      shapely.simplify(np.asarray(units.geometry.values, dtype=object), 1e-3 * extent,
                                       preserve_topology=True), strict=True))
    return [_rings(shapes.get(str(u))) for u in bench.items.ids]
