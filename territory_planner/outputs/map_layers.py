"""The map's layers as Leaflet JavaScript: step three of Plan → map HTML.

The page carries each piece of data once. :func:`plan_data_js` puts the territory
table on the map object (``map.tpT``: escaped id, rep, colour, tooltip and popup HTML,
the anchor a moved account's line starts from, the vacant flag); each ``*_js`` builder
then turns a :class:`~territory_planner.outputs.map_frame.PlanFrame` into the body of a
JS function that returns a Leaflet layer reading it:

* ``account_js``: every account as a canvas circle marker (colour of its territory,
  area growing with potential) with one shared tooltip and popup; the data as columns
  (``map.tpA``: coordinates, ids, names, segment codes, territory, potential, workload,
  distance, and the accounts that change rep), not one object per account;
* ``outline_js`` / ``vacant_js``: territory outlines (delta-encoded integer
  coordinates, ``map.tpO``) and the vacant ones again, dashed and darkened;
* ``home_js``: rep homes (hollow where the seat is open); ``move_js``: reps relocating
  to a chosen center; ``moved_accounts_js``: a line from the territory of each moved
  account's current rep (its home, else a point inside its outline) to the account;
* ``background_js``: state or county lines under everything, not clickable.

User strings are HTML-escaped in Python before they reach the page and every JSON blob
is script-safe (:func:`safe_json`), so the JS only concatenates escaped text.

The builders are public for ``maps.plan_map``, which wraps each in a :class:`PlanLayer`
(:func:`plan_data_js` in a :class:`PlanData`): they take the frame once its colours are
set (``PlanFrame.set_colors``) and, where they draw outlines, the shapes of
``map_outlines.outline_shapes``. Public too, for callers that draw layers of their own on a
plan's map (the comparison report rings moved accounts; pass them as
``plan_map(plan, extra_layers=[...])``): :class:`PlanLayer`, :func:`fill_template` (JS
templates with ``__NAME__`` slots) and :func:`safe_json` (data for a ``<script>``).
Coordinates in such a layer are display coordinates,
``map_frame.PlanFrame(plan).to_display(x, y)``.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.map import Layer
from folium.template import Template

from territory_planner.outputs.map_frame import (
    OUTLINE_FILL_OPACITY,
    UNASSIGNED_COLOR,
    PlanFrame,
    finite_number,
    html_text,
    is_missing,
)

#: Integer steps per coordinate unit of the delta-encoded shapes: 10⁻⁴° ≈ 11 m for
#: territory outlines, 10⁻³° ≈ 110 m for the background lines; planar display units
#: span 200, so 10⁻³ of a unit is 1/200,000 of the plan.
OUTLINE_SCALE = 10_000
BACKGROUND_SCALE = 1_000
PLANAR_SCALE = 1_000
#: Decimals of account coordinates: 10⁻⁴° ≈ 11 m; planar display units 10⁻³.
ACCOUNT_DIGITS = 4
PLANAR_ACCOUNT_DIGITS = 3
VACANT_STYLE = {"color": "#1A1A1A", "weight": 2.5, "dashArray": "7 5", "opacity": 0.95,
                "fillColor": "#1A1A1A", "fillOpacity": 0.18}
BACKGROUND_STYLES = {"states": {"color": "#8F8F8F", "weight": 0.9}, "counties": {"color": "#BDBDBD", "weight": 0.5}}


# ------------------------------------------------------------------------ data for JS


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


def encode_shape(geom, frame: PlanFrame, scale: int) -> list:
    """A (Multi)Polygon as ``[polygon: [ring: [x0, y0, dx1, dy1, …]]]`` in display coordinates.

    Each ring is rounded to ``1/scale`` and written as integer steps from the previous
    vertex (the first from 0): half the characters of decimal coordinates. Consecutive
    vertices that round onto each other are dropped. The page decodes it with the
    ``shape`` helper of ``_JS_HELPERS``.

    >>> import shapely
    >>> frame = type("F", (), {"to_display": staticmethod(lambda x, y: (x, y))})()
    >>> encode_shape(shapely.box(0, 0, 1, 1), frame, 10)
    [[[10, 0, 0, 10, -10, 0, 0, -10, 10, 0]]]
    """
    polygons = shapely.get_parts(geom)
    return [[_encode_ring(p.exterior, frame, scale), *(_encode_ring(i, frame, scale) for i in p.interiors)]
            for p in polygons if p.geom_type == "Polygon"]


def _encode_ring(line, frame: PlanFrame, scale: int) -> list:
    coords = shapely.get_coordinates(line)
    lng, lat = frame.to_display(coords[:, 0], coords[:, 1])
    steps = np.round(np.column_stack([lng, lat]) * scale).astype(np.int64)
    keep = np.ones(len(steps), dtype=bool)
    keep[1:] = (np.diff(steps, axis=0) != 0).any(axis=1)
    steps = steps[keep]
    return np.diff(steps, axis=0, prepend=np.zeros((1, 2), np.int64)).reshape(-1).tolist()


def encode_lines(geom, frame: PlanFrame, scale: int) -> list:
    """A (Multi)LineString as ``[line: [x0, y0, dx1, dy1, …]]``, like :func:`encode_shape`'s rings."""
    return [_encode_ring(line, frame, scale) for line in shapely.get_parts(shapely.line_merge(geom))
            if line.geom_type == "LineString" and not line.is_empty]


