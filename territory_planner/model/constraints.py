"""Scenario constraints, one small builder per family (STYLE.md habit 2).

Each builder turns the scenario and the validated input tables into what the
solver-neutral :class:`~territory_planner.optimize.problem.AssignmentProblem` takes —
bands, general pair rows, an allowed mask, a fixed vector or a cost term — so the
optimizer never sees a DataFrame and each family can be tested alone:

==========================  ===================================================================
``locked_assignments``      ``locked_rep_id`` → fixed vector (x_ij = 1 for locked pairs)
``eligibility_mask``        ``eligibility: {role: [segment, …]}`` → allowed[i, j]
``max_distance_mask``       ``max_distance_km`` → allowed[i, j] = d_ij ≤ max
``check_locks``             a lock to a pair an exclusion forbids → InfeasibleError naming it
``check_coverage``          an account no territory may take → InfeasibleError naming it
``continuity_row``          ``continuity.min_kept`` → Σ w_i x_{i,owner(i)} ≥ κ Σ w_i
``continuity_penalty``      ``continuity.penalty`` → cost[i, j] += penalty for j ≠ owner(i)
``balance_bands``           ``balance`` with the reps' ``target_share`` (territories of unequal size)
``territory_rep_rows``      ``territories: {centers: reps, count: auto | N}`` → which reps
``custom_cost``             ``plan(..., cost_matrix=C)`` → validated (n_accounts, n_territories)
``distance_weight``         ``objective.distance_weight`` → each account's weight on distance
==========================  ===================================================================

Formulations: FIELD.md §3 (locks and exclusions, continuity; balance after
Ríos-Mercado & Fernández 2009).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import scipy.sparse as sp

from territory_planner.data.reps import ramped_capacity
from territory_planner.errors import Conflict, Diagnosis, InfeasibleError, InputError, ScenarioError
from territory_planner.optimize.problem import Band, PairConstraint, balance_band
from territory_planner.scenario import Scenario

OPEN_SEAT_NAME = "(open)"


def distance_unit(scenario: Scenario) -> str:
    """What a distance is measured in: km (geographic) or the coordinates' own units (planar)."""
    return "km" if scenario.geometry == "geographic" else "distance units"


def distance_weight(scenario: Scenario, accounts: pd.DataFrame) -> tuple[np.ndarray, str]:
    """(weight per account, objective label): the objective is Σ distance × weight."""
    choice = scenario.objective.distance_weight
    unit = distance_unit(scenario)
    if choice == "none":
        return np.ones(len(accounts)), f"total {unit} from rep home"
    label = {"workload": f"workload-weighted {unit} (hours × {unit})", "potential": f"potential-weighted {unit}"}[choice]
    return accounts[choice].to_numpy(dtype=float), label


STATUS_ORDER = {"active": 0, "new_hire": 1, "open": 2}  # tie-break when choosing reps for count


# --- Territories: which reps, their capacity and target size -------------------------------


def _locked_reps(accounts: pd.DataFrame) -> set[str]:
    if "locked_rep_id" not in accounts:
        return set()
    return {str(r) for r in accounts["locked_rep_id"] if isinstance(r, str)}


def territory_rep_rows(scenario: Scenario, accounts: pd.DataFrame, reps: pd.DataFrame) -> Iterator[np.ndarray]:
    """The rep rows to build territories on, in the order to try them.

    Without ``count``: every rep (open seats included), once. With ``count: N``: the N
    reps of highest effective capacity. With ``count: auto``: the fewest reps that can
    carry the workload — reps sorted by effective capacity (highest first; ties: active,
    then new hires, then open seats, then file order), k* = the smallest k whose top-k
    capacity covers the total workload (no k*−1 reps can: the top k*−1 are the most
    capacity any k*−1 have), then k*+1, … — the caller solves each until one is feasible.
    Reps holding locked accounts are always kept.
    """
    n = len(reps)
    count = scenario.territories.count
    if count is None or scenario.territories.centers != "reps":  # centers: choose counts centers, not reps
        yield np.arange(n)
        return
    capacity = ramped_capacity(reps, scenario.reps_path)
    status = reps["status"].astype(str).map(STATUS_ORDER).fillna(3).to_numpy()
    order = np.lexsort((np.arange(n), status, -capacity))
    locked = _locked_reps(accounts)
    required = reps["rep_id"].astype(str).isin(locked).to_numpy()
    order = np.r_[order[required[order]], order[~required[order]]]
    n_required = int(required.sum())
    if count == "auto":
        total = float(accounts["workload"].sum()) if scenario.capacity_enforced else 0.0
        covered = np.cumsum(capacity[order])
        first = max(1, n_required, int(np.searchsorted(covered, total * (1 - 1e-12), side="left")) + 1)
        for k in range(min(first, n), n + 1):
            yield np.sort(order[:k])
        return
    if count > n or count < n_required:
        why = f"the reps file has {n} reps" if count > n else f"{n_required} reps hold locked accounts"
        raise ScenarioError(
            f"territories.count is {count} but {why}",
            file=scenario.source,
            column="territories.count",
            value=count,
            fix="choose a count between the number of reps with locked accounts and the number of reps, or 'auto'",
        )
    yield np.sort(order[:count])


