"""Salesforce → the planner: Account and User exports, optionally the territory model's.

Owner alignment (the default): ``current_rep_id`` is the Account's ``OwnerId``.
Territory alignment (Enterprise Territory Management, FIELD.md §5): with the exports of
Territory2, ObjectTerritory2Association (account → territory) and
UserTerritory2Association (user → territory, in a role), ``current_rep_id`` is the user of
the account's territory — the one whose ``RoleInTerritory2`` is Owner (``--territory-role``),
else the territory's only user. A territory with accounts and no user is an open seat
(rep_id = its Territory2 Id, no crm_id, status open). Accounts keep
``territory_crm_id`` and ``territory_association_id`` (the association to delete when the
account moves: associations support create and delete only); reps keep their territory's
Id, Name, DeveloperName, Territory2ModelId, Territory2TypeId and access levels so the
export can reuse them, and the territories merged into it when the user held several
(``merged_territories``). Accounts keep their OwnerId too (``owner_crm_id``): the owner an
export's owner update compares with.

Ids are kept as the CRM's 18-character Ids (a report's 15-character ones are converted,
:func:`~territory_planner.crm.formats.salesforce_id18`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from territory_planner.crm.formats import SalesforceAccount as A
from territory_planner.crm.formats import SalesforceObjectTerritory2Association as OTA
from territory_planner.crm.formats import SalesforceTerritory2 as T
from territory_planner.crm.formats import SalesforceUser as U
from territory_planner.crm.formats import SalesforceUserTerritory2Association as UTA
from territory_planner.crm.formats import salesforce_id18
from territory_planner.crm.importing import (
    AccountFields,
    Export,
    Imported,
    ImportOptions,
    account_table,
    assemble,
    id_cells,
    listing,
    owner_ids,
    read_export,
    truthy,
    user_table,
)
from territory_planner.data.files import Table
from territory_planner.errors import InputError

#: Territory2's access levels → the reps columns keeping them (the export gives a new
#: territory its rep's levels); report labels are read as the API values Data Loader takes.
ACCESS_LEVELS = {T.ACCOUNT_ACCESS_LEVEL: "territory_account_access_level",
                 T.OPPORTUNITY_ACCESS_LEVEL: "territory_opportunity_access_level",
                 T.CASE_ACCESS_LEVEL: "territory_case_access_level"}
ACCESS_VALUES = {"read only": "Read", "read/write": "Edit", "owner": "All", "private": "None"}
ACCOUNT_FIELDS = AccountFields(id=A.ID, name=A.NAME, postal_code=A.BILLING_POSTAL_CODE, city=A.BILLING_CITY,
                               state=A.BILLING_STATE, country=A.BILLING_COUNTRY, lat=A.BILLING_LATITUDE,
                               lon=A.BILLING_LONGITUDE, potential=A.ANNUAL_REVENUE)


def import_salesforce(accounts, users, *, territories=None, account_territories=None, user_territories=None,
                      options: ImportOptions = ImportOptions()) -> Imported:
    """Read Salesforce exports (Data Loader CSV, or Excel) into the planner's tables.

    ``accounts``: Account (Id, Name, Billing* address, BillingLatitude/Longitude, the
    potential field, OwnerId); ``users``: User (Id, Name or FirstName + LastName, Email,
    City, State, PostalCode, IsActive). The three territory exports come together or not
    at all. Raises :class:`InputError` naming the file, row, column and fix.
    """
    territory_files = (territories, account_territories, user_territories)
    by_territory = any(f is not None for f in territory_files)
    if by_territory and not all(f is not None for f in territory_files):
        raise InputError("a territory import needs three exports: Territory2 (--territories), "
                         "ObjectTerritory2Association (--account-territories) and UserTerritory2Association "
                         "(--user-territories)", fix="give all three, or none to align by OwnerId")
    account_export = read_export(
        accounts, A.OBJECT, "Salesforce Account export",
        [A.ID, A.NAME, A.BILLING_CITY, A.BILLING_STATE, A.BILLING_POSTAL_CODE, A.BILLING_COUNTRY,
         A.BILLING_LATITUDE, A.BILLING_LONGITUDE, A.OWNER_ID],
        required=[A.ID] if by_territory else [A.ID, A.OWNER_ID])
    user_export = read_export(
        users, U.OBJECT, "Salesforce User export",
        [U.ID, U.NAME, U.FIRST_NAME, U.LAST_NAME, U.EMAIL, U.CITY, U.STATE, U.POSTAL_CODE, U.COUNTRY, U.LATITUDE,
         U.LONGITUDE, U.IS_ACTIVE], required=[U.ID])
    frame, facts = account_table(account_export, ACCOUNT_FIELDS, options, normalise=salesforce_id18)
    user_frame = user_table(
        user_export, id_field=U.ID, name=_user_names(user_export), email=U.EMAIL,
        active=truthy(user_export.text(U.IS_ACTIVE), default=True),
        address={"postal_code": U.POSTAL_CODE, "city": U.CITY, "state": U.STATE, "country": U.COUNTRY,
                 "lat": U.LATITUDE, "lon": U.LONGITUDE}, normalise=salesforce_id18)
    sources = {"Account export": account_export, "User export": user_export}
    if not by_territory:
        frame["current_rep_id"] = owner_ids(account_export.text(A.OWNER_ID), user_frame, account_export, A.OWNER_ID,
                                            normalise=salesforce_id18)
        facts["owner_source"] = "`OwnerId`, the account's owner"
    else:
        frame, user_frame, notes = _by_territory(frame, user_frame, account_export, territories, account_territories,
                                                 user_territories, options, sources)
        facts["owner_source"] = (f"the user of the account's territory (`UserTerritory2Association`, role "
                                 f"'{options.territory_role}' preferred), not `OwnerId`")
        facts["notes"] = notes
    return assemble("salesforce", frame, user_frame, account_export, options, facts, sources)


def _user_names(export: Export) -> pd.Series:
    name = export.text(U.NAME)
    if export.has(U.NAME):
        return name
    return (export.text(U.FIRST_NAME) + " " + export.text(U.LAST_NAME)).str.strip()


def _by_territory(frame: pd.DataFrame, users: pd.DataFrame, account_export: Export, territories, account_territories,
                  user_territories, options: ImportOptions,
                  sources: dict[str, Export]) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """current_rep_id and the territory columns from the three territory exports (added to ``sources``)."""
    t_export = read_export(territories, T.OBJECT, "Salesforce Territory2 export",
                           [T.ID, T.NAME, T.DEVELOPER_NAME, T.MODEL_ID, T.TYPE_ID, *ACCESS_LEVELS],
                           required=[T.ID, T.NAME, T.DEVELOPER_NAME])
    t_ids = id_cells(t_export, T.ID, normalise=salesforce_id18, what="Territory2 Id")
    territory = pd.DataFrame({"name": t_export.text(T.NAME).to_numpy(),
                              "developer_name": t_export.text(T.DEVELOPER_NAME).to_numpy(),
                              "territory_model_id": t_export.text(T.MODEL_ID).map(salesforce_id18).to_numpy(),
                              "territory_type_id": t_export.text(T.TYPE_ID).map(salesforce_id18).to_numpy(),
                              **{column: t_export.text(field).map(lambda v: ACCESS_VALUES.get(v.lower(), v)).to_numpy()
                                 for field, column in ACCESS_LEVELS.items()},
                              "_row": t_export.rows}, index=t_ids.to_numpy())
    ota_export = read_export(account_territories, OTA.OBJECT, "Salesforce ObjectTerritory2Association export",
                             [OTA.ID, OTA.OBJECT_ID, OTA.TERRITORY2_ID, OTA.SOBJECT_TYPE],
                             required=[OTA.ID, OTA.OBJECT_ID, OTA.TERRITORY2_ID])
    uta_export = read_export(user_territories, UTA.OBJECT, "Salesforce UserTerritory2Association export",
                             [UTA.ID, UTA.USER_ID, UTA.TERRITORY2_ID, UTA.ROLE, UTA.IS_ACTIVE],
                             required=[UTA.USER_ID, UTA.TERRITORY2_ID])
    sources.update({"Territory2 export": t_export, "ObjectTerritory2Association export": ota_export,
                    "UserTerritory2Association export": uta_export})
    link = _account_links(frame, ota_export, territory)
    frame = frame.copy()
    frame["territory_crm_id"] = frame["account_id"].map(link["territory"]).astype(object)
    frame["territory_association_id"] = frame["account_id"].map(link["association"]).astype(object)
    potential = frame.groupby("territory_crm_id")["potential"].sum()
    rep_of = _territory_reps(uta_export, users, territory, set(potential.index), options.territory_role)
    seats = [tid for tid in potential.index if tid not in rep_of]
    for tid in seats:
        rep_of[tid] = tid  # an open seat: the territory is the rep
    frame["current_rep_id"] = frame["territory_crm_id"].map(rep_of).astype(object)
    frame["current_rep_id"] = frame["current_rep_id"].where(frame["current_rep_id"].notna(), None)
    notes = []
    if account_export.has(A.OWNER_ID) and len(frame):
        owner = owner_ids(account_export.text(A.OWNER_ID), users, account_export, A.OWNER_ID, normalise=salesforce_id18)
        frame["owner_crm_id"] = pd.Series(owner, index=frame.index, dtype=object)  # to compare owners at export
        differ = int(sum(1 for a, b in zip(owner, frame["current_rep_id"], strict=True) if b is not None and a != b))
        if differ:
            notes.append(f"{differ:,} account(s) are owned (OwnerId) by someone other than the rep of their territory; "
                         "current_rep_id follows the territory (publishing a territory model does not change owners).")
    outside = int(frame["territory_crm_id"].isna().sum())
    if outside:
        notes.append(f"{outside:,} account(s) are in no territory (no ObjectTerritory2Association): current_rep_id is "
                     "blank and the plan assigns them.")
    # A rep who holds several territories plans as one; the export reuses the richest of them.
    territory_of: dict[str, str] = {}
    merged: dict[str, list[str]] = {}
    for tid in sorted(rep_of, key=lambda t: (-potential.get(t, 0.0), t)):
        if rep_of[tid] in territory_of:
            merged.setdefault(rep_of[tid], []).append(tid)
        territory_of.setdefault(rep_of[tid], tid)
    if merged:
        names = users.set_index("rep_id")["name"]
        held = "; ".join(f"{names.get(u, u)}: keeps {territory.at[territory_of[u], 'name']!r}, merges "
                         f"{', '.join(repr(territory.at[t, 'name']) for t in others)}"
                         for u, others in sorted(merged.items(), key=lambda kv: str(names.get(kv[0], kv[0]))))
        notes.append(f"{len(merged)} user(s) hold several territories and plan as one territory each, the one with "
                     f"the most potential; the accounts of the others are planned with it ({held}). An export to the "
                     "current model moves them into the territory kept and leaves the merged ones empty "
                     "(LOAD_ORDER.md names them).")
    seat_rows = pd.DataFrame({"rep_id": seats, "crm_id": "", "name": [f"(open) {territory.at[t, 'name']}" for t in seats],
                              "email": "", "active": False, "open_seat": True, "postal_code": "", "city": "",
                              "state": "", "country": "", "lat": np.nan, "lon": np.nan,
                              "_row": [int(territory.at[t, "_row"]) for t in seats]})
    users = pd.concat([users, seat_rows], ignore_index=True) if seats else users.copy()
    users["territory_crm_id"] = users["rep_id"].map(territory_of).astype(object)
    users["territory_name"] = users["territory_crm_id"].map(territory["name"]).astype(object)
    users["territory_developer_name"] = users["territory_crm_id"].map(territory["developer_name"]).astype(object)
    for column in ("territory_model_id", "territory_type_id", *ACCESS_LEVELS.values()):
        values = users["territory_crm_id"].map(territory[column]).astype(object)
        users[column] = values.where(values.notna() & (values != ""), None)
    users["merged_territories"] = users["rep_id"].map(
        {u: "; ".join(f"{territory.at[t, 'name']} [{t}]" for t in others) for u, others in merged.items()}
    ).astype(object)
    if seats:
        notes.append(f"{len(seats)} territory(ies) with accounts have no user: open seats with the territory's Id as "
                     "rep_id.")
    return frame, users, notes


def _account_links(frame: pd.DataFrame, export: Export, territory: pd.DataFrame) -> pd.DataFrame:
    """Per account id: its territory and association Id. Several territories is an error."""
    ids = id_cells(export, OTA.ID, normalise=salesforce_id18, what="association Id")
    objects = export.text(OTA.OBJECT_ID).map(salesforce_id18)
    territories = export.text(OTA.TERRITORY2_ID).map(salesforce_id18)
    kind = export.text(OTA.SOBJECT_TYPE).str.lower()
    rows = export.rows
    mine = objects.isin(set(frame["account_id"])) & kind.isin(["", "account"])
    unknown = [(int(r), repr(t)) for r, t, m in zip(rows, territories, mine, strict=True) if m and t not in territory.index]
    if unknown:
        raise InputError(f"{len(unknown)} association(s) name a territory that is not in the Territory2 export: "
                         f"{listing(unknown)}", file=export.file, row=unknown[0][0],
                         column=export.header(OTA.TERRITORY2_ID),
                         fix="export Territory2 and the associations from the same territory model, and import again")
    link = pd.DataFrame({"account": objects, "territory": territories, "association": ids, "_row": rows})[mine.to_numpy()]
    repeated = link[link["account"].duplicated(keep=False)]
    if len(repeated):
        pairs = [(int(g["_row"].iloc[0]), f"account {a} in {', '.join(territory.loc[g['territory'], 'name'])}")
                 for a, g in repeated.groupby("account", sort=False)]
        raise InputError(f"{len(pairs)} account(s) are in several territories: {listing(pairs)}", file=export.file,
                         row=pairs[0][0], column=export.header(OTA.OBJECT_ID),
                         fix="export the associations of one territory model, the active one (SOQL: SELECT Id, "
                             "ObjectId, Territory2Id FROM ObjectTerritory2Association WHERE "
                             "Territory2.Territory2Model.State = 'Active'), with one territory per account")
    return link.set_index("account")


def _territory_reps(export: Export, users: pd.DataFrame, territory: pd.DataFrame, used: set[str],
                    role: str) -> dict[str, str]:
    """Territory Id → the rep_id of its user, for the territories holding accounts.

    The active user with ``role`` if there is exactly one, else the only active user;
    several candidates are an error listing the territories.
    """
    active = truthy(export.text(UTA.IS_ACTIVE), default=True)
    territories = export.text(UTA.TERRITORY2_ID).map(salesforce_id18)
    in_use = territories.isin(used).to_numpy() & active
    rows = export.rows
    table = pd.DataFrame({"territory": territories, "role": export.text(UTA.ROLE).str.lower(),
                          "_row": rows, "user": None})[in_use]
    if not len(table):
        return {}
    sub = Export(Table(export.table.frame[in_use], export.file, export.table.header_row), export.obj, export.what,
                 export.found)
    table["user"] = owner_ids(sub.text(UTA.USER_ID), users, sub, UTA.USER_ID, normalise=salesforce_id18, what="user")
    chosen: dict[str, str] = {}
    ambiguous = []
    for tid, group in table.groupby("territory", sort=False):
        group = group.drop_duplicates("user")
        in_role = group[group["role"] == role.strip().lower()]
        pick = in_role if len(in_role) else group
        if len(pick) == 1:
            chosen[tid] = pick["user"].iloc[0]
        else:
            names = users.set_index("rep_id")["name"]
            ambiguous.append((int(pick["_row"].iloc[0]), f"territory {territory.at[tid, 'name']!r}: "
                                                         f"{', '.join(str(names.get(u, u)) for u in pick['user'])}"))
    if ambiguous:
        raise InputError(f"{len(ambiguous)} territory(ies) have several users and none alone in the role '{role}': "
                         f"{listing(ambiguous)}", file=export.file, row=ambiguous[0][0],
                         column=export.header(UTA.ROLE),
                         fix=f"give one user of each territory the role '{role}' (RoleInTerritory2), or name the "
                             "role of the territory's rep with --territory-role")
    return chosen
