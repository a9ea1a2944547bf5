"""The KPIs only a comparison of plans shows: the team's cost and the quota attainment spread.

``territory_planner.kpis`` holds every KPI (STYLE.md habit 3); these two take plain values,
so the comparison (outputs/compare.py) and anyone else get the same number.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from territory_planner.kpis import attainment_spread, team_cost


def test_team_cost_counts_every_seat_at_the_cost_per_rep():
    assert team_cost(3, 0, cost_per_rep=180_000.0) == 540_000.0
    assert team_cost(3, 2, cost_per_rep=100.0) == 500.0  # an open seat costs the hire that fills it
    # The capacity section's cost per rep wins over the reps file's costs.
    assert team_cost(2, 0, cost_per_rep=10.0, seated_rep_costs=[1.0, 2.0]) == 20.0


def test_team_cost_without_a_cost_per_rep_sums_the_seated_reps_costs():
    assert team_cost(3, 0, seated_rep_costs=[100.0, 200.0, 300.0]) == 600.0
    assert team_cost(3, 0, seated_rep_costs=np.array([100.0, np.nan, 300.0])) == 400.0  # a blank cell skipped


@pytest.mark.parametrize(("headcount", "kwargs"), [
    (3, {}),                                          # nothing to cost the team with
    (3, {"seated_rep_costs": []}),                    # no rep seated has a cost
    (3, {"seated_rep_costs": [math.nan]}),
    (math.nan, {"cost_per_rep": 1000.0}),             # a plan without a head count
])
def test_team_cost_is_missing_when_it_cannot_be_known(headcount, kwargs):
    assert math.isnan(team_cost(headcount, 0, **kwargs))


def test_attainment_spread_is_p90_minus_p10():
    assert attainment_spread(0.8, 1.05) == pytest.approx(0.25)
    assert attainment_spread(1.0, 1.0) == 0.0


@pytest.mark.parametrize(("p10", "p90"), [(None, 1.05), (0.8, None), (math.nan, 1.0), ("n/a", 1.0), (0.8, math.inf)])
def test_attainment_spread_is_missing_without_both_percentiles(p10, p90):
    assert math.isnan(attainment_spread(p10, p90))
