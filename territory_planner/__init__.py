"""territory_planner: territory and capacity planning for sales organisations.

The public API, mirroring the CLI::

    from territory_planner import load_scenario, plan, write_plan
    result = plan(load_scenario("scenarios/demo.yaml"))
    result.territories          # one row per territory, with KPIs
    result.assignments          # one row per account
    result.status, result.gap   # what the optimizer proved
    write_plan(result, "out/demo")
    write_capacity(plan_capacity(load_scenario("scenarios/demo.yaml")), "out/capacity")

Runs are kept, found again and compared on the same objects::

    store = RunStore("runs")                       # the run store (folders + runs/runs.sqlite)
    run = plan_stored(load_scenario("scenarios/rep_leaves.yaml"), store).run
    base = store.get("board-pick").plan()          # a Plan read back from its folder
    comparison = compare_plans([base, run.plan()], ["board-pick", run.name])
    outcome = replan(base, ChangesSpec(remove_reps=["R017"]))   # the mid-year re-plan
    edited = assess(base.scenario, {"A0001": "R004", ...})    # a plan made by hand, measured
"""

from territory_planner.assess import assess
from territory_planner.capacity.planning import CapacityPlan, plan_capacity
from territory_planner.data.inputs import Inputs, load_inputs
from territory_planner.errors import InfeasibleError, InputError, PlannerError, ScenarioError
from territory_planner.model.build import build_problem
from territory_planner.optimize.problem import AssignmentProblem, Band, balance_band, capacity_band
from territory_planner.optimize.solution import Solution
from territory_planner.optimize.solve import solve_problem
from territory_planner.outputs.capacity import write_capacity
from territory_planner.outputs.compare import Comparison, compare_plans
from territory_planner.outputs.compare_report import write_comparison
from territory_planner.outputs.report import write_plan
from territory_planner.pipeline import plan
from territory_planner.plan import Plan
from territory_planner.runs.execute import plan_stored
from territory_planner.runs.frontier import run_frontier
from territory_planner.runs.record import read_plan
from territory_planner.runs.replan import Replan, read_changes, replan
from territory_planner.runs.store import Run, RunStore
from territory_planner.runs.sweep import run_sweep
from territory_planner.scenario import Scenario, load_scenario, parse_scenario
from territory_planner.scenario.changes import ChangesSpec

__all__ = [
    "AssignmentProblem",
    "Band",
    "CapacityPlan",
    "ChangesSpec",
    "Comparison",
    "InfeasibleError",
    "Inputs",
    "InputError",
    "Plan",
    "PlannerError",
    "Replan",
    "Run",
    "RunStore",
    "Scenario",
    "ScenarioError",
    "Solution",
    "assess",
    "balance_band",
    "build_problem",
    "capacity_band",
    "compare_plans",
    "load_inputs",
    "load_scenario",
    "parse_scenario",
    "plan",
    "plan_capacity",
    "plan_stored",
    "read_changes",
    "read_plan",
    "replan",
    "run_frontier",
    "run_sweep",
    "solve_problem",
    "write_capacity",
    "write_comparison",
    "write_plan",
]
__version__ = "0.1.0"
