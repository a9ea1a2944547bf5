"""Large alignments (10⁴–10⁶ accounts × 10²–10³ territories) without dense n × k matrices.

A plain MIP of a national alignment does not even find a plan (FIELD.md §6: none in
120 s at 10,000 × 100). This path keeps the exactness that matters — every plan meets
every constraint, and the summary proves how far it can be from the optimum — while only
ever holding O(n·K) pairs in memory:

1. **Candidates.** Each unit's K cheapest allowed territories, found in chunks of units
   (memory O(chunk·k)); a locked unit has just its lock.
2. **Lagrangian multipliers** y of the band rows by subgradient ascent over the
   candidates (O(n·K) a step), the candidates re-ranked by Lagrangian cost
   c_ij − Σ_b y_bj·v_bi between rounds so that a far territory the balance needs joins.
   For *any* y,
   L(y) = Σ_i min_j (c_ij − Σ_b y_bj v_bi) + Σ_bj (y_bj·lo_bj if y_bj > 0 else y_bj·hi_bj)
   is a lower bound on the optimum of the *full* problem (Geoffrion 1974); it is always
   evaluated over every allowed pair, so the reported bound never trusts the candidates.
3. **Restricted LP** (HiGHS) over the candidate pairs of the units near a boundary; each
   territory's units with the widest Lagrangian margin keep their territory (at most
   ``fill`` of its lower limit, so the LP keeps room). Pricing over every pair from the LP
   duals adds the pairs of negative reduced cost (column generation, warm basis); when
   every unit is in the LP and none is left, the bound is the LP bound of the full
   problem.
4. **Rounding and repair.** The LP is re-solved with its bands pulled in by a fifth
   (the optimal LP sits on its limits, where any rounding breaks them), rounded, repaired
   by shifts along candidate pairs and improved by cost-saving shifts.
5. **Kernel MIP and windows.** One MIP over the units that are split or have a
   near-tied alternative (reduced cost ≤ δ), the others fixed; then large-neighbourhood
   search: a window of neighbouring territories at a time, its units free to move among
   its territories only, one small warm-started MIP each, while time remains.
6. **Grouping** above :data:`AGGREGATE_PAIRS` pairs (:func:`solve_aggregated`). Units
   sharing their two cheapest territories are grouped in order of preference, about 1% of
   a mean territory per group; a coarser grouping's LP (every group free) gives the first
   multipliers; the groups are solved by steps 1–5 and their plan, a plan of the units
   with the same loads, is improved unit by unit. The bound is L(y) over every unit ×
   territory pair again.

On the grouped path (``robust``), each territory's nearest units are candidates too
(``TERRITORY_SHARE`` × n/k of them): without them a remote territory cannot reach its
lower limit over its candidates and the ascent's multipliers run away; multipliers whose
bound over all pairs falls are dropped. Up to 100,000 × 300 the plain path measured
better, so it keeps each unit's nearest territories and the ascent's last multipliers.

Peak memory measured by ``make bench``: about 0.6 GB at 10,000 × 100, 1.5 GB at
100,000 × 300 and 4.7 GB at 500,000 × 500 (grouped); one dense float matrix at
500,000 × 500 alone would be 2 GB, and pulp's model of it about 250 GB.

The code: this module is the driver (:func:`solve_large`, :func:`solve_aggregated`,
:func:`coarse_multipliers`) and holds the limits it reads; :class:`LargeProblem` and the
candidates (step 1) are in :mod:`~territory_planner.optimize.large_problem`, the
multipliers and bounds (2) in :mod:`~territory_planner.optimize.large_lagrangian`, the
restricted LP (3) in :mod:`~territory_planner.optimize.large_lp`, repair, shift
moves, kernel MIP and windows (4–5) in :mod:`~territory_planner.optimize.large_search`
and the grouping (6) in :mod:`~territory_planner.optimize.large_aggregate`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from territory_planner.errors import Conflict, Diagnosis, InfeasibleError, NoPlanFoundError
from territory_planner.optimize.backends import Progress, SolveOptions
from territory_planner.optimize.large_aggregate import AGGREGATE_GROUP, aggregate, unit_groups
from territory_planner.optimize.large_lagrangian import (
    band_multipliers,
    interior_units,
    lagrangian_ascent,
    lagrangian_scan,
    margins,
)
from territory_planner.optimize.large_lp import _RestrictedLP, infeasibility
from territory_planner.optimize.large_problem import (
    CANDIDATES,
    TERRITORY_SHARE,
    LargeProblem,
    _Pairs,
    candidate_pairs,
)
from territory_planner.optimize.large_search import (
    _checked,
    _gap,
    _Interrupted,
    _kernel_mip,
    _near_tied,
    _window_search,
    breach_neighbourhood,
    improve_pairs,
    repair_pairs,
)
from territory_planner.optimize.solution import Solution

#: Pairs (n × k) above which ``method: auto`` takes this path.
LARGE_PAIRS = 600_000
#: Most units in the LP; the others keep the territory the Lagrangian multipliers give them.
LP_UNITS = 30_000
#: Most near-tied pairs in the one kernel MIP before the windows.
KERNEL_UNITS = 2_000
#: Pairs above which units are grouped before the LP (:func:`solve_aggregated`).
AGGREGATE_PAIRS = 60_000_000
#: Groups of the coarse problem whose LP (every group free) gives the first multipliers,
#: and its share of the time.
COARSE_GROUPS = 10_000
COARSE_SHARE = 0.12


# --------------------------------------------------------------------------- the solver


def _note(lines: list[str], say: Callable[[str], None], t0: float) -> Callable[[str], None]:
    """A logger that stamps each line with the seconds since ``t0`` and keeps it in ``lines``."""
    def note(msg: str) -> None:
        lines.append(f"{time.perf_counter() - t0:7.1f}s  {msg}")
        say(lines[-1])
    return note


def _result(problem: LargeProblem, best, best_value: float, bound: float, status: str, *, mip_gap: float,
            time_limit: float, t0: float, lines: list[str], why: str) -> Solution:
    """The Solution of the best plan (its status from the gap), or the error when there is none."""
    if best is None:
        if status == "interrupted":
            raise KeyboardInterrupt
        raise NoPlanFoundError(Diagnosis(f"no plan meeting every band was found in {time_limit:g} s", [
            Conflict("solver.time_limit", f"{time_limit:g} s", "raise solver.time_limit"),
            *(Conflict(band.label, why, "or widen this tolerance") for band in problem.bands),
        ]))
    bound = min(bound, best_value)
    gap = (best_value - bound) / max(abs(best_value), 1e-9)
    if status != "interrupted":
        status = "optimal" if gap <= mip_gap + 1e-12 else "time_limit"
    return Solution(assignment=best, status=status, objective=best_value, bound=bound, backend="large",
                    seconds=time.perf_counter() - t0, log=tuple(lines))


def solve_large(
    problem: LargeProblem,
    *,
    time_limit: float = 600.0,
    mip_gap: float = 1e-3,
    seed: int = 0,
    threads: int | None = None,
    progress: Progress | None = None,
    verbose: bool = False,
    log: Callable[[str], None] | None = None,
    per_unit: int = CANDIDATES,
    per_territory: float = 0.0,
    aggregate: bool = True,
    multipliers: dict | None = None,
    lp_units: int = LP_UNITS,
    y0: np.ndarray | None = None,
    lp_only: bool = False,
    robust: bool = False,
) -> Solution | None:
    """Best plan within the time limit and a lower bound proven over *all* pairs.

    Above :data:`AGGREGATE_PAIRS` pairs the units are first grouped (see
    :func:`solve_aggregated`). ``multipliers``, if a dict, receives under ``"y"`` the band
    multipliers of the best bound; ``y0`` are multipliers to start from (kept only if their
    bound beats L(0)); without them, above ``lp_units`` units, they come from the LP of a
    coarse grouping (:func:`coarse_multipliers`). ``lp_only`` stops after the LP (returns
    None; for the multipliers).

    ``robust`` (the grouped path, for a national alignment where some territories must reach
    far): multipliers whose bound falls are dropped, each territory's nearest units join
    the candidates (``per_territory``) and, above ``lp_units``, a coarse LP gives the
    first multipliers. Without it (the default, measured best up to 100,000 × 300) the
    ascent keeps its last multipliers and the candidates are each unit's nearest only.
    """
    if aggregate and problem.n * problem.k > AGGREGATE_PAIRS and problem.n >= 200 * problem.k:
        return solve_aggregated(problem, time_limit=time_limit, mip_gap=mip_gap, seed=seed, threads=threads,
                                progress=progress, verbose=verbose, log=log, per_unit=per_unit,
                                per_territory=per_territory or TERRITORY_SHARE)
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    say = log or (lambda _msg: None)
    lines: list[str] = []
    note = _note(lines, say, t0)
    best, best_value, bound = None, math.inf, -math.inf
    status = "time_limit"
    pairs = None

    def offer(a: np.ndarray | None) -> None:
        nonlocal best, best_value
        a, v = _checked(problem, pairs, a)
        if v < best_value:
            best, best_value = a.copy(), v
            if progress is not None:
                progress(best_value, bound, time.perf_counter() - t0)

    try:
        if robust and y0 is None and problem.bands and problem.n > max(lp_units, 2 * COARSE_GROUPS):
            # The LP below fixes the units deep inside their territory; where that territory
            # is depends on the multipliers, which must already be near balance.
            y0 = coarse_multipliers(problem, time_limit=COARSE_SHARE * time_limit, seed=seed, threads=threads,
                                    verbose=verbose, per_unit=per_unit, per_territory=per_territory, note=note)
        pairs = candidate_pairs(problem, per_unit, per_territory=per_territory)
        note(f"candidates: {len(pairs.unit):,} pairs ({len(pairs.unit) / problem.n:.1f} per unit)")
        # 1. Multipliers by subgradient ascent over the candidates, the candidates re-ranked
        #    by Lagrangian cost between rounds; each round's y bounds the full problem.
        y = np.zeros((len(problem.bands), problem.k))
        # L(0): each unit at its cheapest allowed territory, which is among its candidates.
        bound = float(np.minimum.reduceat(pairs.cost, np.r_[0, np.flatnonzero(np.diff(pairs.unit)) + 1]).sum())
        best_y = y.copy()
        if y0 is not None and problem.bands:
            L0, _ = lagrangian_scan(problem, y0)
            note(f"Lagrangian bound {L0:,.6g} from the given multipliers (L(0) = {bound:,.6g})")
            if L0 > bound:
                best_y, bound = np.array(y0, dtype=float).reshape(y.shape), L0
                pairs = candidate_pairs(problem, per_unit, best_y, per_territory)
        if multipliers is not None:
            multipliers["y"] = best_y
        for outer in range(4 if problem.bands else 0):
            y, L_cand = lagrangian_ascent(problem, pairs, deadline=t0 + 0.05 * (outer + 1) * time_limit,
                                          y0=best_y if robust else y)
            L, _ = lagrangian_scan(problem, y)
            note(f"Lagrangian bound {L:,.6g} over all {problem.n * problem.k:,} pairs (candidates: {L_cand:,.6g})")
            if L > bound:
                best_y, bound = y.copy(), L
                if multipliers is not None:
                    multipliers["y"] = best_y
            elif robust:
                # Multipliers fitted to the candidates can overshoot (a territory that cannot
                # fill its band from its candidates pulls ever harder): keep the best ones.
                break
            if L >= L_cand - 1e-6 * abs(L_cand):
                break
            pairs = candidate_pairs(problem, per_unit, y, per_territory)
        if robust:
            y = best_y
        # 2. Units far from any boundary keep their best territory; the LP decides the rest.
        lead, margin = margins(problem, pairs, y)
        if problem.fixed is not None:
            lead = np.where(problem.fixed >= 0, problem.fixed, lead)
        fill = 0.9 if problem.n > lp_units else 0.0
        while True:
            free = ~interior_units(problem, lead, margin, fill, lp_units) if fill > 0 else np.ones(problem.n, bool)
            lp = _RestrictedLP(problem, pairs, SolveOptions(seed=seed, threads=threads, verbose=verbose), free, lead)
            word, x, duals, z = lp.solve(deadline - time.perf_counter() - 0.25 * time_limit)
            note(f"LP over {lp.nf:,} units and {lp.n_cols:,} pairs: {z:,.6g}")
            scale = max(1e-9, max((float(np.abs(b_.values).sum()) / problem.k for b_ in problem.bands), default=1.0))
            for bump in range(4):
                priced = False
                for round_ in range(30):
                    if word != "optimal":
                        break
                    yl = band_multipliers(problem, lp.band_duals(duals))
                    L, (nu, nt, nc) = lagrangian_scan(problem, yl, lp.assign_duals(duals))
                    if L > bound and multipliers is not None:
                        multipliers["y"] = yl.copy()
                    bound = max(bound, L)
                    note(f"LP round {round_ + 1}: {z:,.6g} (band slack {lp.slack:.3g}); bound over all pairs "
                         f"{bound:,.6g}; {len(nu):,} pairs priced in")
                    added = pairs.add(nu, nt, nc)
                    if len(added) == 0:
                        priced = True
                        break
                    if time.perf_counter() > deadline - 0.3 * time_limit:
                        break
                    lp.add(added)
                    word, x_new, d_new, z_new = lp.solve(deadline - time.perf_counter() - 0.25 * time_limit)
                    if word == "optimal":
                        x, duals, z = x_new, d_new, z_new
                if word != "optimal" or lp.slack <= 1e-7 * scale or fill > 0 or not priced:
                    break
                if bump == 3:
                    # Every pair was priced at a slack price no move can beat and the bands
                    # still need slack: no fractional plan exists.
                    raise InfeasibleError(infeasibility(problem))
                # The slack may just be cheaper than a far pair the bands need: raise its price.
                lp.raise_slack_price(1e3)
                word, x, duals, z = lp.solve(deadline - time.perf_counter() - 0.25 * time_limit)
            if word != "optimal" or lp.slack <= 1e-7 * scale or fill <= 0:
                break
            fill = fill - 0.3 if fill > 0.3 else 0.0
            note(f"the bands need the kept units to move: keeping {fill:.0%} of each territory")
        if lp_only:
            return None
        split = np.zeros(problem.n, dtype=bool)
        if x is None or duals is None:
            # The LP did not finish in its share of the time: start from the Lagrangian
            # plan (each unit at its best territory under the multipliers) instead.
            note("the LP did not finish in its time; rounding the Lagrangian plan instead")
            start = lead.copy()
            rc = np.zeros(len(pairs.unit))
        else:
            yl = band_multipliers(problem, lp.band_duals(duals))
            rc = pairs.cost - np.where(np.isfinite(lp.assign_duals(duals)[pairs.unit]), lp.assign_duals(duals)[pairs.unit], 0.0)
            for b, band in enumerate(problem.bands):
                rc = rc - yl[b][pairs.terr] * band.values[pairs.unit]
            # Round a plan of the LP with the bands pulled in by a fraction of their width:
            # the optimal LP sits on its band limits, where any rounding breaks them; the
            # narrower LP leaves room for the rounding and the repair.
            for shrink in (0.1, 0.2, 0.05):
                if deadline - time.perf_counter() < 0.25 * time_limit:
                    break
                lp.set_bands(shrink)
                word_t, x_t, _, z_t = lp.solve(deadline - time.perf_counter() - 0.2 * time_limit)
                if word_t == "optimal" and lp.slack <= 1e-7 * scale:
                    x = x_t
                    note(f"LP with bands narrowed by {shrink:.0%} of their width: {z_t:,.6g}")
                    break
                note(f"LP with bands narrowed by {shrink:.0%}: "
                     + (f"needs band slack {lp.slack:.3g}" if word_t == "optimal" else f"{word_t}"))
            lp.set_bands(0.0)
            cols = lp.col_pair[: len(x)]  # a re-solve that did not finish leaves the older, shorter x
            order = np.lexsort((-x, pairs.unit[cols]))
            u_sorted = pairs.unit[cols][order]
            first = np.r_[True, u_sorted[1:] != u_sorted[:-1]]
            start = lead.copy()
            start[u_sorted[first]] = pairs.terr[cols][order][first]
            split[pairs.unit[cols][(x > 1e-6) & (x < 1 - 1e-6)]] = True
        note(f"LP plan: {int(split.sum()):,} split units of {problem.n:,}")
        repaired = repair_pairs(problem, pairs, start, deadline=deadline)
        offer(repaired)
        for ring in (2, 4, 8):
            if best is not None or time.perf_counter() > deadline - 2:
                break
            # Shifts alone are stuck (every neighbour sits on its limit): a small MIP over
            # the units of the breached territories and of their neighbours finishes it.
            free = breach_neighbourhood(problem, pairs, repaired, ring)
            if not free.any():
                break
            note(f"repair left breaches: a feasibility MIP over {int(free.sum()):,} units nearby")
            fixed_up = _kernel_mip(problem, pairs, np.zeros(len(pairs.unit)), repaired, free, np.inf,
                                   time_limit=min(0.05 * time_limit * ring, deadline - time.perf_counter()),
                                   mip_gap=1e-4, seed=seed, threads=threads, phase="feasibility")
            offer(fixed_up)
        if best is not None:
            note(f"rounded and repaired: {best_value:,.6g} (gap {_gap(best_value, bound):.3%})")
            offer(improve_pairs(problem, pairs, best, deadline=deadline))
            note(f"shift moves: {best_value:,.6g} (gap {_gap(best_value, bound):.3%})")
        # 3. No plan yet (the repair was stuck): kernel MIPs that minimise band violation.
        gaps = np.sort(rc[rc > 1e-9]) if (rc > 1e-9).any() else np.zeros(1)
        for size in (min(problem.n, max(2000, 20 * problem.k)), min(problem.n, max(8000, 60 * problem.k))):
            remaining = deadline - time.perf_counter()
            if best is not None or remaining < 2:
                break
            delta = float(gaps[min(len(gaps) - 1, size)])
            free = _near_tied(problem, pairs, rc, start, split, delta)
            note(f"feasibility kernel: {int(free.sum()):,} free units, δ = {delta:.4g}")
            offer(_kernel_mip(problem, pairs, rc, start, free, delta, time_limit=0.5 * remaining,
                              mip_gap=1e-4, seed=seed, threads=threads, phase="feasibility"))
        # 4. One kernel MIP over the units with a near-tied alternative (reduced cost ≤ δ).
        if best is not None and best_value - bound > mip_gap * abs(best_value):
            # Capped: beyond a few thousand units HiGHS spends the time without a better plan.
            size = min(problem.n, KERNEL_UNITS)
            delta = float(gaps[min(len(gaps) - 1, size)])
            free = _near_tied(problem, pairs, rc, best, split, delta)
            offer(_kernel_mip(problem, pairs, rc, best, free, delta,
                              time_limit=min(0.1 * time_limit, deadline - time.perf_counter()),
                              mip_gap=mip_gap / 2, seed=seed, threads=threads, phase="cost"))
            note(f"kernel of {int(free.sum()):,} near-tied units: {best_value:,.6g} "
                 f"(gap {_gap(best_value, bound):.3%})")
        # 5. Large-neighbourhood search: a window of neighbouring territories at a time,
        #    every unit of the window free to move among the window's territories (so no
        #    other territory's load changes), one small MIP each, warm-started.
        if best is not None:
            _window_search(problem, pairs, offer, lambda: (best, best_value), bound, deadline=deadline, mip_gap=mip_gap,
                           seed=seed, threads=threads, note=note)
    except _Interrupted as stop:
        offer(stop.assignment)
        status = "interrupted"
    except KeyboardInterrupt:
        status = "interrupted"
    return _result(problem, best, best_value, bound, status, mip_gap=mip_gap, time_limit=time_limit, t0=t0, lines=lines,
                   why="the kernel MIP could not meet it")


# --------------------------------------------------------------------------- aggregation


class _Keeper:
    """The best plan offered so far, its value and the best bound; reports progress."""

    def __init__(self, problem: LargeProblem, progress: Progress | None, t0: float):
        self.problem, self.progress, self.t0 = problem, progress, t0
        self.best: np.ndarray | None = None
        self.value, self.bound = math.inf, -math.inf
        self.pairs: _Pairs | None = None  # candidate pairs, once known, to shift a plan back inside a band

    def offer(self, a: np.ndarray | None) -> None:
        a, v = _checked(self.problem, self.pairs, a)
        if v < self.value:
            self.best, self.value = a.copy(), v
            if self.progress is not None:
                self.progress(v, self.bound, time.perf_counter() - self.t0)


def coarse_multipliers(problem: LargeProblem, *, time_limit: float, seed: int, threads: int | None, verbose: bool,
                       per_unit: int, per_territory: float, note: Callable[[str], None]) -> np.ndarray | None:
    """Band multipliers from the LP of about ``COARSE_GROUPS`` groups, every group free.

    An LP over the boundary units alone cannot move load across the country; this one can,
    and its multipliers put the units deep inside each territory where a balanced plan
    has them. None if its LP gives no multipliers better than zero.
    """
    found: dict = {}
    coarse = aggregate(problem, unit_groups(problem, max(1, problem.n // COARSE_GROUPS)))
    note(f"{problem.n:,} units in {coarse.n:,} coarse groups for the multipliers")
    try:
        solve_large(coarse, time_limit=time_limit, seed=seed, threads=threads, verbose=verbose, per_unit=per_unit,
                    per_territory=per_territory, aggregate=False, multipliers=found, lp_units=coarse.n, lp_only=True,
                    robust=True,
                    log=lambda m: note(f"  coarse: {m.strip()}"))
    except InfeasibleError:
        pass  # a group may allow fewer territories than its units: the units may still have a plan
    y = found.get("y")
    return None if y is None or not np.any(y) else y


def solve_aggregated(problem: LargeProblem, *, time_limit: float, mip_gap: float, seed: int, threads: int | None,
                     progress: Progress | None, verbose: bool, log: Callable[[str], None] | None, per_unit: int,
                     per_territory: float) -> Solution:
    """Aggregation and disaggregation for the largest alignments.

    The units are grouped (:func:`~territory_planner.optimize.large_aggregate.unit_groups`,
    about ``AGGREGATE_GROUP`` a group) and the grouped problem is solved by
    :func:`solve_large`. Every plan of the groups is a plan of the units with the same
    loads, so it meets every band. Its band multipliers give a
    Lagrangian bound over every unit × territory pair, valid for the full problem. Shift
    moves and window MIPs over the units then improve the plan until the time is up.
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    say = log or (lambda _msg: None)
    lines: list[str] = []
    note = _note(lines, say, t0)
    keep = _Keeper(problem, progress, t0)
    offer = keep.offer
    status = "time_limit"

    try:
        # A group is at most about 1% of a mean territory, so that rounding a group moves
        # a load by much less than the usual band width.
        group = unit_groups(problem, max(1, min(AGGREGATE_GROUP, problem.n // (100 * problem.k))))
        small = aggregate(problem, group)
        note(f"{problem.n:,} units in {small.n:,} groups")
        # Multipliers first, from an LP over a coarser grouping; with them the groups' own
        # LP starts near balance.
        found: dict = {}
        y_coarse = coarse_multipliers(problem, time_limit=COARSE_SHARE * time_limit, seed=seed, threads=threads,
                                      verbose=verbose, per_unit=per_unit, per_territory=per_territory, note=note)
        if y_coarse is not None:
            found["y"] = y_coarse
        try:
            sub = solve_large(small, time_limit=max(1.0, 0.6 * time_limit - (time.perf_counter() - t0)), mip_gap=mip_gap,
                              seed=seed, threads=threads, verbose=verbose, per_unit=per_unit, per_territory=per_territory,
                              aggregate=False, multipliers=found, y0=found.get("y"), robust=True,
                              log=lambda m: say(f"  groups: {m.strip()}"))
        except (NoPlanFoundError, InfeasibleError) as exc:
            # Grouping restricts the problem; the units themselves may still have a plan.
            note(f"no plan of the groups ({type(exc).__name__}); the units without grouping")
            return solve_large(problem, time_limit=max(1.0, deadline - time.perf_counter()), mip_gap=mip_gap, seed=seed,
                               threads=threads, progress=progress, verbose=verbose, log=log, per_unit=per_unit,
                               per_territory=per_territory, aggregate=False, y0=found.get("y"), robust=True)
        offer(sub.assignment[group])
        if sub.status == "interrupted":
            raise KeyboardInterrupt
        note(f"plan of the groups: {keep.value:,.6g}")
        if "y" in found:
            # The groups' multipliers, a few ascent steps over the units' candidates from there.
            pairs = keep.pairs = candidate_pairs(problem, per_unit, found["y"], per_territory)
            y, _ = lagrangian_ascent(problem, pairs, deadline=time.perf_counter() + 0.05 * time_limit, y0=found["y"])
            for yy in (found["y"], y):
                keep.bound = max(keep.bound, lagrangian_scan(problem, yy)[0])
            note(f"Lagrangian bound over all {problem.n * problem.k:,} pairs: {keep.bound:,.6g} "
                 f"(gap {_gap(keep.value, keep.bound):.3%})")
        if keep.best is not None and deadline - time.perf_counter() > 5:
            if "y" not in found:
                pairs = keep.pairs = candidate_pairs(problem, per_unit, None, per_territory)
            offer(improve_pairs(problem, pairs, keep.best, deadline=deadline))
            note(f"shift moves over the units: {keep.value:,.6g} (gap {_gap(keep.value, keep.bound):.3%})")
            _window_search(problem, pairs, offer, lambda: (keep.best, keep.value), keep.bound, deadline=deadline,
                           mip_gap=mip_gap, seed=seed, threads=threads, note=note)
    except _Interrupted as stop:
        offer(stop.assignment)
        status = "interrupted"
    except KeyboardInterrupt:
        status = "interrupted"
    return _result(problem, keep.best, keep.value, keep.bound, status, mip_gap=mip_gap, time_limit=time_limit, t0=t0,
                   lines=lines, why="no plan of the grouped units met it")
