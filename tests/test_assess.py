"""assess(): the Plan of a hand-made alignment, measured on the problem plan() poses."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_cli import make_scenario

from territory_planner import load_scenario, plan
from territory_planner.assess import EDITED, assess
from territory_planner.errors import ScenarioError


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    path = make_scenario(tmp_path_factory.mktemp("assess"), balance={"potential": 0.10})
    return plan(load_scenario(path))


def _assignment(result) -> dict[str, str]:
    a = result.assignments
    return dict(zip(a["account_id"].astype(str), a["rep_id"].astype(str), strict=True))


def test_the_optimizer_s_own_plan_assessed_states_its_figures(planned):
    again = assess(planned.scenario, _assignment(planned), team=list(planned.territories["rep_id"]),
                   bound=planned.bound, bound_from="the run")
    assert math.isclose(again.objective, planned.objective, rel_tol=1e-9)
    for column in ("n_accounts", "potential", "workload", "potential_dev_pct", "utilisation"):
        np.testing.assert_allclose(again.territories[column].to_numpy(float),
                                   planned.territories[column].to_numpy(float))
    assert again.status in ("feasible", "optimal")
    assert again.bound == pytest.approx(min(planned.bound, again.objective))
    assert (again.kpis["potential_max_dev_pct"] == pytest.approx(planned.kpis["potential_max_dev_pct"]))


def test_a_plan_that_breaks_a_band_is_edited_with_no_bound_and_says_why(planned):
    assignment = _assignment(planned)
    first = planned.territories["rep_id"].iloc[0]
    broken = {a: first for a in assignment}  # every account on one rep
    result = assess(planned.scenario, broken, team=list(planned.territories["rep_id"]), bound=planned.bound)
    assert result.status == EDITED
    assert not math.isfinite(result.bound)
    assert any(note.startswith("breaks: ") and "potential" in note for note in result.notes)
    assert result.territories.loc[0, "n_accounts"] == len(assignment)


def test_an_account_without_a_rep_or_on_an_unknown_rep_is_a_clear_error(planned):
    assignment = _assignment(planned)
    missing = dict(list(assignment.items())[1:])
    with pytest.raises(ScenarioError, match="have no rep"):
        assess(planned.scenario, missing)
    stray = {**assignment, next(iter(assignment)): "NOBODY"}
    with pytest.raises(ScenarioError, match="without a territory"):
        assess(planned.scenario, stray)
