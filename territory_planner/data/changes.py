"""Apply a scenario's ``changes:`` to its loaded inputs (scenario/changes.py says what they are).

Order: accounts are excluded and added, reps leave, reps join, then locks are set. A rep
who leaves keeps his accounts' ``current_rep_id`` (so they count as moved, and the
plan's continuity sees who owned them), but loses every lock to him; those accounts are
re-planned. Every id a change names must exist (or, for a new rep, must not yet): a typo
is an error naming the change and the nearest id, never a silent no-op.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from territory_planner.data.accounts import load_accounts
from territory_planner.data.columns import check_numeric_column
from territory_planner.data.files import ROW, Table
from territory_planner.data.geo import coordinate_columns
from territory_planner.data.geocode import city_point, zip_point
from territory_planner.data.reps import load_reps
from territory_planner.errors import ScenarioError
from territory_planner.scenario.changes import ChangesSpec


@dataclass(frozen=True)
class AppliedChanges:
    """What applying the changes did, for the run's summary."""

    removed_reps: tuple[str, ...] = ()
    added_reps: tuple[str, ...] = ()
    geocoded: tuple[str, ...] = ()  # "TX-NEW1: city Dallas, TX" — how each new rep was placed
    locked: tuple[str, ...] = ()  # account ids locked by the changes
    released: tuple[str, ...] = ()  # account ids whose lock to a departed rep was dropped
    excluded: tuple[str, ...] = ()
    added_accounts: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        out = []
        if self.removed_reps:
            out.append(f"reps removed: {', '.join(self.removed_reps)}")
        if self.added_reps:
            out.append(f"reps added: {', '.join(self.added_reps)}" + (f" ({'; '.join(self.geocoded)})" if self.geocoded else ""))
        if self.locked:
            out.append(f"accounts locked with today's owner: {len(self.locked)}")
        if self.released:
            out.append(f"locks to departed reps released: {len(self.released)}")
        if self.excluded:
            out.append(f"accounts excluded: {len(self.excluded)}")
        if self.added_accounts:
            out.append(f"accounts added: {len(self.added_accounts)}")
        return out


