"""Atomic, Excel-safe file writing.

Every file the product writes goes through here: content is written to a temporary file
in the target folder and renamed over the target, so a crash never leaves half a plan.
CSV cells that Excel would read as a formula are escaped (CSV injection, OWASP).
"""

from __future__ import annotations

import json
import math
import os
import re
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


def check_output_folder(out_dir: str | Path) -> Path:
    """Refuse an output folder the product must not replace; call it before long work.

    Refused, with the fix named: a file; the current folder or one holding it; a run of
    the run store (a folder with ``run.json``, or any folder beside a ``runs.sqlite``:
    stored runs never change); a folder holding files this program did not write.
    """
    out = Path(out_dir)
    where = out.resolve()
    here = Path.cwd().resolve()
    if where == here or where in here.parents:
        raise InputError("the output folder is the folder you are working in, or holds it; it would be replaced",
                         file=out, fix="name a new folder below it, e.g. out/plan")
    if where.exists() and not where.is_dir():
        raise InputError("the output path is a file, not a folder", file=out, fix="name a folder, e.g. out/plan")
    if (where / "run.json").exists() or (where.parent / "runs.sqlite").exists():
        raise InputError("the output folder is a run of the run store, and stored runs never change", file=out,
                         fix="write the output elsewhere, e.g. out/<name>; 'runs show ID' says where a run is")
    names = {p.name for p in where.iterdir()} if where.is_dir() else set()
    # A plan folder an earlier version wrote (before the mark) is the program's too.
    ours = FOLDER_MARK in names or {"summary.json", "assignments.csv", "territories.csv"} <= names
    if names and not ours:
        raise InputError("the output folder exists and holds files this program did not write; they are left "
                         "as they are", file=out, fix="choose a new or empty folder for the output")
    return out


def _stale(parent: Path, name: str) -> list[Path]:
    """The temporary folders a killed write of folder ``name`` left in ``parent``."""
    pattern = re.compile(rf"^\.{re.escape(name)}\.([A-Za-z0-9_]{{8}}|\d+\.old)\.tmp$")
    return [p for p in parent.iterdir() if pattern.match(p.name)] if parent.is_dir() else []


def write_folder(out_dir: str | Path, files: dict[str, str | bytes], *, pause_between: float = 0.0,
                 check: bool = True) -> dict[str, Path]:
    """Write ``files`` (name → text or bytes) as the whole of folder ``out_dir``, atomically.

    The files are written into a hidden temporary folder beside ``out_dir`` and then
    renamed into place, so at any moment ``out_dir`` holds the whole set or is as it was: a
    kill between two files leaves only the temporary folder (hidden, removed by the next
    write). A folder this function wrote before is replaced whole; what
    :func:`check_output_folder` refuses (a folder with other files, a stored run, the
    current folder) is never touched (``check=False``: the run store, which reserved the
    folder itself). ``pause_between`` (seconds) sleeps between files: tests use it to kill
    a write half-way.
    """
    import shutil
    import time

    if check:
        check_output_folder(out_dir)
    out = Path(out_dir)
    target = out.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in _stale(target.parent, target.name):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        for index, (name, content) in enumerate(files.items()):
            if index and pause_between:
                time.sleep(pause_between)
            atomic_write_bytes(tmp / name, content.encode("utf-8") if isinstance(content, str) else content)
        atomic_write_text(tmp / FOLDER_MARK, "written whole by territory_planner; do not edit files here by hand\n")
        if target.exists():
            old = target.parent / f".{target.name}.{os.getpid()}.old.tmp"
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(f"the output folder could not be written ({exc.strerror or exc})", file=out,
                         fix="check that the folder is writable and not in use, or choose another") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {name: out / name for name in files}
