"""The solver-neutral territory design problem: arrays only.

Units i (accounts or geographic units) are assigned to territories j. Every unit goes to
exactly one territory; the cost of giving i to j is ``cost[i, j]`` (distance × weight, or
any matrix the caller brings, e.g. travel times or a benchmark's integer distances).
Side constraints are *bands*: for each territory j, ``lower[j] <= Σ_i values[i]·x_ij <=
upper[j]``. Balance (Ríos-Mercado & Fernández 2009) and capacity are both bands, so the
model, the diagnosis and the checks treat them alike.

Geography, files and benchmarks each turn their input into an ``AssignmentProblem``
(spopt's ``from_cost_matrix`` habit); the model builders never see a DataFrame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

#: A sum counts as inside its bounds when it lies at most this share of the constraint's
#: own width beyond them (a balance band's upper − lower; a one-sided bound's magnitude,
#: e.g. a rep's capacity_hours): far below anything a planner reads, and far below what a
#: solver's feasibility tolerance (1e-6 to 1e-7, absolute) would let through on a tight band.
FEASIBILITY_TOL = 1e-9
#: ...and never less than the floating-point noise of summing the values (relative to the
#: bound and the largest coefficient); it matters only for bands narrower than ~1e-4.
ROUNDING_TOL = 1e-13
#: A heuristic move must lower the normalised band violation by more than this to count:
#: round-off only, since a violation as small as the plan check's slack must still be repaired.
REPAIR_TOL = 1e-15


def bound_slack(lower, upper, coefficient_scale: float = 0.0) -> np.ndarray:
    """How far outside ``[lower, upper]`` a row's activity may lie and still be inside.

    ``FEASIBILITY_TOL`` × the row's own width (two-sided) or × the magnitude of its one
    finite bound, floored by ``ROUNDING_TOL`` × (the bound's magnitude, or the largest
    coefficient). The same measure for every constraint, so "feasible" means one thing
    in the solver's checks, the heuristics and the final verification.

    >>> bound_slack(np.array([95.0]), np.array([105.0]))   # a ±5% band of mean 100
    array([1.e-08])
    >>> bound_slack(np.array([-np.inf]), np.array([1056.0]))  # capacity hours
    array([1.056e-06])
    """
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    lo_ok, hi_ok = np.isfinite(lower), np.isfinite(upper)
    magnitude = np.fmax(np.where(lo_ok, np.abs(lower), 0.0), np.where(hi_ok, np.abs(upper), 0.0))
    width = np.where(lo_ok & hi_ok, upper - lower, magnitude)
    return np.maximum(FEASIBILITY_TOL * width, ROUNDING_TOL * np.maximum(magnitude, coefficient_scale))


@dataclass(frozen=True)
class Band:
    """Per-territory bounds on the sum of one activity.

    ``label`` names the constraint in the planner's words ("balance of potential ±5%",
    "capacity hours"), so a diagnosis can say which one conflicts.
    """

    label: str
    kind: str  # "balance" | "capacity" | "target"
    column: str
    values: np.ndarray  # (n,), or (n, k) when a unit weighs differently in each territory (GAP)
    lower: np.ndarray  # (k,), -inf where unbounded
    upper: np.ndarray  # (k,), +inf where unbounded
    tolerance: float | None = None

    @property
    def per_pair(self) -> bool:
        return self.values.ndim == 2

    def weights(self, assignment: np.ndarray) -> np.ndarray:
        """(n,) what each unit weighs in the territory it is assigned to."""
        if self.per_pair:
            return self.values[np.arange(len(assignment)), assignment]
        return self.values

    def loads(self, assignment: np.ndarray, k: int) -> np.ndarray:
        """Σ_i values_i over the units of each territory."""
        return np.bincount(assignment, weights=self.weights(assignment), minlength=k)

    def violation(self, assignment: np.ndarray, k: int) -> np.ndarray:
        """How far each territory lies outside its band (0 where inside)."""
        load = self.loads(assignment, k)
        return np.maximum(self.lower - load, 0) + np.maximum(load - self.upper, 0)

    def slack(self) -> np.ndarray:
        """(k,) how far outside the band a load may lie and still count as inside (:func:`bound_slack`)."""
        return bound_slack(self.lower, self.upper, float(np.abs(self.values).max(initial=0.0)))

    def working_limits(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) widened by half of :meth:`slack`: the limits the heuristics aim for.

        A plan the heuristics keep inside these passes the plan check, with room for the
        round-off of their running loads.
        """
        half = 0.5 * self.slack()
        return self.lower - half, self.upper + half

    def breaches(self, assignment: np.ndarray, k: int, territory_ids) -> list[str]:
        """The territories outside this band, in words (empty when every one is inside)."""
        load = self.loads(assignment, k)
        over = np.maximum(self.lower - load, 0) + np.maximum(load - self.upper, 0)
        return [
            f"{self.label}: territory {territory_ids[j]} has {load[j]:.10g}, outside "
            f"[{self.lower[j]:.10g}, {self.upper[j]:.10g}]"
            for j in np.flatnonzero(over > self.slack())[:5]
        ]


