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

The work is split by step, each part in its own module that never imports this one:
``map_frame`` (the plan as arrays, shared constants such as ``PALETTE``, escaping
helpers), ``map_outlines`` (territory polygons), ``map_layers`` (the Leaflet layers,
popups and legend) and ``map_assets`` (inlined Leaflet). This module assembles the map
and numbers its elements deterministically.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable
from pathlib import Path

import folium
import pandas as pd
from branca.element import Element

from territory_planner.outputs.files import atomic_write_text
from territory_planner.outputs.map_assets import _leaflet_css_uri, _leaflet_js_uri
from territory_planner.outputs.map_frame import PALETTE, PlanFrame
from territory_planner.outputs.map_layers import (
    PlanLayer,
    _account_js,
    _home_js,
    _Legend,
    _legend_css,
    _legend_html,
    _move_js,
    _outline_js,
)
from territory_planner.outputs.map_outlines import _outlines, territory_outlines
from territory_planner.plan import Plan

__all__ = ["PALETTE", "plan_map", "territory_colors", "territory_outlines", "write_map"]


# ---------------------------------------------------------------------------- public API


def plan_map(
    plan: Plan,
    *,
    title: str | None = None,
    tiles: str | None = None,
    extra_layers: Iterable[PlanLayer] = (),
    element_prefix: str | None = None,
) -> folium.Map:
    """An interactive, offline folium map of a plan.

    Parameters
    ----------
    plan : the plan to draw; reads ``assignments``, ``territories``, ``geometry``,
        ``scenario.name`` and ``summary()`` only.
    title : heading of the legend and the page title; defaults to the scenario name.
    tiles : optional tile URL template (``https://…/{z}/{x}/{y}.png``) or folium tile
        name. Default None: no tiles, so the page needs no network at all.
    extra_layers : overlays of the caller's own (``map_layers.PlanLayer``, placed with
        ``map_frame.PlanFrame(plan).to_display``), drawn above the plan's layers and
        listed in the layer control after them, e.g. the comparison report's rings
        around moved accounts.
    element_prefix : the prefix of the page's element ids (``<prefix>_<n>``); default a
        short hash of what the map draws. Give one per map where several maps share a
        page (the comparison report), so that no two elements share an id.

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
    if planar and tiles:
        raise ValueError("tiles make no sense on a planar plan (x/y coordinates); leave tiles=None")
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
    m.default_js = [("leaflet", _leaflet_js_uri())]
    m.default_css = [("leaflet_css", _leaflet_css_uri())]
    m.get_root().title = html.escape(heading)

    if tiles:
        attr = "Map tiles: " + html.escape(tiles.split("/")[2] if "://" in tiles else tiles)
        folium.TileLayer(tiles=tiles, attr=attr, name="Tiles", control=False).add_to(m)

    outlines = _outlines(frame)
    PlanLayer("Territory outlines", _outline_js(frame, outlines)).add_to(m)
    PlanLayer(f"Accounts ({len(frame.accounts):,})", _account_js(frame)).add_to(m)
    PlanLayer("Rep homes", _home_js(frame)).add_to(m)
    moves = _move_js(frame)
    if moves is not None:
        PlanLayer("Rep moves", moves).add_to(m)
    _Legend(_legend_html(frame, summary, heading), _legend_css()).add_to(m)
    for layer in extra_layers:
        layer.add_to(m)  # before the layer control: its script names every overlay
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.fit_bounds(frame.bounds(), padding=(12, 12))
    _number_elements(m.get_root(), element_prefix if element_prefix is not None else _plan_digest(frame, heading, tiles))
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


# ---------------------------------------------------------------------- deterministic ids


def _plan_digest(frame: PlanFrame, heading: str, tiles: str | None) -> str:
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