def _darker(color: str, factor: float = 0.6) -> str:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"#{round(r * factor):02X}{round(g * factor):02X}{round(b * factor):02X}"


def _pct(value, signed: bool = True) -> str:
    v = finite_number(value)
    if v is None:
        return "—"
    return f"{v:+.1f}%" if signed else f"{v:.1f}%"


def _amount(value, digits: int = 0) -> str:
    v = finite_number(value)
    return "—" if v is None else f"{v:,.{digits}f}"


def _territory_popup(frame: PlanFrame, t: int, gained: int = 0, lost: int = 0) -> tuple[str, str]:
    """(tooltip, popup) HTML for territory ``t``: its KPIs, user strings escaped."""
    row = frame.territories.iloc[t]
    get = row.get
    tid = html_text(frame.territory_ids[t])
    rep = frame.rep_label(t)
    status = html_text(get("status"))
    util = finite_number(get("utilisation"))
    distance_unit = "" if frame.planar else " km"
    # Deviations are measured against each territory's target: the mean, or its
    # target_share of the total when the reps file sets one.
    share = finite_number(get("target_share"))
    versus = "vs mean" if share is None else f"vs target ({share:g} share)"

    def balance(activity: str, digits: int, unit: str = "") -> str:
        band = frame.bands.get(activity)
        dev = finite_number(get(f"{activity}_dev_pct"))
        outside = band is not None and dev is not None and abs(dev) > 100 * band + 1e-9
        text = f"{_amount(get(activity), digits)}{unit} ({_pct(get(f'{activity}_dev_pct'))} {versus}"
        text += f"; band ±{100 * band:g}%)" if band is not None else ")"
        return f'<span class="tp-out">{text}</span>' if outside else text

    said = status and status.lower() not in rep.lower()  # an open seat's rep is "(open)" already
    cells = [
        ("rep", rep + (f" ({status})" if said else "")),
        ("accounts", _amount(get("n_accounts"))),
        ("potential", balance("potential", 0)),
        ("workload", balance("workload", 1, " h")),
        ("utilisation", "—" if util is None else f"{util * 100:.0f}%"),
        ("mean distance", _amount(get("mean_distance_km"), 1) + distance_unit),
    ]
    if finite_number(get("max_distance_km")) is not None:
        cells.append(("max distance", _amount(get("max_distance_km"), 1) + distance_unit))
    if finite_number(get("quota")) is not None:
        cells.append(("quota", _amount(get("quota"))))
    if finite_number(get("expected_attainment")) is not None:
        cells.append(("expected attainment", f"{100 * finite_number(get('expected_attainment')):.0f}%"))
    if gained or lost:
        cells.append(("accounts changing rep", f"+{gained:,} in, −{lost:,} out"))
    move = finite_number(get("relocation_km"))
    if move is not None:
        cells.append(("relocation", f"moves {_amount(move, 1)}{distance_unit or ' distance units'}"))
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in cells)
    swatch = f'<span class="tp-swatch" style="background:{frame.colors[t]}"></span>'
    badge = ' <span class="tp-badge">vacant</span>' if frame.vacant[t] else ""
    popup = f'<div class="tp-popup-title">{swatch}Territory {tid}{badge}</div><table class="tp-table">{body}</table>'
    tip = f"{tid} · {rep}" if rep else tid
    return tip + (" (vacant)" if frame.vacant[t] and "open" not in rep.lower() else ""), popup


