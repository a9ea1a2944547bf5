"""Checking a read table's columns: the second step of the flow file → validated frame.

:func:`open_table` reads a file (:mod:`territory_planner.data.files`), matches its
headers to a loader's canonical names and adds coordinates from points; the pieces here
then turn each column into checked values (ids, text, numbers, coordinates, the file's
extra columns) for the account, rep and unit loaders, raising
:class:`~territory_planner.errors.InputError` naming the file, row, column and value.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from dataclasses import replace
from numbers import Number

import numpy as np
import pandas as pd

from territory_planner.data.files import ROW, Table, read
from territory_planner.errors import InputError

NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
# Text that Python's float() accepts but that is not a usable amount.
NOT_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
# "02134" or "007": codes, not amounts; converting them to numbers would lose the zeros.
LEADING_ZERO = re.compile(r"[+-]?0\d")


# --- Headers -------------------------------------------------------------------------------


def header_key(name) -> str:
    """How headers are matched: case, surrounding and inner whitespace, '-' ignored.

    >>> header_key("  Account ID "), header_key("Current-Rep-ID")
    ('account_id', 'current_rep_id')
    """
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def match_headers(
    table: Table, canonical: Iterable[str], aliases: dict[str, str]
) -> dict[str, str]:
    """Map each canonical column name to the file's header that means it.

    Headers match after :func:`header_key`; ``aliases`` maps other keys (e.g.
    ``latitude``) to canonical names. Two headers meaning the same column are an error.
    """
    canonical = list(canonical)
    found: dict[str, str] = {}
    for header in table.frame.columns:
        if header == ROW or _is_geometry(table.frame, header):
            continue
        key = header_key(header)
        name = key if key in canonical else aliases.get(key)
        if name not in canonical:
            continue
        if name in found:
            raise InputError(
                f"columns '{found[name]}' and '{header}' both mean '{name}'",
                file=table.file,
                row=table.header_row,
                column=str(header),
                fix="rename or delete one of them",
            )
        found[name] = header
    return found


def missing_column(
    table: Table, name: str, *, used: Iterable[str] = (), extra_fix: str = ""
) -> InputError:
    """The error for a required column that is absent, suggesting the nearest header."""
    used = set(used)
    headers = [
        str(c)
        for c in table.frame.columns
        if c != ROW and c not in used and not _is_geometry(table.frame, c)
    ]
    close = difflib.get_close_matches(name, [header_key(h) for h in headers], n=1, cutoff=0.6)
    if close:
        original = next(h for h in headers if header_key(h) == close[0])
        fix = f"did you mean '{original}'? Rename it to '{name}'"
    else:
        fix = f"add a column named '{name}'"
        if headers:
            fix += (
                f" (columns found: {', '.join(headers[:12])}{', …' if len(headers) > 12 else ''})"
            )
    if extra_fix:
        fix = f"{extra_fix}; otherwise {fix}"
    return InputError(
        f"required column '{name}' is missing",
        file=table.file,
        row=table.header_row,
        column=name,
        fix=fix,
    )


def _is_geometry(frame: pd.DataFrame, column) -> bool:
    return getattr(frame, "_geometry_column_name", None) == column


# --- Cells -----------------------------------------------------------------------------------


def cell_text(series: pd.Series) -> pd.Series:
    """Cells as stripped text, ``""`` for blank; whole-number floats without '.0'.

    Parquet and GeoJSON store an id like 1001 as a number; Excel stores it as 1001.0.
    """
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(
        series.dtype
    ):
        return series.fillna("").str.strip()
    return pd.Series([_one_text(v) for v in series], index=series.index, dtype="str")


def id_text(value) -> str | None:
    """An id cell as text, None when blank: an all-digit id a file stored as a number
    keeps its digits (HubSpot's 12345 read as 12345.0 is "12345").

    >>> id_text(12345.0), id_text(" 001A "), id_text(float("nan")), id_text(""), id_text(None)
    ('12345', '001A', None, None, None)
    """
    return _one_text(value) or None


def _one_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, Number):
        number = float(value)
        if math.isnan(number):
            return ""
        if isinstance(value, (int, np.integer)):
            return str(int(value))
        if number.is_integer() and abs(number) < 2**53:
            return str(int(number))
        return repr(number)
    if value is pd.NA or value is pd.NaT:
        return ""
    return str(value).strip()


def raw_value(series: pd.Series, position: int):
    """The cell as the planner wrote it, for error messages."""
    value = series.iloc[position]
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def parse_numbers(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parse a column of numbers: (values, blank, not_a_number, not_finite) arrays.

    Only plain decimal numbers are accepted ("1200", "-3.5", "1e6"); "12k", "1,200",
    "$5", "n/a" are not numbers; "nan" and "inf" are numbers that cannot be used.
    """
    n = len(series)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        blank = np.isnan(values)
        return values, blank, np.zeros(n, bool), np.isinf(values)
    text = cell_text(series)
    blank = (text == "").to_numpy(bool)
    is_number = text.str.fullmatch(NUMBER.pattern).to_numpy(bool)
    not_finite = text.str.lower().isin(NOT_FINITE).to_numpy(bool)
    values = np.full(n, np.nan)
    if is_number.any():
        # float() rounds decimal text correctly, so CSV and Parquet give the same value.
        values[is_number] = np.asarray(text.to_numpy(object)[is_number], dtype=object).astype(
            "float64"
        )
    overflow = is_number & np.isinf(values)  # "1e999"
    not_finite = not_finite | overflow
    not_a_number = ~(blank | is_number | not_finite)
    return values, blank, not_a_number, not_finite


def first_problem(
    bad: np.ndarray,
    *,
    table_file: str,
    rows: np.ndarray,
    column: str,
    series: pd.Series,
    problem: str,
    fix: str,
) -> InputError | None:
    """The error for the first row flagged in ``bad``, counting the others like it."""
    positions = np.flatnonzero(bad)
    if len(positions) == 0:
        return None
    first = int(positions[0])
    more = len(positions) - 1
    if more:
        problem += f"; {more} more row{'s' if more > 1 else ''} have the same problem"
    return InputError(
        problem,
        file=table_file,
        row=int(rows[first]),
        column=column,
        value=raw_value(series, first),
        fix=fix,
    )


def number_column(
    series: pd.Series,
    *,
    file: str,
    rows: np.ndarray,
    column: str,
    required: bool = True,
    allow_negative: bool = False,
    positive: bool = False,
    what: str = "a number",
) -> np.ndarray:
    """Parse and check one numeric column; blank cells are NaN when not ``required``."""
    values, blank, not_a_number, not_finite = parse_numbers(series)
    checks = [
        (
            not_a_number,
            "not a number",
            f"write {what} with digits only — no units, currency signs, thousands separators "
            "or words (e.g. 12000, not '12k', '12,000' or 'n/a')",
        ),
        (
            not_finite,
            "not a finite number",
            f"enter {what}" + ("" if required else ", or leave the cell blank"),
        ),
    ]
    if required:
        checks.append(
            (blank, "the cell is blank", f"enter {what} in every row (0 if there is none)")
        )
    if positive:
        checks.append(
            (
                ~blank & ~not_finite & (values <= 0),
                "must be more than 0",
                f"enter {what} above 0, or remove the row",
            )
        )
    elif not allow_negative:
        checks.append(
            (~blank & ~not_finite & (values < 0), "negative number", f"enter {what} of 0 or more")
        )
    for bad, problem, fix in checks:
        error = first_problem(
            bad, table_file=file, rows=rows, column=column, series=series, problem=problem, fix=fix
        )
        if error:
            raise error
    return values


def looks_numeric(series: pd.Series) -> bool:
    """Whether an extra column holds amounts (so a scenario can balance on it).

    Codes with leading zeros ("02134") stay text.
    """
    if pd.api.types.is_bool_dtype(series.dtype):
        return False
    if pd.api.types.is_numeric_dtype(series.dtype):
        return True
    if not (
        pd.api.types.is_string_dtype(series.dtype) or pd.api.types.is_object_dtype(series.dtype)
    ):
        return False
    if pd.api.types.is_object_dtype(series.dtype) and not all(
        v is None or isinstance(v, (str, Number)) for v in series
    ):
        return False
    text = cell_text(series)
    text = text[text != ""]
    if text.empty:
        return False
    return bool(
        text.str.fullmatch(NUMBER.pattern).all() and not text.str.match(LEADING_ZERO.pattern).any()
    )


def extra_column(series: pd.Series) -> pd.Series:
    """An extra column of the file: amounts become float, text stays text."""
    if looks_numeric(series):
        return pd.Series(parse_numbers(series)[0], index=series.index, dtype="float64")
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(
        series.dtype
    ):
        return series.replace("", np.nan).astype("str")
    return series


def row_numbers(frame: pd.DataFrame) -> np.ndarray:
    if ROW in frame.columns:
        return frame[ROW].to_numpy("int64")
    return np.arange(1, len(frame) + 1, dtype="int64")


def check_numeric_column(
    df: pd.DataFrame, column: str, file, *, allow_negative: bool = False
) -> None:
    """Check a column a scenario chose (e.g. to balance on) holds a usable number in every row.

    Works on a loaded frame: row numbers come from its ``_row`` column. Raises
    :class:`InputError` for a missing column (suggesting the nearest name), a blank,
    non-numeric, non-finite or (unless ``allow_negative``) negative cell.
    """
    file = str(file)
    if column not in df.columns:
        names = [str(c) for c in df.columns if c != ROW]
        same = [c for c in names if header_key(c) == header_key(column)]
        close = same or difflib.get_close_matches(column, names, n=1, cutoff=0.6)
        fix = (
            f"did you mean '{close[0]}'? Write the name as it is in the loaded table"
            if close
            else (f"use one of the file's columns: {', '.join(names)}")
        )
        raise InputError(
            f"the scenario uses column '{column}' but the file has no such column",
            file=file,
            column=column,
            fix=fix,
        )
    number_column(
        df[column],
        file=file,
        rows=row_numbers(df),
        column=column,
        required=True,
        allow_negative=allow_negative,
        what=f"a number for '{column}'",
    )


# --- Pieces the account and rep loaders share ----------------------------------------------

# ``none``: non-geographic alignment; lat/lon are optional and may be blank.
GEOMETRIES = {"geographic": ("lat", "lon"), "planar": ("x", "y"), "none": ("lat", "lon")}
COORDINATE_ALIASES = {"latitude": "lat", "longitude": "lon", "lng": "lon", "long": "lon"}


def coordinate_names(geometry: str) -> tuple[str, str]:
    if geometry not in GEOMETRIES:
        raise InputError(
            f"unknown geometry '{geometry}'",
            column="geometry",
            value=geometry,
            fix="set geometry: geographic (lat/lon, km), planar (x/y) or none (no coordinates) in the scenario",
        )
    return GEOMETRIES[geometry]


def open_table(path, geometry: str, canonical: list[str], *,
               coordinates_required: bool = True) -> tuple[Table, dict[str, str]]:
    """Read a file, match its headers to ``canonical`` and add coordinates from points.

    GeoJSON / GeoPackage points without coordinate columns give lat/lon (reprojected to
    EPSG:4326 when the file's CRS differs) or, for planar geometry, x/y as stored.
    ``coordinates_required=False``: a file without coordinate columns is the caller's
    to judge (rows placed by ZIP code, data/places.py); see :func:`missing_coordinates`.
    """
    first, second = coordinate_names(geometry)
    table = path if isinstance(path, Table) else read(path)
    found = match_headers(table, canonical, COORDINATE_ALIASES if geometry != "planar" else {})
    frame = table.frame
    geometry_column = getattr(frame, "_geometry_column_name", None)
    if geometry_column is not None and geometry_column in frame.columns:
        if first not in found and second not in found:
            a, b = _point_coordinates(frame, geometry, table.file)
            frame = frame.assign(**{f"\0{first}": a, f"\0{second}": b})
            found[first], found[second] = f"\0{first}", f"\0{second}"
        frame = pd.DataFrame(frame.drop(columns=[geometry_column]))
        table = replace(table, frame=frame)
    if coordinates_required:
        error = missing_coordinates(table, found, geometry)
        if error is not None:
            raise error
    return table, found


def missing_coordinates(table: Table, found: dict[str, str], geometry: str, *, place_hint: str = "") -> InputError | None:
    """The error for a file without its coordinate columns, or None when it has them.

    ``place_hint``: what else would place the rows (e.g. a postal_code column), said in the fix.
    """
    for name in coordinate_names(geometry):
        if name not in found and geometry != "none":
            keys = {header_key(c) for c in table.frame.columns}
            other = "planar" if geometry == "geographic" else "geographic"
            hint = ""
            if set(GEOMETRIES[other]) <= keys:
                hint = f"the file has {'/'.join(GEOMETRIES[other])} columns: set geometry: {other} in the scenario"
            elif place_hint:
                hint = f"to place rows without coordinates, give the file {place_hint}"
            return missing_column(table, name, used=found.values(), extra_fix=hint)
    return None


def _point_coordinates(frame, geometry: str, file: str) -> tuple[np.ndarray, np.ndarray]:
    shapes = frame.geometry
    rows = row_numbers(frame)
    empty = (shapes.isna() | shapes.is_empty).to_numpy(bool)
    error = first_problem(
        empty,
        table_file=file,
        rows=rows,
        column=shapes.name,
        series=pd.Series([None] * len(frame)),
        problem="the record has no geometry",
        fix="give every record a point, or add lat and lon columns",
    )
    if error:
        raise error
    not_point = (shapes.geom_type != "Point").to_numpy(bool)
    error = first_problem(
        not_point,
        table_file=file,
        rows=rows,
        column=shapes.name,
        series=shapes.geom_type,
        problem="the geometry is not a point",
        fix="store each record as a point (e.g. the centroid), or add lat and lon columns",
    )
    if error:
        raise error
    if geometry != "planar" and shapes.crs is not None and shapes.crs.to_epsg() != 4326:
        shapes = shapes.to_crs(4326)
    if geometry != "planar":
        return shapes.y.to_numpy(float), shapes.x.to_numpy(float)
    return shapes.x.to_numpy(float), shapes.y.to_numpy(float)


def id_column(table: Table, header: str, name: str) -> pd.Series:
    """A required, unique id column as stripped text."""
    series = table.frame[header]
    text = cell_text(series)
    rows = row_numbers(table.frame)
    error = first_problem(
        (text == "").to_numpy(bool),
        table_file=table.file,
        rows=rows,
        column=name,
        series=series,
        problem=f"the {name} is blank",
        fix=f"give every row a unique {name}, or delete the row",
    )
    if error:
        raise error
    repeated = text.duplicated().to_numpy(bool)
    if repeated.any():
        position = int(np.flatnonzero(repeated)[0])
        first_position = int(np.flatnonzero((text == text.iloc[position]).to_numpy(bool))[0])
        raise first_problem(
            repeated,
            table_file=table.file,
            rows=rows,
            column=name,
            series=series,
            problem=f"duplicate {name}: rows {rows[first_position]} and {rows[position]} have the same id",
            fix=f"make every {name} unique, or delete the repeated row",
        )
    return text.reset_index(drop=True).astype("str")


def optional_text(table: Table, header: str | None) -> pd.Series:
    """An optional text column: stripped text, ``None`` where blank or absent."""
    n = len(table.frame)
    if header is None:
        return pd.Series([None] * n, dtype=object)
    text = cell_text(table.frame[header]).to_numpy(object)
    return pd.Series([t if t else None for t in text], dtype=object)


def text_with_default(table: Table, header: str | None, default) -> pd.Series:
    """A text column whose blank cells take ``default`` (a value or a Series)."""
    n = len(table.frame)
    default = (
        pd.Series(default, index=range(n), dtype="str")
        if not isinstance(default, pd.Series)
        else default
    )
    if header is None:
        return default.reset_index(drop=True).astype("str")
    text = cell_text(table.frame[header]).reset_index(drop=True)
    return text.where(text != "", default.reset_index(drop=True)).astype("str")


def coordinate_columns(table: Table, found: dict[str, str], geometry: str, *,
                       blank_ok: bool = False) -> dict[str, np.ndarray]:
    """Parse the two coordinate columns; for lat/lon check the ranges and spot swaps.

    Blank cells (and absent columns) are NaN for ``geometry="none"`` and with
    ``blank_ok`` (rows the loader then places by ZIP code, data/places.py).
    """
    first, second = coordinate_names(geometry)
    rows = row_numbers(table.frame)
    if (geometry == "none" or blank_ok) and not (first in found and second in found):
        return {name: np.full(len(table.frame), np.nan) for name in (first, second)}
    values = {
        name: number_column(
            table.frame[found[name]],
            file=table.file,
            rows=rows,
            column=name,
            required=geometry != "none" and not blank_ok,
            allow_negative=True,
            what=f"the {name} coordinate (decimal degrees)"
            if geometry != "planar"
            else f"the {name} coordinate",
        )
        for name in (first, second)
    }
    if geometry != "planar":
        lat, lon = values["lat"], values["lon"]
        bad_lat = np.abs(lat) > 90
        swapped = bad_lat & (np.abs(lat) <= 180) & (np.abs(lon) <= 90)
        checks = [
            (
                "lat",
                swapped,
                "latitude outside -90..90; it looks like longitude (the lon cell is {lon}): lat and lon seem swapped",
                "swap the lat and lon values (or the two column headers)",
            ),
            (
                "lat",
                bad_lat,
                "latitude outside -90..90",
                "enter the latitude in decimal degrees between -90 and 90",
            ),
            (
                "lon",
                np.abs(lon) > 180,
                "longitude outside -180..180",
                "enter the longitude in decimal degrees between -180 and 180",
            ),
        ]
        for name, bad, problem, fix in checks:
            if bad.any():
                position = int(np.flatnonzero(bad)[0])
                problem = problem.format(lon=repr(raw_value(table.frame[found["lon"]], position)))
                raise first_problem(
                    bad,
                    table_file=table.file,
                    rows=rows,
                    column=name,
                    series=table.frame[found[name]],
                    problem=problem,
                    fix=fix,
                )
    return values


def extra_columns(
    table: Table, found: dict[str, str], reserved: Iterable[str]
) -> dict[str, pd.Series]:
    """Every column the loader does not know, numbers as float, in file order."""
    used = set(found.values()) | {ROW}
    reserved = set(reserved)
    extras = {}
    for header in table.frame.columns:
        if header in used:
            continue
        if header in reserved:
            raise InputError(
                f"the column name '{header}' is used by the planner for a computed column",
                file=table.file,
                row=table.header_row,
                column=str(header),
                fix="rename the column",
            )
        if is_id_header(header):  # a CRM's record id stays text, digits and all (1234567890123456789)
            text = cell_text(table.frame[header]).reset_index(drop=True)
            extras[str(header)] = text.astype(object).where(text != "", None)
        else:
            extras[str(header)] = extra_column(table.frame[header]).reset_index(drop=True)
    return extras


def is_id_header(header) -> bool:
    """Whether an extra column holds ids, read as text: ``crm_id`` and ``…_id``.

    >>> is_id_header("crm_id"), is_id_header("territory_association_id"), is_id_header("revenue")
    (True, True, False)
    """
    key = str(header).strip().lower()
    return key == "id" or key.endswith("_id")
