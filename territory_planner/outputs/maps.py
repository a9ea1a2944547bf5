"""The plan map: one self-contained, offline HTML page per plan.

``plan_map(plan)`` draws a :class:`~territory_planner.plan.Plan` with folium:

* **accounts** as one GeoJSON layer of canvas circle markers (colour = territory, radius
  grows mildly with potential), with one shared popup and tooltip bound to the layer, so
  a 10,000-account plan stays one small data array instead of 10,000 folium objects;
* **territory outlines**: Voronoi cells of the accounts dissolved by territory and
  clipped to the accounts' surroundings (US land when every account is in the US), with
  the territory KPIs in a popup;
* **rep homes** as DOM markers of a different shape;
* a fixed **legend / KPI panel** and a layer control.

Offline: Leaflet's JavaScript and CSS (with its images) come from the installed
``django-js-lib-leaflet`` package as ``data:`` URIs set on the map instance, folium's
jQuery/Bootstrap/Font Awesome links are dropped, and no tiles are drawn unless the caller
passes a tile URL. Nothing is fetched from the network, and other folium maps in the
process are not affected (no global patching).

Safety: every string that comes from the planner's data (account, rep, segment and
territory names, ids, the scenario name) is HTML-escaped with :func:`html.escape` before
it reaches a popup, tooltip or the legend, and every JSON blob embedded in a ``<script>``
has ``<``, ``>`` and ``&`` written as ``\\u`` escapes.
"""

from __future__ import annotations

import base64
import hashlib
import html
import importlib.resources
import json
import math
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import folium
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.template import Template

from territory_planner.errors import InputError
from territory_planner.outputs.files import atomic_write_text
from territory_planner.plan import Plan

__all__ = ["PALETTE", "plan_map", "territory_colors", "territory_outlines", "write_map"]

#: Qualitative palette for territories, used in territory order and cycled beyond 40.
#: Tableau 10 (without its grey) first, then colours added greedily to maximise the
#: smallest CIELAB distance to those already chosen (lightness 30–82, chroma > 30, so
#: none is washed out on a white map). Smallest pairwise ΔE*ab: 30 among the first 30,
#: 28 among all 40.
PALETTE: tuple[str, ...] = (
    "#4E79A7", "#F28E2B", "#E15759", "#59A14F", "#B07AA1", "#EDC948", "#76B7B2", "#FF9DA7",
    "#9C755F", "#0000FF", "#FF00D2", "#00E100", "#695AE1", "#FF0000", "#870078", "#FF0F87",
    "#FF96FF", "#A5D200", "#5A5A00", "#C30FFF", "#0F5A3C", "#00E1B4", "#873C00", "#C3C387",
    "#0096FF", "#4B3C87", "#960F4B", "#00C3FF", "#4BE169", "#C3C3FF", "#8700B4", "#879600",
    "#B40F00", "#003CF0", "#B4873C", "#FF004B", "#A587E1", "#009600", "#E15AA5", "#005A00",
)
UNASSIGNED_COLOR = "#8C8C8C"
#: Fill opacity of territory outlines (light, so accounts stay readable on top).
OUTLINE_FILL_OPACITY = 0.3
#: Map background without tiles.
BACKGROUND = "#FFFFFF"
#: Planar plans are scaled so that their larger side spans this many CRS.Simple units.
PLANAR_EXTENT = 200.0

_LEAFLET_PACKAGE = "js_lib_leaflet"
_LEAFLET_DIR = ("static", "js_lib_leaflet")
_US_STATES = ("_plotly_geo", "package_data", "cb_2016_us_state_500k.shp")


# ---------------------------------------------------------------------------- public API