def _anchors(frame: PlanFrame, outlines) -> np.ndarray:
    """(n_territories, 2) display point per territory: its home, else a point in its outline."""
    homes = frame.home_xy()
    lng, lat = frame.to_display(homes[:, 0], homes[:, 1])
    anchors = np.column_stack([lng, lat])
    if outlines is not None and len(outlines):
        inside = shapely.point_on_surface(np.asarray(outlines.geometry.values, dtype=object))
        for t, point in zip(outlines["order"].to_numpy(), inside, strict=True):
            if not np.isfinite(anchors[t]).all():
                x, y = frame.to_display([point.x], [point.y])
                anchors[t] = (x[0], y[0])
    return anchors


def plan_data_js(frame: PlanFrame, outlines) -> str:
    """Script setting ``map.tpT``, the territory table every layer reads."""
    t_all = frame.accounts["_t"].to_numpy()
    origin = frame.accounts["_from"].to_numpy()
    n = len(frame.territory_ids)
    gained = np.bincount(t_all[(origin > -2) & (t_all >= 0)], minlength=n)
    lost = np.bincount(origin[origin >= 0], minlength=n)
    anchors = _anchors(frame, outlines)
    digits = PLANAR_ACCOUNT_DIGITS if frame.planar else ACCOUNT_DIGITS
    table = []
    for t, tid in enumerate(frame.territory_ids):
        tip, popup = _territory_popup(frame, t, int(gained[t]), int(lost[t]))
        entry = {"id": html_text(tid), "rep": frame.rep_label(t), "color": frame.colors[t], "stroke": _darker(frame.colors[t]),
                 "tip": tip, "pop": popup}
        if np.isfinite(anchors[t]).all():
            entry["a"] = [round(float(anchors[t, 0]), digits), round(float(anchors[t, 1]), digits)]
        if frame.vacant[t]:
            entry["v"] = 1
        table.append(entry)
    return "map.tpT = " + safe_json(table) + ";"


# Shared JS: number formatting, a popup table row, decoding of encode_shape, and where a
# moved account comes from. Inputs are pre-escaped strings or numbers, so string
# concatenation into HTML is safe.
_JS_HELPERS = """
    var T = map.tpT, NONE = {id: "(unassigned)", rep: "", color: "__UNASSIGNED__"};
    var fmt = function (v, digits) {
        if (v === null || v === undefined) { return "\\u2014"; }
        return v.toLocaleString("en-US", {maximumFractionDigits: digits});
    };
    var row = function (k, v) { return "<tr><th>" + k + "</th><td>" + v + "</td></tr>"; };
    var ring = function (r, s) {
        var out = new Array(r.length / 2), x = 0, y = 0;
        for (var i = 0; i < r.length; i += 2) { x += r[i]; y += r[i + 1]; out[i / 2] = [y / s, x / s]; }
        return out;
    };
    var shape = function (polygons, s) {
        return polygons.map(function (p) { return p.map(function (r) { return ring(r, s); }); });
    };
    var label = function (t) { return t.id + (t.rep ? " \\u00b7 " + t.rep : ""); };
    var origin = function (mv) {
        return mv[1] >= 0 ? label(T[mv[1]]) : mv[2] + " (no territory in this plan)";
    };
"""


def _helpers() -> str:
    return fill_template(_JS_HELPERS, UNASSIGNED=UNASSIGNED_COLOR)


