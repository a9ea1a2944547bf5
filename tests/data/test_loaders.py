"""Loading accounts and reps: every bad input gets a message that says where and how to fix.

Each bad-input test writes a tiny file and checks the error names the file, the row the
planner sees, the column and a fix; the round trip and hypothesis tests check that what
goes in comes out.
"""

from __future__ import annotations

import csv
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from territory_planner.data import (
    check_numeric_column,
    check_references,
    load_accounts,
    load_reps,
    read_table,
)
from territory_planner.errors import InputError

ACCOUNTS_HEADER = "account_id,name,lat,lon,potential,workload,current_rep_id"
GOOD_ROWS = ["A1,Acme,40.7,-74.0,1000,10,R1", "A2,Beta,41.0,-75.0,2000,20,R2"]
REPS_CSV = (
    "rep_id,lat,lon,capacity_hours,quota,status\nR1,40,-74,1000,5000,active\nR2,41,-75,900,,open\n"
)


def write(tmp_path, text, name="accounts.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def accounts_csv(tmp_path, *rows, header=ACCOUNTS_HEADER):
    return write(tmp_path, "\n".join([header, *rows]) + "\n")


def error_of(load, path, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        load(path, **kwargs)
    return info.value


def assert_teaches(err: InputError, path, *, row, column, fix_words=()):
    """The message names the file, the row, the column, and says how to fix it."""
    message = str(err)
    assert str(path) in message and err.file == str(path)
    assert err.row == row and f"row {row}" in message
    if column is not None:
        assert err.column == column and f"column '{column}'" in message
    assert err.fix and "Fix:" in message
    for word in fix_words:
        assert word in message, (word, message)


# --- Reading files ------------------------------------------------------------------


def test_missing_file_says_so(tmp_path):
    err = error_of(read_table, tmp_path / "nope.csv")
    assert "not found" in str(err) and "nope.csv" in str(err)


def test_unsupported_extension_lists_supported_ones(tmp_path):
    path = write(tmp_path, "x", "accounts.xls")
    err = error_of(read_table, path)
    assert "'.xls'" in str(err)
    for ext in (".csv", ".xlsx", ".parquet", ".geojson", ".gpkg"):
        assert ext in err.fix


def test_empty_file(tmp_path):
    path = write(tmp_path, "")
    err = error_of(load_accounts, path)
    assert "empty" in str(err) and str(path) in str(err) and err.fix


def test_header_only_file_points_at_the_header(tmp_path):
    path = accounts_csv(tmp_path)
    err = error_of(load_accounts, path)
    assert "no data rows" in str(err)
    assert_teaches(err, path, row=1, column=None)


def test_mixed_encoding_file_says_where_and_to_save_as_utf8(tmp_path):
    """A Latin-1 file is read as such (tests/data/test_crm_inputs.py); one that mixes UTF-8
    and Latin-1 rows would garble names either way, so it is refused, naming the first bad byte."""
    path = tmp_path / "accounts.csv"
    head = "\n".join([ACCOUNTS_HEADER, "A1,Zoë,40.7,-74.0,1000,10,R1", ""]).encode("utf-8")
    data = head + "A2,Café Crème,41,-75,2000,20,R2\n".encode("latin-1")
    path.write_bytes(data)
    err = error_of(load_accounts, path)
    assert_teaches(err, path, row=3, column="name", fix_words=["UTF-8", "mixes"])
    offset = len(head) + len("A2,Caf")
    assert f"byte offset {offset}" in str(err) and "(line 3)" in str(err)
    assert err.value == "Café Crème"


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_bytes(("\ufeff" + "\n".join([ACCOUNTS_HEADER, *GOOD_ROWS]) + "\n").encode("utf-8"))
    accounts = load_accounts(path)
    assert accounts["account_id"].tolist() == ["A1", "A2"]


def test_csv_cells_are_read_as_raw_text(tmp_path):
    path = write(tmp_path, "id,zip,code,formula\nA,02134,NA,=1+1\n")
    table = read_table(path)
    assert table.iloc[0].to_dict() == {
        "id": "A",
        "zip": "02134",
        "code": "NA",
        "formula": "=1+1",
        "_row": 2,
    }


def test_blank_lines_count_as_rows_like_excel_shows_them(tmp_path):
    path = accounts_csv(tmp_path, GOOD_ROWS[0], "", "A2,Beta,41.0,-75.0,-5,20,R2")
    err = error_of(load_accounts, path)
    assert_teaches(err, path, row=4, column="potential")


def test_row_with_more_cells_than_header(tmp_path):
    path = accounts_csv(tmp_path, GOOD_ROWS[0], "A2,Beta,41.0,-75.0,2,000,20,R2")
    err = error_of(load_accounts, path)
    assert err.row == 3 and "quote" in err.fix


def test_semicolon_separated_csv(tmp_path):
    path = write(
        tmp_path, ACCOUNTS_HEADER.replace(",", ";") + "\n" + GOOD_ROWS[0].replace(",", ";") + "\n"
    )
    assert load_accounts(path)["potential"].tolist() == [1000.0]


# --- Headers ---------------------------------------------------------------------------


def test_missing_required_column_suggests_nearest_header(tmp_path):
    path = accounts_csv(
        tmp_path, "A1,Acme,40.7,-74.0,1000,10", header="account_id,name,lat,lon,Potentail,workload"
    )
    err = error_of(load_accounts, path)
    assert_teaches(err, path, row=1, column="potential", fix_words=["did you mean 'Potentail'?"])


def test_headers_match_whatever_their_case_and_spacing(tmp_path):
    path = accounts_csv(
        tmp_path,
        "A1,Acme,40.7,-74.0,1000,10,R1",
        header=" Account ID ,NAME,Latitude,Longitude, Potential,WorkLoad,Current-Rep-ID",
    )
    accounts = load_accounts(path)
    assert accounts.columns[:7].tolist() == [
        "account_id", "name", "segment", "lat", "lon", "potential", "workload",
    ]  # fmt: skip
    assert accounts.loc[0, "current_rep_id"] == "R1"


def test_two_headers_meaning_the_same_column(tmp_path):
    path = accounts_csv(
        tmp_path, "A1,1,2,3,4,5,6", header="account_id,lat,Latitude,lon,potential,workload,x"
    )
    err = error_of(load_accounts, path)
    assert_teaches(err, path, row=1, column="Latitude")


def test_planar_coordinates_in_geographic_scenario_say_set_planar(tmp_path):
    path = accounts_csv(tmp_path, "A1,3,4,1000,10", header="account_id,x,y,potential,workload")
    err = error_of(load_accounts, path)
    assert_teaches(err, path, row=1, column="lat", fix_words=["set geometry: planar"])
    planar = load_accounts(path, geometry="planar")
    assert planar.columns[3:5].tolist() == ["x", "y"] and planar.loc[0, "x"] == 3.0


def test_planar_scenario_with_lat_lon_file_says_set_geographic(tmp_path):
    path = accounts_csv(tmp_path, *GOOD_ROWS)
    err = error_of(load_accounts, path, geometry="planar")
    assert_teaches(err, path, row=1, column="x", fix_words=["set geometry: geographic"])


# --- Cells -------------------------------------------------------------------------------


def test_blank_id(tmp_path):
    path = accounts_csv(tmp_path, GOOD_ROWS[0], " ,Beta,41.0,-75.0,2000,20,R2")
    err = error_of(load_accounts, path)
    assert_teaches(err, path, row=3, column="account_id", fix_words=["unique account_id"])


def test_duplicate_id_names_both_rows(tmp_path):
    path = accounts_csv(tmp_path, *GOOD_ROWS, "A1,Again,41.0,-75.0,2000,20,R2")
    err = error_of(load_accounts, path)
    assert_teaches(err, path, row=4, column="account_id", fix_words=["rows 2 and 4", "unique"])
    assert err.value == "A1"


@pytest.mark.parametrize("cell", ["12k", "n/a", "1,200", "$5"])
def test_non_numeric_number(tmp_path, cell):
    path = accounts_csv(tmp_path, GOOD_ROWS[0], f'A2,Beta,41.0,-75.0,"{cell}",20,R2')
    err = error_of(load_accounts, path)
    assert_teaches(err, path, row=3, column="potential", fix_words=["not a number", "digits only"])
    assert err.value == cell


@pytest.mark.parametrize("column", ["potential", "workload"])
def test_negative_amount(tmp_path, column):
    row = (
        "A2,Beta,41.0,-75.0,-2000,20,R2"
        if column == "potential"
        else "A2,Beta,41.0,-75.0,2000,-20,R2"
    )
    path = accounts_csv(tmp_path, GOOD_ROWS[0], row)
    err = error_of(load_accounts, path)
    assert_teaches(err, path, row=3, column=column, fix_words=["negative", "0 or more"])


@pytest.mark.parametrize("cell", ["nan", "inf", "-Infinity", "1e999"])
def test_nan_and_infinity_are_rejected(tmp_path, cell):
    path = accounts_csv(tmp_path, GOOD_ROWS[0], f"A2,Beta,41.0,-75.0,2000,{cell},R2")
    err = error_of(load_accounts, path)
    assert_teaches(err, path, row=3, column="workload", fix_words=["not a finite number"])


def test_blank_required_number(tmp_path):
    path = accounts_csv(tmp_path, GOOD_ROWS[0], "A2,Beta,41.0,-75.0,,20,R2")
    err = error_of(load_accounts, path)
    assert_teaches(err, path, row=3, column="potential", fix_words=["blank"])


def test_first_bad_row_is_reported_and_the_others_counted(tmp_path):
    rows = [f"A{i},N,40,-74,{-i if i >= 3 else i},1," for i in range(1, 16)]
    path = accounts_csv(tmp_path, *rows)
    err = error_of(load_accounts, path)
    assert_teaches(err, path, row=4, column="potential", fix_words=["12 more rows"])


def test_latitude_out_of_range(tmp_path):
    path = accounts_csv(tmp_path, GOOD_ROWS[0], "A2,Beta,-140.5,-175.0,2000,20,R2")
    err = error_of(load_accounts, path)
    assert_teaches(err, path, row=3, column="lat", fix_words=["-90 and 90"])
    assert "swap" not in str(err)


def test_swapped_latitude_and_longitude_are_named(tmp_path):
    path = accounts_csv(tmp_path, GOOD_ROWS[0], "A2,Beta,-97.7,30.3,2000,20,R2")
    err = error_of(load_accounts, path)
    assert_teaches(err, path, row=3, column="lat", fix_words=["swapped", "swap the lat and lon"])


def test_longitude_out_of_range(tmp_path):
    path = accounts_csv(tmp_path, GOOD_ROWS[0], "A2,Beta,41,-275.0,2000,20,R2")
    err = error_of(load_accounts, path)
    assert_teaches(err, path, row=3, column="lon", fix_words=["-180 and 180"])


def test_blank_optional_cells_are_fine(tmp_path):
    header = "account_id,name,segment,lat,lon,potential,workload,current_rep_id,postal_code,revenue"
    path = accounts_csv(
        tmp_path, "A1,,,40,-74,1,2,,,", "A2,Beta,SMB,41,-75,3,4,R1,02134,7.5", header=header
    )
    accounts = load_accounts(path)
    first, second = accounts.iloc[0], accounts.iloc[1]
    assert (first["name"], first["segment"], first["current_rep_id"], first["postal_code"]) == (
        "A1",
        "All",
        None,
        None,
    )
    assert second["postal_code"] == "02134"
    assert math.isnan(first["revenue"]) and second["revenue"] == 7.5
    assert accounts["_row"].tolist() == [2, 3]


# --- Rep references -------------------------------------------------------------------------


def test_unknown_rep_ids_are_named(tmp_path):
    path = accounts_csv(tmp_path, *GOOD_ROWS, "A3,Gamma,41,-75,1,1,R9", "A4,Delta,41,-75,1,1,R8")
    reps = load_reps(write(tmp_path, REPS_CSV, "reps.csv"))
    accounts = load_accounts(path)
    with pytest.raises(InputError) as info:
        check_references(accounts, reps, path)
    assert_teaches(
        info.value, path, row=4, column="current_rep_id", fix_words=["'R9'", "1 more row"]
    )
    err = error_of(load_accounts, path, rep_ids=["R1", "R2"])
    assert err.row == 4 and err.value == "R9"


def test_locked_rep_must_exist(tmp_path):
    path = accounts_csv(
        tmp_path,
        "A1,Acme,40.7,-74.0,1000,10,R1",
        header=ACCOUNTS_HEADER.replace("current", "locked"),
    )
    err = error_of(load_accounts, path, rep_ids=["R01"])
    assert_teaches(err, path, row=2, column="locked_rep_id", fix_words=["did you mean 'R01'?"])


# --- Reps ------------------------------------------------------------------------------


def test_reps_canonical_frame(tmp_path):
    path = write(
        tmp_path,
        "Rep ID,Status,lat,lon,Capacity Hours,Quota,team\nR1,ACTIVE,40,-74,1000,,East\nR2,New Hire,41,-75,900,5000,West\nR3,,1,1,1,0,\n",
        "reps.csv",
    )
    reps = load_reps(path)
    assert reps.columns.tolist() == [
        "rep_id", "name", "role", "lat", "lon", "capacity_hours", "quota", "status", "team", "_row",
    ]  # fmt: skip
    assert reps["status"].tolist() == ["active", "new_hire", "active"]
    assert reps["name"].tolist() == ["R1", "R2", "R3"] and set(reps["role"]) == {"Rep"}
    assert math.isnan(reps.loc[0, "quota"]) and reps.loc[1, "quota"] == 5000.0


def test_unknown_status_lists_valid_values(tmp_path):
    path = write(tmp_path, REPS_CSV.replace("open", "on leave"), "reps.csv")
    err = error_of(load_reps, path)
    assert_teaches(err, path, row=3, column="status", fix_words=["active, open, new_hire"])


@pytest.mark.parametrize(("cell", "words"), [("0", "more than 0"), ("-5", "more than 0")])
def test_capacity_must_be_positive(tmp_path, cell, words):
    path = write(tmp_path, REPS_CSV.replace("900", cell), "reps.csv")
    err = error_of(load_reps, path)
    assert_teaches(err, path, row=3, column="capacity_hours", fix_words=[words])


def test_negative_quota(tmp_path):
    path = write(tmp_path, REPS_CSV.replace("5000", "-5000"), "reps.csv")
    err = error_of(load_reps, path)
    assert_teaches(err, path, row=2, column="quota", fix_words=["negative"])


def test_missing_capacity_column(tmp_path):
    path = write(tmp_path, "rep_id,lat,lon,capacty\nR1,1,2,3\n", "reps.csv")
    err = error_of(load_reps, path)
    assert_teaches(err, path, row=1, column="capacity_hours", fix_words=["did you mean 'capacty'?"])


# --- Scenario-chosen columns -----------------------------------------------------------------


@pytest.fixture
def revenue_accounts(tmp_path):
    header = ACCOUNTS_HEADER + ",revenue_last_year,growth"
    path = accounts_csv(
        tmp_path, GOOD_ROWS[0] + ",100,0.1", GOOD_ROWS[1] + ",n/a,-0.2", header=header
    )
    return path, load_accounts(path)


def test_check_numeric_column_missing_suggests_nearest(revenue_accounts):
    path, accounts = revenue_accounts
    with pytest.raises(InputError) as info:
        check_numeric_column(accounts, "revenue_lastyear", path)
    assert "did you mean 'revenue_last_year'?" in str(info.value) and str(path) in str(info.value)
    assert info.value.column == "revenue_lastyear"


def test_check_numeric_column_non_numeric_uses_file_rows(revenue_accounts):
    path, accounts = revenue_accounts
    with pytest.raises(InputError) as info:
        check_numeric_column(accounts, "revenue_last_year", path)
    assert_teaches(info.value, path, row=3, column="revenue_last_year", fix_words=["not a number"])


def test_check_numeric_column_negative(revenue_accounts):
    path, accounts = revenue_accounts
    assert accounts["growth"].dtype == "float64"
    with pytest.raises(InputError) as info:
        check_numeric_column(accounts, "growth", path)
    assert_teaches(info.value, path, row=3, column="growth", fix_words=["negative"])
    check_numeric_column(accounts, "growth", path, allow_negative=True)
    check_numeric_column(accounts, "potential", path)


# --- Geographic formats --------------------------------------------------------------------------


def test_polygons_are_not_accounts(tmp_path):
    from shapely.geometry import Point

    frame = gpd.GeoDataFrame(
        {"account_id": ["A1", "A2"], "potential": [1.0, 2.0], "workload": [1.0, 1.0]},
        geometry=[Point(1, 2), Point(3, 4).buffer(1)],
        crs=4326,
    )
    path = tmp_path / "accounts.geojson"
    frame.to_file(path)
    err = error_of(load_accounts, path)
    assert_teaches(err, path, row=2, column="geometry", fix_words=["point"])


def test_projected_points_are_reprojected_and_planar_keeps_x_y(tmp_path):
    table = valid_accounts()
    frame = gpd.GeoDataFrame(
        table.drop(columns=["lat", "lon"]),
        geometry=gpd.points_from_xy(table["lon"], table["lat"]),
        crs=4326,
    ).to_crs(3857)
    path = tmp_path / "accounts.gpkg"
    frame.to_file(path)
    accounts = load_accounts(path)
    np.testing.assert_allclose(accounts["lat"], table["lat"], rtol=1e-9)
    np.testing.assert_allclose(accounts["lon"], table["lon"], rtol=1e-9)
    planar = load_accounts(path, geometry="planar")
    np.testing.assert_allclose(planar["x"], frame.geometry.x, rtol=1e-12)


# --- Round trip ----------------------------------------------------------------------------------


def valid_accounts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["007", "A-2", "3"],
            "name": ["Acme", "Beta GmbH", "Café Crème"],
            "segment": ["Enterprise", "SMB", "SMB"],
            "lat": [40.7128, 48.1372, -33.8688],
            "lon": [-74.006, 11.5756, 151.2093],
            "potential": [1000.5, 0.0, 123456.789],
            "workload": [10.0, 2.5, 0.125],
            "current_rep_id": ["R1", None, "R2"],
            "locked_rep_id": [None, "R2", None],
            "postal_code": ["02134", None, "2000"],
            "unit_id": ["U1", "U2", None],
            "revenue_last_year": [900.25, None, 5.0],
            "region": ["East", "West", "South"],
        }
    )


