"""Plan: the result of a planning run, the one object everything downstream reads.

Maps, reports, scenario comparison, CRM export and the workbench read a ``Plan`` and
never reach into the solver. Its tables are plain pandas DataFrames with documented
columns (see ``ASSIGNMENT_COLUMNS`` and ``TERRITORY_COLUMNS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from territory_planner.optimize.problem import AssignmentProblem
from territory_planner.optimize.solution import Solution
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
    notes : what the scenario's ``changes:`` did to the inputs (reps removed, added, locks, …).
    """

    scenario: Scenario
    assignments: pd.DataFrame
    territories: pd.DataFrame
    reps: pd.DataFrame
    solution: Solution
    kpis: dict = field(default_factory=dict)
    problem: AssignmentProblem | None = field(default=None, repr=False)
    overlays: dict[str, Plan] = field(default_factory=dict, repr=False)  # role → overlay team's plan
    notes: tuple[str, ...] = ()
    objective_label: str | None = None  # what the objective measures, where ``problem`` is gone (a plan read back)

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
    def cost_label(self) -> str:
        """What the objective measures, e.g. "workload-weighted km (hours × km)"."""
        if self.problem is not None:
            return self.problem.cost_label
        return self.objective_label or "cost"

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
            "objective_label": self.cost_label,
            "n_accounts": int(len(self.assignments)),
            "n_territories": int(len(self.territories)),
            "kpis": self.kpis,
            **({"changes": list(self.notes)} if self.notes else {}),
            **({"overlays": {role: o.summary() for role, o in self.overlays.items()}} if self.overlays else {}),
            **({"reps_without_territory": self.reps_without_territory} if len(self.reps) else {}),
            **({"map": "not drawn: geometry none has no coordinates"} if self.geometry == "none" else {}),
        }

    @property
    def reps_without_territory(self) -> list[str]:
        """rep_ids of the reps file that got no territory (``territories.count`` left them out)."""
        have = set(self.territories["rep_id"].astype(str))
        return [r for r in self.reps["rep_id"].astype(str) if r not in have]