_ACCOUNT_JS = """
    var A = __DATA__;
    map.tpA = A;
    __HELPERS__
    var moved = {};
    A.mv.forEach(function (mv) { moved[mv[0]] = mv; });
    var n = A.t.length, markers = new Array(n);
    for (var k = 0; k < n; k++) {
        var t = T[A.t[k]] || NONE, p = A.p[k];
        var share = p > 0 && A.top > 0 ? Math.min(1, p / A.top) : 0;
        var marker = L.circleMarker([A.xy[2 * k + 1], A.xy[2 * k]], {
            radius: 3 + 4 * Math.sqrt(share), color: "#FFFFFF", weight: 0.8,
            opacity: 0.9, fillColor: t.color, fillOpacity: 0.9
        });
        marker.k = k;
        markers[k] = marker;
    }
    var layer = L.featureGroup(markers);
    layer.bindTooltip(function (l) {
        var k = l.k, t = T[A.t[k]] || NONE;
        return "<b>" + (A.n[k] || A.i[k]) + "</b> \\u00b7 " + t.id;
    }, {sticky: true});
    layer.bindPopup(function (l) {
        var k = l.k, t = T[A.t[k]] || NONE, mv = moved[k];
        return "<table class=\\"tp-table\\">" + row("account", A.i[k]) + row("name", A.n[k]) +
            row("segment", A.g[k] >= 0 ? A.segs[A.g[k]] : "") + row("potential", fmt(A.p[k], 0)) +
            row("workload", fmt(A.w[k], 1) + " h") + row("territory", t.id) + row("rep", t.rep) +
            row("__DISTANCE__", fmt(A.d[k], 1)) + (mv ? row("moves from", origin(mv)) : "") + "</table>";
    });
    return layer;
"""


def _column(acc: pd.DataFrame, name: str) -> list:
    return list(acc[name]) if name in acc.columns else [None] * len(acc)


def _numbers(acc: pd.DataFrame, name: str, digits: int) -> list:
    """A numeric column for JSON: rounded, whole numbers as ints, missing as null."""
    if name not in acc.columns:
        return [None] * len(acc)
    values = np.round(pd.to_numeric(acc[name], errors="coerce").to_numpy(float), digits)
    whole = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2**53)
    return [int(v) if w else (float(v) if np.isfinite(v) else None) for v, w in zip(values, whole, strict=True)]


def account_js(frame: PlanFrame) -> str:
    """Accounts as columns (``map.tpA``): a third of the bytes of one object per account."""
    acc = frame.accounts
    potential = _numbers(acc, "potential", 2)
    finite = [p for p in potential if p is not None and p > 0]
    segments = [None if is_missing(s) else str(s) for s in _column(acc, "segment")]
    codes = {s: i for i, s in enumerate(dict.fromkeys(s for s in segments if s is not None))}
    origin = acc["_from"].to_numpy()
    moves = []
    for k in np.flatnonzero(origin > -2):
        move = [int(k), int(origin[k])]
        if origin[k] < 0:
            move.append(html_text(acc["current_rep_id"].iloc[k]))
        moves.append(move)
    lng, lat = frame.to_display(acc["_x"], acc["_y"])
    digits = PLANAR_ACCOUNT_DIGITS if frame.planar else ACCOUNT_DIGITS
    xy = np.column_stack([np.round(lng, digits), np.round(lat, digits)]).reshape(-1)
    data = {
        "xy": [int(v) if v == int(v) else float(v) for v in xy.tolist()],
        "i": [html_text(v) for v in _column(acc, "account_id")],
        "n": [html_text(v) for v in _column(acc, "name")],
        "segs": [html_text(s) for s in codes],
        "g": [codes.get(s, -1) for s in segments],
        "t": acc["_t"].astype(int).tolist(),
        "p": potential,
        "w": _numbers(acc, "workload", 2),
        "d": _numbers(acc, "distance_km", 1),
        "top": max(finite) if finite else 0,
        "mv": moves,
    }
    return fill_template(_ACCOUNT_JS, HELPERS=_helpers(), DISTANCE="distance" if frame.planar else "distance (km)",
                         DATA=safe_json(data))


