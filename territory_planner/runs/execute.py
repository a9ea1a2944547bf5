"""Plan a scenario through the store, and open what a command names as a Plan.

``plan_stored`` is ``pipeline.plan`` with memory: an unchanged scenario with unchanged
inputs returns the run already kept (``fresh=True`` plans again), and every new plan is
kept. ``open_plan`` turns what a planner types — a run id (or label, or name), a plan
folder, or a scenario file — into a Plan, planning a scenario file first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from territory_planner.errors import ScenarioError
from territory_planner.pipeline import plan
from territory_planner.plan import Plan
from territory_planner.runs.record import input_hashes, read_plan, run_key
from territory_planner.runs.store import Run, RunStore
from territory_planner.scenario import Scenario, load_scenario

#: Statuses a stored run may be returned for instead of planning again: a plan stopped by
#: Ctrl-C is not the plan its scenario asks for.
REUSABLE = ("optimal", "time_limit", "feasible")


@dataclass(frozen=True)
class Stored:
    """A plan and its run in the store; ``reused``: the run was already there."""

    plan: Plan
    run: Run
    reused: bool


def plan_stored(scenario: Scenario, store: RunStore, *, fresh: bool = False, progress=None, kind: str = "plan",
                **meta) -> Stored:
    """Plan ``scenario`` unless the store holds a run of it with the same inputs; keep it.

    ``meta`` goes to :meth:`RunStore.save` (``parent``, ``group_id``, ``swept``, …).
    """
    hashes = input_hashes(scenario)
    key = run_key(scenario, hashes)
    if not fresh:
        hit = store.cached(key, REUSABLE)
        if hit is not None:
            return Stored(hit.plan(), hit, True)
    result = plan(scenario, progress=progress)
    run = store.save_plan(result, kind=kind, key=key, inputs=hashes, **meta)
    return Stored(result, run, False)


def looks_like_scenario(ref: str) -> bool:
    return Path(ref).suffix.lower() in (".yaml", ".yml")


def open_plan(ref: str, store: RunStore, *, fresh: bool = False, progress=None) -> tuple[Plan, str]:
    """(Plan, a short label) for a run id/label/name, a plan folder, or a scenario file.

    A scenario file is planned first (through the store: an unchanged one is not
    planned again). The label is the run's label or name, the folder's or file's name.
    """
    path = Path(ref)
    if looks_like_scenario(ref):
        if not path.is_file():
            raise ScenarioError("scenario file not found", file=path, fix="check the path")
        stored = plan_stored(load_scenario(path), store, fresh=fresh, progress=progress)
        return stored.plan, stored.run.label or stored.plan.scenario.name
    if path.is_dir() and (path / "summary.json").is_file():
        return read_plan(path), path.name
    try:
        run = store.get(ref)
    except ScenarioError:
        if path.exists():
            raise ScenarioError("not a plan folder, run or scenario file", file=path,
                                fix="give a folder written by 'territory-planner plan --out', a run id from "
                                    "'territory-planner runs list', or a scenario .yaml file") from None
        raise
    return run.plan(), run.label or run.name
