"""A Plan as Salesforce Enterprise Territory Management load files (FIELD.md §5), for Data Loader.

Two ways to publish (FIELD.md §5b, "new model, or overwrite matching territories"):

* **new model** (``--salesforce-model new``): ``Territory2Model.csv`` (one model; it starts
  in Planning state, activation is done in Setup), ``Territory2Type.csv`` (one type per
  hierarchy level and one for the reps' territories, with priorities free in the org — or
  none, reusing a type the org has: :mod:`~territory_planner.crm.salesforce_types`),
  ``Territory2.csv`` (the hierarchy's
  groups as parent territories, parents first, then one territory per rep or open seat),
  ``Territory2_parent_update.csv`` (each territory's parent, set once every territory has
  an Id), ``UserTerritory2Association.csv`` (each rep in their territory),
  ``ObjectTerritory2Association.csv`` (every account in its territory, AssociationCause
  Territory2Manual) and ``Account_owner_update.csv`` (Id, OwnerId, for orgs that align by
  owner: publishing a model does not change record ownership; loaded after activating the
  model, since an owner changes at once).
* **current model** (``--salesforce-model current``; the default for a plan imported from
  Salesforce territories): only the changes. ObjectTerritory2Association supports create
  and delete only, so an account that changes territory is a delete of its old
  association (``ObjectTerritory2Association_delete.csv``, by the Id the import kept in
  ``territory_association_id``) and an insert of the new one; territories new to the org
  (a new rep, an open seat) are inserted with their users. With ``--changed-only`` the
  owner update holds the accounts whose OwnerId (``owner_crm_id``, kept by the import)
  differs from the planned rep. A territory of today's model that no territory of the plan
  is (a user who held several plans as one) is emptied, and LOAD_ORDER.md names it.

Salesforce assigns every Id on insert and none of these objects has an external-id field,
so the files name the records they have not yet got Ids for by DeveloperName, and
``territory-planner export --resolve success_<Object>.csv DIR`` (:func:`resolve_files`)
rewrites them with the Ids of Data Loader's success files. Files are UTF-8 without a BOM
(Data Loader reads a BOM as part of the first header).
"""

from __future__ import annotations

import re
from pathlib import Path

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
    id_text,
    listing,
    no_ids,
    open_accounts,
    open_seat_notes,
    placement,
    read_csv_file,
    rep_crm_users,
    slug,
    territory_display_names,
    territory_team,
    valid_developer_name,
)
from territory_planner.crm.formats import (
    SalesforceAccount,
    SalesforceObjectTerritory2Association,
    SalesforceTerritory2,
    SalesforceUserTerritory2Association,
)
from territory_planner.crm.salesforce_types import (
    MODEL_ID_COLUMN,
    TYPE_FILE,
    TYPE_ID_COLUMN,
    access_levels,
    access_note,
    new_model_types,
)
from territory_planner.errors import InputError
from territory_planner.plan import Plan

T2 = SalesforceTerritory2
OTA = SalesforceObjectTerritory2Association
UTA = SalesforceUserTerritory2Association
MODEL, TYPE, TERRITORY = "Territory2Model", "Territory2Type", "Territory2"

MODEL_FILE = "Territory2Model.csv"
TERRITORY_FILE = "Territory2.csv"
PARENT_FILE = "Territory2_parent_update.csv"
USER_FILE = "UserTerritory2Association.csv"
OBJECT_FILE = "ObjectTerritory2Association.csv"
DELETE_FILE = "ObjectTerritory2Association_delete.csv"
OWNER_FILE = "Account_owner_update.csv"
#: "South [0MI…]; East [0MI…]": the reps column naming the other territories a user held
#: in today's model (written by the Salesforce import; the user plans as one territory).
MERGED = re.compile(r"([^;]+?) \[([A-Za-z0-9]{15,18})\](?:;|$)")


def _model_mode(plan: Plan, team: pd.DataFrame, options: ExportOptions) -> str:
    choice = options.salesforce_model
    if choice not in ("auto", "new", "current"):
        raise InputError(f"unknown Salesforce model choice '{choice}'", column="--salesforce-model",
                         fix="use new, current or auto")
    if choice != "auto":
        return choice
    imported = ("territory_crm_id" in team and id_column(team["territory_crm_id"]).notna().any()) or (
        "territory_association_id" in plan.assignments
        and id_column(plan.assignments["territory_association_id"]).notna().any())
    return "current" if imported else "new"