_OUTLINE_JS = """
    var O = __DATA__;
    map.tpO = O;
    __HELPERS__
    var layer = L.featureGroup(O.f.map(function (f) {
        var t = T[f[0]], polygon = L.polygon(shape(f[1], O.s), {
            color: t.stroke, weight: 2, opacity: 0.9, fillColor: t.color, fillOpacity: __FILL_OPACITY__
        });
        polygon.t = f[0];
        return polygon;
    }));
    map.tpOutlines = layer;
    layer.bindTooltip(function (l) { return T[l.t].tip; }, {sticky: true});
    layer.bindPopup(function (l) { return T[l.t].pop; });
    // Outlines share the accounts' canvas (one canvas gets all clicks, so both layers
    // keep their popups); whenever the outlines are (re-)added they go underneath.
    layer.on("add", function () { layer.bringToBack(); });
    return layer;
"""


def outline_js(frame: PlanFrame, outlines) -> str:
    """Territory outlines (``map.tpO``), filled in their territory's colour, under the accounts."""
    scale = PLANAR_SCALE if frame.planar else OUTLINE_SCALE
    features = [[int(order), encode_shape(geom, frame, scale)]
                for order, geom in zip(outlines["order"], outlines.geometry, strict=True)]
    return fill_template(_OUTLINE_JS, HELPERS=_helpers(), FILL_OPACITY=str(OUTLINE_FILL_OPACITY),
                         DATA=safe_json({"s": scale, "f": features}))


_VACANT_JS = """
    var O = map.tpO;
    __HELPERS__
    var layer = L.featureGroup(O.f.filter(function (f) { return T[f[0]].v; }).map(function (f) {
        var polygon = L.polygon(shape(f[1], O.s), __STYLE__);
        polygon.t = f[0];
        return polygon;
    }));
    layer.bindTooltip(function (l) { return "<b>Vacant seat</b> \\u00b7 " + T[l.t].tip; }, {sticky: true});
    layer.bindPopup(function (l) { return T[l.t].pop; });
    // Above the outlines, below the accounts.
    layer.on("add", function () {
        layer.bringToBack();
        if (map.hasLayer(map.tpOutlines)) { map.tpOutlines.bringToBack(); }
    });
    return layer;
"""


def vacant_js(frame: PlanFrame, outlines) -> str | None:
    """Vacant territories (seat status open) drawn again: dashed, darkened; None if none."""
    if not len(outlines) or not frame.vacant[outlines["order"].to_numpy(int)].any():
        return None
    return fill_template(_VACANT_JS, HELPERS=_helpers(), STYLE=safe_json(VACANT_STYLE))


_HOME_JS = """
    var H = __DATA__;
    __HELPERS__
    var layer = L.featureGroup(H.map(function (h) {
        var t = T[h[0]], marker = L.marker([h[2], h[1]], {
            icon: L.divIcon({
                className: "tp-home-icon", iconSize: [18, 18], iconAnchor: [9, 9],
                html: "<div class=\\"tp-home" + (t.v ? " tp-open" : "") + "\\" style=\\"background:" + t.color + "\\"></div>"
            }),
            keyboard: false
        });
        marker.t = h[0];
        return marker;
    }));
    layer.bindTooltip(function (l) { return "Home of " + T[l.t].tip; });
    layer.bindPopup(function (l) { return T[l.t].pop; });
    return layer;
"""


def home_js(frame: PlanFrame) -> str:
    """A diamond at each territory's home base in its colour; hollow and dashed for an open seat."""
    homes = frame.home_xy()
    ok = np.flatnonzero(np.isfinite(homes).all(axis=1))
    lng, lat = frame.to_display(homes[ok, 0], homes[ok, 1])
    digits = 6 if not frame.planar else 4
    data = [[int(t), round(float(x), digits), round(float(y), digits)] for t, x, y in zip(ok, lng, lat, strict=True)]
    return fill_template(_HOME_JS, HELPERS=_helpers(), DATA=safe_json(data))


