"""``territory-planner export`` (issue 27, part 3): a Plan as a CRM's load files, and back.

The round trips import a fake CRM export with the import side (``territory_planner.crm``),
plan it, export the plan, "load" the export into the fake CRM the way its tool would
(Data Loader inserts with new Ids and success files, ``--resolve`` in between; HubSpot's
companies import; the Dynamics import wizard resolving lookups by name) and import again:
the accounts come back with the plan's reps. Every plan here has 40 accounts and solves in
well under a second.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import replace
from itertools import count
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from territory_planner.cli import app
from territory_planner.crm import (
    ImportOptions,
    import_dynamics,
    import_hubspot,
    import_salesforce,
    write_import,
)
from territory_planner.crm.export import render_export, resolve_export, write_export
from territory_planner.crm.exporting import ExportOptions, UniqueNames, slug, valid_developer_name
from territory_planner.errors import InputError
from territory_planner.outputs.files import FORMULA_PREFIXES
from territory_planner.outputs.report import write_plan
from territory_planner.pipeline import plan
from territory_planner.scenario import parse_scenario

HYPERLINK = '=HYPERLINK("http://x","y")'
BOM = "\ufeff"
N_ACCOUNTS = 40


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def plan_folder(folder: Path, **extra):
    """Plan accounts.csv and reps.csv of ``folder``: balance tight enough that accounts move."""
    raw = {"name": "crm", "data": {"accounts": "accounts.csv", "reps": "reps.csv"},
           "balance": {"potential": 0.15}, "solver": {"time_limit": 20}, **extra}
    return plan(parse_scenario(raw, base_dir=folder))


def assignment(plan_result) -> dict[str, str]:
    a = plan_result.assignments
    return dict(zip(a["account_id"].astype(str), a["rep_id"].astype(str), strict=True))


def points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(31, 44, n).round(5), rng.uniform(-110, -76, n).round(5)


# --------------------------------------------------------------------------- a plan from files


def small_plan(tmp_path: Path, *, crm: bool = True, open_seat: bool = True, rep_names=None, hierarchy: bool = False,
               email: bool = True):
    """40 accounts (one named like a formula), 4 reps (the last an open seat), today's
    alignment lopsided so the plan moves accounts."""
    lat, lon = points(N_ACCOUNTS, 3)
    rng = np.random.default_rng(4)
    accounts = pd.DataFrame({
        "account_id": [f"A{i:03d}" for i in range(N_ACCOUNTS)],
        "name": [HYPERLINK if i == 0 else f"Account {i}" for i in range(N_ACCOUNTS)],
        "lat": lat, "lon": lon, "potential": rng.integers(50, 150, N_ACCOUNTS).astype(float), "workload": 10.0,
        "current_rep_id": ["R0" if i % 3 else "R1" for i in range(N_ACCOUNTS)]})
    if crm:
        accounts["crm_id"] = [f"001Xx{i:013d}" for i in range(N_ACCOUNTS)]
    rlat, rlon = points(4, 5)
    reps = pd.DataFrame({"rep_id": ["R0", "R1", "R2", "R3"],
                         "name": rep_names or ["Ann Lee", "Bo Chen", "Zoë O'Neil", "Dallas hire"],
                         "lat": rlat, "lon": np.sort(rlon), "capacity_hours": 1000.0,
                         "status": ["active", "active", "active", "open" if open_seat else "active"],
                         "region": ["West", "West", "East", "East"]})
    if email:
        reps["email"] = ["ann@example.com", "bo@example.com", "zoe@example.com", ""]
    if crm:
        reps["crm_id"] = [f"005Xx{j:013d}" for j in range(3)] + ["" if open_seat else f"005Xx{3:013d}"]
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    reps.to_csv(tmp_path / "reps.csv", index=False)
    extra = {"hierarchy": {"levels": ["region"], "balance": {"potential": 0.6}}} if hierarchy else {}
    return plan_folder(tmp_path, **extra)


# --------------------------------------------------------------------------- a fake Salesforce org

ids = count(100_000)  # new Ids, above the fixed ones of the fake exports
PREFIX = {"Territory2Model": "0MA", "Territory2Type": "0M5", "Territory2": "0MI", "ObjectTerritory2Association": "0R0",
          "UserTerritory2Association": "0R1"}


def sf_id(prefix: str, i: int | None = None) -> str:
    """An 18-character Salesforce-like Id."""
    return f"{prefix}Xx{next(ids) if i is None else i:013d}"


def salesforce_org(*, inactive_owner: bool = False) -> dict[str, pd.DataFrame]:
    """Accounts, 4 users and 5 territories of the active model (the last without a user: an
    open seat); 30 of the 40 accounts sit in the first territory."""
    lat, lon = points(N_ACCOUNTS, 7)
    rng = np.random.default_rng(8)
    model = sf_id("0MA", 0)
    users = pd.DataFrame({"Id": [sf_id("005", j) for j in range(4)],
                          "Name": ["Ann Lee", "Bo Chen", "=cmd|' /C calc'!A0", "Dee Park"],
                          "Email": [f"u{j}@example.com" for j in range(4)],
                          "IsActive": ["true", "true", "true", "false" if inactive_owner else "true"],
                          "Latitude": points(4, 9)[0], "Longitude": np.sort(points(4, 9)[1])})
    territories = pd.DataFrame({"Id": [sf_id("0MI", t) for t in range(5)],
                                "Name": ["North", "South", "@East", "West", "Vacant"],
                                "DeveloperName": ["North", "South", "East", "West", "Vacant"],
                                "Territory2ModelId": model, "Territory2TypeId": sf_id("0M5", 0),
                                "ParentTerritory2Id": "", "Description": ""})
    home = [0 if i < 30 else 1 + i % 4 for i in range(N_ACCOUNTS)]
    accounts = pd.DataFrame({"Id": [sf_id("001", i) for i in range(N_ACCOUNTS)],
                             "Name": [HYPERLINK if i == 0 else f"Account {i}" for i in range(N_ACCOUNTS)],
                             "BillingLatitude": lat, "BillingLongitude": lon,
                             "AnnualRevenue": rng.integers(50, 150, N_ACCOUNTS) * 1000,
                             "OwnerId": [users["Id"][min(h, 3)] for h in home]})
    ota = pd.DataFrame({"Id": [sf_id("0R0", i) for i in range(N_ACCOUNTS)], "ObjectId": accounts["Id"],
                        "Territory2Id": [territories["Id"][h] for h in home], "AssociationCause": "Territory2Manual"})
    uta = pd.DataFrame({"Id": [sf_id("0R1", j) for j in range(4)], "UserId": users["Id"],
                        "Territory2Id": territories["Id"][:4].to_numpy(), "RoleInTerritory2": "Owner"})
    models = pd.DataFrame({"Id": [model], "Name": ["Today"], "DeveloperName": ["Today"], "Description": [""]})
    return {"Account": accounts, "User": users, "Territory2": territories, "ObjectTerritory2Association": ota,
            "UserTerritory2Association": uta, "Territory2Model": models,
            "Territory2Type": pd.DataFrame({"Id": [sf_id("0M5", 0)], "DeveloperName": ["Sales"], "MasterLabel": ["Sales"],
                                            "Priority": ["1"], "Description": [""]})}


def import_org(org: dict, folder: Path, *, model: str | None = None, territories: bool = True):
    """Write the org's exports (one model's territories) and import them; the import folder."""
    folder.mkdir(parents=True, exist_ok=True)
    terr = org["Territory2"]
    if model is not None:
        terr = terr[terr["Territory2ModelId"] == model]
    ota = org["ObjectTerritory2Association"]
    uta = org["UserTerritory2Association"]
    exports = {"Account.csv": org["Account"], "User.csv": org["User"], "Territory2.csv": terr,
               "ObjectTerritory2Association.csv": ota[ota["Territory2Id"].isin(terr["Id"])],
               "UserTerritory2Association.csv": uta[uta["Territory2Id"].isin(terr["Id"])]}
    for name, frame in exports.items():
        frame.to_csv(folder / name, index=False)
    extra = dict(territories=folder / "Territory2.csv", account_territories=folder / "ObjectTerritory2Association.csv",
                 user_territories=folder / "UserTerritory2Association.csv") if territories else {}
    imported = import_salesforce(folder / "Account.csv", folder / "User.csv", **extra)
    write_import(imported, folder / "import")
    return imported, folder / "import"


def data_loader(org: dict, export_dir: Path, work: Path) -> list[str]:
    """Load an export folder into the org as LOAD_ORDER.md says: each insert gives new Ids
    and a success file, which ``--resolve`` fills in before any file that needs them is
    loaded. Returns the actions taken."""
    done = []
    for step in json.loads((export_dir / "export.json").read_text())["steps"]:
        manifest = json.loads((export_dir / "export.json").read_text())
        assert step["file"] not in manifest["pending"], f"{step['file']} loaded before its Ids were filled in"
        raw = (export_dir / step["file"]).read_bytes()
        assert not raw.startswith(BOM.encode()), "Data Loader reads a BOM as part of the first header"
        rows = read(export_dir / step["file"])
        action, obj = step["action"].split(" ", 1)
        table = org.setdefault(obj, pd.DataFrame({"Id": []}))
        if action == "insert":
            rows.insert(0, "ID", [sf_id(PREFIX[obj]) for _ in range(len(rows))])
            org[obj] = pd.concat([table, rows.rename(columns={"ID": "Id"})], ignore_index=True).fillna("")
            success = rows.assign(STATUS="Item Created")
            path = work / f"success_{obj}.csv"
            success.to_csv(path, index=False)
            if any(r["object"] == obj for cols in manifest["pending"].values() for r in cols.values()):
                resolve_export(export_dir, [path])
        elif action == "update":
            by_id = table.set_index("Id")
            for column in rows.columns.drop("Id"):
                by_id.loc[rows["Id"], column] = rows[column].to_numpy()
            org[obj] = by_id.reset_index()
        elif action == "delete":
            assert set(rows["Id"]) <= set(table["Id"])
            org[obj] = table[~table["Id"].isin(rows["Id"])].reset_index(drop=True)
        done.append(step["action"])
    return done


def test_salesforce_round_trip_current_model(tmp_path):
    """Import (territories) → plan → export the changes → Data Loader → import: the plan's reps."""
    org = salesforce_org()
    _, folder = import_org(org, tmp_path / "org")
    result = plan_folder(folder)
    moved = result.assignments["moved"].sum()
    assert moved >= 5
    out = tmp_path / "sf"
    export = write_export(result, "salesforce", out, ExportOptions(label="board pick"))
    assert "changes to the current territory model" in " ".join(export.header)
    names = {s.file for s in export.steps}
    assert names == {"ObjectTerritory2Association_delete.csv", "ObjectTerritory2Association.csv",
                     "Account_owner_update.csv"}  # every territory exists: nothing else to load
    deletes, inserts = read(out / "ObjectTerritory2Association_delete.csv"), read(out / "ObjectTerritory2Association.csv")
    assert len(deletes) == len(inserts) == moved  # a move is a delete plus an insert
    assert set(inserts["AssociationCause"]) == {"Territory2Manual"}
    assert data_loader(org, out, tmp_path) == ["delete ObjectTerritory2Association",
                                               "insert ObjectTerritory2Association", "update Account"]
    again, _ = import_org(org, tmp_path / "again")
    back = dict(zip(again.accounts["account_id"], again.accounts["current_rep_id"], strict=True))
    assert back == assignment(result)
    # Owners follow, except the accounts of the open seat (no user), which LOAD_ORDER lists.
    seat = result.territories.loc[result.territories["status"] == "open", "rep_id"].tolist()
    owners = dict(zip(org["Account"]["Id"], org["Account"]["OwnerId"], strict=True))
    for account, rep in assignment(result).items():
        if rep not in seat:
            assert owners[account] == rep
    assert (result.assignments["rep_id"] == seat[0]).any()
    text = (out / "LOAD_ORDER.md").read_text()
    assert "Open seat 'Vacant'" in text and "need an owner" in text