@dataclass(frozen=True)
class PairConstraint:
    """General linear rows over the x_ij: ``lower ≤ A · x ≤ upper``.

    ``A`` is a sparse (m, n·k) matrix whose column ``i·k + j`` is the pair (i, j). Used for
    constraints that are not per-territory sums: continuity (Σ_i p_i x_{i,owner(i)} ≥ κ Σ p),
    contiguity cuts, hierarchy rows.
    """

    label: str
    kind: str  # "continuity" | "contiguity" | "hierarchy" | ...
    A: sp.csr_matrix
    lower: np.ndarray
    upper: np.ndarray

    def activity(self, assignment: np.ndarray, k: int) -> np.ndarray:
        cols = np.arange(len(assignment)) * k + assignment
        return np.asarray(self.A[:, cols].sum(axis=1)).ravel()

    def breaches(self, assignment: np.ndarray, k: int) -> list[str]:
        """The rows the assignment breaks, in words (:func:`bound_slack` of each row)."""
        act = self.activity(assignment, k)
        slack = bound_slack(self.lower, self.upper, float(np.abs(self.A.data).max(initial=0.0)))
        over = np.maximum(self.lower - act, 0) + np.maximum(act - self.upper, 0)
        return [f"{self.label}: {act[r]:.10g} outside [{self.lower[r]:.10g}, {self.upper[r]:.10g}]"
                for r in np.flatnonzero(over > slack)[:5]]


