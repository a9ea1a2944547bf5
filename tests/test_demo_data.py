"""Tests of the demo dataset generator (territory_planner.demo_data)."""

from __future__ import annotations

from pathlib import Path

import geopandas
import numpy as np
import pandas as pd
import pytest
import shapely

from territory_planner import demo_data
from territory_planner.demo_data import (
    INDUSTRIES,
    LOWER48_BOUNDS,
    MAX_ACCOUNT_SHARE,
    REP_SELLING_HOURS,
    DemoData,
    generate_demo,
    write_demo,
)

SHIPPED = Path(__file__).resolve().parents[1] / "scenarios" / "demo"
ACCOUNT_COLUMNS = [
    "account_id", "name", "segment", "lat", "lon", "postal_code", "city", "state", "unit_id",
    "potential", "revenue_last_year", "revenue_prior_year", "industry", "employees",
    "calls_per_year", "workload", "current_rep_id",
]
FIRMOGRAPHIC_COLUMNS = ["revenue_prior_year", "industry", "employees"]
REP_COLUMNS = ["rep_id", "name", "role", "lat", "lon", "city", "state", "capacity_hours", "quota", "status"]
TEXT_COLUMNS = {"postal_code": str, "unit_id": str}


@pytest.fixture(scope="module")
def small() -> DemoData:
    return generate_demo(seed=11, n_accounts=300, n_reps=6)


def _balanced_witness(accounts: pd.DataFrame, reps: pd.DataFrame) -> np.ndarray:
    """A (non-compact) plan proving the bands are attainable: territory index per account.

    Greedy (largest potential first, to the territory furthest below its potential and
    workload targets), then single-account moves out of the worst territory while they
    reduce the squared band-normalised deviations. Part-time reps get a workload target
    below their capacity; the others share the rest.
    """
    potential = accounts["potential"].to_numpy(float)
    workload = accounts["workload"].to_numpy(float)
    capacity = reps["capacity_hours"].to_numpy(float)
    k = capacity.size
    mean_workload = workload.sum() / k
    target_workload = np.full(k, mean_workload)
    small_reps = capacity < mean_workload / 0.97
    target_workload[small_reps] = 0.95 * mean_workload
    target_workload[~small_reps] = (workload.sum() - target_workload[small_reps].sum()) / (~small_reps).sum()
    target_potential = np.full(k, potential.sum() / k)
    held_potential, held_workload = np.zeros(k), np.zeros(k)
    territory = np.empty(potential.size, dtype=np.int64)
    for i in np.argsort(-potential, kind="stable"):
        room = (target_potential - held_potential) / target_potential + (
            target_workload - held_workload
        ) / target_workload
        j = int(np.argmax(room))
        territory[i] = j
        held_potential[j] += potential[i]
        held_workload[j] += workload[i]

    def badness(p, w, tp=target_potential, tw=target_workload):
        # Squared deviations in units of slightly narrowed ±5% / ±10% half-bands.
        return ((p / tp - 1) / 0.04) ** 2 + ((w / tw - 1) / 0.08) ** 2

    def move(i: int, j: int) -> None:
        held_potential[territory[i]] -= potential[i]
        held_workload[territory[i]] -= workload[i]
        held_potential[j] += potential[i]
        held_workload[j] += workload[i]
        territory[i] = j

    for _ in range(50 * k):
        score = badness(held_potential, held_workload)
        worst = int(np.argmax(score))
        # Out of the worst territory: any of its accounts to any other territory.
        members = np.flatnonzero(territory == worst)
        left = badness(
            held_potential[worst] - potential[members],
            held_workload[worst] - workload[members],
            target_potential[worst],
            target_workload[worst],
        )
        joined = badness(
            held_potential[None, :] + potential[members, None],
            held_workload[None, :] + workload[members, None],
        )
        gain_out = score[worst] + score[None, :] - left[:, None] - joined
        gain_out[:, worst] = -np.inf
        # Into the worst territory: any other account from its own territory.
        others = np.flatnonzero(territory != worst)
        source = territory[others]
        gain_in = (
            score[worst]
            + score[source]
            - badness(
                held_potential[worst] + potential[others],
                held_workload[worst] + workload[others],
                target_potential[worst],
                target_workload[worst],
            )
            - badness(
                held_potential[source] - potential[others],
                held_workload[source] - workload[others],
                target_potential[source],
                target_workload[source],
            )
        )
        best_out = np.unravel_index(int(np.argmax(gain_out)), gain_out.shape)
        best_in = int(np.argmax(gain_in))
        if max(gain_out[best_out], gain_in[best_in]) <= 1e-12:
            break
        if gain_out[best_out] >= gain_in[best_in]:
            move(int(members[best_out[0]]), int(best_out[1]))
        else:
            move(int(others[best_in]), worst)
    return territory


