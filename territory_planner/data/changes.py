"""Apply a scenario's ``changes:`` to its loaded inputs (scenario/changes.py says what they are).

Order: accounts are excluded and added, reps leave, reps join, then locks are set. A rep
who leaves keeps his accounts' ``current_rep_id`` (so they count as moved, and the
plan's continuity sees who owned them), but loses every lock to him; those accounts are
re-planned. Every id a change names must exist (or, for a new rep, must not yet): a typo
is an error naming the change and the nearest id, never a silent no-op.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from territory_planner.data.accounts import check_references, read_accounts
from territory_planner.data.columns import check_numeric_column
from territory_planner.data.files import ROW, Table
from territory_planner.data.geo import coordinate_columns
from territory_planner.data.geocode import city_point, nearest_city, zip_point
from territory_planner.data.reps import load_reps
from territory_planner.errors import ScenarioError
from territory_planner.scenario.changes import ChangesSpec, NewRep

#: NewRep fields that only place the rep: kept as columns only where the reps file has them.
PLACE_FIELDS = ("postal_code", "city", "state")


@dataclass(frozen=True)
class AppliedChanges:
    """What applying the changes did, for the run's summary."""

    removed_reps: tuple[str, ...] = ()
    added_reps: tuple[str, ...] = ()
    placed: tuple[tuple[str, str], ...] = ()  # (rep_id, "at Dallas, TX"): how a new rep was placed and sized
    locked: tuple[str, ...] = ()  # account ids locked by the changes
    released: tuple[str, ...] = ()  # account ids whose lock to a departed rep was dropped
    excluded: tuple[str, ...] = ()
    added_accounts: tuple[str, ...] = ()
    orphaned: int = 0  # accounts whose current owner left: re-planned, counted as moved

    def lines(self) -> list[str]:
        out = []
        if self.removed_reps:
            out.append(f"reps removed: {', '.join(self.removed_reps)} ({self.orphaned} accounts re-planned)")
        if self.added_reps:
            how = dict(self.placed)
            out.append("reps added: " + ", ".join(f"{rep} ({how[rep]})" if rep in how else rep for rep in self.added_reps))
        if self.locked:
            out.append(f"accounts locked with today's owner: {len(self.locked)}")
        if self.released:
            out.append(f"locks to departed reps released: {len(self.released)}")
        if self.excluded:
            out.append(f"accounts excluded: {len(self.excluded)}")
        if self.added_accounts:
            out.append(f"accounts added: {len(self.added_accounts)}")
        return out


