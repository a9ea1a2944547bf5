"""A Plan as Microsoft Dynamics 365 import files (FIELD.md §5): territories, then account updates.

Dynamics keeps a territory as a ``territory`` row (name, ``managerid`` → systemuser,
``parentterritoryid`` → territory) and an account's alignment in the account's
``territoryid`` lookup, its rep in ``ownerid``. The files are for the Data Import wizard
(Settings → Data Management → Imports, or "Import from CSV" on the Accounts view), UTF-8
with a BOM:

* ``territory.csv``: the territories new to Dynamics (every territory of a plan not
  imported from Dynamics; those with a ``territory_crm_id`` exist and are not created
  again), their manager (systemuserid; blank for an open seat) and parent; with a sales
  hierarchy (``scenario.hierarchy.levels``), one file per level before it
  (``territory_1_region.csv`` …), since a lookup resolves only to a record that exists
  when its file is imported;
* ``account_update.csv``: accountid, territoryid, ownerid (systemuserid) for the accounts
  whose territory exists in Dynamics (a ``territory_crm_id`` from the import):
  ``territoryid`` is its GUID — a territory's name need not be unique, its id is;
* ``account_update_new_territories.csv``: the same for the accounts of territories the
  first steps create, which have no id before they are imported: ``territoryid`` is the
  territory's **name**, which the wizard resolves (unique among the plan's territories);
* ``account_update_open_seats.csv`` / ``account_update_open_seats_new_territories.csv``:
  accountid and territoryid only, for the accounts of open seats (no person): their owner
  is left as it is, and LOAD_ORDER.md lists them.

A wizard column resolves a lookup by one field of the referenced record, so ids and names
never share a column. Each file is written when it has rows.
"""

from __future__ import annotations

import pandas as pd

from territory_planner.crm.exporting import (
    Export,
    ExportOptions,
    Step,
    UniqueNames,
    account_crm_ids,
    changed_mask,
    changed_note,
    check_id_shapes,
    csv_file,
    hierarchy_parents,
    id_column,
    no_ids,
    open_accounts,
    open_seat_notes,
    placement,
    rep_crm_users,
    slug,
    territory_display_names,
    territory_team,
)
from territory_planner.crm.formats import DynamicsAccount, DynamicsTerritory
from territory_planner.plan import Plan

TERRITORY_FILE = "territory.csv"
ACCOUNT_FILE = "account_update.csv"
NEW_TERRITORY_ACCOUNT_FILE = "account_update_new_territories.csv"
OPEN_SEAT_FILE = "account_update_open_seats.csv"
NEW_TERRITORY_OPEN_SEAT_FILE = "account_update_open_seats_new_territories.csv"
WIZARD = "Dynamics 365 Data Import wizard"


def _description(row) -> str:
    text = f"{int(row.get('n_accounts', 0) or 0):,} accounts"
    if row.get("potential") is not None and not pd.isna(row.get("potential")):
        text += f", potential {float(row['potential']):,.0f}"
    return text + " (planned with territory_planner)"