def test_deterministic_for_a_seed(small):
    again = generate_demo(seed=11, n_accounts=300, n_reps=6)
    pd.testing.assert_frame_equal(small.accounts, again.accounts)
    pd.testing.assert_frame_equal(small.reps, again.reps)
    assert small.counties.equals(again.counties)
    other = generate_demo(seed=12, n_accounts=300, n_reps=6)
    assert not small.accounts["postal_code"].equals(other.accounts["postal_code"])


def test_written_files_are_byte_identical(tmp_path):
    first = write_demo(tmp_path / "a", seed=5, n_accounts=200, n_reps=4)
    second = write_demo(tmp_path / "b", seed=5, n_accounts=200, n_reps=4, counties=False)
    assert set(first) == {"accounts", "reps", "counties"} and set(second) == {"accounts", "reps"}
    for name in ("accounts", "reps"):
        assert first[name].read_bytes() == second[name].read_bytes()
    assert not list((tmp_path / "a").glob("*.tmp"))


def test_columns_and_dtypes(small):
    accounts, reps = small.accounts, small.reps
    assert list(accounts.columns) == ACCOUNT_COLUMNS
    assert list(reps.columns) == REP_COLUMNS
    for column in ("lat", "lon", "workload"):
        assert accounts[column].dtype == np.float64
    for column in ("potential", "revenue_last_year", "revenue_prior_year", "employees", "calls_per_year"):
        assert accounts[column].dtype == np.int64
    for column in ("account_id", "name", "segment", "postal_code", "city", "state", "unit_id", "industry",
                   "current_rep_id"):
        assert pd.api.types.is_string_dtype(accounts[column]), column
    assert reps["capacity_hours"].dtype == np.float64 and reps["quota"].dtype == np.int64
    assert accounts["postal_code"].str.fullmatch(r"\d{5}").all()
    assert accounts["unit_id"].str.fullmatch(r"\d{5}").all()
    assert accounts["account_id"].str.fullmatch(r"A\d{5}").all()
    assert reps["rep_id"].str.fullmatch(r"R\d{3}").all()
    assert (accounts[["lat", "lon"]].round(5) == accounts[["lat", "lon"]]).all().all()
    assert set(reps["role"]) == {"Account Executive"} and set(reps["status"]) == {"active"}


def test_ids_unique_and_owners_are_reps(small):
    assert small.accounts["account_id"].is_unique
    assert small.reps["rep_id"].is_unique
    assert small.accounts["current_rep_id"].isin(small.reps["rep_id"]).all()


def test_names_are_plausible_and_excel_safe():
    accounts = generate_demo(seed=3, n_accounts=2000, n_reps=20).accounts
    first_character = accounts["name"].str[0]
    assert not first_character.isin(["=", "+", "-", "@", "\t", "\r"]).any()
    assert accounts["name"].str.contains("&", regex=False).any()
    assert accounts["name"].str.contains("'", regex=False).any()
    assert (accounts["name"].str.strip() == accounts["name"]).all()


def test_coordinates_in_lower_48(small):
    lat_min, lat_max, lon_min, lon_max = LOWER48_BOUNDS
    for frame in (small.accounts, small.reps):
        assert frame["lat"].between(lat_min, lat_max).all()
        assert frame["lon"].between(lon_min, lon_max).all()
    assert not small.accounts["state"].isin(["AK", "HI", "PR"]).any()


def test_unit_id_is_the_county_containing_the_account(small):
    counties = small.counties
    assert counties.crs.to_epsg() == 4326
    assert list(counties.columns) == ["unit_id", "name", "state", "geometry"]
    assert counties["unit_id"].is_unique
    assert set(counties["unit_id"]) == set(small.accounts["unit_id"])
    points = geopandas.GeoDataFrame(
        small.accounts[["account_id", "unit_id"]],
        geometry=geopandas.points_from_xy(small.accounts["lon"], small.accounts["lat"]),
        crs="EPSG:4326",
    )
    joined = geopandas.sjoin(points, counties, predicate="within", how="left")
    assert len(joined) == len(points), "an account lies in two counties"
    assert (joined["unit_id_left"] == joined["unit_id_right"]).all()


