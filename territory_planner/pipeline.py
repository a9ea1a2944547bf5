"""load → validate → build problem → solve → Plan. The Python API mirrors the CLI.

>>> from territory_planner import load_scenario, plan          # doctest: +SKIP
>>> result = plan(load_scenario("scenarios/demo.yaml"))         # doctest: +SKIP
>>> result.territories[["territory_id", "potential_dev_pct"]]   # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from territory_planner.capacity.planning import territory_quotas, with_open_seats
from territory_planner.data.columns import id_text
from territory_planner.data.geo import coordinate_columns
from territory_planner.data.inputs import Inputs, load_inputs
from territory_planner.data.sources import CRM_TARGETS
from territory_planner.errors import (
    Conflict,
    Diagnosis,
    InfeasibleError,
    NoPlanFoundError,
    ScenarioError,
    SolverError,
)
from territory_planner.kpis import plan_kpis, territory_table
from territory_planner.model import constraints
from territory_planner.model.build import (
    build_large_problem,
    build_problem,
    use_large_path,
)
from territory_planner.model.hierarchy import group_table
from territory_planner.model.overlays import attach, overlay_scenario, split_inputs
from territory_planner.optimize.backends import Progress
from territory_planner.optimize.problem import AssignmentProblem
from territory_planner.optimize.solution import Solution, Stage, whole_run
from territory_planner.optimize.solve import MIN_PHASE_SECONDS, solve_problem
from territory_planner.plan import Plan
from territory_planner.scenario import Scenario, load_scenario

#: Accounts-file columns an import from a CRM fills (``territory-planner import``), carried
#: into the Plan's assignments as text so that ``territory-planner export`` can write back to it.
CRM_ID_COLUMNS = CRM_TARGETS["accounts"]  # one list: the mapping targets are the columns carried

#: With balance bands, ``centers: choose`` gives the p-median this share of the time; the
#: allocation to the chosen centers under the bands gets the rest.
CENTERS_SHARE = 0.6


def _unit_start(start, rollup, unit_problem: AssignmentProblem) -> np.ndarray | None:
    """An account-level start as a territory per unit, if it keeps every unit whole
    (units without accounts: their cheapest territory)."""
    if start is None:
        return None
    per_unit = np.full(len(rollup.units), -1)
    per_unit[rollup.account_unit] = start
    if not (per_unit[rollup.account_unit] == start).all():
        return None
    return np.where(per_unit < 0, np.argmin(unit_problem.cost, axis=1), per_unit)


def solve_units(scenario, inputs, problem: AssignmentProblem, territories: pd.DataFrame, *,
                time_limit: float | None = None, progress=None, verbose: bool = False, start=None):
    """Solve a scenario over its units: (inputs with ``unit_id`` filled, account-level Solution).

    The Solution's assignment is per account (each account gets its unit's territory),
    its objective is the account-level objective, and ``log`` tells the unit story
    (units, splits, virtual and barrier edges, cut rounds). ``time_limit`` (default
    ``solver.time_limit``) bounds the whole step, the join and the splits included.
    ``start`` (a territory position per account) seeds the search when it keeps every
    unit whole (the contiguity loop keeps it, or its repair, when contiguous and feasible).
    """
    from territory_planner.data.units import load_units
    from territory_planner.model.units import (
        aggregate_problem,
        home_units,
        load_barriers,
        roll_up,
        unit_graph,
    )
    from territory_planner.optimize.contiguity import solve_contiguous

    t0 = time.perf_counter()
    time_limit = scenario.solver.time_limit if time_limit is None else time_limit
    geometry = scenario.geometry
    if scenario.units_path is None:
        key = "contiguity" if scenario.contiguity else "barriers"
        raise ScenarioError(
            f"'{key}' needs geographic units to connect",
            file=scenario.source,
            column=key,
            fix="add 'units: <polygons.geojson>' under data: (e.g. counties with a unit_id)",
        )
    if scenario.barriers_path is not None and not scenario.contiguity:
        raise ScenarioError(
            "barriers only act on contiguous territories",
            file=scenario.source,
            column="barriers",
            fix="set 'contiguity: true', or remove 'barriers'",
        )
    units = load_units(scenario.units_path, geometry=geometry)
    s = scenario.solver
    rollup = roll_up(units, inputs.accounts, problem, geometry=geometry, accounts_file=scenario.accounts_path, seed=s.seed)
    unit_problem = aggregate_problem(problem, rollup.account_unit, rollup.unit_ids)
    n_split = int((rollup.units["parent_unit_id"] != rollup.units["unit_id"]).sum())
    log = [f"{len(units)} units in the file; {len(rollup.units)} after splitting heavy units ({n_split} pieces)"]
    options = dict(backend=s.backend, mip_gap=s.mip_gap, seed=s.seed, threads=s.threads, progress=progress, verbose=verbose)
    if scenario.contiguity:
        barriers = load_barriers(scenario.barriers_path, geometry) if scenario.barriers_path else None
        graph = unit_graph(rollup, geometry=geometry, barriers=barriers)
        a, b = ("home_x", "home_y") if geometry == "planar" else ("home_lon", "home_lat")
        roots = home_units(rollup, territories[[a, b]].to_numpy(float))
        log.append(
            f"adjacency: {graph.number_of_edges()} edges, {len(graph.graph['virtual_edges'])} virtual "
            f"(joining islands), {len(graph.graph['barrier_edges'])} cut by barriers"
        )
        unit_solution = solve_contiguous(
            unit_problem, graph, roots, time_limit=max(0.1, time_limit - (time.perf_counter() - t0)),
            incumbent=_unit_start(start, rollup, unit_problem), **options
        )
    else:
        incumbent = _unit_start(start, rollup, unit_problem)
        unit_solution = solve_problem(unit_problem, time_limit=max(0.1, time_limit - (time.perf_counter() - t0)),
                                      incumbent=incumbent, **options)
    accounts = inputs.accounts.copy()
    accounts["unit_id"] = rollup.unit_ids[rollup.account_unit]
    assignment = unit_solution.assignment[rollup.account_unit]
    solution = replace(
        unit_solution,
        assignment=assignment,
        objective=problem.objective(assignment),
        seconds=time.perf_counter() - t0,
        log=tuple(log) + tuple(unit_solution.log),
    )
    # The map draws unit plans as dissolved unit polygons (outputs.map_outlines.territory_outlines).
    shapes = rollup.units[["unit_id", "geometry"]].copy()
    shapes["territory_id"] = problem.territory_ids[unit_solution.assignment]  # units without accounts too
    problem.meta["units"] = shapes
    return replace(inputs, accounts=accounts), solution


def assemble_plan(
    scenario: Scenario,
    inputs: Inputs,
    problem: AssignmentProblem,
    distance: np.ndarray,
    territories: pd.DataFrame,
    solution: Solution,
) -> Plan:
    """Turn a solver solution into the Plan tables and KPIs."""
    accounts = inputs.accounts
    a, b = coordinate_columns(scenario.geometry)
    j = solution.assignment
    rows = np.arange(len(accounts))
    assignments = pd.DataFrame(
        {
            "account_id": accounts["account_id"].astype(str).to_numpy(),
            "name": accounts["name"].astype(str).to_numpy(),
            "segment": accounts["segment"].astype(str).to_numpy(),
            a: accounts[a].to_numpy(float),
            b: accounts[b].to_numpy(float),
            "potential": accounts["potential"].to_numpy(float),
            "workload": accounts["workload"].to_numpy(float),
            "territory_id": territories["territory_id"].to_numpy()[j],
            "rep_id": territories["rep_id"].to_numpy()[j],
            "rep_name": territories["rep_name"].to_numpy()[j],
            "distance_km": distance[rows, j],
        }
    )
    current = accounts["current_rep_id"] if "current_rep_id" in accounts else pd.Series([None] * len(accounts))
    assignments["current_rep_id"] = current.to_numpy(dtype=object)
    assignments["moved"] = current.notna().to_numpy() & (current.astype(object).to_numpy() != assignments["rep_id"].to_numpy())
    for col in scenario.balance:
        if col not in assignments:
            assignments[col] = accounts[col].to_numpy(float)
    if "postal_code" in accounts:
        assignments["postal_code"] = accounts["postal_code"].to_numpy(dtype=object)
    for col in CRM_ID_COLUMNS:  # the CRM's own ids, carried for the export back to it (crm/)
        if col in accounts and col not in assignments:
            assignments[col] = [id_text(v) for v in accounts[col]]
    if "unit_id" in accounts and accounts["unit_id"].notna().any():
        assignments["unit_id"] = accounts["unit_id"].to_numpy(dtype=object)
    balance_columns = list(scenario.balance)
    targets = constraints.territory_targets(accounts, territories, ["potential", "workload", *balance_columns])
    targets |= {band.column: (band.lower + band.upper) / 2 for band in problem.bands if band.kind == "balance"}
    table = territory_table(assignments, territories, balance_columns, targets)
    kpis = plan_kpis(assignments, table, balance_columns)
    if scenario.continuity.active:
        weights = constraints.continuity_weights(scenario, accounts)
        share = constraints.kept_share(accounts, assignments["rep_id"].to_numpy(), territories["rep_id"], weights)
        kpis[f"kept_share_by_{scenario.continuity.by}"] = share
    if scenario.hierarchy is not None:
        for level in scenario.hierarchy.levels:
            columns = list(scenario.hierarchy.balance) or ["potential"]
            groups = group_table(table, inputs.reps, level, columns)
            for col in columns:
                kpis[f"{level}_{col}_max_dev_pct"] = float(groups[f"{col}_dev_pct"].abs().max())
    quotas = territory_quotas(scenario, accounts, inputs.reps, table, j)
    if quotas is not None:  # a revenue target in the capacity section: quotas on the new territories
        rows, quota_kpis = quotas
        table = table.assign(quota=rows["quota"].to_numpy(), quota_capped=rows["capped"].to_numpy(),
                             expected_attainment=rows["expected_attainment"].to_numpy())
        kpis.update({f"quota_{k}": v for k, v in quota_kpis.items() if isinstance(v, int | float) and k != "target"})
    return Plan(scenario, assignments, table, inputs.reps, solution, kpis, problem)


def _auto_exhausted(diagnosis: Diagnosis, sizes: list[int], team: int) -> InfeasibleError:
    """``count: auto`` tried every team size up to the whole team and none was feasible:
    say so, and give the whole team's diagnosis (the loosest setting count can reach)."""
    tried = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]} to {sizes[-1]}"
    return InfeasibleError(Diagnosis(
        f"territories.count: auto tried {tried} territories and none gives a feasible plan; even with all "
        f"{team} reps: {diagnosis.summary}",
        [*diagnosis.conflicts,
         Conflict("territories.count: auto", f"all {team} reps (open seats included) are already in use",
                  "add reps or open seats (status: open) to the reps file, or relax the constraints above")],
    ))


