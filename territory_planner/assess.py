"""The Plan of an alignment made by hand: the scenario's KPIs and constraints, measured.

A planner who moves accounts in the workbench (or edits an alignment anywhere else) has
an assignment the optimizer did not produce. :func:`assess` turns it into a
:class:`~territory_planner.plan.Plan` like any other, on the same problem ``plan()``
would pose (:func:`~territory_planner.model.build.build_problem`): the same territory
table and KPIs, the objective of the same cost, and every constraint checked.

What the Plan states stays true:

- status ``feasible`` when the assignment keeps every constraint of the problem, and
  ``edited`` when it breaks any (each one listed in ``notes``; such a plan is never
  called feasible, and its gap is not given);
- ``bound`` only when the caller holds one proven for the same problem (e.g. the bound
  of the run the edits started from, which stays a lower bound once locks are added,
  as locks only shrink the set of plans); otherwise none;
- contiguity (``contiguity: true``) is checked by :class:`ContiguityCheck`: each
  territory's units that hold accounts, with its root unit, must be connected among
  themselves. That is sufficient (units without accounts can then each join a
  neighbouring territory) but not necessary (a territory joined only through units
  without accounts is not proven contiguous, and is reported as a breach).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import networkx as nx
import numpy as np
import pandas as pd

from territory_planner.data.inputs import Inputs, load_inputs
from territory_planner.errors import ScenarioError
from territory_planner.model.build import build_problem
from territory_planner.optimize.solution import Solution, Stage, proven_bound, proven_within
from territory_planner.pipeline import assemble_plan
from territory_planner.plan import Plan
from territory_planner.scenario import Scenario

#: Status of a hand-made plan that breaks at least one constraint of its scenario.
EDITED = "edited"


def team_rows(inputs: Inputs, team: Sequence[str], scenario: Scenario) -> np.ndarray:
    """Positions in ``inputs.reps`` of the reps in ``team`` (rep_ids), in that order."""
    position = {r: i for i, r in enumerate(inputs.reps["rep_id"].astype(str))}
    missing = [r for r in team if r not in position]
    if missing:
        raise ScenarioError(f"rep(s) {', '.join(missing[:5])} of the plan are not in the reps file",
                            file=scenario.reps_path, column="rep_id",
                            fix="open the plan with the reps file it was made with, or plan the scenario again")
    return np.asarray([position[r] for r in team], dtype=int)


class ContiguityCheck:
    """Contiguity of account-level plans of a ``contiguity: true`` scenario (see the module
    docstring): the units as ``plan()`` builds them (the join, the splits of heavy units,
    the adjacency with its virtual edges and barriers) and each territory's root unit."""

    def __init__(self, scenario: Scenario, inputs: Inputs, problem, territories) -> None:
        from territory_planner.data.units import load_units
        from territory_planner.model.units import home_units, load_barriers, roll_up, unit_graph

        geometry = scenario.geometry
        units = load_units(scenario.units_path, geometry=geometry)
        self.rollup = roll_up(units, inputs.accounts, problem, geometry=geometry, accounts_file=scenario.accounts_path,
                              seed=scenario.solver.seed)
        barriers = load_barriers(scenario.barriers_path, geometry) if scenario.barriers_path else None
        self.graph = unit_graph(self.rollup, geometry=geometry, barriers=barriers)
        a, b = ("home_x", "home_y") if geometry == "planar" else ("home_lon", "home_lat")
        self.roots = home_units(self.rollup, territories[[a, b]].to_numpy(float))
        self.territory_ids = territories["territory_id"].astype(str).to_numpy()

    def breaches(self, assignment: np.ndarray) -> list[str]:
        """Why ``assignment`` (a territory position per account) is not proven contiguous.

        Units without accounts are not in the plan: each territory may be joined through
        free ones (not a root, not claimed by another territory), claimed along shortest
        paths; when every territory is connected so, that claim is a contiguous plan, so the
        check never calls a broken plan contiguous. A territory it cannot join is a breach.
        """
        rollup = self.rollup
        n_units = len(rollup.units)
        unit_ids = rollup.units["unit_id"].astype(str).to_numpy()
        assignment = np.asarray(assignment)
        first = np.full(n_units, -1)
        first[rollup.account_unit[::-1]] = assignment[::-1]
        split = np.flatnonzero(np.bincount(rollup.account_unit, weights=(assignment != first[
            rollup.account_unit]).astype(float), minlength=n_units) > 0)
        out = [f"unit {unit_ids[u]} has accounts in several territories" for u in split[:5]]
        roots = {int(r) for r in self.roots}
        free = set(np.flatnonzero(first < 0).tolist()) - roots
        for t, root in enumerate(self.roots):
            if first[root] not in (-1, t):
                out.append(f"territory {self.territory_ids[t]}: its root unit {unit_ids[root]} (the rep's home) "
                           f"is in territory {self.territory_ids[first[root]]}")
                continue
            members = set(np.flatnonzero(first == t).tolist()) | {int(root)}
            pieces = sorted(nx.connected_components(self.graph.subgraph(members)), key=len, reverse=True)
            while len(pieces) > 1:
                path = self._join(pieces[0], set().union(*pieces[1:]), free)
                if path is None:
                    out.append(f"territory {self.territory_ids[t]} is in {len(pieces)} pieces (contiguity)")
                    break
                free -= path
                members |= path
                pieces = sorted(nx.connected_components(self.graph.subgraph(members)), key=len, reverse=True)
        return out

    def _join(self, source: set, targets: set, free: set) -> set | None:
        """The free units of a shortest path from ``source`` to any of ``targets`` (None: none)."""
        seen = {u: None for u in source}
        frontier = list(source)
        while frontier:
            nxt = []
            for u in frontier:
                for v in self.graph.neighbors(u):
                    if v in seen:
                        continue
                    if v in targets:
                        path, w = set(), u
                        while w is not None and w not in source:
                            path.add(w)
                            w = seen[w]
                        return path
                    if v in free:
                        seen[v] = u
                        nxt.append(v)
            frontier = nxt
        return None


