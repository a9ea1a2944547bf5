"""Where to sell, drawn: the potential-against-revenue chart and the whitespace map.

The demo (3,000 US accounts) is estimated once for the module with a ``potential:``
section (features segment and state, last year's revenue); a planar estimate comes from
the firmographic generator. The chart must plot every tier's accounts (prospects in their
strip) with the penetration boundaries, the same bytes each time; the map must sum each
county's (or ZIP code's) whitespace as a groupby of the accounts does, show those figures,
load nothing from the network, escape every name and be the same bytes each time.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser import assert_loads_nothing_from_the_network

from territory_planner.outputs.potential_chart import (
    chart_points,
    potential_chart_figure,
    potential_chart_png,
    short_money,
)
from territory_planner.outputs.potential_map import (
    MAX_RADIUS,
    MIN_RADIUS,
    account_areas,
    whitespace_bins,
    whitespace_by_area,
    whitespace_map_html,
)

ROOT = Path(__file__).resolve().parents[2]
EVIL = "<script>alert(1)</script>"
EVIL_IMG = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def estimate(tmp_path_factory):
    """The demo's accounts estimated by a potential: section (about 3 s)."""
    from territory_planner import load_scenario
    from territory_planner.data.inputs import load_inputs

    folder = tmp_path_factory.mktemp("potential")
    path = folder / "pot.yaml"
    path.write_text(
        f"extends: {json.dumps(str(ROOT / 'scenarios' / 'demo.yaml'))}\n"
        "name: pot\n"
        "potential: {features: [segment, state], revenue: revenue_last_year, overwrite: true}\n",
        encoding="utf-8",
    )
    found = load_inputs(load_scenario(path)).potential
    assert found is not None and len(found.accounts) >= 1_000
    return found


@pytest.fixture(scope="module")
def units():
    from territory_planner.data.units import load_units

    return load_units(ROOT / "scenarios" / "demo" / "counties.geojson")


@pytest.fixture(scope="module")
def planar():
    from benchmarks.generators import firmographic_accounts
    from territory_planner.potential import where_to_sell
    from territory_planner.scenario.potential import PotentialSpec

    frame = firmographic_accounts(600, seed=3).drop(columns="true_potential")
    return where_to_sell(frame, PotentialSpec(features=["industry", "employees", "region"], revenue="revenue",
                                              method="peers"))


@pytest.fixture(scope="module")
def county_html(estimate):
    return whitespace_map_html(estimate, geometry="geographic")


def map_data(text: str) -> dict:
    """The areas' data the page's layer reads (``var D = {...};``)."""
    return json.loads(re.search(r"var D = (\{.*?\});\n", text).group(1))


def png_size(data: bytes) -> tuple[int, int]:
    return struct.unpack(">II", data[16:24])


# ----------------------------------------------------------------------------- chart


def test_chart_is_a_deterministic_png_of_readable_size(estimate):
    first, second = potential_chart_png(estimate), potential_chart_png(estimate)
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert first == second
    assert png_size(first) == (1000, 700)
    assert b"Software" not in first  # no matplotlib version stamp


def test_chart_plots_every_account_of_each_tier(estimate):
    fig = potential_chart_figure(estimate)
    tiers = estimate.accounts["tier"].astype(str).value_counts()
    names = estimate.spec.tiers.names
    from matplotlib.legend import Legend

    texts = [t.get_text() for legend in fig.findobj(Legend) for t in legend.get_texts()]
    for tier in names:
        assert f"{tier} ({int(tiers.get(tier, 0)):,} accounts)" in texts
    plotted = {tier: sum(len(c.get_offsets()) for ax in fig.axes for c in ax.collections if c.get_gid() == tier)
               for tier in names}
    points = chart_points(estimate)
    shown = points[points["panel"] != "not shown"]["tier"].value_counts()
    assert plotted == {tier: int(shown.get(tier, 0)) for tier in names}
    assert sum(plotted.values()) == len(estimate.accounts)  # every demo account has a potential


def test_prospects_stand_in_their_own_strip(estimate):
    points = chart_points(estimate)
    prospects = int((estimate.revenue == 0).sum())
    assert prospects > 0
    assert int((points["panel"] == "prospects").sum()) == prospects
    assert (points.loc[points["panel"] == "customers", "revenue"] > 0).all()
    fig = potential_chart_figure(estimate)
    strip, main = fig.axes
    assert strip.get_xlabel() == f"prospects\n(no revenue): {prospects:,}"
    assert main.get_xscale() == main.get_yscale() == "log"
    assert sum(len(c.get_offsets()) for c in strip.collections if c.get_gid()) == prospects
    assert "Potential against revenue by tier" in fig.texts[0].get_text()