class _Clock:
    """One deadline for a whole run: every stage gets what is left of ``solver.time_limit``."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def left(self, share: float = 1.0) -> float:
        """Seconds for the next stage: ``share`` of what is left, never below a phase's floor."""
        return max(MIN_PHASE_SECONDS, share * (self.deadline - time.perf_counter()))


def _verified(problem, solution: Solution) -> Solution:
    """Every returned plan is checked once more against every constraint of the problem
    the planner posed (accounts, not units); one that breaks any is never returned."""
    broken = problem.violations(solution.assignment)
    if broken:
        raise SolverError(f"the plan breaks a constraint after solving ({broken[0]}); "
                          "this is a bug in territory_planner, please report it with the scenario")
    return solution


def _start_positions(start, accounts: pd.DataFrame, territories: pd.DataFrame) -> np.ndarray | None:
    """``start`` (account_id → rep_id) as territory positions; None unless it places every
    account on one of these territories (a partial plan cannot seed the search)."""
    if start is None:
        return None
    by_account = {str(k): str(v) for k, v in dict(start).items() if v is not None and not pd.isna(v)}
    position = {r: j for j, r in enumerate(territories["rep_id"].astype(str))}
    out = [position.get(by_account.get(a, ""), -1) for a in accounts["account_id"].astype(str)]
    return np.asarray(out, dtype=int) if min(out, default=0) >= 0 else None


