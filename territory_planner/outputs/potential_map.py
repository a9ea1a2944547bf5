"""Where to sell, as a map: whitespace by county or ZIP code, offline, in one HTML page.

:func:`whitespace_map_html` draws a :class:`~territory_planner.potential.step.Estimate`
(what a scenario's ``potential:`` section found) on an interactive folium map:

* ``by="county"``: a **choropleth** of the total whitespace (potential − revenue) of each
  county's accounts, on a sequential colour scale whose bins (quantiles of the counties'
  whitespace, rounded to two significant digits) the legend lists in $. Only counties
  with accounts are drawn. An account's county is its ``unit_id`` when the caller gives
  the scenario's units (``data.units``, polygons with ``unit_id``) and the accounts carry
  one; otherwise the county its lat/lon falls in, found in the US Census Bureau's county
  shapes (cb_2016_us_county_500k, public domain, shipped by ``plotly-geo``, the file
  ``map_background`` and the demo data read), full resolution for the lookup and
  simplified as one coverage for the page;
* ``by="zip"``: ZIP codes have no offline polygons, so one **circle** per ZIP code
  (``postal_code``) at the mean location of its accounts, its area proportional to the
  whitespace, coloured on the same scale;
* per area a tooltip (name and whitespace) and a popup: name, state, accounts, potential,
  revenue, whitespace, penetration and the count of accounts by tier;
* a title box: "Whitespace by county" (or ZIP code), the total whitespace, potential,
  revenue and penetration, and the bins; state lines (and county lines, off at first,
  for accounts in at most three states) under everything, from ``map_background``.

Accounts in no area (no coordinates, offshore, a ZIP or unit_id left blank) are counted
in the title box, not drawn. Planar estimates have no map (None).

The page is offline like the plan map (``maps.plan_map``): Leaflet from the installed
``django-js-lib-leaflet`` as ``data:`` URIs (``map_assets``), no tiles, no CDN link.
User text (unit and city names, ZIP codes, tier names) is HTML-escaped
(``map_frame.html_text``) and the data is script-safe JSON (``map_layers.safe_json``).
Element ids are numbered from a hash of what the map draws, so the same estimate gives
byte-identical HTML. :func:`whitespace_by_area` is the table the map draws and
:func:`account_areas` each account's area, for a caller (or test) to check the sums.
"""

from __future__ import annotations

import hashlib
import html
import importlib.resources
import re
from functools import lru_cache

import folium
import numpy as np
import pandas as pd
import shapely

from territory_planner.errors import InputError
from territory_planner.outputs.map_assets import leaflet_css_uri, leaflet_js_uri
from territory_planner.outputs.map_background import (
    COUNTY_TOLERANCE,
    MIN_PART_AREA,
    SOURCE,
    background_shapes,
)
from territory_planner.outputs.map_frame import finite_number, html_text, is_missing
from territory_planner.outputs.map_layers import (
    PlanLayer,
    background_js,
    encode_shape,
    fill_template,
    safe_json,
)
from territory_planner.outputs.map_legend import FitClearOfLegend, Legend, legend_css
from territory_planner.outputs.maps import number_elements
from territory_planner.outputs.potential_chart import short_money, tier_order
from territory_planner.potential import Estimate

#: Sequential colour scale of whitespace, low to high (ColorBrewer YlGnBu, 5 classes;
#: colour-blind safe). Areas without whitespace (0 or less) are grey.
SCALE = ("#FFFFCC", "#A1DAB4", "#41B6C4", "#2C7FB8", "#253494")
NO_WHITESPACE = "#D9D9D9"
#: Largest circle radius (px) of the ZIP map: the ZIP with the most whitespace.
MAX_RADIUS = 16.0
MIN_RADIUS = 2.5
#: An account within this many degrees (≈ 5 km) of a county but in none (a coastal point
#: off the shoreline) takes the nearest county.
NEAR_COUNTY = 0.05
AREA_SCALE = 2_000  # shape coordinates in steps of 1/2000° (≈ 55 m) in the page
_CENSUS = ("_plotly_geo", "package_data")
_LSAD = {"06": " County", "15": " Parish", "25": " city"}
CENSUS_SOURCE = "County shapes, state and county lines: US Census Bureau, 2016"
WHAT = {"county": ("county", "counties", "Whitespace by county"),
        "zip": ("ZIP code", "ZIP codes", "Whitespace by ZIP code")}