def test_salesforce_current_model_with_a_territory_new_to_the_org(tmp_path):
    """A user without a territory today joins the plan: the current model gets a new
    territory, which needs the model's and a type's Id, and the associations into it are
    resolved from Data Loader's success file."""
    org = salesforce_org()
    org["User"].loc[4] = [sf_id("005", 4), "Eve Ng", "eve@example.com", "true", 38.0, -95.0]
    org_dir = tmp_path / "org"
    _, folder = import_org(org, org_dir)
    imported = import_salesforce(org_dir / "Account.csv", org_dir / "User.csv", territories=org_dir / "Territory2.csv",
                                 account_territories=org_dir / "ObjectTerritory2Association.csv",
                                 user_territories=org_dir / "UserTerritory2Association.csv",
                                 options=ImportOptions(all_users=True))
    write_import(imported, org_dir / "all")
    result = plan_folder(org_dir / "all")
    eve = sf_id("005", 4)
    assert (result.assignments["rep_id"] == eve).any()
    with pytest.raises(InputError, match="--model-id and --type-id"):
        render_export(result, "salesforce", ExportOptions())
    model, kind = org["Territory2Model"]["Id"][0], org["Territory2Type"]["Id"][0]
    out = tmp_path / "sf"
    export = write_export(result, "salesforce", out, ExportOptions(model_id=model, type_id=kind))
    new = read(out / "Territory2.csv")
    assert new[["Name", "DeveloperName", "Territory2ModelId", "Territory2TypeId"]].values.tolist() == [
        ["Eve Ng", "Eve_Ng", model, kind]]
    assert read(out / "UserTerritory2Association.csv")[["UserId", "Territory2Id"]].values.tolist() == [[eve, "Eve_Ng"]]
    assert export.pending["ObjectTerritory2Association.csv"]["Territory2Id"]["names"] == ["Eve_Ng"]
    data_loader(org, out, tmp_path)
    again, _ = import_org(org, tmp_path / "again")
    back = dict(zip(again.accounts["account_id"], again.accounts["current_rep_id"], strict=True))
    assert back == assignment(result)