def _solve_territories(scenario: Scenario, inputs: Inputs, rep_rows, *, clock: _Clock, cost_matrix, progress,
                       verbose: bool, explain: bool, start=None):
    """One territory design solve over the reps in ``rep_rows``:
    (problem, distance, territories, inputs, solution, stage name). ``start`` seeds the
    search (account_id → rep_id) of the exact and unit paths, where it places every
    account (a plan outside a band is repaired first); the large path starts from its own."""
    s = scenario.solver
    if use_large_path(scenario, inputs, cost_matrix):
        from territory_planner.optimize.large import solve_large

        problem, distance, territories = build_large_problem(scenario, inputs, rep_rows=rep_rows)
        solution = solve_large(problem, time_limit=clock.left(), mip_gap=s.mip_gap, seed=s.seed,
                               threads=s.threads, progress=progress, verbose=verbose)
        return problem, distance, territories, inputs, solution, "assign accounts to territories (large-alignment path)"
    problem, distance, territories = build_problem(scenario, inputs, cost_matrix=cost_matrix, rep_rows=rep_rows)
    if scenario.units_path is not None or scenario.contiguity or scenario.barriers:
        # Units (not accounts) are assigned; accounts get their unit's territory.

        inputs, solution = solve_units(scenario, inputs, problem, territories, time_limit=clock.left(),
                                       progress=progress, verbose=verbose,
                                       start=_start_positions(start, inputs.accounts, territories))
        name = "assign units to territories" + (" (contiguity cut loop)" if scenario.contiguity else "")
        return problem, distance, territories, inputs, solution, name
    solution = solve_problem(problem, backend=s.backend, time_limit=clock.left(), mip_gap=s.mip_gap, seed=s.seed,
                             threads=s.threads, progress=progress, verbose=verbose, explain=explain,
                             incumbent=_start_positions(start, inputs.accounts, territories))
    return problem, distance, territories, inputs, solution, "assign accounts to territories"


