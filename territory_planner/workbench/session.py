"""The workbench's working copy of a stored run: items, edits, KPIs, figures.

A :class:`Workbench` holds one draft (:mod:`territory_planner.runs.drafts`) of one stored
run. Its state is the run's plan with the draft's edits replayed; every edit is written
to the store before it is acknowledged, so nothing is lost on a restart. What it states
is measured on the problem ``plan()`` poses for the run's scenario
(:func:`territory_planner.model.build.build_problem`, through :mod:`territory_planner.assess`):

- **items** are what the planner selects and moves: the plan's accounts, or its units
  when the plan was built from units (every account of a unit moves with it);
- **KPIs** after each edit: each territory's balance against its band, utilisation, the
  objective, and every constraint the plan breaks;
- **figures**: the status, objective, bound and gap. The bound is the best one that
  holds for the plan in hand: the opened run's (proven for the same scenario and the
  same input files, so valid under any locks, which only shrink the set of plans), or a
  rebalance's (proven with its locks, so valid while every one of them is still held).
  A plan that breaks a constraint is ``edited`` and states no gap.

The web layer (:mod:`territory_planner.workbench.app`) turns requests into calls of this
class and its results into JSON; it holds no planning logic.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from territory_planner.assess import EDITED, ContiguityCheck, assess, team_rows
from territory_planner.data.geo import coordinate_columns
from territory_planner.data.inputs import Inputs, load_inputs
from territory_planner.errors import PlannerError, ScenarioError
from territory_planner.model.build import build_problem
from territory_planner.optimize.solution import proven_bound, proven_within
from territory_planner.outputs.compare import compare_plans
from territory_planner.outputs.report import render_plan
from territory_planner.plan import Plan
from territory_planner.runs.drafts import Draft, Drafts, stale
from territory_planner.runs.execute import looks_like_scenario, plan_stored
from territory_planner.runs.record import input_hashes
from territory_planner.runs.store import Run, RunStore
from territory_planner.scenario import load_scenario
from territory_planner.workbench.items import Figures, NotFoundError, items_of, number

#: Run kind of a plan saved from the workbench.
EDIT_KIND = "edit"


class Workbench:
    """One draft of one stored run, open for editing (see the module docstring).

    Thread-safe: the web server calls it from several threads; every method that reads
    or changes the state holds the one lock.
    """

    def __init__(self, store: RunStore, draft: Draft) -> None:
        self.store = store
        self.drafts = Drafts(store)
        self.lock = threading.RLock()
        self._load(draft)

    # --- opening ----------------------------------------------------------------------

    @classmethod
    def open(cls, store: RunStore, ref: str | None = None, *, progress=None, new_draft: bool = False) -> Workbench:
        """Open ``ref`` (a scenario file, planned through the store if need be; a run id,
        label or name) in its latest draft, or a new one; without ``ref``, the draft
        changed last (what a restart reopens)."""
        drafts = Drafts(store)
        if ref is None:
            draft = drafts.latest()
            if draft is None:
                raise ScenarioError("nothing to open: the run store has no draft of a run it still holds",
                                    file=store.root,
                                    fix="give a scenario file or a run id: territory-planner serve scenarios/demo.yaml")
            return cls(store, draft)
        if looks_like_scenario(ref):
            path = Path(ref)
            if not path.is_file():
                raise ScenarioError("scenario file not found", file=path, fix="check the path")
            run = plan_stored(load_scenario(path), store, progress=progress).run
        else:
            run = store.get(ref)
        return cls.for_run(store, run.id, new_draft=new_draft)

    @classmethod
    def for_run(cls, store: RunStore, run_id: str, *, new_draft: bool = False) -> Workbench:
        """``run_id`` in its latest draft (a new one if it has none, or ``new_draft``)."""
        drafts = Drafts(store)
        draft = None if new_draft else drafts.latest(run_id)
        created = draft is None
        if created:
            draft = drafts.create(run_id)
        try:
            bench = cls(store, draft)
        except BaseException:
            if created:  # a run that cannot be opened leaves no draft behind
                drafts.discard(draft.id)
            raise
        drafts.touch(draft.id)
        return bench

    def _load(self, draft: Draft) -> None:
        run = self.store.get(draft.base_run)
        if not run.ok:
            raise ScenarioError(f"run {run.id} holds no plan ({run.status}: {run.error})",
                                fix="open a run whose status is optimal, time_limit, feasible, interrupted or edited")
        base = run.plan()
        scenario = base.scenario
        if scenario.territories.centers != "reps":
            raise ScenarioError("the workbench edits plans whose territories are reps' (this one chose its centers)",
                                file=scenario.source, column="territories.centers",
                                fix="plan the scenario with territories: {centers: reps}")
        if scenario.overlays or base.overlays:
            roles = ", ".join(base.overlays) or ", ".join(str(o.role) for o in scenario.overlays)
            raise ScenarioError(f"run {run.id} aligns overlay teams too ({roles}); the workbench edits one team's "
                                "alignment, and its figures would leave the overlays out", file=scenario.source,
                                column="overlays", fix="plan each team as a scenario of its own (no overlays:) and open "
                                                       "that run, or re-plan with territory-planner replan")
        inputs = load_inputs(scenario)
        ids = inputs.accounts["account_id"].astype(str)
        planned = set(base.assignments["account_id"].astype(str))
        if set(ids) != planned:
            new, gone = int((~ids.isin(planned)).sum()), len(planned - set(ids))
            raise ScenarioError(f"the accounts file has changed since run {run.id} was planned: {new} account(s) new, "
                                f"{gone} gone", file=scenario.accounts_path,
                                fix=f"re-plan around the changes first (territory-planner replan {run.id} --changes …), "
                                    "or plan the scenario again, then open that run")
        self.team = list(base.territories["rep_id"].astype(str))
        problem, distance, territories = build_problem(scenario, inputs, rep_rows=team_rows(inputs, self.team, scenario))
        self.run, self.base, self.scenario, self.inputs = run, base, scenario, inputs
        self.contiguity = ContiguityCheck(scenario, inputs, problem, territories) if scenario.contiguity else None
        self.problem, self.distance, self.territories = problem, distance, territories
        self.rep_position = {r: j for j, r in enumerate(territories["rep_id"].astype(str))}
        owner = dict(zip(base.assignments["account_id"].astype(str), base.assignments["rep_id"].astype(str),
                         strict=True))
        self.base_j = np.asarray([self.rep_position[owner[a]] for a in ids], dtype=int)
        self.items = items_of(base, inputs.accounts, scenario.geometry)
        fixed = problem.fixed if problem.fixed is not None else np.full(problem.n, -1)
        self.fixed_items = np.bincount(self.items.of_account, weights=(fixed >= 0).astype(float),
                                       minlength=len(self.items.ids)) > 0
        try:
            same_inputs = input_hashes(scenario) == (run.inputs() or {})
        except ScenarioError:
            same_inputs = False
        self.same_inputs = same_inputs
        self.base_bound = float(run.bound) if same_inputs and run.bound is not None else -math.inf
        self.base_bound_from = f"run {run.id}'s proven bound (same scenario and input files; locks keep it valid)"
        self.base_figures = Figures(run.status if run.status in ("optimal", "time_limit", "feasible", "interrupted",
                                                                 EDITED) else "feasible",
                                    float(run.objective) if run.objective is not None else math.nan,
                                    float(run.bound) if run.bound is not None else -math.inf,
                                    base.solution.bound_from, run.seconds)
        self._cells: tuple | None = None  # (each item's area,) once asked for
        self.draft = draft
        try:
            self._replay()
        except NotFoundError as exc:
            raise ScenarioError(f"draft {draft.id} of run {run.id} no longer matches the run's plan ({exc.problem})",
                                file=self.store.index,
                                fix=f"start a new draft of the run: territory-planner serve {run.id} --new-draft"
                                ) from None

    # --- state ------------------------------------------------------------------------

    def _replay(self) -> None:
        """The state from the run's plan and the draft's applied edits (item by item, vectorised)."""
        item_t = np.zeros(len(self.items.ids), dtype=int)
        item_t[self.items.of_account] = self.base_j
        locked = np.zeros(len(self.items.ids), dtype=bool)
        figures: Figures | None = None
        rebalance_bound: tuple[float, np.ndarray, np.ndarray] | None = None
        for edit in self.draft.applied:
            kind = edit.get("kind")
            if kind == "move":
                pos = self.items.positions(edit["items"])
                item_t[pos] = self.rep_position[edit["to"]]
                locked[pos] = True
                figures = None
            elif kind == "lock":
                locked[self.items.positions(edit["items"])] = bool(edit["locked"])
            elif kind == "rebalance":
                moves = edit["moves"]
                if moves:
                    pos = self.items.positions([m[0] for m in moves])
                    item_t[pos] = [self.rep_position[m[1]] for m in moves]
                f = edit["figures"]
                figures = Figures(f["status"], float(f["objective"]),
                                  -math.inf if f.get("bound") is None else float(f["bound"]), f.get("bound_from"),
                                  f.get("seconds"))
                # The rebalance's own bound holds while each item it kept locked stays locked to that rep.
                rebalance_bound = (float(f["lock_bound"]) if f.get("lock_bound") is not None else -math.inf,
                                   locked.copy(), item_t.copy())
        self.j, self.locked = item_t[self.items.of_account], locked
        self._last_rebalance = figures
        self._rebalance_bound = rebalance_bound
        self._violations: list[str] | None = None

    def bound(self) -> tuple[float, str | None]:
        """The best lower bound that holds for the plan in hand's problem (scenario + locks):
        the opened run's (same scenario and inputs), or the last rebalance's while every
        lock it kept is still held, on the same rep."""
        best, name = self.base_bound, (self.base_bound_from if math.isfinite(self.base_bound) else None)
        if self._rebalance_bound is not None and self.same_inputs:
            value, held, where = self._rebalance_bound
            now = self.item_territories()
            kept = not (held & (~self.locked | (now != where))).any()
            if math.isfinite(value) and value > best and kept:
                best, name = value, "the last rebalance's proven bound (with the locks it kept, all still held)"
        return best, name

    def figures(self) -> Figures:
        with self.lock:
            if not self.draft.applied and self.same_inputs:
                return self.base_figures  # the run as it was planned: its own figures
            objective = self.problem.objective(self.j)
            violations = self.violations()
            last = self.draft.applied[-1] if self.draft.applied else {}
            stated = self._last_rebalance
            if (last.get("kind") == "rebalance" and stated is not None and self.same_inputs and not violations
                    and abs(stated.objective - objective) <= 1e-6 * max(1.0, abs(objective))):
                return stated  # what the rebalance proved, for the plan it returned
            measured = "edited" if self.draft.applied else "inputs"
            if violations:
                return Figures(EDITED, objective, -math.inf, None, measured=measured)
            bound, name = self.bound()
            bound = proven_bound(bound, objective)
            status = "optimal" if proven_within(objective, bound, self.scenario.solver.mip_gap) else "feasible"
            return Figures(status, objective, bound, name if math.isfinite(bound) else None, measured=measured)

    def violations(self) -> list[str]:
        """Every constraint the plan in hand breaks, in the planner's words (every
        territory out of its band, each row of the scenario's other constraints);
        measured once per state (the KPIs and the figures of an edit share it)."""
        if self._violations is None:
            self._violations = self._measure_violations()
        return list(self._violations)

    def _measure_violations(self) -> list[str]:
        p, j, k = self.problem, self.j, self.problem.k
        out: list[str] = []
        allowed = p.allowed_mask()[np.arange(p.n), j]
        if not allowed.all():
            ids = self.inputs.accounts["account_id"].astype(str).to_numpy()[~allowed]
            out.append(f"{len(ids)} account(s) on a rep they may not have (locks, eligibility or maximum distance): "
                       + ", ".join(ids[:5]))
        names = self.territories["rep_name"].astype(str).to_numpy()
        tids = self.territories["territory_id"].astype(str).to_numpy()
        for band in p.bands:
            load = band.loads(j, k)
            for t in np.flatnonzero(band.violation(j, k) > band.slack()):
                who = f"{tids[t]} ({names[t]})"
                if band.kind == "capacity":
                    out.append(f"{who}: workload {load[t]:,.0f} h over its capacity {band.upper[t]:,.0f} h")
                    continue
                mu = (band.lower[t] + band.upper[t]) / 2
                dev = 100 * (load[t] / mu - 1) if mu else math.nan
                tol = f"±{100 * band.tolerance:g}%" if band.tolerance is not None else "its"
                out.append(f"{who}: {band.column} {dev:+.2f}% against a {tol} band")
        for row in p.rows:
            out.extend(row.breaches(j, k))
        if self.contiguity is not None:
            out.extend(self.contiguity.breaches(j))
        return out

    def kpis(self) -> dict:
        """Each territory's balance against its band, and the plan's objective and breaches."""
        with self.lock:
            k = self.problem.k
            j = self.j
            n_items = np.bincount(self.item_territories(), minlength=k)
            n_accounts = np.bincount(j, minlength=k)
            rows = [{"n_items": int(n_items[t]), "n_accounts": int(n_accounts[t]), "values": {}, "dev_pct": {},
                     "band_pct": {}, "utilisation": None, "capacity_hours": None, "out_of_band": []} for t in range(k)]
            columns = []
            for band in self.problem.bands:
                load = band.loads(j, k)
                outside = band.violation(j, k) > band.slack()
                if band.kind == "capacity":
                    for t in range(k):
                        cap = float(band.upper[t])
                        rows[t]["capacity_hours"] = cap
                        rows[t]["utilisation"] = float(load[t] / cap) if cap > 0 else None
                        if outside[t]:
                            rows[t]["out_of_band"].append("capacity")
                    continue
                columns.append(band.column)
                target = (band.lower + band.upper) / 2
                for t in range(k):
                    mu = float(target[t])
                    rows[t]["values"][band.column] = float(load[t])
                    rows[t]["dev_pct"][band.column] = 100 * (float(load[t]) / mu - 1) if mu else None
                    rows[t]["band_pct"][band.column] = ([100 * (float(band.lower[t]) / mu - 1),
                                                        100 * (float(band.upper[t]) / mu - 1)] if mu else None)
                    if outside[t]:
                        rows[t]["out_of_band"].append(band.column)
            for col in ("potential", "workload"):
                if col not in columns:
                    load = np.bincount(j, weights=self.inputs.accounts[col].to_numpy(float), minlength=k)
                    for t in range(k):
                        rows[t]["values"][col] = float(load[t])
            distance = self.distance[np.arange(len(j)), j]
            moved = np.zeros(len(self.items.ids), dtype=bool)
            moved[self.items.of_account[j != self.base_j]] = True
            return {
                "columns": columns,
                "territories": rows,
                "objective": float(self.problem.objective(j)),
                "objective_label": self.problem.cost_label,
                "violations": self.violations(),
                "moved_from_base": int(moved.sum()),
                "mean_distance_km": number(float(np.nanmean(distance))) if np.isfinite(distance).any() else None,
            }

    def item_territories(self) -> np.ndarray:
        t = np.zeros(len(self.items.ids), dtype=int)
        t[self.items.of_account] = self.j
        return t

    def header(self) -> dict:
        d = self.draft
        return {"id": d.id, "base_run": self.run.id, "base_label": self.run.label or self.run.name,
                "version": d.version, "can_undo": d.can_undo, "can_redo": d.can_redo, "saved_run": d.saved_run}

    def state(self) -> dict:
        """Everything the workbench page draws (the JSON of ``GET /api/state``)."""
        with self.lock:
            it = self.items
            s = self.scenario
            terr = self.territories
            a, b = coordinate_columns(s.geometry) if s.geometry != "none" else ("lat", "lon")
            home_y = terr.get(f"home_{a}", pd.Series([np.nan] * len(terr))).to_numpy(float)
            home_x = terr.get(f"home_{b}", pd.Series([np.nan] * len(terr))).to_numpy(float)
            colors = self.colors()
            return {
                "draft": self.header(),
                "scenario": {"name": s.name, "description": s.description or "", "geometry": s.geometry,
                             "time_limit": float(s.solver.time_limit), "balance": dict(s.balance),
                             "capacity": bool(s.capacity_enforced)},
                "items": {"kind": it.kind, "ids": [str(v) for v in it.ids], "names": it.names,
                          "lat": [number(v) for v in it.y], "lon": [number(v) for v in it.x],
                          "potential": [float(v) for v in it.potential], "workload": [float(v) for v in it.workload],
                          "n_accounts": [int(v) for v in it.n_accounts],
                          "territory": [int(v) for v in self.item_territories()],
                          "locked": [bool(v) for v in self.locked], "fixed": [bool(v) for v in self.fixed_items]},
                "territories": [{"index": t, "territory_id": str(terr["territory_id"].iloc[t]),
                                 "rep_id": str(terr["rep_id"].iloc[t]), "rep_name": str(terr["rep_name"].iloc[t]),
                                 "status": str(terr["status"].iloc[t]), "home": [number(home_y[t]), number(home_x[t])],
                                 "color": colors[t]} for t in range(len(terr))],
                "kpis": self.kpis(),
                "figures": self.figures().as_dict(),
            }

    def cells(self) -> list | None:
        """Each item's area for the page (:func:`territory_planner.workbench.cells.item_cells`),
        computed once per opened run (the items do not change with edits)."""
        with self.lock:
            if self._cells is None:
                from territory_planner.workbench.cells import item_cells

                self._cells = (item_cells(self),)
            return self._cells[0]

    def colors(self) -> list[str]:
        cached = self.__dict__.get("_colors")
        if cached is None:
            from territory_planner.outputs.map_outlines import territory_outlines

            ids = list(self.territories["territory_id"])
            try:
                outlines = territory_outlines(self.base)
                by_id = dict(zip(outlines["territory_id"], outlines["color"], strict=True))
            except (PlannerError, ValueError):
                by_id = {}
            from territory_planner.outputs.maps import territory_colors

            fallback = territory_colors(ids)
            cached = [by_id.get(t, fallback[t]) for t in ids]
            self._colors = cached
        return cached

    # --- edits ------------------------------------------------------------------------

    def _result(self, before_t: np.ndarray, before_locked: np.ndarray) -> dict:
        after_t = self.item_territories()
        changed = np.flatnonzero((after_t != before_t) | (self.locked != before_locked))
        return {"version": self.draft.version, "can_undo": self.draft.can_undo, "can_redo": self.draft.can_redo,
                "changed": [{"index": int(i), "territory": int(after_t[i]), "locked": bool(self.locked[i])}
                            for i in changed],
                "kpis": self.kpis(), "figures": self.figures().as_dict()}

    def _commit(self, version: int, edit: dict | None = None, step: int = 0) -> dict:
        before_t, before_locked = self.item_territories(), self.locked.copy()
        if edit is not None:
            self.draft = self.drafts.append(self.draft.id, version, edit)
        else:
            self.draft = self.drafts.step(self.draft.id, version, step)
        self._replay()
        return self._result(before_t, before_locked)

    def rep_id(self, rep) -> str:
        rep = str(rep)
        if rep not in self.rep_position:
            raise NotFoundError(f"unknown rep '{rep}': no territory of this plan belongs to it",
                                fix="give the rep_id of a territory of the plan (the territory table lists them)")
        return rep

    def move(self, items: list, to: str, version: int) -> dict:
        """Move ``items`` (ids) to rep ``to``'s territory; they become locked."""
        with self.lock:
            to = self.rep_id(to)
            if not items:
                raise ScenarioError("no items to move", fix="select accounts on the map first")
            pos = self.items.positions(items)
            fixed = pos[self.fixed_items[pos]]
            target = self.rep_position[to]
            if len(fixed):
                stuck = [str(self.items.ids[p]) for p in fixed
                         if (self.problem.fixed[self.items.of_account == p] != target).any()]
                if stuck:
                    raise ScenarioError(f"{len(stuck)} {self.items.kind}(s) are locked to their rep by the input files "
                                        f"({', '.join(stuck[:5])})", file=self.scenario.accounts_path,
                                        column="locked_rep_id",
                                        fix="leave them where they are, or clear locked_rep_id in the accounts file")
            if self.contiguity is not None:
                self._check_roots(pos, target)
            allowed = self.problem.allowed
            if allowed is not None:
                rows = np.flatnonzero(np.isin(self.items.of_account, pos))
                bad = rows[~allowed[rows, target]]
                if len(bad):
                    names = self.inputs.accounts["account_id"].astype(str).to_numpy()[bad]
                    raise ScenarioError(f"{len(bad)} account(s) may not go to {to} (eligibility or maximum distance "
                                        f"of the scenario): {', '.join(names[:5])}", file=self.scenario.source,
                                        fix="choose another rep for them, or relax eligibility / max_distance_km")
            edit = {"kind": "move", "items": [str(self.items.ids[p]) for p in pos], "to": to,
                    "from": [str(self.territories['rep_id'].iloc[int(t)]) for t in self.item_territories()[pos]]}
            return self._commit(version, edit)

    def _check_roots(self, pos: np.ndarray, target: int) -> None:
        """Contiguous territories grow from the unit of their rep's home: it stays with the rep."""
        rollup_ids = self.contiguity.rollup.units["unit_id"].astype(str).to_numpy()
        roots = {str(rollup_ids[r]): t for t, r in enumerate(self.contiguity.roots)}
        stuck = [str(self.items.ids[p]) for p in pos if roots.get(str(self.items.ids[p]), target) != target]
        if stuck:
            reps = self.territories["rep_id"].astype(str).to_numpy()
            who = ", ".join(f"{u} ({reps[roots[u]]})" for u in stuck[:5])
            raise ScenarioError(f"{len(stuck)} unit(s) hold a rep's home, the root of a contiguous territory: {who}",
                                file=self.scenario.source, column="contiguity",
                                fix="leave them with their rep; move the units around them")

    def set_locked(self, items: list, locked: bool, version: int) -> dict:
        with self.lock:
            if not items:
                raise ScenarioError("no items to lock or unlock", fix="select accounts on the map first")
            pos = self.items.positions(items)
            if not locked and self.fixed_items[pos].any():
                stuck = [str(v) for v in self.items.ids[pos[self.fixed_items[pos]]]]
                raise ScenarioError(f"{len(stuck)} {self.items.kind}(s) are locked by the input files and stay locked "
                                    f"({', '.join(stuck[:5])})", file=self.scenario.accounts_path,
                                    column="locked_rep_id", fix="clear locked_rep_id in the accounts file to free them")
            return self._commit(version, {"kind": "lock", "items": [str(self.items.ids[p]) for p in pos],
                                          "locked": bool(locked)})

    def undo(self, version: int) -> dict:
        with self.lock:
            return self._commit(version, step=-1)

    def redo(self, version: int) -> dict:
        with self.lock:
            return self._commit(version, step=+1)

    # --- the plan in hand -------------------------------------------------------------

    def assignment(self) -> dict[str, str]:
        reps = self.territories["rep_id"].astype(str).to_numpy()
        return dict(zip(self.inputs.accounts["account_id"].astype(str), reps[self.j], strict=True))

    def locked_accounts(self) -> dict[str, str]:
        """account_id → rep_id of every account the planner locked (its item's lock)."""
        reps = self.territories["rep_id"].astype(str).to_numpy()
        rows = np.flatnonzero(self.locked[self.items.of_account])
        ids = self.inputs.accounts["account_id"].astype(str).to_numpy()
        return {str(ids[i]): str(reps[self.j[i]]) for i in rows}

    def current_plan(self) -> Plan:
        """The plan in hand as a Plan: measured by :func:`territory_planner.assess.assess`.

        Its bound is the opened run's when valid (the scenario's, without the planner's
        locks, which the saved run's scenario does not state); a rebalance's lock-relative
        proof goes to its notes.
        """
        with self.lock:
            figures = self.figures()
            notes = [f"edited in the workbench from run {self.run.id}: {self.kpis()['moved_from_base']} "
                     f"{self.items.kind}(s) moved, {int(self.locked.sum())} locked by the planner"]
            if figures.status not in (EDITED,) and self._last_rebalance is not None and figures is self._last_rebalance:
                gap = figures.gap
                notes.append(f"last rebalanced ({figures.status}) with the planner's locks"
                             + ("" if gap is None else f": within {100 * gap:.2f}% of the best plan that keeps them"))
            unit_of = None
            if self.items.kind == "unit":
                unit_of = dict(zip(self.inputs.accounts["account_id"].astype(str),
                                   self.items.ids[self.items.of_account].astype(str), strict=True))
            return assess(self.scenario, self.assignment(), team=self.team, inputs=self.inputs,
                          bound=self.base_bound, bound_from=self.base_bound_from, notes=notes, unit_of=unit_of,
                          contiguity=self.contiguity)

    def save(self, version: int, label: str | None = None) -> Run:
        """Keep the plan in hand as a new run (parent: the opened run; every edit in
        ``edits.json``) and continue in a new draft of it, the planner's locks kept."""
        import json

        with self.lock:
            if version != self.draft.version:
                raise stale(self.draft.version, version)
            result = self.current_plan()
            files = render_plan(result)
            files["edits.json"] = json.dumps({"base_run": self.run.id, "draft": self.draft.id,
                                              "items": self.items.kind, "edits": list(self.draft.applied),
                                              "locked": sorted(self.locked_accounts())}, indent=1, sort_keys=True)
            run = self.store.save_plan(result, kind=EDIT_KIND, parent=self.run.id, files=files,
                                       inputs=input_hashes(self.scenario), scenario_file=self.scenario.source)
            if label:
                run = self.store.label(run.id, label)
            self.drafts.mark_saved(self.draft.id, run.id)
            locks = [str(v) for v in self.items.ids[self.locked]]
            draft = self.drafts.create(run.id)
            if locks:
                draft = self.drafts.append(draft.id, draft.version, {"kind": "lock", "items": locks, "locked": True})
            self._load(draft)
            return run

    def compare(self, a: str, b: str) -> dict:
        """The ``compare`` KPIs of two runs and the items that moved between them."""
        runs = [self.store.get(a), self.store.get(b)]
        plans = [r.plan() for r in runs]
        labels = [r.label or r.id for r in runs]
        if labels[0] == labels[1]:
            labels = [f"{labels[0]} (a)", f"{labels[1]} (b)"]
        comparison = compare_plans(plans, labels)
        table = comparison.kpis
        out = []
        for _, row in table.iterrows():
            va, vb = row.get(labels[0]), row.get(labels[1])
            delta = row.get(f"delta {labels[1]}") if f"delta {labels[1]}" in table else None
            out.append({"kpi": str(row.get("kpi", "")), "unit": str(row.get("unit", "") or ""),
                        "a": _json_value(va), "b": _json_value(vb), "delta": _json_value(delta)})
        moved = comparison.moves[comparison.moves["change"] == "moved"]
        return {"a": runs[0].id, "b": runs[1].id, "labels": labels, "kpis": out,
                "moved": [{"id": str(m.account_id), "name": str(m.name), "from_rep": str(m.from_rep_id),
                           "to_rep": str(m.to_rep_id)} for m in moved.itertuples(index=False)]}


def _json_value(value):
    if value is None:
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return number(float(value))
    return str(value)


def rebalance_inputs(bench: Workbench) -> Inputs:
    """The inputs a rebalance plans: the team as planned, the planner's locks as
    ``locked_rep_id`` (besides those of the files)."""
    inputs = bench.inputs
    accounts = inputs.accounts.copy()
    locks = bench.locked_accounts()
    current = accounts["locked_rep_id"] if "locked_rep_id" in accounts else pd.Series([None] * len(accounts),
                                                                                       index=accounts.index)
    ids = accounts["account_id"].astype(str)
    accounts["locked_rep_id"] = [locks.get(a, c) for a, c in zip(ids, current.astype(object), strict=True)]
    accounts["locked_rep_id"] = accounts["locked_rep_id"].map(lambda v: None if v is None or pd.isna(v) else str(v))
    rows = team_rows(inputs, bench.team, bench.scenario)
    reps = inputs.reps.iloc[rows].reset_index(drop=True)
    return replace(inputs, accounts=accounts, reps=reps)

