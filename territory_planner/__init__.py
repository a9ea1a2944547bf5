"""territory_planner: territory and capacity planning for sales organisations.

The public API, mirroring the CLI::

    from territory_planner import load_scenario, plan, write_plan
    result = plan(load_scenario("scenarios/demo.yaml"))
    result.territories          # one row per territory, with KPIs
    result.assignments          # one row per account
    result.status, result.gap   # what the optimizer proved
    write_plan(result, "out/demo")
    write_capacity(plan_capacity(load_scenario("scenarios/demo.yaml")), "out/capacity")
"""

from territory_planner.capacity.planning import CapacityPlan, plan_capacity
from territory_planner.data.inputs import Inputs, load_inputs
from territory_planner.errors import InfeasibleError, InputError, PlannerError, ScenarioError
from territory_planner.model.build import build_problem
from territory_planner.optimize.problem import AssignmentProblem, Band, balance_band, capacity_band
from territory_planner.optimize.solution import Solution
from territory_planner.optimize.solve import solve_problem
from territory_planner.outputs.capacity import write_capacity
from territory_planner.outputs.report import write_plan
from territory_planner.pipeline import plan
from territory_planner.plan import Plan
from territory_planner.scenario import Scenario, load_scenario, parse_scenario

__all__ = [
    "AssignmentProblem",
    "Band",
    "CapacityPlan",
    "InfeasibleError",
    "Inputs",
    "InputError",
    "Plan",
    "PlannerError",
    "Scenario",
    "ScenarioError",
    "Solution",
    "balance_band",
    "build_problem",
    "capacity_band",
    "load_inputs",
    "load_scenario",
    "parse_scenario",
    "plan",
    "plan_capacity",
    "solve_problem",
    "write_capacity",
    "write_plan",
]
__version__ = "0.1.0"