def plan_map(plan: Plan, *, title: str | None = None, tiles: str | None = None) -> folium.Map:
    """An interactive, offline folium map of a plan.

    Parameters
    ----------
    plan : the plan to draw; reads ``assignments``, ``territories``, ``geometry``,
        ``scenario.name`` and ``summary()`` only.
    title : heading of the legend and the page title; defaults to the scenario name.
    tiles : optional tile URL template (``https://…/{z}/{x}/{y}.png``) or folium tile
        name. Default None: no tiles, so the page needs no network at all.

    Returns
    -------
    folium.Map whose HTML (``write_map`` or ``m.get_root().render()``) loads nothing from
    the network unless ``tiles`` was given. Element ids are derived from the plan, so the
    same plan gives byte-identical HTML.
    """
    planar = plan.geometry == "planar"
    if planar and tiles:
        raise ValueError("tiles make no sense on a planar plan (x/y coordinates); leave tiles=None")
    frame = _PlanFrame(plan)
    summary = plan.summary()
    heading = title if title is not None else str(summary.get("scenario") or plan.scenario.name)

    center = frame.center()
    m = folium.Map(
        location=center,
        zoom_start=0 if planar else 6,
        tiles=None,
        crs="Simple" if planar else "EPSG3857",
        prefer_canvas=True,
        control_scale=not planar,
        zoom_snap=0.25,
    )
    # Per-instance asset lists: folium's class attributes (CDN links to Leaflet, jQuery,
    # Bootstrap, Font Awesome) stay untouched for every other map in the process.
    m.default_js = [("leaflet", _leaflet_js_uri())]
    m.default_css = [("leaflet_css", _leaflet_css_uri())]
    m.get_root().title = html.escape(heading)

    if tiles:
        attr = "Map tiles: " + html.escape(tiles.split("/")[2] if "://" in tiles else tiles)
        folium.TileLayer(tiles=tiles, attr=attr, name="Tiles", control=False).add_to(m)

    outlines = _outlines(frame)
    _PlanLayer("Territory outlines", _outline_js(frame, outlines)).add_to(m)
    _PlanLayer(f"Accounts ({len(frame.accounts):,})", _account_js(frame)).add_to(m)
    _PlanLayer("Rep homes", _home_js(frame)).add_to(m)
    moves = _move_js(frame)
    if moves is not None:
        _PlanLayer("Rep moves", moves).add_to(m)
    _Legend(_legend_html(frame, summary, heading), _legend_css()).add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.fit_bounds(frame.bounds(), padding=(12, 12))
    _number_elements(m.get_root(), _plan_digest(frame, heading, tiles))
    return m


def write_map(plan: Plan, path) -> Path:
    """Write ``plan_map(plan)`` to ``path`` atomically and return the path.

    The HTML goes to a temporary file in the same folder, is flushed to disk, then
    renamed over ``path`` with :func:`os.replace`, so a reader never sees half a map and
    a failed write leaves the previous map in place.
    """
    return atomic_write_text(path, plan_map(plan).get_root().render())


