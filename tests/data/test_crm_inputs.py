"""Input as the CRM gives it (issue 27): column mappings, offline geocoding, export quirks.

The files here look like what Salesforce's Data Loader and Excel write: every cell quoted,
18-character ids, a street address on two lines, columns the planner does not know. Each
test checks what a planner would check by hand: the right value in the right column, the
row numbers they see in the file, and for bad input a message naming the file, the rows,
the values and the fix.
"""

from __future__ import annotations

import csv
import doctest
import io
import textwrap

import numpy as np
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from territory_planner.data import columns, files, geocode, places, sources
from territory_planner.data.accounts import load_accounts, read_accounts
from territory_planner.data.files import decimal_comma_to_point, read, sniff_delimiter
from territory_planner.data.geocode import city_point, zip_point
from territory_planner.data.inputs import load_inputs
from territory_planner.data.reps import load_reps, read_reps
from territory_planner.data.sources import Source
from territory_planner.errors import InputError, ScenarioError
from territory_planner.scenario import load_scenario

# A Salesforce Account export (Data Loader: every cell quoted, 18-character ids). Acme has
# coordinates; Beta and Gamma only a billing address; Gamma's street spans two lines.
ACCOUNT_CSV = '''\
"Id","IsDeleted","Name","Type","BillingStreet","BillingCity","BillingState","BillingPostalCode","BillingCountry","BillingLatitude","BillingLongitude","Industry","AnnualRevenue","NumberOfEmployees","OwnerId","Workload_Hours__c","CreatedDate"
"0015e00000AbCdEAAV","false","Acme Corp","Customer - Direct","1 Main St","Dallas","TX","75201","United States","32.7904","-96.8044","Manufacturing","1200000","250","0055e000001XyZaAAK","40","2023-04-02T10:11:12.000Z"
"0015e00000AbCdFAAV","false","Beta LLC","Prospect","22 Congress Ave","Austin","TX","78701","United States","","","Retail","800000","40","0055e000001XyZbAAK","25","2023-05-06T08:00:00.000Z"
"0015e00000AbCdGAAV","false","Gamma Inc","Customer - Channel","5 Oak Ave
Suite 200","Boston","MA","02116-1234","USA","","","Technology","2500000","900","0055e000001XyZaAAK","60","2024-01-15T16:45:00.000Z"
'''
# A Salesforce User export: no coordinates; Dana has a city only, Sam a ZIP code.
USER_CSV = '''\
"Id","Username","Name","Title","City","State","PostalCode","Country","Email","IsActive","Capacity_Hours__c"
"0055e000001XyZaAAK","dana@acme.example","Dana Reyes","Account Executive","Dallas","TX","","US","dana@acme.example","true","1056"
"0055e000001XyZbAAK","sam@acme.example","Sam Ortiz","Account Executive","Boston","MA","02116","US","sam@acme.example","true","1056"
'''
ACCOUNT_COLUMNS = ("{account_id: Id, name: Name, segment: Type, postal_code: BillingPostalCode, lat: BillingLatitude, "
                   "lon: BillingLongitude, potential: AnnualRevenue, current_rep_id: OwnerId, "
                   "workload: Workload_Hours__c}")
USER_COLUMNS = "{rep_id: Id, role: Title, postal_code: PostalCode, email: Email, capacity_hours: Capacity_Hours__c}"


def write(folder, name, text, encoding="utf-8"):
    path = folder / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def crm_scenario(folder, *, accounts=None, reps=None, extra=""):
    """A scenario reading the two exports through their mappings."""
    write(folder, "Account.csv", ACCOUNT_CSV)
    write(folder, "User.csv", USER_CSV)
    accounts = accounts or f"{{file: Account.csv, columns: {ACCOUNT_COLUMNS}}}"
    reps = reps or f"{{file: User.csv, columns: {USER_COLUMNS}}}"
    text = f"name: crm\ndata:\n  accounts: {accounts}\n  reps: {reps}\n{textwrap.dedent(extra)}"
    return write(folder, "crm.yaml", text)


def error_of(call, *args, kind=InputError, **kwargs):
    with pytest.raises(kind) as info:
        call(*args, **kwargs)
    return info.value


def accounts_csv(folder, rows, header="account_id,postal_code,potential,workload", name="accounts.csv", **kw):
    return write(folder, name, "\n".join([header, *rows]) + "\n", **kw)


# --- Column mapping --------------------------------------------------------------------------


