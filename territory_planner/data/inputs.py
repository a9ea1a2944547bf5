"""A scenario's input tables, loaded and checked: the first step of every run.

:func:`load_inputs` reads the accounts and reps files a scenario names (through the
loaders of :mod:`territory_planner.data.accounts` and :mod:`~territory_planner.data.reps`)
and checks every column and name the scenario's constraints refer to, so a run fails
here, naming file, row and column, before any model is built. A table given as a
mapping (``{file, columns, sheet, header_row, geocode}``) is read through its column
mapping (data/sources.py); how each file was read and which rows were placed by ZIP code
or city (data/places.py) or left out is in :attr:`Inputs.notes`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from territory_planner.data.accounts import read_accounts
from territory_planner.data.changes import apply_changes
from territory_planner.data.columns import check_numeric_column
from territory_planner.data.geo import coordinate_columns
from territory_planner.data.reps import ramped_capacity, read_reps, rep_columns, target_shares
from territory_planner.data.sources import file_terms, source_of
from territory_planner.data.workload import account_workload, find_column
from territory_planner.errors import ScenarioError
from territory_planner.potential import Estimate, where_to_sell
from territory_planner.scenario import Scenario


@dataclass(frozen=True)
class Inputs:
    """Validated input tables of a scenario."""

    accounts: pd.DataFrame
    reps: pd.DataFrame
    notes: tuple[str, ...] = ()  # how the files were read and what the scenario's changes did (data/changes.py)
    potential: Estimate | None = None  # what a potential: section estimated (potential/step.py)


def no_reps(geometry: str) -> pd.DataFrame:
    """An empty reps table (``centers: choose`` without a reps file)."""
    return pd.DataFrame({c: pd.Series(dtype=float if c in ("capacity_hours", "quota") or c in coordinate_columns(geometry)
                                      else object) for c in [*rep_columns(geometry), "_row"]})


def load_inputs(scenario: Scenario, *, measure_potential: bool = False) -> Inputs:
    """Load and validate every input file of a scenario; raises InputError on bad data.

    A ``changes:`` section excludes and adds accounts (data/changes.py); a ``potential:``
    section then estimates potential and tiers those accounts (potential/step.py;
    ``measure_potential`` adds the features' importance to its quality figures), and the
    workload build-up of ``capacity.segments`` fills a missing or blank workload (every
    account's, with ``capacity.derive_workload``); then the changes to the reps and the
    locks. What each step did is in ``Inputs.notes``.
    """
    derived = _derived_columns(scenario)
    if scenario.reps_path is None:  # centers: choose plans without people (scenario/parse.py checks)
        loaded = read_accounts(source_of(scenario, "accounts"), geometry=scenario.geometry, derived=derived)
        with file_terms((str(scenario.accounts_path), loaded.mapped)):
            return _accounts_only(scenario, loaded, measure_potential)
    team = read_reps(source_of(scenario, "reps"), geometry=scenario.geometry)
    loaded = read_accounts(source_of(scenario, "accounts"), geometry=scenario.geometry, rep_ids=team.frame["rep_id"],
                           left_out_reps=team.left_out, derived=derived)
    # An error on a mapped column names the file's header too, in the checks below as in the loaders.
    with file_terms((str(scenario.accounts_path), loaded.mapped), (str(scenario.reps_path), team.mapped)):
        return _with_reps(scenario, loaded, team, measure_potential)


def _derived_columns(scenario: Scenario) -> tuple[str, ...]:
    """The account amounts the scenario derives, so the accounts file may lack them."""
    capacity = scenario.capacity_plan
    return (*(("potential",) if scenario.potential else ()),
            *(("workload",) if capacity is not None and capacity.segments is not None else ()))


def where_to_sell_step(scenario: Scenario, accounts: pd.DataFrame, *, measure: bool = False
                       ) -> tuple[pd.DataFrame, tuple[str, ...], Estimate | None]:
    """The accounts with the scenario's potential estimated and workload derived, and what was done.

    Potential first (potential/step.py), so that its tiers can name each account's row of
    ``capacity.segments`` (``segments_by: tier``); then the workload build-up where the
    accounts have no workload or the scenario says ``derive_workload``.
    """
    notes: list[str] = []
    estimate = None
    if scenario.potential is not None:
        estimate = where_to_sell(accounts, scenario.potential, seed=scenario.solver.seed, measure=measure,
                                 file=scenario.accounts_path, scenario_file=scenario.source)
        accounts = estimate.accounts
        notes.extend(estimate.notes)
    capacity = scenario.capacity_plan
    if capacity is not None and capacity.segments is not None and find_column(accounts, capacity.segments_by) is None:
        raise ScenarioError(f"capacity.segments_by names '{capacity.segments_by}', which is not a column of the accounts",
                            file=scenario.source, column="capacity.segments_by", value=capacity.segments_by,
                            fix="name a column of the accounts file (segment by default), or tier / penetration_tier / "
                                "coverage_tier with a potential: section")
    blank = accounts["workload"].isna().to_numpy()
    if capacity is not None and capacity.segments is not None and (capacity.derive_workload or blank.any()):
        derive = np.ones(len(accounts), dtype=bool) if capacity.derive_workload else blank
        built = account_workload(accounts, capacity, scenario.accounts_path)["workload_hours"].to_numpy(float)
        accounts = accounts.assign(workload=np.where(derive, built, accounts["workload"].to_numpy(float)))
        notes.append(f"workload: {int(derive.sum()):,} accounts' hours derived from capacity.segments by "
                     f"{capacity.segments_by} (calls × (call + travel minutes) / 60 + account management)")
        if estimate is not None:
            estimate = replace(estimate, accounts=accounts)
    return accounts, tuple(notes), estimate


def _accounts_only(scenario: Scenario, loaded, measure_potential: bool = False) -> Inputs:
    """Accounts without reps (``centers: choose``): the checks and changes that apply."""
    derived = _derived_columns(scenario)
    accounts = loaded.frame
    for column in scenario.balance:
        if column not in derived:  # the where-to-sell step fills these
            check_numeric_column(accounts, column, scenario.accounts_path)
    inputs = Inputs(accounts, no_reps(scenario.geometry), loaded.notes)
    ch = scenario.changes
    if ch.remove_reps or ch.add_reps or ch.lock is not None:
        key = "remove_reps" if ch.remove_reps else "add_reps" if ch.add_reps else "lock"
        raise ScenarioError(f"changes.{key} changes reps, but territories.centers: choose plans without them",
                            file=scenario.source, column=f"changes.{key}",
                            fix="use exclude_accounts / add_accounts only, or plan with centers: reps and a reps file")
    inputs = _prepared(scenario, inputs, measure_potential)
    check_constraint_inputs(scenario, inputs.accounts, inputs.reps)
    return inputs


def _with_reps(scenario: Scenario, loaded, team, measure_potential: bool = False) -> Inputs:
    """Accounts and reps as loaded: reps left out, the checks, potential and workload derived, the changes."""
    derived = _derived_columns(scenario)
    reps = team.frame
    accounts, notes = loaded.frame, (*loaded.notes, *team.notes)
    if team.left_out:
        accounts, released = _without_left_out_reps(accounts, team.left_out)
        notes = (*notes, *released)
    for column in {*scenario.balance, *(scenario.hierarchy.balance if scenario.hierarchy else {})}:
        if column not in derived:  # the where-to-sell step fills these
            check_numeric_column(accounts, column, scenario.accounts_path)
    if len(reps) == 0:
        raise ScenarioError("the reps file has no rows" + (" that could be placed" if team.left_out else "")
                            + "; one territory is built per rep", file=scenario.reps_path,
                            fix="add reps to the file" + (", with coordinates, a postal_code or city and state"
                                                          if team.left_out else ""))
    inputs = _prepared(scenario, Inputs(accounts, reps, notes), measure_potential)
    check_constraint_inputs(scenario, inputs.accounts, inputs.reps)
    return inputs


def _without_left_out_reps(accounts: pd.DataFrame, left_out: tuple[str, ...]) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Accounts of reps left out of the reps file (no place) are re-planned, as when a rep
    leaves (data/changes.py): the owner is kept (the move counts), locks to them are released."""
    notes = []
    gone = set(left_out)
    owned = int(accounts["current_rep_id"].astype(object).isin(gone).sum())
    if owned:
        notes.append(f"accounts: {owned:,} owned by reps left out of the reps file are re-planned")
    locked = accounts["locked_rep_id"].astype(object).isin(gone).to_numpy()
    if locked.any():
        accounts = accounts.assign(locked_rep_id=accounts["locked_rep_id"].where(~locked, None))
        notes.append(f"accounts: {int(locked.sum()):,} locks to reps left out of the reps file released")
    return accounts, tuple(notes)


def _numeric_columns(scenario: Scenario) -> list[str]:
    """The account columns the scenario reads as numbers (added accounts must fill them too)."""
    cont = scenario.continuity
    return sorted({*scenario.balance, *(scenario.hierarchy.balance if scenario.hierarchy else {}),
                   *([cont.by] if cont.min_kept is not None and cont.by != "accounts" else [])})


def with_changes(scenario: Scenario, inputs: Inputs, changes, *, source=None, base_dir=None, numeric_columns=None,
                 prepare=None) -> Inputs:
    """``inputs`` with ``changes`` (a ``changes:`` section) applied, their effect in ``notes``.

    ``prepare`` (accounts → accounts) runs on the accounts once the changes have excluded
    and added accounts (data/changes.py): the scenario's where-to-sell step.
    """
    changed, applied = apply_changes(inputs, changes, geometry=scenario.geometry, base_dir=base_dir or scenario.base_dir,
                                     source=source, accounts_file=scenario.accounts_path,
                                     numeric_columns=_numeric_columns(scenario) if numeric_columns is None else numeric_columns,
                                     derived=_derived_columns(scenario) if prepare is not None else (), prepare=prepare)
    return replace(changed, notes=(*inputs.notes, *applied.lines()))


def _prepared(scenario: Scenario, inputs: Inputs, measure_potential: bool) -> Inputs:
    """The where-to-sell step and the scenario's changes: accounts excluded and added
    first, so that the estimate, the tiers and the derived workload are those of the
    accounts planned; then the step; then the reps' changes and the locks."""
    done: dict = {}

    def prepare(accounts: pd.DataFrame) -> pd.DataFrame:
        accounts, done["notes"], done["estimate"] = where_to_sell_step(scenario, accounts, measure=measure_potential)
        return accounts

    if scenario.changes.empty:
        inputs = replace(inputs, accounts=prepare(inputs.accounts))
        return replace(inputs, notes=(*inputs.notes, *done["notes"]), potential=done["estimate"])
    changed = with_changes(scenario, inputs, scenario.changes, source=scenario.source,
                           numeric_columns=_numeric_columns(scenario), prepare=prepare)
    applied = changed.notes[len(inputs.notes):]
    return replace(changed, notes=(*inputs.notes, *done["notes"], *applied), potential=done["estimate"])


def check_constraint_inputs(scenario: Scenario, accounts: pd.DataFrame, reps: pd.DataFrame) -> None:
    """Check every column and name the scenario's constraints refer to, before any solve."""
    ramped_capacity(reps, scenario.reps_path)
    target_shares(reps, scenario.reps_path)
    _check_eligibility_names(scenario, accounts, reps)
    if scenario.max_distance_km is not None and scenario.geometry == "none":
        raise ScenarioError(
            "max_distance_km needs coordinates, but the scenario says geometry: none",
            file=scenario.source,
            column="max_distance_km",
            fix="remove max_distance_km, or use geometry: geographic with lat/lon",
        )
    cont = scenario.continuity
    if cont.active:
        has_owner = "current_rep_id" in accounts and accounts["current_rep_id"].notna().any()
        if not has_owner:
            raise ScenarioError(
                "continuity keeps accounts with their current owner, but no account has a current_rep_id",
                file=scenario.accounts_path,
                column="current_rep_id",
                fix="fill current_rep_id in the accounts file, or remove 'continuity:'",
            )
        if cont.min_kept is not None and cont.by != "accounts":
            check_numeric_column(accounts, cont.by, scenario.accounts_path)


def _check_eligibility_names(scenario: Scenario, accounts: pd.DataFrame, reps: pd.DataFrame) -> None:
    if not scenario.eligibility:
        return
    roles = sorted(set(reps["role"].astype(str)))
    segments = sorted(set(accounts["segment"].astype(str)))
    for role, allowed in scenario.eligibility.items():
        if role not in roles:
            close = difflib.get_close_matches(role, roles, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ScenarioError(
                f"eligibility names role '{role}', which no rep in the reps file has",
                file=scenario.source,
                column="eligibility",
                value=role,
                fix=f"{hint}valid roles: {', '.join(roles)}",
            )
        for segment in allowed:
            if str(segment) not in segments:
                close = difflib.get_close_matches(str(segment), segments, n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise ScenarioError(
                    f"eligibility of role '{role}' names segment '{segment}', which no account has",
                    file=scenario.source,
                    column=f"eligibility.{role}",
                    value=segment,
                    fix=f"{hint}valid segments: {', '.join(segments)}",
                )