def _developer_names(team: pd.DataFrame, names: list[str], groups: list[tuple[str, str]], model: str
                     ) -> tuple[list[str], dict[tuple[str, str], str], str]:
    """(each territory's DeveloperName, each group's, the model's): an imported
    ``territory_developer_name`` is kept, every other one is derived from the names,
    unique, in a fixed order (model, groups by level and value, territories)."""
    unique = UniqueNames(limit=80)
    imported = id_column(team["territory_developer_name"]) if "territory_developer_name" in team else None
    keep: list[str | None] = []
    for name in imported if imported is not None else [None] * len(team):
        usable = valid_developer_name(name) and name.casefold() not in unique.taken  # the first of duplicates
        keep.append(name if usable else None)
        if usable:
            unique.reserve(name)
    model_name = unique.take(slug(f"TP {model}"))
    group_names = {g: unique.take(slug(f"{g[0]} {g[1]}")) for g in groups}
    leaf = [have or unique.take(slug(name)) for have, name in zip(keep, names, strict=True)]
    return leaf, group_names, model_name


def _description(row, n_accounts: int) -> str:
    potential = row.get("potential")
    text = f"{n_accounts:,} accounts"
    if potential is not None and not pd.isna(potential):
        text += f", potential {float(potential):,.0f}"
    workload = row.get("workload")
    if workload is not None and not pd.isna(workload):
        text += f", workload {float(workload):,.0f} h/yr"
    return text + " (planned with territory_planner)"