def territory_names(reps: pd.DataFrame) -> np.ndarray:
    """The rep name shown for each territory; an open seat shows as "(open)"."""
    names = reps["name"].astype(str).to_numpy(dtype=object)
    return np.where(reps["status"].astype(str).to_numpy() == "open", OPEN_SEAT_NAME, names)


def balance_bands(scenario: Scenario, accounts: pd.DataFrame, territories: pd.DataFrame) -> list[Band]:
    """One balance band per ``balance`` column, centred on each territory's target.

    With a ``target_share`` column the band of territory j is centred on
    share_j / Σ share × total (shares are relative: 1.2 next to 1.0s is 20% above the
    others); without it, on the mean.
    """
    k = len(territories)
    shares = territories["target_share"].to_numpy(float) if "target_share" in territories else None
    return [
        balance_band(col, accounts[col].to_numpy(dtype=float), k, tol, targets=shares)
        for col, tol in scenario.balance.items()
    ]


def territory_targets(accounts: pd.DataFrame, territories: pd.DataFrame, columns) -> dict[str, np.ndarray]:
    """Each territory's target sum of each column (for deviations in territories.csv)."""
    if "target_share" not in territories:
        return {}
    share = territories["target_share"].to_numpy(float)
    share = share / share.sum()
    return {col: float(accounts[col].sum()) * share for col in columns}


# --- Locks and exclusions -------------------------------------------------------------------


def locked_assignments(accounts: pd.DataFrame, territories: pd.DataFrame) -> np.ndarray | None:
    """``locked_rep_id`` → fixed[i] = territory index (−1 free); None when nothing is locked."""
    if "locked_rep_id" not in accounts or not accounts["locked_rep_id"].notna().any():
        return None
    rep_index = {r: j for j, r in enumerate(territories["rep_id"].astype(str))}
    fixed = np.full(len(accounts), -1, dtype=int)
    for i, rep in enumerate(accounts["locked_rep_id"]):
        if isinstance(rep, str):
            if rep not in rep_index:
                raise ScenarioError(
                    f"account {accounts['account_id'].iloc[i]} is locked to rep {rep}, who has no territory in this plan",
                    column="locked_rep_id",
                    value=rep,
                    fix="unlock the account, or keep that rep (territories.count)",
                )
            fixed[i] = rep_index[rep]
    return fixed


def eligibility_mask(scenario: Scenario, accounts: pd.DataFrame, territories: pd.DataFrame) -> np.ndarray | None:
    """allowed[i, j]: rep j's role may serve account i's segment. Unlisted roles serve all."""
    if not scenario.eligibility:
        return None
    segment = accounts["segment"].astype(str).to_numpy()
    roles = territories["role"].astype(str).to_numpy()
    allowed = np.ones((len(accounts), len(territories)), dtype=bool)
    for j, role in enumerate(roles):
        if role in scenario.eligibility:
            allowed[:, j] = np.isin(segment, [str(s) for s in scenario.eligibility[role]])
    return allowed


def max_distance_mask(scenario: Scenario, distance: np.ndarray) -> np.ndarray | None:
    """allowed[i, j]: account i lies within ``max_distance_km`` of territory j's center.

    In planar geometry the limit is in the coordinates' units.
    """
    if scenario.max_distance_km is None:
        return None
    return distance <= scenario.max_distance_km