@dataclass(frozen=True)
class AssignmentProblem:
    """Assign n units to k territories at least cost within bands.

    ``allowed[i, j]`` False forbids a pair (exclusions, eligibility, max distance);
    ``fixed[i] = j`` locks unit i to territory j (-1 = free).
    """

    unit_ids: np.ndarray  # (n,) str
    territory_ids: np.ndarray  # (k,) str
    cost: np.ndarray  # (n, k) float
    bands: tuple[Band, ...] = ()
    fixed: np.ndarray | None = None  # (n,) int
    allowed: np.ndarray | None = None  # (n, k) bool
    cost_label: str = "cost"
    rows: tuple[PairConstraint, ...] = ()
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        n, k = self.cost.shape
        if len(self.unit_ids) != n or len(self.territory_ids) != k:
            raise ValueError(f"cost is {n}×{k} but there are {len(self.unit_ids)} units and {len(self.territory_ids)} territories")
        for band in self.bands:
            if band.values.shape not in ((n,), (n, k)) or band.lower.shape != (k,) or band.upper.shape != (k,):
                raise ValueError(f"band '{band.label}' has the wrong shape")
        for row in self.rows:
            if row.A.shape[1] != n * k or row.lower.shape != (row.A.shape[0],) or row.upper.shape != (row.A.shape[0],):
                raise ValueError(f"constraint '{row.label}' has the wrong shape")

    @property
    def n(self) -> int:
        return self.cost.shape[0]

    @property
    def k(self) -> int:
        return self.cost.shape[1]

    def allowed_mask(self) -> np.ndarray:
        """(n, k) bool: pairs a plan may use, with locks applied."""
        mask = np.ones(self.cost.shape, dtype=bool) if self.allowed is None else self.allowed.copy()
        if self.fixed is not None:
            locked = self.fixed >= 0
            mask[locked] = False
            mask[np.flatnonzero(locked), self.fixed[locked]] = True
        return mask

    @classmethod
    def from_cost_matrix(
        cls,
        cost,
        *,
        bands: tuple[Band, ...] = (),
        unit_ids=None,
        territory_ids=None,
        fixed=None,
        allowed=None,
        cost_label: str = "cost",
        rows: tuple[PairConstraint, ...] = (),
    ) -> AssignmentProblem:
        """Build a problem from any cost matrix (travel times, benchmark distances, ...)."""
        cost = np.asarray(cost, dtype=float)
        n, k = cost.shape
        return cls(
            unit_ids=np.asarray(unit_ids if unit_ids is not None else [str(i) for i in range(n)]),
            territory_ids=np.asarray(territory_ids if territory_ids is not None else [str(j) for j in range(k)]),
            cost=cost,
            bands=tuple(bands),
            fixed=None if fixed is None else np.asarray(fixed, dtype=int),
            allowed=None if allowed is None else np.asarray(allowed, dtype=bool),
            cost_label=cost_label,
            rows=tuple(rows),
        )

    def objective(self, assignment: np.ndarray) -> float:
        return float(self.cost[np.arange(self.n), assignment].sum())

    def violations(self, assignment: np.ndarray) -> list[str]:
        """Every constraint the assignment breaks, in words; empty if it is feasible.

        Each row is measured on its own scale (:func:`bound_slack`): a territory 1e-9 of
        its band's width outside the band breaks it, however large the band's total.
        """
        out: list[str] = []
        assignment = np.asarray(assignment)
        if assignment.shape != (self.n,) or assignment.min(initial=0) < 0 or assignment.max(initial=0) >= self.k:
            return ["not every unit is assigned to exactly one territory"]
        bad = ~self.allowed_mask()[np.arange(self.n), assignment]
        for i in np.flatnonzero(bad)[:5]:
            out.append(f"unit {self.unit_ids[i]} is assigned to a territory it may not use ({self.territory_ids[assignment[i]]})")
        for row in self.rows:
            out.extend(row.breaches(assignment, self.k))
        for band in self.bands:
            out.extend(band.breaches(assignment, self.k, self.territory_ids))
        return out


def balance_band(column: str, values, k: int, tolerance: float, targets=None) -> Band:
    """(1 − τ)·μ_j ≤ Σ a_i x_ij ≤ (1 + τ)·μ_j with μ_j = target share_j × Σ a_i.

    Ríos-Mercado & Fernández (2009), *Computers & OR* 36:755. ``targets`` are
    per-territory shares of the total (default 1/k each: equal territories).
    """
    values = np.asarray(values, dtype=float)
    share = np.full(k, 1.0 / k) if targets is None else np.asarray(targets, float) / np.sum(targets)
    mean = values.sum() * share
    return Band(
        label=f"balance of {column} ±{tolerance * 100:g}%",
        kind="balance",
        column=column,
        values=values,
        lower=(1 - tolerance) * mean,
        upper=(1 + tolerance) * mean,
        tolerance=tolerance,
    )


def capacity_band(workload, capacity) -> Band:
    """Σ_i w_i x_ij ≤ C_j: a territory's workload fits its rep's hours.

    ``workload`` may be (n, k) when a unit's load depends on the territory (GAP).
    """
    capacity = np.asarray(capacity, dtype=float)
    return Band(
        label="capacity (workload ≤ rep capacity_hours)",
        kind="capacity",
        column="workload",
        values=np.asarray(workload, dtype=float),
        lower=np.full(capacity.shape, -np.inf),
        upper=capacity,
    )
