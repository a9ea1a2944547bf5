"""Choose territory centers: the capacitated p-median problem (CPMP), exactly or at scale.

Sets: accounts i = 1..n with demand d_i (workload), candidate sites j = 1..m with
capacity Q_j, cost c_ij of serving i from j. Pick exactly p sites and give every
account to one open site within its capacity, at least total cost (FIELD.md §3):

    min  Σ_ij c_ij x_ij
    s.t. Σ_j x_ij = 1            every account served once
         x_ij ≤ y_j              only by an open site
         Σ_i d_i x_ij ≤ Q_j y_j  within capacity
         Σ_j y_j = p,  Σ_j Q_j y_j ≥ Σ_i d_i   (cover cut)
         x, y ∈ {0, 1}

:func:`solve_centers` is the one entry point. It takes the exact method
(:mod:`~territory_planner.optimize.centers_exact`: Lagrangian bound, exact fixing, column
and cut generation; proves optimality on a few hundred accounts) or, above
:data:`~territory_planner.optimize.centers_base.LARGE_PAIRS` pairs, the location–allocation
method of :mod:`~territory_planner.optimize.centers_large` (MIP neighbourhoods and local
search moves from :mod:`~territory_planner.optimize.centers_moves`, a Lagrangian bound).
Both return a :class:`~territory_planner.optimize.centers_base.CenterSolution`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from territory_planner.optimize.centers_base import LARGE_PAIRS, CenterSolution, Progress, prepare
from territory_planner.optimize.centers_exact import solve_centers_exact
from territory_planner.optimize.centers_large import solve_centers_large

__all__ = ["CenterSolution", "LARGE_PAIRS", "solve_centers"]


def solve_centers(
    cost,
    demand,
    capacity,
    p: int,
    *,
    candidates=None,
    time_limit: float = 60.0,
    mip_gap: float = 1e-4,
    seed: int = 0,
    backend: str = "auto",
    progress: Progress | None = None,
    max_iterations: int = 150,
    method: str = "auto",
    log: Callable[[str], None] | None = None,
    sites_are_accounts: bool | None = None,
    start: np.ndarray | None = None,
    _compact_mip: bool = True,
) -> CenterSolution:
    """Choose ``p`` centers among the candidate sites and assign every account (CPMP).

    Parameters
    ----------
    cost : (n, m) cost of serving account i from site j (m = n when every account is a
        candidate; any matrix: distances, weighted distances, benchmark integers).
    demand : (n,) workload of each account.
    capacity : scalar or (m,) capacity of each site.
    p : number of centers to open.
    candidates : optional column indices (or an (m,) bool mask) of the sites that may
        open; default all columns.
    method : ``exact`` (this module: Lagrangian bound, fixing, MIP; proves optimality on
        a few hundred accounts), ``large`` (location–allocation with MIP neighbourhoods
        and a Lagrangian bound, for thousands), or ``auto`` (large above
        :data:`LARGE_PAIRS` pairs).
    sites_are_accounts : column j is the account in row j (default: a square matrix).
    start : optional plan (the site of each account, (n,) column indices) for the exact
        method to start from instead of its own first allocation, e.g. one found by the
        ``large`` method (which uses it so); the large method does not take one.

    Returns a :class:`CenterSolution`; ``bound`` is proven, ``status`` is ``optimal``
    when the gap is closed within ``mip_gap``.

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.array([[0, 0], [1, 0], [10, 0], [11, 0]])
    >>> cost = np.abs(xy[:, None, 0] - xy[None, :, 0]).astype(float)
    >>> s = solve_centers(cost, np.ones(4), 2, p=2)
    >>> s.objective, s.status, len(s.centers)
    (2.0, 'optimal', 2)
    """
    cost, demand, capacity, open_ok = prepare(cost, demand, capacity, p, candidates)
    n, m = cost.shape
    if method not in ("auto", "exact", "large"):
        raise ValueError(f"method must be auto, exact or large, not {method!r}")
    if method == "large" or method == "auto" and n * m > LARGE_PAIRS:
        return solve_centers_large(cost, demand, capacity, p, open_ok=open_ok, time_limit=time_limit, seed=seed,
                                   progress=progress, log=log, sites_are_accounts=sites_are_accounts)
    return solve_centers_exact(cost, demand, capacity, p, candidates=open_ok, time_limit=time_limit, mip_gap=mip_gap,
                               seed=seed, backend=backend, progress=progress, max_iterations=max_iterations, log=log,
                               sites_are_accounts=sites_are_accounts, start=start, _compact_mip=_compact_mip)
