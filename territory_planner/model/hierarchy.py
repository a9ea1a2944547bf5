"""Sales hierarchy: regions ⊃ districts ⊃ territories, each level balanced.

The reps file says where each territory sits (columns named in the scenario, e.g.
``region`` and ``district``). For every group g at a level, the sum of an activity over
the group's territories stays within ±τ of the group's fair share, μ_g = total × (number
of territories in g) / k — nested balance (FIELD.md §3, "Hierarchy"), solved in one
model rather than top-down, so no level is sacrificed for another.

Scenario::

    hierarchy:
      levels: [region, district]          # reps columns, outermost first
      balance: {potential: 0.03}          # ± share of each group's fair share
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from territory_planner.errors import ScenarioError
from territory_planner.optimize.problem import PairConstraint


def group_rows(
    values: np.ndarray,
    group_of_territory: np.ndarray,
    tolerance: float,
    *,
    label: str,
    targets: np.ndarray | None = None,
) -> PairConstraint:
    """One row per group: (1 − τ)·μ_g ≤ Σ_i Σ_{j∈g} a_i x_ij ≤ (1 + τ)·μ_g.

    ``group_of_territory`` holds a group code per territory; ``targets`` are
    per-territory shares of the total (default equal), so μ_g = total × Σ_{j∈g} share_j.
    """
    values = np.asarray(values, dtype=float)
    n, k = len(values), len(group_of_territory)
    codes, group = np.unique(np.asarray(group_of_territory), return_inverse=True)
    share = np.full(k, 1.0 / k) if targets is None else np.asarray(targets, float) / np.sum(targets)
    mu = values.sum() * np.bincount(group, weights=share, minlength=len(codes))
    # Column i·k + j carries a_i in the row of j's group.
    cols = (np.arange(n)[:, None] * k + np.arange(k)[None, :]).ravel()
    rows = np.broadcast_to(group[None, :], (n, k)).ravel()
    data = np.broadcast_to(values[:, None], (n, k)).ravel()
    A = sp.csr_matrix((data, (rows, cols)), shape=(len(codes), n * k))
    return PairConstraint(label, "hierarchy", A, (1 - tolerance) * mu, (1 + tolerance) * mu)


def hierarchy_constraints(spec, accounts: pd.DataFrame, reps: pd.DataFrame, *, file=None) -> list[PairConstraint]:
    """The nested balance rows of a scenario's ``hierarchy`` section."""
    if spec is None:
        return []
    out: list[PairConstraint] = []
    for level in spec.levels:
        if level not in reps.columns:
            raise ScenarioError(
                f"hierarchy level '{level}' is not a column of the reps file",
                file=file,
                column="hierarchy.levels",
                fix=f"add a '{level}' column to the reps file, or use one of: {', '.join(c for c in reps.columns if not c.startswith('_'))}",
            )
        groups = reps[level].astype(str).to_numpy()
        blank = np.flatnonzero(reps[level].isna().to_numpy() | (groups == ""))
        if len(blank):
            raise ScenarioError(
                f"rep {reps['rep_id'].iloc[blank[0]]} has no '{level}'",
                file=file,
                column=level,
                fix=f"fill in the {level} of every rep",
            )
        for column, tolerance in spec.balance.items():
            out.append(
                group_rows(
                    accounts[column].to_numpy(dtype=float),
                    groups,
                    tolerance,
                    label=f"{level} balance of {column} ±{tolerance * 100:g}%",
                )
            )
    return out


def group_table(territories: pd.DataFrame, reps: pd.DataFrame, level: str, columns: list[str]) -> pd.DataFrame:
    """Totals and deviation from the fair share for each group of a level."""
    t = territories.assign(**{level: reps[level].astype(str).to_numpy()})
    g = t.groupby(level, sort=True).agg(n_territories=("territory_id", "size"), **{c: (c, "sum") for c in columns})
    k = len(territories)
    for c in columns:
        fair = t[c].sum() * g["n_territories"] / k
        g[f"{c}_dev_pct"] = 100.0 * (g[c] - fair) / fair.where(fair > 0)
    return g.reset_index()