def check_locks(
    accounts: pd.DataFrame,
    territories: pd.DataFrame,
    fixed: np.ndarray | None,
    exclusions: dict[str, np.ndarray | None],
    distance: np.ndarray,
) -> None:
    """A lock that an exclusion forbids is a conflict: raise naming the accounts.

    (The problem's allowed mask lets locks override exclusions, so this must be caught
    here, where both are still known by name.)
    """
    if fixed is None:
        return
    locked = np.flatnonzero(fixed >= 0)
    conflicts = []
    for name, mask in exclusions.items():
        if mask is None:
            continue
        bad = locked[~mask[locked, fixed[locked]]]
        if not len(bad):
            continue
        i = int(bad[0])
        j = int(fixed[i])
        account, rep = accounts["account_id"].iloc[i], territories["rep_id"].iloc[j]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        if name == "max_distance_km":
            detail = f"account {account} is locked to rep {rep} at {distance[i, j]:,.0f} km, beyond max_distance_km{more}"
            fix = "unlock it, or raise max_distance_km"
        else:
            detail = (
                f"account {account} (segment {accounts['segment'].iloc[i]}) is locked to rep {rep}, "
                f"whose role {territories['role'].iloc[j]} may not serve that segment{more}"
            )
            fix = "unlock it, or add the segment to that role's eligibility"
        conflicts.append(Conflict(f"locks and {name}", detail, fix))
    if conflicts:
        raise InfeasibleError(Diagnosis("Locked accounts break an exclusion:", conflicts))


def check_coverage(accounts: pd.DataFrame, exclusions: dict[str, np.ndarray | None], distance: np.ndarray) -> None:
    """Accounts that the exclusions leave without any territory: raise naming them and why."""
    masks = {name: m for name, m in exclusions.items() if m is not None}
    if not masks:
        return
    allowed = np.logical_and.reduce(list(masks.values()))
    stranded = np.flatnonzero(~allowed.any(axis=1))
    if not len(stranded):
        return
    ids = ", ".join(map(str, accounts["account_id"].iloc[stranded[:5]]))
    more = f" and {len(stranded) - 5} more" if len(stranded) > 5 else ""
    alone = [name for name, m in masks.items() if not m[stranded].any(axis=1).all()]
    conflicts = []
    for name in alone or list(masks):
        if name == "max_distance_km":
            nearest = np.nanmin(distance[stranded[0]])
            detail = f"no rep within max_distance_km for {ids}{more} (the nearest to {accounts['account_id'].iloc[stranded[0]]} is {nearest:,.0f} km away)"
            fix = "raise max_distance_km, or add a rep (or open seat) near them"
        else:
            detail = f"no rep's role may serve the segment of {ids}{more}"
            fix = "add the segment to a role's eligibility, or add a rep of a role that serves it"
        conflicts.append(Conflict(name, detail, fix))
    raise InfeasibleError(Diagnosis(f"{len(stranded)} account(s) may go to no territory at all:", conflicts))


# --- Continuity -----------------------------------------------------------------------------


def current_owner(accounts: pd.DataFrame, territories: pd.DataFrame) -> np.ndarray:
    """owner[i] = territory index of account i's current_rep_id, −1 if none or not a territory."""
    if "current_rep_id" not in accounts:
        return np.full(len(accounts), -1, dtype=int)
    rep_index = {r: j for j, r in enumerate(territories["rep_id"].astype(str))}
    return np.array([rep_index.get(r, -1) if isinstance(r, str) else -1 for r in accounts["current_rep_id"]], dtype=int)


def continuity_weights(scenario: Scenario, accounts: pd.DataFrame) -> np.ndarray:
    """w_i for ``continuity.by``: 1 per account for ``accounts``, else the column."""
    by = scenario.continuity.by
    return np.ones(len(accounts)) if by == "accounts" else accounts[by].to_numpy(dtype=float)