def test_salesforce_round_trip_new_model_with_hierarchy_and_resolve(tmp_path):
    """Owner alignment → plan with regions → a new model: model, types, territories (regions
    as parents), users, associations; each insert's success file resolved into the files
    after it; the new model imported back gives the plan."""
    org = salesforce_org(inactive_owner=True)  # Dee Park left: her accounts are an open seat's
    _, folder = import_org(org, tmp_path / "org", territories=False)
    reps = read(folder / "reps.csv")
    west = reps["lon"].astype(float).rank() <= len(reps) / 2
    reps["region"] = np.where(west, "West", "East")
    reps.to_csv(folder / "reps.csv", index=False)
    result = plan_folder(folder, hierarchy={"levels": ["region"], "balance": {"potential": 0.6}})
    out = tmp_path / "sf"
    export = write_export(result, "salesforce", out, ExportOptions(label="FY27 plan"))
    assert [s.file for s in export.steps] == ["Territory2Model.csv", "Territory2Type.csv", "Territory2.csv",
                                             "Territory2_parent_update.csv", "UserTerritory2Association.csv",
                                             "ObjectTerritory2Association.csv", "Account_owner_update.csv"]
    territories = read(out / "Territory2.csv")
    assert territories["Name"].head(2).tolist() == ["East", "West"]  # parents first
    assert all(valid_developer_name(d) for d in territories["DeveloperName"])
    assert territories["DeveloperName"].str.lower().is_unique
    assert set(export.pending) == {"Territory2.csv", "Territory2_parent_update.csv", "UserTerritory2Association.csv",
                                   "ObjectTerritory2Association.csv"}
    load_order = (out / "LOAD_ORDER.md").read_text()
    assert "Planning state" in load_order and "--resolve success_Territory2.csv" in load_order
    data_loader(org, out, tmp_path)
    manifest = json.loads((out / "export.json").read_text())
    assert manifest["pending"] == {} and "Every id is filled in" in (out / "LOAD_ORDER.md").read_text()
    new_model = org["Territory2Model"]["Id"].iloc[-1]
    terr = org["Territory2"].set_index("Id")
    mine = terr[terr["Territory2ModelId"] == new_model]
    assert len(mine) == len(result.territories) + 2  # + the regions East and West
    uta = org["UserTerritory2Association"]
    in_model = uta[uta["Territory2Id"].isin(mine.index)]
    region_of = dict(zip(reps["rep_id"], reps["region"], strict=True))
    assert len(in_model) == (result.territories["status"] != "open").sum()
    for user, territory in zip(in_model["UserId"], in_model["Territory2Id"], strict=True):
        assert mine.loc[mine.loc[territory, "ParentTerritory2Id"], "Name"] == region_of[user]
    again, _ = import_org(org, tmp_path / "again", model=new_model)
    back = dict(zip(again.accounts["account_id"], again.accounts["current_rep_id"], strict=True))
    seats = set(result.territories.loc[result.territories["status"] == "open", "rep_id"])
    assert seats  # the inactive owner
    for account, rep in assignment(result).items():
        if rep in seats:
            assert back[account] in set(mine.index)  # in the seat's territory, which has no user
        else:
            assert back[account] == rep


