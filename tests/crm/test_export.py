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


def crm_ids(kind: str, record: str, n: int) -> list[str]:
    """``n`` ids shaped like ``kind``'s (salesforce, hubspot, dynamics) account or user ids."""
    if kind == "salesforce":
        return [f"{'001' if record == 'account' else '005'}Xx{i:013d}" for i in range(n)]
    if kind == "hubspot":
        return [str((9_000_000_000 if record == "account" else 100) + i) for i in range(n)]
    return [str(uuid.UUID(int=((1 if record == "account" else 2) << 64) + i)) for i in range(n)]


def small_plan(tmp_path: Path, *, crm: bool = True, ids: str = "salesforce", keys: bool = False,
               open_seat: bool = True, rep_names=None, hierarchy: bool = False, email: bool = True):
    """40 accounts (one named like a formula), 4 reps (the last an open seat), today's
    alignment lopsided so the plan moves accounts. ``ids``: the CRM whose shape the crm_ids
    have; ``keys``: account_id and rep_id are Salesforce ids themselves (no crm_id)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    lat, lon = points(N_ACCOUNTS, 3)
    rng = np.random.default_rng(4)
    account_keys = crm_ids("salesforce", "account", N_ACCOUNTS) if keys else [f"A{i:03d}" for i in range(N_ACCOUNTS)]
    rep_keys = crm_ids("salesforce", "user", 4) if keys else ["R0", "R1", "R2", "R3"]
    accounts = pd.DataFrame({
        "account_id": account_keys,
        "name": [HYPERLINK if i == 0 else f"Account {i}" for i in range(N_ACCOUNTS)],
        "lat": lat, "lon": lon, "potential": rng.integers(50, 150, N_ACCOUNTS).astype(float), "workload": 10.0,
        "current_rep_id": [rep_keys[0] if i % 3 else rep_keys[1] for i in range(N_ACCOUNTS)]})
    if crm:
        accounts["crm_id"] = crm_ids(ids, "account", N_ACCOUNTS)
    rlat, rlon = points(4, 5)
    reps = pd.DataFrame({"rep_id": rep_keys,
                         "name": rep_names or ["Ann Lee", "Bo Chen", "Zoë O'Neil", "Dallas hire"],
                         "lat": rlat, "lon": np.sort(rlon), "capacity_hours": 1000.0,
                         "status": ["active", "active", "active", "open" if open_seat else "active"],
                         "region": ["West", "West", "East", "East"]})
    if email:
        reps["email"] = ["ann@example.com", "bo@example.com", "zoe@example.com", ""]
    if crm:
        reps["crm_id"] = crm_ids(ids, "user", 4)[:3] + ["" if open_seat else crm_ids(ids, "user", 4)[3]]
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
                                "ParentTerritory2Id": "", "AccountAccessLevel": "Edit",
                                "OpportunityAccessLevel": "Read", "CaseAccessLevel": "None", "Description": ""})
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


class Refused(AssertionError):
    """What Salesforce refuses on insert (the whole file, here)."""


def check_insert(org: dict, obj: str, rows: pd.DataFrame) -> None:
    """Salesforce's uniqueness rules on insert: DeveloperName per object (Territory2: within
    its model — a cloned model keeps its territories' DeveloperNames, and the Metadata API
    files territories under their model), and Territory2Type's Priority in the whole org."""
    table = org.get(obj, pd.DataFrame())
    keys = ["DeveloperName"] + (["Territory2ModelId"] if obj == "Territory2" else [])
    if "DeveloperName" in rows:
        def key(frame):
            return [tuple(str(r[k]).casefold() for k in keys) for _, r in frame.iterrows()]
        have = set(key(table)) if "DeveloperName" in table else set()
        new = key(rows)
        clash = sorted({k for k in new if k in have or new.count(k) > 1})
        if clash:
            raise Refused(f"{obj}: DUPLICATE_DEVELOPER_NAME {clash}")
    if obj == "Territory2Type":
        have = set(table["Priority"].astype(int)) if "Priority" in table else set()
        new = rows["Priority"].astype(int).tolist()
        clash = sorted({p for p in new if p in have or new.count(p) > 1})
        if clash:
            raise Refused(f"Territory2Type: Priority {clash} is used by another territory type")


