"""The plan map: offline, escaped, outlines that partition the accounts, atomic writes."""

from __future__ import annotations

import dataclasses
import html
import itertools
import json
import os
import re

import folium
import numpy as np
import pandas as pd
import pytest
import shapely
from browser import assert_loads_nothing_from_the_network

from territory_planner.errors import InputError
from territory_planner.optimize.solution import Solution
from territory_planner.outputs.map_frame import PALETTE
from territory_planner.outputs.map_outlines import territory_outlines
from territory_planner.outputs.maps import check_tiles, plan_map, territory_colors, write_map
from territory_planner.plan import Plan
from territory_planner.scenario import parse_scenario

EVIL_ACCOUNT = "<img src=x onerror=alert(1)>"
EVIL_REP = "<script>alert(1)</script>"
EVIL_SCENARIO = 'Q3 "stretch" <b>plan</b> & co'

# Rep homes inland in the US Midwest (lat, lon), so that random accounts around them are
# on land; planar plans use the same numbers as (x, y).
HOMES = [(39.10, -94.58), (38.63, -90.20), (41.26, -95.93), (41.59, -93.62), (39.80, -89.65), (36.15, -95.99)]
# Cities around Lake Michigan (lat, lon): west shore and east shore.
LAKE_WEST = [(41.88, -87.63), (43.04, -87.91), (44.51, -88.01), (43.75, -87.71), (42.27, -89.09), (43.07, -89.40)]
LAKE_EAST = [(42.96, -85.67), (42.29, -85.59), (42.73, -84.56), (41.68, -86.25), (44.76, -85.62), (43.23, -86.25)]


def make_plan(
    n_accounts: int = 60,
    n_territories: int = 4,
    *,
    planar: bool = False,
    seed: int = 0,
    names: dict[int, str] | None = None,
    rep_names: dict[int, str] | None = None,
    scenario_name: str = "demo",
    optional_columns: bool = True,
    points: np.ndarray | None = None,
    homes: np.ndarray | None = None,
) -> Plan:
    """A hand-made plan: accounts around the homes, each assigned to its nearest home.

    ``points`` (n, 2) and ``homes`` (p, 2) as (lat, lon) replace the random accounts and
    the default homes.
    """
    rng = np.random.default_rng(seed)
    if homes is not None:
        homes = np.asarray(homes, float)
        n_territories = len(homes)
    elif n_territories <= len(HOMES):
        homes = np.array(HOMES[:n_territories])
    else:
        homes = np.column_stack([rng.uniform(33, 46, n_territories), rng.uniform(-104, -78, n_territories)])
    if points is not None:
        first, second = np.asarray(points, float).T
        n_accounts = len(first)
    else:
        first = rng.uniform(homes[:, 0].min() - 1.0, homes[:, 0].max() + 1.0, n_accounts)
        second = rng.uniform(homes[:, 1].min() - 1.0, homes[:, 1].max() + 1.0, n_accounts)
    dist = np.hypot(first[:, None] - homes[None, :, 0], second[:, None] - homes[None, :, 1])
    territory = dist.argmin(axis=1)
    territory_ids = [f"T{j + 1:02d}" for j in range(n_territories)]
    rep_names = rep_names or {}
    names = names or {}
    potential = np.round(rng.lognormal(10, 0.6, n_accounts), 0)
    workload = np.round(rng.uniform(5, 40, n_accounts), 1)

    accounts = pd.DataFrame(
        {
            "account_id": [f"A{i:05d}" for i in range(n_accounts)],
            ("x" if planar else "lat"): first,
            ("y" if planar else "lon"): second,
            "potential": potential,
            "workload": workload,
            "territory_id": [territory_ids[t] for t in territory],
            "rep_id": [f"R{t + 1:02d}" for t in territory],
            "rep_name": [rep_names.get(int(t), f"Rep {t + 1}") for t in territory],
            "distance_km": np.round(dist[np.arange(n_accounts), territory] * 111, 1),
        }
    )
    if optional_columns:
        accounts.insert(1, "name", [names.get(i, f"Account {i}") for i in range(n_accounts)])
        accounts.insert(2, "segment", np.where(potential > np.median(potential), "Enterprise", "SMB"))
        accounts["current_rep_id"] = accounts["rep_id"]
        accounts["moved"] = False
        accounts.loc[0, ["current_rep_id", "moved"]] = ["R99", True]

    grouped = accounts.groupby("territory_id")
    terr = pd.DataFrame({"territory_id": territory_ids})
    terr["rep_id"] = [f"R{j + 1:02d}" for j in range(n_territories)]
    terr["rep_name"] = [rep_names.get(j, f"Rep {j + 1}") for j in range(n_territories)]
    terr["status"] = "active"
    if planar:
        terr["home_x"], terr["home_y"] = homes[:, 0], homes[:, 1]
    else:
        terr["home_lat"], terr["home_lon"] = homes[:, 0], homes[:, 1]
    terr["capacity_hours"] = 1056.0
    terr["n_accounts"] = grouped.size().reindex(territory_ids, fill_value=0).to_numpy()
    for activity in ("potential", "workload"):
        totals = grouped[activity].sum().reindex(territory_ids, fill_value=0).to_numpy()
        terr[activity] = totals
        terr[f"{activity}_dev_pct"] = (totals - totals.mean()) / totals.mean() * 100
    terr["utilisation"] = terr["workload"] / terr["capacity_hours"]
    terr["mean_distance_km"] = grouped["distance_km"].mean().reindex(territory_ids).to_numpy()

    scenario = parse_scenario(
        {
            "name": scenario_name,
            "data": {"accounts": "accounts.csv", "reps": "reps.csv"},
            "geometry": "planar" if planar else "geographic",
            "balance": {"potential": 0.05},
        }
    )
    solution = Solution(
        assignment=territory.astype(int), status="optimal", objective=1234.5, bound=1230.0,
        backend="test", seconds=0.1,
    )
    reps = terr[["rep_id", "rep_name"]].copy()
    return Plan(scenario=scenario, assignments=accounts, territories=terr, reps=reps, solution=solution)