def salesforce_export(plan: Plan, options: ExportOptions) -> Export:
    """Render the Salesforce files of ``plan`` (see the module docstring); checks every id."""
    a = plan.assignments
    team = territory_team(plan)
    account_ids = account_crm_ids(plan, "salesforce", options)
    mode = _model_mode(plan, team, options)
    where = placement(plan, team)
    changed = changed_mask(a)
    label = options.label or plan.scenario.name
    names = territory_display_names(team)
    levels, paths = hierarchy_parents(plan, team) if mode == "new" else ([], [])
    groups = sorted({g for path in paths for g in path}, key=lambda g: (levels.index(g[0]), g[1]))
    leaf_dev, group_dev, model_dev = _developer_names(team, names, groups, label)
    crm_ids = no_ids(team.index)
    if mode == "current" and "territory_crm_id" in team:
        crm_ids = id_column(team["territory_crm_id"]).astype(object)
        check_id_shapes(crm_ids, team["territory_id"].astype(str), "salesforce", "Territory2", "territory_crm_id")
    # The Id (when the territory is in the org) or else the DeveloperName, to be resolved.
    ref = [cid or dev for cid, dev in zip(crm_ids, leaf_dev, strict=True)]
    if mode == "new":
        territory_rows = pd.Series(True, index=team.index)
    else:
        territory_rows = crm_ids.isna()
        if options.changed_only:
            touched = set(where[changed].tolist())
            territory_rows &= pd.Series([i in touched for i in team.index], index=team.index)
    owner_rows = _owner_rows(a, team, where, changed, options)
    owning = set(where[owner_rows].tolist())
    users = rep_crm_users(team, "salesforce", options,
                          needed=territory_rows | pd.Series([i in owning for i in team.index], index=team.index))
    files: dict[str, str] = {}
    steps: list[Step] = []
    pending: dict = {}
    notes: list[str] = []
    counts = where.value_counts()
    # The DeveloperNames of records the org has no Id for yet: what --resolve fills in.
    waiting = {MODEL: {model_dev}, TYPE: set(), TERRITORY: {d for d, cid in zip(leaf_dev, crm_ids, strict=True)
                                                               if cid is None} | set(group_dev.values())}

    def wait(file: str, column: str, obj: str, values) -> None:
        names_waiting = sorted({v for v in values if v in waiting[obj]})
        if names_waiting:
            pending.setdefault(file, {})[column] = {"object": obj, "names": names_waiting}

    header = [f"Plan: {plan.scenario.name} ({label}), {len(a):,} accounts, {len(team):,} territories.",
              f"Mode: {'a new territory model' if mode == 'new' else 'changes to the current territory model'} "
              f"(--salesforce-model {mode}).",
              "Tool: Salesforce Data Loader; set Settings → 'Read all CSVs with UTF-8 encoding' (the files are "
              "UTF-8, no BOM). Keep each insert's success file: its ID column holds the new Ids."]
    access, group_access, defaulted = access_levels(team)
    if mode == "new":
        types = new_model_types(team, levels, options)
        waiting[TYPE] = types.inserted
        notes += types.notes
        files[MODEL_FILE] = csv_file(pd.DataFrame({
            "Name": [label[:80]], "DeveloperName": [model_dev],
            "Description": [f"Planned with territory_planner: scenario {plan.scenario.name}"]}), bom=False)
        steps.append(Step(MODEL_FILE, "Data Loader", f"insert {MODEL}", 1,
                          "The model starts in Planning state; activate it in Setup → Territory Models once "
                          "everything below is loaded (Planning → Activating → Active; one model is active at a time, "
                          "and activating it archives today's). DeveloperName must be new in the org: rename it here "
                          "if a model of that name exists.",
                          f"Keep success_{MODEL}.csv: its ID fills Territory2ModelId of {TERRITORY_FILE}."))
        if types.rows:
            files[TYPE_FILE] = csv_file(pd.DataFrame(types.rows, columns=["DeveloperName", "MasterLabel", "Priority",
                                                                          "Description"]), bom=False)
            steps.append(Step(TYPE_FILE, "Data Loader", f"insert {TYPE}", len(types.rows), types.detail,
                              f"Keep success_{TYPE}.csv: its IDs fill Territory2TypeId of {TERRITORY_FILE}. Then run "
                              f"`territory-planner export --resolve success_{MODEL}.csv --resolve success_{TYPE}.csv "
                              "<this folder>`."))
        rows = [{"Name": value[:80], "DeveloperName": group_dev[(level, value)], T2.MODEL_ID: model_dev,
                 T2.TYPE_ID: types.level[level], **group_access, "Description": f"{level} {value}"}
                for level, value in groups]
        rows += sorted(({"Name": names[i][:80], "DeveloperName": leaf_dev[i], T2.MODEL_ID: model_dev,
                         T2.TYPE_ID: types.leaf[k], **{f: access[f][k] for f in access},
                         "Description": _description(team.loc[i], int(counts.get(i, 0)))}
                        for k, i in enumerate(team.index)), key=lambda r: r["DeveloperName"])
    else:
        new = [i for i in team.index if territory_rows[i]]
        rows = []
        if new:
            model_id = options.model_id or _first(team, MODEL_ID_COLUMN)
            type_id = options.type_id or _first(team, TYPE_ID_COLUMN)
            if model_id is None or type_id is None:
                raise InputError(
                    f"{len(new)} territories are not in Salesforce yet ({listing(team.loc[new, 'territory_id'])}) and "
                    "need the Id of today's territory model and of a territory type, which the plan does not have",
                    column=f"{MODEL_ID_COLUMN}, {TYPE_ID_COLUMN}",
                    fix="pass --model-id and --type-id (the Territory2ModelId and Territory2TypeId of an existing "
                        f"territory; or {MODEL_ID_COLUMN} and {TYPE_ID_COLUMN} columns in the reps file, which "
                        "'territory-planner import salesforce' with the territory exports writes), or export a new "
                        "model with --salesforce-model new")
            for value, obj, column in ((model_id, "Territory2Model", "--model-id"), (type_id, "Territory2Type",
                                                                                    "--type-id")):
                check_id_shapes(pd.Series([value]), pd.Series([column]), "salesforce", obj, column)
            position = {i: k for k, i in enumerate(team.index)}
            rows = sorted(({"Name": names[i][:80], "DeveloperName": leaf_dev[i], T2.MODEL_ID: model_id,
                            T2.TYPE_ID: options.type_id or id_text(team.loc[i].get(TYPE_ID_COLUMN)) or type_id,
                            **{f: access[f][position[i]] for f in access},
                            "Description": _description(team.loc[i], int(counts.get(i, 0)))} for i in new),
                          key=lambda r: r["DeveloperName"])
            if levels or plan.scenario.hierarchy is not None:
                notes.append(f"The {len(new)} new territories are inserted without a parent: set it in Setup.")
    territory_columns = ["Name", "DeveloperName", T2.MODEL_ID, T2.TYPE_ID, *access, "Description"]
    if rows:
        frame = pd.DataFrame(rows, columns=territory_columns)
        files[TERRITORY_FILE] = csv_file(frame, bom=False)
        wait(TERRITORY_FILE, T2.MODEL_ID, MODEL, frame[T2.MODEL_ID])
        wait(TERRITORY_FILE, T2.TYPE_ID, TYPE, frame[T2.TYPE_ID])
        detail = "Parents are listed before children; their links are set by the parent update below. " \
            if groups else ""
        if defaulted:
            detail += access_note(defaulted)
        steps.append(Step(TERRITORY_FILE, "Data Loader", f"insert {TERRITORY}", len(frame), detail.strip(),
                          f"Keep success_{TERRITORY}.csv and run `territory-planner export --resolve "
                          f"success_{TERRITORY}.csv <this folder>`: it fills the Territory2Id columns below."))
    if groups:
        parent_rows = [{"Id": group_dev[path[d]], T2.PARENT_ID: group_dev[path[d - 1]]}
                       for path in paths for d in range(1, len(path))]
        parent_rows = list({r["Id"]: r for r in parent_rows}.values())
        parent_rows.sort(key=lambda r: r["Id"])
        parent_rows += sorted(({"Id": leaf_dev[i], T2.PARENT_ID: group_dev[paths[i][-1]]} for i in team.index),
                              key=lambda r: r["Id"])
        frame = pd.DataFrame(parent_rows, columns=["Id", T2.PARENT_ID])
        files[PARENT_FILE] = csv_file(frame, bom=False)
        wait(PARENT_FILE, "Id", TERRITORY, frame["Id"])
        wait(PARENT_FILE, T2.PARENT_ID, TERRITORY, frame[T2.PARENT_ID])
        steps.append(Step(PARENT_FILE, "Data Loader", f"update {TERRITORY}", len(frame),
                          f"Sets ParentTerritory2Id: the hierarchy {' → '.join(levels)} → territory."))
    user_index = [i for i in team.index if territory_rows[i] and not team.loc[i, "open"]]
    if user_index:
        frame = pd.DataFrame({UTA.USER_ID: [users[i] for i in user_index],
                              UTA.TERRITORY2_ID: [ref[i] for i in user_index],
                              UTA.ROLE: options.role_in_territory}).sort_values([UTA.TERRITORY2_ID, UTA.USER_ID])
        files[USER_FILE] = csv_file(frame, bom=False)
        wait(USER_FILE, UTA.TERRITORY2_ID, TERRITORY, frame[UTA.TERRITORY2_ID])
        steps.append(Step(USER_FILE, "Data Loader", f"insert {UTA.OBJECT}", len(frame),
                          f"RoleInTerritory2 is '{options.role_in_territory}': a picklist of your org; change the "
                          "column if it uses other values."))
    _associations(plan, mode, account_ids, where, changed, crm_ids, ref, options, files, steps, notes, wait)
    if mode == "current":
        notes += _emptied_notes(a, team, crm_ids, names, where)
    owner = pd.DataFrame({SalesforceAccount.ID: account_ids[owner_rows].to_numpy(),
                          SalesforceAccount.OWNER_ID: [users[i] for i in where[owner_rows]]})
    owner = owner.sort_values(SalesforceAccount.ID)
    files[OWNER_FILE] = csv_file(owner, bom=False)
    when = ("Load it after activating the new model in Setup, not before: an owner update takes effect at once, while "
            "the model is in Planning and its territories apply only once it is Active. " if mode == "new" else
            "An owner update takes effect at once. ")
    steps.append(Step(OWNER_FILE, "Data Loader", "update Account", len(owner),
                      when + "For orgs that align by owner (publishing a territory model does not change record "
                      "ownership); skip it if yours does not."))
    if options.changed_only and "owner_crm_id" in a:
        notes.append(f"--changed-only: {OWNER_FILE} holds the {len(owner):,} of {len(a):,} accounts whose owner "
                     "(OwnerId, kept by the import) differs from their planned rep — not the same accounts as those "
                     "whose territory changes, since owners and territories drift apart; the others keep their owner.")
    elif options.changed_only:
        notes.append(changed_note(int(changed.sum()), len(a), OWNER_FILE))
    notes += open_seat_notes(team, names, where, account_ids, scope=changed if options.changed_only else None)
    return Export("salesforce", files, steps, notes, pending, header)