def test_resolve_errors_leave_the_folder_as_it_was(tmp_path):
    result = small_plan(tmp_path)
    out = tmp_path / "sf"
    write_export(result, "salesforce", out, ExportOptions(salesforce_model="new"))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    success = read(out / "Territory2Model.csv").iloc[:0].assign(ID=[], STATUS=[])
    success.to_csv(tmp_path / "success_Territory2Model.csv", index=False)  # the row failed: not in it
    with pytest.raises(InputError, match="not in the success file"):
        resolve_export(out, [tmp_path / "success_Territory2Model.csv"])
    pd.DataFrame({"ID": ["x"], "ERROR": ["bad"]}).to_csv(tmp_path / "error.csv", index=False)
    with pytest.raises(InputError, match="error file"):
        resolve_export(out, [tmp_path / "error.csv"])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_resolve_takes_an_org_export_and_inserts_split_in_batches(tmp_path):
    result = small_plan(tmp_path)
    out = tmp_path / "sf"
    write_export(result, "salesforce", out, ExportOptions(salesforce_model="new"))
    # The org has the type already: an export of Territory2Type (Id, DeveloperName) resolves it.
    pd.DataFrame({"Id": ["0M5Xx0000000000042"], "DeveloperName": ["TP_territory"]}).to_csv(tmp_path / "types.csv",
                                                                                          index=False)
    model = read(out / "Territory2Model.csv").assign(ID="0MAXx0000000000041")
    model.to_csv(tmp_path / "success_model.csv", index=False)
    manifest = resolve_export(out, [tmp_path / "types.csv", tmp_path / "success_model.csv"])
    territories = read(out / "Territory2.csv")
    assert set(territories["Territory2TypeId"]) == {"0M5Xx0000000000042"}
    assert set(territories["Territory2ModelId"]) == {"0MAXx0000000000041"}
    assert set(manifest["pending"]) == {"UserTerritory2Association.csv", "ObjectTerritory2Association.csv"}
    territories.insert(0, "ID", [f"0MIXx{i:013d}" for i in range(len(territories))])
    territories.iloc[:2].to_csv(tmp_path / "batch1.csv", index=False)
    territories.iloc[2:].to_csv(tmp_path / "batch2.csv", index=False)
    manifest = resolve_export(out, [tmp_path / "batch1.csv", tmp_path / "batch2.csv"])
    assert manifest["pending"] == {}
    ids = dict(zip(territories["DeveloperName"], territories["ID"], strict=True))
    associations = read(out / "ObjectTerritory2Association.csv")
    assert set(associations["Territory2Id"]) <= set(ids.values())
    with pytest.raises(InputError, match="nothing in this export waits for Territory2 Ids"):
        resolve_export(out, [tmp_path / "batch1.csv"])


