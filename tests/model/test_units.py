"""Geographic units: loading, joining accounts, splitting, aggregation and unit plans end to end."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from territory_planner import plan
from territory_planner.data.geo import unit_adjacency
from territory_planner.data.units import load_units
from territory_planner.errors import InputError, ScenarioError
from territory_planner.model.units import aggregate_problem, join_accounts, split_heavy_units
from territory_planner.optimize.problem import AssignmentProblem, PairConstraint, balance_band


def square(x, y, size=1.0):
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


def write_units(path: Path, features) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": geom} for props, geom in features
    ]}))
    return path


def grid_units(path: Path, nx_=4, ny=3) -> Path:
    return write_units(path, [({"unit_id": f"U{x}{y}", "name": f"cell {x},{y}"}, square(x, y)) for y in range(ny) for x in range(nx_)])


# ------------------------------------------------------------------------------ loading


def test_load_units_reads_polygons(tmp_path):
    units = load_units(grid_units(tmp_path / "u.geojson"), geometry="planar")
    assert list(units["unit_id"])[:2] == ["U00", "U10"]
    assert (units.geometry.geom_type == "Polygon").all()
    assert list(units["_row"])[:2] == [1, 2]


def test_missing_unit_id_names_the_column(tmp_path):
    path = write_units(tmp_path / "u.geojson", [({"county": "A"}, square(0, 0))])
    with pytest.raises(InputError, match="unit_id") as err:
        load_units(path, geometry="planar")
    assert "u.geojson" in str(err.value)


def test_duplicate_unit_id_names_both_rows(tmp_path):
    path = write_units(tmp_path / "u.geojson", [({"unit_id": "A"}, square(0, 0)), ({"unit_id": "A"}, square(1, 0))])
    with pytest.raises(InputError, match="duplicate unit_id") as err:
        load_units(path, geometry="planar")
    assert err.value.row == 2


def test_blank_unit_id(tmp_path):
    path = write_units(tmp_path / "u.geojson", [({"unit_id": "A"}, square(0, 0)), ({"unit_id": " "}, square(1, 0))])
    with pytest.raises(InputError, match="blank"):
        load_units(path, geometry="planar")


def test_points_are_not_units(tmp_path):
    path = write_units(tmp_path / "u.geojson", [({"unit_id": "A"}, square(0, 0)), ({"unit_id": "B"}, {"type": "Point", "coordinates": [3, 3]})])
    with pytest.raises(InputError, match="not a polygon") as err:
        load_units(path, geometry="planar")
    assert err.value.row == 2 and err.value.value == "Point"


def test_csv_is_not_a_units_file(tmp_path):
    path = tmp_path / "u.csv"
    path.write_text("unit_id\nA\n")
    with pytest.raises(InputError, match="GeoJSON or GeoPackage"):
        load_units(path)


# ------------------------------------------------------------------------------ joining


def test_accounts_without_unit_id_are_joined_spatially(tmp_path):
    units = load_units(grid_units(tmp_path / "u.geojson"), geometry="planar")
    accounts = pd.DataFrame({"x": [0.5, 3.2, 1.5, 9.0], "y": [0.5, 2.5, 1.5, 0.5], "unit_id": [None, None, "U00", None]})
    rows = join_accounts(accounts, units, geometry="planar")
    ids = units["unit_id"].to_numpy()[rows]
    # by location; by the given unit_id even where the point lies elsewhere; the nearest unit off the map
    assert list(ids) == ["U00", "U32", "U00", "U30"]


def test_unknown_unit_id_is_an_error(tmp_path):
    units = load_units(grid_units(tmp_path / "u.geojson"), geometry="planar")
    accounts = pd.DataFrame({"x": [0.5], "y": [0.5], "unit_id": ["NOPE"], "_row": [2]})
    with pytest.raises(InputError, match="not a unit_id") as err:
        join_accounts(accounts, units, geometry="planar", accounts_file="a.csv")
    assert err.value.row == 2 and err.value.column == "unit_id"


# ----------------------------------------------------------------------- aggregation


def test_aggregated_problem_has_the_account_objective_and_rows():
    rng = np.random.default_rng(0)
    n, k, m = 12, 3, 5
    account_unit = np.array([0, 0, 1, 1, 1, 2, 3, 3, 4, 4, 4, 4])
    cost = rng.uniform(1, 9, (n, k))
    potential = rng.uniform(1, 5, n)
    A = np.zeros((1, n * k))
    A[0, np.arange(n) * k] = potential  # potential kept by territory 0
    row = PairConstraint("t0 keeps", "continuity", __import__("scipy.sparse").sparse.csr_matrix(A), np.array([5.0]), np.array([np.inf]))
    problem = AssignmentProblem.from_cost_matrix(cost, bands=(balance_band("potential", potential, k, 0.5),), rows=(row,))
    units = aggregate_problem(problem, account_unit, [f"u{i}" for i in range(m)])
    for _ in range(20):
        unit_plan = rng.integers(0, k, m)
        account_plan = unit_plan[account_unit]
        assert units.objective(unit_plan) == pytest.approx(problem.objective(account_plan))
        assert bool(units.violations(unit_plan)) == bool(problem.violations(account_plan))


def test_heavy_unit_is_split_into_pieces_that_hold_their_accounts():
    import geopandas as gpd

    units = gpd.GeoDataFrame({"unit_id": ["A", "B"]}, geometry=[shapely.box(0, 0, 4, 4), shapely.box(4, 0, 5, 4)])
    rng = np.random.default_rng(1)
    xy = np.vstack([rng.uniform(0, 4, (40, 2)), [[4.5, 2.0]]])
    account_unit = np.array([0] * 40 + [1])
    loads = np.full((41, 1), 0.1)  # unit A holds 4.0 (> 1): heavy
    out, new_unit = split_heavy_units(units, account_unit, xy, loads)
    pieces = out[out["unit_id"].str.startswith("A/")]
    assert len(pieces) >= 4
    assert shapely.union_all(pieces.geometry.values).area == pytest.approx(16.0)
    per_piece = np.bincount(new_unit, weights=loads[:, 0], minlength=len(out))
    assert per_piece.max() <= 1 + 1e-9
    for a in range(40):
        assert out.geometry.values[new_unit[a]].buffer(1e-9).contains(shapely.Point(xy[a]))
    # the pieces border each other and unit B
    graph = unit_adjacency(np.asarray(out.geometry.values, dtype=object))
    assert nx.is_connected(graph)


# ---------------------------------------------------------------------------- end to end


@pytest.fixture
def unit_scenario(tmp_path):
    grid_units(tmp_path / "units.geojson", 6, 6)
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 6, (90, 2))
    accounts = pd.DataFrame({
        "account_id": [f"A{i:03d}" for i in range(90)],
        "x": xy[:, 0].round(4), "y": xy[:, 1].round(4),
        "potential": rng.integers(50, 150, 90), "workload": rng.integers(5, 15, 90),
    })
    accounts["unit_id"] = ""  # joined by location
    accounts.loc[0, "unit_id"] = "U55"  # an explicit id wins over the location
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    pd.DataFrame({
        "rep_id": ["R1", "R2", "R3"], "name": ["Ann", "Bo", "Cy"],
        "x": [1.0, 5.0, 3.0], "y": [1.0, 1.5, 5.0], "capacity_hours": [1e6] * 3,
    }).to_csv(tmp_path / "reps.csv", index=False)
    (tmp_path / "s.yaml").write_text(
        "name: units\ndata: {accounts: accounts.csv, reps: reps.csv, units: units.geojson}\n"
        "geometry: planar\nbalance: {potential: 0.1}\ncontiguity: true\nsolver: {time_limit: 60}\n"
    )
    return tmp_path


def test_unit_plan_is_contiguous_and_every_account_follows_its_unit(unit_scenario):
    result = plan(unit_scenario / "s.yaml")
    a = result.assignments
    assert len(a) == 90 and "unit_id" in a
    assert a.loc[a["account_id"] == "A000", "unit_id"].item() == "U55"
    assert (a.groupby("unit_id")["territory_id"].nunique() == 1).all()
    units = load_units(unit_scenario / "units.geojson", geometry="planar")
    graph = unit_adjacency(np.asarray(units.geometry.values, dtype=object))
    index = {u: i for i, u in enumerate(units["unit_id"])}
    for _, group in a.groupby("territory_id"):
        members = [index[u] for u in group["unit_id"].unique()]
        assert nx.is_connected(graph.subgraph(members))
    assert result.bound <= result.objective + 1e-6
    assert result.kpis["potential_max_dev_pct"] <= 10 + 1e-6


def test_contiguity_without_units_is_a_scenario_error(unit_scenario):
    text = (unit_scenario / "s.yaml").read_text().replace(", units: units.geojson", "")
    (unit_scenario / "s.yaml").write_text(text)
    with pytest.raises(ScenarioError, match="units"):
        plan(unit_scenario / "s.yaml")


def test_map_outlines_of_a_unit_plan_are_the_dissolved_units(unit_scenario):
    from territory_planner.outputs.map_outlines import territory_outlines

    result = plan(unit_scenario / "s.yaml")
    outlines = territory_outlines(result)
    assert len(outlines) == 3
    assert outlines.geometry.area.sum() == pytest.approx(36.0)  # the 6×6 grid, no overlap
    assert all(g.geom_type == "Polygon" for g in outlines.geometry)  # contiguous: one piece each


def test_a_barrier_from_the_scenario_file_keeps_every_territory_on_one_side(unit_scenario):
    # A river at x = 2: cells x = 0, 1 on the west bank, x = 2..5 on the east bank.
    (unit_scenario / "river.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "river"},
         "geometry": {"type": "LineString", "coordinates": [[2.0, -1.0], [2.0, 7.0]]}},
    ]}))
    text = (unit_scenario / "s.yaml").read_text()
    text = text.replace("balance: {potential: 0.1}", "balance: {potential: 0.35}")
    (unit_scenario / "s.yaml").write_text(text + "barriers: river.geojson\n")
    result = plan(unit_scenario / "s.yaml")
    a = result.assignments
    units = load_units(unit_scenario / "units.geojson", geometry="planar")
    west = dict(zip(units["unit_id"], units.geometry.bounds["minx"] < 2, strict=True))
    sides = a.assign(west=a["unit_id"].map(west)).groupby("territory_id")["west"].nunique()
    assert (sides == 1).all(), "a territory straddles the barrier"
    # Both banks are served, and the plan is still contiguous on the cut graph.
    assert a["unit_id"].map(west).nunique() == 2
    graph = unit_adjacency(np.asarray(units.geometry.values, dtype=object))
    index = {u: i for i, u in enumerate(units["unit_id"])}
    for _, group in a.groupby("territory_id"):
        assert nx.is_connected(graph.subgraph([index[u] for u in group["unit_id"].unique()]))