def test_segments_potential_and_workload(small):
    accounts = generate_demo(seed=4, n_accounts=3000, n_reps=30).accounts
    share = accounts["segment"].value_counts(normalize=True)
    assert share["Enterprise"] == pytest.approx(0.05, abs=0.02)
    assert share["Mid-Market"] == pytest.approx(0.25, abs=0.04)
    assert share["SMB"] == pytest.approx(0.70, abs=0.04)
    median = accounts.groupby("segment")["potential"].median()
    assert median["Enterprise"] > 3 * median["Mid-Market"] > 3 * median["SMB"]
    assert 20_000 <= median["SMB"] <= 80_000
    calls = accounts.groupby("segment")["calls_per_year"].unique()
    assert [list(calls[s]) for s in ("Enterprise", "Mid-Market", "SMB")] == [[24], [12], [4]]
    assert (accounts["revenue_last_year"] >= 0).all()
    assert (accounts["revenue_last_year"] <= accounts["potential"]).all()
    assert (accounts["workload"] > 0).all()


def test_firmographics_are_valid(small):
    accounts = small.accounts
    assert accounts["industry"].isin(INDUSTRIES).all()
    assert (accounts["employees"] >= 1).all()
    assert (accounts["revenue_prior_year"] >= 0).all()
    assert (accounts["revenue_prior_year"] <= accounts["potential"]).all()


def test_firmographics_leave_every_other_column_alone(small, monkeypatch):
    """The firmographics come from their own stream: without them the rest is unchanged."""

    def constant(seed, segment, state, potential, revenue):
        n = segment.size
        return np.full(n, INDUSTRIES[0], dtype=object), np.ones(n, np.int64), np.zeros(n, np.int64)

    monkeypatch.setattr(demo_data, "draw_firmographics", constant)
    without = generate_demo(seed=11, n_accounts=300, n_reps=6)
    others = [c for c in ACCOUNT_COLUMNS if c not in FIRMOGRAPHIC_COLUMNS]
    pd.testing.assert_frame_equal(without.accounts[others], small.accounts[others])
    pd.testing.assert_frame_equal(without.reps, small.reps)


def test_shipped_potential_is_partly_hidden_in_firmographics_and_revenue():
    """Firmographics and revenue track potential, loosely: what a lookalike estimate needs."""
    accounts = pd.read_csv(SHIPPED / "accounts.csv", dtype=TEXT_COLUMNS, keep_default_na=False)
    potential = accounts["potential"]
    assert (accounts["revenue_last_year"] <= potential).all()
    assert (accounts["revenue_prior_year"] <= potential).all()
    # Measured on the shipped demo: 0.69 (employees), 0.70 (last year's revenue).
    assert 0.5 < potential.corr(accounts["employees"], method="spearman") < 0.85
    assert 0.5 < potential.corr(accounts["revenue_last_year"], method="spearman") < 0.85
    # Industry and region add to the head count: log(potential) by least squares on
    # log(employees) + industry + state ranks potential better (measured: 0.84), not perfectly.
    features = pd.get_dummies(accounts[["industry", "state"]], drop_first=True).astype(float)
    features["log_employees"] = np.log(accounts["employees"])
    features["intercept"] = 1.0
    coefficients, *_ = np.linalg.lstsq(features.to_numpy(), np.log(potential.to_numpy(float)), rcond=None)
    fitted = pd.Series(features.to_numpy() @ coefficients)
    assert 0.75 < fitted.corr(potential, method="spearman") < 0.95
    # Potential per employee by industry: Software and Financial Services far above Hospitality.
    per_employee = (potential / accounts["employees"]).groupby(accounts["industry"]).median()
    assert set(per_employee.index) == set(INDUSTRIES)
    assert per_employee[["Software", "Financial Services"]].min() > 5 * per_employee["Hospitality"]
    # Industry shares depend on the segment.
    share = pd.crosstab(accounts["industry"], accounts["segment"], normalize="columns")
    assert share.loc["Software", "Enterprise"] > 2 * share.loc["Software", "SMB"]
    assert share.loc["Hospitality", "SMB"] > 2 * share.loc["Hospitality", "Enterprise"]
    # Revenue history: customers grew about 5% a year; a few were won last year; some of
    # last year's non-buyers are churned customers.
    customer = accounts["revenue_last_year"] > 0
    both = customer & (accounts["revenue_prior_year"] > 0)
    growth = accounts.loc[both, "revenue_last_year"] / accounts.loc[both, "revenue_prior_year"]
    assert growth.median() == pytest.approx(1.05, abs=0.02)
    assert 0.02 < (customer & (accounts["revenue_prior_year"] == 0)).sum() / customer.sum() < 0.10
    churned = ~customer & (accounts["revenue_prior_year"] > 0)
    assert 0.1 < churned.sum() / (~customer).sum() < 0.3