def test_a_salesforce_export_is_read_through_the_mapping(tmp_path):
    scenario = load_scenario(crm_scenario(tmp_path, extra="balance: {potential: 0.5}\n"))
    inputs = load_inputs(scenario)
    accounts, reps = inputs.accounts, inputs.reps
    assert accounts["account_id"].tolist() == ["0015e00000AbCdEAAV", "0015e00000AbCdFAAV", "0015e00000AbCdGAAV"]
    assert accounts["name"].tolist() == ["Acme Corp", "Beta LLC", "Gamma Inc"]
    assert accounts["segment"].tolist() == ["Customer - Direct", "Prospect", "Customer - Channel"]
    assert accounts["potential"].tolist() == [1_200_000.0, 800_000.0, 2_500_000.0]
    assert accounts["workload"].tolist() == [40.0, 25.0, 60.0]
    assert accounts["current_rep_id"].tolist() == ["0055e000001XyZaAAK", "0055e000001XyZbAAK", "0055e000001XyZaAAK"]
    assert accounts["postal_code"].tolist() == ["75201", "78701", "02116-1234"]
    # Rows a planner sees in the file: Gamma's two-line street is one record, on row 4.
    assert accounts["_row"].tolist() == [2, 3, 4]
    assert accounts.loc[2, "BillingStreet"] == "5 Oak Ave\nSuite 200"
    # Unmapped columns are kept under their own headers; mapped sources are not repeated.
    assert {"Industry", "NumberOfEmployees", "BillingCity", "CreatedDate"} <= set(accounts.columns)
    assert not {"Id", "AnnualRevenue", "OwnerId", "BillingLatitude"} & set(accounts.columns)
    assert accounts["NumberOfEmployees"].tolist() == [250.0, 40.0, 900.0]
    # Acme keeps its own coordinates; Beta and Gamma are placed at their ZIP code.
    assert (accounts.loc[0, "lat"], accounts.loc[0, "lon"]) == (32.7904, -96.8044)
    assert (accounts.loc[1, "lat"], accounts.loc[1, "lon"]) == zip_point("78701")
    assert (accounts.loc[2, "lat"], accounts.loc[2, "lon"]) == zip_point("02116")
    assert reps["rep_id"].tolist() == ["0055e000001XyZaAAK", "0055e000001XyZbAAK"]
    assert reps["name"].tolist() == ["Dana Reyes", "Sam Ortiz"] and reps["capacity_hours"].tolist() == [1056.0] * 2
    assert reps["email"].tolist() == ["dana@acme.example", "sam@acme.example"]
    assert (reps.loc[0, "lat"], reps.loc[0, "lon"]) == pytest.approx(city_point("Dallas", "TX"))
    assert (reps.loc[1, "lat"], reps.loc[1, "lon"]) == zip_point("02116")
    assert inputs.notes == (
        "accounts: 2 rows without coordinates placed by ZIP code (offline, centroids of the zipcodes package)",
        "reps: 2 rows without coordinates placed: 1 by ZIP code, 1 by city and state "
        "(offline, centroids of the zipcodes package)",
    )
    # The run store hashes the files themselves.
    assert scenario.input_paths() == {"data.accounts": tmp_path / "Account.csv", "data.reps": tmp_path / "User.csv"}


def test_a_mapped_export_plans_and_the_summary_says_how_rows_were_placed(tmp_path):
    from territory_planner import plan

    result = plan(crm_scenario(tmp_path), solver={"time_limit": 10})
    assert result.status in ("optimal", "feasible")
    assert sorted(result.assignments["account_id"]) == sorted(load_inputs(load_scenario(tmp_path / "crm.yaml"))
                                                               .accounts["account_id"])
    assert any("placed by ZIP code" in line for line in result.summary()["changes"])


def test_an_unknown_target_lists_the_valid_ones_and_the_nearest(tmp_path):
    columns = ACCOUNT_COLUMNS.replace("potential: AnnualRevenue", "potentail: AnnualRevenue, industry: Industry")
    path = crm_scenario(tmp_path, accounts=f"{{file: Account.csv, columns: {columns}}}")
    err = error_of(load_inputs, load_scenario(path), kind=ScenarioError)
    message = str(err)
    assert err.file == str(path) and err.row == 3 and err.column == "data.accounts.columns.potentail"
    assert "'potentail', 'industry'" in message
    assert "'potentail': did you mean 'potential'?" in err.fix
    assert "'industry' is not a planner column: leave it out" in err.fix
    assert "Valid targets: account_id, name, segment, lat, lon, potential, workload" in err.fix


def test_a_column_the_scenario_balances_on_is_a_valid_target(tmp_path):
    columns = ACCOUNT_COLUMNS.replace("}", ", employees: NumberOfEmployees}")
    path = crm_scenario(tmp_path, accounts=f"{{file: Account.csv, columns: {columns}}}",
                        extra="balance: {employees: 0.2}\n")
    accounts = load_inputs(load_scenario(path)).accounts
    assert accounts["employees"].tolist() == [250.0, 40.0, 900.0] and "NumberOfEmployees" not in accounts


def test_columns_the_scenario_names_are_valid_targets_of_their_table(tmp_path):
    from territory_planner.data.reps import rep_columns
    from territory_planner.data.sources import source_of, valid_targets

    path = crm_scenario(tmp_path, extra="""\
        hierarchy: {levels: [district]}
        continuity: {min_kept: 0.8, by: revenue_2025}
        capacity: {regions: {column: sales_region}}
        """)
    s = load_scenario(path)
    reps = valid_targets("reps", rep_columns(), source_of(s, "reps"))
    assert {"rep_id", "capacity_hours", "email", "postal_code", "city", "state", "district", "sales_region"} <= set(reps)
    accounts = valid_targets("accounts", [], source_of(s, "accounts"))
    assert {"revenue_2025", "sales_region", "revenue_last_year"} <= set(accounts) and "district" not in accounts