# --------------------------------------------------------------------------- HubSpot


def test_hubspot_round_trip(tmp_path):
    lat, lon = points(N_ACCOUNTS, 12)
    rng = np.random.default_rng(13)
    owners = pd.DataFrame({"id": ["101", "102", "103", "104"], "email": [f"o{j}@example.com" for j in range(4)],
                           "firstName": ["Ann", "Bo", "Cy", "Dee"], "lastName": ["Lee", "Chen", "Diaz", "Park"],
                           "archived": ["false", "false", "false", "true"]})  # Dee left: an open seat
    companies = pd.DataFrame({"Record ID": [str(9_000_000_000 + i) for i in range(N_ACCOUNTS)],
                              "Company name": [HYPERLINK if i == 0 else f"Co {i}" for i in range(N_ACCOUNTS)],
                              "Company owner": ["o0@example.com" if i < 28 else f"o{1 + i % 3}@example.com"
                                                for i in range(N_ACCOUNTS)],
                              "Latitude": lat, "Longitude": lon,
                              "Annual Revenue": rng.integers(50, 150, N_ACCOUNTS) * 1000})
    org = tmp_path / "org"
    org.mkdir()
    owners.to_csv(org / "owners.csv", index=False)
    companies.to_csv(org / "companies.csv", index=False)
    write_import(import_hubspot(org / "companies.csv", org / "owners.csv"), org / "import")
    result = plan_folder(org / "import")
    assert result.assignments["moved"].sum() >= 5
    out = tmp_path / "hs"
    write_export(result, "hubspot", out, ExportOptions())
    raw = (out / "companies_import.csv").read_bytes()
    assert raw.startswith(BOM.encode())
    load = read(out / "companies_import.csv")
    assert list(load.columns) == ["Record ID", "Company owner", "Territory"]
    assert load["Record ID"].tolist() == sorted(load["Record ID"], key=int)
    # HubSpot's import: update existing companies by Record ID; a blank cell keeps the value.
    by_id = companies.set_index("Record ID")
    assert set(load["Record ID"]) <= set(by_id.index)
    for record, owner, territory in load.itertuples(index=False):
        if owner:
            by_id.loc[record, "Company owner"] = owner
        by_id.loc[record, "Territory"] = territory
    by_id.reset_index().to_csv(org / "companies_after.csv", index=False)
    again = import_hubspot(org / "companies_after.csv", org / "owners.csv")
    back = dict(zip(again.accounts["account_id"], again.accounts["current_rep_id"], strict=True))
    seats = set(result.territories.loc[result.territories["status"] == "open", "rep_id"])
    today = dict(zip(result.assignments["account_id"], result.assignments["current_rep_id"], strict=True))
    for account, rep in assignment(result).items():  # an open seat's accounts keep today's owner
        assert back[account] == (today[account] if rep in seats else rep)
    assert sum(rep in seats for rep in assignment(result).values()) >= 1
    assert set(load.loc[load["Company owner"] == "", "Territory"]) == {"Dee Park (open seat)"}


def test_hubspot_needs_owner_emails_and_lists_the_reps(tmp_path):
    result = small_plan(tmp_path, email=False)
    with pytest.raises(InputError, match=r"3 rep\(s\) have no HubSpot owner email.*R0 \(Ann Lee\)"):
        write_export(result, "hubspot", tmp_path / "hs", ExportOptions())
    assert not (tmp_path / "hs").exists()


# --------------------------------------------------------------------------- Dynamics 365


def guid() -> str:
    return str(uuid.UUID(int=next(ids)))