def territory_colors(territory_ids: Iterable) -> dict:
    """``{territory_id: "#RRGGBB"}`` in the given order, cycling through ``PALETTE``."""
    return {tid: PALETTE[i % len(PALETTE)] for i, tid in enumerate(territory_ids)}


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
    ``plan.territories``), ``color``, ``n_accounts`` and ``geometry``, in territory order.
    """
    return _outlines(_PlanFrame(plan))


def _outlines(frame: _PlanFrame):
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
                    "color": frame.colors[t],
                    "n_accounts": int(counts[t]),
                    "geometry": shapely.MultiPolygon(polygons) if len(polygons) > 1 else polygons[0],
                }
            )
    columns = ["territory_id", "order", "color", "n_accounts", "geometry"]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns), geometry="geometry", crs=crs)


def _unit_outlines(frame: _PlanFrame, placed: pd.DataFrame, crs):
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
            rows.append({"territory_id": frame.territory_ids[t], "order": t, "color": frame.colors[t], "n_accounts": int(counts[t]),
                         "geometry": shapely.MultiPolygon(polygons) if len(polygons) > 1 else polygons[0]})
    columns = ["territory_id", "order", "color", "n_accounts", "geometry"]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns), geometry="geometry", crs=crs)


# ------------------------------------------------------------------------ plan as arrays


class _PlanFrame:
    """The plan's tables reduced to what the map draws, with missing columns tolerated.

    ``accounts`` has ``_x``/``_y`` (lon/lat or planar x/y), ``_t`` (territory position,
    −1 if unassigned) and the optional display columns; ``territories`` one row per
    territory in plan order with its KPIs.
    """

    def __init__(self, plan: Plan):
        self.planar = plan.geometry == "planar"
        # Unit plans (data.units) carry their unit polygons: outlines are those, dissolved.
        meta = plan.problem.meta if plan.problem is not None else {}
        self.unit_shapes = meta.get("units")
        accounts = plan.assignments
        territories = plan.territories
        x_col, y_col = ("x", "y") if self.planar else ("lon", "lat")
        for col in (x_col, y_col, "territory_id"):
            if col not in accounts.columns:
                raise InputError(
                    f"the plan's assignments have no '{col}' column",
                    column=col,
                    fix=f"a {plan.geometry} plan needs columns {x_col}, {y_col} and territory_id",
                )
        ids: list = list(territories["territory_id"]) if "territory_id" in territories.columns else []
        seen = set(ids)
        for tid in accounts["territory_id"]:
            if not _missing(tid) and tid not in seen:
                ids.append(tid)
                seen.add(tid)
        self.territory_ids = ids
        self.colors = [PALETTE[i % len(PALETTE)] for i in range(len(ids))]
        position = {tid: i for i, tid in enumerate(ids)}

        acc = accounts.copy()
        acc["_x"] = pd.to_numeric(acc[x_col], errors="coerce")
        acc["_y"] = pd.to_numeric(acc[y_col], errors="coerce")
        acc = acc[np.isfinite(acc["_x"]) & np.isfinite(acc["_y"])]
        acc["_t"] = [position.get(t, -1) if not _missing(t) else -1 for t in acc["territory_id"]]
        self.accounts = acc.reset_index(drop=True)

        terr = territories.copy() if len(territories.columns) else pd.DataFrame({"territory_id": []})
        if "territory_id" not in terr.columns:
            terr["territory_id"] = pd.Series(dtype=object)
        terr = terr.set_index("territory_id", drop=False).reindex(ids)
        terr["territory_id"] = ids
        self._fill_territory_kpis(terr)
        self.territories = terr.reset_index(drop=True)

        if self.planar:
            homes = np.vstack([self.home_xy(), self.rep_home_xy()])
            xs = np.concatenate([self.accounts["_x"].to_numpy(), homes[:, 0]])
            ys = np.concatenate([self.accounts["_y"].to_numpy(), homes[:, 1]])
            xs, ys = xs[np.isfinite(xs)], ys[np.isfinite(ys)]
            self._origin = (float(xs.min()), float(ys.min())) if len(xs) else (0.0, 0.0)
            span = max(float(np.ptp(xs)), float(np.ptp(ys))) if len(xs) else 0.0
            self._scale = PLANAR_EXTENT / span if span > 0 else 1.0

    def _fill_territory_kpis(self, terr: pd.DataFrame) -> None:
        """Derive counts, totals and deviations from the accounts where columns are missing."""
        grouped = self.accounts[self.accounts["_t"] >= 0].groupby("_t")
        n_terr = len(self.territory_ids)
        if "n_accounts" not in terr.columns or terr["n_accounts"].isna().all():
            terr["n_accounts"] = grouped.size().reindex(range(n_terr), fill_value=0).to_numpy()
        for activity in ("potential", "workload"):
            if (activity not in terr.columns or terr[activity].isna().all()) and activity in self.accounts.columns:
                terr[activity] = grouped[activity].sum().reindex(range(n_terr), fill_value=0).to_numpy()
            dev = f"{activity}_dev_pct"
            if (dev not in terr.columns or terr[dev].isna().all()) and activity in terr.columns:
                values = pd.to_numeric(terr[activity], errors="coerce")
                mean = values.mean()
                terr[dev] = (values - mean) / mean * 100 if mean else np.nan

    # -- coordinates --------------------------------------------------------------------

    def to_display(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Data coordinates -> GeoJSON (lng, lat): identity for lon/lat, scaled for planar."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        if not self.planar:
            return x, y
        return (x - self._origin[0]) * self._scale, (y - self._origin[1]) * self._scale

    def home_xy(self) -> np.ndarray:
        """(n_territories, 2) home base per territory in data coordinates (x, y), NaN if none.

        Geographic: ``home_lon``/``home_lat``. Planar: ``home_x``/``home_y`` if present,
        else ``home_lat``/``home_lon`` holding (x, y) in that order, the (first, second)
        convention of ``geo.coordinate_columns``.
        """
        terr = self.territories
        if self.planar and {"home_x", "home_y"} <= set(terr.columns):
            cols = ("home_x", "home_y")
        elif self.planar:
            cols = ("home_lat", "home_lon")
        else:
            cols = ("home_lon", "home_lat")
        if not set(cols) <= set(terr.columns):
            return np.full((len(self.territory_ids), 2), np.nan)
        return np.column_stack([pd.to_numeric(terr[c], errors="coerce").to_numpy(float) for c in cols])

    def rep_home_xy(self) -> np.ndarray:
        """(n_territories, 2) where the seated rep lives today, NaN if not known.

        Only ``centers: choose`` plans with a reps file carry it (``rep_home_x``/``_y`` or
        ``rep_home_lon``/``_lat``): the rep moves from there to the territory's home base.
        """
        terr = self.territories
        cols = ("rep_home_x", "rep_home_y") if self.planar else ("rep_home_lon", "rep_home_lat")
        if not set(cols) <= set(terr.columns):
            return np.full((len(self.territory_ids), 2), np.nan)
        return np.column_stack([pd.to_numeric(terr[c], errors="coerce").to_numpy(float) for c in cols])

    def center(self) -> list[float]:
        lng, lat = self.to_display(self.accounts["_x"], self.accounts["_y"])
        if not len(lng):
            return [0.0, 0.0]
        return [float((lat.min() + lat.max()) / 2), float((lng.min() + lng.max()) / 2)]

    def bounds(self) -> list[list[float]]:
        """[[south, west], [north, east]] of accounts and homes, in display coordinates."""
        homes = np.vstack([self.home_xy(), self.rep_home_xy()])
        xs = np.concatenate([self.accounts["_x"].to_numpy(float), homes[:, 0]])
        ys = np.concatenate([self.accounts["_y"].to_numpy(float), homes[:, 1]])
        ok = np.isfinite(xs) & np.isfinite(ys)
        if not ok.any():
            return [[-1.0, -1.0], [1.0, 1.0]]
        lng, lat = self.to_display(xs[ok], ys[ok])
        return [[float(lat.min()), float(lng.min())], [float(lat.max()), float(lng.max())]]


def _missing(value) -> bool:
    """None, NaN, NA or NaT (a scalar); never raises."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-likes are not "missing"
        return False