def test_a_source_column_not_in_the_file_lists_the_headers_and_the_nearest(tmp_path):
    columns = ACCOUNT_COLUMNS.replace("BillingLatitude", "BillingLat").replace("OwnerId", "Owner")
    path = crm_scenario(tmp_path, accounts=f"{{file: Account.csv, columns: {columns}}}")
    err = error_of(load_inputs, load_scenario(path))
    assert err.file == str(tmp_path / "Account.csv") and err.row == 1 and err.column == "BillingLat"
    assert "2 columns the file does not have" in err.problem
    assert "lat: 'BillingLat' (did you mean 'BillingLatitude'?)" in err.problem
    assert "current_rep_id: 'Owner' (did you mean 'OwnerId'?)" in err.problem
    assert "'Id', 'IsDeleted', 'Name'" in err.fix and "'Workload_Hours__c'" in err.fix


def test_a_source_matches_whatever_its_case_and_spacing(tmp_path):
    path = write(tmp_path, "a.csv", "Account Id,Annual Revenue,Hours,Zip\nA1,10,1,75201\n")
    accounts = load_accounts(Source(path, columns={"account_id": "account id", "potential": "ANNUAL REVENUE",
                                                   "workload": "Hours"}))
    assert accounts[["account_id", "potential", "workload"]].values.tolist() == [["A1", 10.0, 1.0]]
    assert (accounts.loc[0, "lat"], accounts.loc[0, "lon"]) == zip_point("75201")  # a 'Zip' column places it


def test_a_mapped_target_wins_over_a_header_of_the_same_meaning(tmp_path):
    path = write(tmp_path, "a.csv", "Id,Name,Account_Name__c,lat,lon,potential,workload\n"
                                    "A1,Owner Person,Acme,40,-74,1,1\n")
    loaded = read_accounts(Source(path, columns={"account_id": "Id", "name": "Account_Name__c"}, key="data.accounts"))
    assert loaded.frame.loc[0, "name"] == "Acme" and "Name" not in loaded.frame
    assert loaded.notes == ("accounts: column 'Name' not read: data.accounts.columns reads name from "
                            "'Account_Name__c'",)


@pytest.mark.parametrize("old, new, row, column, words", [
    ('"1200000","250"', '"15k","250"', 2, "'AnnualRevenue' (potential)", "not a number (value: '15k')"),
    ('"0055e000001XyZaAAK","40"', '"0055e000001XyZaAAK",""', 2, "'Workload_Hours__c' (workload)",
     "the cell is blank"),
    ('"0055e000001XyZaAAK"', '"Nobody"', 2, "'OwnerId' (current_rep_id)",
     "rep id 'Nobody' is not a rep_id in the reps file"),
    ('"0015e00000AbCdFAAV"', '""', 3, "'Id' (account_id)", "the account_id is blank"),
    ('"78701"', '"99999"', 3, "'BillingPostalCode' (postal_code)",
     "1 row has no coordinates and cannot be placed offline"),
])
def test_an_error_on_a_mapped_column_names_the_files_header_and_the_planners_column(tmp_path, old, new, row, column,
                                                                                   words):
    path = crm_scenario(tmp_path)
    write(tmp_path, "Account.csv", ACCOUNT_CSV.replace(old, new, 1))  # the first account (row 2) or Beta (row 3)
    err = error_of(load_inputs, load_scenario(path))
    assert f"Account.csv, row {row}, column {column}: {words}" in str(err)
    header, target = column.split("'")[1], column.split("(")[1].rstrip(")")
    assert (err.column, err.target) == (header, target)


def test_an_error_on_a_mapped_reps_column_and_in_the_checks_after_loading_names_both(tmp_path):
    reps = f"{{file: User.csv, columns: {USER_COLUMNS[:-1]}, ramp: Ramp__c}}}}"
    path = crm_scenario(tmp_path, reps=reps)
    write(tmp_path, "User.csv", USER_CSV.replace('"Capacity_Hours__c"', '"Capacity_Hours__c","Ramp__c"')
          .replace('"1056"\n', '"1056","0.5"\n', 1).replace('"1056"\n', '"1056","2"\n'))
    err = error_of(load_inputs, load_scenario(path))  # ramp is checked after loading, with the scenario's rules
    assert "User.csv, row 3, column 'Ramp__c' (ramp): ramp is above 1" in str(err)
    path = crm_scenario(tmp_path)
    write(tmp_path, "User.csv", USER_CSV.replace('"1056"', '"0"', 1))
    err = error_of(load_inputs, load_scenario(path))
    assert "User.csv, row 2, column 'Capacity_Hours__c' (capacity_hours): must be more than 0" in str(err)


def test_an_unmapped_file_names_the_column_as_before(tmp_path):
    path = accounts_csv(tmp_path, ["A1,02116,15k,1"])
    err = error_of(load_accounts, path)
    assert str(err).startswith(f"{path}, row 2, column 'potential': not a number (value: '15k')")
    assert type(err) is InputError


def test_crm_ids_are_mapping_targets_carried_into_the_plan(tmp_path):
    from territory_planner import plan

    accounts = ACCOUNT_COLUMNS[:-1] + ", crm_id: Id, territory_crm_id: Type}"
    reps = USER_COLUMNS[:-1] + ", crm_id: Id, territory_crm_id: Title}"
    path = crm_scenario(tmp_path, accounts=f"{{file: Account.csv, columns: {accounts}}}",
                        reps=f"{{file: User.csv, columns: {reps}}}")
    inputs = load_inputs(load_scenario(path))
    assert inputs.accounts["crm_id"].tolist() == inputs.accounts["account_id"].tolist()
    assert inputs.reps["crm_id"].tolist() == ["0055e000001XyZaAAK", "0055e000001XyZbAAK"]
    assert inputs.reps["territory_crm_id"].tolist() == ["Account Executive"] * 2
    result = plan(path, solver={"time_limit": 10})
    assert sorted(result.assignments["crm_id"]) == sorted(inputs.accounts["account_id"])
    assert set(result.assignments["territory_crm_id"]) == {"Customer - Direct", "Prospect", "Customer - Channel"}


