"""Synthetic CRM exports made from the demo data: the files in ``scenarios/crm_sample/``.

``write_samples("scenarios/crm_sample", demo="scenarios/demo", seed=7)`` (CLI:
``territory-planner import samples``) writes what each CRM would export for the demo's
accounts and reps, deterministic for a seed:

* ``salesforce/``: all 3,000 accounts and 30 reps. ``Account.csv`` (Data Loader API names;
  a third of the rows without BillingLatitude/Longitude, some of those without a ZIP code,
  so both kinds of geocoding run; AnnualRevenue = the demo potential; Segment__c = the
  demo segment; OwnerId = the demo's current rep), ``User.csv`` (the reps and four users
  who own nothing; homes by coordinates, ZIP, city + state, or none), and the territory
  model: ``Territory2.csv`` (three regions, one territory per rep),
  ``ObjectTerritory2Association.csv`` (each account in its owner's territory, about 2% in
  another one: ownership and territories drift apart in real orgs) and
  ``UserTerritory2Association.csv`` (each rep as Owner of their territory, a manager as
  Sales Manager of some).
* ``hubspot/``: the Texas team (three reps): ``companies.csv`` (export labels, "Company
  owner" as the owner's name or email, states spelt out) and ``owners.json`` (the owners
  API's response).
* ``dynamics/``: the Southeast team (three reps): ``account.csv``, ``systemuser.csv``,
  ``territory.csv`` (logical names, GUIDs).

Ids are random but shaped like the CRM's: Salesforce 18-character Ids with the usual key
prefixes (001 Account, 005 User, 0MI Territory2, 0MA Territory2Model, 0M5 Territory2Type,
0R0 ObjectTerritory2Association; 0R7, a guess, for UserTerritory2Association), HubSpot
numeric record and owner ids, Dynamics GUIDs. Names and emails (example.com) are made up.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from territory_planner.crm.formats import salesforce_id18
from territory_planner.crm.places import US_STATE_NAMES
from territory_planner.outputs.files import csv_text, write_folder

HUBSPOT_TEAM = ("R007", "R015", "R028")  # Dallas, Houston, Millersview TX
DYNAMICS_TEAM = ("R005", "R009", "R014")  # Hollywood FL, Kennesaw GA, Crystal River FL
#: The demo scenario's capacity regions (scenarios/demo.yaml), the parents of the territories.
REGIONS = {
    "West": "WA OR CA NV ID MT WY UT CO AZ NM AK HI",
    "Central": "ND SD NE KS OK TX MN IA MO AR LA WI IL MI IN OH KY TN MS AL",
    "East": "ME NH VT MA RI CT NY NJ PA DE MD DC VA WV NC SC GA FL",
}
INDUSTRIES = ("Manufacturing", "Technology", "Healthcare", "Retail", "Finance", "Construction", "Education",
              "Transportation")
STREETS = ("Main", "Oak", "Maple", "Cedar", "Park", "Washington", "Lake", "Hill", "Elm", "Pine", "Market", "Mill")
SUFFIXES = ("St", "Ave", "Rd", "Blvd", "Dr")
#: Users who own no account: only --all-users makes reps of the active ones.
OTHER_USERS = (("Integration", "User", "System Administrator", True), ("Pat", "Lee", "Regional Sales Manager", True),
               ("Morgan", "O'Neil", "Sales Operations", True), ("Chris", "Ward", "Account Executive", False))
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def read_demo(demo) -> tuple[pd.DataFrame, pd.DataFrame]:
    demo = Path(demo)
    accounts = pd.read_csv(demo / "accounts.csv", dtype=str, keep_default_na=False)
    reps = pd.read_csv(demo / "reps.csv", dtype=str, keep_default_na=False)
    return accounts, reps


def salesforce_ids(prefix: str, n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct 18-character Ids: key prefix, pod "5g", zeros, five random characters."""
    seen: set[str] = set()
    out = []
    while len(out) < n:
        tail = "".join(_BASE62[i] for i in rng.integers(0, 62, 5))
        sf = salesforce_id18(f"{prefix}5g00000{tail}")
        if sf not in seen:
            seen.add(sf)
            out.append(sf)
    return out


def _guids(n: int, rng: np.random.Generator) -> list[str]:
    return [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)]