def render(plan: Plan, **kwargs) -> str:
    return plan_map(plan, **kwargs).get_root().render()


def embedded(html_text: str, prefix: str) -> list:
    """Every JSON blob the page's scripts assign after ``prefix`` (e.g. ``"var O = "``)."""
    decoder = json.JSONDecoder()
    return [decoder.raw_decode(html_text, m.end())[0] for m in re.finditer(re.escape(prefix), html_text)
            if html_text[m.end()] in "[{"]  # not `var A = map.tpA`


def territory_table(html_text: str) -> list[dict]:
    """The territory table every layer reads (``map.tpT``)."""
    (table,) = embedded(html_text, "map.tpT = ")
    return table


def account_data(html_text: str) -> dict:
    """The accounts' column-wise data (``map.tpA``)."""
    (data,) = [d for d in embedded(html_text, "var A = ") if isinstance(d, dict)]
    return data


def decode_shape(polygons: list, scale: int):
    """``map_layers.encode_shape``'s integers back to a shapely (Multi)Polygon."""
    def ring(steps):
        return np.cumsum(np.asarray(steps, float).reshape(-1, 2), axis=0) / scale

    parts = [shapely.Polygon(ring(p[0]), [ring(h) for h in p[1:]]) for p in polygons]
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def outline_features(html_text: str) -> list[dict]:
    """The territory outlines embedded in the page: territory position, colour, geometry."""
    (data,) = [d for d in embedded(html_text, "var O = ") if isinstance(d, dict)]
    table = territory_table(html_text)
    return [{"t": t, "color": table[t]["color"], "geometry": decode_shape(polygons, data["s"])}
            for t, polygons in data["f"]]


def overlay_names(html_text: str) -> list[str]:
    """The overlays of the layer control, in order."""
    overlays = html_text[html_text.index("overlays :"):]
    return [json.loads(f'"{name}"') for name, _ in re.findall(r'"([^"]+)" : (\w+)', overlays[: overlays.index("}")])]


def shown_at_start(html_text: str, name: str) -> bool:
    """Whether the overlay called ``name`` is added to the map when the page opens."""
    overlays = html_text[html_text.index("overlays :"):]
    variable = dict(re.findall(r'"([^"]+)" : (\w+)', overlays[: overlays.index("}")]))[name]
    return f"{variable}.addTo(" in html_text


# ----------------------------------------------------------------------------- offline


def test_html_loads_nothing_from_the_network(tmp_path):
    path = write_map(make_plan(), tmp_path / "map.html")
    text = path.read_text(encoding="utf-8")
    assert_loads_nothing_from_the_network(text)
    assert '"preferCanvas": true' in text


def test_inlined_css_has_no_relative_or_remote_urls():
    import base64

    text = render(make_plan())
    css_uri = re.search(r'<link[^>]*href="data:text/css;base64,([^"]+)"', text).group(1)
    css = base64.b64decode(css_uri).decode()
    for url in re.findall(r"url\(([^)]*)\)", css):
        assert url.startswith(("data:", "#")), url[:60]


def test_folium_defaults_are_not_patched_globally():
    before = (list(folium.Map.default_js), list(folium.Map.default_css))
    render(make_plan())
    assert (folium.Map.default_js, folium.Map.default_css) == before
    other = folium.Map().get_root().render()
    assert "cdn.jsdelivr.net/npm/leaflet" in other