def test_every_field_the_crm_export_reads_is_a_valid_target():
    from territory_planner.data.accounts import account_columns
    from territory_planner.data.reps import rep_columns
    from territory_planner.data.sources import valid_targets
    from territory_planner.pipeline import CRM_ID_COLUMNS

    accounts = valid_targets("accounts", account_columns(), Source("a.csv"))
    reps = valid_targets("reps", rep_columns(), Source("r.csv"))
    assert set(CRM_ID_COLUMNS) <= set(accounts)
    assert {"crm_id", "email", "territory_crm_id", "territory_name", "territory_developer_name"} <= set(reps)


# --- Excel: sheet and header row; CSV title lines --------------------------------------------------


def workbook(tmp_path):
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "Read me"
    notes.append(["Exported from Salesforce"])
    sheet = book.create_sheet("Accounts")
    sheet.append(["Account report"])  # title rows a formatted report puts above the table
    sheet.append(["Filtered by: Region = West", None, None, "stray"])
    sheet.append(["Account ID", "Billing Zip", "Revenue", "Hours"])
    sheet.append(["A1", "02116", 1000, 10])
    sheet.append(["A2", "75201", 2000.5, 20])
    sheet.append([None, None, None, None])  # blank rows at the end
    sheet.append([])
    path = tmp_path / "report.xlsx"
    book.save(path)
    return path


@pytest.mark.parametrize("sheet", ["Accounts", 2, "accounts"])
def test_excel_sheet_and_header_row_are_honoured(tmp_path, sheet):
    source = Source(workbook(tmp_path), sheet=sheet, header_row=3,
                    columns={"account_id": "Account ID", "postal_code": "Billing Zip", "potential": "Revenue",
                             "workload": "Hours"})
    accounts = load_accounts(source)
    assert accounts["account_id"].tolist() == ["A1", "A2"] and accounts["_row"].tolist() == [4, 5]
    assert accounts["potential"].tolist() == [1000.0, 2000.5]
    assert accounts["postal_code"].tolist() == ["02116", "75201"]


def test_excel_title_rows_without_header_row_say_set_header_row(tmp_path):
    err = error_of(read, workbook(tmp_path), sheet="Accounts")
    assert err.row == 2 and "header_row" in err.fix


@pytest.mark.parametrize("sheet, words", [("Acounts", "did you mean 'Accounts'?"), (5, "from 1 to 2")])
def test_an_unknown_sheet_lists_the_workbooks_sheets(tmp_path, sheet, words):
    err = error_of(read, workbook(tmp_path), sheet=sheet)
    assert words in err.fix and "'Read me', 'Accounts'" in err.fix and err.file == str(tmp_path / "report.xlsx")


def test_an_empty_header_row_and_a_sheet_for_a_csv_are_refused(tmp_path):
    err = error_of(read, workbook(tmp_path), sheet="Accounts", header_row=7)
    assert err.row == 7 and "empty" in err.problem and "header_row" in err.fix
    csv_path = accounts_csv(tmp_path, ["A1,75201,1,1"])
    err = error_of(read, csv_path, sheet="Accounts")
    assert "not an Excel workbook" in err.problem and "sheet" in err.fix


def test_csv_title_lines_above_the_header_are_skipped_with_header_row(tmp_path):
    path = write(tmp_path, "a.csv", "Accounts export\nRun 2026-11-02;by ops\naccount_id,lat,lon,potential,workload\n"
                                    "A1,40,-74,1,1\n")
    accounts = load_accounts(Source(path, header_row=3))
    assert accounts["account_id"].tolist() == ["A1"] and accounts["_row"].tolist() == [4]


# --- Offline geocoding -----------------------------------------------------------------------------


def test_accounts_without_coordinate_columns_are_placed_by_zip_code(tmp_path):
    path = accounts_csv(tmp_path, ["A1,02116,1,1", "A2,2116,1,1", "A3,75201-1234,1,1", "A4,75201.0,1,1"])
    loaded = read_accounts(path)
    assert loaded.frame[["lat", "lon"]].values.tolist() == [list(zip_point("02116"))] * 2 + [
        list(zip_point("75201"))] * 2  # a lost leading zero, ZIP+4 and a spreadsheet's 75201.0 all place
    assert loaded.notes == ("accounts: 4 rows without coordinates placed by ZIP code "
                            "(offline, centroids of the zipcodes package)",)


def test_only_blank_coordinates_are_filled(tmp_path):
    path = accounts_csv(tmp_path, ["A1,40.5,-74.5,02116,1,1", "A2,,,02116,1,1"],
                        header="account_id,lat,lon,zip,potential,workload")
    accounts = load_accounts(path)
    assert accounts[["lat", "lon"]].values.tolist() == [[40.5, -74.5], list(zip_point("02116"))]