def _unknown(kind: str, value: str, known, where: str, source) -> ScenarioError:
    close = difflib.get_close_matches(value, sorted(map(str, known)), n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return ScenarioError(f"{where} names {kind} '{value}', which is not in the inputs", file=source, column=where,
                         value=value, fix=f"{hint}check the id against the {kind.split()[0]}s file")


def _new_rep_rows(changes: ChangesSpec, reps: pd.DataFrame, geometry: str, source) -> tuple[pd.DataFrame, list[str]]:
    """The joining reps as a reps-file table (coordinates looked up offline where missing)."""
    a, b = coordinate_columns(geometry)
    rows, how = [], []
    median = float(np.median(reps["capacity_hours"].to_numpy(float))) if len(reps) else None
    for index, rep in enumerate(changes.new_reps()):
        row = rep.model_dump(exclude_none=True)
        where = f"changes.add_reps[{index}] ({rep.rep_id})"
        if geometry == "planar":
            if rep.x is None or rep.y is None:
                raise ScenarioError(f"{where} has no x, y; planar scenarios have no places to look up", file=source,
                                    column=where, fix="give the new rep's x and y")
        elif geometry == "geographic" and (rep.lat is None or rep.lon is None):
            point, label = None, ""
            if rep.postal_code:
                point, label = zip_point(rep.postal_code), f"ZIP {rep.postal_code}"
            if point is None and rep.city and rep.state:
                point, label = city_point(rep.city, rep.state), f"city {rep.city}, {rep.state}"
            if point is None:
                asked = label or "no lat/lon, postal_code or city + state"
                raise ScenarioError(f"{where}: cannot place the new rep ({asked} is not a known US place)", file=source,
                                    column=where, fix="give lat and lon, a US ZIP code (postal_code), or a US city and state")
            row["lat"], row["lon"] = point
            how.append(f"{rep.rep_id}: {label}")
        if rep.capacity_hours is None:
            if median is None:
                raise ScenarioError(f"{where} has no capacity_hours and the team has none to copy", file=source,
                                    column=where, fix="give the new rep's capacity_hours (selling hours per year)")
            row["capacity_hours"] = median
            how.append(f"{rep.rep_id}: capacity_hours {median:g} (the team's median)")
        if "role" not in row and len(reps) and reps["role"].nunique() == 1:
            row["role"] = str(reps["role"].iloc[0])  # the team's one role (eligibility reads it)
        if "postal_code" not in reps:
            row.pop("postal_code", None)  # used to place the rep; not a column of this team's file
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in (a, b):
        if column not in frame:
            frame[column] = np.nan
    frame[ROW] = np.arange(1, len(frame) + 1)
    return frame, how


def apply_changes(inputs, changes: ChangesSpec, *, geometry: str, base_dir: Path, source=None, accounts_file=None):
    """``inputs`` with ``changes`` applied: (new Inputs, :class:`AppliedChanges`).

    ``base_dir`` resolves ``add_accounts``; ``source`` is the file the changes came
    from (named in errors).
    """
    accounts, reps = inputs.accounts, inputs.reps
    ids = accounts["account_id"].astype(str)
    excluded = [str(x) for x in changes.exclude_accounts]
    for value in excluded:
        if value not in set(ids):
            raise _unknown("account", value, ids, "changes.exclude_accounts", source)
    accounts = accounts[~ids.isin(excluded)].reset_index(drop=True)
    added_accounts: list[str] = []
    if changes.add_accounts is not None:
        path = changes.add_accounts if changes.add_accounts.is_absolute() else base_dir / changes.add_accounts
        new = load_accounts(path, geometry=geometry)
        clash = sorted(set(new["account_id"].astype(str)) & set(accounts["account_id"].astype(str)))
        if clash:
            raise ScenarioError(f"changes.add_accounts adds account '{clash[0]}', which is already an account"
                                f"{f' (and {len(clash) - 1} more)' if len(clash) > 1 else ''}", file=path,
                                column="account_id", value=clash[0], fix="give new accounts new ids, or exclude the old ones")
        added_accounts = new["account_id"].astype(str).tolist()
        accounts = pd.concat([accounts, new], ignore_index=True)
    rep_ids = reps["rep_id"].astype(str)
    for value in changes.remove_reps:
        if value not in set(rep_ids):
            raise _unknown("rep", value, rep_ids, "changes.remove_reps", source)
    reps = reps[~rep_ids.isin(changes.remove_reps)].reset_index(drop=True)
    released: list[str] = []
    if "locked_rep_id" in accounts:
        gone = accounts["locked_rep_id"].astype(object).isin(changes.remove_reps).to_numpy()
        released = accounts.loc[gone, "account_id"].astype(str).tolist()
        accounts = accounts.assign(locked_rep_id=accounts["locked_rep_id"].where(~gone, None))
    added, how = [], []
    if changes.add_reps:
        frame, how = _new_rep_rows(changes, inputs.reps, geometry, source)
        clash = sorted(set(frame["rep_id"].astype(str)) & set(reps["rep_id"].astype(str)))
        if clash:
            raise ScenarioError(f"changes.add_reps adds rep '{clash[0]}', who is already in the team", file=source,
                                column="changes.add_reps", value=clash[0], fix="give the new rep a new rep_id")
        new = load_reps(Table(frame, f"{source or 'scenario'} (changes.add_reps)", None), geometry=geometry)
        added = new["rep_id"].astype(str).tolist()
        reps = pd.concat([reps, new], ignore_index=True)
    if len(reps) == 0:
        raise ScenarioError("the changes leave no reps; one territory is built per rep", file=source,
                            column="changes.remove_reps", fix="remove fewer reps, or add some under changes.add_reps")
    locked: list[str] = []
    if changes.lock is not None:
        accounts, locked = _lock(accounts, reps, changes, source, accounts_file)
    result = type(inputs)(accounts, reps)
    return result, AppliedChanges(tuple(changes.remove_reps), tuple(added), tuple(how), tuple(locked),
                                  tuple(released), tuple(excluded), tuple(added_accounts))


def _lock(accounts: pd.DataFrame, reps: pd.DataFrame, changes: ChangesSpec, source, accounts_file):
    """Lock the chosen accounts to today's owner (who must still be in the team)."""
    spec = changes.lock
    team = set(reps["rep_id"].astype(str))
    owner = accounts["current_rep_id"].astype(object) if "current_rep_id" in accounts else pd.Series([None] * len(accounts))
    has_owner = owner.map(lambda v: v is not None and not pd.isna(v) and str(v) in team).to_numpy(bool)
    chosen = np.zeros(len(accounts), dtype=bool)
    ids = accounts["account_id"].astype(str)
    for value in spec.accounts:
        hit = (ids == value).to_numpy()
        if not hit.any():
            raise _unknown("account", value, ids, "changes.lock.accounts", source)
        if not has_owner[hit].any():
            raise ScenarioError(f"changes.lock.accounts names account '{value}', whose current owner is not in the team",
                                file=source, column="changes.lock.accounts", value=value,
                                fix="lock only accounts with a current_rep_id of a rep who stays")
        chosen |= hit
    if spec.top is not None:
        if not has_owner.any():
            raise ScenarioError("changes.lock keeps accounts with today's owner, but no account has a current_rep_id "
                                "of a rep in the team", file=accounts_file, column="current_rep_id",
                                fix="fill current_rep_id in the accounts file, or remove changes.lock")
        if spec.by != "accounts":
            if spec.by not in accounts:
                raise ScenarioError(f"changes.lock.by names column '{spec.by}', which the accounts file does not have",
                                    file=source, column="changes.lock.by", value=spec.by,
                                    fix=f"use potential, workload or one of: {', '.join(c for c in accounts.columns if c != ROW)}")
            check_numeric_column(accounts, spec.by, accounts_file)
            score = accounts[spec.by].to_numpy(float)
        else:
            score = np.zeros(len(accounts))
        # Highest first, ties by account id: the same accounts every run.
        order = sorted(np.flatnonzero(has_owner), key=lambda i: (-score[i], ids.iloc[i]))
        chosen[order[: spec.top]] = True
    locks = accounts["locked_rep_id"].astype(object) if "locked_rep_id" in accounts else pd.Series([None] * len(accounts))
    free = locks.map(lambda v: v is None or pd.isna(v)).to_numpy(bool)
    new_locks = np.where(chosen & free, owner.to_numpy(dtype=object), locks.to_numpy(dtype=object))
    return accounts.assign(locked_rep_id=new_locks), ids[chosen].tolist()