def data_loader(org: dict, export_dir: Path, work: Path) -> list[str]:
    """Load an export folder into the org as LOAD_ORDER.md says: each insert gives new Ids
    and a success file, which ``--resolve`` fills in before any file that needs them is
    loaded; an insert Salesforce would refuse (:func:`check_insert`) raises. Returns the
    actions taken."""
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
            check_insert(org, obj, rows)
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
    territory, which needs the model's and a type's Id (kept by the import, or given), its
    access levels are today's territories', and the associations into it are resolved from
    Data Loader's success file."""
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
    model, kind = org["Territory2Model"]["Id"][0], org["Territory2Type"]["Id"][0]
    assert set(result.reps["territory_model_id"].dropna()) == {model}  # kept by the import
    assert set(result.reps["territory_type_id"].dropna()) == {kind}
    without = replace(result, reps=result.reps.drop(columns=["territory_model_id", "territory_type_id"]))
    with pytest.raises(InputError, match="--model-id and --type-id"):
        render_export(without, "salesforce", ExportOptions())
    with pytest.raises(InputError, match=r"Territory2Model id\(s\) are not Salesforce ids .*starting with 0MA"):
        render_export(without, "salesforce", ExportOptions(model_id="Today", type_id=kind))
    assert render_export(without, "salesforce", ExportOptions(model_id=model, type_id=kind))[1]["Territory2.csv"] == \
        render_export(result, "salesforce", ExportOptions())[1]["Territory2.csv"]
    out = tmp_path / "sf"
    export = write_export(result, "salesforce", out, ExportOptions())
    new = read(out / "Territory2.csv")
    assert new[["Name", "DeveloperName", "Territory2ModelId", "Territory2TypeId", "AccountAccessLevel",
                "OpportunityAccessLevel", "CaseAccessLevel"]].values.tolist() == [
        ["Eve Ng", "Eve_Ng", model, kind, "Edit", "Read", "None"]]  # the levels of today's territories
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
    org["Territory2Type"].to_csv(tmp_path / "Territory2Type_export.csv", index=False)  # the org's types: Priority 1
    export = write_export(result, "salesforce", out, ExportOptions(label="FY27 plan",
                                                                   types_file=tmp_path / "Territory2Type_export.csv"))
    assert [s.file for s in export.steps] == ["Territory2Model.csv", "Territory2Type.csv", "Territory2.csv",
                                             "Territory2_parent_update.csv", "UserTerritory2Association.csv",
                                             "ObjectTerritory2Association.csv", "Account_owner_update.csv"]
    assert read(out / "Territory2Type.csv")["Priority"].tolist() == ["2", "3"]  # free in the org
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


def hubspot_org(folder: Path) -> tuple[pd.DataFrame, Path]:
    """A companies export and the owners list in ``folder`` (Dee Park left: an open seat),
    imported into ``folder``/import; (the companies, the import folder)."""
    lat, lon = points(N_ACCOUNTS, 12)
    rng = np.random.default_rng(13)
    owners = pd.DataFrame({"id": ["101", "102", "103", "104"], "email": [f"o{j}@example.com" for j in range(4)],
                           "firstName": ["Ann", "Bo", "Cy", "Dee"], "lastName": ["Lee", "Chen", "Diaz", "Park"],
                           "archived": ["false", "false", "false", "true"]})
    companies = pd.DataFrame({"Record ID": [str(18_003_165_900 + i) for i in range(N_ACCOUNTS)],
                              "Company name": [HYPERLINK if i == 0 else f"Co {i}" for i in range(N_ACCOUNTS)],
                              "Company owner": ["o0@example.com" if i < 28 else f"o{1 + i % 3}@example.com"
                                                for i in range(N_ACCOUNTS)],
                              "Latitude": lat, "Longitude": lon,
                              "Annual Revenue": rng.integers(50, 150, N_ACCOUNTS) * 1000})
    folder.mkdir(parents=True, exist_ok=True)
    owners.to_csv(folder / "owners.csv", index=False)
    companies.to_csv(folder / "companies.csv", index=False)
    write_import(import_hubspot(folder / "companies.csv", folder / "owners.csv"), folder / "import")
    return companies, folder / "import"


def test_hubspot_round_trip(tmp_path):
    companies, folder = hubspot_org(tmp_path / "org")
    org = folder.parent
    result = plan_folder(folder)
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
    result = small_plan(tmp_path, ids="hubspot", email=False)
    with pytest.raises(InputError, match=r"3 rep\(s\) have no HubSpot owner email.*R0 \(Ann Lee\)"):
        write_export(result, "hubspot", tmp_path / "hs", ExportOptions())
    assert not (tmp_path / "hs").exists()


