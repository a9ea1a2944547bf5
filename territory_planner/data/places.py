"""Placing rows without coordinates: by US ZIP code, else by city + state.

A CRM export often has an address but no latitude and longitude. For a geographic
scenario, the account and rep loaders fill each row whose ``lat`` or ``lon`` is blank (or
whose file has no coordinate columns at all) from the offline centroids of
:mod:`territory_planner.data.geocode`: by ``postal_code``, else by ``city`` + ``state``
(a state as its USPS code or its name, "TX" or "Texas"). The columns are found by their
name or a ``columns:`` mapping; a ZIP column may also be headed ``zip``, ``zip_code``,
``zipcode`` or ``postcode``. Where a ``country`` column says a row is not in the US, its
address is not looked up (a German Postleitzahl is often a valid US ZIP code too).

A row at 0, 0 has no coordinates either: it is where a failed geocoding leaves a record,
in the Gulf of Guinea, never a customer; the run's notes count such rows.

A row that cannot be placed is an error naming every such row, its file row and value
(:func:`placement`), or, with ``geocode: {on_missing: skip}``, left out and listed in
the run's notes. The CRM import (crm/importing.py) places its records with the same
rules (:func:`place_rows`).

>>> locate("", "", "75201", "", "", "")
(32.7904, -96.8044, 'zip', ())
>>> locate("0", "0", "", "Dallas", "Texas", "United States")[2]
'city'
>>> locate("", "", "10115", "Berlin", "", "Germany")
(nan, nan, '', (('country not the US (offline places are US ZIP codes and cities)', "'Germany'"),))
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from territory_planner.data.columns import (
    cell_text,
    coordinate_columns,
    coordinate_names,
    header_key,
    missing_coordinates,
    row_numbers,
)
from territory_planner.data.files import Table
from territory_planner.data.geocode import city_point, in_us, nearest_city, zip_point
from territory_planner.errors import InputError

#: Other names of a ZIP code column (after header_key), tried when no postal_code is found.
POSTAL_ALIASES = ("postal_code", "zip", "zip_code", "zipcode", "postcode", "postal")
#: The columns that place a row, in the order they are tried (country only says whether to).
PLACE_FIELDS = ("postal_code", "city", "state", "country")
#: How a row got its point: its own coordinates, its ZIP code, its city and state; "" none.
GIVEN, BY_ZIP, BY_CITY = "given", "zip", "city"
#: Rows named one by one in a message; the rest are listed by row number only.
DETAILED = 20
ZERO = "coordinates 0, 0 (read as none)"


def place_columns(table: Table) -> dict[str, str]:
    """The headers of ``table`` that can place a row: postal_code, city and state.

    ``country`` too, when present with one of them. Empty for a table that has none.
    """
    keys = {header_key(c): c for c in table.frame.columns if isinstance(c, str)}
    found = {}
    postal = next((keys[k] for k in POSTAL_ALIASES if k in keys), None)
    if postal is not None:
        found["postal_code"] = postal
    if "city" in keys and "state" in keys:
        found["city"], found["state"] = keys["city"], keys["state"]
    if found and "country" in keys:
        found["country"] = keys["country"]
    return found


def how_to_place() -> str:
    """What a file needs to be placed, in the planner's words (for a fix)."""
    return ("a postal_code column (US ZIP codes; or map yours with columns: {postal_code: <header>}), "
            "or city and state columns")


def locate(lat, lon, postal_code, city, state, country,
           columns: Collection[str] = PLACE_FIELDS) -> tuple[float, float, str, tuple[tuple[str, str], ...]]:
    """(lat, lon, how, why) of one row from its cells (text or numbers).

    ``how`` is :data:`GIVEN` (its own lat and lon, both numbers and not 0, 0),
    :data:`BY_ZIP`, :data:`BY_CITY`, or "" with (nan, nan) when it cannot be placed;
    then ``why`` says why, as (problem, the row's values) pairs. ``columns``: the place
    columns the table has (they only change how a blank row is described).
    """
    try:
        a, b = float(lat), float(lon)
    except (TypeError, ValueError):
        a = b = math.nan
    if math.isfinite(a) and math.isfinite(b) and (a, b) != (0.0, 0.0):
        return a, b, GIVEN, ()
    code, city, state, country = (_text(v) for v in (postal_code, city, state, country))
    why: list[tuple[str, str]] = [(ZERO, "")] if (a, b) == (0.0, 0.0) else []
    us = in_us(country)
    if not us and (code or city or state):
        why.append(("country not the US (offline places are US ZIP codes and cities)", f"'{country}'"))
    elif code:
        point = zip_point(code)
        if point is not None:
            return point[0], point[1], BY_ZIP, ()
        why.append(("postal_code not a known US ZIP code", f"'{code}'"))
    if us and "city" in columns and (city or state):
        if not (city and state):
            why.append(("city without a state", f"'{city}'") if city else ("state without a city", f"'{state}'"))
        else:
            point = city_point(city, state)
            if point is not None:
                return point[0], point[1], BY_CITY, ()
            close = nearest_city(city, state)
            why.append(("city and state not found", f"'{city}', '{state}'" + (f", did you mean '{close}'?" if close else "")))
    blank = [c for c in ("postal_code", "city", "state") if c in columns]
    if all(problem == ZERO for problem, _ in why) and blank:  # nothing to look up
        why.append((f"{', '.join(blank[:-1])} and {blank[-1]} blank" if len(blank) > 1 else f"{blank[0]} blank", ""))
    return math.nan, math.nan, "", tuple(why)