def test_dynamics_round_trip(tmp_path):
    lat, lon = points(N_ACCOUNTS, 21)
    rng = np.random.default_rng(22)
    users = pd.DataFrame({"systemuserid": [guid() for _ in range(4)], "fullname": ["Ann Lee", "Bo Chen", "Cy Diaz",
                                                                                   "Dee Park"],
                          "internalemailaddress": [f"u{j}@example.com" for j in range(4)],
                          "isdisabled": ["false", "false", "false", "true"],
                          "address1_latitude": points(4, 23)[0], "address1_longitude": np.sort(points(4, 23)[1])})
    territories = pd.DataFrame({"territoryid": [guid() for _ in range(4)], "name": ["North", "South", "East", "West"],
                                "managerid": users["systemuserid"], "parentterritoryid": ""})
    users["territoryid"] = territories["territoryid"]
    home = [0 if i < 28 else 1 + i % 3 for i in range(N_ACCOUNTS)]
    accounts = pd.DataFrame({"accountid": [guid() for _ in range(N_ACCOUNTS)],
                             "name": [HYPERLINK if i == 0 else f"Account {i}" for i in range(N_ACCOUNTS)],
                             "address1_latitude": lat, "address1_longitude": lon,
                             "revenue": rng.integers(50, 150, N_ACCOUNTS) * 1000,
                             "ownerid": [users["systemuserid"][h] for h in home],
                             "territoryid": [territories["territoryid"][h] for h in home]})
    org = tmp_path / "org"
    org.mkdir()

    def import_all(name: str):
        accounts.to_csv(org / "account.csv", index=False)
        users.to_csv(org / "systemuser.csv", index=False)
        territories.to_csv(org / "territory.csv", index=False)
        imported = import_dynamics(org / "account.csv", org / "systemuser.csv", territories=org / "territory.csv")
        write_import(imported, org / name)
        return imported

    import_all("import")
    result = plan_folder(org / "import", balance={"potential": 0.2})
    assert result.assignments["moved"].sum() >= 5
    out = tmp_path / "dyn"
    export = write_export(result, "dynamics", out, ExportOptions())
    assert "territory.csv" not in export.files  # every territory exists in Dynamics already
    # The import wizard: new territories first, then account updates; lookups by name.
    for step in export.steps:
        rows = read(out / step.file)
        assert (out / step.file).read_bytes().startswith(BOM.encode())
        if step.file.startswith("territory"):
            for row in rows.to_dict("records"):
                parent = territories.loc[territories["name"] == row["parentterritoryid"], "territoryid"]
                territories.loc[len(territories)] = [guid(), row["name"], row["managerid"],
                                                     parent.iloc[0] if len(parent) else ""]
            continue
        for row in rows.to_dict("records"):
            match = territories.loc[territories["name"] == row["territoryid"], "territoryid"]
            assert len(match) == 1, row
            at = accounts["accountid"] == row["accountid"]
            assert at.sum() == 1
            accounts.loc[at, "territoryid"] = match.iloc[0]
            if "ownerid" in row:
                accounts.loc[at, "ownerid"] = row["ownerid"]
    again = import_all("again")
    back = dict(zip(again.accounts["account_id"], again.accounts["current_rep_id"], strict=True))
    seats = set(result.territories.loc[result.territories["status"] == "open", "rep_id"])
    today = dict(zip(result.assignments["account_id"], result.assignments["current_rep_id"], strict=True))
    for account, rep in assignment(result).items():  # an open seat's accounts: its territory, today's owner
        assert back[account] == (today[account] if rep in seats else rep)
    rep_territory = dict(zip(result.reps["rep_id"], result.reps["territory_crm_id"], strict=True))
    territory_back = dict(zip(again.accounts["account_id"], again.accounts["territory_crm_id"], strict=True))
    assert all(territory_back[a] == rep_territory[r] for a, r in assignment(result).items())


def test_dynamics_hierarchy_writes_one_territory_file_per_level_parents_first(tmp_path):
    result = small_plan(tmp_path, hierarchy=True)
    export, files = render_export(result, "dynamics", ExportOptions())
    assert [s.file for s in export.steps][:2] == ["territory_1_region.csv", "territory.csv"]
    leaves = pd.read_csv(io.StringIO(files["territory.csv"].lstrip(BOM)), dtype=str, keep_default_na=False)
    assert set(leaves["parentterritoryid"]) == {"East", "West"}
    seat = leaves[leaves["name"] == "Dallas hire (open seat)"]
    assert len(seat) == 1 and seat["managerid"].iloc[0] == ""  # an open seat has no manager
    owners = pd.read_csv(io.StringIO(files["account_update.csv"].lstrip(BOM)), dtype=str)
    assert "Dallas hire (open seat)" not in set(owners["territoryid"])  # its accounts: territory only, owner kept
    assert "account_update_open_seats.csv" in files