# --------------------------------------------------------------------------- Dynamics 365


def guid() -> str:
    return str(uuid.UUID(int=next(ids)))


def dynamics_org() -> dict[str, pd.DataFrame]:
    """account, systemuser and territory of a Dynamics org: 5 users (Dee Park left; Eve Ng
    has no territory yet), 4 territories with their managers, and a fifth territory also
    named "North" (names need not be unique in Dynamics); 28 of the 40 accounts in North."""
    lat, lon = points(N_ACCOUNTS, 21)
    rng = np.random.default_rng(22)
    users = pd.DataFrame({"systemuserid": [guid() for _ in range(5)],
                          "fullname": ["Ann Lee", "Bo Chen", "Cy Diaz", "Dee Park", "Eve Ng"],
                          "internalemailaddress": [f"u{j}@example.com" for j in range(5)],
                          "isdisabled": ["false", "false", "false", "true", "false"],
                          "address1_latitude": [*points(4, 23)[0], 37.5],
                          "address1_longitude": [*np.sort(points(4, 23)[1]), -93.0]})
    territories = pd.DataFrame({"territoryid": [guid() for _ in range(5)],
                                "name": ["North", "South", "East", "West", "North"],
                                "managerid": [*users["systemuserid"][:4], ""], "parentterritoryid": ""})
    users["territoryid"] = [*territories["territoryid"][:4], ""]
    home = [0 if i < 28 else 1 + i % 3 for i in range(N_ACCOUNTS)]
    accounts = pd.DataFrame({"accountid": [guid() for _ in range(N_ACCOUNTS)],
                             "name": [HYPERLINK if i == 0 else f"Account {i}" for i in range(N_ACCOUNTS)],
                             "address1_latitude": lat, "address1_longitude": lon,
                             "revenue": rng.integers(50, 150, N_ACCOUNTS) * 1000,
                             "ownerid": [users["systemuserid"][h] for h in home],
                             "territoryid": [territories["territoryid"][h] for h in home]})
    return {"account": accounts, "systemuser": users, "territory": territories}


def import_dynamics_org(org: dict, folder: Path, **options):
    """Write the org's exports into ``folder``, import them into ``folder``/import."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in org.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    imported = import_dynamics(folder / "account.csv", folder / "systemuser.csv", territories=folder / "territory.csv",
                               options=ImportOptions(**options))
    write_import(imported, folder / "import")
    return imported, folder / "import"


def import_wizard(org: dict, out: Path, export) -> None:
    """The Dynamics 365 import wizard loading an export folder in LOAD_ORDER.md's order: new
    territories get GUIDs (parents found by name); each account file's territoryid column is
    resolved by one field — the GUID in account_update*.csv, the name in *_new_territories.csv,
    which must then match exactly one territory."""
    territories, accounts = org["territory"], org["account"]
    for step in export.steps:
        rows = read(out / step.file)
        assert (out / step.file).read_bytes().startswith(BOM.encode())
        if step.file.startswith("territory"):
            for row in rows.to_dict("records"):
                parent = territories.loc[territories["name"] == row["parentterritoryid"], "territoryid"]
                territories.loc[len(territories)] = [guid(), row["name"], row["managerid"],
                                                     parent.iloc[0] if len(parent) else ""]
            continue
        by = "name" if step.file.endswith("_new_territories.csv") else "territoryid"
        for row in rows.to_dict("records"):
            match = territories.loc[territories[by] == row["territoryid"], "territoryid"]
            assert len(match) == 1, (step.file, row)
            at = accounts["accountid"] == row["accountid"]
            assert at.sum() == 1
            accounts.loc[at, "territoryid"] = match.iloc[0]
            if "ownerid" in row:
                accounts.loc[at, "ownerid"] = row["ownerid"]


def test_dynamics_round_trip_with_a_new_territory(tmp_path):
    """Import (with Eve, who has no territory yet) → plan → export → the wizard → import:
    the plan's reps and territories; existing territories are named by GUID (two are called
    North), Eve's new one by its name."""
    org = dynamics_org()
    imported, folder = import_dynamics_org(org, tmp_path / "org", all_users=True)
    eve = org["systemuser"]["systemuserid"][4]
    assert set(imported.reps["crm"]) == {"dynamics"} and set(imported.accounts["crm"]) == {"dynamics"}
    result = plan_folder(folder, balance={"potential": 0.2})
    assert result.assignments["moved"].sum() >= 5 and (result.assignments["rep_id"] == eve).any()
    out = tmp_path / "dyn"
    export = write_export(result, "dynamics", out, ExportOptions())
    assert read(out / "territory.csv")[["name", "managerid"]].values.tolist() == [["Eve Ng", eve]]
    assert [s.file for s in export.steps][:1] == ["territory.csv"]
    updates = read(out / "account_update.csv")
    assert set(updates["territoryid"]) <= set(org["territory"]["territoryid"])  # GUIDs, never a name
    assert set(read(out / "account_update_new_territories.csv")["territoryid"]) == {"Eve Ng"}
    load_order = (out / "LOAD_ORDER.md").read_text()
    assert "match it by its id" in load_order and "match Territory by its name" in load_order
    import_wizard(org, out, export)
    again, _ = import_dynamics_org(org, tmp_path / "again", all_users=True)
    back = dict(zip(again.accounts["account_id"], again.accounts["current_rep_id"], strict=True))
    seats = set(result.territories.loc[result.territories["status"] == "open", "rep_id"])
    today = dict(zip(result.assignments["account_id"], result.assignments["current_rep_id"], strict=True))
    for account, rep in assignment(result).items():  # an open seat's accounts: its territory, today's owner
        assert back[account] == (today[account] if rep in seats else rep)
    new_territory = org["territory"].loc[org["territory"]["name"] == "Eve Ng", "territoryid"].iloc[0]
    rep_territory = {**dict(zip(result.reps["rep_id"], result.reps["territory_crm_id"], strict=True)),
                     eve: new_territory}
    territory_back = dict(zip(again.accounts["account_id"], again.accounts["territory_crm_id"], strict=True))
    assert all(territory_back[a] == rep_territory[r] for a, r in assignment(result).items())
    assert again.reps.set_index("rep_id").loc[eve, "territory_crm_id"] == new_territory