def test_chart_draws_the_diagonal_and_the_penetration_boundaries(estimate):
    fig = potential_chart_figure(estimate)
    ratios = set()
    for line in fig.axes[1].lines:
        x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        ratio = x / y  # revenue / potential: the penetration along the line
        assert np.allclose(ratio, ratio[0])
        ratios.add(round(float(ratio[0]), 9))
    penetration = estimate.spec.penetration
    assert ratios == {1.0, penetration.grow_below, penetration.harvest_from}
    labels = " ".join(t.get_text() for t in fig.axes[1].texts)
    assert "100% penetration" in labels and "grow" in labels and "harvest" in labels


def test_chart_of_a_planar_estimate(planar):
    data = potential_chart_png(planar)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and png_size(data) == (1000, 700)


def test_money_labels():
    assert [short_money(v) for v in (0, 950, 1_000, 25_000, 2_500_000, 10_000_000)] == \
        ["$0", "$950", "$1k", "$25k", "$2.5M", "$10M"]


# ----------------------------------------------------------------------------- map


def test_county_of_each_account_is_the_census_county_of_its_location(estimate):
    """The demo's unit_id is the county FIPS of each account's ZIP: the lookup agrees."""
    areas = account_areas(estimate)
    assert areas.notna().all()
    assert (areas.to_numpy() == estimate.accounts["unit_id"].astype(str).to_numpy()).mean() > 0.99


def test_whitespace_by_county_is_the_groupby_of_the_accounts(estimate):
    table = whitespace_by_area(estimate)
    accounts = estimate.accounts.assign(county=account_areas(estimate).to_numpy())
    expected = accounts.groupby("county")["whitespace"].sum()
    assert table["area_id"].tolist() == expected.index.tolist()  # only counties with accounts, sorted
    assert np.allclose(table["whitespace"], expected.to_numpy())
    assert np.isclose(table["whitespace"].sum(), accounts["whitespace"].sum())
    assert table["accounts"].tolist() == accounts.groupby("county").size().tolist()
    revenue = pd.Series(estimate.revenue).groupby(accounts["county"].to_numpy()).sum()
    assert np.allclose(table["revenue"], revenue.to_numpy())
    assert np.allclose(table["penetration"], table["revenue"] / table["potential"])
    tiers = pd.crosstab(accounts["county"], accounts["tier"])
    for tier in estimate.spec.tiers.names:
        assert table[f"tier_{tier}"].tolist() == tiers[tier].tolist()
    king = table[table["area_id"] == "53033"].iloc[0]
    assert (king["name"], king["state"]) == ("King County", "WA")


def test_the_map_shows_each_countys_figures(estimate, county_html):
    table = whitespace_by_area(estimate)
    data = map_data(county_html)
    assert data["id"] == table["area_id"].tolist()
    assert data["w"] == [round(v) for v in table["whitespace"]]
    assert data["p"] == [round(v) for v in table["potential"]]
    assert data["k"] == table["accounts"].tolist()
    assert len(data["a"]) == len(table) and all(len(shape) for shape in data["a"])
    total = estimate.accounts["whitespace"].sum()
    assert "Whitespace by county" in county_html
    assert f"${total:,.0f}" in county_html  # the title box's total whitespace
    assert f"Whitespace by county ({len(table):,} counties)" in county_html  # the layer control


def test_counties_from_the_scenarios_units(estimate, units):
    table = whitespace_by_area(estimate, units)
    expected = estimate.accounts.groupby(estimate.accounts["unit_id"].astype(str))["whitespace"].sum()
    assert table["area_id"].tolist() == expected.index.tolist()
    assert np.allclose(table["whitespace"], expected.to_numpy())
    names = dict(zip(units["unit_id"], units["name"], strict=True))
    assert table["name"].tolist() == [names[i] for i in table["area_id"]]


def test_accounts_in_no_county_are_counted_not_drawn(estimate):
    accounts = estimate.accounts.copy()
    accounts.loc[0, ["lat", "lon"]] = np.nan
    accounts.loc[1, ["lat", "lon"]] = [0.0, -30.0]  # mid-Atlantic
    lost = dataclasses.replace(estimate, accounts=accounts)
    table = whitespace_by_area(lost)
    last = table.iloc[-1]
    assert last["area_id"] is None and last["name"] == "(no county)" and last["accounts"] == 2
    assert np.isclose(last["whitespace"], accounts.loc[[0, 1], "whitespace"].sum())
    assert np.isclose(table["whitespace"].sum(), accounts["whitespace"].sum())
    text = whitespace_map_html(lost, geometry="geographic")
    assert len(map_data(text)["id"]) == len(table) - 1
    assert "in no county" in text