def continuity_row(scenario: Scenario, accounts: pd.DataFrame, owner: np.ndarray, k: int) -> PairConstraint | None:
    """Σ_i w_i·x_{i,owner(i)} ≥ min_kept·Σ_i w_i over accounts whose owner is a territory."""
    cont = scenario.continuity
    if cont.min_kept is None:
        return None
    w = continuity_weights(scenario, accounts)
    owned = np.flatnonzero(owner >= 0)
    A = sp.csr_matrix((w[owned], (np.zeros(len(owned), dtype=int), owned * k + owner[owned])), shape=(1, len(accounts) * k))
    return PairConstraint(
        label=f"continuity (keep ≥ {cont.min_kept:.0%} of {cont.by} with its current owner)",
        kind="continuity",
        A=A,
        lower=np.array([cont.min_kept * float(w[owned].sum())]),
        upper=np.array([np.inf]),
    )


def continuity_penalty(scenario: Scenario, owner: np.ndarray, k: int) -> np.ndarray | None:
    """(n, k) cost to add: ``penalty`` for every j ≠ owner(i), for accounts with an owner."""
    penalty = scenario.continuity.penalty
    if not penalty:
        return None
    extra = np.zeros((len(owner), k))
    owned = owner >= 0
    extra[owned] = penalty
    extra[np.flatnonzero(owned), owner[owned]] = 0.0
    return extra


def kept_share(accounts: pd.DataFrame, assigned_rep: np.ndarray, territory_reps, weights: np.ndarray) -> float:
    """Share of w (over accounts whose owner is a territory) that stays with its owner."""
    current = accounts["current_rep_id"].astype(object).to_numpy() if "current_rep_id" in accounts else np.full(len(accounts), None)
    owned = np.isin(current.astype(str), list(map(str, territory_reps))) & pd.notna(current)
    total = float(weights[owned].sum())
    if total <= 0:
        return float("nan")
    return float(weights[owned & (current == assigned_rep)].sum() / total)


# --- Custom costs ---------------------------------------------------------------------------


def custom_cost(cost_matrix, accounts: pd.DataFrame, reps: pd.DataFrame) -> np.ndarray:
    """Validate a caller's cost matrix and return it as (n_accounts, n_reps), file order.

    ``cost_matrix`` is an array of shape (n_accounts, n_reps) in the files' row orders, or
    a DataFrame indexed by account_id with one column per rep_id (any order; extra rows
    and columns are ignored).
    """
    account_ids = accounts["account_id"].astype(str)
    rep_ids = reps["rep_id"].astype(str)
    if isinstance(cost_matrix, pd.DataFrame):
        frame = cost_matrix.copy()
        frame.index = frame.index.astype(str)
        frame.columns = frame.columns.astype(str)
        for what, ids, have in (("account_id", account_ids, frame.index), ("rep_id", rep_ids, frame.columns)):
            missing = [i for i in ids if i not in set(have)]
            if missing:
                where = "index (rows)" if what == "account_id" else "columns"
                raise InputError(
                    f"cost_matrix has no {where} for {len(missing)} {what}(s), e.g. {', '.join(missing[:3])}",
                    column="cost_matrix",
                    fix=f"index the DataFrame by account_id with one column per rep_id ({len(account_ids)} × {len(rep_ids)})",
                )
        if frame.index.duplicated().any() or frame.columns.duplicated().any():
            raise InputError("cost_matrix repeats an account_id or rep_id", column="cost_matrix", fix="give each id one row / column")
        values = frame.loc[account_ids.to_numpy(), rep_ids.to_numpy()]
        try:
            values = values.to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise InputError("cost_matrix holds values that are not numbers", column="cost_matrix", fix="give a number for every pair") from None
    else:
        try:
            values = np.asarray(cost_matrix, dtype=float)
        except (TypeError, ValueError):
            raise InputError("cost_matrix holds values that are not numbers", column="cost_matrix", fix="give a number for every pair") from None
        expected = (len(account_ids), len(rep_ids))
        if values.shape != expected:
            raise InputError(
                f"cost_matrix has shape {values.shape}, expected {expected} (accounts × reps)",
                column="cost_matrix",
                fix="one row per account and one column per rep, in the files' order, or a DataFrame indexed by account_id with rep_id columns",
            )
    if not np.isfinite(values).all():
        i, j = np.argwhere(~np.isfinite(values))[0]
        raise InputError(
            f"cost_matrix is not finite for account {account_ids.iloc[i]} and rep {rep_ids.iloc[j]}",
            column="cost_matrix",
            value=float(values[i, j]),
            fix="give a finite cost for every pair; forbid pairs with eligibility or max_distance_km instead",
        )
    return values
