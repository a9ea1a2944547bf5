"""Grouping of units for the largest alignments (step 6 of :mod:`territory_planner.optimize.large`).

:func:`unit_groups` groups the units that share their two cheapest territories, in order
of preference; :func:`aggregate` is the
:class:`~territory_planner.optimize.large_problem.LargeProblem` over the groups. The
driver's :func:`~territory_planner.optimize.large.solve_aggregated` and
:func:`~territory_planner.optimize.large.coarse_multipliers` solve the grouped problem
and carry its plan and multipliers back to the units.
"""

from __future__ import annotations

import numpy as np

from territory_planner.optimize.large_problem import LargeProblem, _regular, candidate_pairs
from territory_planner.optimize.problem import Band

#: The most units in one group.
AGGREGATE_GROUP = 10


def unit_groups(problem: LargeProblem, size: int = AGGREGATE_GROUP) -> np.ndarray:
    """Group id per unit: units with the same cheapest and second-cheapest territory,
    in order of how strongly they prefer the first, in runs of at most ``size``.

    Units in a group are near each other in cost (they sit on the same side of the same
    boundary, at a similar depth), so moving them together costs little. Locked units
    stay alone.
    """
    n = problem.n
    reg = _regular(candidate_pairs(problem, 2, per_territory=0), n)
    K = len(reg.unit) // n
    cost = reg.cost.reshape(n, K)
    terr = reg.terr.reshape(n, K)
    o = np.argsort(cost, axis=1, kind="stable")
    rows = np.arange(n)
    j1 = terr[rows, o[:, 0]]
    j2 = terr[rows, o[:, 1]] if K > 1 else j1
    margin = cost[rows, o[:, 1]] - cost[rows, o[:, 0]] if K > 1 else np.zeros(n)
    margin = np.where(np.isfinite(margin), margin, np.finfo(float).max)
    key = j1.astype(np.int64) * problem.k + j2
    if problem.fixed is not None:
        locked = problem.fixed >= 0
        key = np.where(locked, -1 - np.arange(n), key)  # a key of its own
    order = np.lexsort((margin, key))
    k_sorted = key[order]
    run_start = np.r_[True, k_sorted[1:] != k_sorted[:-1]]
    start_pos = np.maximum.accumulate(np.where(run_start, np.arange(n), 0))
    new_group = run_start | ((np.arange(n) - start_pos) % size == 0)
    group = np.empty(n, dtype=np.int64)
    group[order] = np.cumsum(new_group) - 1
    return group


def aggregate(problem: LargeProblem, group: np.ndarray) -> LargeProblem:
    """The problem over groups: each group's cost to a territory is the sum of its units'
    (+inf if any unit may not go there), its band values the sums."""
    m = int(group.max()) + 1
    order = np.argsort(group, kind="stable")
    cost = np.zeros((m, problem.k))
    for rows, block in problem.blocks(order=order):
        g = group[rows]
        starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
        cost[g[starts]] += np.add.reduceat(block, starts, axis=0)
    bands = tuple(Band(b.label, b.kind, b.column, np.bincount(group, weights=b.values, minlength=m), b.lower, b.upper,
                       b.tolerance) for b in problem.bands)
    fixed = None
    if problem.fixed is not None:
        fixed = np.full(m, -1, dtype=np.int64)
        locked = problem.fixed >= 0
        fixed[group[locked]] = problem.fixed[locked]
    return LargeProblem(unit_ids=np.array([f"group {g}" for g in range(m)]), territory_ids=problem.territory_ids,
                        pair_cost=lambda r, c: cost[r, c], bands=bands, fixed=fixed,
                        pair_allowed=lambda r, c: np.isfinite(cost[r, c]), cost_label=problem.cost_label)
