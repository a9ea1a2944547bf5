"""Atomic, Excel-safe writing: no half-written plan, no formula a spreadsheet would run.

CSV injection (OWASP): a text cell starting with = + - @ tab or CR is run as a formula by
Excel and Sheets, so it gets a leading apostrophe. Numbers are never touched, and the
file reads back with pandas to the same values apart from that apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os

import numpy as np
import pandas as pd
import pytest

from territory_planner.outputs.files import (
    FORMULA_PREFIXES,
    atomic_write_bytes,
    atomic_write_text,
    excel_safe,
    safe_frame,
    write_csv,
    write_json,
)

DANGEROUS = {
    "=": "=HYPERLINK(\"http://evil\",\"x\")",
    "+": "+cmd|' /C calc'!A0",
    "-": "-2+3",
    "@": "@SUM(1)",
    "\t": "\t=1+1",
    "\r": "\r=1+1",
}


def temp_files(folder) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


# --- excel_safe ---------------------------------------------------------------------------------


def test_every_formula_prefix_is_covered():
    assert set(FORMULA_PREFIXES) == set(DANGEROUS)


@pytest.mark.parametrize("text", DANGEROUS.values(), ids=[repr(p) for p in DANGEROUS])
def test_formula_like_text_gets_an_apostrophe(text):
    assert excel_safe(text) == "'" + text


@pytest.mark.parametrize(
    "value", ["Acme", "", "a=b", "x-1", "'=already quoted", " =leading space", "Café Müller"]
)
def test_harmless_text_is_untouched(value):
    assert excel_safe(value) == value


@pytest.mark.parametrize(
    "value", [-5, 0, 3.5, -0.25, np.float64(-1.5), np.int64(-7), True, None, math.nan, math.inf]
)
def test_non_text_is_untouched(value):
    result = excel_safe(value)
    assert result is value or (isinstance(value, float) and math.isnan(value) and math.isnan(result))


# --- write_csv ----------------------------------------------------------------------------------


def sample_frame() -> pd.DataFrame:
    n = len(DANGEROUS)
    return pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n)],
            "name": list(DANGEROUS.values()),
            "note": pd.array(list(DANGEROUS.values()), dtype="string"),  # pandas' string dtype
            "lon": np.linspace(-120.5, -70.25, n),
            "delta": np.arange(n) - 3,  # negative integers
            "mixed": pd.Series(["-5", -5, "ok", None, 2.5, "@x"], dtype=object),
        }
    )


def test_write_csv_escapes_text_and_leaves_numbers(tmp_path):
    frame = sample_frame()
    path = write_csv(frame, tmp_path / "plan.csv")
    raw = path.read_bytes().decode("utf-8")  # read_text would translate a CR inside a cell
    records = list(csv.reader(io.StringIO(raw, newline="")))
    header, rows = records[0], records[1:]
    assert header == list(frame.columns) and len(rows) == len(frame)
    name, note, lon, delta, mixed = (header.index(c) for c in ("name", "note", "lon", "delta", "mixed"))
    for row, text in zip(rows, DANGEROUS.values(), strict=True):
        assert row[name] == "'" + text and row[note] == "'" + text
        assert not row[lon].startswith("'") and float(row[lon]) < 0
        assert not row[delta].startswith("'")
    assert [r[mixed] for r in rows] == ["'-5", "-5", "ok", "", "2.5", "'@x"]
    # Numbers are written bare: no apostrophe, no CSV quotes.
    assert "\nA0," in raw and ",-120.5," in raw and ",-3," in raw


def test_write_csv_round_trips_with_pandas_apart_from_the_escape(tmp_path):
    frame = sample_frame()
    path = write_csv(frame, tmp_path / "plan.csv")
    back = pd.read_csv(path, dtype={"name": str, "note": str, "mixed": str}, keep_default_na=False)
    assert list(back.columns) == list(frame.columns)
    unescape = lambda s: s[1:] if s.startswith("'") else s  # noqa: E731
    assert back["name"].map(unescape).tolist() == frame["name"].tolist()
    assert back["note"].map(unescape).tolist() == frame["note"].tolist()
    np.testing.assert_array_equal(back["lon"].to_numpy(), frame["lon"].to_numpy())
    np.testing.assert_array_equal(back["delta"].to_numpy(), frame["delta"].to_numpy())
    assert back["account_id"].tolist() == frame["account_id"].tolist()


def test_write_csv_escapes_headers_and_keeps_the_frame(tmp_path):
    frame = pd.DataFrame({"=sum": ["a"], "ok": [1.0]})
    raw = write_csv(frame, tmp_path / "x.csv").read_text()
    assert raw.splitlines()[0] == "'=sum,ok"
    assert list(frame.columns) == ["=sum", "ok"] and frame.iloc[0, 0] == "a"  # input untouched
    assert safe_frame(pd.DataFrame({"name": ["=1"]}))["name"].tolist() == ["'=1"]


def test_write_csv_orders_columns_and_skips_absent_ones(tmp_path):
    frame = pd.DataFrame({"b": [1], "a": ["x"], "c": [2]})
    raw = write_csv(frame, tmp_path / "x.csv", columns=["a", "zzz", "b"]).read_bytes()
    assert raw == b"a,b\r\nx,1\r\n"


def test_write_csv_is_utf8_with_rfc4180_line_endings(tmp_path):
    raw = write_csv(pd.DataFrame({"name": ["Café Müller"]}), tmp_path / "x.csv").read_bytes()
    assert raw == "name\r\nCafé Müller\r\n".encode()


@pytest.mark.parametrize("text", ["Acme\r=1+1", "Acme\n=1+1", "Acme\r\n=1+1", "\r=1+1"])
def test_a_line_break_inside_a_cell_cannot_start_a_new_row(tmp_path, text):
    # Unquoted, the text after the break would be a new row starting with a formula.
    frame = pd.DataFrame({"name": [text, "next"], "potential": [1.0, -2.0]})
    path = write_csv(frame, tmp_path / "x.csv")
    back = pd.read_csv(path, keep_default_na=False)
    assert len(back) == 2 and back["potential"].tolist() == [1.0, -2.0]
    assert back["name"].tolist() == [excel_safe(text), "next"]
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode(), newline="")))
    assert rows[1:] == [[excel_safe(text), "1.0"], ["next", "-2.0"]]


# --- write_json ---------------------------------------------------------------------------------


def test_write_json_writes_null_for_non_finite_and_plain_numbers(tmp_path):
    path = write_json(
        {"gap": math.inf, "bound": math.nan, "n": np.int64(3), "x": np.float64(0.5), "a": np.arange(2),
         "nested": [{"v": -math.inf}], "path": tmp_path, "name": "Café"},
        tmp_path / "summary.json",
    )
    text = path.read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text and "Café" in text
    assert json.loads(text) == {
        "gap": None, "bound": None, "n": 3, "x": 0.5, "a": [0, 1], "nested": [{"v": None}],
        "path": str(tmp_path), "name": "Café",
    }
    assert temp_files(tmp_path) == []


# --- atomic writing -----------------------------------------------------------------------------


def test_atomic_write_creates_folders_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "a" / "b" / "plan.txt"
    assert atomic_write_text(target, "hello ✓") == target
    assert target.read_text(encoding="utf-8") == "hello ✓"
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["plan.txt"]


def test_failed_rename_keeps_the_old_file_and_removes_the_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "assignments.csv"
    target.write_text("old plan\n")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_csv(pd.DataFrame({"a": [1]}), target)
    assert target.read_text() == "old plan\n"
    assert temp_files(tmp_path) == [] and [p.name for p in tmp_path.iterdir()] == ["assignments.csv"]


def test_failure_while_writing_keeps_the_old_file_and_removes_the_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "summary.json"
    target.write_text('{"old": true}\n')

    def broken_fsync(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="I/O error"):
        write_json({"new": True}, target)
    assert target.read_text() == '{"old": true}\n'
    assert temp_files(tmp_path) == []


def test_interrupt_midway_also_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "plan.txt"

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "new")
    assert not target.exists() and list(tmp_path.iterdir()) == []
