"""The workbench's working copy of a run: what it states after edits is true, edits are
undoable and durable, saved plans keep every edit, and the input files' locks hold.

Every figure is recomputed from the CSV files by conftest's Oracle (pandas groupby,
haversine km), never read back from the planner's own tables; and compared with
assess()'s Plan of the same assignment.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import BALANCE, account_rows, csv_text, make_scenario

from territory_planner.errors import ScenarioError
from territory_planner.runs.drafts import Drafts, StaleDraftError
from territory_planner.runs.store import RunStore
from territory_planner.workbench.session import NotFoundError, Workbench

MIP_GAP = 0.001  # the scenario's solver.mip_gap (the default)


def snapshot(bench: Workbench) -> dict:
    """What the page shows of the plan (everything but the draft's version counters)."""
    s = bench.state()
    return {"territory": s["items"]["territory"], "locked": s["items"]["locked"], "kpis": s["kpis"],
            "figures": s["figures"]}


def first_breaking_move(bench, oracle, helpers):
    state = bench.state()
    team, before = helpers.team_of(state), helpers.assignment_of(state)
    account, rep, after = next(oracle.single_moves(before, team, keeps=False))
    return account, rep, after


# --- 1. KPIs -----------------------------------------------------------------------------


def check_kpis_against_oracle(bench, oracle, helpers, expected: dict[str, str]) -> None:
    state = bench.state()
    team = helpers.team_of(state)
    assert helpers.assignment_of(state) == expected
    kpis = state["kpis"]
    loads = oracle.loads(expected, team)
    k = len(team)
    broken = oracle.broken(expected, team)
    assert kpis["columns"] == list(BALANCE)
    for t, rep in enumerate(team):
        row = kpis["territories"][t]
        assert row["n_accounts"] == row["n_items"] == loads.loc[rep, "n_accounts"]
        for column, tol in BALANCE.items():
            target = oracle.accounts[column].sum() / k  # (lower + upper) / 2 of a ±tol band
            assert row["values"][column] == pytest.approx(loads.loc[rep, column], abs=1e-9)
            assert row["dev_pct"][column] == pytest.approx(100 * (loads.loc[rep, column] / target - 1), abs=1e-9)
            assert row["band_pct"][column] == pytest.approx([-100 * tol, 100 * tol], abs=1e-9)
        assert row["capacity_hours"] == helpers.capacity_hours
        assert row["utilisation"] == pytest.approx(loads.loc[rep, "workload"] / helpers.capacity_hours)
        assert sorted(row["out_of_band"]) == sorted(broken[rep]), rep
    assert kpis["objective"] == pytest.approx(oracle.objective(expected), rel=1e-9)
    assert kpis["mean_distance_km"] == pytest.approx(oracle.mean_km(expected), rel=1e-9)
    assert bool(kpis["violations"]) == any(broken.values())
    for t, rep in enumerate(team):  # every territory outside a band is named, with the band
        tid = state["territories"][t]["territory_id"]
        for column in broken[rep]:
            assert any(tid in v and column in v for v in kpis["violations"]), (tid, column, kpis["violations"])

    # assess()'s Plan of the same assignment says the same
    result = bench.current_plan()
    terr = result.territories.set_index("rep_id").loc[team]
    assert terr["n_accounts"].tolist() == [r["n_accounts"] for r in kpis["territories"]]
    for column in BALANCE:
        assert terr[column].tolist() == pytest.approx([r["values"][column] for r in kpis["territories"]])
        assert terr[f"{column}_dev_pct"].tolist() == pytest.approx([r["dev_pct"][column] for r in kpis["territories"]])
    assert terr["utilisation"].tolist() == pytest.approx([r["utilisation"] for r in kpis["territories"]])
    assert result.objective == pytest.approx(kpis["objective"], rel=1e-12)
    assert result.status == ("edited" if kpis["violations"] else "feasible")
    plan_rep = dict(zip(result.assignments["account_id"], result.assignments["rep_id"], strict=True))
    assert plan_rep == expected


def test_kpis_after_a_move_that_breaks_bands_equal_an_independent_recomputation(bench, tiny_oracle, helpers):
    account, rep, after = first_breaking_move(bench, tiny_oracle, helpers)
    result = bench.move([account], rep, bench.draft.version)
    assert [c["index"] for c in result["changed"]] == [tiny_oracle.ids.index(account)]
    check_kpis_against_oracle(bench, tiny_oracle, helpers, after)
    assert bench.state()["kpis"]["violations"] and bench.state()["kpis"]["moved_from_base"] == 1


def test_kpis_after_moves_that_keep_every_band_equal_an_independent_recomputation(bench, tiny_oracle, helpers):
    state = bench.state()
    before = helpers.assignment_of(state)
    a, b, after = tiny_oracle.swaps(before, helpers.team_of(state))[0]
    bench.move([a], before[b], bench.draft.version)
    bench.move([b], before[a], bench.draft.version)
    check_kpis_against_oracle(bench, tiny_oracle, helpers, after)
    kpis = bench.state()["kpis"]
    assert kpis["violations"] == [] and kpis["moved_from_base"] == 2


# --- 2. undo / redo ------------------------------------------------------------------------


def test_undo_restores_the_exact_previous_state_and_redo_reapplies_it(bench, tiny_oracle, helpers):
    s0 = snapshot(bench)
    account, rep, _ = first_breaking_move(bench, tiny_oracle, helpers)
    bench.move([account], rep, bench.draft.version)
    s1 = snapshot(bench)
    other = next(a for a in tiny_oracle.ids if a != account)
    bench.set_locked([other], True, bench.draft.version)
    s2 = snapshot(bench)
    assert s2["locked"] != s1["locked"] and s1["territory"] != s0["territory"]

    out = bench.undo(bench.draft.version)
    assert snapshot(bench) == s1 and out["can_redo"] and out["can_undo"]
    assert [c["index"] for c in out["changed"]] == [tiny_oracle.ids.index(other)]
    bench.undo(bench.draft.version)
    assert snapshot(bench) == s0 and not bench.draft.can_undo
    bench.redo(bench.draft.version)
    assert snapshot(bench) == s1
    bench.redo(bench.draft.version)
    assert snapshot(bench) == s2 and not bench.draft.can_redo
    assert bench.draft.version == 6  # 2 edits + 2 undos + 2 redos: versions only grow


def test_a_new_edit_after_undo_drops_the_redo_tail(bench, tiny_oracle, helpers):
    account, rep, _ = first_breaking_move(bench, tiny_oracle, helpers)
    bench.move([account], rep, bench.draft.version)
    bench.undo(bench.draft.version)
    assert bench.draft.can_redo
    bench.set_locked([tiny_oracle.ids[-1]], True, bench.draft.version)
    assert not bench.draft.can_redo and len(bench.draft.edits) == 1
    with pytest.raises(ScenarioError, match="nothing to redo"):
        bench.redo(bench.draft.version)
    assert bench.state()["items"]["territory"] == Workbench.for_run(bench.store, bench.run.id) \
        .state()["items"]["territory"]


def test_undo_with_nothing_to_undo_is_a_clear_error_that_changes_nothing(bench):
    before = snapshot(bench), bench.draft.version
    with pytest.raises(ScenarioError, match="nothing to undo") as info:
        bench.undo(bench.draft.version)
    assert info.value.fix
    assert (snapshot(bench), bench.draft.version) == before
    assert Drafts(bench.store).get(bench.draft.id).version == before[1]


# --- 3. stale versions -----------------------------------------------------------------------


def test_a_stale_version_raises_and_changes_nothing(bench, tiny_oracle, helpers):
    account, rep, _ = first_breaking_move(bench, tiny_oracle, helpers)
    bench.move([account], rep, bench.draft.version)
    stored = Drafts(bench.store).get(bench.draft.id)
    before = snapshot(bench)
    stale = stored.version - 1
    other = tiny_oracle.ids[-1]
    for call in (lambda: bench.move([other], rep, stale), lambda: bench.set_locked([other], True, stale),
                 lambda: bench.undo(stale), lambda: bench.redo(stale), lambda: bench.save(stale),
                 lambda: bench.move([other], rep, stored.version + 5)):
        with pytest.raises(StaleDraftError, match="version"):
            call()
    after = Drafts(bench.store).get(bench.draft.id)
    assert (after.version, after.position, after.edits) == (stored.version, stored.position, stored.edits)
    assert snapshot(bench) == before
    assert len(bench.store.runs()) == 1  # the stale save kept nothing


# --- 4. restart ----------------------------------------------------------------------------


def test_a_restart_shows_the_same_state(bench, tiny_oracle, helpers, tiny):
    account, rep, _ = first_breaking_move(bench, tiny_oracle, helpers)
    bench.move([account], rep, bench.draft.version)
    bench.set_locked(tiny_oracle.ids[5:8], True, bench.draft.version)
    bench.set_locked(tiny_oracle.ids[6:7], False, bench.draft.version)
    bench.set_locked(tiny_oracle.ids[10:12], True, bench.draft.version)
    bench.undo(bench.draft.version)  # the redo tail survives a restart too
    expected = bench.state()
    assert expected["draft"]["can_redo"]
    reopened = [Workbench.open(RunStore(bench.store.root)), Workbench.for_run(RunStore(bench.store.root), tiny.run_id)]
    for again in reopened:
        state = again.state()
        assert state["draft"] == expected["draft"]
        assert state["items"] == expected["items"]
        assert state["kpis"] == expected["kpis"] and state["figures"] == expected["figures"]
    again.redo(expected["draft"]["version"])  # and it goes on where it was
    assert again.state()["items"]["locked"][10:12] == [True, True]


# --- 5. honest figures ------------------------------------------------------------------------


def test_a_move_that_breaks_a_band_is_edited_with_no_bound_and_no_gap(bench, tiny_oracle, helpers):
    account, rep, _ = first_breaking_move(bench, tiny_oracle, helpers)
    figures = bench.move([account], rep, bench.draft.version)["figures"]
    assert figures["status"] == "edited" and figures["bound"] is None and figures["gap"] is None
    assert figures["bound_from"] is None
    assert figures["objective"] == pytest.approx(bench.kpis()["objective"])


def test_moves_that_keep_every_constraint_are_feasible_with_the_run_s_bound(bench, tiny_oracle, helpers):
    state = bench.state()
    before = helpers.assignment_of(state)
    a, b, after = tiny_oracle.swaps(before, helpers.team_of(state))[0]
    bench.move([a], before[b], bench.draft.version)
    figures = bench.move([b], before[a], bench.draft.version)["figures"]
    objective = tiny_oracle.objective(after)
    bound = bench.run.bound
    assert bound is not None and bench.run.status == "optimal"
    assert figures["objective"] == pytest.approx(objective, rel=1e-9)
    assert figures["bound"] == pytest.approx(bound)
    assert figures["gap"] == pytest.approx((objective - bound) / objective, rel=1e-9)
    assert figures["gap"] > MIP_GAP
    assert figures["status"] == "feasible" and bench.run.id in figures["bound_from"]


def planned_copy(tmp_path, helpers, accounts=None):
    """The tiny scenario in a folder of its own (its files may be changed), planned."""
    path = make_scenario(tmp_path / "own", accounts=accounts)
    return helpers.plan_into_store(path, tmp_path / "own-runs")


def test_a_changed_accounts_file_with_the_same_ids_does_not_reuse_the_run_s_bound(tmp_path, helpers):
    planned = planned_copy(tmp_path, helpers)
    rows = account_rows()
    rows[3]["potential"] = str(int(rows[3]["potential"]) + 1)  # one value changes, no id does
    (planned.scenario.parent / "accounts.csv").write_text(csv_text(rows), encoding="utf-8")
    oracle = helpers.Oracle(planned.scenario.parent, BALANCE)
    bench = Workbench.for_run(RunStore(planned.store_root), planned.run_id)
    state = bench.state()
    before = helpers.assignment_of(state)
    a, b, after = oracle.swaps(before, helpers.team_of(state))[0]
    bench.move([a], before[b], bench.draft.version)
    figures = bench.move([b], before[a], bench.draft.version)["figures"]
    assert figures["status"] == "feasible" and figures["bound"] is None and figures["gap"] is None
    assert figures["objective"] == pytest.approx(oracle.objective(after), rel=1e-9)
    assert bench.current_plan().bound == -math.inf


def test_a_changed_accounts_file_is_not_called_optimal_before_any_edit(tmp_path, helpers):
    planned = planned_copy(tmp_path, helpers)
    rows = account_rows()
    rows[3]["workload"] = str(int(rows[3]["workload"]) + 3)
    (planned.scenario.parent / "accounts.csv").write_text(csv_text(rows), encoding="utf-8")
    oracle = helpers.Oracle(planned.scenario.parent, BALANCE)
    bench = Workbench.for_run(RunStore(planned.store_root), planned.run_id)
    state = bench.state()
    assert state["kpis"]["objective"] == pytest.approx(oracle.objective(helpers.assignment_of(state)), rel=1e-9)
    assert state["figures"]["objective"] == pytest.approx(state["kpis"]["objective"], rel=1e-9)
    assert state["figures"]["bound"] is None and state["figures"]["gap"] is None


def test_a_changed_set_of_account_ids_fails_to_open_naming_replan(tmp_path, helpers):
    planned = planned_copy(tmp_path, helpers)
    rows = account_rows()
    rows[0]["account_id"] = "NEW1"
    (planned.scenario.parent / "accounts.csv").write_text(csv_text(rows), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        Workbench.for_run(RunStore(planned.store_root), planned.run_id)
    text = str(info.value) + " " + (info.value.fix or "")
    assert "changed" in text and "replan" in text and "1 account(s) new, 1 gone" in text


# --- 6. save -------------------------------------------------------------------------------------


def test_save_keeps_a_child_run_with_every_edit_and_continues_on_it(bench, tiny_oracle, helpers, tiny):
    state = bench.state()
    before = helpers.assignment_of(state)
    a, b, after = tiny_oracle.swaps(before, helpers.team_of(state))[0]
    bench.move([a], before[b], bench.draft.version)
    bench.set_locked(tiny_oracle.ids[20:22], True, bench.draft.version)
    bench.move([b], before[a], bench.draft.version)
    bench.set_locked(tiny_oracle.ids[21:22], False, bench.draft.version)
    edits = list(bench.draft.applied)
    locked = bench.state()["items"]["locked"]
    runs_before = len(bench.store.runs())

    run = bench.save(bench.draft.version, label="board pick")
    assert len(bench.store.runs()) == runs_before + 1
    run = bench.store.get(run.id)
    assert run.kind == "edit" and run.parent == tiny.run_id and run.label == "board pick"
    assert run.status == "feasible"
    assert run.objective == pytest.approx(tiny_oracle.objective(after), rel=1e-9)
    journal = json.loads((run.folder / "edits.json").read_text(encoding="utf-8"))
    assert journal["base_run"] == tiny.run_id and journal["edits"] == edits
    assert [e["kind"] for e in journal["edits"]] == ["move", "lock", "move", "lock"]
    assert set(journal["locked"]) == {a, b, *tiny_oracle.ids[20:22]} - {tiny_oracle.ids[21]}
    back = run.plan().assignments
    assert dict(zip(back["account_id"].astype(str), back["rep_id"].astype(str), strict=True)) == after

    # the workbench goes on in a new draft of the saved run, the locks kept
    state = bench.state()
    assert state["draft"]["base_run"] == run.id and bench.draft.base_run == run.id
    assert state["items"]["locked"] == locked
    assert helpers.assignment_of(state) == after
    assert state["kpis"]["moved_from_base"] == 0
    assert Drafts(bench.store).get(journal["draft"]).saved_run == run.id


def test_a_saved_plan_that_breaks_a_band_says_edited(bench, tiny_oracle, helpers):
    account, rep, after = first_breaking_move(bench, tiny_oracle, helpers)
    bench.move([account], rep, bench.draft.version)
    run = bench.save(bench.draft.version)
    assert run.status == "edited" and run.kind == "edit" and run.bound is None
    back = run.plan()
    assert dict(zip(back.assignments["account_id"].astype(str), back.assignments["rep_id"].astype(str),
                    strict=True)) == after
    assert back.status == "edited"


# --- 7. what the input files forbid ------------------------------------------------------------


@pytest.fixture
def constrained(tmp_path, helpers):
    """The tiny scenario with A005 locked to its rep by the accounts file and a 150 km limit."""
    rows = account_rows()
    free = helpers.plan_into_store(make_scenario(tmp_path / "free"), tmp_path / "free-runs")
    owner = dict(zip(*(RunStore(free.store_root).get(free.run_id).plan().assignments[c] for c in
                       ("account_id", "rep_id")), strict=True))
    for row in rows:
        row["locked_rep_id"] = owner["A005"] if row["account_id"] == "A005" else ""
    path = make_scenario(tmp_path / "s", accounts=rows)
    path.write_text(path.read_text() + "max_distance_km: 150\n", encoding="utf-8")
    planned = helpers.plan_into_store(path, tmp_path / "runs")
    return Workbench.for_run(RunStore(planned.store_root), planned.run_id), owner["A005"]


def test_an_item_locked_by_the_input_file_cannot_be_moved_or_unlocked(constrained):
    bench, rep = constrained
    state = bench.state()
    i = state["items"]["ids"].index("A005")
    assert state["items"]["fixed"] == [k == i for k in range(len(state["items"]["ids"]))]
    before = snapshot(bench), bench.draft.version
    other = next(t["rep_id"] for t in state["territories"] if t["rep_id"] != rep)
    with pytest.raises(ScenarioError) as info:
        bench.move(["A005", "A006"], other, bench.draft.version)
    assert "A005" in str(info.value) and "locked" in str(info.value) and "A006" not in str(info.value)
    assert "locked_rep_id" in str(info.value) + (info.value.fix or "")
    with pytest.raises(ScenarioError, match="A005") as info:
        bench.set_locked(["A005"], False, bench.draft.version)
    assert "locked_rep_id" in str(info.value) + (info.value.fix or "")
    assert (snapshot(bench), bench.draft.version) == before


def test_a_move_beyond_the_maximum_distance_is_refused(constrained, helpers):
    bench, _ = constrained
    oracle = helpers.Oracle(bench.scenario.accounts_path.parent, BALANCE)
    km = oracle.distance()
    far = km.stack()
    far = far[far > 150]
    assert len(far)
    account, rep = far.index[0]
    assert account != "A005"
    before = snapshot(bench), bench.draft.version
    with pytest.raises(ScenarioError, match=f"may not go to {rep}") as info:
        bench.move([account], rep, bench.draft.version)
    assert account in str(info.value) and "max" in str(info.value)
    assert (snapshot(bench), bench.draft.version) == before


def test_unknown_items_and_reps_are_named(bench):
    before = snapshot(bench), bench.draft.version
    with pytest.raises(NotFoundError, match="NOPE"):
        bench.move(["A000", "NOPE"], "R1", bench.draft.version)
    with pytest.raises(NotFoundError, match="R99"):
        bench.move(["A000"], "R99", bench.draft.version)
    with pytest.raises(NotFoundError, match="NOPE"):
        bench.set_locked(["NOPE"], True, bench.draft.version)
    with pytest.raises(ScenarioError, match="no items"):
        bench.move([], "R1", bench.draft.version)
    assert (snapshot(bench), bench.draft.version) == before


# --- a property: any sequence of edits is a plain undo stack ----------------------------------


@pytest.fixture(scope="module")
def hyp_store(tiny, tmp_path_factory, helpers):
    """One copy of the tiny store for the property; each example opens a new draft of it."""
    return helpers.copy_store(tiny, tmp_path_factory.mktemp("hyp") / "runs")


ops = st.lists(
    st.one_of(
        st.tuples(st.just("move"), st.lists(st.integers(0, 39), min_size=1, max_size=3), st.integers(0, 3)),
        st.tuples(st.just("lock"), st.lists(st.integers(0, 39), min_size=1, max_size=3), st.booleans()),
        st.tuples(st.just("undo")),
        st.tuples(st.just("redo")),
    ),
    max_size=8,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=ops)
def test_any_sequence_of_edits_undos_and_redos_is_a_plain_undo_stack(steps, hyp_store, tiny, tiny_oracle, helpers):
    bench = Workbench.for_run(hyp_store, tiny.run_id, new_draft=True)
    state = bench.state()
    ids, team = state["items"]["ids"], helpers.team_of(state)
    base = helpers.assignment_of(state)
    journal: list[tuple] = []
    position = 0
    version = 0

    def model():
        rep, locked = dict(base), set()
        for op in journal[:position]:
            if op[0] == "move":
                for i in op[1]:
                    rep[ids[i]] = team[op[2]]
                    locked.add(ids[i])
            else:
                (locked.update if op[2] else locked.difference_update)(ids[i] for i in op[1])
        return rep, locked

    for step in steps:
        if step[0] in ("move", "lock"):
            call = bench.move if step[0] == "move" else bench.set_locked
            call([ids[i] for i in step[1]], team[step[2]] if step[0] == "move" else step[2], version)
            journal[position:] = [step]
            position += 1
            version += 1
        else:
            delta = -1 if step[0] == "undo" else 1
            if not 0 <= position + delta <= len(journal):
                with pytest.raises(ScenarioError, match=f"nothing to {step[0]}"):
                    getattr(bench, step[0])(version)
                continue
            getattr(bench, step[0])(version)
            position += delta
            version += 1
        rep, locked = model()
        state = bench.state()
        assert state["draft"]["version"] == version
        assert state["draft"]["can_undo"] == (position > 0) and state["draft"]["can_redo"] == (position < len(journal))
        assert helpers.assignment_of(state) == rep
        assert {i for i, flag in zip(ids, state["items"]["locked"], strict=True) if flag} == locked
        loads = tiny_oracle.loads(rep, team)
        for t, r in enumerate(team):
            row = state["kpis"]["territories"][t]
            assert row["n_accounts"] == loads.loc[r, "n_accounts"]
            assert row["values"]["potential"] == pytest.approx(loads.loc[r, "potential"])
            assert row["values"]["workload"] == pytest.approx(loads.loc[r, "workload"])
        assert state["kpis"]["objective"] == pytest.approx(tiny_oracle.objective(rep), rel=1e-9)
        assert state["kpis"]["moved_from_base"] == sum(rep[a] != base[a] for a in ids)
        assert bool(state["kpis"]["violations"]) == (not tiny_oracle.keeps_every_band(rep, team))
    # and what the store holds replays to the same state
    again = Workbench.for_run(hyp_store, tiny.run_id)
    assert again.draft.id == bench.draft.id
    assert again.state()["items"] == bench.state()["items"]


def test_the_oracle_agrees_with_the_run_it_checks(bench, tiny_oracle, helpers):
    """The independent recomputation itself: the optimal run's objective is the textbook MIP's."""
    state = bench.state()
    assignment = helpers.assignment_of(state)
    assert tiny_oracle.objective(assignment) == pytest.approx(bench.run.objective, rel=1e-9)
    assert tiny_oracle.keeps_every_band(assignment, helpers.team_of(state))
    assert tiny_oracle.textbook(helpers.team_of(state), {}) == pytest.approx(bench.run.objective, rel=MIP_GAP)
