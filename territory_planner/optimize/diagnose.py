"""Why is there no plan? Name the conflicting constraints and the loosest setting that works.

Two levels:
1. ``precheck``: arithmetic that proves infeasibility before any solve (total workload
   above total capacity, one account bigger than any territory's band, locked accounts
   that already overflow a territory).
2. ``diagnose``: a deletion filter over constraint *families* (each band, in the
   planner's words) finds a smallest set that conflicts; for each, a small MIP finds the
   loosest setting that would be feasible (e.g. the smallest balance tolerance) with the
   other constraints kept as they are.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from territory_planner.errors import Conflict, Diagnosis, InfeasibleError
from territory_planner.optimize.backends import SolveOptions, solve_model
from territory_planner.optimize.exact import build_assignment_model
from territory_planner.optimize.problem import AssignmentProblem, Band


def _unit(problem: AssignmentProblem, i: int) -> str:
    return str(problem.unit_ids[i])


def precheck(problem: AssignmentProblem) -> None:
    """Raise :class:`InfeasibleError` for conflicts that arithmetic alone proves."""
    conflicts: list[Conflict] = []
    allowed = problem.allowed_mask()
    for band in problem.bands:
        # Per-pair values (GAP): a unit weighs at least its lightest allowed pair.
        if band.per_pair:
            pair_values = np.where(allowed, band.values, np.inf)
            unit_values = pair_values.min(axis=1)
            unit_max = np.where(allowed, band.values, -np.inf).max(axis=1)
        else:
            pair_values = np.where(allowed, band.values[:, None], np.inf)
            unit_values = unit_max = band.values
        total = float(unit_values.sum())
        upper_total = float(np.sum(np.where(np.isfinite(band.upper), band.upper, np.inf)))
        lower_total = float(np.sum(np.where(np.isfinite(band.lower), band.lower, 0.0)))
        if total > upper_total * (1 + 1e-9):
            over = total - upper_total
            if band.kind == "capacity":
                mean_cap = float(np.mean(band.upper))
                conflicts.append(Conflict(
                    band.label,
                    f"total {band.column} {total:,.0f} exceeds the total capacity {upper_total:,.0f} by {over:,.0f} ({over / upper_total:.1%})",
                    f"add at least {math.ceil(over / mean_cap)} rep(s) of average capacity, raise capacity_hours, or reduce workload",
                ))
            else:
                conflicts.append(Conflict(band.label, f"the territories' upper bounds add up to {upper_total:,.0f}, less than the total {total:,.0f}"))
        if float(unit_max.sum()) < lower_total * (1 - 1e-9):
            conflicts.append(Conflict(band.label, f"the territories' lower bounds add up to {lower_total:,.0f}, more than the total {float(unit_max.sum()):,.0f}"))
        # One unit larger than the upper bound of every territory it may go to.
        room = (pair_values - band.upper[None, :]).min(axis=1)
        # (Units with no allowed pair at all are reported by the model builder instead.)
        too_big = np.flatnonzero((room > 1e-9 * np.maximum(1.0, np.abs(unit_values))) & allowed.any(axis=1))
        if len(too_big):
            i = int(too_big[np.argmax(room[too_big])])
            if band.kind == "balance" and band.tolerance is not None and not band.per_pair:
                mu = float(band.values.sum() / problem.k)
                need = band.values[i] / mu - 1
                detail = f"account {_unit(problem, i)} alone is {band.values[i] / mu:.0%} of a territory's mean {band.column}"
                fix = f"±{math.ceil(need * 1000) / 10:g}% would be needed for it alone; loosen the tolerance, split the account, or drop the '{band.column}' balance"
            else:
                detail = f"account {_unit(problem, i)} alone has {band.column} {unit_values[i]:,.1f}, more than any allowed territory can take"
                fix = "raise that rep's capacity or allow another territory"
            conflicts.append(Conflict(band.label, detail + (f" (and {len(too_big) - 1} more)" if len(too_big) > 1 else ""), fix))
        # Locked units alone overflow a territory.
        if problem.fixed is not None and np.any(problem.fixed >= 0):
            locked = np.flatnonzero(problem.fixed >= 0)
            weights = band.values[locked, problem.fixed[locked]] if band.per_pair else band.values[locked]
            load = np.bincount(problem.fixed[locked], weights=weights, minlength=problem.k)
            over_j = np.flatnonzero(load > band.upper * (1 + 1e-9))
            if len(over_j):
                j = int(over_j[0])
                conflicts.append(Conflict(
                    f"locks and {band.label}",
                    f"accounts locked to territory {problem.territory_ids[j]} already have {band.column} {load[j]:,.0f} > {band.upper[j]:,.0f}",
                    "unlock some of them or loosen the band",
                ))
    if conflicts:
        raise InfeasibleError(Diagnosis("No plan can satisfy the constraints:", conflicts))


def _families(problem: AssignmentProblem) -> list[str]:
    seen: list[str] = []
    for c in (*problem.bands, *problem.rows):
        if c.label not in seen:
            seen.append(c.label)
    return seen


def _without(problem: AssignmentProblem, labels: set[str]) -> AssignmentProblem:
    return replace(
        problem,
        bands=tuple(b for b in problem.bands if b.label not in labels),
        rows=tuple(r for r in problem.rows if r.label not in labels),
    )


def _feasible(problem: AssignmentProblem, time_limit: float) -> bool | None:
    """True/False if the MIP proves it; None if it could not tell in time."""
    am = build_assignment_model(replace(problem, cost=np.zeros_like(problem.cost)))
    res = solve_model(am.model, "highs", SolveOptions(time_limit=time_limit, mip_gap=1.0))
    if res.x is not None:
        return True
    if res.status == "infeasible":
        return False
    return None


def loosest_setting(problem: AssignmentProblem, label: str, time_limit: float = 20.0) -> float | None:
    """Smallest t ≥ 0 such that widening every band with this label by t × its reference
    (the mean for balance, the capacity for capacity) makes the problem feasible."""
    bands = [b for b in problem.bands if b.label == label]
    base = build_assignment_model(_without(problem, {label}))
    m = base.model
    nv = m.n_cols
    rows, lo, hi = [], [], []
    for b in bands:
        ref = b.upper if b.kind == "capacity" else (b.lower + b.upper) / 2
        coef = b.values[base.pair_unit, base.pair_territory] if b.per_pair else b.values[base.pair_unit]
        A = sp.csr_matrix((coef, (base.pair_territory, np.arange(nv))), shape=(problem.k, nv))
        tcol = sp.csr_matrix(-np.abs(ref).reshape(-1, 1))
        if np.isfinite(b.upper).any():
            keep = np.flatnonzero(np.isfinite(b.upper))
            rows.append(sp.hstack([A[keep], tcol[keep]]))  # load − t·ref ≤ U
            lo.append(np.full(len(keep), -np.inf))
            hi.append(b.upper[keep])
        if np.isfinite(b.lower).any():
            keep = np.flatnonzero(np.isfinite(b.lower))
            rows.append(sp.hstack([A[keep], -tcol[keep]]))  # load + t·ref ≥ L
            lo.append(b.lower[keep])
            hi.append(np.full(len(keep), np.inf))
    from territory_planner.optimize.exact import MatrixModel

    A_all = sp.vstack([sp.hstack([m.A, sp.csr_matrix((m.n_rows, 1))])] + rows, format="csr")
    model = MatrixModel(
        c=np.r_[np.zeros(nv), 1.0],
        A=A_all,
        row_lo=np.concatenate([m.row_lo] + lo),
        row_hi=np.concatenate([m.row_hi] + hi),
        col_lo=np.r_[m.col_lo, 0.0],
        col_hi=np.r_[m.col_hi, np.inf],
        integer=np.r_[m.integer, False],
    )
    res = solve_model(model, "highs", SolveOptions(time_limit=time_limit, mip_gap=1e-4))
    if res.x is None:
        return None
    return float(res.x[-1])


def diagnose(problem: AssignmentProblem, time_limit: float = 30.0) -> Diagnosis:
    """A smallest set of constraint families that conflict, and how far to loosen each."""
    precheck(problem)  # raises with its own, more precise diagnosis when it can
    families = _families(problem)
    budget = max(2.0, time_limit / max(1, 2 * len(families)))
    if _feasible(_without(problem, set(families)), budget) is False:
        return Diagnosis(
            "No plan exists even without balance and capacity: the locks and exclusions leave no valid assignment.",
            [Conflict("locks and exclusions", "some account cannot go to any allowed territory", "remove locks or exclusions")],
        )
    # Deletion filter: drop each family whose removal keeps the problem infeasible.
    needed = list(families)
    for label in families:
        trial = [f for f in needed if f != label]
        if _feasible(_without(problem, set(families) - set(trial)), budget) is False:
            needed = trial
    conflicts = []
    for label in needed:
        band: Band | None = next((b for b in problem.bands if b.label == label), None)
        if band is None:  # a general constraint (continuity, contiguity…): named, no sweep
            conflicts.append(Conflict(label, "cannot hold together with the others listed" if len(needed) > 1 else "cannot be met"))
            continue
        t = loosest_setting(_without(problem, set(families) - set(needed)), label, time_limit=budget)
        fix = None if t is None else _loosening(band, t, "would be feasible")
        conflicts.append(Conflict(label, "cannot hold together with the others listed" if len(needed) > 1 else "cannot be met", fix))
    return Diagnosis("No plan satisfies all constraints. These conflict:", conflicts)


def _loosening(band: Band, t: float, outcome: str) -> str:
    """How widening a band by t (from ``loosest_setting``) reads to a planner."""
    if band.kind == "balance" and band.tolerance is not None:
        return f"±{math.ceil((band.tolerance + t) * 1000) / 10:g}% {outcome} (now ±{band.tolerance * 100:g}%)"
    if band.kind == "capacity":
        return f"about {t:.2%} more capacity per rep {outcome}"
    return f"widening it by {t:.2%} of its reference {outcome}"


def relaxation_hints(problem: AssignmentProblem, time_limit: float = 20.0) -> Diagnosis:
    """When no plan was found in time: for each constraint family, how far loosening it
    alone (the others kept) makes a plan easy to find. Not a proof of infeasibility."""
    families = _families(problem)
    budget = max(2.0, time_limit / max(1, len(families)))
    conflicts = []
    for label in families:
        band = next((b for b in problem.bands if b.label == label), None)
        if band is None:
            continue
        t = loosest_setting(problem, label, time_limit=budget)
        if t is None or t <= 1e-9:
            continue
        conflicts.append(Conflict(label, "is tight: the search found no plan that meets it exactly", _loosening(band, t, "gives a plan")))
    summary = "No plan was found within the time limit, and none was proven impossible."
    if not conflicts:
        summary += " Raise solver.time_limit."
    return Diagnosis(summary, conflicts)