def _text(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value).strip()


@dataclass(frozen=True)
class Placement:
    """Coordinates after placing: how each row got its point, and why others got none."""

    lat: np.ndarray
    lon: np.ndarray
    source: np.ndarray  # object: GIVEN, BY_ZIP, BY_CITY or "" per row
    zero: np.ndarray  # bool per row: it was at 0, 0 (read as no coordinates)
    reasons: tuple[tuple[str, str], ...]  # (problem, the row's values) per unplaced row, in row order

    @property
    def unplaced(self) -> np.ndarray:
        return self.source == ""


def place_rows(lat, lon, postal_code, city, state, country, columns: Collection[str] = PLACE_FIELDS) -> Placement:
    """:func:`locate` for every row of equally long columns (arrays or Series)."""
    lat, lon = np.asarray(lat, dtype=float).copy(), np.asarray(lon, dtype=float).copy()
    zero = (lat == 0) & (lon == 0)
    source = np.where(np.isfinite(lat) & np.isfinite(lon) & ~zero, GIVEN, "").astype(object)
    todo = np.flatnonzero(source == "")
    cells = [cell_text(pd.Series(np.asarray(v, dtype=object)[todo])).tolist() for v in (postal_code, city, state, country)]
    reasons = []
    for k, i in enumerate(todo):
        lat[i], lon[i], source[i], why = locate(lat[i], lon[i], *(c[k] for c in cells), columns=columns)
        if not source[i]:
            reasons.append((", and ".join(w for w, _ in why), "; ".join(v for _, v in why if v)))
    return Placement(lat, lon, source, zero, tuple(reasons))


def place(table: Table, columns: dict[str, str], lat: np.ndarray, lon: np.ndarray) -> Placement:
    """Place the rows of ``table`` whose ``lat`` or ``lon`` is NaN (or both 0) from ``columns``
    (see :func:`place_columns`)."""
    n = len(table.frame)
    text = [cell_text(table.frame[columns[k]]).to_numpy(object) if k in columns else np.full(n, "", dtype=object)
            for k in PLACE_FIELDS]
    return place_rows(lat, lon, *text, columns=columns)


def located(table: Table, found: dict[str, str], geometry: str, *, kind: str,
            on_missing: str = "error", key: str = "") -> tuple[dict[str, np.ndarray], np.ndarray | None, tuple[str, ...]]:
    """A loader's coordinates: parsed, checked, and in a geographic scenario placed where missing.

    Returns (coordinates by name, rows kept or None when all are, notes). Raises when the
    file has no coordinate columns and nothing to place its rows by (:func:`placement`
    for the rows that cannot be placed).
    """
    first, second = coordinate_names(geometry)
    columns = place_columns(table) if geometry == "geographic" else {}
    if geometry == "geographic" and (not columns or (first in found) != (second in found)):
        error = missing_coordinates(table, found, geometry, place_hint=how_to_place())
        if error is not None:
            raise error
    coordinates = coordinate_columns(table, found, geometry, blank_ok=bool(columns))
    if geometry != "geographic":
        return coordinates, None, ()
    lat, lon = coordinates[first], coordinates[second]
    if not columns and not ((lat == 0) & (lon == 0)).any():
        return coordinates, None, ()
    coordinates[first], coordinates[second], keep, notes = placement(
        table, columns, lat, lon, kind=kind, on_missing=on_missing, key=key, lat_header=found.get(first))
    return coordinates, (None if keep.all() else keep), notes