def test_tiles_only_when_asked():
    text = render(make_plan(), tiles="https://tiles.example.org/{z}/{x}/{y}.png")
    assert "tiles.example.org" in text and "L.tileLayer" in text
    assert "Tiles (tiles.example.org)" in overlay_names(text)  # the user can switch them off
    assert not shown_at_start(text, "States")  # the tiles show the borders already
    named = render(make_plan(), tiles="OpenStreetMap")
    assert "tile.openstreetmap.org/{z}/{x}/{y}.png" in named
    assert "openstreetmap.org/copyright" in named  # the provider's own attribution
    with pytest.raises(InputError, match="planar"):
        plan_map(make_plan(planar=True), tiles="https://tiles.example.org/{z}/{x}/{y}.png")
    for bad in ("no-such-provider", "https://tiles.example.org/{z}.png", "ftp://x/{z}/{x}/{y}"):
        with pytest.raises(InputError, match="tile"):
            check_tiles(bad)
    with pytest.raises(InputError, match="API key"):
        check_tiles("CartoDB.Positron")
    check_tiles("Esri.WorldGrayCanvas")


def test_plan_command_refuses_bad_tiles_before_planning(tmp_path):
    from typer.testing import CliRunner

    from territory_planner.cli import app

    result = CliRunner().invoke(app, ["plan", "scenarios/demo.yaml", "--map", str(tmp_path / "m.html"),
                                      "--tiles", "no-such-provider", "--store", str(tmp_path / "runs"), "--quiet"])
    assert result.exit_code == 1, result.output
    assert "unknown tile provider" in result.output and not (tmp_path / "runs").exists()


def test_plan_command_refuses_tiles_without_map(tmp_path):
    """--tiles draws the --map copy only (--out's map.html is the stored run's): alone it is an error, not ignored."""
    from typer.testing import CliRunner

    from territory_planner.cli import app

    result = CliRunner().invoke(app, ["plan", "scenarios/demo.yaml", "--out", str(tmp_path / "out"),
                                      "--tiles", "OpenStreetMap", "--store", str(tmp_path / "runs"), "--quiet"])
    assert result.exit_code == 1, result.output
    assert "--tiles draws the --map copy" in result.output and "add --map FILE" in result.output
    assert not (tmp_path / "runs").exists() and not (tmp_path / "out").exists()  # refused before planning


# ---------------------------------------------------------------------------- escaping


def test_user_strings_are_escaped_everywhere():
    plan = make_plan(names={3: EVIL_ACCOUNT}, rep_names={1: EVIL_REP}, scenario_name=EVIL_SCENARIO)
    text = render(plan)
    for raw in (EVIL_ACCOUNT, EVIL_REP, "<b>plan</b>", "onerror=alert(1)>"):
        assert raw not in text
    # The legend is plain HTML: escaped once, shown literally.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Q3 &quot;stretch&quot; &lt;b&gt;plan&lt;/b&gt; &amp; co" in text
    # The account name reaches the popup data escaped (and the JSON hides '&' as well).
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in text
    assert len(re.findall(r"<script\b", text)) == text.count("</script>")


def test_template_slot_names_in_user_strings_are_not_filled():
    """A rep or account named like a template slot stays text: the script keeps one data blob."""
    plan = make_plan(names={3: "__DATA__ __DISTANCE__"}, rep_names={1: "__DATA__"})
    text = render(plan)
    for prefix in ("map.tpT = ", "var A = ", "var O = ", "var H = ", "var B = "):
        embedded(text, prefix)  # each embedded blob is whole, valid JSON
    assert text.count('"xy":') == 1
    assert [t["rep"] for t in territory_table(text)].count("__DATA__") == 1
    assert account_data(text)["n"][3] == "__DATA__ __DISTANCE__"


def test_title_is_escaped():
    text = render(make_plan(), title="</title><script>x()</script>")
    assert "<script>x()</script>" not in text
    assert "<title>&lt;/title&gt;&lt;script&gt;x()&lt;/script&gt;</title>" in text


# ---------------------------------------------------------------------------- outlines


@pytest.mark.parametrize("planar", [False, True])
def test_outlines_partition_the_accounts(planar):
    plan = make_plan(planar=planar)
    outlines = territory_outlines(plan)
    assert list(outlines["territory_id"]) == list(plan.territories["territory_id"])
    assert outlines.geometry.is_valid.all()
    for a, b in itertools.combinations(outlines.geometry, 2):
        assert a.intersection(b).area < 1e-9 * max(a.area, b.area)
    by_territory = dict(zip(outlines["territory_id"], outlines.geometry, strict=True))
    first, second = ("x", "y") if planar else ("lon", "lat")
    for row in plan.assignments.itertuples():
        assert by_territory[row.territory_id].covers(shapely.Point(getattr(row, first), getattr(row, second)))