def test_dynamics_hierarchy_writes_one_territory_file_per_level_parents_first(tmp_path):
    result = small_plan(tmp_path, ids="dynamics", hierarchy=True)
    export, files = render_export(result, "dynamics", ExportOptions())
    # Every territory is new (the plan does not come from Dynamics): accounts name theirs.
    assert [s.file for s in export.steps] == ["territory_1_region.csv", "territory.csv",
                                             "account_update_new_territories.csv",
                                             "account_update_open_seats_new_territories.csv"]
    leaves = pd.read_csv(io.StringIO(files["territory.csv"].lstrip(BOM)), dtype=str, keep_default_na=False)
    assert set(leaves["parentterritoryid"]) == {"East", "West"}
    seat = leaves[leaves["name"] == "Dallas hire (open seat)"]
    assert len(seat) == 1 and seat["managerid"].iloc[0] == ""  # an open seat has no manager
    owners = read_text_csv(files["account_update_new_territories.csv"])
    assert set(owners["territoryid"]) <= set(leaves["name"])
    assert "Dallas hire (open seat)" not in set(owners["territoryid"])  # its accounts: territory only, owner kept
    seats = read_text_csv(files["account_update_open_seats_new_territories.csv"])
    assert list(seats.columns) == ["accountid", "territoryid"] and set(seats["territoryid"]) == {"Dallas hire (open seat)"}


# --------------------------------------------------------------------------- shared checks


def test_accounts_without_crm_ids_are_an_error_listing_them_and_nothing_is_written(tmp_path):
    result = small_plan(tmp_path, crm=False)
    for target in ("salesforce", "hubspot", "dynamics"):
        with pytest.raises(InputError) as info:
            write_export(result, target, tmp_path / target, ExportOptions())
        message = str(info.value)
        assert "A000, A001" in message and "--ids-are-crm-ids" in message and "import" in message
        assert not (tmp_path / target).exists()
    # Told that the ids are the CRM's, the export checks their shape: A000 is no Account Id.
    with pytest.raises(InputError, match=r"40 Account id\(s\) are not Salesforce ids \(a Salesforce Account Id is 15 "
                                         r"or 18 letters and digits starting with 001\): A000 \('A000'\)"):
        render_export(result, "salesforce", ExportOptions(ids_are_crm_ids=True))
    # Ids of the right shape go ahead (reps' ids too).
    keyed = small_plan(tmp_path / "keyed", crm=False, keys=True)
    export = write_export(keyed, "salesforce", tmp_path / "sf", ExportOptions(ids_are_crm_ids=True))
    assert "001Xx0000000000000" in read(tmp_path / "sf" / "ObjectTerritory2Association.csv")["ObjectId"].tolist()
    assert export.target == "salesforce"


