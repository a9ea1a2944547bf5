"""Plan: the result of a planning run, the one object everything downstream reads.

Maps, reports, scenario comparison, CRM export and the workbench read a ``Plan`` and
never reach into the solver. Its tables are plain pandas DataFrames with documented
columns (see ``ASSIGNMENT_COLUMNS`` and ``TERRITORY_COLUMNS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from territory_planner.optimize.problem import AssignmentProblem
from territory_planner.scenario import Scenario

#: One row per account. ``lat``/``lon`` (geographic) or ``x``/``y`` (planar).
ASSIGNMENT_COLUMNS = [
    "account_id", "name", "segment", "lat", "lon", "potential", "workload",
    "territory_id", "rep_id", "rep_name", "distance_km", "current_rep_id", "moved",
]
#: One row per territory. ``home_lat``/``home_lon`` is the rep's home base (territory center).
TERRITORY_COLUMNS = [
    "territory_id", "rep_id", "rep_name", "status", "home_lat", "home_lon", "capacity_hours",
    "n_accounts", "potential", "workload", "potential_dev_pct", "workload_dev_pct",
    "utilisation", "mean_distance_km", "max_distance_km", "weighted_mean_distance_km",
]


@dataclass(frozen=True)
class Stage:
    """One step of a run and what it proved, in the planner's words.

    ``objective`` and ``bound`` are the step's own (NaN / −inf where it has none): e.g.
    the capacitated p-median's when centers are chosen, or one ``count: auto`` attempt's.
    ``status``: optimal | time_limit | feasible | interrupted | infeasible (proven) |
    no_plan (none found in time, not proven impossible) | done (a step without a bound).
    """

    name: str
    seconds: float
    objective: float = float("nan")
    bound: float = float("-inf")
    status: str = "done"

    def as_dict(self) -> dict:
        return {"name": self.name, "seconds": round(self.seconds, 3), "objective": self.objective,
                "bound": self.bound, "status": self.status}


@dataclass(frozen=True)
class Solution:
    """What a solve returns: an assignment and what it proved about it.

    ``bound`` is a proven lower bound on the optimum of the model solved, so
    ``gap = (objective − bound) / |objective|`` bounds how far the plan can be from optimal.
    Once :func:`territory_planner.pipeline.plan` has run, the Solution describes the whole
    problem the planner posed: ``bound`` holds for it (every stage included; −inf when a
    stage can give none, named by ``bound_from``), ``seconds`` is the run's wall time and
    ``stages`` lists what each step did.
    """

    assignment: np.ndarray  # (n,) territory index per unit
    status: str  # optimal | feasible | time_limit | interrupted
    objective: float
    bound: float
    backend: str
    seconds: float
    build_seconds: float = 0.0
    log: tuple[str, ...] = ()
    stages: tuple[Stage, ...] = ()
    bound_from: str | None = None

    @property
    def gap(self) -> float:
        return relative_gap(self.objective, self.bound)

    def as_stage(self, name: str, seconds: float | None = None) -> Stage:
        """This solve as one stage of a run."""
        return Stage(name, self.seconds if seconds is None else seconds, self.objective, self.bound, self.status)


def relative_gap(objective: float, bound: float) -> float:
    """(objective − bound) / |objective|, 0 when both are 0, clipped at 0."""
    if not np.isfinite(bound):
        return float("inf")
    denom = max(abs(objective), 1e-9)
    return max(0.0, (objective - bound) / denom) if abs(objective - bound) > 1e-9 else 0.0


def proven_within(objective: float, bound: float, mip_gap: float) -> bool:
    """Whether ``bound`` proves ``objective`` optimal within ``mip_gap``.

    Solvers prove optimality up to their own tolerances (HiGHS: 1e-6 absolute), so a gap
    of a few parts per billion is not a gap.
    """
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return False
    slack = max(mip_gap * abs(objective), 1e-9 * max(1.0, abs(objective)), 1e-6)
    return objective - bound <= slack


def whole_run(solution: Solution, stages, *, objective: float, bound: float, bound_from: str | None,
              seconds: float, mip_gap: float) -> Solution:
    """The Solution of a whole run: its plan, the bound that holds for the whole problem,
    the status that follows from it, the run's wall time and its stages.

    ``optimal`` only when ``bound`` proves ``objective`` within ``mip_gap``; otherwise
    ``interrupted`` if Ctrl-C stopped a stage, ``time_limit`` if a stage ran out of time,
    ``feasible`` for a verified plan without that proof (e.g. a stage that gives no bound).
    """
    stages = tuple(stages)
    bound = min(bound, objective) if np.isfinite(bound) else float("-inf")
    words = {st.status for st in stages} | {solution.status}
    if "interrupted" in words:
        status = "interrupted"
    elif proven_within(objective, bound, mip_gap):
        status = "optimal"
    elif "time_limit" in words:
        status = "time_limit"
    else:
        status = "feasible"
    return replace(solution, status=status, objective=objective, bound=bound, seconds=seconds,
                   stages=stages, bound_from=bound_from)


@dataclass(frozen=True)
class Plan:
    """An alignment with its KPIs and what the optimizer proved about it.

    Attributes
    ----------
    scenario : the scenario that produced it.
    overlays : role → the overlay team's own Plan (specialists over generalists).
    assignments : one row per account, columns ``ASSIGNMENT_COLUMNS`` (plus any extra).
    territories : one row per territory, columns ``TERRITORY_COLUMNS`` (plus any extra).
    reps : the reps table as loaded.
    solution : status, objective, bound, seconds from the solver.
    kpis : FIELD.md §4 KPIs, computed once in ``territory_planner.kpis``.
    problem : the solver-neutral problem (for re-checking constraints).
    """

    scenario: Scenario
    assignments: pd.DataFrame
    territories: pd.DataFrame
    reps: pd.DataFrame
    solution: Solution
    kpis: dict = field(default_factory=dict)
    problem: AssignmentProblem | None = field(default=None, repr=False)
    overlays: dict[str, Plan] = field(default_factory=dict, repr=False)  # role → overlay team's plan

    @property
    def status(self) -> str:
        return self.solution.status

    @property
    def objective(self) -> float:
        return self.solution.objective

    @property
    def bound(self) -> float:
        return self.solution.bound

    @property
    def gap(self) -> float:
        return self.solution.gap

    @property
    def seconds(self) -> float:
        return self.solution.seconds

    @property
    def geometry(self) -> str:
        return self.scenario.geometry

    def summary(self) -> dict:
        """The JSON-ready summary written to summary.json."""
        return {
            "scenario": self.scenario.name,
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "seconds": round(self.seconds, 3),
            "bound_from": self.solution.bound_from,
            "stages": [st.as_dict() for st in self.solution.stages],
            "build_seconds": round(self.solution.build_seconds, 3),
            "backend": self.solution.backend,
            "objective_label": self.problem.cost_label if self.problem is not None else "cost",
            "n_accounts": int(len(self.assignments)),
            "n_territories": int(len(self.territories)),
            "kpis": self.kpis,
            **({"overlays": {role: o.summary() for role, o in self.overlays.items()}} if self.overlays else {}),
            **({"reps_without_territory": self.reps_without_territory} if len(self.reps) else {}),
            **({"map": "not drawn: geometry none has no coordinates"} if self.geometry == "none" else {}),
        }

    @property
    def reps_without_territory(self) -> list[str]:
        """rep_ids of the reps file that got no territory (``territories.count`` left them out)."""
        have = set(self.territories["rep_id"].astype(str))
        return [r for r in self.reps["rep_id"].astype(str) if r not in have]