def _text(value) -> str:
    """A user-supplied value as HTML-escaped text ('' when missing)."""
    return "" if _missing(value) else html.escape(str(value), quote=True)


def _number(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


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


def _geojson_geometry(geom, frame: _PlanFrame) -> dict:
    """A (Multi)Polygon as GeoJSON in display coordinates, rounded (1e-5° ≈ 1 m)."""
    digits = 5 if not frame.planar else 4

    def ring(r) -> list:
        coords = shapely.get_coordinates(r)
        lng, lat = frame.to_display(coords[:, 0], coords[:, 1])
        return np.column_stack([np.round(lng, digits), np.round(lat, digits)]).tolist()

    def polygon(p) -> list:
        return [ring(p.exterior)] + [ring(i) for i in p.interiors]

    if geom.geom_type == "Polygon":
        return {"type": "Polygon", "coordinates": polygon(geom)}
    return {"type": "MultiPolygon", "coordinates": [polygon(p) for p in geom.geoms]}


# ------------------------------------------------------------------------ layers (JS)


def _safe_json(obj) -> str:
    """JSON for embedding in <script>: no '<', '>', '&' or line separators left raw."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def _fill(template: str, **values: str) -> str:
    """Put ``values`` into the ``__NAME__`` slots of a JS template in one pass.

    One pass, not chained ``str.replace``: an inserted value (a rep named "__DATA__")
    must never be taken for a slot and filled in turn, which broke the page's script.
    """
    return re.sub(r"__([A-Z]+(?:_[A-Z]+)*)__", lambda m: values.get(m.group(1), m.group(0)), template)


def _darker(color: str, factor: float = 0.6) -> str:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"#{round(r * factor):02X}{round(g * factor):02X}{round(b * factor):02X}"


def _territory_table_js(frame: _PlanFrame) -> str:
    """JS array, one entry per territory: escaped id, rep name, colour (for popups)."""
    terr = frame.territories
    reps = terr["rep_name"] if "rep_name" in terr.columns else terr.get("rep_id", pd.Series([None] * len(terr)))
    entries = [
        {"id": _text(tid), "rep": _text(rep), "color": frame.colors[i]}
        for i, (tid, rep) in enumerate(zip(terr["territory_id"], reps, strict=True))
    ]
    return _safe_json(entries)


# Shared JS: number formatting and a popup table row. Inputs are pre-escaped strings or
# numbers, so string concatenation into HTML is safe.
_JS_HELPERS = """
    var fmt = function (v, digits) {
        if (v === null || v === undefined) { return "\\u2014"; }
        return v.toLocaleString("en-US", {maximumFractionDigits: digits});
    };
    var row = function (k, v) { return "<tr><th>" + k + "</th><td>" + v + "</td></tr>"; };
"""

_ACCOUNT_JS = """
    var T = __TERRITORIES__;
    var data = __DATA__;
    var NONE = {id: "(unassigned)", rep: "", color: "__UNASSIGNED__"};
    __HELPERS__
    var features = data.props.map(function (p, k) {
        return {type: "Feature", geometry: {type: "Point", coordinates: data.xy[k]}, properties: p};
    });
    var layer = L.geoJSON({type: "FeatureCollection", features: features}, {
        pointToLayer: function (f, latlng) {
            var t = T[f.properties.t] || NONE;
            return L.circleMarker(latlng, {
                radius: f.properties.r, color: "#FFFFFF", weight: 0.8,
                opacity: 0.9, fillColor: t.color, fillOpacity: 0.9
            });
        }
    });
    layer.bindTooltip(function (l) {
        var p = l.feature.properties, t = T[p.t] || NONE;
        return "<b>" + (p.n || p.i) + "</b> \\u00b7 " + t.id;
    }, {sticky: true});
    layer.bindPopup(function (l) {
        var p = l.feature.properties, t = T[p.t] || NONE;
        return "<table class=\\"tp-table\\">" + row("account", p.i) + row("name", p.n) +
            row("segment", p.s) + row("potential", fmt(p.p, 0)) +
            row("workload", fmt(p.w, 1) + " h") + row("territory", t.id) + row("rep", t.rep) +
            row("__DISTANCE__", fmt(p.d, 1)) + (p.c ? row("previous rep", p.c) : "") + "</table>";
    });
    return layer;
"""

_OUTLINE_JS = """
    var data = __DATA__;
    // Outlines share the accounts' canvas (one canvas gets all clicks, so both layers
    // keep their popups); whenever the outlines are (re-)added they go underneath.
    var layer = L.geoJSON(data, {
        style: function (f) {
            return {color: f.properties.stroke, weight: 2, opacity: 0.9,
                    fillColor: f.properties.color, fillOpacity: __FILL_OPACITY__};
        }
    });
    layer.bindTooltip(function (l) { return l.feature.properties.tip; }, {sticky: true});
    layer.bindPopup(function (l) { return l.feature.properties.popup; });
    layer.on("add", function () { layer.bringToBack(); });
    return layer;
"""

_HOME_JS = """
    var data = __DATA__;
    var layer = L.geoJSON(data, {
        pointToLayer: function (f, latlng) {
            return L.marker(latlng, {
                icon: L.divIcon({
                    className: "tp-home-icon", iconSize: [18, 18], iconAnchor: [9, 9],
                    html: "<div class=\\"tp-home\\" style=\\"background:" + f.properties.color + "\\"></div>"
                }),
                keyboard: false
            });
        }
    });
    layer.bindTooltip(function (l) { return l.feature.properties.tip; });
    layer.bindPopup(function (l) { return l.feature.properties.popup; });
    return layer;
"""


def _point_features(lng, lat, props: list[dict], digits: int) -> dict:
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(float(x), digits), round(float(y), digits)]}, "properties": p}
        for x, y, p in zip(lng, lat, props, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def _account_js(frame: _PlanFrame) -> str:
    acc = frame.accounts
    n = len(acc)

    def column(name: str) -> list:
        return list(acc[name]) if name in acc.columns else [None] * n

    potential = pd.to_numeric(acc["potential"], errors="coerce").to_numpy(float) if "potential" in acc.columns else np.full(n, np.nan)
    top = np.nanmax(potential) if n and np.isfinite(potential).any() else 0.0
    share = np.clip(np.nan_to_num(potential / top, nan=0.0), 0, 1) if top > 0 else np.zeros(n)
    radius = np.round(3.0 + 4.0 * np.sqrt(share), 1)  # 3–7 px: mild, area ~ potential^0.5

    moved = column("moved")
    previous = column("current_rep_id")
    props = []
    for i, (aid, name, seg, p, w, t, d) in enumerate(
        zip(column("account_id"), column("name"), column("segment"), potential, column("workload"), acc["_t"], column("distance_km"), strict=True)
    ):
        prop = {"i": _text(aid), "t": int(t), "r": float(radius[i])}
        for key, value in (("n", _text(name)), ("s", _text(seg))):
            if value:
                prop[key] = value
        for key, value, digits in (("p", p, 2), ("w", w, 2), ("d", d, 1)):
            v = _number(value)
            if v is not None:
                v = round(v, digits)
                prop[key] = int(v) if v.is_integer() and abs(v) < 2**53 else v
        if not _missing(moved[i]) and bool(moved[i]) and not _missing(previous[i]):
            prop["c"] = _text(previous[i])
        props.append(prop)
    # Coordinates and properties as two arrays, turned into GeoJSON features in the page:
    # a third smaller than writing out the GeoJSON boilerplate for every account.
    lng, lat = frame.to_display(acc["_x"], acc["_y"])
    digits = 5 if not frame.planar else 4
    xy = np.column_stack([np.round(lng, digits), np.round(lat, digits)]).tolist()
    data = {"xy": xy, "props": props}
    return _fill(
        _ACCOUNT_JS,
        HELPERS=_JS_HELPERS,
        TERRITORIES=_territory_table_js(frame),
        UNASSIGNED=UNASSIGNED_COLOR,
        DISTANCE="distance" if frame.planar else "distance (km)",
        DATA=_safe_json(data),
    )


def _pct(value, signed: bool = True) -> str:
    v = _number(value)
    if v is None:
        return "—"
    return f"{v:+.1f}%" if signed else f"{v:.1f}%"


def _amount(value, digits: int = 0) -> str:
    v = _number(value)
    return "—" if v is None else f"{v:,.{digits}f}"


def _territory_popup(frame: _PlanFrame, t: int) -> tuple[str, str]:
    """(tooltip, popup) HTML for territory ``t``; user strings escaped."""
    row = frame.territories.iloc[t]
    get = row.get
    tid = _text(frame.territory_ids[t])
    rep = _text(get("rep_name")) or _text(get("rep_id"))
    status = _text(get("status"))
    util = _number(get("utilisation"))
    distance_unit = "" if frame.planar else " km"
    # Deviations are measured against each territory's target: the mean, or its
    # target_share of the total when the reps file sets one.
    share = _number(get("target_share"))
    versus = "vs mean" if share is None else f"vs target ({share:g} share)"
    cells = [
        ("rep", rep + (f" ({status})" if status else "")),
        ("accounts", _amount(get("n_accounts"))),
        ("potential", f"{_amount(get('potential'))} ({_pct(get('potential_dev_pct'))} {versus})"),
        ("workload", f"{_amount(get('workload'), 1)} h ({_pct(get('workload_dev_pct'))} {versus})"),
        ("utilisation", "—" if util is None else f"{util * 100:.0f}%"),
        ("mean distance", _amount(get("mean_distance_km"), 1) + distance_unit),
    ]
    move = _number(get("relocation_km"))
    if move is not None:
        cells.append(("relocation", f"moves {_amount(move, 1)}{distance_unit or ' distance units'}"))
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in cells)
    swatch = f'<span class="tp-swatch" style="background:{frame.colors[t]}"></span>'
    popup = f'<div class="tp-popup-title">{swatch}Territory {tid}</div><table class="tp-table">{body}</table>'
    tip = f"{tid} · {rep}" if rep else tid
    return tip, popup


def _outline_js(frame: _PlanFrame, outlines) -> str:
    features = []
    for order, geom in zip(outlines["order"], outlines.geometry, strict=True):
        tip, popup = _territory_popup(frame, int(order))
        color = frame.colors[int(order)]
        features.append(
            {
                "type": "Feature",
                "geometry": _geojson_geometry(geom, frame),
                "properties": {"t": int(order), "color": color, "stroke": _darker(color), "tip": tip, "popup": popup},
            }
        )
    data = {"type": "FeatureCollection", "features": features}
    return _fill(_OUTLINE_JS, FILL_OPACITY=str(OUTLINE_FILL_OPACITY), DATA=_safe_json(data))


def _home_js(frame: _PlanFrame) -> str:
    homes = frame.home_xy()
    ok = np.isfinite(homes).all(axis=1)
    props = []
    for t in np.flatnonzero(ok):
        tip, popup = _territory_popup(frame, int(t))
        props.append({"color": frame.colors[t], "tip": "Home of " + tip, "popup": popup})
    lng, lat = frame.to_display(homes[ok, 0], homes[ok, 1])
    data = _point_features(lng, lat, props, 6 if not frame.planar else 4)
    return _fill(_HOME_JS, DATA=_safe_json(data))


_MOVE_JS = """
    var data = __DATA__;
    var layer = L.geoJSON(data, {
        style: function (f) { return {color: f.properties.color, weight: 2, opacity: 0.9, dashArray: "6 4"}; },
        pointToLayer: function (f, latlng) {
            return L.circleMarker(latlng, {radius: 5, color: f.properties.color, weight: 2,
                                           fillColor: "#ffffff", fillOpacity: 1});
        }
    });
    layer.bindTooltip(function (l) { return l.feature.properties.tip; });
    return layer;
"""


def _move_js(frame: _PlanFrame) -> str | None:
    """Dashed line from each seated rep's current home to the center they move to."""
    homes, centers = frame.rep_home_xy(), frame.home_xy()
    ok = np.isfinite(homes).all(axis=1) & np.isfinite(centers).all(axis=1)
    if not ok.any():
        return None
    unit = " distance units" if frame.planar else " km"
    digits = 4 if frame.planar else 6
    features = []
    for t in np.flatnonzero(ok):
        row = frame.territories.iloc[t]
        rep = _text(row.get("rep_name")) or _text(row.get("rep_id"))
        move = _number(row.get("relocation_km"))
        tip = f"{rep} moves {_amount(move, 1)}{unit} to territory {_text(frame.territory_ids[t])}"
        (x0, x1), (y0, y1) = frame.to_display([homes[t, 0], centers[t, 0]], [homes[t, 1], centers[t, 1]])
        start = [round(float(x0), digits), round(float(y0), digits)]
        end = [round(float(x1), digits), round(float(y1), digits)]
        props = {"color": frame.colors[t], "tip": tip}
        features.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [start, end]}, "properties": props})
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": start}, "properties": props})
    return _fill(_MOVE_JS, DATA=_safe_json({"type": "FeatureCollection", "features": features}))


