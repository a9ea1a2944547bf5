"""Reading planners' files: the first step of the flow file → validated frame.

Every supported format comes back as a DataFrame plus a ``_row`` column: the row a
planner sees when opening the file (CSV and Excel: the sheet row, header = row 1;
Parquet, GeoJSON and GeoPackage: the 1-based record number). CSV and Excel cells come
back as raw text (``""`` for a blank cell) so that validation sees what the planner
typed; Parquet and geographic formats keep their stored types. Matching the headers and
checking the cells is the next step, :mod:`territory_planner.data.columns`.

Files as CRMs and spreadsheets export them are read as they are: UTF-8 with or without
a byte order mark, or Windows-1252 (cp1252, a superset of Latin-1's printable characters)
when the bytes are not UTF-8; ',', ';', tab or '|' as the separator, whichever splits the
header and the first rows evenly; in a ';'-separated file, numbers as European Excel
writes them, a decimal comma and '.' between thousands ("1.234,56", "40,7128", "12.500"),
see :func:`european_numbers`; blank rows skipped. What was guessed is said in
:attr:`Table.notes`. An Excel table may start on any sheet and row
(``sheet``, ``header_row``).

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
import difflib
import io
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    notes: tuple[str, ...] = ()  # how the file was read, where it was guessed (encoding, decimal commas)
    mapped: Mapping[str, str] = field(default_factory=dict)  # planner's column → the file's header (columns:)


def read_table(path) -> pd.DataFrame:
    """Read a CSV, Excel (.xlsx), Parquet, GeoJSON or GeoPackage file.

    Returns the cells as stored plus a final ``_row`` column (see the module docstring).
    GeoJSON and GeoPackage come back as a GeoDataFrame with their geometry column.
    Raises :class:`InputError` for a missing file, an unsupported extension, an empty
    file or one with a header but no rows, and a CSV that is not UTF-8.
    """
    return read(path).frame


def read(path, *, sheet: str | int | None = None, header_row: int | None = None) -> Table:
    """:func:`read_table` that also says where the header is (for error messages).

    ``sheet``: an Excel sheet's name or number (1 = the first; default the first).
    ``header_row``: the row the header is on (1-based; CSV and Excel), rows above it
    skipped; by default a CSV's first row and an Excel sheet's first non-empty row.
    """
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
    if sheet is not None and suffix != ".xlsx":
        raise InputError(f"a sheet ({sheet!r}) is given, but the file is {SUPPORTED[suffix]}, not an Excel workbook",
                         file=file, fix="remove 'sheet:' from the scenario, or point 'file:' to the .xlsx workbook")
    if header_row is not None and suffix not in (".csv", ".xlsx"):
        raise InputError(f"a header_row ({header_row}) is given, but a {SUPPORTED[suffix]} file has no header rows",
                         file=file, fix="remove 'header_row:' from the scenario")
    notes: tuple[str, ...] = ()
    if suffix == ".csv":
        frame, notes = _read_csv(path, file, header_row or 1)
        header_row = header_row or 1
    elif suffix == ".xlsx":
        frame, header_row = _read_excel(path, file, sheet, header_row)
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
        raise _duplicate_header([str(c) for c in frame.columns], file, header_row)
    return Table(frame, file, header_row, notes)


def column_letter(position: int) -> str:
    """Excel's name of the 1-based column ``position``: 1 → A, 27 → AA.

    >>> column_letter(1), column_letter(26), column_letter(28)
    ('A', 'Z', 'AB')
    """
    letters = ""
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _duplicate_header(header: list[str], file: str, header_row: int | None) -> InputError:
    """Name the first repeated header and both of its positions (1-based, and Excel's letters)."""
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name and name in seen:
            first = seen[name]
            return InputError(
                f"columns {first} ({column_letter(first)}) and {position} ({column_letter(position)}) "
                f"are both named '{name}'",
                file=file,
                row=header_row,
                column=name,
                fix=f"rename one of the two in the file (e.g. '{name} 2') or delete it; "
                "a scenario's column mapping cannot tell two columns of one name apart",
            )
        seen.setdefault(name, position)
    raise AssertionError("no repeated header")  # pragma: no cover - callers check first


# --- CSV -----------------------------------------------------------------------------


DELIMITERS = (",", ";", "\t", "|")
# A number as European Excel writes it: "1234,56", "1.234,56", "-0,5", "1.234.567".
DECIMAL_COMMA = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?")
# The same, read strictly: a thousands group never starts with 0 ("0.500" is a decimal point).
EUROPEAN = re.compile(r"[+-]?(?:[1-9]\d{0,2}(?:\.\d{3})+|\d+)(?:,\d+)?")
# A number with a decimal point, as Python writes it: "1234.5", "-0.25", ".5", "1e6".
POINT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
# Dots between thousands and nothing else: "1.234", "-12.500.000".
GROUPED = re.compile(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+")
# A header naming record ids ("Id", "Account ID", "owner_id", "OwnerId"): their cells are text.
ID_HEADER = re.compile(r"(?:^|[\s_\-])[iI][dD]$|[a-z]Id$")


def sniff_delimiter(text: str, header_row: int = 1) -> str:
    r"""The separator of a CSV text: of ',', ';', tab and '|', the one that splits the
    header into more than one cell and the first 50 rows below it into as many; among
    those, the one giving the most cells.

    ``csv.Sniffer`` guesses from character frequencies and is easily misled by commas in
    names ("Acme, Inc.") or decimal commas; this counts cells the way the reader will.
    Ties go to ','.

    >>> sniff_delimiter("id;name;potential\nA1;Acme, Inc.;1234,5\n")
    ';'
    >>> sniff_delimiter('id,name\nA1,"x;y"\n'), sniff_delimiter("id\tname\nA1\tAcme\n")
    (',', '\t')
    """

    def score(delimiter: str) -> tuple[bool, float, int]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
        records = [r for r in itertools.islice(reader, header_row - 1, header_row + 49) if "".join(r).strip()]
        if not records:
            return (False, 0.0, 0)
        width = len(records[0])
        even = sum(len(r) == width for r in records[1:]) / max(len(records) - 1, 1)
        return (width > 1, even, width)

    return max(DELIMITERS, key=score)  # max keeps the first of equal scores: ',' before ';'


def _read_csv(path: Path, file: str, header_row: int = 1) -> tuple[pd.DataFrame, tuple[str, ...]]:
    text, notes = _decode(path.read_bytes(), file)
    if not text.strip():
        raise InputError(
            "the file is empty",
            file=file,
            fix="export the table again with a header row and data rows",
        )
    delimiter = sniff_delimiter(text, header_row)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    for _ in range(header_row - 1):  # title lines above the header
        next(reader, None)
    header = next(reader, None)
    if header is None or not "".join(header).strip():
        raise InputError(
            f"the header row {header_row} is {'past the end of the file' if header is None else 'empty'}",
            file=file,
            row=header_row,
            fix="set header_row: to the row that holds the column names (1 = the first line)",
        )
    header = [h.strip() for h in header]
    width = len(header)
    rows: list[list[str]] = []
    numbers: list[int] = []
    # Row numbers count records, as Excel shows the file: a quoted cell spanning two
    # lines is still one row, and a blank line is a row of its own.
    for number, record in enumerate(reader, start=header_row + 1):
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
    if delimiter != ",":
        notes = (*notes, f"{Path(file).name}: read as {_DELIMITER_NAMES[delimiter]}-separated")
    if delimiter == ";":
        notes = (*notes, *european_numbers(header, rows, numbers, file))
    return _frame_from_text(header, rows, numbers, file, header_row=header_row), notes


_DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}


def european_numbers(header: list[str], rows: list[list[str]], numbers: list[int], file: str) -> tuple[str, ...]:
    """Rewrite, in place, the number columns of a ';'-separated file that European Excel
    wrote ("1.234,56" → "1234.56", "12.500" → "12500"); the notes say which and how.

    A column is a number column when every non-blank cell is a number read one way or
    the other. Each cell tells what it can: a decimal comma ("1,5") or several dot groups
    ("1.200.000") only the European way; a decimal point that cannot group thousands
    ("41.5", "0.500", "1234.5") only as written; "1.234" and plain digits either. So:

    * a European cell and no written-as-is one: the column is European, dots group
      thousands (``1.234`` and ``1,5`` are 1234 and 1.5);
    * a written-as-is cell and no European one: kept as written (``1.234`` and ``0.5``
      are 1.234 and 0.5); a note names the column when some cell looked grouped;
    * neither: a cell like ``1.234`` is a thousands dot (';' is the European
      separator), unless the column also has a whole number of four digits or more
      written without one ("12500"), which a writer grouping thousands would have
      grouped: that column is refused, listing its cells.

    A column with cells of both kinds, or any text, is left as written (the loader then
    says which cell is not a number). Headers naming ids (``Id``, ``…_id``) are text.
    Returns the notes.
    """
    name = Path(file).name
    commas, grouped, as_written = [], [], []
    for position, column in enumerate(header):
        if not column or ID_HEADER.search(column.strip()):
            continue
        cells = [(number, r[position].strip()) for number, r in zip(numbers, rows, strict=True) if r[position].strip()]
        european = [EUROPEAN.fullmatch(c) is not None for _, c in cells]
        point = [POINT.fullmatch(c) is not None for _, c in cells]
        if not cells or not all(e or p for e, p in zip(european, point, strict=True)):
            continue  # text, or blank
        only_european = any(e and not p for e, p in zip(european, point, strict=True))
        only_point = any(p and not e for e, p in zip(european, point, strict=True))
        looks_grouped = [(number, c) for number, c in cells if GROUPED.fullmatch(c)]
        if only_european and only_point:
            continue
        if only_point:
            if looks_grouped:
                as_written.append(column)
            continue
        if not only_european:
            if not looks_grouped:
                continue  # whole numbers: nothing to read
            ungrouped = [(number, c) for number, c in cells if re.fullmatch(r"[+-]?\d{4,}", c)]
            if ungrouped:
                raise _ambiguous_thousands(file, column, looks_grouped, ungrouped)
        for r in rows:
            r[position] = decimal_comma_to_point(r[position])
        if any("," in c for _, c in cells):
            commas.append(column)
        if any("." in c for _, c in cells):
            grouped.append(column)
    notes = []
    if commas:
        notes.append(f"{name}: decimal commas read as decimal points in {', '.join(commas)}")
    if grouped:
        notes.append(f"{name}: '.' read as a thousands separator (1.234 = 1234) in {', '.join(grouped)}")
    if as_written:
        notes.append(f"{name}: '.' read as a decimal point (1.234 = 1.234) in {', '.join(as_written)}: other cells "
                     "of the column have decimal points that cannot group thousands")
    return tuple(notes)


def _ambiguous_thousands(file: str, column: str, grouped, ungrouped) -> InputError:
    """A column where '1.234' may be 1234 or 1.234: some cells look grouped, others are not."""
    def cells(pairs):
        shown = ", ".join(f"row {number} ('{c}')" for number, c in pairs[:5])
        return shown + (f" and {len(pairs) - 5:,} more" if len(pairs) > 5 else "")

    return InputError(
        f"cannot tell how the numbers of this column are written: {cells(grouped)} may have a '.' between thousands "
        f"(1.234 = 1234) or a decimal point (1.234), and {cells(ungrouped)} "
        f"{'has' if len(ungrouped) == 1 else 'have'} no '.' between thousands",
        file=file, row=grouped[0][0], column=column, value=grouped[0][1],
        fix="write the column's numbers one way: with a decimal comma and no '.' (1234 and 1,234), or with '.' "
            "between thousands in every number of four digits or more (1.234 and 12.500); or delete the column "
            "from the file if the plan does not read it",
    )


def decimal_comma_to_point(text: str) -> str:
    """A number written with a decimal comma, as Python writes it; other text unchanged.

    >>> decimal_comma_to_point("1.234,56"), decimal_comma_to_point(" -0,5 "), decimal_comma_to_point("n/a")
    ('1234.56', '-0.5', 'n/a')
    """
    cell = text.strip()
    if not DECIMAL_COMMA.fullmatch(cell):
        return text
    return cell.replace(".", "").replace(",", ".")


def _decode(data: bytes, file: str) -> tuple[str, tuple[str, ...]]:
    """The file's text: UTF-8 (a byte order mark dropped), else Windows-1252, said in a note."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            "the file is UTF-16 text, not UTF-8",
            file=file,
            row=1,
            fix="save it as UTF-8 (in Excel: Save As → 'CSV UTF-8 (Comma delimited)')",
        )
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0  # the byte order mark Excel writes
    try:
        return data[bom:].decode("utf-8"), ()
    except UnicodeDecodeError as err:
        offset = err.start + bom
    # Excel's "CSV (Comma delimited)" on Windows writes the ANSI code page, cp1252 in the
    # West. A file that also holds valid multi-byte UTF-8 mixes two encodings: refuse it,
    # since reading it either way garbles some names.
    as_utf8 = data[bom:].decode("utf-8", errors="surrogateescape")
    if re.search("[^\x00-\x7f\udc80-\udcff]", as_utf8):
        raise _encoding_error(data, bom, offset, file, guess="it mixes UTF-8 with another encoding "
                                                             "(e.g. rows pasted from another file)")
    try:
        text = data[bom:].decode("cp1252")
    except UnicodeDecodeError:
        raise _encoding_error(data, bom, offset, file, guess="nor Windows-1252 / Latin-1 text") from None
    return text, (f"{Path(file).name}: read as Windows-1252 (cp1252) text, not UTF-8",)


def _encoding_error(data: bytes, bom: int, offset: int, file: str, *, guess: str) -> InputError:
    """Say where the first non-UTF-8 byte is: byte offset, line, and the row and column."""
    line = data.count(b"\n", 0, offset) + 1
    byte = data[offset]
    # Undecodable bytes become lone surrogates; parse as CSV to find the row and column.
    text = data[bom:].decode("utf-8", errors="surrogateescape")
    delimiter = sniff_delimiter(text)
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
        f"the file is not UTF-8 text: byte 0x{byte:02x} at byte offset {offset} (line {line}); {guess}",
        file=file,
        row=row,
        column=column,
        value=as_1252 or None,
        fix="save the file as UTF-8 (in Excel: Save As → 'CSV UTF-8 (Comma delimited)'; "
        "in a text editor: Save with encoding UTF-8)",
    )


# --- Excel ---------------------------------------------------------------------------


def _read_excel(path: Path, file: str, sheet_ref: str | int | None = None,
                header_at: int | None = None) -> tuple[pd.DataFrame, int]:
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
        sheet = _worksheet(book, sheet_ref, file)
        where = "the first sheet" if sheet_ref is None else f"sheet '{sheet.title}'"
        header: list[str] | None = None
        header_row = header_at or 1
        rows: list[list[str]] = []
        numbers: list[int] = []
        for number, values in enumerate(sheet.iter_rows(min_row=header_at or 1, values_only=True),
                                        start=header_at or 1):
            cells = [_excel_text(v) for v in values]
            if not any(c.strip() for c in cells):
                if header_at is not None and number == header_at:
                    raise InputError(f"row {header_at} of {where} is empty, but header_row says the header is on it",
                                     file=file, row=header_at,
                                     fix="set header_row: to the row that holds the column names")
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
                        f"; the header is the first non-empty row of {where} "
                        f"(row {header_row} is taken as the header): delete title rows above it, "
                        "or set header_row: in the scenario"
                        if not rows and header_at is None
                        else ""
                    ),
                )
            rows.append(cells[:width] + [""] * (width - len(cells)))
            numbers.append(number)
    finally:
        book.close()
    if header is None:
        raise InputError(
            f"{where} of the workbook is empty" + (f" from row {header_at} on" if header_at else ""),
            file=file,
            row=header_at,
            fix="set header_row: to the row that holds the column names" if header_at
            else "put the table on the first sheet, or name its sheet with sheet: in the scenario",
        )
    return _frame_from_text(header, rows, numbers, file, header_row=header_row), header_row


def _worksheet(book, ref: str | int | None, file: str):
    """The sheet a scenario names: None the first, a number counted from 1, or a name."""
    names = book.sheetnames
    listed = ", ".join(f"'{n}'" for n in names)
    if ref is None:
        return book.worksheets[0]
    if isinstance(ref, int) and str(ref) in names and not 1 <= ref <= len(names):
        return book[str(ref)]  # a sheet named "2026", which YAML reads as a number
    if isinstance(ref, int):
        if 1 <= ref <= len(names):
            return book.worksheets[ref - 1]
        raise InputError(f"the workbook has no sheet {ref}: it has {len(names)} sheet{'s' * (len(names) > 1)}",
                         file=file, value=ref, fix=f"give a number from 1 to {len(names)}, or a name: {listed}")
    if ref in names:
        return book[ref]
    same = [n for n in names if n.strip().lower() == str(ref).strip().lower()]
    if len(same) == 1:
        return book[same[0]]
    close = difflib.get_close_matches(str(ref), names, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise InputError(f"the workbook has no sheet named '{ref}'", file=file, value=ref,
                     fix=f"{hint}the workbook's sheets: {listed}")


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
    if len(set(header[i] for i in keep)) != len(keep):
        raise _duplicate_header(header, file, header_row)
    frame = pd.DataFrame({header[i]: pd.Series([r[i] for r in rows], dtype="str") for i in keep})
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