# --------------------------------------------------------------------------- shared checks


def test_accounts_without_crm_ids_are_an_error_listing_them_and_nothing_is_written(tmp_path):
    result = small_plan(tmp_path, crm=False)
    for target in ("salesforce", "hubspot", "dynamics"):
        with pytest.raises(InputError) as info:
            write_export(result, target, tmp_path / target, ExportOptions())
        message = str(info.value)
        assert "A000, A001" in message and "--ids-are-crm-ids" in message and "import" in message
        assert not (tmp_path / target).exists()
    # Told that the ids are the CRM's, the export goes ahead (reps' ids too).
    export = write_export(result, "salesforce", tmp_path / "sf", ExportOptions(ids_are_crm_ids=True))
    assert "A000" in read(tmp_path / "sf" / "ObjectTerritory2Association.csv")["ObjectId"].tolist()
    assert export.target == "salesforce"


def test_a_blank_crm_id_is_named_and_a_rep_without_a_user_too(tmp_path):
    result = small_plan(tmp_path)
    a = result.assignments.copy()
    a.loc[5, "crm_id"] = None
    with pytest.raises(InputError, match=r"1 account\(s\) have no Salesforce record id in crm_id: A005"):
        render_export(replace(result, assignments=a), "salesforce")
    reps = result.reps.copy()
    reps.loc[reps["rep_id"] == "R1", "crm_id"] = None
    with pytest.raises(InputError, match=r"1 rep\(s\) have no Dynamics 365 user id .*R1"):
        render_export(replace(result, reps=reps), "dynamics")


def test_the_crm_ids_pass_through_the_plan_as_text(tmp_path):
    result = small_plan(tmp_path)
    assert result.assignments["crm_id"].tolist()[:2] == ["001Xx0000000000000", "001Xx0000000000001"]
    accounts = pd.read_csv(tmp_path / "accounts.csv")
    accounts["crm_id"] = [9_000_000_000 + i for i in range(N_ACCOUNTS)]  # HubSpot ids: digits, read as numbers
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    result = plan_folder(tmp_path)
    assert result.assignments["crm_id"].iloc[3] == "9000000003"


def test_no_cell_can_run_as_a_formula_in_any_csv_or_xlsx_written(tmp_path):
    """A name like =HYPERLINK(…) (an account, a rep, a territory) is inert everywhere."""
    result = small_plan(tmp_path, rep_names=["=Ann Lee", "-Bo Chen", "@Zoe", "+Dallas hire"])
    seen_hyperlink = 0
    for target in ("salesforce", "hubspot", "dynamics", "csv", "xlsx", "geojson"):
        _, files = render_export(result, target, ExportOptions(label="=label"))
        for name, content in files.items():
            if name.endswith(".csv"):
                cells = [c for row in csv.reader(io.StringIO(content.lstrip(BOM))) for c in row]
                live = [c for c in cells if c.startswith(FORMULA_PREFIXES) and not _number(c)]
                assert not live, (target, name, live[:3])
                seen_hyperlink += sum(c == "'" + HYPERLINK for c in cells)
            elif name.endswith(".xlsx"):
                book = load_workbook(io.BytesIO(content))
                for sheet in book.worksheets:
                    for row in sheet.iter_rows():
                        for cell in row:
                            if isinstance(cell.value, str):
                                assert cell.data_type == "s", (sheet.title, cell.coordinate, cell.value)
                                assert not cell.value.startswith(FORMULA_PREFIXES), cell.value
                name_cell = book["assignments"]["B2"]
                assert name_cell.value == "'" + HYPERLINK and name_cell.data_type == "s"
    assert seen_hyperlink == 1  # in the csv target's assignments.csv; CRM load files carry no names


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_developer_names_are_valid_unique_and_deterministic():
    assert slug("Zoë  O'Neil – West") == "Zoe_O_Neil_West"
    assert slug("42 North") == "T_42_North" and slug("__x__y__") == "x_y" and slug("") == "T"
    names = UniqueNames()
    taken = [names.take(slug(s)) for s in ["Ann Lee", "ann lee", "Ann_Lee", "A" * 100, "A" * 100]]
    assert taken[:3] == ["Ann_Lee", "ann_lee_2", "Ann_Lee_3"]
    assert all(valid_developer_name(t) for t in taken) and len({t.lower() for t in taken}) == len(taken)
    assert len(taken[3]) == 80 and taken[4].endswith("_2") and len(taken[4]) == 80
    assert not valid_developer_name("a__b") and not valid_developer_name("ab_") and not valid_developer_name("1ab")


