"""Contiguity by separator cuts: every territory connected, optimal, bound valid; barriers."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
import shapely

from territory_planner.data.geo import connect_components, drop_barrier_edges, unit_adjacency
from territory_planner.errors import InfeasibleError
from territory_planner.optimize.contiguity import (
    cut_rows,
    is_contiguous,
    minimal_separator,
    repair_contiguity,
    separator_cuts,
    solve_contiguous,
    with_roots,
)
from territory_planner.optimize.problem import AssignmentProblem, balance_band
from territory_planner.optimize.solve import solve_problem


def grid(nx_: int, ny: int):
    cells = [shapely.box(x, y, x + 1, y + 1) for y in range(ny) for x in range(nx_)]
    points = np.array([[x + 0.5, y + 0.5] for y in range(ny) for x in range(nx_)])
    return cells, points


def grid_problem(nx_=6, ny=6, k=3, seed=0, tolerance=0.1):
    rng = np.random.default_rng(seed)
    cells, points = grid(nx_, ny)
    roots = rng.choice(len(cells), size=k, replace=False)
    homes = points[roots] + rng.uniform(-0.4, 0.4, size=(k, 2))
    weight = rng.uniform(1, 10, len(cells))
    potential = rng.uniform(1, 10, len(cells))
    distance = np.hypot(*(points[:, None, :] - homes[None]).transpose(2, 0, 1))
    bands = (balance_band("potential", potential, k, tolerance),) if tolerance is not None else ()
    problem = AssignmentProblem.from_cost_matrix(distance * weight[:, None], bands=bands)
    return problem, unit_adjacency(cells), roots


def components_per_territory(graph, assignment, k):
    return [nx.number_connected_components(graph.subgraph(np.flatnonzero(assignment == j).tolist())) for j in range(k)]


def test_grid_adjacency_rook_and_queen():
    cells, _ = grid(6, 6)
    assert unit_adjacency(cells).number_of_edges() == 2 * 6 * 5
    assert unit_adjacency(cells, rule="queen").number_of_edges() == 2 * 6 * 5 + 2 * 5 * 5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_territory_is_one_connected_component(seed):
    problem, graph, roots = grid_problem(seed=seed)
    solution = solve_contiguous(problem, graph, roots, time_limit=60)
    assert components_per_territory(graph, solution.assignment, problem.k) == [1] * problem.k
    assert not with_roots(problem, roots).violations(solution.assignment)
    assert (solution.assignment[roots] == np.arange(problem.k)).all()
    assert solution.bound <= solution.objective + 1e-6
    assert solution.status == "optimal"
    # contiguity can only cost: never below the plain optimum (with the same roots)
    free = solve_problem(with_roots(problem, roots), time_limit=30)
    assert solution.objective >= free.bound - 1e-6


def test_equals_plain_optimum_when_that_is_contiguous():
    # No bands: each cell to its nearest home — convex Voronoi cells, so contiguous.
    problem, graph, roots = grid_problem(seed=3, tolerance=None)
    free = solve_problem(with_roots(problem, roots), time_limit=30)
    assert is_contiguous(graph, free.assignment, problem.k)
    solution = solve_contiguous(problem, graph, roots, time_limit=30)
    assert solution.objective == pytest.approx(free.objective, rel=1e-9)


def brute_force(problem, graph, roots):
    best = np.inf
    n, k = problem.n, problem.k
    for combo in itertools.product(range(k), repeat=n):
        a = np.array(combo)
        if (a[roots] != np.arange(k)).any() or problem.violations(a) or not is_contiguous(graph, a, k):
            continue
        best = min(best, problem.objective(a))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_equals_brute_force_on_a_small_grid(seed):
    problem, graph, roots = grid_problem(3, 3, k=2, seed=seed + 10, tolerance=0.3)
    solution = solve_contiguous(problem, graph, roots, time_limit=30, mip_gap=0)
    assert solution.objective == pytest.approx(brute_force(problem, graph, roots), rel=1e-7)


def test_voronoi_units_in_the_plane():
    rng = np.random.default_rng(5)
    points = rng.uniform(0, 10, size=(60, 2))
    box = shapely.box(0, 0, 10, 10)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=box))
    cells = [shapely.intersection(next(c for c in cells if c.contains(shapely.Point(p))), box) for p in points]
    graph = unit_adjacency(cells)
    assert nx.is_connected(graph)
    k = 4
    homes = points[[0, 1, 2, 3]]
    potential = rng.uniform(1, 5, len(points))
    cost = np.hypot(*(points[:, None, :] - homes[None]).transpose(2, 0, 1)) * rng.uniform(1, 3, len(points))[:, None]
    problem = AssignmentProblem.from_cost_matrix(cost, bands=(balance_band("potential", potential, k, 0.1),))
    solution = solve_contiguous(problem, graph, np.arange(k), time_limit=60)
    assert components_per_territory(graph, solution.assignment, k) == [1] * k
    assert solution.bound <= solution.objective + 1e-6


def test_separator_cut_is_valid_and_cuts_off_the_plan():
    problem, graph, roots = grid_problem(seed=1)
    plan = solve_problem(with_roots(problem, roots), time_limit=30).assignment
    cuts = separator_cuts(graph, plan, roots, problem.k)
    if not cuts:
        pytest.skip("the plain optimum happens to be contiguous")
    row = cut_rows(cuts, problem.n, problem.k)
    assert (row.activity(plan, problem.k) > row.upper).any()  # the plan is cut off
    for a, j, sep in cuts[:20]:
        # removing the separator disconnects a from the root of j
        rest = graph.subgraph(set(graph.nodes) - set(sep))
        assert not nx.has_path(rest, a, int(roots[j]))
        # and it is minimal: putting back any one unit reconnects them
        for v in sep:
            assert nx.has_path(graph.subgraph(set(graph.nodes) - set(sep) | {v}), a, int(roots[j]))


def test_minimal_separator_of_a_corner():
    cells, _ = grid(3, 3)
    graph = unit_adjacency(cells)
    assert minimal_separator(graph, {0}, 8) == {1, 3}


def test_repair_makes_a_plan_contiguous_and_keeps_the_bands():
    problem, graph, roots = grid_problem(seed=2, tolerance=0.2)
    rooted = with_roots(problem, roots)
    start = solve_problem(rooted, time_limit=30).assignment
    fixed = repair_contiguity(rooted, graph, roots, start)
    assert is_contiguous(graph, fixed, problem.k)
    assert (fixed[roots] == np.arange(problem.k)).all()


def test_barrier_splits_the_grid():
    cells, points = grid(6, 6)
    graph = unit_adjacency(cells)
    barrier = shapely.LineString([(3, -1), (3, 7)])
    cut = drop_barrier_edges(graph, points, [barrier])
    assert len(cut) == 6 and nx.number_connected_components(graph) == 2
    # Costs pull the right half towards territory 0 (homed on the left), so only the
    # barrier keeps it out.
    k = 3
    homes = np.array([[2.5, 2.5], [0.5, 5.5], [5.5, 0.5]])
    cost = np.hypot(*(points[:, None, :] - homes[None]).transpose(2, 0, 1))
    cost[points[:, 0] > 3, 0] *= 0.1
    potential = np.ones(len(cells))
    problem = AssignmentProblem.from_cost_matrix(cost, bands=(balance_band("potential", potential, k, 0.9),))
    roots = np.array([int(np.argmin(np.hypot(*(points - h).T))) for h in homes])
    solution = solve_contiguous(problem, graph, roots, time_limit=30)
    left = points[:, 0] < 3
    for j in range(k):
        sides = set(left[solution.assignment == j].tolist())
        assert len(sides) == 1, f"territory {j} straddles the barrier"


def test_a_side_without_a_rep_home_is_reported():
    cells, points = grid(4, 2)
    graph = unit_adjacency(cells)
    drop_barrier_edges(graph, points, [shapely.LineString([(2, -1), (2, 3)])])
    problem = AssignmentProblem.from_cost_matrix(np.ones((8, 2)))
    with pytest.raises(InfeasibleError, match="cut off"):
        solve_contiguous(problem, graph, np.array([0, 1]), time_limit=10)


def test_islands_are_joined_by_virtual_edges():
    cells = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(5, 0, 6, 1), shapely.box(9, 9, 10, 10)]
    graph = unit_adjacency(cells)
    assert nx.number_connected_components(graph) == 3
    points = np.array([[c.centroid.x, c.centroid.y] for c in cells])
    added = connect_components(graph.copy(), points, "planar", mode="tree")
    assert len(added) == 2
    connect_components(graph, points, "planar")
    assert nx.is_connected(graph)
    assert all(graph.edges[e]["virtual"] for e in added if graph.has_edge(*e))
    assert not graph.edges[0, 1]["virtual"]