def _owner_rows(a: pd.DataFrame, team: pd.DataFrame, where: pd.Series, changed: pd.Series,
                options: ExportOptions) -> pd.Series:
    """The accounts of Account_owner_update.csv: every account of a territory with a user,
    or with ``--changed-only`` those whose owner changes — compared with the account's
    OwnerId where the import kept it (``owner_crm_id``: a territory import's current_rep_id
    is the territory's user, which need not own the account), else with current_rep_id."""
    rows = ~open_accounts(team, where)
    if not options.changed_only:
        return rows
    if "owner_crm_id" not in a:
        return rows & changed
    planned = rep_crm_users(team, "salesforce", options, needed=pd.Series(False, index=team.index))
    new = pd.Series([planned[i] for i in where], index=a.index, dtype=object)
    today = id_column(a["owner_crm_id"])
    differs = pd.Series([c if t is None else (n is None or t != n) for t, n, c in zip(today, new, changed, strict=True)],
                        index=a.index)
    return rows & differs


def _emptied_notes(a: pd.DataFrame, team: pd.DataFrame, crm_ids: pd.Series, names: list[str],
                   where: pd.Series) -> list[str]:
    """A note per territory of today's model that no territory of the plan is (a user who
    held several plans as one): its accounts move out and it is left empty."""
    if "territory_crm_id" not in a:
        return []
    held: dict[str, tuple[str, str, str]] = {}  # Id → (its name, the rep, the territory kept)
    if "merged_territories" in team:
        for i, text in zip(team.index, id_column(team["merged_territories"]), strict=True):
            for match in MERGED.finditer(text or ""):
                held[match.group(2)] = (match.group(1).strip(), team.loc[i, "person"], names[i])
    today = id_column(a["territory_crm_id"])
    planned = set(crm_ids.dropna())
    notes = []
    for tid in sorted(set(today.dropna()) - planned):
        mine = today == tid
        into = sorted({names[i] for i in where[mine]})
        name, person, kept = held.get(tid, (None, None, None))
        why = f" ({person} held it beside '{kept}' and plans as one territory)" if person else ""
        notes.append(f"Today's territory {f'{name!r} ' if name else ''}({tid}) is not a territory of the plan{why}: "
                     f"its {int(mine.sum()):,} account(s) move to {listing(repr(n) for n in into)} (their association "
                     "is deleted and inserted there), which leaves it empty; delete it in Setup once the load is done, "
                     "or keep it.")
    return notes


