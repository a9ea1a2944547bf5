"""Mid-year re-plan: start from a plan, apply what changed, move as little as possible.

A rep leaves, a rep joins, accounts are added or closed: the plan a team works by (usually
the approved run) is taken as today's alignment, the changes (the keys of a scenario's
``changes:`` section) are applied, and the new plan is the one that

1. moves the **fewest accounts** that have an owner who stays (accounts of departed reps
   and new accounts move anyway: they are not counted), subject to every constraint of
   the scenario (balance bands, capacity, locks, eligibility, maximum distance), then
2. among the plans with that few moves, has the **least travel** (the scenario's
   objective).

This is the lexicographic (minimum disruption, then distance) objective, solved as two
MIPs through the public ``plan()``: the first with a cost of 1 per moved owned account
(``cost_matrix``), the second with the scenario's own objective and the continuity row
Σ kept ≥ (owned − M) that the first proved reachable. The second's bound is a lower
bound on the travel of the lexicographic optimum (a plan with fewer moves has at least
as much travel), and the plan is ``optimal`` only when both stages are proven.

Every account that moves is listed with its reason: its rep left, it is new, the
changes locked it elsewhere, or the bands required it (naming the band its old or its
new territory was outside of when nothing else moved).
"""

from __future__ import annotations

import difflib
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pydantic import ValidationError

from territory_planner.data.changes import apply_changes
from territory_planner.data.files import ROW
from territory_planner.data.inputs import Inputs, load_inputs
from territory_planner.errors import ScenarioError, SolverError
from territory_planner.kpis import deviation_pct
from territory_planner.optimize.solution import Stage, whole_run
from territory_planner.outputs.files import csv_text
from territory_planner.outputs.report import render_plan
from territory_planner.pipeline import plan
from territory_planner.plan import Plan
from territory_planner.scenario import Scenario, parse_scenario
from territory_planner.scenario.changes import ChangesSpec
from territory_planner.scenario.extends import read_yaml, yaml_lines

#: Share of the time limit for the first stage (fewest moves); it usually needs far less,
#: and the second stage gets whatever is left.
MOVES_SHARE = 0.4
MOVE_COLUMNS = ["account_id", "name", "from_territory_id", "from_rep_id", "to_territory_id", "to_rep_id",
                "potential", "workload", "distance_km_before", "distance_km_after", "reason"]


