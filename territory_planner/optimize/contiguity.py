"""Contiguous territories: lazy a–b separator cuts on the unit adjacency graph.

Model (Validi, Buchanan & Lykhovyd 2022, "Imposing contiguity constraints in political
districting models", *Operations Research* 70(2):867–892): every territory j has a
**root** unit r_j (the unit of the rep's home) fixed in it, x_{r_j j} = 1. A territory is
connected iff every unit a in it has a path to r_j inside it, i.e. for every vertex set S
separating a from r_j in the graph G:

    x_aj ≤ Σ_{v ∈ S} x_vj                              (a, r_j-separator inequality)

There are exponentially many; they are added lazily. Given a plan in which territory j
has a component C not holding r_j, the neighbours N(C) of C separate every a ∈ C from
r_j (any path from a to r_j leaves C through N(C), and no unit of N(C) is in j because C
is a maximal component). We shrink N(C) to a *minimal* separator N(C) ∩ N(R), R the
component of r_j in G − N(C), and add the inequality for every a ∈ C. Each inequality
holds for every contiguous plan, so a bound proved with any subset of them is a valid
bound of the contiguous model, and a plan of the relaxed model that is contiguous is
optimal for the contiguous model.

highspy 1.13 exposes ``kCallbackMipDefineLazyConstraints`` but never calls it, and no
callback can reject an integer solution, so the cuts are added in a **loop**: solve the
MIP with the cuts so far (warm-started with the best contiguous plan), cut its
disconnected territories, repair its plan to a contiguous one (a candidate incumbent),
and stop when the MIP plan is contiguous or the best contiguous plan is within the gap
of the bound. FIELD.md §6 measured this loop, re-solving from scratch, at 11 rounds on
120 units × 8 territories; the flow model (Shirabe 2005) found no plan in 20 minutes.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace

import networkx as nx
import numpy as np
import scipy.sparse as sp

from territory_planner.errors import (
    Conflict,
    Diagnosis,
    InfeasibleError,
    InputError,
    NoPlanFoundError,
)
from territory_planner.optimize.heuristics import (
    _band_arrays,
    _violation,
    total_violation,
)
from territory_planner.optimize.problem import REPAIR_TOL, AssignmentProblem, PairConstraint
from territory_planner.optimize.solution import Solution

_USE_LP = True  # cut rounds go through solve_problem's LP → fixing path (False: plain MIP per round)
logger = logging.getLogger(__name__)
CUT_LABEL = "contiguity (every territory connected)"


# ------------------------------------------------------------------------ checks


def territory_components(graph: nx.Graph, assignment: np.ndarray, k: int) -> list[list[set]]:
    """For each territory, the connected components of its units (largest first)."""
    out = []
    for j in range(k):
        members = np.flatnonzero(np.asarray(assignment) == j).tolist()
        comps = list(nx.connected_components(graph.subgraph(members)))
        out.append(sorted(comps, key=len, reverse=True))
    return out


def is_contiguous(graph: nx.Graph, assignment: np.ndarray, k: int) -> bool:
    """True when every territory's units form at most one connected component."""
    return all(len(c) <= 1 for c in territory_components(graph, assignment, k))


# -------------------------------------------------------------------------- cuts


def minimal_separator(graph: nx.Graph, component: set, root: int) -> set:
    """A minimal vertex set separating ``component`` from ``root``: N(C) ∩ N(R)."""
    boundary = set(nx.node_boundary(graph, component))
    rest = graph.subgraph(set(graph.nodes) - boundary - component)
    reach = nx.node_connected_component(rest, root) if root in rest else {root}
    return boundary & set(nx.node_boundary(graph, reach))


def separator_cuts(graph: nx.Graph, assignment: np.ndarray, roots: np.ndarray, k: int) -> list[tuple[int, int, tuple[int, ...]]]:
    """(a, t, S): cuts x_at ≤ Σ_{v∈S} x_vt for every unit a of a stray component C.

    C is a component of some territory j without r_j. The cut is added for j and also
    for every other territory t whose root lies outside C ∪ N(C): C cannot reach r_t
    without a unit of S_t = N(C) ∩ N(R_t) either, and adding it at once stops the next
    round from merely handing C to a territory it is just as cut off from.
    """
    cuts = []
    root_set = set(np.asarray(roots).tolist())
    for j, comps in enumerate(territory_components(graph, assignment, k)):
        for comp in comps:
            if roots[j] in comp:
                continue
            boundary = set(nx.node_boundary(graph, comp))
            for t in range(k):
                r = int(roots[t])
                if r in comp or r in boundary:
                    continue
                sep = tuple(sorted(minimal_separator(graph, comp, r)))
                cuts.extend((a, t, sep) for a in sorted(comp) if a not in root_set)
    return list(dict.fromkeys(cuts))