def test_a_blank_crm_id_is_named_and_a_rep_without_a_user_too(tmp_path):
    result = small_plan(tmp_path)
    a = result.assignments.copy()
    a.loc[5, "crm_id"] = None
    with pytest.raises(InputError, match=r"1 account\(s\) have no Salesforce record id in crm_id: A005"):
        render_export(replace(result, assignments=a), "salesforce")
    result = small_plan(tmp_path / "dynamics", ids="dynamics")
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
    names = ["=Ann Lee", "-Bo Chen", "@Zoe", "+Dallas hire"]
    plans = {kind: small_plan(tmp_path / kind, ids=kind, rep_names=names) for kind in ("salesforce", "hubspot",
                                                                                     "dynamics")}
    seen_hyperlink = 0
    for target in ("salesforce", "hubspot", "dynamics", "csv", "xlsx", "geojson"):
        _, files = render_export(plans.get(target, plans["salesforce"]), target, ExportOptions(label="=label"))
        if target in plans:  # LOAD_ORDER.md says which names carry the apostrophe
            assert "leading apostrophe" in files["LOAD_ORDER.md"] and "`'=Ann Lee`" in files["LOAD_ORDER.md"], target
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
    plans = {kind: small_plan(tmp_path / kind, ids=kind) for kind in ("salesforce", "hubspot", "dynamics")}
    for target in ("salesforce", "hubspot", "dynamics", "csv"):
        result = plans.get(target, plans["salesforce"])
        first = render_export(result, target, ExportOptions())[1]
        assert first == render_export(result, target, ExportOptions())[1], target
    owners = read_text_csv(render_export(plans["salesforce"], "salesforce",
                                         ExportOptions())[1]["Account_owner_update.csv"])
    assert owners["Id"].tolist() == sorted(owners["Id"])


def read_text_csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text.lstrip(BOM)), dtype=str, keep_default_na=False)


def test_changed_only_writes_what_differs_and_says_what_was_left_out(tmp_path):
    hubspot = small_plan(tmp_path / "hubspot", ids="hubspot")
    changed = hubspot.assignments["rep_id"] != hubspot.assignments["current_rep_id"]
    export, files = render_export(hubspot, "hubspot", ExportOptions(changed_only=True))
    rows = read_text_csv(files["companies_import.csv"])
    assert set(rows["Record ID"]) == set(hubspot.assignments.loc[changed, "crm_id"])
    text = files["LOAD_ORDER.md"]
    assert f"{int((~changed).sum())} of 40 accounts keep today's rep and are left out" in text
    result = small_plan(tmp_path)
    changed = result.assignments["rep_id"] != result.assignments["current_rep_id"]
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


# --------------------------------------------------------------------------- the review of issue 27


def test_an_export_refuses_another_crms_ids_and_checks_their_shape(tmp_path):
    """A plan imported from Dynamics exported --to hubspot (GUIDs as Record ID), or from
    HubSpot --to salesforce (digits as ObjectId): refused, naming the source and the fix;
    told the ids are the target's, the id shapes still list every record that is not."""
    _, dynamics = import_dynamics_org(dynamics_org(), tmp_path / "dyn")
    from_dynamics = plan_folder(dynamics, balance={"potential": 0.2})
    assert set(from_dynamics.assignments["crm"]) == {"dynamics"} and set(from_dynamics.reps["crm"]) == {"dynamics"}
    with pytest.raises(InputError) as info:
        render_export(from_dynamics, "hubspot", ExportOptions())
    message = str(info.value)
    assert "this plan's ids come from Dynamics 365, not HubSpot" in message and "40 account(s) from Dynamics 365" in message
    assert "export it --to dynamics" in message and "territory-planner import hubspot" in message
    assert "--ids-are-crm-ids" in message and "column 'crm'" in message
    with pytest.raises(InputError, match=r"40 company id\(s\) are not HubSpot ids \(a HubSpot company id is digits "
                                         r"only\): [0-9a-f-]{36} \('[0-9a-f-]{36}'\)"):
        render_export(from_dynamics, "hubspot", ExportOptions(ids_are_crm_ids=True))
    render_export(from_dynamics, "dynamics", ExportOptions())  # its own CRM takes them
    _, hubspot = hubspot_org(tmp_path / "hs")
    from_hubspot = plan_folder(hubspot)
    for target, label in (("salesforce", "Salesforce"), ("dynamics", "Dynamics 365")):
        with pytest.raises(InputError, match=f"ids come from HubSpot, not {label}.*--to hubspot"):
            render_export(from_hubspot, target, ExportOptions())
    with pytest.raises(InputError, match=r"40 Account id\(s\) are not Salesforce ids \(a Salesforce Account Id is 15 or "
                                         r"18 letters and digits starting with 001\): 18003165900 \('18003165900'\)"):
        render_export(from_hubspot, "salesforce", ExportOptions(ids_are_crm_ids=True))
    assert not (tmp_path / "out").exists()