def _first(team: pd.DataFrame, column: str) -> str | None:
    if column not in team:
        return None
    values = id_column(team[column]).dropna()
    return values.iloc[0] if len(values) else None


def _associations(plan, mode, account_ids, where, changed, crm_ids, ref, options, files, steps, notes, wait) -> None:
    """ObjectTerritory2Association: every account (new model), or the deletes and inserts
    of the accounts that change territory (current model)."""
    a = plan.assignments
    if mode == "new":
        insert = pd.Series(True, index=a.index)
        if options.changed_only:
            notes.append("--changed-only: a new model starts empty, so every account's association is written; only "
                         f"{OWNER_FILE} is limited to the accounts that change rep.")
        notes.append("No association is deleted: a new model starts empty, and today's model keeps its own until "
                     "the new one is activated (which archives it).")
    else:
        new_ids = pd.Series([crm_ids[i] for i in where], index=a.index, dtype=object)
        if "territory_crm_id" in a:  # today's territory on record: a move is a change of territory
            today = id_column(a["territory_crm_id"])
            insert = pd.Series([t is None or n is None or t != n for t, n in zip(today, new_ids, strict=True)],
                               index=a.index)
            has_today = today.notna()
        else:  # else a move is a change of rep, or into a territory new to the org
            insert = changed | new_ids.isna()
            has_today = id_column(a["current_rep_id"]).notna() if "current_rep_id" in a else insert & False
        association = id_column(a["territory_association_id"]) if "territory_association_id" in a \
            else no_ids(a.index)
        delete = insert & association.notna()
        check_id_shapes(association.where(delete, None), a["account_id"].astype(str), "salesforce",
                        OTA.OBJECT, "territory_association_id")
        frame = pd.DataFrame({OTA.ID: association[delete].to_numpy()}).sort_values(OTA.ID)
        files[DELETE_FILE] = csv_file(frame, bom=False)
        steps.append(Step(DELETE_FILE, "Data Loader", f"delete {OTA.OBJECT}", len(frame),
                          "Removes each moved account from its old territory (associations support create and "
                          "delete only: a move is this delete plus the insert below)."))
        unknown = insert & association.isna() & has_today
        if unknown.any():
            notes.append(f"{int(unknown.sum()):,} moved account(s) have no known old association Id (the plan has no "
                         "territory_association_id for them), so their old association is not deleted: "
                         f"{listing(account_ids[unknown])}. Remove them from their old territory in Salesforce, or "
                         "re-import with 'territory-planner import salesforce' including the associations.")
        kept = int((~insert).sum())
        if kept:
            notes.append(f"{kept:,} account(s) stay in their territory: no association change for them.")
    frame = pd.DataFrame({OTA.OBJECT_ID: account_ids[insert].to_numpy(),
                          OTA.TERRITORY2_ID: [ref[i] for i in where[insert]],
                          OTA.ASSOCIATION_CAUSE: OTA.MANUAL}).sort_values(OTA.OBJECT_ID)
    files[OBJECT_FILE] = csv_file(frame, bom=False)
    wait(OBJECT_FILE, OTA.TERRITORY2_ID, TERRITORY, frame[OTA.TERRITORY2_ID])
    steps.append(Step(OBJECT_FILE, "Data Loader", f"insert {OTA.OBJECT}", len(frame),
                      f"ObjectId is the Account Id; AssociationCause {OTA.MANUAL}."))