def fractional_cuts(graph: nx.Graph, x: np.ndarray, roots: np.ndarray, *, thresholds=(1e-6, 0.1, 0.3, 0.5, 0.7, 0.9), tol: float = 1e-3) -> list[tuple[int, int, tuple[int, ...]]]:
    """Separator cuts an LP solution ``x`` (n, k) violates, found on its threshold graphs.

    For territory j and θ, take the units with x_vj ≥ θ; a component C of them without
    r_j has neighbours N(C) with x_vj < θ. The minimal separator S ⊆ N(C) gives the cut
    x_aj ≤ Σ_{v∈S} x_vj for a ∈ C, kept when x_aj exceeds the sum by more than ``tol``.
    Exact separation needs a max-flow per pair; the thresholds catch what matters most
    (at θ ≈ 0 a component of the LP's support cut off from the root).
    """
    n, k = x.shape
    cuts = []
    seen = set()
    for j in range(k):
        r = int(roots[j])
        for theta in thresholds:
            members = np.flatnonzero(x[:, j] >= theta).tolist()
            for comp in nx.connected_components(graph.subgraph(members)):
                if r in comp:
                    continue
                key = (j, frozenset(comp))
                if key in seen:
                    continue
                seen.add(key)
                sep = tuple(sorted(minimal_separator(graph, comp, r)))
                rhs = float(x[list(sep), j].sum()) if sep else 0.0
                cuts.extend((a, j, sep) for a in sorted(comp) if x[a, j] > rhs + tol)
    return list(dict.fromkeys(cuts))


def shortest_path_rows(graph: nx.Graph, roots: np.ndarray, n: int, k: int, weight: str | None = "length") -> PairConstraint:
    """A *restriction* that makes every plan contiguous: x_ij ≤ Σ_{v∈N(i), d_j(v) < d_j(i)} x_vj.

    d_j is the shortest-path distance to r_j (edge attribute ``weight``, hops if absent).
    A unit may join territory j only next to a unit of j that is closer to j's root, so
    following ever-closer neighbours leads to r_j inside j. It cuts off some contiguous
    plans (those with a unit reached only "from behind"), so it gives incumbents, never
    bounds; Oehrlein & Haunert (2017, *J. Spatial Information Science* 14) use it as
    their contiguity model. One row per (unit, territory) pair.
    """
    has_weight = weight is not None and all(weight in d for _, _, d in graph.edges(data=True))
    rows, cols, vals = [], [], []
    r = 0
    for j in range(k):
        root = int(roots[j])
        dist = nx.single_source_dijkstra_path_length(graph, root, weight=weight if has_weight else None)
        for i in range(n):
            if i == root or i not in dist:
                continue
            closer = [v for v in graph.neighbors(i) if (dist.get(v, np.inf), v) < (dist[i], i)]
            rows.append(r)
            cols.append(i * k + j)
            vals.append(1.0)
            rows.extend([r] * len(closer))
            cols.extend(v * k + j for v in closer)
            vals.extend([-1.0] * len(closer))
            r += 1
    A = sp.csr_matrix((vals, (rows, cols)), shape=(r, n * k))
    return PairConstraint("contiguity (shortest-path restriction)", "contiguity", A, np.full(r, -np.inf), np.zeros(r))


def cut_rows(cuts, n: int, k: int) -> PairConstraint:
    """The cuts x_aj − Σ_{v∈S} x_vj ≤ 0 as general rows over the x_ij (column i·k + j)."""
    rows, cols, vals = [], [], []
    for r, (a, j, sep) in enumerate(cuts):
        rows.append(r)
        cols.append(a * k + j)
        vals.append(1.0)
        rows.extend([r] * len(sep))
        cols.extend(v * k + j for v in sep)
        vals.extend([-1.0] * len(sep))
    A = sp.csr_matrix((vals, (rows, cols)), shape=(len(cuts), n * k))
    return PairConstraint(CUT_LABEL, "contiguity", A, np.full(len(cuts), -np.inf), np.zeros(len(cuts)))


# ------------------------------------------------------------------------ repair