def test_id_shapes_are_checked_per_target_and_every_bad_row_is_listed(tmp_path):
    result = small_plan(tmp_path / "sf")
    a = result.assignments.copy()
    a.loc[3, "crm_id"] = "0015g00000AbCdE"  # a report's 15-character Id: fine
    render_export(replace(result, assignments=a), "salesforce")
    a.loc[5, "crm_id"] = "0015g00000AbCd"  # 14 characters
    a.loc[7, "crm_id"] = "0035g00000AbCdEAAV"  # a Contact
    with pytest.raises(InputError, match=r"2 Account id\(s\) are not Salesforce ids .*: A005 \('0015g00000AbCd'\), "
                                         r"A007 \('0035g00000AbCdEAAV'\)"):
        render_export(replace(result, assignments=a), "salesforce")
    reps = result.reps.copy()
    reps.loc[reps["rep_id"] == "R1", "crm_id"] = "00G5g00000AbCdEAAV"  # a queue, not a User
    with pytest.raises(InputError, match=r"1 User id\(s\) are not Salesforce ids .*starting with 005\): R1 "
                                         r"\('00G5g00000AbCdEAAV'\)"):
        render_export(replace(result, reps=reps), "salesforce")
    dynamics = small_plan(tmp_path / "dyn", ids="dynamics")
    a = dynamics.assignments.copy()
    a.loc[2, "crm_id"] = "{" + a.loc[2, "crm_id"].upper() + "}"  # braces and capitals: still a GUID
    a.loc[4, "crm_id"] = "Acme Ltd"
    with pytest.raises(InputError, match=r"1 account id\(s\) are not Dynamics 365 ids .*GUID.*: A004 \('Acme Ltd'\)"):
        render_export(replace(dynamics, assignments=a), "dynamics")
    hubspot = small_plan(tmp_path / "hs", ids="hubspot")
    a = hubspot.assignments.copy()
    a.loc[1, "crm_id"] = "9000000001a"
    with pytest.raises(InputError, match=r"1 company id\(s\) are not HubSpot ids .*: A001 \('9000000001a'\)"):
        render_export(replace(hubspot, assignments=a), "hubspot")


def test_a_new_model_reuses_the_imported_type_and_skips_the_type_insert(tmp_path):
    """A plan imported from Salesforce territories knows today's Territory2Type: a new
    model reuses it (no Territory2Type.csv, no priority to clash) and today's access levels."""
    org = salesforce_org()
    _, folder = import_org(org, tmp_path / "org")
    result = plan_folder(folder)
    out = tmp_path / "sf"
    export = write_export(result, "salesforce", out, ExportOptions(salesforce_model="new", label="FY27"))
    assert "Territory2Type.csv" not in export.files and "Territory2Type" not in json.dumps(export.pending)
    territories = read(out / "Territory2.csv")
    assert set(territories["Territory2TypeId"]) == {org["Territory2Type"]["Id"][0]}
    assert set(map(tuple, territories[["AccountAccessLevel", "OpportunityAccessLevel", "CaseAccessLevel"]].values)) \
        == {("Edit", "Read", "None")}
    text = (out / "LOAD_ORDER.md").read_text()
    assert "No Territory2Type.csv: the new territories reuse the org's territory type" in text
    assert "Load it after activating the new model in Setup, not before: an owner update takes effect at once" in text
    # The new model's territories keep today's DeveloperNames: unique within their model.
    assert data_loader(org, out, tmp_path)[:2] == ["insert Territory2Model", "insert Territory2"]
    kind = "0M5Xx0000000000077"
    _, files = render_export(result, "salesforce", ExportOptions(salesforce_model="new", type_id=kind))
    assert set(read_text_csv(files["Territory2.csv"])["Territory2TypeId"]) == {kind}