@dataclass(frozen=True)
class Replan:
    """A re-plan's Plan, its moves (one row per account that changed rep, with the
    reason), the inputs it planned and the changes it applied."""

    plan: Plan
    moves: pd.DataFrame
    fewest_moves: int  # moves of owned accounts the first stage found (its bound may be lower)
    forced_moves: int  # accounts that had to move: their rep left, or they are new
    inputs: Inputs
    changes: ChangesSpec

    def files(self) -> dict[str, str]:
        """The re-plan's folder: the plan's files, ``moves.csv``, ``changes.yaml``, and the
        accounts as planned (``accounts.csv``, today's owners in ``current_rep_id``) with a
        ``scenario.yaml`` that reads them and ``reps.csv`` from the folder itself — so the
        folder plans again as it is, and a later re-plan can start from it."""
        files = render_plan(self.plan)
        raw = self.plan.scenario.resolved(absolute=True)
        raw["data"] = {**raw["data"], "accounts": "accounts.csv", "reps": "reps.csv"}
        files["scenario.yaml"] = ("# A re-plan: the scenario of its second stage (least travel with the fewest moves), "
                                  "reading the accounts and reps\n# as they were planned from this folder.\n"
                                  + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
        accounts = self.inputs.accounts.drop(columns=[c for c in self.inputs.accounts.columns if c.startswith("_")])
        # An owner who left is no rep of this folder's reps.csv: as input, such an account
        # has no owner (assignments.csv still says whose it was).
        team = set(self.inputs.reps["rep_id"].astype(str))
        accounts["current_rep_id"] = accounts["current_rep_id"].map(lambda r: r if isinstance(r, str) and r in team
                                                                    else None)
        files["accounts.csv"] = csv_text(accounts)
        files["moves.csv"] = csv_text(self.moves, columns=MOVE_COLUMNS)
        files["changes.yaml"] = yaml.safe_dump(self.changes.model_dump(mode="json", exclude_defaults=True),
                                               sort_keys=False, allow_unicode=True)
        return files


def read_changes(path: str | Path) -> ChangesSpec:
    """A changes file: the keys of a scenario's ``changes:`` section (or one ``changes:`` key)."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError("changes file not found", file=path, fix="check the path given to --changes")
    raw, text = read_yaml(path)
    prefix: tuple = ()
    if set(raw) == {"changes"}:
        raw, prefix = raw["changes"] or {}, ("changes",)
    try:
        spec = ChangesSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        lines = yaml_lines(text)
        row = next((lines[prefix + loc[:i]] for i in range(len(loc), 0, -1) if prefix + loc[:i] in lines), None)
        known = list(ChangesSpec.model_fields)
        if first["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.5)
            problem = f"unknown key '{loc[-1]}'"
            fix = (f"did you mean '{close[0]}'? " if close else "") + f"the keys are: {', '.join(known)}"
        else:
            problem, fix = first["msg"], "see the README's 'Mid-year re-plan' section for the form of each change"
        raise ScenarioError(problem, file=path, row=row, column=".".join(map(str, loc)) or None, fix=fix) from None
    if spec.add_accounts is not None and not spec.add_accounts.is_absolute():
        spec = spec.model_copy(update={"add_accounts": (path.parent / spec.add_accounts).resolve()})
    return spec


def _team(base: Plan) -> pd.DataFrame:
    """The reps who held a territory in the base plan (open seats too), as a reps table."""
    reps = base.reps
    if "rep_id" not in reps or not len(reps):
        raise ScenarioError("the plan keeps no reps table (reps.csv)", file=base.scenario.source,
                            fix="plan the scenario again: plan folders keep reps.csv since issue 26")
    held = set(base.territories["rep_id"].astype(str))
    team = reps[reps["rep_id"].astype(str).isin(held)].reset_index(drop=True).copy()
    team[ROW] = np.arange(2, len(team) + 2)
    return team


def today_inputs(base: Plan) -> tuple[Inputs, list[str]]:
    """The base plan's inputs with its assignment as today's owners: (inputs, notes).

    Accounts are read again from the scenario's files (its own ``changes`` applied), so a
    mid-year accounts file with new or closed accounts is taken as it is today; the
    team is the base plan's (reps.csv of the plan folder).
    """
    scenario = base.scenario
    loaded = load_inputs(scenario)
    accounts = loaded.accounts.copy()
    owner = dict(zip(base.assignments["account_id"].astype(str), base.assignments["rep_id"].astype(str), strict=True))
    ids = accounts["account_id"].astype(str)
    accounts["current_rep_id"] = pd.Series([owner.get(i) for i in ids], dtype=object, index=accounts.index)
    notes = []
    new = int((~ids.isin(owner)).sum())
    gone = len(set(owner) - set(ids))
    if new or gone:
        notes.append(f"the accounts file differs from the plan's: {new} account(s) new (no owner), "
                     f"{gone} no longer in the file (closed)")
    return Inputs(accounts, _team(base), loaded.notes), notes


def _reasons(inputs: Inputs, changes: ChangesSpec, result: Plan, applied_locks: set[str],
             balance: dict[str, float]) -> pd.Series:
    """Why each account of ``result`` has a rep other than today's (empty where it stayed)."""
    a = result.assignments
    owner = a["current_rep_id"].astype(object)
    team = set(result.territories["rep_id"].astype(str))
    staying = owner.map(lambda r: isinstance(r, str) and r in team)
    # Each territory as it would be if every account that can stay stayed (new ones aside).
    out_of_band: dict[str, list[str]] = {}
    for column, tol in balance.items():
        if column not in a:
            continue
        loads = a.loc[staying].groupby(owner[staying])[column].sum().reindex(list(team), fill_value=0.0)
        deviation = pd.Series(deviation_pct(loads.to_numpy(float)), index=loads.index)
        for rep, dev in deviation.items():
            if abs(dev) > 100 * tol:
                out_of_band.setdefault(rep, []).append(f"{column} {dev:+.1f}% against a ±{100 * tol:g}% band")
    capacity = result.territories.set_index(result.territories["rep_id"].astype(str))["capacity_hours"].astype(float)
    work = a.loc[staying].groupby(owner[staying])["workload"].sum()
    for rep, hours in work.items():
        if rep in capacity and hours > capacity[rep] * (1 + 1e-9):
            out_of_band.setdefault(rep, []).append(f"workload {hours:,.0f} h over its capacity {capacity[rep]:,.0f} h")
    added = {r.rep_id for r in changes.new_reps()}
    reasons = []
    for account, old, new, stays in zip(a["account_id"].astype(str), owner, a["rep_id"].astype(str), staying,
                                         strict=True):
        if isinstance(old, str) and old == new:
            reasons.append("")
        elif not isinstance(old, str):
            reasons.append("new account")
        elif old in changes.remove_reps or not stays:
            reasons.append(f"rep {old} left")
        elif account in applied_locks:
            reasons.append(f"locked to {new} by the changes")
        else:
            why = [f"{old}: " + "; ".join(out_of_band[old])] if old in out_of_band else []
            why += [f"{new}: " + "; ".join(out_of_band[new])] if new in out_of_band else []
            if new in added and new not in out_of_band:
                why.append(f"{new} joined with no accounts")
            reasons.append("required by the bands (" + ("; ".join(why) or "the fewest moves that meet them") + ")")
    return pd.Series(reasons, index=a.index)


def _moves(base: Plan, result: Plan, reasons: pd.Series) -> pd.DataFrame:
    a = result.assignments
    before = base.assignments.set_index(base.assignments["account_id"].astype(str))
    moved = reasons.ne("")
    rows = a.loc[moved]
    old = before.reindex(rows["account_id"].astype(str))
    frame = pd.DataFrame({
        "account_id": rows["account_id"].astype(str).to_numpy(),
        "name": rows["name"].to_numpy(),
        "from_territory_id": old["territory_id"].to_numpy(dtype=object),
        "from_rep_id": rows["current_rep_id"].to_numpy(dtype=object),
        "to_territory_id": rows["territory_id"].to_numpy(dtype=object),
        "to_rep_id": rows["rep_id"].to_numpy(dtype=object),
        "potential": rows["potential"].to_numpy(float),
        "workload": rows["workload"].to_numpy(float),
        "distance_km_before": old["distance_km"].to_numpy(float),
        "distance_km_after": rows["distance_km"].to_numpy(float),
        "reason": reasons[moved].to_numpy(),
    })
    return frame.sort_values("account_id", kind="stable").reset_index(drop=True)


def team_scenario(scenario: Scenario, **updates) -> Scenario:
    """``scenario`` as a problem on the team given in the inputs, as planned: no ``count``
    choice of reps, no overlay teams (the main alignment alone), ``changes`` not applied
    again (the inputs passed with it have them), and ``updates`` (top-level keys) set.
    What a re-plan and a workbench rebalance solve."""
    raw = scenario.resolved(absolute=True)
    raw.update(changes={}, overlays=[], **updates)
    raw["territories"] = {k: v for k, v in raw.get("territories", {}).items() if k != "count"}
    return parse_scenario(raw, base_dir=scenario.base_dir, source=scenario.source)


def replan(base: Plan, changes: ChangesSpec, *, time_limit: float | None = None, progress=None,
           changes_file: str | Path | None = None) -> Replan:
    """Re-plan ``base`` after ``changes`` with the fewest moves, then the least travel.

    ``time_limit`` (default: the base scenario's ``solver.time_limit``) bounds both stages.
    """
    t0 = time.perf_counter()
    scenario = base.scenario
    if scenario.territories.centers != "reps":
        raise ScenarioError("a re-plan keeps territories on reps; this plan chose its centers", file=scenario.source,
                            column="territories.centers", fix="plan the variant as a scenario (territory-planner plan)")
    limit = time_limit or scenario.solver.time_limit
    inputs, notes = today_inputs(base)
    changed, applied = apply_changes(inputs, changes, geometry=scenario.geometry, base_dir=Path("."),
                                     source=changes_file, accounts_file=scenario.accounts_path)
    inputs = replace(changed, notes=(*inputs.notes, *notes, *applied.lines()))
    accounts, reps = inputs.accounts, inputs.reps
    team = reps["rep_id"].astype(str).to_numpy()
    owner = accounts["current_rep_id"].astype(object).to_numpy()
    owned = np.array([isinstance(r, str) and r in set(team) for r in owner])
    forced = int((~owned).sum())
    # The problem the re-plan poses: the base scenario's constraints over the team as it now
    # is (changes applied, every rep a territory), without its own continuity settings
    # (the stages set theirs) or overlay teams (the re-plan is the main alignment's).
    name = scenario.name if scenario.name.endswith("-replan") else f"{scenario.name}-replan"
    base_scenario = team_scenario(scenario, name=name, continuity={})
    if scenario.overlays:
        inputs = replace(inputs, notes=(*inputs.notes, "overlay teams are not re-planned (the main alignment is)"))
    # Stage 1: the fewest moves of accounts whose owner stays. (A travel tie-break scaled
    # below one move was tried: on the demo it left the count unproven in the same time.)
    moves_cost = np.zeros((len(accounts), len(team)))
    moves_cost[owned] = 1.0
    moves_cost[np.flatnonzero(owned), [int(np.flatnonzero(team == r)[0]) for r in owner[owned]]] = 0.0
    first = plan(base_scenario.with_overrides(solver={"time_limit": MOVES_SHARE * limit}), inputs=inputs,
                 cost_matrix=moves_cost, progress=progress)
    kept = first.assignments["rep_id"].astype(str).to_numpy() == owner.astype(str)
    fewest = int((owned & ~kept).sum())
    if abs(first.objective - fewest) > 1e-6 or first.bound > fewest + 1e-6:  # the stage's cost is the moves alone
        raise SolverError(f"the fewest-moves stage reports {first.objective:g} (bound {first.bound:g}) for "
                          f"{fewest} moves; this is a bug in territory_planner, please report it")
    bound_moves = math.ceil(first.bound - 1e-6) if math.isfinite(first.bound) else -math.inf
    proven_moves = bound_moves >= fewest  # moves are whole: a bound above fewest − 1 proves it
    unproven_status = "time_limit" if first.status in ("optimal", "time_limit") else first.status
    stage1 = Stage(f"fewest moves of accounts whose rep stays: {fewest}"
                   + ("" if proven_moves else f" (proven at least {bound_moves}: not proven fewest)"),
                   first.seconds, float(fewest), float(bound_moves), "optimal" if proven_moves else unproven_status)
    if first.status == "interrupted":  # Ctrl-C: the plan in hand is the first stage's
        solution = whole_run(first.solution, (stage1,), objective=float(fewest), bound=float(bound_moves),
                             bound_from=stage1.name, seconds=time.perf_counter() - t0, mip_gap=scenario.solver.mip_gap)
        problem = replace(first.problem, cost_label="accounts moved whose rep stays (stopped before the travel stage)")
        result = replace(first, solution=solution, problem=problem, notes=tuple(inputs.notes))
        reasons = _reasons(inputs, changes, result, set(applied.locked), dict(scenario.balance))
        return Replan(result, _moves(base, result, reasons), fewest, forced, inputs, changes)
    # Stage 2: the least travel with at most that many moves (Σ kept ≥ owned − fewest).
    n_owned = int(owned.sum())
    continuity = {"min_kept": (n_owned - fewest - 0.5) / n_owned, "by": "accounts"} if n_owned and \
        n_owned - fewest > 0 else {}
    left = max(1.0, limit - (time.perf_counter() - t0))
    start = dict(zip(first.assignments["account_id"], first.assignments["rep_id"], strict=True))
    second = plan(base_scenario.with_overrides(continuity=continuity, solver={"time_limit": left}), inputs=inputs,
                  progress=progress, start=start)
    stages = (stage1, *(replace(st, name=f"least travel with at most {fewest} such moves: {st.name}")
                        for st in second.solution.stages or (second.solution.as_stage("least travel"),)))
    solution = whole_run(second.solution, stages, objective=second.objective, bound=second.bound,
                         bound_from=f"least travel with at most {fewest} moves (a lower bound on the travel of any "
                                    "plan with the fewest moves)",
                         seconds=time.perf_counter() - t0, mip_gap=scenario.solver.mip_gap)
    if not proven_moves and solution.status == "optimal":  # fewer moves may exist: not the optimum asked for
        solution = replace(solution, status=stage1.status)
    result = replace(second, solution=solution, notes=tuple(inputs.notes))
    reasons = _reasons(inputs, changes, result, set(applied.locked), dict(scenario.balance))
    return Replan(result, _moves(base, result, reasons), fewest, forced, inputs, changes)


def replan_key(base_folder: Path, changes: ChangesSpec, time_limit: float | None, hashes: dict) -> str:
    """What identifies a re-plan: the plan it starts from (its assignment and scenario, by
    content), the changes, the time limit, the inputs' content and the package version."""
    import hashlib
    import json

    from territory_planner.runs.record import file_sha256, package_version

    payload = {"kind": "replan", "base": {n: file_sha256(base_folder / n) for n in ("assignments.csv", "scenario.yaml")},
               "changes": changes.model_dump(mode="json"), "time_limit": time_limit,
               "inputs": {k: v["sha256"] for k, v in hashes.items()}, "version": package_version()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
