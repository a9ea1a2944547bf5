"""Loading geographic units: the polygons (counties, ZIP areas, …) accounts roll up into.

The canonical frame is a GeoDataFrame, one row per unit, in file order:

==========  ===========================================================
unit_id     str, unique, never blank (e.g. a 5-digit county FIPS code)
name        str (blank → unit_id)
geometry    Polygon or MultiPolygon, valid (invalid rings are repaired)
…           every other column of the file
_row        int: the 1-based record number a planner sees in the file
==========  ===========================================================

GeoJSON and GeoPackage are read; geographic plans get EPSG:4326 (lon/lat degrees,
reprojected when the file has another CRS); planar plans keep the file's x/y as stored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from territory_planner.data.columns import (
    first_problem,
    id_column,
    match_headers,
    missing_column,
    row_numbers,
    text_with_default,
)
from territory_planner.data.files import GEO_SUFFIXES, ROW, read
from territory_planner.errors import InputError

UNIT_COLUMNS = ["unit_id", "name"]


def load_units(path, *, geometry: str = "geographic"):
    """Load and validate a units file (GeoJSON or GeoPackage polygons with ``unit_id``).

    Raises :class:`InputError` naming the file, the record, the column and the value, with
    the fix: not a geographic file, no ``unit_id`` column, a blank or repeated id, a record
    without geometry or whose geometry is not a polygon.

    >>> import json, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "u.geojson"
    >>> square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    >>> _ = p.write_text(json.dumps({"type": "FeatureCollection", "features": [
    ...     {"type": "Feature", "properties": {"unit_id": "A"}, "geometry": square}]}))
    >>> load_units(p, geometry="planar")[["unit_id", "name"]].to_dict("records")
    [{'unit_id': 'A', 'name': 'A'}]
    """
    import geopandas as gpd

    path = Path(path)
    if path.suffix.lower() not in GEO_SUFFIXES:
        raise InputError(
            f"units must be polygons in a GeoJSON or GeoPackage file, not '{path.suffix or '(none)'}'",
            file=str(path),
            fix="export the unit boundaries (e.g. counties) as .geojson or .gpkg with a unit_id column",
        )
    table = read(path)
    frame = table.frame
    geometry_column = getattr(frame, "_geometry_column_name", None)
    if geometry_column is None or geometry_column not in frame.columns:
        raise InputError("the file has no geometry column", file=table.file, fix="store one polygon per unit")
    found = match_headers(table, UNIT_COLUMNS, {"id": "unit_id", "geoid": "unit_id", "fips": "unit_id"})
    if "unit_id" not in found:
        raise missing_column(table, "unit_id", used=found.values())
    unit_id = id_column(table, found["unit_id"], "unit_id")
    rows = row_numbers(frame)
    shapes = frame.geometry
    empty = (shapes.isna() | shapes.is_empty).to_numpy(bool)
    error = first_problem(
        empty,
        table_file=table.file,
        rows=rows,
        column=str(geometry_column),
        series=pd.Series([None] * len(frame)),
        problem="the unit has no geometry",
        fix="give every unit its polygon, or delete the record",
    )
    if error:
        raise error
    kind = shapes.geom_type.to_numpy(object)
    error = first_problem(
        ~np.isin(kind, ["Polygon", "MultiPolygon"]),
        table_file=table.file,
        rows=rows,
        column=str(geometry_column),
        series=shapes.geom_type,
        problem="the geometry is not a polygon",
        fix="store each unit as its boundary polygon (points belong in the accounts file)",
    )
    if error:
        raise error
    if geometry == "geographic" and shapes.crs is not None and shapes.crs.to_epsg() != 4326:
        shapes = shapes.to_crs(4326)
    values = shapes.values
    invalid = ~shapely.is_valid(values)
    if invalid.any():
        # Self-touching rings from simplification are common; repair rather than refuse.
        values = values.copy()
        values[invalid] = shapely.make_valid(values[invalid])
        values[invalid] = [_polygonal(g) for g in values[invalid]]
    extras = {
        str(c): frame[c].reset_index(drop=True)
        for c in frame.columns
        if c not in (geometry_column, ROW, *found.values())
    }
    columns = {
        "unit_id": unit_id,
        "name": text_with_default(table, found.get("name"), unit_id),
        **{k: v for k, v in extras.items() if k not in UNIT_COLUMNS},
        ROW: rows,
    }
    crs = shapes.crs if geometry == "planar" or shapes.crs is None else "EPSG:4326"
    return gpd.GeoDataFrame(pd.DataFrame(columns), geometry=list(values), crs=crs)


def _polygonal(geom):
    """The polygon parts of a repaired geometry (make_valid may add stray lines)."""
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else geom
