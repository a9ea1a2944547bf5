"""Offline geocoding of US places: ZIP code and city + state to a point.

Centroids come from the ``zipcodes`` package (42,789 US ZIP records with a latitude and
longitude; MIT); a city is the mean of its ZIP codes' points. Records without a real
point (military APO/FPO codes and a few others stored at 0, 0) are left out, so an
unknown place is ``None``, never a point in the Gulf of Guinea. Nothing is fetched from
the internet.

>>> zip_point("75201")
(32.7904, -96.8044)
>>> lat, lon = city_point("dallas", "tx"); round(lat, 1), round(lon, 1)
(32.8, -96.8)
>>> zip_point("09001") is None, nearest_city("Dalas", "TX")
(True, 'Dallas')

A state may be written as its USPS code or its name, as CRMs' state picklists write it
(:func:`state_code`); a country as any of the ways CRMs spell the United States, blank
included (:func:`in_us`).
"""

from __future__ import annotations

import difflib
from functools import lru_cache

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
#: How CRMs spell the United States (blank counts as the US: most US orgs leave it empty).
US_COUNTRIES = {"", "us", "usa", "u.s.", "u.s.a.", "united states", "united states of america", "america"}


def state_code(state) -> str:
    """A US state as its USPS code; other text upper-cased.

    >>> state_code("Texas"), state_code(" tx "), state_code("New York"), state_code("Bavaria")
    ('TX', 'TX', 'NY', 'BAVARIA')
    """
    text = " ".join(str(state or "").split())
    return US_STATES.get(text.lower(), text.upper())


def in_us(country) -> bool:
    """Whether a country cell means the United States (blank does).

    >>> in_us(""), in_us(" U.S.A. "), in_us("Germany")
    (True, True, False)
    """
    return str(country or "").strip().lower() in US_COUNTRIES


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, tuple[float, float]], dict[tuple[str, str], tuple[float, float]], dict[str, list[str]]]:
    import zipcodes

    by_zip: dict[str, tuple[float, float]] = {}
    sums: dict[tuple[str, str], list[float]] = {}
    names: dict[tuple[str, str], str] = {}
    for rec in zipcodes.list_all():
        try:
            point = (float(rec["lat"]), float(rec["long"]))
        except (TypeError, ValueError):
            continue
        if point[0] == 0 or point[1] == 0:  # no point on record (military and a few unique codes)
            continue
        by_zip[rec["zip_code"]] = point
        if rec.get("zip_code_type") in ("STANDARD", "UNIQUE", "PO BOX") and rec.get("city") and rec.get("state"):
            key = (rec["city"].strip().lower(), rec["state"].strip().upper())
            names.setdefault(key, rec["city"].strip())
            s = sums.setdefault(key, [0.0, 0.0, 0])
            s[0] += point[0]
            s[1] += point[1]
            s[2] += 1
    by_city = {key: (s[0] / s[2], s[1] / s[2]) for key, s in sums.items()}
    cities: dict[str, list[str]] = {}
    for (_, state), name in sorted(names.items()):
        cities.setdefault(state, []).append(name)
    return by_zip, by_city, cities


def zip_point(code) -> tuple[float, float] | None:
    """(lat, lon) of a US ZIP code ("02116", 2116, "02116-1234"); None if unknown."""
    if code is None:
        return None
    text = str(code).strip().split("-")[0]
    if text.endswith(".0"):  # read as a number by a spreadsheet
        text = text[:-2]
    if not text.isdigit() or len(text) > 5:
        return None
    return _tables()[0].get(text.zfill(5))


def city_point(city, state) -> tuple[float, float] | None:
    """(lat, lon) of a US city (the mean of its ZIP codes' points); None if unknown.

    ``state``: the USPS code or the name ("TX", "Texas").
    """
    if not city or not state:
        return None
    return _tables()[1].get((str(city).strip().lower(), state_code(state)))


def nearest_city(city, state) -> str | None:
    """The known city of ``state`` spelt most like ``city`` (for a 'did you mean'), or None."""
    names = _tables()[2].get(state_code(state), [])
    close = difflib.get_close_matches(str(city).strip().title(), names, n=1, cutoff=0.75)
    return close[0] if close else None