_MOVED_ACCOUNTS_JS = """
    var A = map.tpA;
    __HELPERS__
    var parts = A.mv.map(function (mv) {
        var k = mv[0], at = [A.xy[2 * k + 1], A.xy[2 * k]], from = mv[1] >= 0 ? T[mv[1]] : null, part;
        if (from && from.a) {
            part = L.polyline([[from.a[1], from.a[0]], at], {color: from.color, weight: 1.5, opacity: 0.85});
        } else {  // the current rep holds no territory in this plan: ring the account
            part = L.circleMarker(at, {radius: 7, color: "#1A1A1A", weight: 1.5, dashArray: "3 2", fill: false});
        }
        part.mv = mv;
        return part;
    });
    var layer = L.featureGroup(parts);
    layer.bindTooltip(function (l) {
        var k = l.mv[0], to = T[A.t[k]] || NONE;
        return "<b>" + (A.n[k] || A.i[k]) + "</b> " + A.i[k] + "<br>from " + origin(l.mv) + "<br>to " + label(to);
    }, {sticky: true});
    return layer;
"""


def moved_accounts_js(frame: PlanFrame) -> str | None:
    """Accounts that change rep: a line from their current rep's territory; None if none."""
    if not (frame.accounts["_from"] > -2).any():
        return None
    return fill_template(_MOVED_ACCOUNTS_JS, HELPERS=_helpers())


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


def move_js(frame: PlanFrame) -> str | None:
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
        rep = frame.rep_label(t)
        move = finite_number(row.get("relocation_km"))
        tip = f"{rep} moves {_amount(move, 1)}{unit} to territory {html_text(frame.territory_ids[t])}"
        (x0, x1), (y0, y1) = frame.to_display([homes[t, 0], centers[t, 0]], [homes[t, 1], centers[t, 1]])
        start = [round(float(x0), digits), round(float(y0), digits)]
        end = [round(float(x1), digits), round(float(y1), digits)]
        props = {"color": frame.colors[t], "tip": tip}
        features.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [start, end]}, "properties": props})
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": start}, "properties": props})
    return fill_template(_MOVE_JS, DATA=safe_json({"type": "FeatureCollection", "features": features}))


_BACKGROUND_JS = """
    var B = __DATA__;
    __HELPERS__
    // Their own canvas in a pane under the overlays: never above a territory, never clicked.
    var pane = map.getPane("tpBackground") || map.createPane("tpBackground");
    pane.style.zIndex = 350;
    pane.style.pointerEvents = "none";
    var renderer = map.tpBackgroundRenderer || (map.tpBackgroundRenderer = L.canvas({pane: "tpBackground"}));
    return L.featureGroup(B.f.map(function (lines) {
        return L.polyline(lines.map(function (r) { return ring(r, B.s); }), {
            renderer: renderer, color: B.color, weight: B.weight, opacity: 1, interactive: false
        });
    }), {attribution: B.source});
"""


def background_js(frame: PlanFrame, shapes, kind: str, source: str = "") -> str:
    """State or county lines (``map_background.background_shapes``) as one layer.

    ``source`` (HTML) is shown in the map's attribution corner while the layer is on.
    """
    features = [encode_lines(geom, frame, BACKGROUND_SCALE) for geom in shapes.geometry]
    style = BACKGROUND_STYLES[kind]
    data = {"s": BACKGROUND_SCALE, "color": style["color"], "weight": style["weight"], "source": source, "f": features}
    return fill_template(_BACKGROUND_JS, HELPERS=_helpers(), DATA=safe_json(data))


# ------------------------------------------------------------------- folium elements


class PlanLayer(Layer):
    """A toggleable overlay whose Leaflet layer is built by the given JS function body.

    Parameters
    ----------
    name : the layer's name in the layer control, as HTML (escape user text).
    body : the body of a JS function that sees ``map`` (the Leaflet map) and returns
        the Leaflet layer; ``Layer.render`` adds it to the map. Fill data in with
        :func:`fill_template` and :func:`safe_json`.
    show : whether the layer is on when the page opens (the layer control turns it on).
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

    def __init__(self, name: str, body: str, *, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "PlanLayer"
        self.body = body


class PlanData(MacroElement):
    """A script run before the layers, e.g. ``plan_data_js``'s territory table."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function (map) {
                {{ this.body }}
            })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, body: str):
        super().__init__()
        self._name = "PlanData"
        self.body = body
