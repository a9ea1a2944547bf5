"""Where a CRM record is: its own coordinates, else its US ZIP code, else its city and state.

CRMs hold addresses more often than coordinates (Salesforce fills BillingLatitude only
with Data.com or a geocoding rule; HubSpot has no coordinates at all). The points come
offline from :mod:`territory_planner.data.geocode` (ZIP centroids of the ``zipcodes``
package, a city as the mean of its ZIPs). Those tables are US-only, so a record whose
country is another one is placed only by its own coordinates: a German "10115" is not
the New York ZIP 10115.

>>> place_one("", "", "75201", "", "", "")
(32.7904, -96.8044, 'zip')
>>> place_one("", "", "", "Dallas", "Texas", "United States")[2]
'city'
>>> place_one("", "", "10115", "Berlin", "", "Germany")
(nan, nan, '')
>>> place_one("0", "0", "75201", "", "", "US")[2]
'zip'
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from territory_planner.data.columns import parse_numbers
from territory_planner.data.geocode import city_point, nearest_city, zip_point

#: USPS codes of the states, DC and the territories the ZIP table covers, by name.
US_STATES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
    "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI", "minnesota": "MN",
    "mississippi": "MS", "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV",
    "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY",
    "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR",
    "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC", "south dakota": "SD",
    "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA",
    "washington": "WA", "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY",
    "puerto rico": "PR", "guam": "GU", "virgin islands": "VI", "american samoa": "AS",
    "northern mariana islands": "MP", "washington dc": "DC", "washington d.c.": "DC",
}
US_STATE_NAMES = {code: name.title() for name, code in US_STATES.items() if not name.startswith("washington ")}
US_STATE_NAMES["DC"] = "District of Columbia"
#: How CRMs spell the United States (blank counts as the US: most US orgs leave it empty).
US_COUNTRIES = {"", "us", "usa", "u.s.", "u.s.a.", "united states", "united states of america", "america"}

#: Where a point came from, as accounts.csv and reps.csv say it (``location_source``).
SOURCES = {"crm": "the CRM's coordinates", "zip": "ZIP code centroid", "city": "city + state",
           "accounts": "centre of the accounts they own today"}


def state_code(state) -> str:
    """A US state as its USPS code ("Texas", "tx", "TX" → "TX"); other text upper-cased."""
    text = str(state or "").strip()
    return US_STATES.get(text.lower(), text.upper())


def in_us(country) -> bool:
    return str(country or "").strip().lower() in US_COUNTRIES


def place_one(lat, lon, postal_code, city, state, country) -> tuple[float, float, str]:
    """(lat, lon, source) of one record from text cells; (nan, nan, "") when unknown.

    ``lat``/``lon`` are used when both are numbers, except 0, 0: the point a failed
    geocoding leaves in the Gulf of Guinea, so the address decides instead.
    """
    try:
        a, b = float(lat), float(lon)
        if math.isfinite(a) and math.isfinite(b) and (a, b) != (0.0, 0.0):
            return a, b, "crm"
    except (TypeError, ValueError):
        pass
    if in_us(country):
        point = zip_point(postal_code) if str(postal_code or "").strip() else None
        if point:
            return point[0], point[1], "zip"
        point = city_point(city, state_code(state))
        if point:
            return point[0], point[1], "city"
    return math.nan, math.nan, ""


def place(lat: np.ndarray, lon: np.ndarray, postal_code, city, state, country) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`place_one` for every row: (lat, lon, source) arrays; source "" where unknown."""
    points = [place_one(*row) for row in zip(lat, lon, postal_code, city, state, country, strict=True)]
    if not points:
        return np.array([]), np.array([]), np.array([], dtype=object)
    a, b, source = zip(*points, strict=True)
    return np.asarray(a, float), np.asarray(b, float), np.asarray(source, dtype=object)


def why_not_placed(postal_code, city, state, country) -> str:
    """Why a record has no point, in the planner's words (for the error and the report)."""
    if not in_us(country):
        return f"country '{country}' is not the US and the record has no coordinates"
    said = []
    if str(postal_code or "").strip():
        said.append(f"ZIP '{postal_code}' is not a known US ZIP code")
    if str(city or "").strip() and str(state or "").strip():
        close = nearest_city(city, state_code(state))
        hint = f" (did you mean '{close}'?)" if close and close.lower() != str(city).strip().lower() else ""
        said.append(f"city '{city}, {state}' is not a known US city{hint}")
    elif str(city or "").strip():
        said.append(f"city '{city}' has no state")
    if not said:
        return "no coordinates, ZIP code or city + state"
    return "; ".join(said)


def weighted_centre(lat: np.ndarray, lon: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """The weight-averaged point (plain average when every weight is 0)."""
    weight = np.where(np.isfinite(weight) & (weight > 0), weight, 0.0)
    if weight.sum() <= 0:
        weight = np.ones_like(lat)
    return float(np.average(lat, weights=weight)), float(np.average(lon, weights=weight))


def coordinate_cells(series: pd.Series | None, n: int) -> np.ndarray:
    """A coordinate column as floats (NaN where blank or absent); non-numbers as NaN too.

    The caller reports a non-number with its row (:func:`parse_numbers` tells which).
    """
    if series is None:
        return np.full(n, np.nan)
    return parse_numbers(series)[0]
