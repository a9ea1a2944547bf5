"""The scenario: what the planner asks for, read from a YAML file and checked key by key.

``parse`` holds the scenario's keys (data, balance, territories, solver, …) and the
loader; ``capacity`` the keys of its ``capacity:`` section. Both are plain data that every
later step reads; nothing here touches the input tables or a solver.
"""

from territory_planner.scenario.parse import Scenario, load_scenario, parse_scenario

__all__ = ["Scenario", "load_scenario", "parse_scenario"]
