"""The plan map: one self-contained, offline HTML page per plan.

``plan_map(plan)`` draws a :class:`~territory_planner.plan.Plan` with folium, as layers a
manager toggles in the layer control:

* **states** (and **counties** when the plan spans at most three states): light lines
  from the offline Census shapes, under everything (``map_background``);
* **territory outlines**: areas that never overlap — the territories' units dissolved
  when the plan has units, else the Voronoi cells of the accounts dissolved by territory
  and clipped to US land (or the accounts' surroundings); coloured so that no two
  neighbouring territories share a colour (``map_frame.neighbour_colors`` on the
  adjacency graph of the outlines), each territory's accounts in its colour; their
  popups give the territory KPIs against the balance band;
* **vacant territories** (seat status open): dashed and darkened;
* **accounts**, sized by potential: one canvas layer fed by one column-wise data array,
  with one shared tooltip and popup, so 50,000 accounts stay a few MB and responsive;
* **rep homes**; **moved accounts** (off at first): a line from the territory of the
  account's current rep to the account, in the old territory's colour; **rep moves**
  where reps relocate to chosen centers;
* a **legend** with the status in the planner's words (the solver's in its tooltip), the
  gap and a bar per territory and balanced activity against its band (``map_legend``);
  the page opens with the plan fitted beside or above the legend, measured once laid
  out, so that no account is under it.

Offline: Leaflet's JavaScript and CSS (with its images) come from the installed
``django-js-lib-leaflet`` package as ``data:`` URIs set on the map instance, folium's
jQuery/Bootstrap/Font Awesome links are dropped, and no tiles are drawn unless the caller
passes ``tiles`` (a URL template or a named provider): only then does the page fetch
anything, the tiles, each time it is viewed. Other folium maps in the process are not
affected (no global patching).

Safety: every string that comes from the planner's data (account, rep, segment and
territory names, ids, the scenario name) is HTML-escaped with :func:`html.escape` before
it reaches a popup, tooltip or the legend, and every JSON blob embedded in a ``<script>``
has ``<``, ``>`` and ``&`` written as ``\\u`` escapes.

The work is split by step, each part in its own module that never imports this one:
``map_frame`` (the plan as arrays, shared constants such as ``PALETTE``, the value
helpers ``is_missing`` / ``html_text`` / ``finite_number``, ``neighbour_colors``),
``map_outlines`` (territory polygons and their adjacency), ``map_background`` (Census
lines), ``map_layers`` (the Leaflet layers and popups), ``map_legend`` and
``map_assets`` (inlined Leaflet). What one module uses of another is public (no leading
underscore) and documented there. :func:`plan_map` runs the steps in order — frame,
outlines, colours (from the outlines' adjacency graph, the caller's ``colors`` kept; set
on the frame once, which every later step reads), background, layers, legend, fit — and
numbers the page's elements deterministically.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import folium
import pandas as pd
from branca.element import Element

from territory_planner.errors import InputError
from territory_planner.outputs.files import atomic_write_text
from territory_planner.outputs.map_assets import leaflet_css_uri, leaflet_js_uri
from territory_planner.outputs.map_background import SOURCE, background_shapes
from territory_planner.outputs.map_frame import PALETTE, PlanFrame, is_missing, neighbour_colors
from territory_planner.outputs.map_layers import (
    PlanData,
    PlanLayer,
    account_js,
    background_js,
    home_js,
    move_js,
    moved_accounts_js,
    outline_js,
    plan_data_js,
    vacant_js,
)
from territory_planner.outputs.map_legend import FitClearOfLegend, Legend, legend_css, legend_html
from territory_planner.outputs.map_outlines import (
    outline_shapes,
    territory_adjacency,
    territory_outlines,
)
from territory_planner.plan import Plan

__all__ = ["PALETTE", "check_tiles", "plan_map", "territory_adjacency", "territory_colors", "territory_outlines", "write_map"]

_HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")


# ---------------------------------------------------------------------------- public API


def plan_map(
    plan: Plan,
    *,
    title: str | None = None,
    tiles: str | None = None,
    extra_layers: Iterable[PlanLayer] = (),
    element_prefix: str | None = None,
    colors: Mapping | None = None,
) -> folium.Map:
    """An interactive, offline folium map of a plan.

    Parameters
    ----------
    plan : the plan to draw; reads ``assignments``, ``territories``, ``geometry``,
        ``scenario`` (name, balance bands) and ``summary()`` only, so a plan read back
        from its folder (``problem`` None) draws the same.
    title : heading of the legend and the page title; defaults to the scenario name.
    tiles : optional web map tiles under the plan: a URL template
        (``https://tile.example.org/{z}/{x}/{y}.png``) or a provider name known to
        folium/xyzservices that needs no API key (``OpenStreetMap``, ``OpenTopoMap``,
        ``Esri.WorldGrayCanvas``, …). Default None: no
        tiles, so the page needs no network at all; with tiles it fetches them from
        that server whenever it is viewed (the Census state lines are then off at first).
    extra_layers : overlays of the caller's own (``map_layers.PlanLayer``, placed with
        ``map_frame.PlanFrame(plan).to_display``), drawn above the plan's layers and
        listed in the layer control after them, e.g. the comparison report's rings
        around moved accounts.
    element_prefix : the prefix of the page's element ids (``<prefix>_<n>``); default a
        short hash of what the map draws. Give one per map where several maps share a
        page (the comparison report), so that no two elements share an id.
    colors : optional ``{territory_id: "#RRGGBB"}`` fixing some territories' colours,
        e.g. to give a territory the same colour on the maps of two plans being compared
        (the comparison report passes one colouring to every map); the other territories
        are coloured around them, none like a neighbour. Default:
        ``map_frame.neighbour_colors`` on the outlines' adjacency graph.

    Returns
    -------
    folium.Map whose HTML (``write_map`` or ``m.get_root().render()``) loads nothing from
    the network unless ``tiles`` was given. Element ids are derived from the plan (or
    ``element_prefix``), so the same plan gives byte-identical HTML.
    """
    planar = plan.geometry == "planar"
    if element_prefix is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", element_prefix):
        raise ValueError(f"element_prefix {element_prefix!r} must be a JavaScript name: letters, digits and '_', "
                         "not starting with a digit, e.g. 'cmp0'")
    tile_layer = _tile_layer(tiles, planar=planar) if tiles else None
    frame = PlanFrame(plan)
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
    m.default_js = [("leaflet", leaflet_js_uri())]
    m.default_css = [("leaflet_css", leaflet_css_uri())]
    m.get_root().title = html.escape(heading)
    if tile_layer is not None:
        tile_layer.add_to(m)

    outlines = outline_shapes(frame)
    # The colouring, a step of its own: from the outlines' adjacency graph, the colours
    # given kept; every layer and the legend then read them from the frame.
    neighbours = territory_adjacency(outlines, len(frame.territory_ids))
    frame.set_colors(_colors(frame.territory_ids, neighbours, colors))
    background = background_shapes(frame)
    source = html.escape(SOURCE)
    PlanData(plan_data_js(frame, outlines)).add_to(m)
    if "states" in background:
        PlanLayer("States", background_js(frame, background["states"], "states", source), show=tile_layer is None).add_to(m)
    if "counties" in background:
        PlanLayer("Counties", background_js(frame, background["counties"], "counties", source), show=False).add_to(m)
    PlanLayer("Territory outlines", outline_js(frame, outlines)).add_to(m)
    vacant = vacant_js(frame, outlines)
    if vacant is not None:
        PlanLayer(f"Vacant territories ({int(frame.vacant.sum()):,})", vacant).add_to(m)
    PlanLayer(f"Accounts ({len(frame.accounts):,})", account_js(frame)).add_to(m)
    PlanLayer("Rep homes", home_js(frame)).add_to(m)
    moved = moved_accounts_js(frame)
    if moved is not None:
        n_moved = int((frame.accounts["_from"] > -2).sum())
        PlanLayer(f"Moved accounts ({n_moved:,})", moved, show=False).add_to(m)
    moves = move_js(frame)
    if moves is not None:
        PlanLayer("Rep moves", moves).add_to(m)
    Legend(legend_html(frame, summary, heading), legend_css()).add_to(m)
    for layer in extra_layers:
        layer.add_to(m)  # before the layer control: its script names every overlay
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    FitClearOfLegend(frame.bounds(), padding=12).add_to(m)  # measured in the page: no account under the legend
    digest = _plan_digest(frame, heading, tiles)
    number_elements(m.get_root(), element_prefix if element_prefix is not None else digest)
    return m


def write_map(plan: Plan, path, *, tiles: str | None = None) -> Path:
    """Write ``plan_map(plan, tiles=tiles)`` to ``path`` atomically and return the path.

    The HTML goes to a temporary file in the same folder, is flushed to disk, then
    renamed over ``path`` with :func:`os.replace`, so a reader never sees half a map and
    a failed write leaves the previous map in place.
    """
    return atomic_write_text(path, plan_map(plan, tiles=tiles).get_root().render())


def territory_colors(territory_ids: Iterable, neighbours=None, *, given: Mapping | None = None) -> dict:
    """``{territory_id: "#RRGGBB"}`` in the given order, as the map colours them.

    Without ``neighbours`` the palette in order, cycled beyond 40 territories; with
    ``neighbours`` (``territory_adjacency``'s list of sets, by position) no two
    neighbours share a colour (``map_frame.neighbour_colors``). ``given``
    (``{territory_id: "#RRGGBB"}``, as ``plan_map(colors=...)``) fixes some colours
    first; the other territories then avoid their neighbours' given colours too. Raises
    ValueError for a given colour not written #RRGGBB.
    """
    ids = list(territory_ids)
    return dict(zip(ids, _colors(ids, neighbours, given), strict=True))


def check_tiles(tiles: str) -> None:
    """Raise ``InputError`` unless ``tiles`` is a tile URL template or a known provider name.

    For a command line to refuse a bad ``--tiles`` before it plans. Nothing is fetched.
    """
    _tile_layer(tiles, planar=False)


def _tile_layer(tiles: str, *, planar: bool) -> folium.TileLayer:
    """The tile layer for ``tiles`` (URL template or provider name), or a clear InputError."""
    if planar:
        raise InputError("tiles make no sense on a planar plan (x/y coordinates)", value=tiles,
                         fix="leave tiles out (no --tiles), or plan with geometry: geographic")
    if "://" in tiles or "{" in tiles:
        if not re.match(r"https?://", tiles) or not all(f"{{{k}}}" in tiles for k in "zxy"):
            raise InputError("a tile URL must start with http:// or https:// and hold {z}, {x} and {y}", value=tiles,
                             fix="e.g. --tiles 'https://tile.openstreetmap.org/{z}/{x}/{y}.png', or a provider name "
                                 "such as OpenStreetMap")
        host = tiles.split("/")[2]
        return folium.TileLayer(tiles=tiles, attr="Map tiles: " + html.escape(host), name=f"Tiles ({html.escape(host)})",
                                overlay=True, control=True)
    import xyzservices

    groups = {name.lower(): group for name, group in xyzservices.providers.items()}
    try:
        group = groups.get(tiles.strip().lower())
        if isinstance(group, xyzservices.TileProvider):
            provider = group
        elif group is not None:  # a family such as "OpenStreetMap": its first (default) style
            provider = next(iter(group.flatten().values()))
        else:
            provider = xyzservices.providers.query_name(tiles)
        if provider.requires_token():
            raise InputError(f"tile provider {provider.name} needs an API key", value=tiles,
                             fix="give its URL template with your key in it, or a provider without a key such as "
                                 "OpenStreetMap or Esri.WorldGrayCanvas")
    except (ValueError, StopIteration):
        raise InputError("unknown tile provider", value=tiles,
                         fix="give a tile URL template (https://…/{z}/{x}/{y}.png) or a provider name such as "
                             "OpenStreetMap, OpenTopoMap or Esri.WorldGrayCanvas") from None
    return folium.TileLayer(tiles=provider, name=f"Tiles ({html.escape(provider.name)})", overlay=True, control=True)


def _colors(ids: list, neighbours, given: Mapping | None) -> list[str]:
    """One colour per territory of ``ids``: ``given`` ones kept, the rest neighbour-distinct."""
    fixed = {}
    for t, tid in enumerate(ids):
        color = (given or {}).get(tid)
        if color is None or is_missing(color):
            continue
        if not _HEX_COLOR.fullmatch(str(color)):
            raise ValueError(f"colour {color!r} of territory {tid!r} must be written #RRGGBB")
        fixed[t] = str(color).upper()
    return neighbour_colors(neighbours if neighbours is not None else [set()] * len(ids), fixed=fixed)


# ---------------------------------------------------------------------- deterministic ids


def _plan_digest(frame: PlanFrame, heading: str, tiles: str | None) -> str:
    """Short hash of what the map draws: stable element ids, distinct between plans."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(repr((heading, tiles, frame.planar, [str(t) for t in frame.territory_ids])).encode())
    h.update(pd.util.hash_pandas_object(frame.accounts[["_x", "_y", "_t"]], index=False).to_numpy().tobytes())
    return h.hexdigest()[:10]


def number_elements(root: Element, prefix: str) -> None:
    """Replace folium's random element ids by ``<prefix>_<n>`` in tree order."""
    counter = 0

    def walk(element: Element) -> None:
        nonlocal counter
        element._id = f"{prefix}_{counter}"
        counter += 1
        for child in list(element._children.values()):
            walk(child)

    walk(root)
