"""The map's layers and legend as Leaflet JavaScript: step three of Plan → map HTML.

Each ``_*_js`` builder turns a :class:`~territory_planner.outputs.map_frame.PlanFrame`
(and, for outlines, the polygons from ``map_outlines``) into the body of a JS function
that returns a Leaflet layer: accounts as canvas circle markers, territory outlines, rep
homes and rep moves, with their tooltip/popup HTML (user strings escaped) and their data
embedded as script-safe JSON. ``PlanLayer`` (a toggleable overlay) and ``_Legend`` (the
KPI panel, with ``_legend_html`` / ``_legend_css``) are the folium elements that
``maps.plan_map`` adds to the map.

Public, for callers that draw layers of their own on a plan's map (the comparison report
rings moved accounts; pass them as ``plan_map(plan, extra_layers=[...])``):
:class:`PlanLayer`, :func:`fill_template` (JS templates with ``__NAME__`` slots) and
:func:`safe_json` (data for a ``<script>``). Coordinates in such a layer are display
coordinates, ``map_frame.PlanFrame(plan).to_display(x, y)``.
"""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.map import Layer
from folium.template import Template

from territory_planner.outputs.map_frame import (
    BACKGROUND,
    OUTLINE_FILL_OPACITY,
    UNASSIGNED_COLOR,
    PlanFrame,
    _missing,
    _number,
    _text,
)

# ---------------------------------------------------------------------- geometry as GeoJSON


def _geojson_geometry(geom, frame: PlanFrame) -> dict:
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


def safe_json(obj) -> str:
    """JSON for embedding in <script>: no '<', '>', '&' or line separators left raw.

    User text inside can therefore never close the script or open a tag, e.g.

    >>> print(safe_json({"name": "</script>"}))
    {"name":"\\u003c/script\\u003e"}
    """
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def fill_template(template: str, **values: str) -> str:
    """Put ``values`` into the ``__NAME__`` slots of a JS template in one pass.

    One pass, not chained ``str.replace``: an inserted value (a rep named "__DATA__")
    must never be taken for a slot and filled in turn, which broke the page's script.
    A slot without a value is left as written.

    >>> fill_template("var data = __DATA__; // __OTHER__", DATA="[1]")
    'var data = [1]; // __OTHER__'
    """
    return re.sub(r"__([A-Z]+(?:_[A-Z]+)*)__", lambda m: values.get(m.group(1), m.group(0)), template)


def _darker(color: str, factor: float = 0.6) -> str:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"#{round(r * factor):02X}{round(g * factor):02X}{round(b * factor):02X}"


def _territory_table_js(frame: PlanFrame) -> str:
    """JS array, one entry per territory: escaped id, rep name, colour (for popups)."""
    terr = frame.territories
    reps = terr["rep_name"] if "rep_name" in terr.columns else terr.get("rep_id", pd.Series([None] * len(terr)))
    entries = [
        {"id": _text(tid), "rep": _text(rep), "color": frame.colors[i]}
        for i, (tid, rep) in enumerate(zip(terr["territory_id"], reps, strict=True))
    ]
    return safe_json(entries)


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


def _account_js(frame: PlanFrame) -> str:
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
    return fill_template(
        _ACCOUNT_JS,
        HELPERS=_JS_HELPERS,
        TERRITORIES=_territory_table_js(frame),
        UNASSIGNED=UNASSIGNED_COLOR,
        DISTANCE="distance" if frame.planar else "distance (km)",
        DATA=safe_json(data),
    )


def _pct(value, signed: bool = True) -> str:
    v = _number(value)
    if v is None:
        return "—"
    return f"{v:+.1f}%" if signed else f"{v:.1f}%"


def _amount(value, digits: int = 0) -> str:
    v = _number(value)
    return "—" if v is None else f"{v:,.{digits}f}"


def _territory_popup(frame: PlanFrame, t: int) -> tuple[str, str]:
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


def _outline_js(frame: PlanFrame, outlines) -> str:
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
    return fill_template(_OUTLINE_JS, FILL_OPACITY=str(OUTLINE_FILL_OPACITY), DATA=safe_json(data))


def _home_js(frame: PlanFrame) -> str:
    homes = frame.home_xy()
    ok = np.isfinite(homes).all(axis=1)
    props = []
    for t in np.flatnonzero(ok):
        tip, popup = _territory_popup(frame, int(t))
        props.append({"color": frame.colors[t], "tip": "Home of " + tip, "popup": popup})
    lng, lat = frame.to_display(homes[ok, 0], homes[ok, 1])
    data = _point_features(lng, lat, props, 6 if not frame.planar else 4)
    return fill_template(_HOME_JS, DATA=safe_json(data))


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


def _move_js(frame: PlanFrame) -> str | None:
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
    return fill_template(_MOVE_JS, DATA=safe_json({"type": "FeatureCollection", "features": features}))


class PlanLayer(Layer):
    """A toggleable overlay whose Leaflet layer is built by the given JS function body.

    Parameters
    ----------
    name : the layer's name in the layer control, as HTML (escape user text).
    body : the body of a JS function that sees ``map`` (the Leaflet map) and returns
        the Leaflet layer; ``Layer.render`` adds it to the map. Fill data in with
        :func:`fill_template` and :func:`safe_json`.
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


def _legend_html(frame: PlanFrame, summary: dict, heading: str) -> str:
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