def test_whitespace_by_zip(estimate):
    table = whitespace_by_area(estimate, by="zip")
    accounts = estimate.accounts
    expected = accounts.groupby(accounts["postal_code"].astype(str))["whitespace"].sum()
    assert table["area_id"].tolist() == expected.index.tolist()
    assert np.allclose(table["whitespace"], expected.to_numpy())
    mean_lat = accounts.groupby(accounts["postal_code"].astype(str))["lat"].mean()
    assert np.allclose(table["lat"], mean_lat.to_numpy())
    text = whitespace_map_html(estimate, geometry="geographic", by="zip")
    data = map_data(text)
    assert data["zip"] is True and len(data["a"]) == len(table)
    assert "Whitespace by ZIP code" in text
    # Circle area proportional to whitespace: radius² / whitespace is one constant.
    w, r = np.array(data["w"], float), np.array(data["r"], float)
    big = r > MIN_RADIUS + 0.5  # the smallest circles are kept visible at MIN_RADIUS
    assert max(r) == MAX_RADIUS
    assert np.allclose(r[big] ** 2 / w[big], MAX_RADIUS**2 / w.max(), rtol=0.02)


def test_map_loads_nothing_from_the_network(county_html):
    text = county_html
    assert_loads_nothing_from_the_network(text)


def test_map_is_the_same_bytes_each_time(estimate, county_html):
    assert whitespace_map_html(estimate, geometry="geographic") == county_html
    assert not re.search(r"[0-9a-f]{32}", county_html)  # no folium uuid left


def test_names_are_escaped(estimate, units):
    evil_units = units.copy()
    evil_units.loc[0, "name"] = EVIL
    evil_units.loc[0, "state"] = EVIL_IMG
    accounts = estimate.accounts.copy()
    accounts["unit_id"] = accounts["unit_id"].astype(str)
    accounts.loc[0, ["unit_id", "name"]] = [evil_units.loc[0, "unit_id"], EVIL]
    single = accounts["postal_code"].map(accounts["postal_code"].value_counts()) == 1
    row = int(np.flatnonzero(single.to_numpy())[0])
    accounts.loc[row, "city"] = EVIL
    evil = dataclasses.replace(estimate, accounts=accounts)
    for text in (whitespace_map_html(evil, geometry="geographic", units=evil_units),
                 whitespace_map_html(evil, geometry="geographic", by="zip")):
        assert EVIL not in text and EVIL_IMG not in text
        assert "<script>alert" not in text
    data = map_data(whitespace_map_html(evil, geometry="geographic", units=evil_units))
    assert html.escape(EVIL) in data["n"] and html.escape(EVIL_IMG) in data["st"]
    data = map_data(whitespace_map_html(evil, geometry="geographic", by="zip"))
    assert html.escape(EVIL) in data["n"]


def test_planar_data_has_no_map(planar):
    assert whitespace_map_html(planar, geometry="planar") is None
    assert whitespace_map_html(planar, geometry="planar", by="zip") is None


def test_bins_are_increasing_quantiles():
    values = np.geomspace(1_000, 2_000_000, 500)
    edges = whitespace_bins(values)
    assert len(edges) == 4 and edges == sorted(set(edges))
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=5)
    assert counts.min() > 0.15 * len(values)  # about a fifth each
    assert whitespace_bins([0, -5]) == []


# --------------------------------------------------------------------------- browser


AREAS = """() => {
    const map = window[document.querySelector('.folium-map').id];
    const layers = map.tpAreas.getLayers();
    return {layers: layers.length, paths: document.querySelectorAll('path.tp-area').length,
            drawn: layers.filter(l => map.hasLayer(l) && l._parts && l._parts.length > 0).length,
            leaflet: L.version};
}"""

OPEN_FIRST = """() => {
    const map = window[document.querySelector('.folium-map').id];
    const layer = map.tpAreas.getLayers()[0];
    layer.fire('click', {latlng: layer.getBounds().getCenter()}, true);
    return document.querySelector('.leaflet-popup-content').innerHTML;
}"""


@pytest.mark.browser
def test_county_map_draws_every_county_offline_in_chromium(estimate, units, tmp_path):
    try:
        from browser import chromium_or_skip, visit
    except ImportError:  # tests/ became a package
        from tests.browser import chromium_or_skip, visit

    chromium_or_skip()
    evil_units = units.copy()
    first = sorted(estimate.accounts["unit_id"].astype(str))[0]
    evil_units.loc[evil_units["unit_id"] == first, "name"] = EVIL
    path = tmp_path / "whitespace.html"
    path.write_text(whitespace_map_html(estimate, geometry="geographic", units=evil_units), encoding="utf-8")
    n_counties = estimate.accounts["unit_id"].nunique()
    page = visit(path, tmp_path / "whitespace_by_county.png", evaluate=AREAS, wait_for=".leaflet-container",
                 interact=lambda p: p.evaluate(OPEN_FIRST), viewport=(1000, 700))
    assert page.network_requests == []
    assert page.errors == []  # console errors, uncaught exceptions and alert() dialogs
    assert page.value == {"layers": n_counties, "paths": n_counties, "drawn": n_counties, "leaflet": "1.9.4"}
    popup = page.interaction
    assert html.escape(EVIL) in popup and "<script>" not in popup  # the name shown as text
    table = whitespace_by_area(estimate, evil_units)
    assert f"${round(table.iloc[0]['whitespace']):,}" in popup