def _plan_reps(scenario: Scenario, inputs: Inputs, *, clock: _Clock, cost_matrix, progress, verbose,
               start=None) -> Plan:
    """Territories centred on reps (``centers: reps``), with ``count: auto`` attempts."""
    t0 = time.perf_counter()
    scenario, inputs = with_open_seats(scenario, inputs)  # count: auto + capacity section → open seats
    choices = list(constraints.territory_rep_rows(scenario, inputs.accounts, inputs.reps))
    auto = scenario.territories.count == "auto"
    stages: list[Stage] = []
    unproven: str | None = None  # a smaller team that was not proven infeasible
    for attempt, rep_rows in enumerate(choices):
        last = attempt == len(choices) - 1
        label = f"count: auto, {len(rep_rows)} territories" if len(choices) > 1 else None
        started = time.perf_counter()
        try:
            problem, distance, territories, used, solution, name = _solve_territories(
                scenario, inputs, rep_rows, clock=clock, cost_matrix=cost_matrix, progress=progress,
                verbose=verbose, explain=last, start=start)
            break
        except InfeasibleError as error:
            if label is not None:
                stages.append(Stage(f"{label}: proven infeasible", time.perf_counter() - started, status="infeasible"))
            if not last:
                continue
            if not auto or scenario.territories.centers != "reps":
                raise
            # count: auto's last attempt is always the whole team.
            raise _auto_exhausted(error.diagnosis, [len(c) for c in choices], len(inputs.reps)) from None
        except NoPlanFoundError:
            if last or label is None:
                raise
            # Not proven impossible: a plan with more territories is still a plan, but the
            # fewest territories that can carry the workload are then not known.
            stages.append(Stage(f"{label}: no plan found in time (not proven infeasible)",
                                time.perf_counter() - started, status="no_plan"))
            unproven = stages[-1].name
    if label is not None:
        name = f"{label}: {name}"
    stages.append(solution.as_stage(name))
    solution = whole_run(
        solution, stages, objective=solution.objective,
        bound=solution.bound if unproven is None else -math.inf,
        bound_from=name if unproven is None else unproven,
        seconds=time.perf_counter() - t0, mip_gap=scenario.solver.mip_gap)
    return assemble_plan(scenario, used, problem, distance, territories, _verified(problem, solution))


def _choose_blockers(scenario: Scenario, inputs: Inputs) -> list[str]:
    """Scenario keys ``centers: choose`` does not take (asking for them must not be ignored)."""
    out = []
    if scenario.eligibility:
        out.append("eligibility")
    if scenario.max_distance_km is not None:
        out.append("max_distance_km")
    if scenario.continuity.active:
        out.append("continuity")
    if scenario.hierarchy is not None:
        out.append("hierarchy")
    if scenario.units_path is not None or scenario.contiguity or scenario.barriers:
        out.append("data.units / contiguity / barriers")
    if "locked_rep_id" in inputs.accounts and inputs.accounts["locked_rep_id"].notna().any():
        out.append("locked_rep_id (accounts file)")
    return out


