"""Atomic, Excel-safe file writing.

Every file the product writes goes through here: content is written to a temporary file
in the target folder and renamed over the target, so a crash never leaves half a plan.
CSV cells that Excel would read as a formula are escaped (CSV injection, OWASP).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from territory_planner.errors import InputError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def excel_safe(value):
    """Escape a text cell that Excel or Sheets would run as a formula.

    >>> excel_safe("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> excel_safe("-5"), excel_safe(-5), excel_safe("Acme")
    ("'-5", -5, 'Acme')
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells are Excel-safe (numbers stay numbers)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(excel_safe)
    out.columns = [excel_safe(c) for c in out.columns]
    return out


def csv_text(df: pd.DataFrame, *, columns: Iterable[str] | None = None) -> str:
    """A DataFrame as Excel-safe CSV text (RFC 4180 CRLF rows), what :func:`write_csv` writes."""
    frame = df if columns is None else df[[c for c in columns if c in df.columns]]
    # CRLF, not "\n": the csv writer only quotes cells holding a line-terminator character,
    # so with "\n" a bare CR in a cell went unquoted and split the row for Excel and pandas,
    # starting a new row with the text after the CR (an unescaped "=..." formula).
    return safe_frame(frame).to_csv(index=False, lineterminator="\r\n")


def write_csv(df: pd.DataFrame, path: str | Path, *, columns: Iterable[str] | None = None) -> Path:
    """Write a DataFrame as an Excel-safe UTF-8 CSV (RFC 4180 CRLF rows), atomically."""
    return atomic_write_text(path, csv_text(df, columns=columns))


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _finite(o):
    """JSON has no inf/NaN: write them as null."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_finite(v) for v in o]
    return o


def json_text(obj) -> str:
    """``obj`` as the JSON text :func:`write_json` writes (inf/NaN as null)."""
    return json.dumps(_finite(obj), indent=2, default=_json_default, ensure_ascii=False) + "\n"


def write_json(obj, path: str | Path) -> Path:
    return atomic_write_text(path, json_text(obj))


#: The file that marks a folder as one the product wrote whole (a plan, a run, a comparison).
FOLDER_MARK = ".territory_planner"


def write_folder(out_dir: str | Path, files: dict[str, str | bytes], *, pause_between: float = 0.0) -> dict[str, Path]:
    """Write ``files`` (name → text or bytes) as the whole of folder ``out_dir``, atomically.

    The files are written into a hidden temporary folder beside ``out_dir`` and then
    renamed into place, so at any moment ``out_dir`` holds the whole set or is as it was: a
    kill between two files leaves only the temporary folder (hidden, removed by the next
    write). A folder this function wrote before is replaced whole; a folder with other
    files in it is never touched (an :class:`InputError` naming it). ``pause_between``
    (seconds) sleeps between files: tests use it to kill a write half-way.
    """
    import shutil
    import time

    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / FOLDER_MARK).exists())):
        raise InputError("the output folder exists and holds files this program did not write; they are left "
                         "as they are", file=out, fix="choose a new or empty folder for the output")
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}.*.tmp"):  # left by a write that was killed
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        for index, (name, content) in enumerate(files.items()):
            if index and pause_between:
                time.sleep(pause_between)
            atomic_write_bytes(tmp / name, content.encode("utf-8") if isinstance(content, str) else content)
        atomic_write_text(tmp / FOLDER_MARK, "written whole by territory_planner; do not edit files here by hand\n")
        if out.exists():
            old = out.parent / f".{out.name}.{os.getpid()}.old.tmp"
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {name: out / name for name in files}
