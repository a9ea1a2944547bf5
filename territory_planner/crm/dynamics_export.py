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
* ``account_update.csv``: accountid, territoryid (the territory's **name**: the wizard
  resolves a lookup by the record's name, and the territories of the first step have no
  id before they are imported), ownerid (systemuserid);
* ``account_update_open_seats.csv``: accountid and territoryid only, for the accounts of
  open seats (no person): their owner is left as it is, and LOAD_ORDER.md lists them.
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
    csv_file,
    hierarchy_parents,
    id_column,
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
OPEN_SEAT_FILE = "account_update_open_seats.csv"
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
    open_account = pd.Series(team["open"].to_numpy()[where.to_numpy()], index=a.index)
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
                          "territory, which the wizard finds by name."))
    main = scope & ~open_account
    frame = pd.DataFrame({DynamicsAccount.ID: ids[main].to_numpy(),
                          DynamicsAccount.TERRITORY_ID: [names[i] for i in where[main]],
                          DynamicsAccount.OWNER_ID: [users[i] for i in where[main]]}).sort_values(DynamicsAccount.ID)
    files[ACCOUNT_FILE] = csv_file(frame, bom=True)
    steps.append(Step(ACCOUNT_FILE, WIZARD, "update existing account records", len(frame),
                      "Map accountid to Account (the record's id: existing accounts are updated), territoryid to "
                      "Territory — it holds the territory's name, which the wizard resolves to the territory of the "
                      "steps above — and ownerid to Owner (the user's systemuserid; match the user by its id)."))
    seats = scope & open_account
    if seats.any():
        frame = pd.DataFrame({DynamicsAccount.ID: ids[seats].to_numpy(),
                              DynamicsAccount.TERRITORY_ID: [names[i] for i in where[seats]]})
        files[OPEN_SEAT_FILE] = csv_file(frame.sort_values(DynamicsAccount.ID), bom=True)
        steps.append(Step(OPEN_SEAT_FILE, WIZARD, "update existing account records", len(frame),
                          "The accounts of open seats: territory only, their owner is left as it is (no person "
                          "holds the seat yet)."))
    notes = []
    if exists.any():
        notes.append(f"{int(exists.sum()):,} territories exist in Dynamics already (imported with their id) and are "
                     "not created again.")
    if options.changed_only:
        notes.append(changed_note(int(changed.sum()), len(a), ACCOUNT_FILE))
        untouched = int((~exists & ~create).sum())
        if untouched:
            notes.append(f"--changed-only: {untouched:,} new territories receive no changed account and are left out "
                         f"of {TERRITORY_FILE}.")
    notes += open_seat_notes(team, names, where, ids, f"they are in {OPEN_SEAT_FILE}, without an owner",
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