class _PlanLayer(Layer):
    """A toggleable overlay whose Leaflet layer is built by the given JS function body.

    The body sees ``map`` and returns the layer; ``Layer.render`` adds it to the map.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function (map) {
                {{ this.body }}
            })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, name: str, body: str):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "PlanLayer"
        self.body = body


class _Legend(MacroElement):
    """Fixed panel with the scenario KPIs and the territory colours (pre-escaped HTML)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}
        {% macro html(this, kwargs) %}{{ this.markup }}{% endmacro %}
        """
    )

    def __init__(self, markup: str, css: str):
        super().__init__()
        self._name = "Legend"
        self.markup = markup
        self.css = css


def _legend_css() -> str:
    return (
        f".leaflet-container{{background:{BACKGROUND};}}"
        ".tp-legend{position:fixed;bottom:18px;left:10px;z-index:1000;background:rgba(255,255,255,.94);"
        "border:1px solid #999;border-radius:6px;padding:8px 10px;font:12px/1.35 system-ui,sans-serif;"
        "max-width:300px;box-shadow:0 1px 4px rgba(0,0,0,.25);}"
        ".tp-legend h4{margin:0 0 4px;font-size:14px;}"
        ".tp-legend ul{list-style:none;margin:4px 0 0;padding:0;max-height:32vh;overflow:auto;}"
        ".tp-legend li{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;}"
        ".tp-legend summary{cursor:pointer;margin-top:4px;}"
        ".tp-swatch{display:inline-block;width:10px;height:10px;margin-right:5px;border:1px solid #555;"
        "vertical-align:-1px;}"
        ".tp-table th{text-align:left;padding-right:8px;font-weight:600;white-space:nowrap;vertical-align:top;}"
        ".tp-table td{text-align:right;}"
        ".tp-popup-title{font-weight:700;margin-bottom:3px;}"
        ".tp-home{width:12px;height:12px;transform:rotate(45deg);border:2.5px solid #fff;"
        "box-shadow:0 0 0 1.5px #222;}"
        ".tp-home-icon{background:none;border:none;}"
    )


def _legend_html(frame: _PlanFrame, summary: dict, heading: str) -> str:
    gap = _number(summary.get("gap"))
    terr = frame.territories
    kpis = summary.get("kpis") or {}
    # Prefer the KPI module's numbers (balance columns of the scenario); fall back to the
    # territory table's deviation columns for plans built without KPIs.
    devs = {k[: -len("_max_dev_pct")]: v for k, v in kpis.items() if k.endswith("_max_dev_pct") and _number(v) is not None}
    if not devs:
        for activity in ("potential", "workload"):
            col = f"{activity}_dev_pct"
            if col in terr.columns:
                values = pd.to_numeric(terr[col], errors="coerce").abs()
                if values.notna().any():
                    devs[activity] = float(values.max())
    overall = _number(kpis.get("max_balance_dev_pct"))
    if devs:
        deviation = "<br>".join(f"{_text(k)} ±{float(v):.1f}%" for k, v in devs.items())
    else:
        deviation = "—" if overall is None else f"±{overall:.1f}%"
    rows = [
        ("status", _text(summary.get("status"))),
        ("gap", "—" if gap is None else f"{gap * 100:.2f}%"),
        ("max balance deviation", deviation),
        ("accounts", f"{len(frame.accounts):,}"),
        ("territories", f"{len(frame.territory_ids):,}"),
    ]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    reps = terr["rep_name"] if "rep_name" in terr.columns else [None] * len(terr)
    items = "".join(
        f'<li><span class="tp-swatch" style="background:{frame.colors[i]}"></span>{_text(tid)}'
        + (f" · {_text(rep)}" if _text(rep) else "")
        + "</li>"
        for i, (tid, rep) in enumerate(zip(frame.territory_ids, reps, strict=True))
    )
    return (
        f'<div class="tp-legend"><h4>{html.escape(heading)}</h4><table class="tp-table">{body}</table>'
        f"<details{' open' if len(frame.territory_ids) <= 12 else ''}><summary>territories</summary>"
        f"<ul>{items}</ul></details></div>"
    )


# ------------------------------------------------------------------------ offline assets


def _asset(*parts: str) -> bytes:
    return importlib.resources.files(_LEAFLET_PACKAGE).joinpath(*_LEAFLET_DIR, *parts).read_bytes()


def _data_uri(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


@lru_cache(maxsize=1)
def _leaflet_js_uri() -> str:
    """Leaflet 1.9.4 as a data: URI, without its sourceMappingURL (no map file to fetch)."""
    js = re.sub(rb"\n//# sourceMappingURL=\S+\s*$", b"\n", _asset("leaflet.js"))
    return _data_uri("text/javascript", js)


@lru_cache(maxsize=1)
def _leaflet_css_uri() -> str:
    """Leaflet's CSS as a data: URI with its images (layer icon, markers) inlined too."""
    css = _asset("leaflet.css").decode("utf-8")

    def inline(match: re.Match) -> str:
        return "url(" + _data_uri("image/png", _asset("images", match.group(1))) + ")"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", inline, css)
    return _data_uri("text/css", css.encode("utf-8"))


# ---------------------------------------------------------------------- deterministic ids


def _plan_digest(frame: _PlanFrame, heading: str, tiles: str | None) -> str:
    """Short hash of what the map draws: stable element ids, distinct between plans."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(repr((heading, tiles, frame.planar, [str(t) for t in frame.territory_ids])).encode())
    h.update(pd.util.hash_pandas_object(frame.accounts[["_x", "_y", "_t"]], index=False).to_numpy().tobytes())
    return h.hexdigest()[:10]


def _number_elements(root: Element, prefix: str) -> None:
    """Replace folium's random element ids by ``<prefix>_<n>`` in tree order."""
    counter = 0

    def walk(element: Element) -> None:
        nonlocal counter
        element._id = f"{prefix}_{counter}"
        counter += 1
        for child in list(element._children.values()):
            walk(child)

    walk(root)