# ------------------------------------------------------------------------------ areas


def _census(name: str, **kwargs):
    import geopandas as gpd

    return gpd.read_file(str(importlib.resources.files(_CENSUS[0]).joinpath(_CENSUS[1], name)), **kwargs)


@lru_cache(maxsize=1)
def _state_codes() -> dict[str, str]:
    """State FIPS → postal abbreviation, from the Census state file's table (no shapes read)."""
    states = _census("cb_2016_us_state_500k.shp", ignore_geometry=True)
    return dict(zip(states["STATEFP"].astype(str), states["STUSPS"].astype(str), strict=True))


@lru_cache(maxsize=1)
def census_counties():
    """Every US county (Census 2016, full resolution), sorted by GEOID.

    A GeoDataFrame with ``area_id`` (5-digit FIPS), ``name`` ("King County"), ``state``
    ("WA") and ``geometry`` in lon/lat; read once per process (about 0.2 s).
    """
    counties = _census("cb_2016_us_county_500k.shp", columns=["GEOID", "STATEFP", "NAME", "LSAD"])
    counties = counties.sort_values("GEOID", kind="stable").reset_index(drop=True)
    codes = _state_codes()
    names = counties["NAME"].astype(str) + counties["LSAD"].map(_LSAD).fillna("")
    return counties.assign(area_id=counties["GEOID"].astype(str), name=names,
                           state=counties["STATEFP"].map(codes).fillna(""))[["area_id", "name", "state", "geometry"]]


@lru_cache(maxsize=1)
def _county_tree() -> shapely.STRtree:
    """A spatial index of :func:`census_counties`' shapes, in their order."""
    return shapely.STRtree(np.asarray(census_counties().geometry.values, dtype=object))


def _text_ids(values: pd.Series) -> np.ndarray:
    """Ids as text, blank → None (a number read as 98121.0 back to 98121)."""
    out = np.full(len(values), None, dtype=object)
    for i, v in enumerate(values.to_numpy(object)):
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            continue
        text = str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()
        if text and text.lower() not in ("nan", "none", "<na>"):
            out[i] = text
    return out


def _zip_codes(values: pd.Series) -> np.ndarray:
    """ZIP codes as text; 3–4 digits read as a number get their leading zeros back."""
    ids = _text_ids(values)
    return np.array([z.zfill(5) if z is not None and z.isdigit() and 3 <= len(z) < 5 else z for z in ids], dtype=object)