def write_all_formats(table: pd.DataFrame, folder) -> dict[str, object]:
    paths = {
        fmt: folder / f"accounts.{fmt}" for fmt in ("csv", "xlsx", "parquet", "geojson", "gpkg")
    }
    table.to_csv(paths["csv"], index=False)
    table.to_excel(paths["xlsx"], index=False)
    table.to_parquet(paths["parquet"], index=False)
    points = gpd.GeoDataFrame(
        table.drop(columns=["lat", "lon"]),
        geometry=gpd.points_from_xy(table["lon"], table["lat"]),
        crs=4326,
    )
    points.to_file(paths["geojson"])
    points.to_file(paths["gpkg"])
    return paths


def test_round_trip_all_formats_give_the_same_frame(tmp_path):
    table = valid_accounts()
    frames = {fmt: load_accounts(path) for fmt, path in write_all_formats(table, tmp_path).items()}
    expected = frames["csv"]
    assert expected.columns.tolist() == [*table.columns[:2], "segment", *table.columns[3:], "_row"]
    assert expected["account_id"].tolist() == ["007", "A-2", "3"]
    assert expected["postal_code"].tolist() == ["02134", None, "2000"]
    for fmt, frame in frames.items():
        # _row is what a planner sees: CSV/Excel count the header as row 1, the others
        # number records from 1; everything else must be identical.
        first_row = 2 if fmt in ("csv", "xlsx") else 1
        assert frame["_row"].tolist() == list(range(first_row, first_row + len(table))), fmt
        pd.testing.assert_frame_equal(
            frame.drop(columns="_row"),
            expected.drop(columns="_row"),
            check_exact=False,
            rtol=1e-12,
            obj=fmt,
        )