def _distinct(low: int, high: int, n: int, rng: np.random.Generator) -> list[int]:
    """``n`` distinct random integers in [low, high), in draw order."""
    seen: dict[int, None] = {}
    while len(seen) < n:
        seen.setdefault(int(rng.integers(low, high)), None)
    return list(seen)


def _blanked(values: pd.Series, blank: np.ndarray) -> np.ndarray:
    """Coordinates as numbers (text would be escaped as a formula for a leading '-'), NaN where blank."""
    return np.where(blank, np.nan, values.astype(float))


def _email(first: str, last: str) -> str:
    return f"{re.sub('[^a-z]', '', first.lower())}.{re.sub('[^a-z]', '', last.lower())}@example.com"


def _split(name: str) -> tuple[str, str]:
    first, _, last = name.partition(" ")
    return first, last


def _streets(n: int, rng: np.random.Generator) -> list[str]:
    return [f"{a} {STREETS[b]} {SUFFIXES[c]}" for a, b, c in zip(rng.integers(10, 9900, n), rng.integers(0, len(STREETS), n),
                                                                  rng.integers(0, len(SUFFIXES), n), strict=True)]


def _zip_of(city: str, state: str) -> str:
    import zipcodes

    found = sorted(r["zip_code"] for r in zipcodes.filter_by(city=city, state=state) if r["zip_code_type"] == "STANDARD")
    return found[0] if found else ""


def _region(state: str) -> str:
    return next((r for r, states in REGIONS.items() if state in states.split()), "East")


def _developer_name(*parts: str) -> str:
    """Letters, digits and single underscores, starting with a letter (FIELD.md §5)."""
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]", "_", "_".join(parts))).strip("_")