def test_exports_are_deterministic_and_sorted(tmp_path):
    result = small_plan(tmp_path)
    for target in ("salesforce", "hubspot", "dynamics", "csv"):
        first = render_export(result, target, ExportOptions())[1]
        assert first == render_export(result, target, ExportOptions())[1], target
    owners = read_text_csv(render_export(result, "salesforce", ExportOptions())[1]["Account_owner_update.csv"])
    assert owners["Id"].tolist() == sorted(owners["Id"])


def read_text_csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text.lstrip(BOM)), dtype=str, keep_default_na=False)


def test_changed_only_writes_what_differs_and_says_what_was_left_out(tmp_path):
    result = small_plan(tmp_path)
    changed = result.assignments["rep_id"] != result.assignments["current_rep_id"]
    export, files = render_export(result, "hubspot", ExportOptions(changed_only=True))
    rows = read_text_csv(files["companies_import.csv"])
    assert set(rows["Record ID"]) == set(result.assignments.loc[changed, "crm_id"])
    text = files["LOAD_ORDER.md"]
    assert f"{int((~changed).sum())} of 40 accounts keep today's rep and are left out" in text
    _, files = render_export(result, "csv", ExportOptions(changed_only=True))
    assert len(read_text_csv(files["assignments.csv"])) == int(changed.sum())
    _, files = render_export(result, "salesforce", ExportOptions(changed_only=True))
    owners = read_text_csv(files["Account_owner_update.csv"])
    open_seat = result.assignments["rep_id"] == "R3"
    assert set(owners["Id"]) == set(result.assignments.loc[changed & ~open_seat, "crm_id"])


def test_open_seats_keep_their_territory_but_get_no_owner(tmp_path):
    result = small_plan(tmp_path)
    seat_accounts = set(result.assignments.loc[result.assignments["rep_id"] == "R3", "crm_id"])
    assert seat_accounts
    _, files = render_export(result, "salesforce", ExportOptions())
    users = read_text_csv(files["UserTerritory2Association.csv"])
    assert len(users) == 3 and "Dallas_hire_open_seat" not in set(users["Territory2Id"])
    associations = read_text_csv(files["ObjectTerritory2Association.csv"])
    assert set(associations.loc[associations["Territory2Id"] == "Dallas_hire_open_seat", "ObjectId"]) == seat_accounts
    assert not seat_accounts & set(read_text_csv(files["Account_owner_update.csv"])["Id"])
    assert "need an owner" in files["LOAD_ORDER.md"] and sorted(seat_accounts)[0] in files["LOAD_ORDER.md"]


def test_tables_xlsx_and_geojson(tmp_path):
    result = small_plan(tmp_path)
    _, files = render_export(result, "xlsx", ExportOptions())
    book = load_workbook(io.BytesIO(files["plan.xlsx"]))
    assert book.sheetnames == ["assignments", "territories"]
    assert book["assignments"].max_row == 41 and book["territories"].max_row == 5
    _, files = render_export(result, "geojson", ExportOptions())
    territories = json.loads(files["territories.geojson"])
    assert {f["geometry"]["type"] for f in territories["features"]} <= {"Polygon", "MultiPolygon"}
    kpis = territories["features"][0]["properties"]
    assert {"territory_id", "potential", "potential_dev_pct", "n_accounts"} <= set(kpis)
    accounts = json.loads(files["accounts.geojson"])
    assert len(accounts["features"]) == 40 and accounts["features"][0]["geometry"]["type"] == "Point"


# --------------------------------------------------------------------------- the command


def test_cli_export_and_resolve(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = small_plan(tmp_path)
    write_plan(result, tmp_path / "plan", map_file=False)
    runner = CliRunner()
    done = runner.invoke(app, ["export", "plan", "--to", "salesforce", "--out", "sf", "--salesforce-model", "new"])
    assert done.exit_code == 0, done.output
    assert "Territory2Model.csv" in done.output and "success_Territory2Model.csv" in done.output
    model = read(tmp_path / "sf" / "Territory2Model.csv").assign(ID="0MAXx0000000000777")
    model.to_csv(tmp_path / "success_Territory2Model.csv", index=False)
    done = runner.invoke(app, ["export", "sf", "--resolve", "success_Territory2Model.csv", "--out", "sf2"])
    assert done.exit_code == 0, done.output
    assert set(read(tmp_path / "sf2" / "Territory2.csv")["Territory2ModelId"]) == {"0MAXx0000000000777"}
    assert set(read(tmp_path / "sf" / "Territory2.csv")["Territory2ModelId"]) != {"0MAXx0000000000777"}
    bad = runner.invoke(app, ["export", "plan", "--to", "nowhere", "--out", "x"])
    assert bad.exit_code == 1 and "salesforce, hubspot" in bad.output
    assert not (tmp_path / "x").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    refused = runner.invoke(app, ["export", "plan", "--to", "csv", "--out", "mine"])
    assert refused.exit_code == 1 and (tmp_path / "mine" / "notes.txt").read_text() == "keep"