def assess(scenario: Scenario, assignment: Mapping[str, str], *, team: Sequence[str] | None = None,
           inputs: Inputs | None = None, bound: float = -math.inf, bound_from: str | None = None,
           seconds: float = 0.0, notes: Sequence[str] = (), unit_of: Mapping[str, str] | None = None,
           contiguity: ContiguityCheck | None = None) -> Plan:
    """The Plan of ``assignment`` (account_id → rep_id) under ``scenario``.

    ``team``: the reps holding territories, in the plan's order (default: every rep).
    ``bound``: a lower bound proven for this problem, if the caller has one (named by
    ``bound_from``). ``unit_of``: account_id → unit_id, carried into the assignments.
    ``contiguity``: the scenario's :class:`ContiguityCheck`, if the caller keeps one
    (built here otherwise, for a ``contiguity: true`` scenario).
    Raises :class:`ScenarioError` naming the accounts the assignment leaves out or puts
    on a rep without a territory.
    """
    if scenario.territories.centers != "reps":
        raise ScenarioError("a hand-made plan keeps territories on reps; this scenario chooses its centers",
                            file=scenario.source, column="territories.centers",
                            fix="plan the scenario with territories: {centers: reps}")
    inputs = inputs or load_inputs(scenario)
    team = list(team) if team is not None else list(inputs.reps["rep_id"].astype(str))
    rows = team_rows(inputs, team, scenario)
    problem, distance, territories = build_problem(scenario, inputs, rep_rows=rows)
    position = {r: j for j, r in enumerate(territories["rep_id"].astype(str))}
    ids = inputs.accounts["account_id"].astype(str).to_numpy()
    given = {str(k): str(v) for k, v in assignment.items()}
    j = np.asarray([position.get(given.get(a, ""), -1) for a in ids], dtype=int)
    if (j < 0).any():
        bad = ids[j < 0]
        unplaced = [a for a in bad if a not in given]
        text = (f"{len(unplaced)} account(s) have no rep ({', '.join(unplaced[:5])})" if unplaced else
                f"{len(bad)} account(s) are on a rep without a territory ({', '.join(bad[:5])})")
        raise ScenarioError(text, file=scenario.accounts_path, column="account_id",
                            fix="give every account of the accounts file a rep of the plan's team")
    broken = problem.violations(j)
    if scenario.contiguity:
        broken += (contiguity or ContiguityCheck(scenario, inputs, problem, territories)).breaches(j)
    objective = problem.objective(j)
    feasible = not broken
    bound = proven_bound(float(bound), objective) if feasible else -math.inf
    status = ("optimal" if proven_within(objective, bound, scenario.solver.mip_gap) else "feasible") if feasible \
        else EDITED
    stage = Stage("made by hand" + ("" if feasible else f": breaks {len(broken)} constraint(s)"), seconds,
                  objective, bound, status)
    solution = Solution(assignment=j, status=status, objective=objective, bound=bound, backend="hand",
                        seconds=seconds, stages=(stage,), bound_from=bound_from if math.isfinite(bound) else None)
    result = assemble_plan(scenario, inputs, problem, distance, territories, solution)
    if unit_of is not None and "unit_id" not in result.assignments:
        result.assignments["unit_id"] = pd.Series(ids).map(lambda a: unit_of.get(a)).to_numpy(dtype=object)
    return Plan(result.scenario, result.assignments, result.territories, result.reps, solution, result.kpis,
                problem, notes=(*inputs.notes, *notes, *(f"breaks: {b}" for b in broken)))