def salesforce_sample(accounts: pd.DataFrame, reps: pd.DataFrame, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """The five Data Loader exports of a Salesforce org holding the demo's alignment."""
    n, k = len(accounts), len(reps)
    user_ids = salesforce_ids("005", k + len(OTHER_USERS), rng)
    rep_user = dict(zip(reps["rep_id"], user_ids, strict=False))
    account_ids = salesforce_ids("001", n, rng)
    no_point = rng.random(n) < 1 / 3
    no_zip = no_point & (rng.random(n) < 0.15)
    potential = accounts["potential"].astype(float)
    country = rng.choice(np.array(["United States", "US", "USA", ""]), n, p=[0.7, 0.15, 0.05, 0.1])
    account = pd.DataFrame({
        "Id": account_ids, "Name": accounts["name"],
        "Type": np.where(accounts["revenue_last_year"].astype(float) > 0, "Customer", "Prospect"),
        "Industry": [INDUSTRIES[i] for i in rng.integers(0, len(INDUSTRIES), n)],
        "BillingStreet": _streets(n, rng), "BillingCity": accounts["city"], "BillingState": accounts["state"],
        "BillingPostalCode": np.where(no_zip, "", accounts["postal_code"]), "BillingCountry": country,
        "BillingLatitude": _blanked(accounts["lat"], no_point), "BillingLongitude": _blanked(accounts["lon"], no_point),
        "AnnualRevenue": potential.astype(int),
        "NumberOfEmployees": (potential / rng.uniform(800, 2500, n)).astype(int) + 1,
        "Segment__c": accounts["segment"], "OwnerId": accounts["current_rep_id"].map(rep_user),
    })
    users = []
    for i, rep in enumerate(reps.itertuples(index=False)):
        first, last = _split(rep.name)
        how = "none" if i in (10, 21) else ("crm", "zip", "city")[i % 3]
        users.append({"Id": user_ids[i], "Username": _email(first, last).replace("example.com", "example.com.sales"),
                      "Name": rep.name, "FirstName": first, "LastName": last, "Email": _email(first, last),
                      "Title": rep.role, "City": "" if how == "none" else rep.city,
                      "State": "" if how == "none" else rep.state,
                      "PostalCode": _zip_of(rep.city, rep.state) if how == "zip" else "",
                      "Country": "" if how == "none" else "US", "Latitude": float(rep.lat) if how == "crm" else np.nan,
                      "Longitude": float(rep.lon) if how == "crm" else np.nan, "IsActive": "true"})
    for j, (first, last, title, active) in enumerate(OTHER_USERS):
        users.append({"Id": user_ids[k + j], "Username": _email(first, last) + ".sales", "Name": f"{first} {last}",
                      "FirstName": first, "LastName": last, "Email": _email(first, last), "Title": title, "City": "",
                      "State": "", "PostalCode": "", "Country": "", "Latitude": np.nan, "Longitude": np.nan,
                      "IsActive": "true" if active else "false"})
    model_id = salesforce_ids("0MA", 1, rng)[0]
    type_id = salesforce_ids("0M5", 1, rng)[0]
    territory_ids = salesforce_ids("0MI", len(REGIONS) + k, rng)
    region_id = dict(zip(REGIONS, territory_ids, strict=False))
    rep_territory = dict(zip(reps["rep_id"], territory_ids[len(REGIONS):], strict=True))
    territory = [{"Id": region_id[r], "Name": f"{r} Region", "DeveloperName": _developer_name("Region", r),
                  "Territory2ModelId": model_id, "Territory2TypeId": type_id, "ParentTerritory2Id": "",
                  "AccountAccessLevel": "Read", "OpportunityAccessLevel": "Read", "CaseAccessLevel": "Read",
                  "Description": f"Accounts in the {r} region"} for r in REGIONS]
    for i, rep in enumerate(reps.itertuples(index=False)):
        territory.append({"Id": rep_territory[rep.rep_id], "Name": f"{rep.city}, {rep.state}",
                          "DeveloperName": _developer_name(f"T{i + 1:02d}", rep.city, rep.state),
                          "Territory2ModelId": model_id, "Territory2TypeId": type_id,
                          "ParentTerritory2Id": region_id[_region(rep.state)], "AccountAccessLevel": "Edit",
                          "OpportunityAccessLevel": "Edit", "CaseAccessLevel": "Read",
                          "Description": f"Territory of {rep.name}"})
    # Each account in its owner's territory, about 2% in another one (drift).
    home = accounts["current_rep_id"].map(rep_territory).to_numpy(object)
    drift = rng.random(n) < 0.02
    others = np.asarray(list(rep_territory.values()), dtype=object)
    home[drift] = others[rng.integers(0, k, int(drift.sum()))]
    association = pd.DataFrame({"Id": salesforce_ids("0R0", n, rng), "ObjectId": account_ids, "Territory2Id": home,
                                "AssociationCause": "Territory2Manual", "SobjectType": "Account"})
    manager = user_ids[k + 1]
    user_links = [(rep_user[r], rep_territory[r], "Owner") for r in reps["rep_id"]]
    user_links += [(manager, rep_territory[r], "Sales Manager") for r in reps["rep_id"][::6]]
    user_association = pd.DataFrame({"Id": salesforce_ids("0R7", len(user_links), rng),
                                     "UserId": [u for u, _, _ in user_links],
                                     "Territory2Id": [t for _, t, _ in user_links],
                                     "RoleInTerritory2": [r for _, _, r in user_links], "IsActive": "true"})
    return {"Account.csv": account, "User.csv": pd.DataFrame(users), "Territory2.csv": pd.DataFrame(territory),
            "ObjectTerritory2Association.csv": association, "UserTerritory2Association.csv": user_association}


def hubspot_sample(accounts: pd.DataFrame, reps: pd.DataFrame, rng: np.random.Generator) -> dict[str, object]:
    """A companies export and the owners API response for one team of the demo."""
    team = reps[reps["rep_id"].isin(HUBSPOT_TEAM)].reset_index(drop=True)
    mine = accounts[accounts["current_rep_id"].isin(HUBSPOT_TEAM)].reset_index(drop=True)
    n = len(mine)
    owners = []
    extra = [("Pat", "Lee", False), ("Chris", "Ward", True)]  # a manager who owns nothing; someone who left
    owner_ids = [str(i) for i in _distinct(100_000_000, 999_999_999, len(team) + len(extra), rng)]
    for i, rep in enumerate(team.itertuples(index=False)):
        first, last = _split(rep.name)
        owners.append({"id": owner_ids[i], "email": _email(first, last), "firstName": first, "lastName": last,
                       "userId": int(rng.integers(10_000_000, 99_999_999)), "createdAt": "2024-03-01T09:00:00Z",
                       "updatedAt": "2026-10-01T09:00:00Z", "archived": False})
    for j, (first, last, archived) in enumerate(extra):
        owners.append({"id": owner_ids[len(team) + j], "email": _email(first, last), "firstName": first,
                       "lastName": last, "userId": int(rng.integers(10_000_000, 99_999_999)),
                       "createdAt": "2024-03-01T09:00:00Z", "updatedAt": "2026-10-01T09:00:00Z", "archived": archived})
    by_rep = dict(zip(team["rep_id"], owners, strict=False))
    by_email = rng.random(n) < 0.1
    owner = [by_rep[r]["email"] if e else f"{by_rep[r]['firstName']} {by_rep[r]['lastName']}"
             for r, e in zip(mine["current_rep_id"], by_email, strict=True)]
    record_ids = np.asarray(_distinct(18_000_000_000, 18_999_999_999, n, rng))
    companies = pd.DataFrame({
        "Record ID": record_ids.astype(str), "Company name": mine["name"], "Company owner": owner,
        "Street Address": _streets(n, rng), "City": mine["city"], "State/Region": mine["state"].map(US_STATE_NAMES),
        "Postal Code": mine["postal_code"], "Country/Region": "United States",
        "Annual Revenue": mine["potential"].astype(float).astype(int),
        "Number of Employees": (mine["potential"].astype(float) / rng.uniform(800, 2500, n)).astype(int) + 1,
        "Industry": [INDUSTRIES[i] for i in rng.integers(0, len(INDUSTRIES), n)],
        "Lifecycle Stage": np.where(mine["revenue_last_year"].astype(float) > 0, "Customer", "Lead"),
    })
    return {"companies.csv": companies, "owners.json": {"results": owners}}


def dynamics_sample(accounts: pd.DataFrame, reps: pd.DataFrame, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """account, systemuser and territory exports (logical names) for one team of the demo."""
    team = reps[reps["rep_id"].isin(DYNAMICS_TEAM)].reset_index(drop=True)
    mine = accounts[accounts["current_rep_id"].isin(DYNAMICS_TEAM)].reset_index(drop=True)
    n = len(mine)
    user_ids = _guids(len(team) + 1, rng)  # the team and their manager
    territory_ids = _guids(len(team) + 1, rng)  # their territories and the region above them
    rep_user = dict(zip(team["rep_id"], user_ids, strict=False))
    rep_territory = dict(zip(team["rep_id"], territory_ids, strict=False))
    no_point = rng.random(n) < 0.5
    account = pd.DataFrame({
        "accountid": _guids(n, rng), "name": mine["name"], "address1_line1": _streets(n, rng),
        "address1_city": mine["city"], "address1_stateorprovince": mine["state"],
        "address1_postalcode": mine["postal_code"], "address1_country": "United States",
        "address1_latitude": _blanked(mine["lat"], no_point), "address1_longitude": _blanked(mine["lon"], no_point),
        "revenue": mine["potential"].astype(float).astype(int),
        "numberofemployees": (mine["potential"].astype(float) / rng.uniform(800, 2500, n)).astype(int) + 1,
        "ownerid": mine["current_rep_id"].map(rep_user), "territoryid": mine["current_rep_id"].map(rep_territory),
    })
    users = []
    for rep in team.itertuples(index=False):
        first, last = _split(rep.name)
        users.append({"systemuserid": rep_user[rep.rep_id], "fullname": rep.name, "firstname": first, "lastname": last,
                      "internalemailaddress": _email(first, last), "address1_city": rep.city,
                      "address1_stateorprovince": rep.state, "address1_postalcode": _zip_of(rep.city, rep.state),
                      "isdisabled": "false", "territoryid": rep_territory[rep.rep_id]})
    users.append({"systemuserid": user_ids[-1], "fullname": "Pat Lee", "firstname": "Pat", "lastname": "Lee",
                  "internalemailaddress": _email("Pat", "Lee"), "address1_city": "Atlanta",
                  "address1_stateorprovince": "GA", "address1_postalcode": "", "isdisabled": "false",
                  "territoryid": territory_ids[-1]})
    territory = [{"territoryid": rep_territory[r.rep_id], "name": f"{r.city}, {r.state}",
                  "description": f"Territory of {r.name}", "managerid": user_ids[-1],
                  "parentterritoryid": territory_ids[-1]} for r in team.itertuples(index=False)]
    territory.append({"territoryid": territory_ids[-1], "name": "Southeast", "description": "Southeast region",
                      "managerid": user_ids[-1], "parentterritoryid": ""})
    return {"account.csv": account, "systemuser.csv": pd.DataFrame(users), "territory.csv": pd.DataFrame(territory)}


SOURCE = """# Sample CRM exports (synthetic)

What Salesforce, HubSpot and Dynamics 365 would export for the demo's accounts and reps
(`scenarios/demo/`): every company, person, id and email here is made up, from the
synthetic demo data (see `scenarios/demo/SOURCE.md`); no file comes from a real CRM.
`territory-planner import salesforce|hubspot|dynamics` reads them (README, "From the CRM
and back").

Made by `territory_planner.crm.samples.write_samples("scenarios/crm_sample", demo="scenarios/demo", seed={seed})`
(CLI: `territory-planner import samples --out scenarios/crm_sample --demo scenarios/demo --seed {seed}`);
the same seed gives byte-identical files, and `tests/crm/test_import.py` checks that these
match a fresh generation.

| Folder | Files | Content |
|---|---|---|
| `salesforce/` | `Account.csv`, `User.csv` | Data Loader exports: {accounts:,} accounts (about a third without BillingLatitude/Longitude, some of those without a ZIP code; AnnualRevenue = the demo potential, Segment__c = its segment, OwnerId = its current rep) and {users} users ({reps} reps, four who own no account) |
| | `Territory2.csv`, `ObjectTerritory2Association.csv`, `UserTerritory2Association.csv` | the territory model: 3 regions and one territory per rep; each account in its owner's territory, about 2% in another; each rep Owner of their territory, a manager Sales Manager of some |
| `hubspot/` | `companies.csv`, `owners.json` | the Texas team ({hubspot_reps} reps, {hubspot_accounts} companies): export labels, owner by name (or email), the owners API response |
| `dynamics/` | `account.csv`, `systemuser.csv`, `territory.csv` | the Southeast team ({dynamics_reps} reps, {dynamics_accounts} accounts): logical names, GUIDs, one territory per rep under a region |

Ids have the CRMs' shapes: Salesforce 18-character Ids with key prefixes 001 (Account),
005 (User), 0MI (Territory2), 0MA (Territory2Model), 0M5 (Territory2Type), 0R0
(ObjectTerritory2Association) and 0R7 (UserTerritory2Association, a plausible guess);
HubSpot numeric ids; Dynamics GUIDs. Emails use the reserved domain example.com.
"""


def sample_files(demo, seed: int = 7) -> dict[str, str]:
    """Every sample file (path in the folder → text), deterministic for ``seed``."""
    accounts, reps = read_demo(demo)
    salesforce = salesforce_sample(accounts, reps, np.random.default_rng([seed, 1]))
    hubspot = hubspot_sample(accounts, reps, np.random.default_rng([seed, 2]))
    dynamics = dynamics_sample(accounts, reps, np.random.default_rng([seed, 3]))
    files = {f"salesforce/{name}": csv_text(frame) for name, frame in salesforce.items()}
    files["hubspot/companies.csv"] = csv_text(hubspot["companies.csv"])
    files["hubspot/owners.json"] = json.dumps(hubspot["owners.json"], indent=2) + "\n"
    files.update({f"dynamics/{name}": csv_text(frame) for name, frame in dynamics.items()})
    files["SOURCE.md"] = SOURCE.format(
        seed=seed, accounts=len(accounts), users=len(salesforce["User.csv"]), reps=len(reps),
        hubspot_reps=len(HUBSPOT_TEAM), hubspot_accounts=len(hubspot["companies.csv"]),
        dynamics_reps=len(DYNAMICS_TEAM), dynamics_accounts=len(dynamics["account.csv"]))
    return files


def write_samples(out_dir, *, demo="scenarios/demo", seed: int = 7) -> dict[str, Path]:
    """Write the sample exports as the whole of ``out_dir`` (see the module docstring)."""
    return write_folder(out_dir, sample_files(demo, seed))