def repair_contiguity(problem: AssignmentProblem, graph: nx.Graph, roots: np.ndarray, assignment: np.ndarray, *, max_moves: int | None = None) -> np.ndarray:
    """Make a plan contiguous, then move boundary units until the bands hold, then improve.

    1. Every stray component (one without its territory's root) moves whole to the
       adjacent territory where it costs least (preferring territories whose root
       component it touches), until every territory is connected.
    2. Balance repair: shift a boundary unit to an adjacent territory when the move
       lowers the band violation, keeps its old territory connected (not an articulation
       point, not the root) and is cheapest per unit of violation removed.
    3. Improvement: the same moves when they lower cost and keep every band.

    Returns the best plan found; it is contiguous, and feasible if the repair succeeded
    (check ``problem.violations``).
    """
    a = np.array(assignment, dtype=int)
    k = problem.k
    allowed = problem.allowed_mask()
    root_of = np.full(problem.n, -1)
    root_of[roots] = np.arange(k)
    # 1. strays
    for _ in range(problem.n):
        strays = []
        comps = territory_components(graph, a, k)
        for j, cs in enumerate(comps):
            strays.extend((c, j) for c in cs if roots[j] not in c)
        if not strays:
            break
        comp, j = min(strays, key=lambda s: len(s[0]))
        members = np.array(sorted(comp))
        neighbours = nx.node_boundary(graph, comp)
        home = {}
        for t, cs in enumerate(comps):
            for c in cs:
                if roots[t] in c:
                    home[t] = c
        options = []
        for t in {int(a[v]) for v in neighbours}:
            if t == j or not allowed[members, t].all():
                continue
            touches_root = any(v in home.get(t, ()) for v in neighbours)
            delta = float(problem.cost[members, t].sum() - problem.cost[members, j].sum())
            trial = a.copy()
            trial[members] = t
            # least added band violation first, then least cost
            options.append((not touches_root, round(total_violation(problem, trial), 9), delta, t))
        if not options:
            break
        a[members] = min(options)[-1]
    if not is_contiguous(graph, a, k):
        return a
    return _local_search(problem, graph, roots, a, max_moves=max_moves or 20 * problem.n)


def _movable(graph: nx.Graph, a: np.ndarray, j: int, root: int) -> set:
    """Units of territory j that can leave it without disconnecting it."""
    members = np.flatnonzero(a == j).tolist()
    sub = graph.subgraph(members)
    return set(members) - set(nx.articulation_points(sub)) - {root}


def _local_search(problem, graph, roots, a, *, max_moves: int) -> np.ndarray:
    values, lower, upper, scale = _band_arrays(problem)
    k = problem.k
    allowed = problem.allowed_mask()
    locked = problem.fixed >= 0 if problem.fixed is not None else np.zeros(problem.n, bool)
    cost = problem.cost
    cost_scale = max(float(np.median(np.abs(cost))), 1e-12)
    loads = values.loads(a, k)
    movable = {j: _movable(graph, a, j, int(roots[j])) for j in range(k)}
    edges = np.array(graph.edges(), dtype=int).reshape(-1, 2)
    edges = np.vstack([edges, edges[:, ::-1]])
    tol = REPAIR_TOL
    repairing = True
    for _ in range(max_moves):
        viol = _violation(loads, lower, upper) / scale[:, None] if len(scale) else np.zeros((0, k))
        if repairing and viol.sum() <= tol:
            repairing = False
        # candidate moves: unit u to the territory of a neighbour v
        u, v = edges[:, 0], edges[:, 1]
        src, dst = a[u], a[v]
        ok = (src != dst) & ~locked[u] & allowed[u, dst]
        ok &= np.array([x in movable[s] for x, s in zip(u.tolist(), src.tolist(), strict=True)], bool) if len(u) else ok
        u, src, dst = u[ok], src[ok], dst[ok]
        if len(u) == 0:
            break
        vu_s = values.at(u, src)  # (b, c)
        vu_t = values.at(u, dst)
        ls, lt = loads[:, src], loads[:, dst]
        d_viol = (
            _violation(ls - vu_s, lower[:, src], upper[:, src]) - _violation(ls, lower[:, src], upper[:, src])
            + _violation(lt + vu_t, lower[:, dst], upper[:, dst]) - _violation(lt, lower[:, dst], upper[:, dst])
        )
        d_viol = (d_viol / scale[:, None]).sum(axis=0) if len(scale) else np.zeros(len(u))
        dcost = (cost[u, dst] - cost[u, src]) / cost_scale
        if repairing:
            score = np.where(d_viol < -tol, dcost / np.maximum(-d_viol, tol), np.inf)
        else:
            score = np.where((d_viol <= tol) & (dcost < -1e-9), dcost, np.inf)
        best = int(np.argmin(score))
        if not np.isfinite(score[best]):
            if repairing and _chain(problem, graph, roots, a, values, lower, upper, scale, allowed, locked):
                loads = values.loads(a, k)
                movable = {j: _movable(graph, a, j, int(roots[j])) for j in range(k)}
                continue
            break
        i, s, t = int(u[best]), int(src[best]), int(dst[best])
        loads[:, s] -= values.at([i], [s])[:, 0]
        loads[:, t] += values.at([i], [t])[:, 0]
        a[i] = t
        movable[s] = _movable(graph, a, s, int(roots[s]))
        movable[t] = _movable(graph, a, t, int(roots[t]))
    return a