def test_reps_round_trip_excel_and_parquet(tmp_path):
    csv_path = write(tmp_path, REPS_CSV, "reps.csv")
    reps = load_reps(csv_path)
    source = pd.read_csv(csv_path, dtype={"rep_id": str})
    source.to_excel(tmp_path / "reps.xlsx", index=False)
    source.to_parquet(tmp_path / "reps.parquet", index=False)
    pd.testing.assert_frame_equal(load_reps(tmp_path / "reps.xlsx"), reps)
    pd.testing.assert_frame_equal(
        load_reps(tmp_path / "reps.parquet").drop(columns="_row"), reps.drop(columns="_row")
    )


# --- Properties ----------------------------------------------------------------------------------

ids = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=12
).filter(lambda s: s == s.strip() and s != "")
finite = {"allow_nan": False, "allow_infinity": False}
account_rows = st.lists(
    st.tuples(
        ids,
        st.floats(-90, 90, **finite),
        st.floats(-180, 180, **finite),
        st.floats(0, 1e12, **finite),
        st.floats(0, 1e6, **finite),
    ),
    min_size=2,
    max_size=25,
    unique_by=lambda r: r[0],
)
COLUMNS = ["account_id", "lat", "lon", "potential", "workload"]


def write_rows(path, rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(
            [r[0], *(repr(v) if isinstance(v, float) else v for v in r[1:])] for r in rows
        )


@settings(max_examples=50, deadline=None)
@given(rows=account_rows)
def test_property_valid_tables_load_unchanged(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("valid") / "accounts.csv"
    write_rows(path, rows)
    accounts = load_accounts(path)
    assert accounts["account_id"].tolist() == [r[0] for r in rows]
    assert accounts["_row"].tolist() == list(range(2, len(rows) + 2))
    for position, column in enumerate(COLUMNS[1:], start=1):
        np.testing.assert_allclose(accounts[column], [r[position] for r in rows], rtol=1e-9, atol=0)


@settings(max_examples=50, deadline=None)
@given(rows=account_rows, data=st.data())
def test_property_one_bad_cell_is_found_where_it_is(tmp_path_factory, rows, data):
    rows = [list(r) for r in rows]
    kind = data.draw(st.sampled_from(["negative", "latitude", "duplicate", "text"]))
    at = data.draw(st.integers(1 if kind == "duplicate" else 0, len(rows) - 1))
    if kind == "negative":
        rows[at][3], column = -data.draw(st.floats(1e-6, 1e9)), "potential"
    elif kind == "latitude":
        rows[at][1] = data.draw(st.floats(90.001, 1e6) | st.floats(-1e6, -90.001))
        column = "lat"
    elif kind == "duplicate":
        rows[at][0], column = rows[data.draw(st.integers(0, at - 1))][0], "account_id"
    else:
        index = data.draw(st.integers(1, 4))
        rows[at][index] = data.draw(st.sampled_from(["12k", "n/a", "1,5", "--", "x1"]))
        column = COLUMNS[index]
    path = tmp_path_factory.mktemp("bad") / "accounts.csv"
    write_rows(path, rows)
    with pytest.raises(InputError) as info:
        load_accounts(path)
    assert (info.value.row, info.value.column) == (at + 2, column)
    assert str(path) in str(info.value) and info.value.fix


def test_excel_rows_are_sheet_rows_and_formulas_are_not_evaluated(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([])  # a blank first row: the header is on row 2
    sheet.append(["account_id", "lat", "lon", "potential", "workload", "check"])
    sheet.append([1001, 40.5, -74, 1000, 10, "=1+1"])
    sheet.append([1002, 40.5, -74, -3, 10, None])
    path = tmp_path / "accounts.xlsx"
    book.save(path)
    table = read_table(path)
    assert table["account_id"].tolist() == ["1001", "1002"] and table["_row"].tolist() == [3, 4]
    assert table.loc[0, "check"] == ""  # no cached value; the formula is never run
    err = error_of(load_accounts, path)
    assert_teaches(err, path, row=4, column="potential")


def test_parquet_index_comes_back_as_a_column(tmp_path):
    table = valid_accounts().set_index("account_id")
    table.to_parquet(tmp_path / "accounts.parquet")
    accounts = load_accounts(tmp_path / "accounts.parquet")
    assert accounts["account_id"].tolist() == ["007", "A-2", "3"]
