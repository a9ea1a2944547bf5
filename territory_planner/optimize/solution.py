"""What a solve returns (:class:`Solution`) and how the stages of a run add up to one.

Every solver in ``optimize/`` returns a ``Solution``; the orchestrator
(:mod:`territory_planner.pipeline`) folds a run's stages into the Solution of the whole
problem the planner posed (:func:`whole_run`), which the :class:`~territory_planner.plan.Plan`
then carries.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


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


def proven_bound(bound: float, objective: float) -> float:
    """``bound`` as a bound of ``objective``'s plan: kept up to the solvers' round-off above
    it (then capped at the objective), dropped (−inf) when it lies clearly above it (a
    bound of another problem: never a false proof).

    >>> proven_bound(99.0, 100.0), proven_bound(100.00001, 100.0), proven_bound(150.0, 100.0)
    (99.0, 100.0, -inf)
    """
    if not np.isfinite(bound) or bound > objective + 1e-6 * max(1.0, abs(objective)):
        return float("-inf")
    return min(float(bound), objective)


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