def _unknown(kind: str, value: str, known, where: str, source, file_kind: str) -> ScenarioError:
    known = sorted(set(map(str, known)))
    close = [k for k in known if k.casefold() == value.casefold()] or difflib.get_close_matches(value, known, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return ScenarioError(f"{where} names {kind} '{value}', which is not in the inputs", file=source, column=where,
                         value=value, fix=f"{hint}check the id against the {file_kind} file")


def _place(rep: NewRep, where: str, source) -> tuple[tuple[float, float], str]:
    """A new rep's home from a ZIP code or a city + state, looked up offline."""
    point, asked = None, []
    if rep.postal_code:
        point = zip_point(rep.postal_code)
        asked.append(f"ZIP {rep.postal_code}")
        if point is not None:
            return point, f"ZIP {rep.postal_code}"
    if rep.city and rep.state:
        point = city_point(rep.city, rep.state)
        asked.append(f"city {rep.city}, {rep.state}")
        if point is not None:
            return point, f"{rep.city}, {rep.state}"
    if not asked:
        raise ScenarioError(f"{where}: the new rep has no home (no lat/lon, postal_code or city + state)",
                            file=source, column=where, fix="give lat and lon, a US ZIP code (postal_code), or a US city and state")
    close = nearest_city(rep.city, rep.state) if rep.city and rep.state else None
    hint = f"did you mean city: {close}? Or " if close else ""
    raise ScenarioError(f"{where}: cannot place the new rep ({' or '.join(asked)} is not a known US place)",
                        file=source, column=where, fix=f"{hint}give lat and lon, a US ZIP code (postal_code), or a US city and state")


def _new_rep_rows(changes: ChangesSpec, reps: pd.DataFrame, geometry: str, source) -> tuple[pd.DataFrame, list]:
    """The joining reps as a reps-file table (coordinates looked up offline where missing)."""
    a, b = coordinate_columns(geometry)
    rows, how = [], []
    median = float(np.median(reps["capacity_hours"].to_numpy(float))) if len(reps) else None
    columns = [str(c) for c in reps.columns if c != ROW]
    for index, rep in enumerate(changes.new_reps()):
        row = rep.model_dump(exclude_none=True)
        where = f"changes.add_reps[{index}] ({rep.rep_id})"
        for key in rep.model_extra or {}:  # any reps-file column may be given, but only those
            if key not in columns:
                close = difflib.get_close_matches(key, [*columns, *NewRep.model_fields], n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise ScenarioError(f"{where} gives '{key}', which is not a column of the reps file", file=source,
                                    column=where, value=key, fix=f"{hint}the reps file's columns are: {', '.join(columns)}")
        label = []
        if geometry == "planar":
            if rep.x is None or rep.y is None:
                raise ScenarioError(f"{where} has no x, y; planar scenarios have no places to look up", file=source,
                                    column=where, fix="give the new rep's x and y")
        elif geometry == "geographic":
            if (rep.lat is None) != (rep.lon is None):
                raise ScenarioError(f"{where} gives only one of lat and lon", file=source, column=where,
                                    fix="give both lat and lon, or neither (then postal_code or city + state places the rep)")
            if rep.lat is None:
                (row["lat"], row["lon"]), place = _place(rep, where, source)
                label.append(f"at {place}")
        if rep.capacity_hours is None:
            if median is None:
                raise ScenarioError(f"{where} has no capacity_hours and the team has none to copy", file=source,
                                    column=where, fix="give the new rep's capacity_hours (selling hours per year)")
            row["capacity_hours"] = median
            label.append(f"capacity_hours {median:g}, the team's median")
        if label:
            how.append((rep.rep_id, "; ".join(label)))
        if "role" not in row and len(reps) and reps["role"].nunique() == 1:
            row["role"] = str(reps["role"].iloc[0])  # the team's one role (eligibility reads it)
        for key in PLACE_FIELDS:
            if key not in columns:
                row.pop(key, None)  # used to place the rep; not a column of this team's file
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in (a, b):
        if column not in frame:
            frame[column] = np.nan
    frame[ROW] = np.arange(1, len(frame) + 1)
    return frame, how


def apply_changes(inputs, changes: ChangesSpec, *, geometry: str, base_dir: Path, source=None, accounts_file=None,
                  numeric_columns=(), derived=(), prepare=None):
    """``inputs`` with ``changes`` applied: (new Inputs, :class:`AppliedChanges`).

    ``base_dir`` resolves ``add_accounts``; ``source`` is the file the changes came
    from (named in errors); ``numeric_columns`` are the account columns the scenario
    reads as numbers (balance, continuity), which added accounts must fill too, except
    the ``derived`` ones (potential, workload) that ``prepare`` fills: it is called on
    the accounts once accounts are excluded and added, before the reps change and the
    locks (which may rank by potential), so a scenario's estimate and tiers are those of
    the accounts it plans.
    """
    accounts, reps = inputs.accounts, inputs.reps
    ids = accounts["account_id"].astype(str)
    known = set(ids)
    excluded = list(dict.fromkeys(changes.exclude_accounts))
    for value in excluded:
        if value not in known:
            raise _unknown("account", value, ids, "changes.exclude_accounts", source, "accounts")
    accounts = accounts[~ids.isin(excluded)].reset_index(drop=True)
    added_accounts: list[str] = []
    new_accounts = None
    if changes.add_accounts is not None:
        path = changes.add_accounts if changes.add_accounts.is_absolute() else base_dir / changes.add_accounts
        new_accounts = read_accounts(path, geometry=geometry, derived=derived).frame
        for column in numeric_columns:
            if column in accounts and column not in derived:
                check_numeric_column(new_accounts, column, path)
        clash = sorted(set(new_accounts["account_id"].astype(str)) & set(accounts["account_id"].astype(str)))
        if clash:
            raise ScenarioError(f"changes.add_accounts adds account '{clash[0]}', which is already an account"
                                f"{f' (and {len(clash) - 1} more)' if len(clash) > 1 else ''}", file=path,
                                column="account_id", value=clash[0], fix="give new accounts new ids, or exclude the old ones")
        added_accounts = new_accounts["account_id"].astype(str).tolist()
        accounts = pd.concat([accounts, new_accounts], ignore_index=True)
    if prepare is not None:
        accounts = prepare(accounts)
    rep_ids = reps["rep_id"].astype(str)
    removed = list(dict.fromkeys(changes.remove_reps))
    for value in removed:
        if value not in set(rep_ids):
            raise _unknown("rep", value, rep_ids, "changes.remove_reps", source, "reps")
    reps = reps[~rep_ids.isin(removed)].reset_index(drop=True)
    if removed and len(reps) == 0 and not changes.add_reps:
        raise ScenarioError("the changes leave no reps; one territory is built per rep", file=source,
                            column="changes.remove_reps", fix="remove fewer reps, or add some under changes.add_reps")
    released: list[str] = []
    if "locked_rep_id" in accounts:
        gone = accounts["locked_rep_id"].astype(object).isin(removed).to_numpy()
        released = accounts.loc[gone, "account_id"].astype(str).tolist()
        accounts = accounts.assign(locked_rep_id=accounts["locked_rep_id"].where(~gone, None))
    orphaned = int(accounts["current_rep_id"].astype(object).isin(removed).sum()) if "current_rep_id" in accounts else 0
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
    if new_accounts is not None:
        # Today's owner may be anyone who was on the team; a lock must name someone who is.
        check_references(new_accounts[["current_rep_id", ROW]], pd.concat([inputs.reps, reps])[["rep_id"]], path)
        check_references(new_accounts[["locked_rep_id", ROW]], reps[["rep_id"]], path)
    locked: list[str] = []
    if changes.lock is not None:
        accounts, locked = _lock(accounts, reps, changes, source, accounts_file)
    applied = AppliedChanges(tuple(removed), tuple(added), tuple(how), tuple(locked), tuple(released), tuple(excluded),
                             tuple(added_accounts), orphaned)
    return replace(inputs, accounts=accounts, reps=reps), applied


def _lock(accounts: pd.DataFrame, reps: pd.DataFrame, changes: ChangesSpec, source, accounts_file):
    """Lock the chosen accounts to today's owner (who must still be in the team).

    An account the accounts file already locks keeps that lock; the ids returned are the
    accounts these changes locked.
    """
    spec = changes.lock
    team = set(reps["rep_id"].astype(str))
    owner = accounts["current_rep_id"].astype(object) if "current_rep_id" in accounts else pd.Series([None] * len(accounts))
    has_owner = owner.map(lambda v: v is not None and not pd.isna(v) and str(v) in team).to_numpy(bool)
    chosen = np.zeros(len(accounts), dtype=bool)
    ids = accounts["account_id"].astype(str)
    for value in spec.accounts:
        hit = (ids == value).to_numpy()
        if not hit.any():
            raise _unknown("account", value, ids, "changes.lock.accounts", source, "accounts")
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
        if spec.by not in accounts:
            names = [c for c in accounts.columns if c != ROW]
            close = difflib.get_close_matches(spec.by, names, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ScenarioError(f"changes.lock.by names column '{spec.by}', which the accounts file does not have",
                                file=source, column="changes.lock.by", value=spec.by,
                                fix=f"{hint}rank by potential, workload or another numeric column: {', '.join(names)}")
        check_numeric_column(accounts, spec.by, accounts_file)
        score = accounts[spec.by].to_numpy(float)
        # Highest first, ties by account id: the same accounts every run.
        order = sorted(np.flatnonzero(has_owner), key=lambda i: (-score[i], ids.iloc[i]))
        chosen[order[: spec.top]] = True
    locks = accounts["locked_rep_id"].astype(object) if "locked_rep_id" in accounts else pd.Series([None] * len(accounts))
    free = locks.map(lambda v: v is None or pd.isna(v)).to_numpy(bool)
    new_locks = np.where(chosen & free, owner.to_numpy(dtype=object), locks.to_numpy(dtype=object))
    return accounts.assign(locked_rep_id=new_locks), ids[chosen & free].tolist()