def test_capacity_and_totals_make_a_feasible_plan(small):
    accounts, reps = small.accounts, small.reps
    assert reps["capacity_hours"].max() == pytest.approx(REP_SELLING_HOURS)
    assert (reps["capacity_hours"] < REP_SELLING_HOURS).sum() >= 1
    ratio = accounts["workload"].sum() / reps["capacity_hours"].sum()
    assert 0.7 <= ratio <= 0.9
    assert 0.80 <= ratio <= 0.85
    mean_territory_potential = accounts["potential"].sum() / len(reps)
    assert accounts["potential"].max() <= MAX_ACCOUNT_SHARE * mean_territory_potential


@pytest.mark.parametrize(("n_accounts", "n_reps"), [(300, 6), (3000, 30)])
def test_balanced_plan_exists(n_accounts, n_reps):
    """±5% potential, ±10% workload and every rep within capacity are attainable."""
    demo = generate_demo(seed=7, n_accounts=n_accounts, n_reps=n_reps)
    territory = _balanced_witness(demo.accounts, demo.reps)
    potential = np.bincount(territory, weights=demo.accounts["potential"].to_numpy(float), minlength=n_reps)
    workload = np.bincount(territory, weights=demo.accounts["workload"].to_numpy(float), minlength=n_reps)
    assert np.abs(potential / potential.mean() - 1).max() <= 0.05
    assert np.abs(workload / workload.mean() - 1).max() <= 0.10
    assert (workload <= demo.reps["capacity_hours"].to_numpy()).all()


def test_todays_alignment_is_imperfect():
    demo = generate_demo(seed=7, n_accounts=3000, n_reps=30)
    book = demo.accounts.groupby("current_rep_id")["workload"].sum()
    utilisation = book / demo.reps.set_index("rep_id")["capacity_hours"]
    assert utilisation.max() > 1.0, "some rep should be overloaded today"
    assert np.abs(book / book.mean() - 1).max() > 0.2, "today's books should be visibly unbalanced"


def test_reps_live_near_demand(small):
    counties = small.counties.geometry.to_numpy()
    shapely.prepare(counties)
    rep_points = shapely.points(small.reps["lon"], small.reps["lat"])
    inside_account_county = shapely.contains(counties[:, None], rep_points[None, :]).any(axis=0)
    assert inside_account_county.all()
    assert small.reps["name"].is_unique


def test_shipped_files_match_a_fresh_generation():
    fresh = generate_demo(seed=7, n_accounts=3000, n_reps=30)
    accounts = pd.read_csv(SHIPPED / "accounts.csv", dtype=TEXT_COLUMNS, keep_default_na=False)
    reps = pd.read_csv(SHIPPED / "reps.csv", keep_default_na=False)
    pd.testing.assert_frame_equal(accounts, fresh.accounts, check_dtype=False, atol=1e-6, rtol=0)
    pd.testing.assert_frame_equal(reps, fresh.reps, check_dtype=False, atol=1e-6, rtol=0)
    counties = geopandas.read_file(SHIPPED / "counties.geojson")
    assert list(counties["unit_id"]) == list(fresh.counties["unit_id"])
    assert shapely.equals_exact(counties.geometry.values, fresh.counties.geometry.values, tolerance=1e-6).all()
    assert (SHIPPED / "counties.geojson").stat().st_size < 3_000_000
    assert (SHIPPED / "SOURCE.md").exists()