def _plan_centers(scenario: Scenario, inputs: Inputs, *, clock: _Clock, cost_matrix, progress, verbose) -> Plan:
    """``centers: choose``: the capacitated p-median, then (with balance bands) the
    allocation to its centers, then (with a reps file) the reps seated on the centers.

    The whole problem's bound is the p-median's: without the balance bands it is a
    relaxation of the problem with them, so its bound holds either way, while the
    allocation's own bound holds only for the centers chosen.
    """
    from territory_planner.model.centers import assign_reps, center_sites, centers_problem
    from territory_planner.optimize.centers import solve_centers

    t0 = time.perf_counter()
    blockers = _choose_blockers(scenario, inputs)
    if cost_matrix is not None:
        blockers.append("cost_matrix")
    if blockers:
        raise ScenarioError(f"territories.centers: choose does not take {', '.join(blockers)}", file=scenario.source,
                            column="territories.centers",
                            fix="remove them, or plan with centers: reps (one territory per rep's home)")
    s = scenario.solver
    accounts = inputs.accounts
    sites = center_sites(scenario, accounts)
    banded = bool(scenario.balance)
    started = time.perf_counter()
    centers = solve_centers(sites.cost, accounts["workload"].to_numpy(float), float(scenario.territories.capacity),
                            scenario.territories.count, time_limit=clock.left(CENTERS_SHARE if banded else 1.0),
                            seed=s.seed, backend="highs" if s.backend == "auto" else s.backend, method=s.method,
                            sites_are_accounts=sites.at_accounts, progress=progress)
    choose = Stage("choose centers (capacitated p-median)", time.perf_counter() - started, centers.objective,
                   centers.bound, centers.status)
    stages = [choose]
    problem, distance, territories = centers_problem(scenario, accounts, sites, centers.centers)
    problem.meta["centers"] = centers
    if not banded:
        # The p-median's plan is this problem's plan: each account at its center.
        position = np.searchsorted(centers.centers, centers.assignment)
        solution = Solution(assignment=position, status=centers.status, objective=problem.objective(position),
                            bound=centers.bound, backend=centers.backend, seconds=choose.seconds,
                            build_seconds=centers.build_seconds)
        bound_from = choose.name
    else:
        started = time.perf_counter()
        try:
            solution = solve_problem(problem, backend=s.backend, time_limit=clock.left(), mip_gap=s.mip_gap, seed=s.seed,
                                     threads=s.threads, progress=progress, verbose=verbose)
        except InfeasibleError as error:
            raise NoPlanFoundError(Diagnosis(
                f"the {len(territories)} centers chosen for distance and capacity admit no plan within the balance "
                f"bands ({error.diagnosis.summary}); other centers might, so this is not a proof that none exists",
                [*error.diagnosis.conflicts,
                 Conflict("territories.centers: choose", "the centers are chosen before the bands are applied",
                          "loosen the balance tolerance, change territories.count, or plan with centers: reps")],
            )) from None
        stages.append(Stage("allocate accounts to the chosen centers within the balance bands "
                            "(its bound holds for these centers only)", time.perf_counter() - started,
                            solution.objective, solution.bound, solution.status))
        bound_from = f"{choose.name}, without the balance bands: a relaxation of the whole problem"
    if len(inputs.reps):
        started = time.perf_counter()
        territories, moved = assign_reps(scenario, inputs.reps, territories)
        stages.append(Stage("seat the reps on the centers (least total relocation distance, exact)",
                            time.perf_counter() - started, moved, moved, "optimal"))
    solution = whole_run(solution, stages, objective=solution.objective, bound=centers.bound, bound_from=bound_from,
                         seconds=time.perf_counter() - t0, mip_gap=s.mip_gap)
    return assemble_plan(scenario, inputs, problem, distance, territories, _verified(problem, solution))


def _plan_team(scenario: Scenario, inputs: Inputs, *, clock: _Clock, cost_matrix=None, progress=None,
               verbose: bool = False, start=None) -> Plan:
    """One team's alignment (the main team, or one overlay's), within the clock."""
    if scenario.territories.centers == "choose":
        if start is not None:
            raise ScenarioError("a start plan seeds territories on reps; centers: choose chooses its own",
                                file=scenario.source, column="territories.centers", fix="plan without start=")
        return _plan_centers(scenario, inputs, clock=clock, cost_matrix=cost_matrix, progress=progress, verbose=verbose)
    return _plan_reps(scenario, inputs, clock=clock, cost_matrix=cost_matrix, progress=progress, verbose=verbose,
                      start=start)


