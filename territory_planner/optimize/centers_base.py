"""What every capacitated p-median (CPMP) method shares: the solution, allocation, re-centering.

:class:`CenterSolution` is what :func:`~territory_planner.optimize.centers.solve_centers`
returns; :func:`allocate` assigns accounts to a given set of open sites (a small GAP
MIP), :func:`recenter` moves each center to the 1-median of its territory and
:func:`spread_centers` spreads first centers by demand. The exact method
(:mod:`~territory_planner.optimize.centers_exact`) and the large one
(:mod:`~territory_planner.optimize.centers_large`) build on these.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from territory_planner.errors import Conflict, Diagnosis, InfeasibleError
from territory_planner.optimize.backends import SolveOptions, solve_model, stop_if_interrupted
from territory_planner.optimize.exact import MatrixModel

Progress = Callable[[float, float, float], None]  # (objective, bound, seconds)

_NO_PLAN = Diagnosis("no capacity-feasible choice of centers was found", [
    Conflict("territories.capacity", "no plan found within it", "raise the capacity, the number of centers or solver.time_limit"),
])

#: Account × site pairs above which ``method="auto"`` takes the location–allocation path of
#: :mod:`territory_planner.optimize.centers_large` (the DP tables and the MIP below grow
#: out of reach beyond a few hundred accounts).
LARGE_PAIRS = 100_000

#: Largest number of DP cells (sites × items × capacity steps) per Lagrangian iteration.
DP_CELL_BUDGET = 4e7


@dataclass(frozen=True)
class CenterSolution:
    """The chosen centers and the assignment, with what was proved about them.

    ``centers`` are sorted indices into the *columns of the cost matrix* (candidate
    sites); ``assignment[i]`` is the column index (not the position in ``centers``) of
    the site serving account i. ``bound`` is a proven lower bound on the optimum.
    """

    centers: np.ndarray
    assignment: np.ndarray
    objective: float
    bound: float
    status: str  # optimal | time_limit | feasible (search ended early, no proof) | interrupted
    seconds: float
    backend: str
    lagrangian_bound: float = -math.inf
    fixed_share: float = 0.0  # share of (account, site) pairs removed by exact fixing
    build_seconds: float = 0.0
    lagrangian_seconds: float = 0.0

    @property
    def gap(self) -> float:
        if not np.isfinite(self.bound):
            return math.inf
        return max(0.0, (self.objective - self.bound) / max(abs(self.objective), 1e-9))


# --------------------------------------------------------------------------- allocation


def allocate(cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, centers: np.ndarray,
             *, time_limit: float = 10.0, seed: int = 0, per_account: int | None = None,
             every_center_used: bool = False, mip_gap: float = 1e-6,
             cutoff: float = math.inf) -> tuple[np.ndarray | None, float]:
    """Best assignment of every account to one of ``centers`` within capacity (a GAP MIP).

    ``per_account``: only each account's nearest centers (doubled while that has no plan;
    default every center). ``every_center_used``: each center serves someone (the plan
    keeps exactly these centers). ``cutoff``: only a plan cheaper than this is wanted (an
    incumbent's cost); the MIP prunes everything else, so (None, inf) then also means
    "nothing cheaper with these centers".
    Returns (assignment as column indices, cost), or (None, inf) if none was found.
    """
    centers = np.asarray(centers, dtype=int)
    n, p = cost.shape[0], len(centers)
    if demand.sum() > capacity[centers].sum() + 1e-9:
        return None, math.inf
    sub = cost[:, centers]
    t_end = time.perf_counter() + time_limit
    R = min(p, per_account or p)
    while True:
        near = np.argpartition(sub, R - 1, axis=1)[:, :R] if R < p else np.tile(np.arange(p), (n, 1))
        unit = np.repeat(np.arange(n), near.shape[1])
        site = near.ravel()
        fits = demand[unit] <= capacity[centers][site] + 1e-9
        unit, site = unit[fits], site[fits]
        x = _gap_mip(sub[unit, site], unit, site, demand, capacity[centers], n,
                     max(0.5, t_end - time.perf_counter()), seed, every_center_used, mip_gap, cutoff)
        if x is not None:
            assignment = np.full(n, -1, dtype=int)
            assignment[unit[x]] = centers[site[x]]
            value = float(cost[np.arange(n), assignment].sum()) if (assignment >= 0).all() else math.inf
            # Past a cutoff HiGHS may report any plan it met, even a poor one: not wanted.
            if value < cutoff:
                return assignment, value
        if R >= p or time.perf_counter() > t_end:
            return None, math.inf
        R = min(p, 2 * R)


def _gap_mip(c, unit, site, demand, cap, n, time_limit, seed, every_center_used, mip_gap, cutoff=math.inf):
    nv = len(unit)
    p = len(cap)
    if nv == 0 or np.bincount(unit, minlength=n).min() == 0:
        return None
    cols = np.arange(nv)
    # Every account served once; every center within capacity (and serving someone).
    blocks = [sp.csr_matrix((np.ones(nv), (unit, cols)), shape=(n, nv)),
              sp.csr_matrix((demand[unit], (site, cols)), shape=(p, nv))]
    lo, hi = [np.ones(n), np.full(p, -np.inf)], [np.ones(n), cap]
    if every_center_used:
        blocks.append(sp.csr_matrix((np.ones(nv), (site, cols)), shape=(p, nv)))
        lo.append(np.ones(p))
        hi.append(np.full(p, np.inf))
    model = MatrixModel(c=np.asarray(c, float), A=sp.vstack(blocks, format="csr"), row_lo=np.concatenate(lo),
                        row_hi=np.concatenate(hi), col_lo=np.zeros(nv), col_hi=np.ones(nv),
                        integer=np.ones(nv, dtype=bool))
    # HiGHS prunes every node whose bound reaches the cutoff: proving that no cheaper plan
    # exists is much faster than finding the best plan of these centers.
    extra = (("objective_bound", float(cutoff)),) if math.isfinite(cutoff) else ()
    res = solve_model(model, "highs", SolveOptions(time_limit=time_limit, mip_gap=mip_gap, seed=seed, highs_options=extra))
    stop_if_interrupted(res)
    return None if res.x is None else res.x > 0.5


def _feasible(cost, demand, capacity, assignment, p) -> bool:
    centers = np.unique(assignment)
    if len(centers) > p:
        return False
    load = np.bincount(assignment, weights=demand, minlength=cost.shape[1])
    return bool(np.all(load <= capacity + 1e-9))


def recenter(cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, assignment: np.ndarray,
             open_ok: np.ndarray, same: bool = False) -> np.ndarray:
    """Each center moved to the 1-median of its territory (when that site can hold the
    territory and is no other center): among all candidate sites, or with ``same`` (site j
    is account j) among the territory's own accounts."""
    centers = np.unique(assignment)
    order = np.argsort(assignment, kind="stable")
    bounds = np.searchsorted(assignment[order], centers)
    ends = np.r_[bounds[1:], len(order)]
    taken = set(centers.tolist())
    out = []
    for j, a, b in zip(centers, bounds, ends, strict=True):
        members = order[a:b]
        load = demand[members].sum()
        cand = members if same else np.flatnonzero(open_ok)
        cand = cand[open_ok[cand] & (capacity[cand] >= load - 1e-9)]
        best = int(j)
        if len(cand):
            total = cost[np.ix_(members, cand)].sum(axis=0)
            here = cost[members, j].sum()
            pick = int(np.argmin(total))
            if total[pick] < here - 1e-9 and int(cand[pick]) not in taken:
                best = int(cand[pick])
                taken.discard(int(j))
                taken.add(best)
        out.append(best)
    return np.array(sorted(out), dtype=int)


def spread_centers(cost: np.ndarray, demand: np.ndarray, p: int, open_ok: np.ndarray) -> np.ndarray:
    """p sites chosen greedily for the uncapacitated p-median (add the site that saves most)."""
    n, m = cost.shape
    cand = np.flatnonzero(open_ok)
    weight = np.maximum(demand, 1e-9)
    best = np.full(n, np.inf)
    chosen: list[int] = []
    for _ in range(p):
        if not chosen:
            score = (cost[:, cand] * weight[:, None]).sum(axis=0)
        else:
            score = (np.minimum(best[:, None], cost[:, cand]) * weight[:, None]).sum(axis=0)
        score[np.isin(cand, chosen)] = np.inf
        j = int(cand[int(np.argmin(score))])
        chosen.append(j)
        best = np.minimum(best, cost[:, j])
    return np.array(sorted(chosen), dtype=int)


def all_integers(*arrays: np.ndarray) -> bool:
    """Every value of every array is an integer (within 1e-9)."""
    return all(bool(np.all(np.abs(a - np.round(a)) < 1e-9)) for a in arrays)



def prepare(cost, demand, capacity, p: int, candidates=None):
    """(cost (n, m), demand (n,), capacity (m,), open_ok (m,)) as float arrays, checked.

    Raises ValueError when ``p`` is not between 1 and the number of candidate sites, and
    :class:`~territory_planner.errors.InfeasibleError` when the ``p`` largest capacities
    cannot hold the total demand.
    """
    cost = np.asarray(cost, dtype=float)
    n, m = cost.shape
    demand = np.asarray(demand, dtype=float).reshape(n)
    capacity = np.broadcast_to(np.asarray(capacity, dtype=float), (m,)).copy()
    open_ok = np.ones(m, dtype=bool)
    if candidates is not None:
        cand = np.asarray(candidates)
        open_ok = cand.astype(bool) if cand.dtype == bool else np.isin(np.arange(m), cand.astype(int))
    if not 1 <= p <= int(open_ok.sum()):
        raise ValueError(f"p = {p} centers must be between 1 and the number of candidate sites ({int(open_ok.sum())})")
    top = np.sort(capacity[open_ok])[::-1][:p].sum()
    if demand.sum() > top + 1e-9:
        raise InfeasibleError(Diagnosis(
            "the chosen centers cannot hold the total workload",
            [Conflict("capacity", f"total workload {demand.sum():,.6g} exceeds the {p} largest capacities ({top:,.6g})",
                      "open more centers or raise the capacity")],
        ))
    return cost, demand, capacity, open_ok
