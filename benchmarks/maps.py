"""The ``maps`` set: the plan map's HTML size and time to first render in headless Chromium.

Issue 27: a map of 50,000 accounts must stay responsive and small. Solving 50,000
accounts takes long and is not what this set measures, so each plan is built directly:
the demo generator's accounts and reps (``demo_data.generate_demo``, same seed, same
data), each account assigned to its nearest rep's home (haversine), ``moved`` where that
is not its current owner, one seat left open (a vacant territory), territory KPIs from
``kpis.territory_table``. The map is rendered by ``outputs.maps.plan_map`` as
``territory-planner plan --map`` writes it (offline, no tiles).

Reported per size: HTML bytes, the seconds Python takes to build and render the page,
and the time to first render in Debian's headless Chromium with the network off: from
navigation start to the second animation frame after the ``load`` event (every layer
built and the canvas painted), as the page's own ``performance.now()`` reads it, the
median of ``REPEATS`` loads in one browser. Also measured: the seconds a pan of the
map takes to redraw (the responsiveness of a canvas of N accounts).
"""

from __future__ import annotations

import math
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

#: (accounts, reps) of the set.
SIZES = ((3_000, 30), (50_000, 100))
#: Page loads per size; the median is reported.
REPEATS = 3
SEED = 7

# In the page before its own scripts: note when the second frame after `load` is painted.
_FIRST_RENDER_PROBE = """
window.addEventListener("load", function () {
    requestAnimationFrame(function () { requestAnimationFrame(function () {
        window.__tpFirstRender = performance.now();
    }); });
});
"""
_COUNT = """() => {
    const map = window[document.querySelector('.folium-map').id];
    let circles = 0, polygons = 0;
    map.eachLayer(l => { if (l instanceof L.CircleMarker) circles++; else if (l instanceof L.Polygon) polygons++; });
    return {circles, polygons};
}"""
# Pan by a third of the map and wait for the canvas redraw of the new view (two frames).
_PAN = """() => new Promise(done => {
    const map = window[document.querySelector('.folium-map').id], t0 = performance.now();
    map.once("moveend", () => requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - t0))));
    map.panBy([map.getSize().x / 3, 0], {animate: false});
})"""


def synthetic_plan(n_accounts: int, n_reps: int, seed: int = SEED):
    """A Plan of ``n_accounts`` demo accounts, each with its nearest rep (no solver run)."""
    from territory_planner.demo_data import generate_demo
    from territory_planner.kpis import plan_kpis, territory_table
    from territory_planner.optimize.solution import Solution
    from territory_planner.plan import Plan
    from territory_planner.scenario import parse_scenario

    demo = generate_demo(seed=seed, n_accounts=n_accounts, n_reps=n_reps)
    acc, reps = demo.accounts.copy(), demo.reps.copy()
    reps.loc[reps.index[-1], "status"] = "open"  # one vacant seat, as a re-plan after a departure has
    lat1, lon1 = np.radians(acc["lat"].to_numpy())[:, None], np.radians(acc["lon"].to_numpy())[:, None]
    lat2, lon2 = np.radians(reps["lat"].to_numpy())[None, :], np.radians(reps["lon"].to_numpy())[None, :]
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    distance = 2 * 6371.0088 * np.arcsin(np.sqrt(h))
    nearest = distance.argmin(axis=1)
    territory_ids = np.array([f"T{i + 1:03d}" for i in range(n_reps)], dtype=object)
    rep_ids = reps["rep_id"].to_numpy(dtype=object)
    rep_names = np.where(reps["status"].to_numpy() == "open", "(open)", reps["name"].to_numpy(dtype=object))
    acc["territory_id"] = territory_ids[nearest]
    acc["rep_id"] = rep_ids[nearest]
    acc["rep_name"] = rep_names[nearest]
    acc["distance_km"] = np.round(distance[np.arange(n_accounts), nearest], 1)
    acc["moved"] = acc["rep_id"].to_numpy() != acc["current_rep_id"].to_numpy()
    seats = pd.DataFrame({"territory_id": territory_ids, "rep_id": rep_ids, "rep_name": rep_names,
                          "status": reps["status"].to_numpy(), "home_lat": reps["lat"].to_numpy(),
                          "home_lon": reps["lon"].to_numpy(), "capacity_hours": reps["capacity_hours"].to_numpy()})
    balance = ["potential", "workload"]
    territories = territory_table(acc, seats, balance)
    scenario = parse_scenario({"name": f"map bench {n_accounts:,} x {n_reps}", "data": {"accounts": "accounts.csv", "reps": "reps.csv"},
                               "geometry": "geographic", "balance": {"potential": 0.05, "workload": 0.10}})
    total = float((acc["distance_km"] * acc["workload"]).sum())
    solution = Solution(assignment=nearest.astype(np.int64), status="feasible", objective=total, bound=-math.inf,
                        backend="nearest rep", seconds=0.0)
    return Plan(scenario=scenario, assignments=acc, territories=territories, reps=reps, solution=solution,
                kpis=plan_kpis(acc, territories, balance))


