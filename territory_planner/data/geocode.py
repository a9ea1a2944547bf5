"""Offline geocoding of US places: ZIP code and city + state to a point.

Centroids come from the ``zipcodes`` package (its ZIP records carry a latitude and
longitude); a city is the mean of its ZIP codes' points. Nothing is fetched from the
internet.

>>> zip_point("75201")
(32.7904, -96.8044)
>>> lat, lon = city_point("dallas", "tx"); round(lat, 1), round(lon, 1)
(32.8, -96.8)
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, tuple[float, float]], dict[tuple[str, str], tuple[float, float]]]:
    import zipcodes

    by_zip: dict[str, tuple[float, float]] = {}
    sums: dict[tuple[str, str], list[float]] = {}
    for rec in zipcodes.list_all():
        try:
            point = (float(rec["lat"]), float(rec["long"]))
        except (TypeError, ValueError):
            continue
        by_zip[rec["zip_code"]] = point
        if rec.get("zip_code_type") in ("STANDARD", "UNIQUE", "PO BOX") and rec.get("city") and rec.get("state"):
            s = sums.setdefault((rec["city"].strip().lower(), rec["state"].strip().upper()), [0.0, 0.0, 0])
            s[0] += point[0]
            s[1] += point[1]
            s[2] += 1
    by_city = {key: (s[0] / s[2], s[1] / s[2]) for key, s in sums.items()}
    return by_zip, by_city


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
    """(lat, lon) of a US city (the mean of its ZIP codes' points); None if unknown."""
    if not city or not state:
        return None
    return _tables()[1].get((str(city).strip().lower(), str(state).strip().upper()))