def test_reps_are_placed_by_zip_code_else_city_and_state(tmp_path):
    path = write(tmp_path, "reps.csv", "rep_id,postal_code,city,state,capacity_hours\n"
                                       "R1,02116,Dallas,TX,1000\nR2,,El Paso,tx,1000\nR3,00000,Waco,TX,1000\n")
    loaded = read_reps(path)
    assert loaded.frame.loc[0, ["lat", "lon"]].tolist() == list(zip_point("02116"))  # the ZIP, not the city
    assert loaded.frame.loc[1, ["lat", "lon"]].tolist() == pytest.approx(city_point("El Paso", "TX"))
    assert loaded.frame.loc[2, ["lat", "lon"]].tolist() == pytest.approx(city_point("Waco", "TX"))  # ZIP unknown
    assert loaded.notes == ("reps: 3 rows without coordinates placed: 1 by ZIP code, 2 by city and state "
                            "(offline, centroids of the zipcodes package)",)


def test_an_unknown_zip_code_is_an_error_naming_each_row_and_value(tmp_path):
    path = accounts_csv(tmp_path, ["A1,02116,1,1", "A2,99999,1,1", "A3,,1,1", "A4,SW1A 1AA,1,1"])
    err = error_of(load_accounts, path)
    assert err.file == str(path) and (err.row, err.column, err.value) == (3, "postal_code", "99999")
    assert err.problem.startswith("3 rows have no coordinates and cannot be placed offline: ")
    assert err.problem.endswith("postal_code not a known US ZIP code: row 3 ('99999'), row 5 ('SW1A 1AA'); "
                                "postal_code blank: row 4")
    assert "geocode: {on_missing: skip}" in err.fix and "lat and lon" in err.fix


def test_a_misspelt_city_suggests_the_nearest(tmp_path):
    path = write(tmp_path, "reps.csv", "rep_id,city,state,capacity_hours\nR1,Dalas,TX,1000\nR2,Austin,,1000\n")
    err = error_of(read_reps, path)
    assert "city and state not found: row 2 ('Dalas', 'TX', did you mean 'Dallas'?)" in err.problem
    assert "city without a state: row 3 ('Austin')" in err.problem and "city and state" in err.fix


def test_a_postal_code_outside_the_us_is_not_looked_up(tmp_path):
    # 10117 is a Berlin Postleitzahl, and a US ZIP code in New York too.
    path = accounts_csv(tmp_path, ["A1,10117,DE,1,1", "A2,10117,USA,1,1"],
                        header="account_id,postal_code,country,potential,workload")
    err = error_of(load_accounts, path)
    assert err.problem.endswith("country not the US (offline places are US ZIP codes and cities): row 2 ('DE')")


def test_on_missing_skip_leaves_the_rows_out_and_lists_them(tmp_path):
    path = crm_scenario(tmp_path, accounts=f"{{file: Account.csv, columns: {ACCOUNT_COLUMNS}, "
                                           "geocode: {on_missing: skip}}")
    write(tmp_path, "Account.csv", ACCOUNT_CSV.replace('"78701"', '"99999"'))
    inputs = load_inputs(load_scenario(path))
    assert inputs.accounts["account_id"].tolist() == ["0015e00000AbCdEAAV", "0015e00000AbCdGAAV"]
    assert ("accounts: 1 row left out, no coordinates and no place (data.accounts.geocode.on_missing: skip): "
            "postal_code not a known US ZIP code: row 3 ('99999')") in inputs.notes


def test_reps_left_out_have_their_accounts_re_planned(tmp_path):
    reps = f"{{file: User.csv, columns: {USER_COLUMNS}, geocode: {{on_missing: skip}}}}"
    path = crm_scenario(tmp_path, reps=reps)
    write(tmp_path, "User.csv", USER_CSV.replace('"Dallas","TX"', '"Atlantis","TX"'))
    inputs = load_inputs(load_scenario(path))
    assert inputs.reps["rep_id"].tolist() == ["0055e000001XyZbAAK"]
    assert any("city and state not found: row 2 ('Atlantis', 'TX'" in n for n in inputs.notes)
    assert "accounts: 2 owned by reps left out of the reps file are re-planned" in inputs.notes


def test_skipping_every_row_is_still_an_error(tmp_path):
    path = accounts_csv(tmp_path, ["A1,99999,1,1"])
    err = error_of(load_accounts, Source(path, on_missing="skip"))
    assert "every row of the file" in err.problem


def test_without_coordinates_or_postal_code_the_fix_says_what_would_place_them(tmp_path):
    path = write(tmp_path, "a.csv", "account_id,potential,workload\nA1,1,1\n")
    err = error_of(load_accounts, path)
    assert err.column == "lat" and "postal_code column" in err.fix


def test_planar_and_none_geometry_place_nothing(tmp_path):
    path = accounts_csv(tmp_path, ["A1,02116,1,1"])
    err = error_of(load_accounts, path, geometry="planar")
    assert err.column == "x"
    assert np.isnan(load_accounts(path, geometry="none").loc[0, "lat"])


def test_a_state_written_as_its_name_places_a_rep_as_the_crm_import_does(tmp_path):
    path = write(tmp_path, "reps.csv", "rep_id,city,state,capacity_hours\nR1,Dallas,Texas,1000\nR2,Boston, massachusetts ,1000\n")
    reps = load_reps(path)
    assert reps.loc[0, ["lat", "lon"]].tolist() == pytest.approx(city_point("Dallas", "TX"))
    assert reps.loc[1, ["lat", "lon"]].tolist() == pytest.approx(city_point("Boston", "MA"))


