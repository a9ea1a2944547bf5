"""Dynamics 365 → the planner: account and systemuser exports, optionally territory.

Today's owner is the account's ``ownerid`` (a systemuser; FIELD.md §5). Accounts keep
their ``territoryid`` as ``territory_crm_id``; with the territory export a rep keeps the
territory (id and name) it works: its own ``territoryid`` in systemuser, else the territory
it manages (``managerid``), else the territory holding most of its accounts' potential,
so the export can reuse it. GUIDs are kept lower case without braces
(:func:`~territory_planner.crm.formats.dynamics_id`). Logical names (Dataverse, Web API,
``_ownerid_value``) and "Export to Excel" labels ("Address 1: City", "Owner" as a name)
are both read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from territory_planner.crm.formats import DynamicsAccount as A
from territory_planner.crm.formats import DynamicsSystemUser as U
from territory_planner.crm.formats import DynamicsTerritory as T
from territory_planner.crm.formats import dynamics_id
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
    user_table,
)
from territory_planner.errors import InputError

ACCOUNT_FIELDS = AccountFields(id=A.ID, name=A.NAME, postal_code=A.POSTAL_CODE, city=A.CITY, state=A.STATE,
                               country=A.COUNTRY, lat=A.LATITUDE, lon=A.LONGITUDE, potential=A.REVENUE)


def import_dynamics(accounts, users, *, territories=None, options: ImportOptions = ImportOptions()) -> Imported:
    """Read Dynamics 365 exports into the planner's tables.

    ``accounts``: account (accountid, name, address1_*, the potential field ``revenue``,
    ownerid, territoryid); ``users``: systemuser (systemuserid, fullname,
    internalemailaddress, address1_*, isdisabled, territoryid); ``territories``: territory
    (territoryid, name, managerid).
    """
    account_export = read_export(
        accounts, A.OBJECT, "Dynamics 365 account export",
        [A.ID, A.NAME, A.CITY, A.STATE, A.POSTAL_CODE, A.COUNTRY, A.LATITUDE, A.LONGITUDE, A.OWNER_ID,
         A.TERRITORY_ID], required=[A.ID, A.OWNER_ID])
    user_export = read_export(
        users, U.OBJECT, "Dynamics 365 systemuser export",
        [U.ID, U.FULL_NAME, U.FIRST_NAME, U.LAST_NAME, U.EMAIL, U.CITY, U.STATE, U.POSTAL_CODE, U.COUNTRY,
         U.LATITUDE, U.LONGITUDE, U.IS_DISABLED, U.TERRITORY_ID], required=[U.ID])
    names = user_export.text(U.FULL_NAME) if user_export.has(U.FULL_NAME) else \
        (user_export.text(U.FIRST_NAME) + " " + user_export.text(U.LAST_NAME)).str.strip()
    disabled = user_export.text(U.IS_DISABLED).str.lower().isin(["true", "1", "yes", "y", "disabled"]).to_numpy()
    user_frame = user_table(user_export, id_field=U.ID, name=names, email=U.EMAIL, active=~disabled,
                            address={"postal_code": U.POSTAL_CODE, "city": U.CITY, "state": U.STATE,
                                     "country": U.COUNTRY, "lat": U.LATITUDE, "lon": U.LONGITUDE},
                            normalise=dynamics_id)
    frame, facts = account_table(account_export, ACCOUNT_FIELDS, options, normalise=dynamics_id)
    frame["current_rep_id"] = owner_ids(account_export.text(A.OWNER_ID), user_frame, account_export, A.OWNER_ID,
                                        normalise=dynamics_id)
    facts["owner_source"] = "`ownerid`, the account's owner"
    sources = {"account export": account_export, "systemuser export": user_export}
    territory = None
    if territories is not None:
        territory = _territory_table(territories, sources)
    if account_export.has(A.TERRITORY_ID) or territory is not None:
        frame["territory_crm_id"] = _account_territories(account_export, territory)
        user_frame = _rep_territories(frame, user_frame, user_export, territory)
        facts["notes"] = _territory_notes(frame)
    return assemble("dynamics", frame, user_frame, account_export, options, facts, sources)


def _territory_table(path, sources: dict[str, Export]) -> pd.DataFrame:
    export = read_export(path, T.OBJECT, "Dynamics 365 territory export", [T.ID, T.NAME, T.MANAGER_ID],
                         required=[T.ID, T.NAME])
    sources["territory export"] = export
    ids = id_cells(export, T.ID, normalise=dynamics_id, what="territoryid")
    return pd.DataFrame({"name": export.text(T.NAME).to_numpy(),
                         "manager": export.text(T.MANAGER_ID).map(dynamics_id).to_numpy()}, index=ids.to_numpy())


def _resolve_territories(values: pd.Series, territory: pd.DataFrame | None, export: Export, field: str) -> np.ndarray:
    """Territory references (a territoryid, or its name in an Excel export) → territoryid; blank → None."""
    out = np.empty(len(values), dtype=object)
    by_name: dict[str, list[str]] = {}
    if territory is not None:
        for tid, name in territory["name"].items():
            by_name.setdefault(name.strip().lower(), []).append(tid)
    unknown = []
    for i, (raw, row) in enumerate(zip(values, export.rows, strict=True)):
        text = dynamics_id(str(raw).strip())
        if not text:
            out[i] = None
        elif territory is None or text in territory.index:
            out[i] = text
        elif len(by_name.get(text.lower(), [])) == 1:
            out[i] = by_name[text.lower()][0]
        else:
            out[i] = None
            unknown.append((int(row), repr(str(raw))))
    if unknown:
        raise InputError(f"{len(unknown)} territory reference(s) are not in the territory export: {listing(unknown)}",
                         file=export.file, row=unknown[0][0], column=export.header(field),
                         fix="export every territory (and import again), or clear the account's territory")
    return out


def _account_territories(export: Export, territory: pd.DataFrame | None) -> np.ndarray:
    return _resolve_territories(export.text(A.TERRITORY_ID), territory, export, A.TERRITORY_ID)


def _rep_territories(frame: pd.DataFrame, users: pd.DataFrame, user_export: Export,
                     territory: pd.DataFrame | None) -> pd.DataFrame:
    users = users.copy()
    own = pd.Series(_resolve_territories(user_export.text(U.TERRITORY_ID), territory, user_export, U.TERRITORY_ID),
                    index=users.index, dtype=object)
    managed: dict[str, str] = {}
    if territory is not None:
        for tid, manager in territory["manager"].items():
            if manager:
                managed.setdefault(manager, tid)
    placed = frame.dropna(subset=["territory_crm_id", "current_rep_id"])
    richest = (placed.groupby(["current_rep_id", "territory_crm_id"])["potential"].sum().reset_index()
               .sort_values(["potential", "territory_crm_id"], ascending=[False, True])
               .drop_duplicates("current_rep_id").set_index("current_rep_id")["territory_crm_id"])
    chosen = [o if o else managed.get(rid) or richest.get(rid) for rid, o in zip(users["rep_id"], own, strict=True)]
    users["territory_crm_id"] = pd.Series(chosen, index=users.index, dtype=object)
    if territory is not None:
        users["territory_name"] = users["territory_crm_id"].map(territory["name"]).astype(object)
    return users


def _territory_notes(frame: pd.DataFrame) -> list[str]:
    outside = int(frame["territory_crm_id"].isna().sum())
    if not outside:
        return []
    return [f"{outside:,} account(s) have no territory (territoryid blank); they keep their owner."]