def test_one_outline_feature_per_territory_in_the_html():
    plan = make_plan()
    features = outline_features(render(plan))
    assert len(features) == len(plan.territories)
    assert [f["color"] for f in features] == list(PALETTE[:4])
    shapes = [f["geometry"] for f in features]
    for a, b in itertools.combinations(shapes, 2):
        assert a.intersection(b).area < 1e-4 * max(a.area, b.area)  # rounded to 10⁻⁴°
    # The page's outlines are the outlines, to the rounding.
    for shape, exact in zip(shapes, territory_outlines(plan).geometry, strict=True):
        assert shape.symmetric_difference(exact).area < 1e-3 * exact.area


def test_us_accounts_are_clipped_to_us_land():
    # Accounts on both shores of Lake Michigan: the lake is inside their hull, but every
    # account is in the US, so the outlines follow US land and leave the lake open.
    plan = make_plan(points=LAKE_WEST + LAKE_EAST, homes=[LAKE_WEST[0], LAKE_EAST[0]])
    outlines = territory_outlines(plan)
    lake_michigan = shapely.Point(-87.0, 43.5)
    assert outlines.geometry.union_all().convex_hull.contains(lake_michigan)
    assert not any(g.intersects(lake_michigan) for g in outlines.geometry)
    for row in plan.assignments.itertuples():
        assert outlines.geometry[outlines["territory_id"] == row.territory_id].iloc[0].covers(shapely.Point(row.lon, row.lat))


def test_accounts_outside_the_us_fall_back_to_the_hull():
    points = [(48.86 + 0.1 * i, 2.35 + 0.1 * (i % 3)) for i in range(9)]  # around Paris
    outlines = territory_outlines(make_plan(points=points, homes=[points[0], points[8]]))
    hull = shapely.MultiPoint([(lon, lat) for lat, lon in points]).convex_hull
    assert outlines.geometry.union_all().buffer(1e-9).contains(hull.buffer(0.05))


def test_duplicate_locations_are_handled():
    plan = make_plan()
    acc = plan.assignments.copy()
    # Three accounts at one spot: two in T01, one in T02 -> the cell goes to T01.
    spot = acc.loc[5, ["lat", "lon"]].to_numpy()
    acc.loc[[6, 7], ["lat", "lon"]] = spot
    acc.loc[[5, 6], "territory_id"] = "T01"
    acc.loc[7, "territory_id"] = "T02"
    outlines = territory_outlines(dataclasses.replace(plan, assignments=acc))
    by_territory = dict(zip(outlines["territory_id"], outlines.geometry, strict=True))
    point = shapely.Point(spot[1], spot[0])
    assert by_territory["T01"].covers(point)
    for a, b in itertools.combinations(outlines.geometry, 2):
        assert a.intersection(b).area < 1e-9


def test_missing_optional_columns_are_tolerated():
    plan = make_plan(optional_columns=False)
    terr = plan.territories.drop(columns=["potential_dev_pct", "workload_dev_pct", "utilisation", "mean_distance_km"])
    text = render(dataclasses.replace(plan, territories=terr))
    assert len(outline_features(text)) == 4


def test_planar_map_uses_simple_crs():
    text = render(make_plan(planar=True))
    assert "L.CRS.Simple" in text
    coords = np.vstack([shapely.get_coordinates(f["geometry"]) for f in outline_features(text)])
    assert coords.min() > -50 and coords.max() < 300  # scaled into a sensible range
    assert "States" not in overlay_names(text)  # no Census lines under x/y coordinates


# ---------------------------------------------------------------------------- the file