def test_accounts_are_placed_by_city_and_state_after_their_zip_code(tmp_path):
    path = accounts_csv(tmp_path, ["A1,75201,,,1,1", "A2,,Austin,Texas,1,1", "A3,99999,Boston,MA,1,1"],
                        header="account_id,postal_code,city,state,potential,workload")
    loaded = read_accounts(path)
    assert loaded.frame[["lat", "lon"]].to_numpy() == pytest.approx(
        np.array([zip_point("75201"), city_point("Austin", "TX"), city_point("Boston", "MA")]))
    assert loaded.notes == ("accounts: 3 rows without coordinates placed: 1 by ZIP code, 2 by city and state "
                            "(offline, centroids of the zipcodes package)",)


def test_an_account_at_0_0_is_placed_by_its_address_and_the_notes_say_so(tmp_path):
    # 0, 0 is where a failed geocoding leaves a record: planned there, it would be 10,000 km from any rep.
    path = accounts_csv(tmp_path, ["A1,40.5,-74.5,02116,1,1", "A2,0,0,75201,1,1", "A3,0,0.0,,1,1"],
                        header="account_id,lat,lon,postal_code,potential,workload")
    err = error_of(load_accounts, path)
    assert "1 row has no coordinates and cannot be placed offline: coordinates 0, 0 (read as none), and " \
           "postal_code blank: row 4" in err.problem and "(0, 0 is read as no coordinates)" in err.fix
    loaded = read_accounts(Source(path, on_missing="skip"))
    assert loaded.frame["account_id"].tolist() == ["A1", "A2"] and loaded.left_out == ("A3",)
    assert loaded.frame.loc[1, ["lat", "lon"]].tolist() == list(zip_point("75201"))
    assert loaded.notes[:2] == (
        "accounts: 2 rows at lat 0, lon 0 read as without coordinates (where a failed geocoding leaves a record, "
        "in the Gulf of Guinea)",
        "accounts: 1 row without coordinates placed by ZIP code (offline, centroids of the zipcodes package)")


def test_an_account_at_0_0_in_a_file_without_addresses_is_an_error_naming_it(tmp_path):
    path = write(tmp_path, "a.csv", "account_id,Latitude,Longitude,potential,workload\nA1,40,-74,1,1\nA2,0,0,1,1\n")
    err = error_of(load_accounts, path)
    assert (err.row, err.column, err.value) == (3, "lat", "0")
    assert err.problem.endswith("cannot be placed offline: coordinates 0, 0 (read as none): row 3")
    assert err.fix.startswith("fill lat and lon in those rows (0, 0 is read as no coordinates), or give the file "
                              "a postal_code column")
    assert load_accounts(path, geometry="none").loc[1, "lat"] == 0  # no geography, nothing placed: kept


def test_places_are_decided_row_by_row_alike_for_files_and_crm_records():
    from territory_planner.data.places import locate, place_rows

    assert locate(32.0, -96.0, "02116", "", "", "") == (32.0, -96.0, "given", ())
    assert locate("0", "0", "75201", "", "", "US")[:3] == (*zip_point("75201"), "zip")
    assert locate(None, None, "", "Dallas", "Texas", "United States")[2] == "city"
    assert locate(None, None, "10115", "Berlin", "", "Germany")[2] == ""  # not looked up: also a New York ZIP
    done = place_rows([0.0, np.nan, 40.0], [0.0, np.nan, -74.0], ["", "99999", ""], ["", "Dalas", ""],
                      ["", "TX", ""], ["", "", ""])
    assert done.source.tolist() == ["", "", "given"] and done.zero.tolist() == [True, False, False]
    assert done.reasons == (("coordinates 0, 0 (read as none), and postal_code, city and state blank", ""),
                            ("postal_code not a known US ZIP code, and city and state not found",
                             "'99999'; 'Dalas', 'TX', did you mean 'Dallas'?"))


# --- Export quirks -----------------------------------------------------------------------------------


def test_utf8_with_byte_order_mark_maps_its_first_column(tmp_path):
    path = write(tmp_path, "Account.csv", b"\xef\xbb\xbf" + ACCOUNT_CSV.encode("utf-8"))
    loaded = read_accounts(Source(path, columns={"account_id": "Id", "potential": "AnnualRevenue",
                                                 "workload": "Workload_Hours__c", "lat": "BillingLatitude",
                                                 "lon": "BillingLongitude", "postal_code": "BillingPostalCode"}))
    assert loaded.frame["account_id"].tolist()[0] == "0015e00000AbCdEAAV"
    assert not any("cp1252" in n for n in loaded.notes)


def test_windows_1252_text_is_read_and_said(tmp_path):
    text = "account_id,name,lat,lon,potential,workload\nA1,Café Crème,40,-74,1,1\nA2,Müller – Søn €,41,-75,2,2\n"
    path = accounts_csv(tmp_path, [], header=text.rstrip("\n"), encoding="cp1252")
    loaded = read_accounts(path)
    assert loaded.frame["name"].tolist() == ["Café Crème", "Müller – Søn €"]
    assert loaded.notes == ("accounts.csv: read as Windows-1252 (cp1252) text, not UTF-8",)