def placement(table: Table, columns: dict[str, str], lat: np.ndarray, lon: np.ndarray, *, kind: str,
              on_missing: str = "error", key: str = "",
              lat_header: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """Place what can be placed: (lat, lon, rows kept, notes), or raise naming every unplaced row.

    ``on_missing="skip"`` leaves unplaced rows out (``rows kept`` False there) and lists
    them in the notes. ``lat_header``: the file's latitude column, whose cell an error
    shows when the table has no place columns.
    """
    done = place(table, columns, lat, lon)
    rows = row_numbers(table.frame)
    notes = []
    zero = int(done.zero.sum())
    if zero:
        notes.append(f"{kind}: {zero:,} row{'s' * (zero > 1)} at lat 0, lon 0 read as without coordinates "
                     "(where a failed geocoding leaves a record, in the Gulf of Guinea)")
    by_zip, by_city = int((done.source == BY_ZIP).sum()), int((done.source == BY_CITY).sum())
    if by_zip or by_city:
        how = [f"{count:,} by {words}" for count, words in ((by_zip, "ZIP code"), (by_city, "city and state")) if count]
        total = by_zip + by_city
        placed = f"placed {how[0].split(' ', 1)[1]}" if len(how) == 1 else f"placed: {', '.join(how)}"
        notes.append(f"{kind}: {total:,} row{'s' * (total > 1)} without coordinates {placed} "
                     "(offline, centroids of the zipcodes package)")
    bad = np.flatnonzero(done.unplaced)
    if len(bad) == 0:
        return done.lat, done.lon, np.ones(len(rows), bool), tuple(notes)
    listing = unplaced_listing(rows[bad], done.reasons)
    setting = f"{key or 'data.' + kind}"
    if on_missing == "skip" and len(bad) < len(rows):
        notes.append(f"{kind}: {len(bad):,} row{'s' * (len(bad) > 1)} left out, no coordinates and no place "
                     f"({setting}.geocode.on_missing: skip): {listing}")
        return done.lat, done.lon, ~done.unplaced, tuple(notes)
    first = int(bad[0])
    column = columns.get("postal_code") or columns.get("city") or "lat"
    header = lat_header if column == "lat" else column
    everything = " (every row of the file: nothing is left to plan)" if len(bad) == len(rows) else ""
    zeros = " (0, 0 is read as no coordinates)" if done.zero[bad].any() else ""
    if "postal_code" in columns:
        correct = ("correct the ZIP code (5 digits, e.g. 02134)" + (" or the city and state" if "city" in columns else "")
                   + f" or fill lat and lon in those rows{zeros}")
    elif "city" in columns:
        correct = f"correct the city and state or fill lat and lon in those rows{zeros}"
    else:
        correct = f"fill lat and lon in those rows{zeros}, or give the file {how_to_place()}"
    raise InputError(
        f"{len(bad):,} row{'s have' if len(bad) > 1 else ' has'} no coordinates and cannot be placed offline"
        f"{everything}: {listing}",
        file=table.file, row=int(rows[first]), column=column,
        value=(cell_text(table.frame[header]).iloc[first] or None) if header in table.frame else None,
        fix=(f"{correct}; or write geocode: {{on_missing: skip}} under "
             f"{setting} (as {setting}: {{file: …, geocode: {{on_missing: skip}}}}) to leave them out"),
    )


def unplaced_listing(rows: np.ndarray, reasons) -> str:
    """The unplaced rows grouped by problem, each row with its values; past the first
    rows, row numbers only.

    >>> unplaced_listing(np.array([5, 9, 12]), [("postal_code not a known US ZIP code", "'99999'"),
    ...                                         ("postal_code blank", ""), ("postal_code not a known US ZIP code", "'0'")])
    "postal_code not a known US ZIP code: row 5 ('99999'), row 12 ('0'); postal_code blank: row 9"
    """
    groups: dict[str, list[tuple[int, str]]] = {}
    for row, (problem, values) in zip(rows, reasons, strict=True):
        groups.setdefault(problem, []).append((int(row), values))
    shown, parts = 0, []
    for problem, items in groups.items():
        detailed = items[:max(DETAILED - shown, 0)]
        shown += len(detailed)
        listed = [f"row {r} ({v})" if v else f"row {r}" for r, v in detailed]
        if len(items) > len(detailed):
            rest = [r for r, _ in items[len(detailed):]]
            listed.append(f"{'and ' if detailed else ''}{len(rest):,} more: rows {row_ranges(rest)}")
        parts.append(f"{problem}: {', '.join(listed)}")
    return "; ".join(parts)


def row_ranges(rows) -> str:
    """Row numbers with runs written as ranges.

    >>> row_ranges([3, 4, 5, 9, 11, 12])
    '3–5, 9, 11–12'
    """
    out: list[str] = []
    rows = [int(r) for r in rows]
    start = prev = rows[0]
    for r in [*rows[1:], None]:
        if r is not None and r == prev + 1:
            prev = r
            continue
        out.append(str(start) if start == prev else f"{start}–{prev}")
        if r is not None:
            start = prev = r
    return ", ".join(out)


def left_out_ids(ids: pd.Series, keep: np.ndarray) -> tuple[str, ...]:
    """The ids of the rows ``keep`` leaves out."""
    return tuple(ids[~keep].astype(str))