def test_write_map_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "out" / "map.html"
    assert write_map(make_plan(), target) == target
    assert sorted(p.name for p in target.parent.iterdir()) == ["map.html"]
    before = target.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_map(make_plan(seed=1), target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["map.html"]
    assert target.read_bytes() == before


def test_same_plan_same_html():
    assert render(make_plan()) == render(make_plan())
    assert render(make_plan()) != render(make_plan(seed=1))


def test_legend_shows_status_gap_and_balance_deviation():
    plan = make_plan()
    text = render(dataclasses.replace(plan, kpis={"potential_max_dev_pct": 4.25, "max_balance_dev_pct": 4.25}))
    legend = text[text.index('<div class="tp-legend">'):]
    assert "optimal" in legend and "0.36%" in legend  # gap (1234.5 - 1230) / 1234.5
    assert "potential ±4.2%" in legend or "potential ±4.3%" in legend
    # Without KPIs the deviation comes from the territory table.
    expected = plan.territories["workload_dev_pct"].abs().max()
    assert f"workload ±{expected:.1f}%" in render(plan)


@pytest.mark.parametrize(("status", "bound", "words"), [
    ("optimal", 1234.5, "optimal (proven)"),
    ("time_limit", 1230.0, "time limit reached — best plan found, within 0.36% of the proven bound"),
    ("time_limit", float("-inf"), "time limit reached — best plan found, no proven bound"),
    ("interrupted", 1230.0, "stopped by Ctrl-C — best plan found so far, within 0.36% of the proven bound"),
    ("feasible", float("-inf"), "feasible, no proof"),
])
def test_legend_says_the_status_in_planner_words_with_the_raw_status_in_a_tooltip(status, bound, words):
    plan = make_plan()
    plan = dataclasses.replace(plan, solution=dataclasses.replace(plan.solution, status=status, bound=bound))
    text = render(plan)
    legend = text[text.index('<div class="tp-legend">'):]
    cell = re.search(r'<th>status</th><td class="tp-status">(.*?)</td>', legend).group(1)
    assert cell == f'<span title="solver status: {status}">{html.escape(words)}</span>'
    assert f">{status}<" not in legend  # the raw word is not shown, only its tooltip


def test_the_vacant_badge_is_outside_the_name_that_gets_cut_short():
    text = render(with_vacant_seat(make_plan(), "T02"))
    legend = text[text.index('<div class="tp-legend">'):]
    rows = re.findall(r'<tr class="tp-row">(.*?)</tr>', legend)
    label = re.search(r'<span class="tp-label" title="([^"]*)">([^<]*)</span>(<span class="tp-badge">vacant</span>)?', rows[1])
    assert label.groups() == ("T02 · (open)", "T02 · (open)", '<span class="tp-badge">vacant</span>')
    assert "tp-badge" not in rows[0]


def test_palette_is_deterministic_and_distinct():
    assert len(set(PALETTE)) == len(PALETTE) == 40
    colors = territory_colors([f"T{i}" for i in range(45)])
    assert colors["T0"] == PALETTE[0] and colors["T40"] == PALETTE[0] and colors["T39"] == PALETTE[39]


def test_accounts_are_one_layer_not_one_object_each():
    small, large = render(make_plan(60)), render(make_plan(600))
    assert small.count("L.circleMarker(") == large.count("L.circleMarker(")  # the code, not one per account
    assert small.count('"xy":') == large.count('"xy":') == 1  # one data array
    # ~75 bytes per account (column-wise data), not folium's ~500 per CircleMarker object
    # nor the ~130 of one GeoJSON feature per account
    assert (len(large) - len(small)) / 540 < 90


# ------------------------------------------------------------------- layers of a caller


def test_extra_layers_are_drawn_above_the_plan_and_listed_in_the_layer_control():
    from territory_planner.outputs.map_frame import PlanFrame
    from territory_planner.outputs.map_layers import PlanLayer, fill_template, safe_json

    plan = make_plan(20, 2)
    frame = PlanFrame(plan)
    lng, lat = frame.to_display(frame.accounts["_x"].iloc[:1], frame.accounts["_y"].iloc[:1])
    body = fill_template("var p = __DATA__;\n    return L.circleMarker([p[1], p[0]], {radius: 11});",
                         DATA=safe_json([float(lng[0]), float(lat[0])]))
    text = render(plan, extra_layers=[PlanLayer("Ringed (1)", body)], element_prefix="cmp7")
    assert body in text
    overlays = text[text.index("overlays :"):]
    listed = re.findall(r'"([^"]+)" : (plan_layer_\w+)', overlays[: overlays.index("}")])
    assert [name for name, _ in listed] == ["States", "Counties", "Territory outlines", "Accounts (20)", "Rep homes",
                                            "Moved accounts (1)", "Ringed (1)"]
    # Its script runs after the plan's layers and before the layer control that names it.
    extra = listed[-1][1]
    assert text.index(f"var {extra} = ") > text.index(f"var {listed[-2][1]} = ")
    assert text.index(f"var {extra} = ") < text.index("L.control.layers(")
    # Element ids use the prefix given, and only it.
    assert re.search(r'class="folium-map" id="map_cmp7_\d+"', text)
    ids = set(re.findall(r"\b(?:map|plan_layer|layer_control)_(\w+?)_\d+\b", text))
    assert ids == {"cmp7"}
    # Without extras and prefix, the page is the plan's own map.
    assert render(plan, extra_layers=(), element_prefix=None) == render(plan)
    assert "cmp7" not in render(plan)


@pytest.mark.parametrize("prefix", ["", "7up", "a-b", "x</script>"])
def test_element_prefix_must_be_a_javascript_name(prefix):
    with pytest.raises(ValueError, match="element_prefix"):
        plan_map(make_plan(10, 2), element_prefix=prefix)


def test_the_comparison_report_uses_only_public_map_names():
    """compare_report draws on the map through plan_map's parameters and public helpers,
    not through the map modules' private names or folium's private children."""
    import ast
    import inspect

    from territory_planner.outputs import compare_report

    tree = ast.parse(inspect.getsource(compare_report))
    private = [(node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               and (node.module or "").startswith("territory_planner.outputs.map")
               for alias in node.names if alias.name.startswith("_")]
    assert private == []
    touched = sorted({node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                      and node.attr in ("_children", "_id", "_name", "_parent")})
    assert touched == []


# ------------------------------------------------------------------- colours and adjacency


def strips_plan(n_territories: int = 3) -> Plan:
    """A planar plan of vertical strips: homes at x = 0, 10, 20, …; strip j touches j ± 1 only."""
    rng = np.random.default_rng(5)
    homes = np.column_stack([10.0 * np.arange(n_territories), np.full(n_territories, 5.0)])
    points = np.column_stack([rng.uniform(-5, 10 * n_territories - 5, 40 * n_territories), rng.uniform(0, 10, 40 * n_territories)])
    return make_plan(planar=True, points=points, homes=homes)


def test_adjacency_graph_of_the_outlines():
    from territory_planner.outputs.maps import territory_adjacency

    plan = strips_plan(4)
    assert territory_adjacency(territory_outlines(plan), 4) == [{1}, {0, 2}, {1, 3}, {2}]


def test_neighbouring_territories_never_share_a_colour():
    from territory_planner.outputs.maps import territory_adjacency

    # 90 territories: more than the 40 palette colours, so colours repeat, never next door.
    plan = make_plan(900, 90, seed=3)
    outlines = territory_outlines(plan)
    neighbours = territory_adjacency(outlines, 90)
    assert sum(map(len, neighbours)) > 2 * 90  # a real map: most territories touch several
    color = dict(zip(outlines["order"], outlines["color"], strict=True))
    clashes = [(a, b) for a in range(90) for b in neighbours[a] if color[a] == color[b]]
    assert clashes == []
    assert len(set(color.values())) == 40  # the whole palette in use, not 5 colour classes
    # The map draws the same colours: outlines, their accounts and the legend.
    text = render(plan)
    table = territory_table(text)
    assert [t["color"] for t in table] == [color[t] for t in range(90)]
    assert {f["t"]: f["color"] for f in outline_features(text)} == color
    ids = list(plan.territories["territory_id"])
    assert territory_colors(ids, neighbours) == {tid: t["color"] for tid, t in zip(ids, table, strict=True)}
    assert render(plan) == text  # deterministic


def test_up_to_forty_territories_each_keeps_its_own_colour():
    from territory_planner.outputs.map_frame import neighbour_colors

    everyone_touches = [set(range(40)) - {t} for t in range(40)]
    assert neighbour_colors(everyone_touches) == list(PALETTE)
    assert [f["color"] for f in outline_features(render(make_plan(300, 30, seed=2)))] == list(PALETTE[:30])


def test_colors_can_be_given():
    plan = make_plan()
    text = render(plan, colors={"T02": "#123456", "T99": "#FFFFFF"})
    assert [t["color"] for t in territory_table(text)] == [PALETTE[0], "#123456", PALETTE[2], PALETTE[3]]
    with pytest.raises(ValueError, match="RRGGBB"):
        plan_map(plan, colors={"T01": "red"})


def test_given_colours_are_kept_and_their_neighbours_avoid_them():
    from territory_planner.outputs.maps import territory_adjacency

    plan = strips_plan(3)  # T01 | T02 | T03, side by side
    assert territory_adjacency(territory_outlines(plan), 3) == [{1}, {0, 2}, {1}]
    text = render(plan, colors={"T02": PALETTE[0].lower()})
    colours = [t["color"] for t in territory_table(text)]
    assert colours[1] == PALETTE[0]  # kept as given (written as the palette writes it)
    assert colours[0] != PALETTE[0] and colours[2] == PALETTE[2]  # T01 makes way; T03 keeps its own
    ids = list(plan.territories["territory_id"])
    assert territory_colors(ids, territory_adjacency(territory_outlines(plan), 3), given={"T02": PALETTE[0]}) == dict(
        zip(ids, colours, strict=True))


def test_map_modules_share_only_public_names():
    """What one map module uses of another is public; computing outlines changes nothing else."""
    import ast
    import inspect

    from territory_planner.outputs import (
        map_assets,
        map_background,
        map_frame,
        map_layers,
        map_legend,
        map_outlines,
        maps,
    )
    private = []
    for module in (maps, map_assets, map_background, map_frame, map_layers, map_legend, map_outlines):
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("territory_planner.outputs.map"):
                private += [(module.__name__, alias.name) for alias in node.names if alias.name.startswith("_")]
                shared = [getattr(__import__(node.module, fromlist=["_"]), alias.name) for alias in node.names]
                undocumented = [alias.name for alias, obj in zip(node.names, shared, strict=True)
                                if callable(obj) and not (obj.__doc__ or "").strip()]
                assert undocumented == [], (module.__name__, undocumented)
    assert private == []
    # The colouring is a step of its own: the outlines neither colour nor touch the frame.
    from territory_planner.outputs.map_frame import PlanFrame
    from territory_planner.outputs.map_outlines import outline_shapes

    frame = PlanFrame(make_plan(900, 90, seed=3))
    before = list(frame.colors)
    shapes = outline_shapes(frame)
    assert frame.colors == before and "color" not in shapes.columns


# --------------------------------------------------------------------- the manager's layers


def with_vacant_seat(plan: Plan, territory: str = "T02") -> Plan:
    terr = plan.territories.copy()
    terr.loc[terr["territory_id"] == territory, ["status", "rep_name"]] = ["open", "(open)"]
    return dataclasses.replace(plan, territories=terr)


def test_vacant_territories_are_a_layer_of_their_own():
    plan = with_vacant_seat(make_plan())
    text = render(plan)
    assert "Vacant territories (1)" in overlay_names(text) and shown_at_start(text, "Vacant territories (1)")
    table = territory_table(text)
    assert [t.get("v") for t in table] == [None, 1, None, None]
    assert "vacant" in table[1]["pop"] and "(open) (open)" not in table[1]["pop"]
    assert '"dashArray":"7 5"' in text  # drawn dashed, above its outline
    legend = text[text.index('<div class="tp-legend">'):]
    assert "4 (1 vacant)" in legend
    assert "Vacant territories" not in overlay_names(render(make_plan()))


def test_moved_accounts_layer_draws_from_the_old_territory():
    plan = make_plan()
    acc = plan.assignments.copy()
    # Account 1 moves from Rep 2 (T02) to its territory today; account 0 from R99, who holds none.
    acc.loc[1, ["current_rep_id", "moved"]] = ["R02" if acc.loc[1, "rep_id"] != "R02" else "R01", True]
    from_t = 1 if acc.loc[1, "current_rep_id"] == "R02" else 0
    text = render(dataclasses.replace(plan, assignments=acc))
    name = "Moved accounts (2)"
    assert name in overlay_names(text) and not shown_at_start(text, name)  # off until asked for
    assert account_data(text)["mv"] == [[0, -1, "R99"], [1, from_t]]
    assert territory_table(text)[from_t]["a"] == [round(HOMES[from_t][1], 4), round(HOMES[from_t][0], 4)]
    to_t = int(plan.territories.index[plan.territories["territory_id"] == acc.loc[1, "territory_id"]][0])
    assert "accounts changing rep</th><td>+" in territory_table(text)[to_t]["pop"]
    assert "moves from" in text and "(no territory in this plan)" in text
    legend = text[text.index('<div class="tp-legend">'):]
    assert "(2 change rep)" in legend
    assert "Moved accounts" not in overlay_names(render(make_plan(optional_columns=False)))


def test_legend_has_a_balance_bar_per_territory_against_the_band():
    plan = make_plan(rep_names={1: EVIL_REP})
    text = render(plan)
    legend = text[text.index('<div class="tp-legend">'):]
    legend = legend[: legend.index("</details>")]
    rows = re.findall(r'<tr class="tp-row">(.*?)</tr>', legend)
    assert len(rows) == 4
    assert all(row.count('class="tp-bar"') == 2 for row in rows)  # potential and workload
    assert "potential ±5%" in legend  # the scenario's band heads the column
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rows[1] and EVIL_REP not in legend
    # Deviations far outside ±5% (a nearest-home plan): the bars turn red and the summary says so.
    devs = plan.territories["potential_dev_pct"]
    outside = [tid for tid, d in zip(plan.territories["territory_id"], devs, strict=True) if abs(d) > 5]
    assert outside and f"{len(outside)} outside the band" in legend
    assert legend.count("background:#C62828") >= len(outside)
    assert "<details data-room>" in legend  # few territories: the rows open at once where there is room
    many = render(make_plan(400, 30, seed=4))
    assert "<details>" in many[many.index('<div class="tp-legend">'):]  # 30 rows: one click away
    assert many.count('<tr class="tp-row">') == 30


def test_states_always_counties_only_for_a_plan_in_few_states():
    # Homes in Missouri and Kansas: accounts in at most three states -> counties too (off at first).
    small = render(make_plan(60, 2))
    assert overlay_names(small)[:2] == ["States", "Counties"]
    assert shown_at_start(small, "States") and not shown_at_start(small, "Counties")
    assert "US Census Bureau" in small
    wide = render(make_plan(200, 6))  # six Midwest homes: more states
    assert "States" in overlay_names(wide) and "Counties" not in overlay_names(wide)
    abroad = render(make_plan(points=[(48.86 + 0.1 * i, 2.35 + 0.1 * (i % 3)) for i in range(9)],
                              homes=[(48.86, 2.35), (49.66, 2.45)]))
    assert "States" not in overlay_names(abroad)


def test_a_plan_read_back_from_its_folder_draws_the_same_map(tmp_path):
    from territory_planner.outputs.report import write_plan
    from territory_planner.runs.record import read_plan

    plan = with_vacant_seat(make_plan(names={3: EVIL_ACCOUNT}))
    write_plan(plan, tmp_path / "plan")
    back = read_plan(tmp_path / "plan")
    assert back.problem is None
    original, again = render(plan), render(back)
    assert territory_table(again) == territory_table(original)
    assert account_data(again) == account_data(original)
    assert overlay_names(again) == overlay_names(original)


# ----------------------------------------------------------------------------- browser

COUNT_LAYERS = """() => {
    const map = window[document.querySelector('.folium-map').id];
    let polygons = 0, circles = 0, markers = 0;
    map.eachLayer(l => {
        if (l instanceof L.Polygon) polygons++;
        else if (l instanceof L.CircleMarker) circles++;
        else if (l instanceof L.Marker) markers++;
    });
    return {polygons, circles, markers, leaflet: L.version,
            containers: document.querySelectorAll('.leaflet-container').length};
}"""


def _blend(color: str, alpha: float, background=(255, 255, 255)) -> tuple[int, int, int]:
    rgb = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return tuple(round(alpha * c + (1 - alpha) * b) for c, b in zip(rgb, background, strict=True))


CLICK_AT = """([lat, lng]) => {
    const map = window[document.querySelector('.folium-map').id];
    map.closePopup();
    map.setView([lat, lng], map.getZoom(), {animate: false});
    const p = map.latLngToContainerPoint([lat, lng]), box = map.getContainer().getBoundingClientRect();
    return [p.x + box.left, p.y + box.top];
}"""


def _popup_at(page, lat: float, lng: float) -> str:
    x, y = page.evaluate(CLICK_AT, [lat, lng])
    page.mouse.click(x, y)
    page.wait_for_timeout(50)
    return page.locator(".leaflet-popup-content").last.inner_html(timeout=3_000)


@pytest.mark.browser
@pytest.mark.parametrize("planar", [False, True], ids=["geographic", "planar"])
def test_map_renders_offline_in_chromium(tmp_path, planar):
    try:
        from browser import chromium_or_skip, pixels_near, read_png, visit
    except ImportError:  # tests/ became a package
        from tests.browser import chromium_or_skip, pixels_near, read_png, visit

    from territory_planner.outputs.map_frame import OUTLINE_FILL_OPACITY

    chromium_or_skip()
    plan = make_plan(planar=planar, names={3: EVIL_ACCOUNT}, rep_names={1: EVIL_REP})
    html_path = write_map(plan, tmp_path / "map.html")
    name = f"plan_map_{'planar' if planar else 'geographic'}.png"
    interact = None
    if not planar:
        # A spot inside T01's outline away from every account, and the evil account.
        accounts = plan.assignments
        near_accounts = shapely.MultiPoint(accounts[["lon", "lat"]].to_numpy()).buffer(0.2)
        spot = territory_outlines(plan).geometry.iloc[0].difference(near_accounts).point_on_surface()
        evil = accounts.iloc[3]

        def interact(page):
            return _popup_at(page, spot.y, spot.x), _popup_at(page, evil["lat"], evil["lon"])

    page = visit(html_path, tmp_path / name, evaluate=COUNT_LAYERS, interact=interact, wait_for=".leaflet-container")

    assert page.network_requests == []
    assert page.errors == []  # includes alert() dialogs
    n_territories = len(plan.territories)
    assert page.value == {
        "polygons": n_territories, "circles": len(plan.assignments), "markers": n_territories,
        "leaflet": "1.9.4", "containers": 1,
    }
    _, _, pixels = read_png(page.screenshot)
    # Each territory's fill (its palette colour at OUTLINE_FILL_OPACITY over white) covers
    # a visible area of the screenshot: the map is not blank and shows every territory.
    visible = [pixels_near(pixels, _blend(c, OUTLINE_FILL_OPACITY)) for c in PALETTE[:n_territories]]
    assert all(v > 2_000 for v in visible), visible
    if not planar:
        territory_popup, account_popup = page.interaction
        assert "Territory T01" in territory_popup and "vs mean" in territory_popup
        assert "A00003" in account_popup
        assert "&lt;img src=x onerror=alert(1)&gt;" in account_popup  # shown as text