def test_latin1_text_is_read_too(tmp_path):
    path = accounts_csv(tmp_path, ["A1,Zoë Ångström,40,-74,1,1"], header="account_id,name,lat,lon,potential,workload",
                        encoding="latin-1")
    assert load_accounts(path)["name"].tolist() == ["Zoë Ångström"]


def test_semicolons_and_decimal_commas_as_european_excel_writes_them(tmp_path):
    path = write(tmp_path, "accounts.csv", "account_id;name;lat;lon;postal_code;potential;workload\n"
                                           "A1;Acme, Inc.;40,7128;-74,006;02116;1.234,56;10\n"
                                           "A2;Beta;41;-75,5;75201;987,5;2,5\n", encoding="cp1252")
    loaded = read_accounts(path)
    frame = loaded.frame
    assert frame["name"].tolist() == ["Acme, Inc.", "Beta"]
    assert frame["lat"].tolist() == [40.7128, 41.0] and frame["lon"].tolist() == [-74.006, -75.5]
    assert frame["potential"].tolist() == [1234.56, 987.5] and frame["workload"].tolist() == [10.0, 2.5]
    assert frame["postal_code"].tolist() == ["02116", "75201"]  # codes stay as written
    assert loaded.notes == ("accounts.csv: read as ';'-separated",
                            "accounts.csv: decimal commas read as decimal points in lat, lon, potential, workload",
                            "accounts.csv: '.' read as a thousands separator (1.234 = 1234) in potential")


def semicolon_column(folder, cells, header="potential"):
    """A ';' file of one number column beside an id, as read (cells as text, and the notes)."""
    path = write(folder, "a.csv", "\n".join([f"account_id;{header}", *(f"A{i};{c}" for i, c in enumerate(cells))]) + "\n")
    return read(path)


def test_thousands_dots_in_a_semicolon_file_are_thousands(tmp_path):
    # European Excel writes 1234 as "1.234" when the cell groups thousands; no decimal comma needs to be there.
    path = write(tmp_path, "accounts.csv", "account_id;lat;lon;potential;workload\n"
                                           "A1;40;-74;1.234;10\nA2;41;-75;12.500;1.040\nA3;42;-76;3.750;8\n"
                                           "A4;43;-77;1.200.000;9\n")
    loaded = read_accounts(path)
    assert loaded.frame["potential"].tolist() == [1234.0, 12500.0, 3750.0, 1_200_000.0]
    assert loaded.frame["workload"].tolist() == [10.0, 1040.0, 8.0, 9.0]
    assert "accounts.csv: '.' read as a thousands separator (1.234 = 1234) in potential, workload" in loaded.notes


def test_a_column_mixing_thousands_dots_and_decimal_commas_is_european(tmp_path):
    table = semicolon_column(tmp_path, ["1.234", "1,5", "12.500,25", "-7"])
    assert table.frame["potential"].tolist() == ["1234", "1.5", "12500.25", "-7"]
    assert table.notes == ("a.csv: read as ';'-separated",
                           "a.csv: decimal commas read as decimal points in potential",
                           "a.csv: '.' read as a thousands separator (1.234 = 1234) in potential")


def test_decimal_points_elsewhere_in_the_column_keep_a_dot_a_decimal_point(tmp_path):
    # "0.5" and "41.25" cannot group thousands: the column is written with decimal points, 1.234 is 1.234.
    table = semicolon_column(tmp_path, ["1.234", "0.5", "41.25", "0.500"])
    assert table.frame["potential"].tolist() == ["1.234", "0.5", "41.25", "0.500"]
    assert table.notes[-1] == ("a.csv: '.' read as a decimal point (1.234 = 1.234) in potential: other cells of "
                               "the column have decimal points that cannot group thousands")


def test_a_column_that_may_be_either_is_refused_listing_its_cells(tmp_path):
    # A writer grouping thousands would have written 12.500: "1.234" may be 1234 or 1.234.
    err = error_of(semicolon_column, tmp_path, ["1.234", "12500", "3.750", "7"], header="Revenue")
    assert (err.row, err.column, err.value) == (2, "Revenue", "1.234")
    assert err.problem == ("cannot tell how the numbers of this column are written: row 2 ('1.234'), row 4 ('3.750') "
                           "may have a '.' between thousands (1.234 = 1234) or a decimal point (1.234), and row 3 "
                           "('12500') has no '.' between thousands")
    assert "write the column's numbers one way" in err.fix


def test_ids_text_and_codes_in_a_semicolon_file_stay_as_written(tmp_path):
    path = write(tmp_path, "a.csv", "Id;OwnerId;version;postal_code;mixed\n1.234;5.678;1.234;02116;1,5\n"
                                    "2.345;6.789;beta;75201;2.5\n")
    frame = read(path).frame
    assert frame["Id"].tolist() == ["1.234", "2.345"] and frame["OwnerId"].tolist() == ["5.678", "6.789"]
    assert frame["version"].tolist() == ["1.234", "beta"] and frame["postal_code"].tolist() == ["02116", "75201"]
    assert frame["mixed"].tolist() == ["1,5", "2.5"]  # a comma and a point: left for the loader to name


def test_a_comma_separated_file_keeps_its_commas(tmp_path):
    path = accounts_csv(tmp_path, ['A1,40,-74,"1,5",1'], header="account_id,lat,lon,potential,workload")
    err = error_of(load_accounts, path)
    assert err.column == "potential" and err.value == "1,5"


