"""The demo's map in headless Chromium, network off: what a manager clicks works.

The shipped demo (3,000 accounts, 30 reps) is planned once for the module at a 5 s time
limit, one account renamed ``<script>alert(1)</script>``. The page must show every
territory, toggle the moved-accounts layer from the layer control, show the evil name as
text in its popup, raise no console error or dialog and request nothing from the network
(``tests/browser.py`` aborts and records every request that is not file:/data:/about:).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from territory_planner.outputs.maps import write_map

try:
    from browser import chromium_or_skip, read_png, visit
except ImportError:  # tests/ became a package
    from tests.browser import chromium_or_skip, read_png, visit

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """(plan, map path) of the demo planned at 5 s, account 0 named EVIL."""
    chromium_or_skip()
    from territory_planner import load_scenario, plan

    scenario = load_scenario(ROOT / "scenarios" / "demo.yaml").with_overrides(solver={"time_limit": 5})
    result = plan(scenario)
    accounts = result.assignments.copy()
    accounts.loc[0, "name"] = EVIL
    result = dataclasses.replace(result, assignments=accounts)
    return result, write_map(result, tmp_path_factory.mktemp("demo_map") / "map.html")


STATE = """() => {
    const map = window[document.querySelector('.folium-map').id];
    let lines = 0, rings = 0;
    map.eachLayer(l => {
        if (l.mv !== undefined && l instanceof L.Polyline) lines++;
        else if (l.mv !== undefined) rings++;
    });
    const outlines = map.tpOutlines.getLayers();
    return {
        outlines: outlines.length,
        outlinesShown: map.hasLayer(map.tpOutlines) && outlines.every(l => map.hasLayer(l)),
        outlineTerritories: new Set(outlines.map(l => l.t)).size,
        legendRows: document.querySelectorAll('.tp-legend tr.tp-row').length,
        legendColours: new Set([...document.querySelectorAll('.tp-legend tr.tp-row .tp-swatch')].map(s => s.style.background)).size,
        movedLines: lines, movedRings: rings,
        overlays: [...document.querySelectorAll('.leaflet-control-layers-overlays label')].map(l => l.textContent.trim()),
    };
}"""

OPEN_ACCOUNT = """([lat, lng]) => {
    const map = window[document.querySelector('.folium-map').id];
    map.closePopup();
    map.setView([lat, lng], 17, {animate: false});
    const p = map.latLngToContainerPoint([lat, lng]), box = map.getContainer().getBoundingClientRect();
    return [p.x + box.left, p.y + box.top];
}"""


def test_demo_map_shows_every_territory_toggles_moves_and_escapes_names(demo, tmp_path):
    result, html_path = demo
    n_territories = len(result.territories)
    moved = result.assignments["moved"].astype(bool)
    evil = result.assignments.iloc[0]

    def moved_toggle(page):
        return page.locator(".leaflet-control-layers-overlays label", has_text="Moved accounts").locator("input")

    def interact(page):
        states = {"start": page.evaluate(STATE)}
        moved_toggle(page).click()  # the user switches the layer on ...
        page.wait_for_timeout(200)
        states["on"] = page.evaluate(STATE)
        page.screenshot(path=str(tmp_path / "demo_map_moves.png"))
        moved_toggle(page).click()  # ... and off again
        page.wait_for_timeout(200)
        states["off"] = page.evaluate(STATE)
        x, y = page.evaluate(OPEN_ACCOUNT, [float(evil["lat"]), float(evil["lon"])])
        page.mouse.click(x, y)
        popup = page.locator(".leaflet-popup-content").last
        states["popup_html"] = popup.inner_html(timeout=3_000)
        states["popup_text"] = popup.inner_text()
        page.screenshot(path=str(tmp_path / "demo_map_popup.png"))
        return states

    page = visit(html_path, tmp_path / "demo_map.png", interact=interact, wait_for=".leaflet-container",
                 viewport=(1200, 800), settle_ms=600, timeout_ms=30_000)

    assert page.network_requests == []  # nothing left the page, not even attempted
    assert page.errors == []  # no console error, no exception, no alert() dialog
    states = page.interaction
    start, on, off = states["start"], states["on"], states["off"]
    # Every territory: one outline each, drawn; one legend row and colour each.
    assert start["outlines"] == start["outlineTerritories"] == n_territories == 30
    assert start["outlinesShown"]
    assert start["legendRows"] == start["legendColours"] == n_territories
    # The moved-accounts layer is listed, off at first, and the layer control toggles it.
    label = f"Moved accounts ({int(moved.sum()):,})"
    assert label in start["overlays"]
    assert start["movedLines"] + start["movedRings"] == 0
    assert on["movedLines"] + on["movedRings"] == int(moved.sum()) > 0
    assert on["movedLines"] > 0  # demo reps all hold a territory: lines from their homes
    assert off["movedLines"] + off["movedRings"] == 0
    # The account named <script>alert(1)</script> is shown as text in its popup.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in states["popup_html"]
    assert EVIL in states["popup_text"] and str(evil["account_id"]) in states["popup_text"]
    width, height, _ = read_png(page.screenshot)
    assert (width, height) == (1200, 800)
    assert (tmp_path / "demo_map_moves.png").stat().st_size > 10_000


ACCOUNTS_VS_LEGEND = """() => {
    const map = window[document.querySelector('.folium-map').id];
    const box = map.getContainer().getBoundingClientRect();
    const legend = document.querySelector('.tp-legend'), r = legend.getBoundingClientRect();
    let n = 0, under = 0, off = 0, left = Infinity, right = -Infinity, top = Infinity, bottom = -Infinity;
    map.eachLayer(l => {
        if (l.k === undefined || !(l instanceof L.CircleMarker)) return;  // account markers only
        n++;
        const p = map.latLngToContainerPoint(l.getLatLng()), x = p.x + box.left, y = p.y + box.top;
        const rad = l.getRadius();
        if (x + rad > r.left && x - rad < r.right && y + rad > r.top && y - rad < r.bottom) under++;
        if (x < box.left || x > box.right || y < box.top || y > box.bottom) off++;
        left = Math.min(left, x); right = Math.max(right, x); top = Math.min(top, y); bottom = Math.max(bottom, y);
    });
    return {n, under, off, open: legend.querySelector('details').open,
            planShare: Math.max((right - left) / box.width, (bottom - top) / box.height),
            legendOverflows: legend.scrollWidth > legend.clientWidth + 1};
}"""


@pytest.mark.parametrize("viewport", [(1024, 700), (1400, 900), (800, 600)], ids=lambda v: f"{v[0]}x{v[1]}")
def test_no_account_is_under_the_legend_when_the_map_opens(demo, tmp_path, viewport):
    """The plan is fitted clear of the legend, whatever room the window leaves it."""
    result, html_path = demo
    page = visit(html_path, tmp_path / f"demo_map_{viewport[0]}x{viewport[1]}.png", evaluate=ACCOUNTS_VS_LEGEND,
                 wait_for=".leaflet-container", viewport=viewport, settle_ms=300, timeout_ms=30_000)
    assert page.errors == [] and page.network_requests == []
    state = page.value
    assert state["n"] == len(result.assignments) == 3_000
    assert state["under"] == 0, state  # no account marker (with its radius) under the legend's box
    assert state["off"] == 0, state  # and every one on screen
    assert state["planShare"] > 0.5, state  # not fitted needlessly small
    assert not state["legendOverflows"]


VACANT_BADGES = """() => {
    document.querySelector('.tp-legend details').open = true;
    const rows = document.querySelector('.tp-rows'), table = document.querySelector('.tp-bal');
    if (table.offsetWidth > rows.clientWidth) return "the balance table is wider than the legend";
    return [...document.querySelectorAll('.tp-legend .tp-badge')].map(b => {
        const r = b.getBoundingClientRect();
        let clipped = false;
        for (let e = b.parentElement; e && !e.classList.contains('tp-legend'); e = e.parentElement) {
            const s = getComputedStyle(e), c = e.getBoundingClientRect();
            if (s.overflowX !== 'visible' && !e.classList.contains('tp-rows')
                && (r.left < c.left - 0.5 || r.right > c.right + 0.5)) clipped = true;
        }
        return {text: b.textContent, clipped, whole: b.scrollWidth <= b.clientWidth};
    });
}"""


def test_the_vacant_badge_is_shown_whole_beside_a_long_name(demo, tmp_path):
    result, _ = demo
    terr = result.territories.copy()
    longest = terr["rep_name"].astype(str).str.len().idxmax()
    terr.loc[longest, "status"] = "open"  # a seat left open, its last rep's long name kept
    html_path = write_map(dataclasses.replace(result, territories=terr), tmp_path / "vacant.html")
    page = visit(html_path, tmp_path / "vacant.png", evaluate=VACANT_BADGES, wait_for=".leaflet-container",
                 viewport=(1400, 900), timeout_ms=30_000)
    assert page.errors == []
    assert page.value == [{"text": "vacant", "clipped": False, "whole": True}]
