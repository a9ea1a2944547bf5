"""Reading planners' files: the first step of the flow file → validated frame.

Every supported format comes back as a DataFrame plus a ``_row`` column: the row a
planner sees when opening the file (CSV and Excel: the sheet row, header = row 1;
Parquet, GeoJSON and GeoPackage: the 1-based record number). CSV and Excel cells come
back as raw text (``""`` for a blank cell) so that validation sees what the planner
typed; Parquet and geographic formats keep their stored types. Matching the headers and
checking the cells is the next step, :mod:`territory_planner.data.columns`.

Nothing from an input file is ever evaluated: no ``eval``, no pickle, no Excel formulas
(openpyxl returns the values Excel cached when it saved the file).

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
>>> _ = p.write_text("id,zip\\nA,02134\\n")
>>> read_table(p).to_dict("records")
[{'id': 'A', 'zip': '02134', '_row': 2}]
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from territory_planner.errors import InputError

ROW = "_row"
SUPPORTED = {
    ".csv": "CSV",
    ".xlsx": "Excel",
    ".parquet": "Parquet",
    ".geojson": "GeoJSON",
    ".gpkg": "GeoPackage",
}
GEO_SUFFIXES = {".geojson", ".gpkg"}


@dataclass(frozen=True)
class Table:
    """A file as read: the frame (with ``_row``), where its header is, and its path."""

    frame: pd.DataFrame
    file: str
    header_row: int | None  # the row a planner sees the header on; None for Parquet/geo


def read_table(path) -> pd.DataFrame:
    """Read a CSV, Excel (.xlsx), Parquet, GeoJSON or GeoPackage file.

    Returns the cells as stored plus a final ``_row`` column (see the module docstring).
    GeoJSON and GeoPackage come back as a GeoDataFrame with their geometry column.
    Raises :class:`InputError` for a missing file, an unsupported extension, an empty
    file or one with a header but no rows, and a CSV that is not UTF-8.
    """
    return read(path).frame


def read(path) -> Table:
    """:func:`read_table` that also says where the header is (for error messages)."""
    path = Path(path)
    file = str(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        kinds = ", ".join(f"{ext} ({name})" for ext, name in SUPPORTED.items())
        hint = " (save the workbook as .xlsx)" if suffix in {".xls", ".xlsm", ".ods"} else ""
        raise InputError(
            f"unsupported file type '{path.suffix or '(none)'}'",
            file=file,
            fix=f"use one of {kinds}{hint}",
        )
    if not path.exists():
        raise InputError(
            "file not found",
            file=file,
            fix="check the path; paths in a scenario are relative to the scenario file",
        )
    if path.is_dir():
        raise InputError(
            "is a folder, not a file", file=file, fix="point to the data file inside it"
        )
    if path.stat().st_size == 0:
        raise InputError(
            "the file is empty",
            file=file,
            fix="export the table again with a header row and data rows",
        )
    if suffix == ".csv":
        frame, header_row = _read_csv(path, file), 1
    elif suffix == ".xlsx":
        frame, header_row = _read_excel(path, file)
    elif suffix == ".parquet":
        frame, header_row = _read_parquet(path, file), None
    else:
        frame, header_row = _read_geo(path, file), None
    if len(frame) == 0:
        raise InputError(
            "the file has a header but no data rows",
            file=file,
            row=header_row,
            fix="export the table again including its rows",
        )
    if not frame.columns.is_unique:
        dup = frame.columns[frame.columns.duplicated()][0]
        raise InputError(
            "the column name appears twice in the header",
            file=file,
            row=header_row,
            column=str(dup),
            fix="rename or delete one of the two columns",
        )
    return Table(frame, file, header_row)


# --- CSV -----------------------------------------------------------------------------


def _read_csv(path: Path, file: str) -> pd.DataFrame:
    text = _decode_utf8(path.read_bytes(), file)
    if not text.strip():
        raise InputError(
            "the file is empty",
            file=file,
            fix="export the table again with a header row and data rows",
        )
    first_line = text.split("\n", 1)[0]
    # European Excel writes ';'-separated "CSV"; pick the separator the header uses most.
    delimiter = max([",", ";", "\t"], key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    header = [h.strip() for h in next(reader)]
    width = len(header)
    rows: list[list[str]] = []
    numbers: list[int] = []
    # Row numbers count records, as Excel shows the file: a quoted cell spanning two
    # lines is still one row, and a blank line is a row of its own.
    for number, record in enumerate(reader, start=2):
        if len(record) > width and "".join(record[width:]).strip():
            raise InputError(
                f"the row has {len(record)} cells but the header has {width} columns",
                file=file,
                row=number,
                value=delimiter.join(record[width:]),
                fix="remove the extra cells, or quote cells that contain the separator "
                f"'{delimiter}' with double quotes",
            )
        if len(record) != width:
            record = record[:width] + [""] * (width - len(record))
        if "".join(record).strip():  # skip rows with nothing in them, keep their numbers
            rows.append(record)
            numbers.append(number)
    return _frame_from_text(header, rows, numbers, file, header_row=1)


def _decode_utf8(data: bytes, file: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            "the file is UTF-16 text, not UTF-8",
            file=file,
            row=1,
            fix="save it as UTF-8 (in Excel: Save As → 'CSV UTF-8 (Comma delimited)')",
        )
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0  # the byte order mark Excel writes
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as err:
        raise _encoding_error(data, bom, err.start + bom, file) from None


def _encoding_error(data: bytes, bom: int, offset: int, file: str) -> InputError:
    """Say where the first non-UTF-8 byte is: byte offset, line, and the row and column."""
    line = data.count(b"\n", 0, offset) + 1
    byte = data[offset]
    # Undecodable bytes become lone surrogates; parse as CSV to find the row and column.
    text = data[bom:].decode("utf-8", errors="surrogateescape")
    first_line = text.split("\n", 1)[0]
    delimiter = max([",", ";", "\t"], key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    row, column, cell = line, None, ""
    header: list[str] = []
    for number, record in enumerate(reader, start=1):
        if number == 1:
            header = [h.strip() for h in record]
        bad = [i for i, c in enumerate(record) if re.search("[\udc80-\udcff]", c)]
        if bad:
            row, cell = number, record[bad[0]]
            if number > 1 and bad[0] < len(header):
                column = header[bad[0]]
            break
    as_1252 = cell.encode("utf-8", errors="surrogateescape").decode("cp1252", errors="replace")
    return InputError(
        f"the file is not UTF-8 text: byte 0x{byte:02x} at byte offset {offset} (line {line}); "
        "it looks like Windows-1252 / Latin-1 text",
        file=file,
        row=row,
        column=column,
        value=as_1252 or None,
        fix="save the file as UTF-8 (in Excel: Save As → 'CSV UTF-8 (Comma delimited)'; "
        "in a text editor: Save with encoding UTF-8)",
    )


# --- Excel ---------------------------------------------------------------------------


def _read_excel(path: Path, file: str) -> tuple[pd.DataFrame, int]:
    import openpyxl

    try:
        # data_only: the values Excel cached, never a formula to evaluate.
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many types for a damaged workbook
        raise InputError(
            f"cannot read the Excel workbook ({type(err).__name__}: {err})",
            file=file,
            fix="open it in Excel and save it again as .xlsx",
        ) from None
    try:
        sheet = book.worksheets[0]
        header: list[str] | None = None
        header_row = 1
        rows: list[list[str]] = []
        numbers: list[int] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_excel_text(v) for v in values]
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header, header_row = [c.strip() for c in cells], number
                while header and not header[-1]:
                    header.pop()
                continue
            width = len(header)
            if any(c.strip() for c in cells[width:]):
                raise InputError(
                    "the row has cells to the right of the last column with a header",
                    file=file,
                    row=number,
                    value=" | ".join(c for c in cells[width:] if c.strip()),
                    fix="give that column a header or delete the stray cells"
                    + (
                        f"; the header must be the first non-empty row of the first sheet "
                        f"(row {header_row} is taken as the header): delete title rows above it"
                        if not rows
                        else ""
                    ),
                )
            rows.append(cells[:width] + [""] * (width - len(cells)))
            numbers.append(number)
    finally:
        book.close()
    if header is None:
        raise InputError(
            "the first sheet of the workbook is empty",
            file=file,
            fix="put the table on the first sheet",
        )
    return _frame_from_text(header, rows, numbers, file, header_row=header_row), header_row


def _excel_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _frame_from_text(header, rows, numbers, file, *, header_row) -> pd.DataFrame:
    for position, name in enumerate(header):
        if not name and any(r[position].strip() for r in rows):
            raise InputError(
                f"column {position + 1} has values but no header",
                file=file,
                row=header_row,
                fix="give the column a name in the header row, or delete it",
            )
    keep = [i for i, name in enumerate(header) if name]
    frame = pd.DataFrame({header[i]: pd.Series([r[i] for r in rows], dtype="str") for i in keep})
    if len(set(header[i] for i in keep)) != len(keep):
        seen: set[str] = set()
        for i in keep:
            if header[i] in seen:
                raise InputError(
                    "the column name appears twice in the header",
                    file=file,
                    row=header_row,
                    column=header[i],
                    fix="rename or delete one of the two columns",
                )
            seen.add(header[i])
    return _with_rows(frame, numbers, file, header_row)


# --- Parquet and geographic formats -----------------------------------------------------


def _read_parquet(path: Path, file: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(path)
    except Exception as err:  # pyarrow raises ArrowInvalid, OSError, ...
        raise InputError(
            f"cannot read the Parquet file ({type(err).__name__}: {err})",
            file=file,
            fix="write it again with pandas.DataFrame.to_parquet or pyarrow",
        ) from None
    # ignore_metadata: an index the writer set (e.g. account_id) comes back as a column.
    frame = arrow.to_pandas(ignore_metadata=True)
    frame = frame.drop(
        columns=[c for c in frame.columns if re.fullmatch(r"__index_level_\d+__", str(c))]
    )
    frame.columns = [str(c).strip() for c in frame.columns]
    return _with_rows(frame, np.arange(1, len(frame) + 1), file, None)


def _read_geo(path: Path, file: str) -> pd.DataFrame:
    import geopandas as gpd

    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as err:  # pyogrio.errors.DataSourceError and friends
        raise InputError(
            f"cannot read the file ({type(err).__name__}: {err})",
            file=file,
            fix="check it opens in QGIS, or export the table as CSV",
        ) from None
    frame = frame.reset_index(drop=True)
    frame = frame.rename(
        columns={c: str(c).strip() for c in frame.columns if c != frame.geometry.name}
    )
    return _with_rows(frame, np.arange(1, len(frame) + 1), file, None)


def _with_rows(frame: pd.DataFrame, numbers, file: str, header_row: int | None) -> pd.DataFrame:
    if ROW in frame.columns:
        raise InputError(
            f"the column name '{ROW}' is reserved for the row numbers the planner reports",
            file=file,
            row=header_row,
            column=ROW,
            fix="rename the column",
        )
    frame[ROW] = np.asarray(numbers, dtype="int64")
    return frame