def _chain(problem, graph, roots, a, values, lower, upper, scale, allowed, locked, max_targets: int = 30) -> bool:
    """An ejection chain that lowers the band violation when no single shift does.

    From the worst violated territory v, search the territory adjacency breadth first:
    an over-full v passes a boundary unit to a neighbour, which passes one on, …, until
    a territory with room takes the last one (an under-full v pulls units the same way,
    reversed). Every unit moved leaves its territory connected and lands next to its new
    territory, so contiguity holds throughout. Applies (in place) the first chain that
    lowers the total violation; returns whether one was found.
    """
    k = problem.k
    loads = values.loads(a, k)
    viol = (_violation(loads, lower, upper) / scale[:, None]).sum(axis=0)
    before = float(viol.sum())
    # territory adjacency: (p, q) -> boundary units of p touching q
    touching: dict[tuple[int, int], list[int]] = {}
    for x, y in graph.edges():
        for p_, q_, unit in ((a[x], a[y], x), (a[y], a[x], y)):
            if p_ != q_ and not locked[unit] and allowed[unit, q_]:
                touching.setdefault((int(p_), int(q_)), []).append(int(unit))
    for v in np.argsort(-viol):
        if viol[v] <= REPAIR_TOL:
            break
        over = bool((loads[:, v] > upper[:, v]).any())
        if _chain_from(int(v), over, graph, roots, a, values, lower, upper, scale, viol, touching, before, max_targets):
            return True
    return False


def _chain_from(v, over, graph, roots, a, values, lower, upper, scale, viol, touching, before, max_targets) -> bool:
    k = len(roots)
    parent = {v: None}
    order = [v]
    tried = 0
    for p_ in order:
        for q_ in range(k):
            key = (p_, q_) if over else (q_, p_)
            if q_ in parent or key not in touching:
                continue
            parent[q_] = p_
            order.append(q_)
            path = [q_]
            while parent[path[-1]] is not None:
                path.append(parent[path[-1]])
            path = path[::-1]  # v … q_
            trial = a.copy()
            steps = list(zip(path[:-1], path[1:], strict=True))
            # Apply from the far end, so each giver still holds its unit when it gives.
            ok = True
            for giver_next in reversed(steps):
                giver, taker = giver_next if over else giver_next[::-1]
                movable = _movable(graph, trial, giver, int(roots[giver]))
                cands = [unit for unit in touching.get((giver, taker), []) if unit in movable and trial[unit] == giver
                         and any(trial[w] == taker for w in graph.neighbors(unit))]
                if not cands:
                    ok = False
                    break
                # Greedy: the unit after whose move the plan's violation is least.
                base_loads = values.loads(trial, k)
                vg, vt = values.at(cands, np.full(len(cands), giver)), values.at(cands, np.full(len(cands), taker))
                lg = base_loads[:, [giver]] - vg
                lt = base_loads[:, [taker]] + vt
                score = (
                    (_violation(lg, lower[:, [giver]], upper[:, [giver]]) + _violation(lt, lower[:, [taker]], upper[:, [taker]]))
                    / scale[:, None]
                ).sum(axis=0)
                unit = cands[int(np.argmin(score))]
                trial[unit] = taker
            if ok:
                after = (_violation(values.loads(trial, k), lower, upper) / scale[:, None]).sum()
                if after < before - REPAIR_TOL:
                    a[:] = trial
                    return True
            tried += 1
            if tried >= max_targets:
                return False
    return False


# ------------------------------------------------------------------------- solve