def _points(accounts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    for column in ("lon", "lat"):
        if column not in accounts.columns:
            raise InputError(f"the accounts have no '{column}' column to place them on the map", column=column,
                             fix="a geographic scenario's accounts need lat and lon")
    return (pd.to_numeric(accounts["lon"], errors="coerce").to_numpy(float),
            pd.to_numeric(accounts["lat"], errors="coerce").to_numpy(float))


def _county_of_points(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The GEOID of the Census county each point lies in (lowest GEOID on a border), else None."""
    counties = census_counties()
    shapes = np.asarray(counties.geometry.values, dtype=object)
    tree = _county_tree()
    ok = np.isfinite(lon) & np.isfinite(lat)
    points = shapely.points(np.where(ok, lon, 0.0), np.where(ok, lat, 0.0))
    row = np.full(len(points), len(shapes), dtype=np.int64)
    hit_point, hit_county = tree.query(points[ok], predicate="within")
    np.minimum.at(row, np.flatnonzero(ok)[hit_point], hit_county)  # rows are in GEOID order
    left = np.flatnonzero(ok & (row == len(shapes)))
    if len(left):
        near_point, near_county = tree.query_nearest(points[left], max_distance=NEAR_COUNTY, all_matches=False)
        row[left[near_point]] = near_county
    ids = np.append(counties["area_id"].to_numpy(object), None)
    return ids[row]


def account_areas(estimate: Estimate, units=None, by: str = "county") -> pd.Series:
    """Each account's area id (county FIPS or unit_id, or ZIP code), None where it has none.

    Indexed like ``estimate.accounts``; see the module docstring for how a county is found.
    """
    _check_by(by)
    accounts = estimate.accounts
    if by == "zip":
        if "postal_code" not in accounts.columns:
            raise InputError("the accounts have no 'postal_code' column to map whitespace by ZIP code",
                             column="postal_code", fix="add the accounts' ZIP codes, or map by county")
        return pd.Series(_zip_codes(accounts["postal_code"]), index=accounts.index, name="area_id")
    if _by_units(estimate, units):
        known = set(_text_ids(units["unit_id"]))
        ids = _text_ids(accounts["unit_id"])
        ids = np.array([i if i in known else None for i in ids], dtype=object)
    else:
        ids = _county_of_points(*_points(accounts))
    return pd.Series(ids, index=accounts.index, name="area_id")


def _by_units(estimate: Estimate, units) -> bool:
    """Whether counties are the scenario's units (given, and the accounts carry unit_id)."""
    return units is not None and "unit_id" in estimate.accounts.columns


def _check_by(by: str) -> None:
    if by not in WHAT:
        raise ValueError(f"by must be 'county' or 'zip', not {by!r}")


def _most_common(areas: np.ndarray, values: pd.Series) -> dict:
    """``{area: its most common non-blank text of values}`` (ties: the first in sort order)."""
    texts = pd.Series(_text_ids(values), dtype=object)
    frame = pd.DataFrame({"area": areas, "text": texts.to_numpy(object)}).dropna()
    if not len(frame):
        return {}
    counts = frame.groupby(["area", "text"]).size().rename("n").reset_index()
    counts = counts.sort_values(["area", "n", "text"], ascending=[True, False, True], kind="stable")
    first = counts.drop_duplicates("area")
    return dict(zip(first["area"], first["text"], strict=True))


def whitespace_by_area(estimate: Estimate, units=None, by: str = "county") -> pd.DataFrame:
    """The figures the map draws: one row per area with accounts, sorted by area id.

    Columns ``area_id``, ``name``, ``state``, ``accounts``, ``potential``, ``revenue``
    (``estimate.revenue``), ``whitespace`` (the sum of the accounts' whitespace),
    ``penetration`` (revenue / potential, NaN without potential) and ``tier_<name>`` (the
    count of accounts of each tier, top tier first); by county also ``geometry`` (the
    area's polygon in lon/lat: the unit's, or the Census county's at full resolution),
    by ZIP ``lat`` and ``lon`` (the mean of its accounts'). Accounts in no area are one
    last row whose ``area_id`` is None (name "(no county)" / "(no ZIP code)", no shape),
    so the columns sum to the estimate's totals.
    """
    _check_by(by)
    accounts = estimate.accounts
    area = account_areas(estimate, units, by).to_numpy(object)
    tiers = tier_order(estimate)
    work = pd.DataFrame({
        "area_id": area,
        "potential": pd.to_numeric(accounts["potential"], errors="coerce").to_numpy(float),
        "revenue": estimate.revenue,
        "whitespace": pd.to_numeric(accounts["whitespace"], errors="coerce").to_numpy(float),
        "tier": accounts["tier"].astype(str).to_numpy(),
    })
    grouped = work.groupby("area_id", dropna=False, sort=True)
    table = grouped.agg(accounts=("potential", "size"), potential=("potential", "sum"),
                        revenue=("revenue", "sum"), whitespace=("whitespace", "sum"))
    counts = work.groupby(["area_id", "tier"], dropna=False).size().unstack("tier", fill_value=0)
    counts = counts.reindex(index=table.index, columns=tiers, fill_value=0)
    for tier in tiers:
        table[f"tier_{tier}"] = counts[tier].fillna(0).astype(int).to_numpy()
    table["penetration"] = table["revenue"] / table["potential"].where(table["potential"] > 0)
    table = table.reset_index()
    placed = table["area_id"].notna()
    table = pd.concat([table[placed], table[~placed]], ignore_index=True)  # the unplaced row last
    table["area_id"] = table["area_id"].astype(object).where(table["area_id"].notna(), None)
    by_units = _by_units(estimate, units)
    names, states = _names(table, work, accounts, units if by_units else None, by)
    table.insert(1, "name", names)
    table.insert(2, "state", states)
    if by == "county":
        table["geometry"] = _shapes(table["area_id"], units if by_units else None)
    else:
        lon, lat = _points(accounts)
        where = pd.DataFrame({"area_id": area, "lon": lon, "lat": lat}).dropna()
        mean = where.groupby("area_id")[["lat", "lon"]].mean()
        table["lat"] = table["area_id"].map(mean["lat"]).astype(float)
        table["lon"] = table["area_id"].map(mean["lon"]).astype(float)
    order = ["area_id", "name", "state", "accounts", "potential", "revenue", "whitespace", "penetration"]
    return table[order + [c for c in table.columns if c not in order]]


def _names(table: pd.DataFrame, work: pd.DataFrame, accounts: pd.DataFrame, units, by: str) -> tuple[list, list]:
    """Each area's name and state as text (the unplaced row: "(no county)" / "(no ZIP code)", no state).

    ZIP codes: the most common city and state of their accounts. Units: the unit's name,
    its state column, else its accounts' most common state, else the state of a 5-digit
    FIPS id. Census counties: the county's name and state.
    """
    ids = table["area_id"].tolist()
    area = work["area_id"].to_numpy(object)

    def of_accounts(column: str) -> dict:
        return _most_common(area, accounts[column]) if column in accounts.columns else {}

    if by == "zip":
        name, state = of_accounts("city"), of_accounts("state")
    elif units is not None:
        unit_ids = _text_ids(units["unit_id"])
        name = dict(zip(unit_ids, units["name"] if "name" in units.columns else unit_ids, strict=True))
        given = dict(zip(unit_ids, units["state"], strict=True)) if "state" in units.columns else {}
        theirs, codes = of_accounts("state"), _state_codes()
        fips = {i: codes.get(str(i)[:2], "") for i in ids if re.fullmatch(r"\d{5}", str(i))}
        state = {i: _text(given.get(i)) or theirs.get(i) or fips.get(i, "") for i in ids if i is not None}
    else:
        counties = census_counties().set_index("area_id")
        name, state = counties["name"].to_dict(), counties["state"].to_dict()
    names = [f"(no {WHAT[by][0]})" if i is None else _text(name.get(i)) for i in ids]
    states = ["" if i is None else _text(state.get(i)) for i in ids]
    return names, states


def _text(value) -> str:
    """A table value as plain text ('' when missing); escaped where it reaches the page."""
    return "" if is_missing(value) else str(value)


def _shapes(area_ids: pd.Series, units) -> list:
    """Each area's polygon (None for the unplaced row)."""
    if units is not None:
        shape = dict(zip(_text_ids(units["unit_id"]), units.geometry.values, strict=True))
    else:
        counties = census_counties()
        shape = dict(zip(counties["area_id"], counties.geometry.values, strict=True))
    return [shape.get(i) if i is not None else None for i in area_ids]


# ------------------------------------------------------------------------------ scale


def whitespace_bins(values, classes: int = len(SCALE)) -> list[float]:
    """Upper edges of the colour classes but the last: quantiles of the positive values.

    Rounded to two significant digits, strictly increasing, below the largest value;
    a value ``v > 0`` is in class ``searchsorted(edges, v, side="right")``.

    >>> whitespace_bins([1_000, 2_000, 30_000, 45_000, 120_000, 990_000], classes=3)
    [21000.0, 70000.0]
    """
    v = np.asarray([x for x in values if finite_number(x) is not None and x > 0], dtype=float)
    if not len(v):
        return []
    edges = []
    for q in np.linspace(0, 1, classes + 1)[1:-1]:
        edge = float(f"{np.quantile(v, q):.2g}")
        if 0 < edge < v.max() and (not edges or edge > edges[-1]):
            edges.append(edge)
    return edges


def _classes(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Class per value: −1 without whitespace, else its bin."""
    return np.where(values > 0, np.searchsorted(np.asarray(edges, float), values, side="right"), -1)


def _colors(n_classes: int) -> list[str]:
    """``n_classes`` colours of ``SCALE``, spread from light to dark."""
    picks = np.round(np.linspace(0, len(SCALE) - 1, n_classes)).astype(int) if n_classes > 1 else [len(SCALE) // 2]
    return [SCALE[i] for i in picks]


def _bin_labels(edges: list[float]) -> list[str]:
    if not edges:
        return ["above $0"]
    cuts = [short_money(e) for e in edges]
    return [f"under {cuts[0]}", *(f"{a} – {b}" for a, b in zip(cuts, cuts[1:], strict=False)), f"{cuts[-1]} or more"]


# ------------------------------------------------------------------------------ page


class _Points:
    """What ``map_background`` and ``map_layers.background_js`` read of a plan frame: points, lon/lat as drawn."""

    planar = False

    def __init__(self, lon, lat):
        self.accounts = pd.DataFrame({"_x": lon, "_y": lat})

    @staticmethod
    def to_display(x, y):
        return np.asarray(x, float), np.asarray(y, float)


def _dollars(value) -> str:
    v = finite_number(value)
    return "—" if v is None else ("−" if v < 0 else "") + f"${abs(v):,.0f}"


def _percent(value) -> str:
    v = finite_number(value)
    return "—" if v is None else f"{v:.0%}"


def _whole(values) -> list:
    """Amounts as whole dollars for the page (None where missing)."""
    return [None if (v := finite_number(x)) is None else round(v) for x in values]


# The areas as one layer fed by column-wise data (``map.tpW``): each area's shape (or
# circle), colour class, and the figures its tooltip and popup show, built here from the
# columns. Text arrives HTML-escaped (ids, names, states, tier names), so concatenating it
# into HTML is safe; numbers are formatted here.
_AREAS_JS = """
    var D = __DATA__;
    map.tpW = D;
    var ring = function (r, s) {
        var out = new Array(r.length / 2), x = 0, y = 0;
        for (var i = 0; i < r.length; i += 2) { x += r[i]; y += r[i + 1]; out[i / 2] = [y / s, x / s]; }
        return out;
    };
    var money = function (v) {
        if (v === null || v === undefined) { return "\\u2014"; }
        return (v < 0 ? "\\u2212$" : "$") + Math.abs(v).toLocaleString("en-US", {maximumFractionDigits: 0});
    };
    var row = function (k, v) { return "<tr><th>" + k + "</th><td>" + v + "</td></tr>"; };
    var place = function (k) { return D.st[k] ? D.n[k] + ", " + D.st[k] : D.n[k]; };
    var title = function (k) {
        return D.zip ? "ZIP " + D.id[k] + (D.n[k] || D.st[k] ? " \\u00b7 " + place(k) : "") : place(k);
    };
    var popup = function (k) {
        var tiers = D.tn.map(function (t, j) {
            return D.t[j][k] ? t + " " + D.t[j][k].toLocaleString("en-US") : "";
        }).filter(function (x) { return x; }).join(" \\u00b7 ");
        var pen = D.p[k] > 0 && D.v[k] !== null ? Math.round(100 * D.v[k] / D.p[k]) + "%" : "\\u2014";
        return "<div class=\\"tp-popup-title\\">" + title(k) + "</div><table class=\\"tp-table\\">" +
            (D.zip ? row("ZIP code", D.id[k]) : row("county", D.n[k]) + row("id", D.id[k])) +
            row("state", D.st[k] || "\\u2014") + row("accounts", D.k[k].toLocaleString("en-US")) +
            row("potential", money(D.p[k])) + row("revenue", money(D.v[k])) + row("whitespace", money(D.w[k])) +
            row("penetration", pen) + row("by tier", tiers || "\\u2014") + "</table>";
    };
    var layers = D.a.map(function (a, k) {
        var fill = D.c[k] >= 0 ? D.colors[D.c[k]] : D.none, layer;
        if (D.zip) {
            layer = L.circleMarker([a[1], a[0]], {radius: D.r[k], color: "#333333", weight: 0.8, opacity: 0.9,
                                                  fillColor: fill, fillOpacity: 0.75, className: "tp-area"});
        } else {
            layer = L.polygon(a.map(function (p) { return p.map(function (r) { return ring(r, D.s); }); }),
                              {color: "#555555", weight: 0.6, opacity: 0.9, fillColor: fill, fillOpacity: 0.85,
                               className: "tp-area"});
        }
        layer.k = k;
        layer.on("mouseover", function () { layer.setStyle({weight: 2.2}); });
        layer.on("mouseout", function () { layer.setStyle({weight: D.zip ? 0.8 : 0.6}); });
        return layer;
    });
    var group = L.featureGroup(layers);
    group.bindTooltip(function (l) { return title(l.k) + " \\u00b7 whitespace " + money(D.w[l.k]); }, {sticky: true});
    group.bindPopup(function (l) { return popup(l.k); });
    map.tpAreas = group;
    return group;
"""


def _simplified(shapes: list) -> list:
    """The areas' polygons simplified as one coverage (shared borders stay shared), islets dropped."""
    geoms = np.asarray(shapes, dtype=object)
    try:
        geoms = shapely.coverage_simplify(geoms, COUNTY_TOLERANCE)
    except Exception:  # a units file that is not a clean coverage: each shape on its own
        geoms = shapely.simplify(geoms, COUNTY_TOLERANCE, preserve_topology=True)
    out = []
    for geom, original in zip(geoms, shapes, strict=True):
        parts = [p for p in shapely.get_parts(geom) if p.area >= MIN_PART_AREA] or list(shapely.get_parts(original))
        out.append(shapely.MultiPolygon(parts) if len(parts) > 1 else parts[0])
    return out


def _areas_js(areas: pd.DataFrame, tiers: list[str], by: str, classes: np.ndarray, colors: list[str]) -> str:
    """The areas' layer: :data:`_AREAS_JS` fed with the table's columns (text escaped)."""
    data = {
        "zip": by == "zip", "s": AREA_SCALE, "colors": colors, "none": NO_WHITESPACE, "c": classes.tolist(),
        "id": [html_text(i) for i in areas["area_id"]], "n": [html_text(n) for n in areas["name"]],
        "st": [html_text(v) for v in areas["state"]], "k": [int(n) for n in areas["accounts"]],
        "p": _whole(areas["potential"]), "v": _whole(areas["revenue"]), "w": _whole(areas["whitespace"]),
        "tn": [html_text(t) for t in tiers], "t": [[int(n) for n in areas[f"tier_{t}"]] for t in tiers],
    }
    if by == "zip":
        ws = np.maximum(areas["whitespace"].to_numpy(float), 0.0)
        top = ws.max() if len(ws) and ws.max() > 0 else 1.0
        data["r"] = np.round(np.maximum(MAX_RADIUS * np.sqrt(ws / top), MIN_RADIUS), 2).tolist()
        data["a"] = [[round(float(x), 4), round(float(y), 4)] for x, y in zip(areas["lon"], areas["lat"], strict=True)]
    else:
        frame = _Points([], [])
        data["a"] = [encode_shape(g, frame, AREA_SCALE) for g in _simplified(list(areas["geometry"]))]
    return fill_template(_AREAS_JS, DATA=safe_json(data))


def _legend_markup(table: pd.DataFrame, areas: pd.DataFrame, by: str, edges: list[float], colors: list[str],
                   classes: np.ndarray, census: bool) -> str:
    kind, kinds, heading = WHAT[by]
    totals = table[["accounts", "potential", "revenue", "whitespace"]].sum()
    penetration = totals["revenue"] / totals["potential"] if totals["potential"] > 0 else None
    rows = [("total whitespace", f"<b>{_dollars(totals['whitespace'])}</b>"),
            ("potential", _dollars(totals["potential"])), ("revenue", _dollars(totals["revenue"])),
            ("penetration", _percent(penetration)),
            ("accounts", f"{int(totals['accounts']):,} in {len(areas):,} {kinds if len(areas) != 1 else kind}")]
    unplaced = table[table["area_id"].isna()]
    if len(unplaced):
        row = unplaced.iloc[0]
        rows.append((f"in no {kind}", f"{int(row['accounts']):,} accounts ({_dollars(row['whitespace'])}), not drawn"))
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    keys = []
    for c, (label, color) in enumerate(zip(_bin_labels(edges), colors, strict=True)):
        keys.append(f'<div><span class="tp-swatch" style="background:{color}"></span>{html.escape(label)} '
                    f"<small>({int((classes == c).sum()):,})</small></div>")
    if (classes < 0).any():
        keys.append(f'<div><span class="tp-swatch" style="background:{NO_WHITESPACE}"></span>no whitespace '
                    f"<small>({int((classes < 0).sum()):,})</small></div>")
    sizes = ""
    if by == "zip" and len(areas):
        sizes = (f'<div class="tp-keys">circle area ∝ whitespace; the largest '
                 f"{html.escape(short_money(float(areas['whitespace'].max())))}</div>")
    source = f'<div class="tp-keys">{html.escape(CENSUS_SOURCE if census else SOURCE)}</div>'
    return (f'<div class="tp-legend"><h4>{html.escape(heading)}</h4><table class="tp-table">{body}</table>'
            f'<div class="tp-bins"><div class="tp-bins-title">whitespace per {kind}</div>{"".join(keys)}</div>'
            f"{sizes}{source}</div>")


def whitespace_map(estimate: Estimate, *, geometry: str, units=None, by: str = "county") -> folium.Map | None:
    """The whitespace map as a folium ``Map`` (see :func:`whitespace_map_html`); None for planar data."""
    _check_by(by)
    if geometry != "geographic":
        return None
    table = whitespace_by_area(estimate, units, by)
    areas = table[table["area_id"].notna()].reset_index(drop=True)
    if by == "county":
        areas = areas[areas["geometry"].notna()].reset_index(drop=True)
    else:
        areas = areas[np.isfinite(areas["lat"]) & np.isfinite(areas["lon"])]
        areas = areas.sort_values(["whitespace", "area_id"], ascending=[False, True]).reset_index(drop=True)
    tiers = tier_order(estimate)
    edges = whitespace_bins(areas["whitespace"])
    classes = _classes(areas["whitespace"].to_numpy(float), edges)
    colors = _colors(len(edges) + 1)
    heading = WHAT[by][2]

    lon, lat = _points(estimate.accounts)
    ok = np.isfinite(lon) & np.isfinite(lat)
    points = _Points(lon[ok], lat[ok])
    bounds = ([[float(lat[ok].min()), float(lon[ok].min())], [float(lat[ok].max()), float(lon[ok].max())]]
              if ok.any() else [[24.5, -125.0], [49.5, -66.9]])
    m = folium.Map(location=[(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2], zoom_start=5,
                   tiles=None, prefer_canvas=False, control_scale=True, zoom_snap=0.25)
    # Per-instance assets, as maps.plan_map: Leaflet inlined, folium's CDN links dropped.
    m.default_js = [("leaflet", leaflet_js_uri())]
    m.default_css = [("leaflet_css", leaflet_css_uri())]
    m.get_root().title = html.escape(heading)
    background = background_shapes(points)
    source = html.escape(SOURCE)
    if "states" in background:
        PlanLayer("States", background_js(points, background["states"], "states", source)).add_to(m)
    if "counties" in background:
        PlanLayer("Counties", background_js(points, background["counties"], "counties", source), show=False).add_to(m)
    label = f"{heading} ({len(areas):,} {WHAT[by][1] if len(areas) != 1 else WHAT[by][0]})"
    PlanLayer(html.escape(label), _areas_js(areas, tiers, by, classes, colors)).add_to(m)
    css = (legend_css() + ".tp-bins{margin-top:6px;font-size:11px;}.tp-bins-title{font-weight:600;margin-bottom:2px;}"
           ".tp-bins div{white-space:nowrap;}")
    Legend(_legend_markup(table, areas, by, edges, colors, classes, census=by == "county" and not _by_units(estimate, units)),
           css).add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    FitClearOfLegend(bounds, padding=12).add_to(m)
    number_elements(m.get_root(), _digest(table, by))
    return m


def whitespace_map_html(estimate: Estimate, *, geometry: str, units=None, by: str = "county") -> str | None:
    """The whitespace map by county or ZIP code as one offline HTML page; None unless geographic.

    Parameters
    ----------
    estimate : what ``potential.where_to_sell`` found (``Inputs.potential``).
    geometry : the scenario's geometry; a planar one has no map (None).
    units : optional GeoDataFrame of the scenario's units (``data.units``: ``unit_id``,
        ``name``, polygons in lon/lat); with it, and accounts that carry ``unit_id``, an
        account's county is its unit. Default: the Census county its lat/lon lies in.
    by : ``"county"`` (a choropleth) or ``"zip"`` (a circle per ZIP code).

    The page loads nothing from the network; the same estimate gives the same bytes.
    """
    m = whitespace_map(estimate, geometry=geometry, units=units, by=by)
    return None if m is None else m.get_root().render()


# ---------------------------------------------------------------------- deterministic ids


def _digest(table: pd.DataFrame, by: str) -> str:
    """A JavaScript name from a hash of what the map draws: stable ids, distinct between maps."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(by.encode())
    numbers = table.drop(columns=[c for c in ("geometry",) if c in table.columns])
    h.update(pd.util.hash_pandas_object(numbers.astype(str), index=False).to_numpy().tobytes())
    return "ws_" + h.hexdigest()[:10]