def measure_map(plan, folder: Path, repeats: int = REPEATS) -> dict:
    """Render ``plan``'s map into ``folder``; its bytes, render seconds and Chromium timings."""
    from playwright.sync_api import sync_playwright

    from territory_planner.outputs.maps import plan_map

    t0 = time.perf_counter()
    page_text = plan_map(plan).get_root().render()
    render_seconds = time.perf_counter() - t0
    path = folder / f"map_{len(plan.assignments)}.html"
    path.write_text(page_text, encoding="utf-8")
    start = page_text.index("var A = {")  # the accounts' data array, the part that grows with N
    figures = {"bytes": path.stat().st_size, "account_bytes": len(page_text[start: page_text.index(";\n", start)].encode()),
               "render_seconds": render_seconds, "accounts": len(plan.assignments), "territories": len(plan.territories)}
    executable = shutil.which("chromium")
    if executable is None:
        figures["browser_note"] = "chromium not installed"
        return figures
    first, pans, requests, errors = [], [], [], []

    def route(route_, request):
        if request.url.startswith(("file:", "data:", "about:")):
            route_.continue_()
        else:
            requests.append(request.url)
            route_.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 800})
            context.route("**/*", route)
            context.add_init_script(_FIRST_RENDER_PROBE)
            for _ in range(repeats):
                page = context.new_page()
                page.set_default_timeout(120_000)
                page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.goto(path.resolve().as_uri(), wait_until="load")
                page.wait_for_function("() => window.__tpFirstRender !== undefined")
                first.append(page.evaluate("() => window.__tpFirstRender"))
                pans.append(page.evaluate(_PAN))
                figures["layers"] = page.evaluate(_COUNT)
                page.close()
        finally:
            browser.close()
    figures.update(first_render_ms=statistics.median(first), pan_ms=statistics.median(pans),
                   requests=len(requests), console_errors=len(errors))
    return figures


def run_maps_set(row, sizes=SIZES):
    """Yield one ``row`` (``benchmarks.run.Row``) per size, the figures in ``extra``."""
    from territory_planner.outputs.maps import plan_map

    # Warm up: imports and the Census shapes are loaded once per process (about 2 s), not per map.
    plan_map(synthetic_plan(200, 4)).get_root().render()
    with tempfile.TemporaryDirectory(prefix="map-bench-") as folder:
        for n_accounts, n_reps in sizes:
            plan = synthetic_plan(n_accounts, n_reps)
            figures = measure_map(plan, Path(folder))
            yield row("maps", f"{n_accounts:,} accounts × {n_reps} territories", n_accounts, n_reps, None, math.nan,
                      math.nan, "ok" if not figures.get("console_errors") and not figures.get("requests") else "errors",
                      figures["render_seconds"], extra=figures)


def maps_table(block) -> list[str]:
    """The section's lines: one row per size."""
    lines = ["| plan | HTML | account data B per account | Python build + render s | first render in Chromium ms "
             "| pan redraw ms | accounts drawn | requests | console errors |", "|---|---|---|---|---|---|---|---|---|"]
    for r in block:
        f = r.extra
        drawn = f.get("layers", {}).get("circles")
        browser = (f"{f['first_render_ms']:,.0f} | {f['pan_ms']:,.0f} | {drawn:,} | {f['requests']} | {f['console_errors']}"
                   if "first_render_ms" in f else f"{f.get('browser_note', '–')} | – | – | – | –")
        lines.append(f"| {r.instance} | {f['bytes'] / 1e6:.2f} MB | {f['account_bytes'] / f['accounts']:.0f} | "
                     f"{f['render_seconds']:.2f} | {browser} |")
    lines += ["", f"Plans built without a solver (each account with its nearest rep; `benchmarks/maps.py`); the map as "
              "`territory-planner plan --map` writes it, no tiles. *Python build + render*: `plan_map` and its HTML, "
              "after a warm-up map (the first map of a process also loads the Census shapes, about 2 s). "
              "*First render*: navigation start to the second "
              f"animation frame after `load` (page's `performance.now()`), median of {REPEATS} loads, 1200×800 "
              "viewport, headless Debian Chromium, network off. *Pan redraw*: a pan by a third of the map until the "
              "canvas is redrawn. The page's fixed part is Leaflet inlined (about 220 KB), the Census state lines "
              "(about 50 KB for a national plan) and the territory outlines and popups.", ""]
    return lines