def with_roots(problem: AssignmentProblem, roots: np.ndarray) -> AssignmentProblem:
    """The problem with x_{root(j), j} = 1 for every territory j (clashing locks are an error)."""
    fixed = np.full(problem.n, -1, dtype=int) if problem.fixed is None else problem.fixed.copy()
    for j, r in enumerate(roots):
        if fixed[r] not in (-1, j):
            raise InputError(
                f"unit {problem.unit_ids[r]} holds the home of {problem.territory_ids[j]} (its root for "
                f"contiguity) but is locked to {problem.territory_ids[fixed[r]]}",
                column="locked_rep_id",
                fix="unlock that unit's accounts, or plan with contiguity: false",
            )
        fixed[r] = j
    return replace(problem, fixed=fixed)


def solve_contiguous(
    problem: AssignmentProblem,
    graph: nx.Graph,
    roots: np.ndarray,
    *,
    backend: str = "auto",
    time_limit: float = 60.0,
    mip_gap: float = 1e-3,
    seed: int = 0,
    threads: int | None = None,
    progress=None,
    verbose: bool = False,
    repair: bool = True,
    lp_cuts: bool = True,
    early_gap: float = 0.01,
    restricted_share: float = 0.4,
    max_rounds: int = 1000,
    incumbent: np.ndarray | None = None,
) -> Solution:
    """Best contiguous plan within the time limit, by the separator-cut loop (module docstring).

    ``incumbent``: a plan to start from (a territory per unit), kept as the first plan when
    it is contiguous and keeps every constraint, else its repair (bands, then contiguity)
    when that does; the result is then never worse than it.

    ``repair=False`` turns off the contiguity repair of each round's plan (for measuring
    what it buys). The returned Solution's ``log`` lists each round: cuts added, MIP
    objective, best contiguous objective, bound, seconds.
    """
    from territory_planner.optimize.backends import SolveOptions, solve_lp_relaxation
    from territory_planner.optimize.exact import build_assignment_model
    from territory_planner.optimize.solve import solve_problem

    t0 = time.perf_counter()
    deadline = t0 + time_limit
    roots = np.asarray(roots, dtype=int)
    k = problem.k
    if len(set(roots.tolist())) != k:
        raise ValueError("every territory needs its own root unit")
    _check_rooted(problem, graph, roots)
    base = with_roots(problem, roots)
    cuts: list = []
    best, best_obj = None, math.inf
    bound = -math.inf
    status, backend_used = "time_limit", "heuristic"
    log: list[str] = []

    def offer(candidate):
        nonlocal best, best_obj
        if candidate is None or base.violations(candidate) or not is_contiguous(graph, candidate, k):
            return
        value = base.objective(candidate)
        if value < best_obj - 1e-9:
            best, best_obj = np.asarray(candidate, int), value

    if incumbent is not None:
        given = np.asarray(incumbent, dtype=int)
        offer(given)
        if best is None and repair and given.shape == (base.n,):
            from territory_planner.optimize.solve import start_plan

            banded = start_plan(base, given)
            offer(repair_contiguity(base, graph, roots, banded if banded is not None else given))
    if repair:
        from territory_planner.optimize.heuristics import cheapest_assignment

        start = cheapest_assignment(base)
        offer(repair_contiguity(base, graph, roots, start))
    if restricted_share > 0:
        # A contiguous incumbent from the shortest-path restriction: it makes reduced-cost
        # fixing bite and often closes most of the gap before the first cut round.
        try:
            model = replace(base, rows=base.rows + (shortest_path_rows(graph, roots, base.n, k),))
            sol = solve_problem(
                model, backend=backend, time_limit=max(1.0, restricted_share * time_limit), mip_gap=max(mip_gap, early_gap),
                seed=seed, threads=threads, verbose=verbose, incumbent=best,
            )
            offer(sol.assignment)
            if repair:  # contiguity-keeping shifts that lower cost
                offer(repair_contiguity(base, graph, roots, sol.assignment))
            log.append(f"shortest-path restriction: {sol.objective:,.1f} ({sol.status}), after shifts {best_obj:,.1f}, {time.perf_counter() - t0:.1f} s")
            logger.info(log[-1])
        except (InfeasibleError, NoPlanFoundError):
            log.append("shortest-path restriction: no plan")
    rounds = lp_rounds = 0
    known: set = set()

    def add(new_cuts) -> list:
        fresh = [c for c in new_cuts if c not in known]
        known.update(fresh)
        cuts.extend(fresh)
        return fresh

    try:
        # Round 0: cut the LP relaxation until its threshold graphs are connected; this
        # tightens the bound every MIP round starts from.
        while lp_cuts and lp_rounds < 30 and time.perf_counter() < t0 + 0.15 * time_limit:
            model = replace(base, rows=base.rows + ((cut_rows(cuts, base.n, k),) if cuts else ()))
            am = build_assignment_model(model)
            lp = solve_lp_relaxation(am.model, SolveOptions(time_limit=max(1.0, deadline - time.perf_counter()), seed=seed, threads=threads))
            if lp.x is None:
                break
            bound = max(bound, lp.objective)
            x = np.zeros((base.n, k))
            x[am.pair_unit, am.pair_territory] = lp.x[: len(am.pair_unit)]
            fresh = add(fractional_cuts(graph, x, roots))
            lp_rounds += 1
            if not fresh:
                break
        if lp_rounds:
            logger.info(f"LP: {lp_rounds} rounds, {len(cuts)} cuts, bound {bound:,.1f}")
            log.append(f"LP: {lp_rounds} rounds, {len(cuts)} cuts, bound {bound:,.1f}, {time.perf_counter() - t0:.1f} s")
        while rounds < max_rounds:
            remaining = deadline - time.perf_counter()
            if remaining < 0.5:
                break
            rounds += 1
            model = replace(base, rows=base.rows + ((cut_rows(cuts, base.n, k),) if cuts else ()))
            # Early rounds only need a good plan to cut, not a proof: solve them to a
            # looser gap; once a contiguous plan is known, solve to the requested gap.
            round_gap = mip_gap if best is not None else max(mip_gap, early_gap)
            sol = solve_problem(
                model, backend=backend, time_limit=remaining, mip_gap=round_gap, seed=seed, threads=threads,
                progress=progress, verbose=verbose, incumbent=best, use_lp=_USE_LP,
            )
            backend_used = sol.backend
            if np.isfinite(sol.bound):
                bound = max(bound, sol.bound)
            plan = sol.assignment
            new = separator_cuts(graph, plan, roots, k)
            if not new:
                offer(plan)
            else:
                add(new)
                if repair:
                    offer(repair_contiguity(base, graph, roots, plan))
            log.append(
                f"round {rounds}: MIP {sol.objective:,.1f} ({sol.status}), {len(new)} cuts added "
                f"({len(cuts)} in all), best contiguous {best_obj:,.1f}, bound {bound:,.1f}, "
                f"{time.perf_counter() - t0:.1f} s"
            )
            logger.info(log[-1])
            if sol.status == "interrupted":
                status = "interrupted"
                break
            if best is not None and best_obj - bound <= mip_gap * abs(best_obj) + 1e-9:
                status = "optimal"
                break
            if not new and sol.status == "optimal" and round_gap <= mip_gap:
                status = "optimal"
                break
            if sol.status != "optimal" and deadline - time.perf_counter() < 0.5:
                break
    except KeyboardInterrupt:
        status = "interrupted"
    except InfeasibleError:
        if best is None:
            raise
    if best is None:
        if status == "interrupted":
            raise KeyboardInterrupt
        raise NoPlanFoundError(
            Diagnosis(
                f"no contiguous plan found in {time_limit:g} s ({rounds} cut rounds)",
                [Conflict(CUT_LABEL, "the cut loop ended without a connected plan that keeps every band",
                          "raise solver.time_limit, loosen the balance tolerance, or plan with contiguity: false")],
            )
        )
    bound = min(bound, best_obj)
    return Solution(
        assignment=best,
        status=status,
        objective=best_obj,
        bound=bound,
        backend=backend_used,
        seconds=time.perf_counter() - t0,
        log=tuple(log) + (f"contiguity: {rounds} rounds, {len(cuts)} separator cuts",),
    )


def _check_rooted(problem: AssignmentProblem, graph: nx.Graph, roots: np.ndarray) -> None:
    """Every graph component needs a root, or its units can join no territory."""
    rooted = set(roots.tolist())
    for comp in nx.connected_components(graph):
        if not comp & rooted:
            ids = ", ".join(str(problem.unit_ids[i]) for i in sorted(comp)[:5])
            raise InfeasibleError(
                Diagnosis(
                    "some units are cut off from every rep home, so no contiguous territory can hold them",
                    [Conflict("contiguity and barriers", f"{len(comp)} unit(s) ({ids}) have no rep home on their side of the barriers",
                              "remove a barrier, or add a rep on that side")],
                )
            )