@pytest.mark.parametrize("tail", ["\n\n\n", ";;;;;;\n;;;;;;\n", "\n ;  ; \n\r\n"])
def test_trailing_blank_rows_are_ignored(tmp_path, tail):
    path = write(tmp_path, "accounts.csv", "account_id;lat;lon;potential;workload\nA1;40;-74;1;1\nA2;41;-75;2;2\n"
                 + tail)
    assert load_accounts(path)["account_id"].tolist() == ["A1", "A2"]


def test_trailing_blank_excel_rows_are_ignored(tmp_path):
    accounts = load_accounts(Source(workbook(tmp_path), sheet="Accounts", header_row=3,
                                    columns={"account_id": "Account ID", "postal_code": "Billing Zip",
                                             "potential": "Revenue", "workload": "Hours"}))
    assert len(accounts) == 2


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_duplicate_header_names_both_columns_and_their_positions(tmp_path, suffix):
    header = ["Id", "Name", "BillingCity", "Name", "AnnualRevenue"]
    path = tmp_path / f"Account{suffix}"
    if suffix == ".csv":
        path.write_text(",".join(header) + "\nA1,Acme,Dallas,Dana,5\n")
    else:
        book = openpyxl.Workbook()
        book.active.append(header)
        book.active.append(["A1", "Acme", "Dallas", "Dana", 5])
        book.save(path)
    err = error_of(read, path)
    assert (err.row, err.column) == (1, "Name")
    assert "columns 2 (B) and 4 (D) are both named 'Name'" in err.problem and "rename one of the two" in err.fix


# --- Properties ----------------------------------------------------------------------------------------


def european(value: float, decimals: int, thousands: bool) -> str:
    """``value`` as European Excel writes it: decimal comma, optional '.' between thousands."""
    text = f"{abs(value):,.{decimals}f}" if thousands else f"{abs(value):.{decimals}f}"
    text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return ("-" if value < 0 else "") + text


@settings(max_examples=200, deadline=None)
@given(st.floats(-1e9, 1e9, allow_nan=False), st.integers(1, 4), st.booleans())
def test_property_decimal_commas_read_back_the_number(value, decimals, thousands):
    text = european(value, decimals, thousands)
    assert float(decimal_comma_to_point(text)) == pytest.approx(round(value, decimals), abs=10 ** -decimals)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-10**9, 10**9), st.decimals(-10**7, 10**7, places=2, allow_nan=False,
                                                                  allow_infinity=False)), min_size=1, max_size=8),
       st.booleans())
def test_property_a_european_column_reads_back_its_numbers(tmp_path_factory, values, thousands):
    """Whole numbers and decimal commas, thousands grouped or not (the same way in the column), read back exact."""
    cells = [european(float(v), 0 if isinstance(v, int) else 2, thousands) for v in values]
    table = semicolon_column(tmp_path_factory.mktemp("eu"), cells)
    assert [float(c) for c in table.frame["potential"]] == [float(v) for v in values]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from([1, 2, 3, 4])), min_size=1,
                max_size=8).filter(lambda cells: any(d != 3 for _, d in cells)))
def test_property_a_column_with_decimal_points_reads_back_as_written(tmp_path_factory, cells):
    """A ';' file written with decimal points: one cell that cannot group thousands keeps every '1.234' a decimal."""
    texts = [f"{v:.{d}f}" for v, d in cells]
    table = semicolon_column(tmp_path_factory.mktemp("pt"), texts)
    assert table.frame["potential"].tolist() == texts


HEADER = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
CELL = st.text(alphabet="abc XYZ019.-\"", max_size=8)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([",", ";", "\t", "|"]), st.integers(2, 6), st.data())
def test_property_the_delimiter_a_file_was_written_with_is_found(delimiter, width, data):
    header = data.draw(st.lists(HEADER, min_size=width, max_size=width, unique=True))
    # Cells may hold the separator itself (the writer quotes them) and, in ';' files, decimal commas.
    cell = st.one_of(CELL, st.just(f"x{delimiter}y"), *([st.just("1,5")] if delimiter == ";" else []))
    rows = data.draw(st.lists(st.lists(cell, min_size=width, max_size=width), min_size=1, max_size=6))
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows([header, *rows])
    assert sniff_delimiter(out.getvalue()) == delimiter


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-89, 89), st.floats(-179, 179), st.floats(0, 1e7))
                .filter(lambda r: (round(r[0], 4), round(r[1], 4)) != (0, 0)),  # 0, 0 is no place (data/places.py)
                min_size=1, max_size=8))
def test_property_a_european_file_loads_the_numbers_it_was_written_from(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("eu")
    lines = ["account_id;lat;lon;potential;workload"]
    lines += [f"A{i};{european(lat, 4, False)};{european(lon, 4, False)};{european(p, 2, True)};1"
              for i, (lat, lon, p) in enumerate(rows)]
    accounts = load_accounts(write(folder, "a.csv", "\n".join(lines) + "\n"))
    assert accounts["lat"].tolist() == pytest.approx([round(r[0], 4) for r in rows], abs=1e-4)
    assert accounts["lon"].tolist() == pytest.approx([round(r[1], 4) for r in rows], abs=1e-4)
    assert accounts["potential"].tolist() == pytest.approx([round(r[2], 2) for r in rows], abs=1e-2)


@pytest.mark.parametrize("module", [files, places, sources, geocode, columns])
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0