def test_new_types_take_priorities_that_are_free_in_the_org(tmp_path):
    """Without a known type a new model inserts its types; Priority must be unique in the org,
    so an org export (--types) or --type-priority chooses them, and LOAD_ORDER.md says so."""
    org = salesforce_org()  # it has the type 'Sales', Priority 1
    _, folder = import_org(org, tmp_path / "org", territories=False)
    result = plan_folder(folder)
    out = tmp_path / "default"
    write_export(result, "salesforce", out, ExportOptions())
    assert read(out / "Territory2Type.csv")["Priority"].tolist() == ["1"]
    text = (out / "LOAD_ORDER.md").read_text()
    assert "Priority must be unique among all the territory types of the org" in text and "--types" in text
    with pytest.raises(Refused, match=r"Priority \[1\]"):
        data_loader(dict(org), out, tmp_path)
    out = tmp_path / "from7"
    write_export(result, "salesforce", out, ExportOptions(type_priority=7))
    assert read(out / "Territory2Type.csv")["Priority"].tolist() == ["7"]
    data_loader(dict(org), out, tmp_path)
    # An org export: the free priorities are chosen, a type of the same DeveloperName reused.
    types = pd.DataFrame({"ID": ["0M5Xx0000000000001", "0M5Xx0000000000002", "0M5Xx0000000000004"],
                          "DEVELOPERNAME": ["Sales", "Named", "TP_region"], "PRIORITY": ["1", "2", "3"]})
    types.to_csv(tmp_path / "types.csv", index=False)
    plain = small_plan(tmp_path / "plain", hierarchy=True)
    _, files = render_export(plain, "salesforce", ExportOptions(types_file=tmp_path / "types.csv"))
    rows = read_text_csv(files["Territory2Type.csv"])
    assert rows[["DeveloperName", "Priority"]].values.tolist() == [["TP_territory", "4"]]
    regions = read_text_csv(files["Territory2.csv"]).head(2)
    assert set(regions["Territory2TypeId"]) == {"0M5Xx0000000000004"}  # TP_region is the org's already
    assert "TP_region (0M5Xx0000000000004)" in files["LOAD_ORDER.md"]
    types.loc[1, "PRIORITY"] = "high"
    types.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(InputError, match=r"bad.csv, row 3, column 'PRIORITY': a Priority is not a whole number"):
        render_export(plain, "salesforce", ExportOptions(types_file=tmp_path / "bad.csv"))


def test_owner_updates_compare_with_the_accounts_owner_not_the_territorys_user(tmp_path):
    """In a territory import current_rep_id is the territory's user, but OwnerId can differ:
    --changed-only updates the owner of each account whose OwnerId differs from its planned
    rep — after the load every account (but an open seat's) is owned by its planned rep."""
    org = salesforce_org()
    users = org["User"]["Id"]
    org["Account"].loc[:5, "OwnerId"] = users[1]  # in North (Ann Lee's), owned by Bo Chen
    imported, folder = import_org(org, tmp_path / "org")
    assert imported.accounts["owner_crm_id"].tolist()[:7] == [users[1]] * 6 + [users[0]]
    result = plan_folder(folder)
    out = tmp_path / "sf"
    write_export(result, "salesforce", out, ExportOptions(changed_only=True))
    seats = set(result.territories.loc[result.territories["status"] == "open", "rep_id"])
    owners = dict(zip(org["Account"]["Id"], org["Account"]["OwnerId"], strict=True))
    planned = assignment(result)
    expected = {a for a, rep in planned.items() if rep not in seats and owners[a] != rep}
    changed = {a for a, rep in planned.items() if rep not in seats
               and rep != dict(zip(result.assignments["account_id"], result.assignments["current_rep_id"],
                                   strict=True))[a]}
    assert set(read(out / "Account_owner_update.csv")["Id"]) == expected != changed
    data_loader(org, out, tmp_path)
    owners = dict(zip(org["Account"]["Id"], org["Account"]["OwnerId"], strict=True))
    assert all(owners[a] == rep for a, rep in planned.items() if rep not in seats)


