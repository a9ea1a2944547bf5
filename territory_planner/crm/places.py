"""What placing a CRM record needs beyond :mod:`territory_planner.data.places`.

A CRM record is placed like a row of a planner's file (:func:`territory_planner.data.places.place_rows`:
its own coordinates unless 0, 0, else its US ZIP code, else its city and state, a state
as its code or its name; nothing outside the US). What is the CRM import's own: where
each point came from as ``location_source`` says it (:data:`SOURCES`), why a record has
no point in the import's words (:func:`why_not_placed`), a rep without an address placed
at the centre of the accounts they own (:func:`weighted_centre`), and the states' names
as CRMs' state picklists write them (:data:`US_STATE_NAMES`).

>>> why_not_placed("10115", "Berlin", "", "Germany")
"country 'Germany' is not the US and the record has no coordinates"
>>> why_not_placed("", "Dalas", "Texas", "")
"city 'Dalas, Texas' is not a known US city (did you mean 'Dallas'?)"
"""

from __future__ import annotations

import numpy as np

from territory_planner.data.geocode import US_STATES, in_us, nearest_city

US_STATE_NAMES = {code: name.title() for name, code in US_STATES.items() if not name.startswith("washington ")}
US_STATE_NAMES["DC"] = "District of Columbia"

#: Where a point came from, as accounts.csv and reps.csv say it (``location_source``).
SOURCES = {"crm": "the CRM's coordinates", "zip": "ZIP code centroid", "city": "city + state",
           "accounts": "centre of the accounts they own today"}


def why_not_placed(postal_code, city, state, country) -> str:
    """Why a record has no point, in the planner's words (for the error and the report)."""
    if not in_us(country):
        return f"country '{country}' is not the US and the record has no coordinates"
    said = []
    if str(postal_code or "").strip():
        said.append(f"ZIP '{postal_code}' is not a known US ZIP code")
    if str(city or "").strip() and str(state or "").strip():
        close = nearest_city(city, state)
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
