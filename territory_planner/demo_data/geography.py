"""Where the demo's accounts are: US metros, ZIP codes and the counties that hold them.

Offline sources: ZIP centroids, cities and states from the ``zipcodes`` package; county
boundaries from the Census cartographic boundary files shipped by ``plotly-geo`` (see the
package docstring, :mod:`territory_planner.demo_data`).
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import geopandas
import numpy as np
import pandas as pd
import shapely

#: Lower-48 bounding box (lat_min, lat_max, lon_min, lon_max), with a little margin.
LOWER48_BOUNDS = (24.3, 49.5, -125.0, -66.8)
#: Share of accounts in metro clusters; the rest form a rural tail over all ZIP codes.
METRO_SHARE = 0.85
JITTER_SD_M, JITTER_MAX_M = 150.0, 400.0
#: Coverage simplification tolerance of the shipped county polygons, degrees.
COUNTY_SIMPLIFY_DEGREES = 0.01
COORDINATE_DECIMALS = 5

# (name, state, lat, lon, population in millions): rounded 2020 Census MSA counts.
METROS: tuple[tuple[str, str, float, float, float], ...] = (
    ("New York", "NY", 40.71, -74.01, 20.1), ("Los Angeles", "CA", 34.05, -118.24, 13.2),
    ("Chicago", "IL", 41.88, -87.63, 9.6), ("Dallas", "TX", 32.80, -96.95, 7.6),
    ("Houston", "TX", 29.76, -95.37, 7.1), ("Washington", "DC", 38.90, -77.04, 6.4),
    ("Philadelphia", "PA", 39.95, -75.17, 6.2), ("Miami", "FL", 26.10, -80.20, 6.1),
    ("Atlanta", "GA", 33.75, -84.39, 6.1), ("Boston", "MA", 42.36, -71.06, 4.9),
    ("Phoenix", "AZ", 33.45, -112.07, 4.8), ("San Francisco", "CA", 37.75, -122.30, 4.7),
    ("Riverside", "CA", 33.95, -117.40, 4.6), ("Detroit", "MI", 42.33, -83.05, 4.4),
    ("Seattle", "WA", 47.61, -122.33, 4.0), ("Minneapolis", "MN", 44.98, -93.27, 3.7),
    ("San Diego", "CA", 32.72, -117.16, 3.3), ("Tampa", "FL", 27.95, -82.46, 3.2),
    ("Denver", "CO", 39.74, -104.99, 3.0), ("Baltimore", "MD", 39.29, -76.61, 2.8),
    ("St. Louis", "MO", 38.63, -90.20, 2.8), ("Orlando", "FL", 28.54, -81.38, 2.7),
    ("Charlotte", "NC", 35.23, -80.84, 2.7), ("San Antonio", "TX", 29.42, -98.49, 2.6),
    ("Portland", "OR", 45.52, -122.68, 2.5), ("Sacramento", "CA", 38.58, -121.49, 2.4),
    ("Pittsburgh", "PA", 40.44, -79.99, 2.4), ("Austin", "TX", 30.27, -97.74, 2.3),
    ("Las Vegas", "NV", 36.17, -115.14, 2.3), ("Cincinnati", "OH", 39.10, -84.51, 2.3),
    ("Kansas City", "MO", 39.10, -94.58, 2.2), ("Columbus", "OH", 39.96, -83.00, 2.1),
    ("Indianapolis", "IN", 39.77, -86.16, 2.1), ("Cleveland", "OH", 41.50, -81.69, 2.1),
    ("San Jose", "CA", 37.34, -121.89, 2.0), ("Nashville", "TN", 36.16, -86.78, 2.0),
    ("Virginia Beach", "VA", 36.85, -76.29, 1.8), ("Providence", "RI", 41.82, -71.41, 1.7),
    ("Jacksonville", "FL", 30.33, -81.66, 1.6), ("Milwaukee", "WI", 43.04, -87.91, 1.6),
    ("Raleigh", "NC", 35.78, -78.64, 1.4), ("Oklahoma City", "OK", 35.47, -97.52, 1.4),
    ("Memphis", "TN", 35.15, -90.05, 1.3), ("Richmond", "VA", 37.54, -77.44, 1.3),
    ("Louisville", "KY", 38.25, -85.76, 1.3), ("New Orleans", "LA", 29.95, -90.07, 1.3),
    ("Salt Lake City", "UT", 40.76, -111.89, 1.3), ("Hartford", "CT", 41.76, -72.67, 1.2),
    ("Buffalo", "NY", 42.89, -78.88, 1.2), ("Birmingham", "AL", 33.52, -86.80, 1.1),
    ("Grand Rapids", "MI", 42.96, -85.67, 1.1), ("Rochester", "NY", 43.16, -77.61, 1.1),
    ("Tucson", "AZ", 32.22, -110.97, 1.0), ("Tulsa", "OK", 36.15, -95.99, 1.0),
    ("Fresno", "CA", 36.74, -119.79, 1.0), ("Omaha", "NE", 41.26, -95.94, 1.0),
    ("Greenville", "SC", 34.85, -82.40, 0.93), ("Albuquerque", "NM", 35.08, -106.65, 0.92),
    ("Albany", "NY", 42.65, -73.76, 0.90), ("Knoxville", "TN", 35.96, -83.92, 0.88),
    ("El Paso", "TX", 31.76, -106.49, 0.87), ("Charleston", "SC", 32.78, -79.93, 0.80),
    ("Boise", "ID", 43.62, -116.20, 0.76), ("Little Rock", "AR", 34.75, -92.29, 0.75),
    ("Des Moines", "IA", 41.59, -93.62, 0.71), ("Madison", "WI", 43.07, -89.40, 0.68),
    ("Wichita", "KS", 37.69, -97.34, 0.65), ("Spokane", "WA", 47.66, -117.43, 0.59),
    ("Jackson", "MS", 32.30, -90.18, 0.59), ("Portland", "ME", 43.66, -70.26, 0.55),
    ("Sioux Falls", "SD", 43.54, -96.73, 0.28), ("Fargo", "ND", 46.88, -96.79, 0.25),
    ("Billings", "MT", 45.78, -108.50, 0.18), ("Cheyenne", "WY", 41.14, -104.82, 0.10),
)

# State FIPS → postal abbreviation, lower 48 and DC.
STATE_FIPS = {
    "01": "AL", "04": "AZ", "05": "AR", "06": "CA", "08": "CO", "09": "CT", "10": "DE",
    "11": "DC", "12": "FL", "13": "GA", "16": "ID", "17": "IL", "18": "IN", "19": "IA",
    "20": "KS", "21": "KY", "22": "LA", "23": "ME", "24": "MD", "25": "MA", "26": "MI",
    "27": "MN", "28": "MS", "29": "MO", "30": "MT", "31": "NE", "32": "NV", "33": "NH",
    "34": "NJ", "35": "NM", "36": "NY", "37": "NC", "38": "ND", "39": "OH", "40": "OK",
    "41": "OR", "42": "PA", "44": "RI", "45": "SC", "46": "SD", "47": "TN", "48": "TX",
    "49": "UT", "50": "VT", "51": "VA", "53": "WA", "54": "WV", "55": "WI", "56": "WY",
}
_LSAD_SUFFIX = {"06": " County", "15": " Parish", "25": " city"}

def _package_data(name: str) -> Path:
    return Path(str(resources.files("_plotly_geo") / "package_data" / name))


@functools.lru_cache(maxsize=1)
def lower48_counties() -> geopandas.GeoDataFrame:
    """Census counties of the lower 48 + DC: full-resolution and simplified shapes.

    The simplified shapes come from ``shapely.coverage_simplify``, which keeps shared
    borders shared (no gaps or overlaps, so adjacency survives), and are snapped to a
    1e-5° grid so the shipped GeoJSON holds exactly the tested coordinates.
    """
    counties = geopandas.read_file(_package_data("cb_2016_us_county_500k.shp"))
    counties = counties[counties["STATEFP"].isin(list(STATE_FIPS))]
    counties = counties.sort_values("GEOID", kind="stable").reset_index(drop=True)
    simplified = shapely.coverage_simplify(counties.geometry.values, COUNTY_SIMPLIFY_DEGREES)
    simplified = shapely.set_precision(simplified, 10.0**-COORDINATE_DECIMALS)
    shapely.prepare(simplified)
    names = counties["NAME"].astype(str) + counties["LSAD"].map(_LSAD_SUFFIX).fillna("")
    return geopandas.GeoDataFrame(
        {
            "unit_id": counties["GEOID"].astype(str).to_numpy(),
            "name": names.to_numpy(),
            "state": counties["STATEFP"].map(STATE_FIPS).to_numpy(),
            "full_geometry": counties.geometry.values,
        },
        geometry=geopandas.GeoSeries(simplified),
        crs="EPSG:4326",
    )


@functools.lru_cache(maxsize=1)
def zip_table() -> pd.DataFrame:
    """Active standard ZIP codes of the lower 48 with their county by point-in-polygon.

    Columns: postal_code, city, state, lat, lon, unit_id, county_row (row of the county
    in ``lower48_counties()``), metro_distance_km (to the nearest ``METROS`` centre).
    Sorted by postal_code.
    """
    import zipcodes

    raw = pd.DataFrame(zipcodes.list_all())
    raw = raw[(raw["zip_code_type"] == "STANDARD") & raw["active"].astype(bool)]
    raw = raw[raw["state"].isin(list(STATE_FIPS.values()))]
    zips = pd.DataFrame(
        {
            "postal_code": raw["zip_code"].astype(str).to_numpy(),
            "city": raw["city"].astype(str).to_numpy(),
            "state": raw["state"].astype(str).to_numpy(),
            "lat": raw["lat"].astype(float).round(COORDINATE_DECIMALS).to_numpy(),
            "lon": raw["long"].astype(float).round(COORDINATE_DECIMALS).to_numpy(),
        }
    )
    zips = zips.sort_values("postal_code", kind="stable").reset_index(drop=True)

    counties = lower48_counties()
    points = geopandas.GeoDataFrame(
        geometry=geopandas.points_from_xy(zips["lon"], zips["lat"]), crs="EPSG:4326"
    )
    full = geopandas.GeoDataFrame(geometry=counties["full_geometry"].values, crs="EPSG:4326")
    joined = geopandas.sjoin(points, full, predicate="within", how="inner")
    # A centroid on a shared border matches two counties: keep the lowest GEOID row.
    joined = joined.reset_index().sort_values(["index", "index_right"], kind="stable")
    joined = joined.drop_duplicates("index", keep="first")
    zips = zips.iloc[joined["index"].to_numpy()].copy()
    zips["county_row"] = joined["index_right"].to_numpy()
    zips["unit_id"] = counties["unit_id"].to_numpy()[zips["county_row"].to_numpy()]
    # The shipped polygons are simplified: use only ZIPs whose centroid stays inside.
    inside = shapely.contains_xy(
        counties.geometry.values[zips["county_row"].to_numpy()], zips["lon"], zips["lat"]
    )
    zips = zips[inside].reset_index(drop=True)

    metro_lat = np.array([m[2] for m in METROS])
    metro_lon = np.array([m[3] for m in METROS])
    distance = haversine_km(zips["lat"].to_numpy()[:, None], zips["lon"].to_numpy()[:, None], metro_lat, metro_lon)
    zips["metro_distance_km"] = distance.min(axis=1)
    return zips


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    from territory_planner.data import geo

    return geo.haversine_km(lat1, lon1, lat2, lon2)


@functools.lru_cache(maxsize=1)
def _metro_zip_choices() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """For each metro: candidate ZIP rows and their sampling probabilities.

    Candidates lie within a radius growing with the square root of the population; the
    weight decays exponentially with distance from the centre, on top of the natural
    ZIP density of cities.
    """
    zips = zip_table()
    lat, lon = zips["lat"].to_numpy(), zips["lon"].to_numpy()
    choices = []
    for _name, _state, m_lat, m_lon, population in METROS:
        radius_km = 20.0 + 15.0 * np.sqrt(population)
        distance = haversine_km(lat, lon, m_lat, m_lon)
        rows = np.flatnonzero(distance <= radius_km)
        if rows.size == 0:  # pragma: no cover - every metro centre has ZIPs around it
            rows = np.array([int(np.argmin(distance))])
        weight = np.exp(-distance[rows] / (radius_km / 3.0))
        choices.append((rows, weight / weight.sum()))
    return tuple(choices)


def sample_zip_rows(rng: np.random.Generator, n_accounts: int) -> np.ndarray:
    """ZIP rows of the accounts: ``METRO_SHARE`` in metro clusters by population, the rest anywhere."""
    zips = zip_table()
    population = np.array([m[4] for m in METROS])
    n_metro = rng.binomial(n_accounts, METRO_SHARE)
    per_metro = rng.multinomial(n_metro, population / population.sum())
    parts = [
        rng.choice(rows, size=count, p=probability)
        for (rows, probability), count in zip(_metro_zip_choices(), per_metro, strict=True)
    ]
    parts.append(rng.integers(0, len(zips), size=n_accounts - n_metro))
    return rng.permutation(np.concatenate(parts))


def jittered_coordinates(rng: np.random.Generator, zip_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ZIP centroid plus a few hundred metres; inside the shipped county polygon."""
    zips = zip_table()
    lat0 = zips["lat"].to_numpy()[zip_rows]
    lon0 = zips["lon"].to_numpy()[zip_rows]
    offset_m = np.clip(rng.normal(0.0, JITTER_SD_M, size=(2, zip_rows.size)), -JITTER_MAX_M, JITTER_MAX_M)
    lat = np.round(lat0 + offset_m[0] / 111_195.0, COORDINATE_DECIMALS)
    lon = np.round(lon0 + offset_m[1] / (111_195.0 * np.cos(np.radians(lat0))), COORDINATE_DECIMALS)
    county_geometry = lower48_counties().geometry.values[zips["county_row"].to_numpy()[zip_rows]]
    outside = ~shapely.contains_xy(county_geometry, lon, lat)
    lat[outside], lon[outside] = lat0[outside], lon0[outside]
    return lat, lon