def test_a_user_with_two_territories_is_named_at_import_and_the_emptied_territory_at_export(tmp_path):
    org = salesforce_org()
    users = org["User"]["Id"]
    org["UserTerritory2Association"].loc[3, "UserId"] = users[1]  # Bo Chen holds South and West
    imported, folder = import_org(org, tmp_path / "org")
    bo = imported.reps.set_index("rep_id").loc[users[1]]
    kept, merged = bo["territory_name"], ({"South", "West"} - {bo["territory_name"]}).pop()
    merged_id = org["Territory2"].set_index("Name").loc[merged, "Id"]
    assert bo["merged_territories"] == f"{merged} [{merged_id}]"
    assert f"Bo Chen: keeps '{kept}', merges '{merged}'" in imported.report
    result = plan_folder(folder)
    out = tmp_path / "sf"
    write_export(result, "salesforce", out, ExportOptions())
    text = (out / "LOAD_ORDER.md").read_text()
    assert f"Today's territory '{merged}' ({merged_id}) is not a territory of the plan (Bo Chen held it beside " \
           f"'{kept}' and plans as one territory)" in text and "leaves it empty" in text
    data_loader(org, out, tmp_path)
    assert merged_id not in set(org["ObjectTerritory2Association"]["Territory2Id"])


@pytest.mark.slow
def test_the_readme_loop_on_the_salesforce_sample(tmp_path, monkeypatch):
    """README, "From the CRM and back": import the Salesforce sample, plan it (one short plan),
    export the changes for Salesforce, fill in the Ids of hand-made Data Loader success
    files for the model, the type and the territories: every association names its territory by Id."""
    monkeypatch.chdir(tmp_path)
    sample = Path(__file__).resolve().parents[2] / "scenarios" / "crm_sample" / "salesforce"
    runner = CliRunner(env={"COLUMNS": "200"})

    def run(*args):
        done = runner.invoke(app, [str(a) for a in args])
        assert done.exit_code == 0, done.output
        return done.output

    run("import", "salesforce", "--accounts", sample / "Account.csv", "--users", sample / "User.csv",
        "--segment", "Segment__c", "--out", "crm")
    run("plan", "crm/scenario.yaml", "--out", "crm-plan", "--time-limit", 10, "--store", "runs", "-q")
    output = run("export", "crm-plan", "--to", "salesforce", "--changed-only", "--out", "crm-sf")
    assert "success_Territory2Model.csv" in output and "success_Territory2Type.csv" in output
    assert (tmp_path / "crm-sf" / "Territory2Type.csv").is_file()  # the owner import knows no type of the org
    owners = read(tmp_path / "crm-sf" / "Account_owner_update.csv")
    plan_rows = read(tmp_path / "crm-plan" / "assignments.csv")
    assert len(owners) == (plan_rows["rep_id"] != plan_rows["current_rep_id"]).sum() > 0
    counter = count(1)
    for obj, prefix in (("Territory2Model", "0MA"), ("Territory2Type", "0M5")):
        made = read(tmp_path / "crm-sf" / f"{obj}.csv")
        made.insert(0, "ID", [f"{prefix}5g0000{next(counter):09d}" for _ in range(len(made))])
        made.assign(STATUS="Item Created").to_csv(tmp_path / f"success_{obj}.csv", index=False)
    run("export", "crm-sf", "--resolve", "success_Territory2Model.csv", "--resolve", "success_Territory2Type.csv")
    territories = read(tmp_path / "crm-sf" / "Territory2.csv")
    assert territories["Territory2ModelId"].str.startswith("0MA").all()
    assert territories["Territory2TypeId"].str.startswith("0M5").all()
    territories.insert(0, "ID", [f"0MI5g0000{next(counter):09d}" for _ in range(len(territories))])
    territories.assign(STATUS="Item Created").to_csv(tmp_path / "success_Territory2.csv", index=False)
    run("export", "crm-sf", "--resolve", "success_Territory2.csv")
    ids = set(territories["ID"])
    associations = read(tmp_path / "crm-sf" / "ObjectTerritory2Association.csv")
    assert len(associations) == len(plan_rows) and set(associations["Territory2Id"]) <= ids
    assert set(read(tmp_path / "crm-sf" / "UserTerritory2Association.csv")["Territory2Id"]) <= ids
    assert json.loads((tmp_path / "crm-sf" / "export.json").read_text())["pending"] == {}
    assert "Every id is filled in" in (tmp_path / "crm-sf" / "LOAD_ORDER.md").read_text()