def dynamics_export(plan: Plan, options: ExportOptions) -> Export:
    """Render the Dynamics 365 files of ``plan`` (see the module docstring); checks every id."""
    a = plan.assignments
    team = territory_team(plan)
    ids = account_crm_ids(plan, "dynamics", options)
    where = placement(plan, team)
    changed = changed_mask(a)
    scope = changed.copy() if options.changed_only else pd.Series(True, index=a.index)
    open_account = open_accounts(team, where)
    names = territory_display_names(team)
    levels, paths = hierarchy_parents(plan, team)
    exists = id_column(team["territory_crm_id"]).notna() if "territory_crm_id" in team \
        else pd.Series(False, index=team.index)
    touched = set(where[scope].tolist())
    create = ~exists & pd.Series([i in touched or not options.changed_only for i in team.index], index=team.index)
    owning = set(where[scope & ~open_account].tolist())
    users = rep_crm_users(team, "dynamics", options,
                          needed=create | pd.Series([i in owning for i in team.index], index=team.index))
    # Group names: unique beside the territories' names (a lookup by name must find one).
    unique = UniqueNames(limit=160, sep=" ")
    for name in names:
        unique.reserve(name)
    groups = sorted({g for i in team.index if create[i] for g in paths[i]} if paths else set(),
                    key=lambda g: (levels.index(g[0]), g[1]))
    group_name = {g: unique.take(g[1]) for g in groups}
    columns = [DynamicsTerritory.NAME, DynamicsTerritory.MANAGER_ID, DynamicsTerritory.PARENT_ID,
               DynamicsTerritory.DESCRIPTION]
    files: dict[str, str] = {}
    steps: list[Step] = []
    for depth, level in enumerate(levels):
        rows = [{DynamicsTerritory.NAME: group_name[g], DynamicsTerritory.MANAGER_ID: "",
                 DynamicsTerritory.PARENT_ID: group_name.get(_parent(paths, g, depth), "") if depth else "",
                 DynamicsTerritory.DESCRIPTION: f"{level} {g[1]}"} for g in groups if g[0] == level]
        if not rows:
            continue
        name = f"territory_{depth + 1}_{slug(level, fallback='level')}.csv"
        files[name] = csv_file(pd.DataFrame(rows, columns=columns).sort_values(DynamicsTerritory.NAME), bom=True)
        steps.append(Step(name, WIZARD, "import new territory records", len(rows),
                          f"The {level} level of the hierarchy" + (f", under the {levels[depth - 1]} territories of "
                                                                   "the step before" if depth else "") +
                          ". If your org has territories of these names already, leave their rows out."))
    leaf = [{DynamicsTerritory.NAME: names[i], DynamicsTerritory.MANAGER_ID: users[i] or "",
             DynamicsTerritory.PARENT_ID: group_name[paths[i][-1]] if paths else "",
             DynamicsTerritory.DESCRIPTION: _description(team.loc[i])} for i in team.index if create[i]]
    if leaf:
        files[TERRITORY_FILE] = csv_file(pd.DataFrame(leaf, columns=columns).sort_values(DynamicsTerritory.NAME),
                                         bom=True)
        steps.append(Step(TERRITORY_FILE, WIZARD, "import new territory records", len(leaf),
                          "managerid is the rep's user id (systemuserid; blank for an open seat): in the wizard's "
                          "lookup reference for Manager, match the user by its id. parentterritoryid names the parent "
                          "territory, which the wizard finds by name. The account files below find these new "
                          "territories by name too: rename any that another territory of your org already uses."))
    guid = id_column(team["territory_crm_id"]).where(exists, None) if "territory_crm_id" in team else no_ids(team.index)
    check_id_shapes(guid, team["territory_id"].astype(str), "dynamics", "territory", "territory_crm_id")
    known = pd.Series(exists.to_numpy(bool)[where.to_numpy()], index=a.index)
    for file, rows, with_owner, by_id in ((ACCOUNT_FILE, scope & ~open_account & known, True, True),
                                         (NEW_TERRITORY_ACCOUNT_FILE, scope & ~open_account & ~known, True, False),
                                         (OPEN_SEAT_FILE, scope & open_account & known, False, True),
                                         (NEW_TERRITORY_OPEN_SEAT_FILE, scope & open_account & ~known, False, False)):
        if not rows.any() and not (file == ACCOUNT_FILE and not scope.any()):
            continue
        frame = pd.DataFrame({DynamicsAccount.ID: ids[rows].to_numpy(),
                              DynamicsAccount.TERRITORY_ID: [guid[i] if by_id else names[i] for i in where[rows]]})
        if with_owner:
            frame[DynamicsAccount.OWNER_ID] = [users[i] for i in where[rows]]
        files[file] = csv_file(frame.sort_values(DynamicsAccount.ID), bom=True)
        territory = ("Territory — it holds the territory's id (territoryid): in the wizard's lookup reference for "
                     "Territory, match it by its id" if by_id else
                     "Territory — it holds the name of a territory created by the steps above, which have no id "
                     "before they are imported: in the wizard's lookup reference, match Territory by its name (only "
                     "the territories of this load are named, since names need not be unique)")
        owner = (", and ownerid to Owner (the user's systemuserid; match the user by its id)" if with_owner else
                 "; the accounts of open seats: their owner is left as it is (no person holds the seat yet)")
        steps.append(Step(file, WIZARD, "update existing account records", len(frame),
                          f"Map accountid to Account (the record's id: existing accounts are updated), territoryid to "
                          f"{territory}{owner}."))
    notes = []
    if exists.any():
        notes.append(f"{int(exists.sum()):,} territories exist in Dynamics already (imported with their id) and are "
                     "not created again.")
    if options.changed_only:
        notes.append(changed_note(int(changed.sum()), len(a), "the account update files"))
        untouched = int((~exists & ~create).sum())
        if untouched:
            notes.append(f"--changed-only: {untouched:,} new territories receive no changed account and are left out "
                         f"of {TERRITORY_FILE}.")
    notes += open_seat_notes(team, names, where, ids, "their territory is set, their owner left as it is",
                             scope=scope)
    header = [f"Plan: {plan.scenario.name} ({options.label or plan.scenario.name}), {len(a):,} accounts, "
              f"{len(team):,} territories.",
              "The files are UTF-8 with a BOM, for the Data Import wizard (Settings → Data Management → Imports); "
              "import them one at a time, in this order, each after the one before has finished."]
    return Export("dynamics", files, steps, notes, {}, header)


def _parent(paths: list, group: tuple[str, str], depth: int) -> tuple[str, str] | None:
    """The group one level up from ``group`` (a level-``depth`` group) on any territory's path."""
    for path in paths:
        if path[depth] == group:
            return path[depth - 1]
    return None
