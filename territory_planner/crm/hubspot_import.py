"""HubSpot → the planner: a companies export and the owners list.

HubSpot has no territory object (FIELD.md §5): today's alignment is the company's owner.
A companies export writes "Company owner" as the owner's name (or email, or with internal
names the ``hubspot_owner_id``); the owners list (``GET /crm/v3/owners`` saved as JSON, or
a CSV/Excel with id, email, firstName, lastName) turns it into the owner id the API
writes back. ``current_rep_id`` and ``rep_id`` are owner ids; an archived owner who still
owns companies becomes an open seat. Owners have no address in HubSpot, so a rep is placed
at the potential-weighted centre of the companies they own today (the report says so).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from territory_planner.crm.formats import HubSpotCompany as C
from territory_planner.crm.formats import HubSpotOwner as O
from territory_planner.crm.importing import (
    AccountFields,
    Export,
    Imported,
    ImportOptions,
    account_table,
    assemble,
    find_fields,
    owner_ids,
    read_export,
    truthy,
    user_table,
)
from territory_planner.data.files import Table
from territory_planner.errors import InputError

#: Custom company properties some portals add for coordinates (HubSpot has none built in).
LATITUDE, LONGITUDE = "Latitude", "Longitude"
ACCOUNT_FIELDS = AccountFields(id=C.RECORD_ID, name=C.NAME, postal_code=C.POSTAL_CODE, city=C.CITY, state=C.STATE,
                               country=C.COUNTRY, lat=LATITUDE, lon=LONGITUDE, potential=C.ANNUAL_REVENUE)
OWNER_FIELDS = [O.ID, O.EMAIL, O.FIRST_NAME, O.LAST_NAME, O.ARCHIVED]


def import_hubspot(companies, owners, *, options: ImportOptions = ImportOptions()) -> Imported:
    """Read a HubSpot companies export and the owners list into the planner's tables.

    ``companies``: Record ID, Company name, Company owner, City, State/Region, Postal
    Code, Country/Region, the potential field ("Annual Revenue"); ``owners``: JSON from the
    owners API or a table with id, email, firstName, lastName (archived optional).
    """
    company_export = read_export(
        companies, C.OBJECT, "HubSpot companies export",
        [C.RECORD_ID, C.NAME, C.OWNER, C.CITY, C.STATE, C.POSTAL_CODE, C.COUNTRY, LATITUDE, LONGITUDE],
        required=[C.RECORD_ID, C.OWNER])
    owner_export = read_owners(owners)
    names = (owner_export.text(O.FIRST_NAME) + " " + owner_export.text(O.LAST_NAME)).str.strip()
    users = user_table(owner_export, id_field=O.ID, name=names, email=O.EMAIL,
                       active=~truthy(owner_export.text(O.ARCHIVED), default=False))
    frame, facts = account_table(company_export, ACCOUNT_FIELDS, options)
    frame["current_rep_id"] = owner_ids(company_export.text(C.OWNER), users, company_export, C.OWNER,
                                        what="Company owner",
                                        fix="give the whole owners list (every page of GET /crm/v3/owners, and "
                                            "archived owners with ?archived=true), and import again")
    facts["owner_source"] = "`Company owner` matched to the owners list by id, email or name → the owner id"
    sources = {"companies export": company_export, "owners list": owner_export}
    return assemble("hubspot", frame, users, company_export, options, facts, sources)


def read_owners(path) -> Export:
    """The owners list: the owners API's JSON (``{"results": [...]}`` or a list), or a table."""
    path = Path(path)
    if path.suffix.lower() != ".json":
        return read_export(path, O.OBJECT, "HubSpot owners list", OWNER_FIELDS, required=[O.ID])
    if not path.is_file():
        raise InputError("file not found", file=path, fix="check the path of the owners list")
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a JSON owners list ({exc})", file=path,
                         fix="save the response of GET /crm/v3/owners as UTF-8 JSON, or give a CSV") from None
    records = data.get("results") if isinstance(data, dict) else data
    if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
        raise InputError("the JSON holds no list of owners", file=path,
                         fix='give the owners API response ({"results": [{"id": …, "email": …}, …]})')
    frame = pd.DataFrame([{k: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                           for k, v in r.items() if not isinstance(v, (dict, list))} for r in records]).fillna("")
    frame["_row"] = np.arange(1, len(frame) + 1)
    return find_fields(Table(frame, str(path), None), O.OBJECT, "HubSpot owners list", OWNER_FIELDS, required=[O.ID])