def _with_overlays(scenario: Scenario, main: Plan, overlays: dict[str, Plan]) -> Plan:
    """The main plan with its overlay teams attached. The whole problem is the sum of the
    teams' separate problems, so its objective and bound are the sums of theirs."""
    assignments = main.assignments
    for role, overlay in overlays.items():
        assignments = attach(assignments, role, overlay.assignments)
    teams = {"main alignment": main, **{f"overlay {role}": o for role, o in overlays.items()}}
    stages = [replace(st, name=f"{team}: {st.name}") for team, p in teams.items() for st in p.solution.stages]
    unbounded = [team for team, p in teams.items() if not math.isfinite(p.bound)]
    bound = sum(p.bound for p in teams.values()) if not unbounded else -math.inf
    bound_from = (" + ".join(f"{team} ({p.solution.bound_from})" for team, p in teams.items()) if not unbounded
                  else f"{unbounded[0]} ({teams[unbounded[0]].solution.bound_from})")
    solution = whole_run(main.solution, stages, objective=sum(p.objective for p in teams.values()), bound=bound,
                         bound_from=bound_from, seconds=main.seconds, mip_gap=scenario.solver.mip_gap)
    label = (main.problem.cost_label if main.problem is not None else "cost") + ", summed over the main team and the overlays"
    problem = replace(main.problem, cost_label=label) if isinstance(main.problem, AssignmentProblem) else main.problem
    return replace(main, assignments=assignments, overlays=overlays, solution=solution, problem=problem)


def plan(
    scenario: Scenario | str | Path,
    *,
    inputs: Inputs | None = None,
    progress: Progress | None = None,
    verbose: bool = False,
    cost_matrix=None,
    start=None,
    **overrides,
) -> Plan:
    """Run a scenario end to end and return its :class:`Plan`.

    ``overrides`` replace scenario keys for this run, e.g.
    ``plan("scenarios/demo.yaml", balance={"potential": 0.03}, solver={"time_limit": 30})``.
    ``cost_matrix``: an (n_accounts, n_reps) array, or a DataFrame indexed by account_id
    with rep_id columns (e.g. travel times from a routing engine), that replaces
    distance × weight in the objective; distance_km is still reported from coordinates.
    ``start``: a plan to start the search from, account_id → rep_id (a dict or Series, e.g.
    ``dict(zip(p.assignments.account_id, p.assignments.rep_id))``): the exact and unit
    paths keep it as their first plan when it places every account and
    keeps every constraint, so the result is never worse than it (re-plans and edits start
    from the plan in hand); one that breaks a band is repaired first, and kept if the repair
    keeps every constraint.
    With ``territories: {count: auto}`` the fewest reps that carry the workload are
    tried first, then one more at a time until a plan is feasible.

    What the Plan states holds for the whole run: ``seconds`` is its wall time from
    loading the inputs to the plan, ``solver.time_limit`` bounds it (the stages share
    it), ``bound`` is a lower bound of the whole problem posed (−inf, null in
    summary.json, when a stage can give none: ``solution.bound_from`` names it) and the
    status follows from it; ``solution.stages`` lists each stage with its own figures.
    """
    t0 = time.perf_counter()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if overrides:
        scenario = scenario.with_overrides(**overrides)
    deadline = t0 + scenario.solver.time_limit
    inputs = inputs or load_inputs(scenario)
    notes = inputs.notes  # what the scenario's changes did, for the Plan and its summary
    inputs, overlay_parts = split_inputs(scenario, inputs)
    teams = [(None, scenario, inputs)] + [(spec.role, overlay_scenario(scenario, spec), part) for spec, part in overlay_parts]
    # Each team gets a share of the time left in proportion to its account × rep pairs.
    sizes = [max(1, len(part.accounts)) * max(1, len(part.reps)) for _, _, part in teams]
    plans: dict[str | None, Plan] = {}
    for index, (role, team_scenario, part) in enumerate(teams):
        share = sizes[index] / sum(sizes[index:])
        now = time.perf_counter()
        clock = _Clock(now + share * max(0.0, deadline - now))
        plans[role] = _plan_team(team_scenario, part, clock=clock, cost_matrix=cost_matrix if role is None else None,
                                 progress=progress, verbose=verbose, start=start if role is None else None)
    result = plans.pop(None)
    if plans:
        result = _with_overlays(scenario, result, plans)
    return replace(result, solution=replace(result.solution, seconds=time.perf_counter() - t0), notes=notes)
