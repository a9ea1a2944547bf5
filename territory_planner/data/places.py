"""Placing rows without coordinates: accounts by US ZIP code, reps also by city + state.

A CRM export often has an address but no latitude and longitude. For a geographic
scenario, the account and rep loaders fill each row whose ``lat`` or ``lon`` is blank (or
whose file has no coordinate columns at all) from the offline centroids of
:mod:`territory_planner.data.geocode`: accounts by ``postal_code``; reps by
``postal_code``, else by ``city`` + ``state`` (a rep's home base is rarely known closer
than the city). The columns are found by their name or a ``columns:`` mapping; a ZIP
column may also be headed ``zip``, ``zip_code``, ``zipcode`` or ``postcode``. Where a
``country`` column says a row is not in the US, its postal code is not looked up (a
German Postleitzahl is often a valid US ZIP code too).

A row that cannot be placed is an error naming every such row, its file row and value
(:func:`placement`), or, with ``geocode: {on_missing: skip}``, left out and listed in
the run's notes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from territory_planner.data.columns import cell_text, header_key, row_numbers
from territory_planner.data.files import Table
from territory_planner.data.geocode import city_point, nearest_city, zip_point
from territory_planner.errors import InputError

#: Other names of a ZIP code column (after header_key), tried when no postal_code is found.
POSTAL_ALIASES = ("postal_code", "zip", "zip_code", "zipcode", "postcode", "postal")
US = {"", "us", "usa", "u.s.", "u.s.a.", "united states", "united states of america", "america"}
#: Rows named one by one in a message; the rest are listed by row number only.
DETAILED = 20


def place_columns(table: Table, kind: str) -> dict[str, str]:
    """The headers of ``table`` that can place a row: postal_code, and for reps city and state.

    ``country`` too, when present. Empty for a table that has none of them.
    """
    keys = {header_key(c): c for c in table.frame.columns if isinstance(c, str)}
    found = {}
    postal = next((keys[k] for k in POSTAL_ALIASES if k in keys), None)
    if postal is not None:
        found["postal_code"] = postal
    if kind == "reps" and "city" in keys and "state" in keys:
        found["city"], found["state"] = keys["city"], keys["state"]
    if found and "country" in keys:
        found["country"] = keys["country"]
    return found


def how_to_place(kind: str) -> str:
    """What a file needs to be placed, in the planner's words (for a fix)."""
    return ("a postal_code column (US ZIP codes; or map yours with columns: {postal_code: <header>})" if kind == "accounts"
            else "a postal_code column (US ZIP codes), or city and state columns")


@dataclass(frozen=True)
class Placement:
    """Coordinates after placing: which rows were placed how, and which could not be."""

    lat: np.ndarray
    lon: np.ndarray
    by_zip: np.ndarray  # bool per row
    by_city: np.ndarray
    unplaced: np.ndarray  # bool per row
    reasons: tuple[tuple[str, str], ...]  # (problem, the row's values) per unplaced row, in row order


def place(table: Table, columns: dict[str, str], lat: np.ndarray, lon: np.ndarray) -> Placement:
    """Fill rows whose ``lat`` or ``lon`` is NaN from ``columns`` (see :func:`place_columns`)."""
    n = len(table.frame)
    lat, lon = lat.copy(), lon.copy()
    missing = np.isnan(lat) | np.isnan(lon)
    if not missing.any():
        return Placement(lat, lon, np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool), ())
    empty = [""] * n
    text = {name: (cell_text(table.frame[header]).tolist() if header else empty)
            for name, header in {k: columns.get(k) for k in ("postal_code", "city", "state", "country")}.items()}
    by_zip, by_city, unplaced = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    reasons: list[tuple[str, str]] = []
    for i in np.flatnonzero(missing):
        code, city, state, country = (text[k][i] for k in ("postal_code", "city", "state", "country"))
        why: list[tuple[str, str]] = []  # (problem, values)
        point = None
        us = country.strip().lower() in US
        if not us and (code or city or state):
            why.append(("country not the US (offline places are US ZIP codes and cities)", f"'{country}'"))
        elif code:
            point = zip_point(code)
            if point is not None:
                by_zip[i] = True
            else:
                why.append(("postal_code not a known US ZIP code", f"'{code}'"))
        if point is None and us and "city" in columns and (city or state):
            if not (city and state):
                why.append(("city without a state", f"'{city}'") if city else ("state without a city", f"'{state}'"))
            else:
                point = city_point(city, state)
                if point is not None:
                    by_city[i] = True
                else:
                    close = nearest_city(city, state)
                    why.append(("city and state not found",
                                f"'{city}', '{state}'" + (f", did you mean '{close}'?" if close else "")))
        if point is None:
            if not why:
                why.append(("postal_code blank" if "city" not in columns else "postal_code, city and state blank", ""))
            unplaced[i] = True
            reasons.append((", and ".join(w for w, _ in why), "; ".join(v for _, v in why if v)))
        else:
            lat[i], lon[i] = point
    return Placement(lat, lon, by_zip, by_city, unplaced, tuple(reasons))


def placement(table: Table, columns: dict[str, str], lat: np.ndarray, lon: np.ndarray, *, kind: str,
              on_missing: str = "error", key: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """Place what can be placed: (lat, lon, rows kept, notes), or raise naming every unplaced row.

    ``on_missing="skip"`` leaves unplaced rows out (``rows kept`` False there) and lists
    them in the notes.
    """
    done = place(table, columns, lat, lon)
    rows = row_numbers(table.frame)
    notes = []
    by_zip, by_city = int(done.by_zip.sum()), int(done.by_city.sum())
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
    everything = " (every row of the file: nothing is left to plan)" if len(bad) == len(rows) else ""
    raise InputError(
        f"{len(bad):,} row{'s have' if len(bad) > 1 else ' has'} no coordinates and cannot be placed offline"
        f"{everything}: {listing}",
        file=table.file, row=int(rows[first]), column=column,
        value=(cell_text(table.frame[column]).iloc[first] or None) if column in table.frame else None,
        fix=("correct the ZIP code (5 digits, e.g. 02134)" + (" or the city and state" if "city" in columns else "")
             + " or fill lat and lon in those rows; or write geocode: {on_missing: skip} under "
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
