"""The territory design MIP in matrix form, one builder per constraint family.

Variables are x_ij for the *allowed* pairs only (locks and exclusions shrink the model
instead of adding rows). Rows are built as numpy arrays and handed to the backend in
bulk (STYLE.md habit 7): no per-coefficient Python objects.

    min  Σ_ij c_ij x_ij
    s.t. Σ_j x_ij = 1                         for every unit i        (assignment)
         L_bj ≤ Σ_i a_bi x_ij ≤ U_bj          for every band b, j     (balance, capacity)
         x_ij ∈ {0, 1}
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from territory_planner.optimize.problem import AssignmentProblem


@dataclass
class RowGroup:
    """A named block of rows, so a diagnosis can speak of constraints by family."""

    label: str
    kind: str  # assignment | balance | capacity | ...
    start: int
    stop: int
    territory_of_row: np.ndarray | None = None  # (stop-start,) territory index, for band rows


@dataclass
class MatrixModel:
    """A MIP ``min c·x  s.t.  row_lo ≤ A x ≤ row_hi,  col_lo ≤ x ≤ col_hi`` with integrality."""

    c: np.ndarray
    A: sp.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    integer: np.ndarray  # bool per column
    groups: list[RowGroup] = field(default_factory=list)
    offset: float = 0.0

    @property
    def n_cols(self) -> int:
        return len(self.c)

    @property
    def n_rows(self) -> int:
        return self.A.shape[0]


@dataclass
class AssignmentModel:
    """The MIP of an ``AssignmentProblem`` with the map between columns and (unit, territory)."""

    problem: AssignmentProblem
    model: MatrixModel
    pair_unit: np.ndarray  # (nv,) unit index of each x column
    pair_territory: np.ndarray  # (nv,) territory index of each x column

    def assignment_from(self, x: np.ndarray) -> np.ndarray:
        """Turn a 0/1 (or near) column vector into a territory per unit (largest x wins)."""
        out = np.full(self.problem.n, -1, dtype=int)
        xs = np.asarray(x[: len(self.pair_unit)], dtype=float)
        order = np.lexsort((xs, self.pair_unit))  # by unit, then x ascending
        units = self.pair_unit[order]
        last = np.r_[np.flatnonzero(np.diff(units)), len(order) - 1]
        out[units[last]] = self.pair_territory[order][last]
        return out

    def columns_from(self, assignment: np.ndarray) -> np.ndarray:
        """0/1 column vector of an assignment (for warm starts); pairs not in the model are dropped."""
        x = np.zeros(self.model.n_cols)
        x[: len(self.pair_unit)] = (assignment[self.pair_unit] == self.pair_territory).astype(float)
        return x


def assignment_rows(pair_unit: np.ndarray, n: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Σ_j x_ij = 1: every unit in exactly one territory."""
    nv = len(pair_unit)
    A = sp.csr_matrix((np.ones(nv), (pair_unit, np.arange(nv))), shape=(n, nv))
    return A, np.ones(n), np.ones(n)


def band_rows(values, lower, upper, pair_unit, pair_territory, k):
    """L_j ≤ Σ_i a_i x_ij ≤ U_j for each territory j with a finite bound (a_ij if per pair)."""
    nv = len(pair_unit)
    coef = values[pair_unit] if values.ndim == 1 else values[pair_unit, pair_territory]
    A = sp.csr_matrix((coef, (pair_territory, np.arange(nv))), shape=(k, nv))
    keep = np.flatnonzero(np.isfinite(lower) | np.isfinite(upper))
    return A[keep], lower[keep], upper[keep], keep


def build_assignment_model(problem: AssignmentProblem) -> AssignmentModel:
    """The full MIP of a problem, over its allowed pairs."""
    mask = problem.allowed_mask()
    pair_unit, pair_territory = np.nonzero(mask)
    n, k = problem.n, problem.k
    empty = np.flatnonzero(~mask.any(axis=1))
    if len(empty):
        from territory_planner.errors import Conflict, Diagnosis, InfeasibleError

        ids = ", ".join(map(str, problem.unit_ids[empty[:5]]))
        raise InfeasibleError(
            Diagnosis(
                f"{len(empty)} unit(s) may go to no territory at all",
                [Conflict("locks and exclusions", f"no territory is allowed for {ids}", "allow at least one territory for each")],
            )
        )
    blocks = []
    lows = []
    highs = []
    groups: list[RowGroup] = []
    A, lo, hi = assignment_rows(pair_unit, n)
    blocks.append(A)
    lows.append(lo)
    highs.append(hi)
    groups.append(RowGroup("every account in exactly one territory", "assignment", 0, n))
    row = n
    for band in problem.bands:
        A, lo, hi, terr = band_rows(band.values, band.lower, band.upper, pair_unit, pair_territory, k)
        if A.shape[0] == 0:
            continue
        blocks.append(A)
        lows.append(lo)
        highs.append(hi)
        groups.append(RowGroup(band.label, band.kind, row, row + A.shape[0], terr))
        row += A.shape[0]
    for pc in problem.rows:
        A = pc.A.tocsc()[:, pair_unit * k + pair_territory].tocsr()
        blocks.append(A)
        lows.append(pc.lower)
        highs.append(pc.upper)
        groups.append(RowGroup(pc.label, pc.kind, row, row + A.shape[0]))
        row += A.shape[0]
    nv = len(pair_unit)
    model = MatrixModel(
        c=problem.cost[pair_unit, pair_territory].astype(float),
        A=sp.vstack(blocks, format="csr"),
        row_lo=np.concatenate(lows),
        row_hi=np.concatenate(highs),
        col_lo=np.zeros(nv),
        col_hi=np.ones(nv),
        integer=np.ones(nv, dtype=bool),
        groups=groups,
    )
    return AssignmentModel(problem, model, pair_unit, pair_territory)