# --------------------------------------------------------------------------- --resolve


def _success_object(frame: pd.DataFrame, path: Path, pending: dict) -> str:
    """Which object a Data Loader success file (or an export with Id and DeveloperName) is
    of: the one whose waiting DeveloperNames it holds most of, else by its columns."""
    columns = {c.lower(): c for c in frame.columns}
    if "error" in columns:
        raise InputError("this is Data Loader's error file, not its success file", file=path,
                         fix="fix the rows it lists and load them again; resolve with the success file")
    if "id" not in columns or "developername" not in columns:
        raise InputError("not a Data Loader success file of a territory insert: it needs ID and DeveloperName "
                         "columns", file=path, fix="give the success_*.csv Data Loader wrote for the insert")
    names = set(frame[columns["developername"]])
    overlap: dict[str, int] = {}
    for cols in pending.values():
        for ref in cols.values():
            overlap[ref["object"]] = max(overlap.get(ref["object"], 0), len(names & set(ref["names"])))
    by_columns = TYPE if "masterlabel" in columns else TERRITORY if (
        "territory2modelid" in columns or "territory2typeid" in columns) else MODEL
    best = max(overlap.values(), default=0)
    if best == 0:
        return by_columns
    candidates = [obj for obj, n in overlap.items() if n == best]
    return by_columns if by_columns in candidates else candidates[0]


def resolve_files(frames: dict[str, pd.DataFrame], pending: dict, success_files: list[Path]
                  ) -> tuple[dict[str, pd.DataFrame], dict, list[str]]:
    """Replace the DeveloperNames that ``pending`` lists with the Ids of the success files.

    Returns (the files, what is still pending, the objects resolved). Several files of
    one object (an insert split in batches) count as one. Every name waiting for an object
    given must be in its success files (a row that failed to insert is missing from
    them): otherwise an error lists them and nothing is changed.
    """
    frames = {n: f.copy() for n, f in frames.items()}
    pending = {f: {c: dict(r) for c, r in cols.items()} for f, cols in pending.items()}
    ids_of: dict[str, dict[str, str]] = {}
    first_file: dict[str, Path] = {}
    for path in success_files:
        if not path.is_file():
            raise InputError("success file not found", file=path, fix="check the path")
        success = read_csv_file(path)
        obj = _success_object(success, path, pending)
        lower = {c.lower(): c for c in success.columns}
        ids_of.setdefault(obj, {}).update(zip(success[lower["developername"]], success[lower["id"]], strict=True))
        first_file.setdefault(obj, path)
    for obj, ids in ids_of.items():
        path = first_file[obj]
        targets = [(f, c) for f, cols in pending.items() for c, r in cols.items() if r["object"] == obj]
        if not targets:
            raise InputError(f"nothing in this export waits for {obj} Ids (already resolved, or not part of it)",
                             file=path, fix="give the success file of an insert that LOAD_ORDER.md lists as pending")
        missing = sorted({n for f, c in targets for n in pending[f][c]["names"] if not id_text(ids.get(n))})
        if missing:
            raise InputError(f"{len(missing)} {obj} DeveloperName(s) are not in the success file (did their insert "
                             f"fail? see Data Loader's error file): {listing(missing)}", file=path,
                             fix=f"load the failed rows again and resolve with all the {obj} success files")
        for file, column in targets:
            waiting = set(pending[file][column]["names"])
            frames[file][column] = frames[file][column].map(lambda v, w=waiting, d=ids: d[v] if v in w else v)
            del pending[file][column]
            if not pending[file]:
                del pending[file]
    return frames, pending, sorted(ids_of)
