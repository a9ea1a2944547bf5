"""The ``capacity:`` section of a scenario: how many reps, where, at what cost, which quota.

``capacity: true`` / ``false`` (the earlier contract) only switches the per-territory
capacity constraint (territory workload ≤ rep ``capacity_hours``). A mapping switches it
on (unless it says ``enforce: false``) and carries the capacity-planning settings::

    capacity:
      segments:                     # workload build-up (Zoltners & Sinha)
        SMB: {calls_per_year: 4, minutes_per_call: 30, travel_minutes_per_call: 15, account_management_hours: 1}
      segments_by: segment          # the account column naming each account's row (tier: potential tiers)
      derive_workload: false        # true: plan on the build-up, not the accounts' workload column
      working_time: {working_days: 250, holidays: 10, pto_days: 15, training_days: 5, hours_per_day: 8, selling_share: 0.6}
      target_utilisation: 0.85
      regions: {column: state, map: {West: [CA, WA], East: [NY, MA]}}
      target: {revenue: 210000000, productivity: 7500000, expected_attainment: 0.9}
      hiring: {ramp: [0, 0.25, 0.5, 0.75, 1], attrition: 0.15, lead_time_months: 1}
      allocation: {cost_per_rep: 180000, margin: 0.7, budget: 6000000, response: {West: {a: .., b: .., c: .., d: ..}}}
      quotas: {potential_weight: 0.5, coverage: 1.1, max_increase: 0.25, max_decrease: 0.1}

This module imports nothing from the rest of the package; :mod:`territory_planner.scenario.parse`
reads it. Validator messages read "problem; fix" (see ``scenario.parse._explain``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_negative(value: float | None, what: str) -> float | None:
    if value is not None and value < 0:
        raise ValueError(f"{what} is {value}, a negative rate; write 0 or more")
    return value


def _share(value: float | None, what: str, *, zero_ok: bool = True) -> float | None:
    if value is None:
        return value
    if value < 0 or value > 1 or (value == 0 and not zero_ok):
        low = "0" if zero_ok else "just above 0"
        raise ValueError(f"{what} is {value}, outside {'[0, 1]' if zero_ok else '(0, 1]'}; write it as a share between {low} and 1, e.g. 0.15 for 15%")
    return value


class SegmentSpec(_Strict):
    """One row of the segment table; accounts may override each field with a column of the same name."""

    calls_per_year: float
    minutes_per_call: float
    travel_minutes_per_call: float = 0.0
    account_management_hours: float = 0.0
    role: str | None = Field(default=None, description="the role that covers the segment (default: the reps' role)")

    @field_validator("calls_per_year", "minutes_per_call", "travel_minutes_per_call", "account_management_hours")
    @classmethod
    def _rates(cls, v, info):
        return _not_negative(v, info.field_name)


class WorkingTimeSpec(_Strict):
    """A rep's year: H = (working_days − holidays − pto_days − training_days) × hours_per_day × selling_share."""

    working_days: float = 250.0
    holidays: float = 10.0
    pto_days: float = 15.0
    training_days: float = 5.0
    hours_per_day: float = 8.0
    selling_share: float = 0.6

    @field_validator("working_days", "holidays", "pto_days", "training_days", "hours_per_day")
    @classmethod
    def _days(cls, v, info):
        return _not_negative(v, info.field_name)

    @field_validator("selling_share")
    @classmethod
    def _selling(cls, v):
        return _share(v, "selling_share", zero_ok=False)

    @model_validator(mode="after")
    def _some_days_left(self):
        if self.working_days - self.holidays - self.pto_days - self.training_days <= 0 or self.hours_per_day == 0:
            raise ValueError(
                "working_time leaves no selling days (working_days − holidays − pto_days − training_days ≤ 0, or hours_per_day is 0)"
                "; e.g. working_days: 250, holidays: 10, pto_days: 15, training_days: 5, hours_per_day: 8"
            )
        return self


class RegionSpec(_Strict):
    """Regions from a column of the accounts and reps files (``region``, or ``state`` mapped to regions)."""

    column: str = "region"
    map: dict[str, list[str]] = Field(default_factory=dict, description="region → values of the column")
    default: str | None = Field(default=None, description="region of values not in the map (default: an error)")


class TargetSpec(_Strict):
    """Target-based sizing: reps = revenue / (productivity × expected_attainment)."""

    revenue: float
    productivity: float | None = Field(default=None, description="annual bookings of a fully ramped rep at 100% attainment")
    expected_attainment: float = 1.0

    @field_validator("revenue")
    @classmethod
    def _revenue(cls, v):
        if v <= 0:
            raise ValueError(f"revenue is {v}; the company target must be a positive amount, e.g. revenue: 210000000")
        return v

    @field_validator("productivity")
    @classmethod
    def _productivity(cls, v):
        if v is not None and v <= 0:
            raise ValueError(f"productivity is {v}; write the annual bookings of a fully ramped rep, a positive amount such as 7500000")
        return v

    @field_validator("expected_attainment")
    @classmethod
    def _attainment(cls, v):
        if not 0 < v <= 2:
            raise ValueError(f"expected_attainment is {v}; write it as a share of quota, e.g. 0.9 for 90%")
        return v

    @model_validator(mode="after")
    def _needs_productivity(self):
        if self.productivity is None:
            raise ValueError(
                "a revenue target needs the productivity of a ramped rep to size the team"
                "; add productivity: <annual bookings of a fully ramped rep> under capacity.target"
            )
        return self


class HiringSpec(_Strict):
    """Ramp of new hires, attrition and lead time for the month-by-month hiring plan."""

    ramp: list[float] = Field(default_factory=lambda: [0.0, 0.25, 0.5, 0.75, 1.0])
    attrition: float = 0.0
    lead_time_months: int = 0
    months: int = 12
    start: str | None = Field(default=None, description="label of the first month, e.g. 2027-01")

    @field_validator("ramp")
    @classmethod
    def _ramp(cls, v):
        if not v:
            raise ValueError("ramp is empty; list the productivity of a new hire in each month, e.g. [0, 0.25, 0.5, 0.75, 1]")
        bad = [f for f in v if not 0 <= f <= 1]
        if bad:
            raise ValueError(f"ramp factor {bad[0]} is outside [0, 1]; each month's factor is a share of a ramped rep's productivity, e.g. [0, 0.25, 0.5, 0.75, 1]")
        return v

    @field_validator("attrition")
    @classmethod
    def _attrition(cls, v):
        if v < 0 or v > 1:
            raise ValueError(f"attrition is {v}, outside [0, 1]; write the annual attrition as a share, e.g. 0.15 for 15% a year")
        return v

    @field_validator("lead_time_months")
    @classmethod
    def _lead(cls, v):
        return _not_negative(v, "lead_time_months")

    @field_validator("months")
    @classmethod
    def _months(cls, v):
        if not 1 <= v <= 60:
            raise ValueError(f"months is {v}; plan between 1 and 60 months, usually 12")
        return v


class ResponseSpec(_Strict):
    """ADBUDG sales response s(x) = b + (a − b)·x^c / (d + x^c) of one group (Little 1970).

    Give ``a, b, c, d``, or ``points: [[headcount, sales], ...]`` (four or more) to fit them.
    """

    a: float | None = Field(default=None, description="sales with unlimited reps (saturation)")
    b: float | None = Field(default=None, description="sales with no reps")
    c: float | None = Field(default=None, description="shape: > 1 gives an S-curve, ≤ 1 a concave curve")
    d: float | None = Field(default=None, description="x^c at which half of (a − b) is reached")
    points: list[tuple[float, float]] | None = None
    min_reps: int = 0
    max_reps: int | None = None
    cost_per_rep: float | None = None

    @field_validator("a", "b", "cost_per_rep", "min_reps", "max_reps")
    @classmethod
    def _amounts(cls, v, info):
        return _not_negative(v, info.field_name)

    @field_validator("c", "d")
    @classmethod
    def _positive(cls, v, info):
        if v is not None and v <= 0:
            raise ValueError(f"{info.field_name} is {v}; ADBUDG needs c > 0 and d > 0")
        return v

    @model_validator(mode="after")
    def _given_or_fitted(self):
        given = [p for p in "abcd" if getattr(self, p) is not None]
        if self.points is None and len(given) < 4:
            missing = ", ".join(p for p in "abcd" if getattr(self, p) is None)
            raise ValueError(f"the response misses {missing}; give all of a, b, c, d, or points: [[headcount, sales], ...] to fit them")
        if self.points is not None and len(self.points) < 4:
            raise ValueError(f"{len(self.points)} points cannot fit the four ADBUDG parameters; give at least 4 [headcount, sales] points")
        if self.points is not None and any(x < 0 or s < 0 for x, s in self.points):
            raise ValueError("a point has a negative headcount or sales; write [headcount, sales] pairs of non-negative numbers")
        if self.a is not None and self.b is not None and self.a < self.b:
            raise ValueError(f"a ({self.a}) is below b ({self.b}); a is the sales with unlimited reps, b with none, so a ≥ b")
        if self.max_reps is not None and self.max_reps < self.min_reps:
            raise ValueError(f"max_reps ({self.max_reps}) is below min_reps ({self.min_reps}); raise max_reps")
        return self


class AllocationSpec(_Strict):
    """Optimal headcount per group: max Σ margin·s_g(x_g) − cost·x_g, Σ cost·x_g ≤ budget."""

    by: Literal["region", "segment"] = "region"
    cost_per_rep: float
    margin: float = 1.0
    budget: float | None = None
    max_reps_per_group: int = 40
    response: dict[str, ResponseSpec]

    @field_validator("cost_per_rep", "budget")
    @classmethod
    def _amounts(cls, v, info):
        return _not_negative(v, info.field_name)

    @field_validator("margin")
    @classmethod
    def _margin(cls, v):
        return _share(v, "margin", zero_ok=False)

    @field_validator("max_reps_per_group")
    @classmethod
    def _max(cls, v):
        if v < 1:
            raise ValueError(f"max_reps_per_group is {v}; allow at least 1 rep per group")
        return v

    @field_validator("response")
    @classmethod
    def _groups(cls, v):
        if not v:
            raise ValueError("the response table is empty; give one ADBUDG response per region (or segment), e.g. West: {a: 9e7, b: 1e7, c: 1.5, d: 40}")
        return v


class QuotaSpec(_Strict):
    """quota_t = target × coverage × (α·potential share + (1 − α)·history share), capped in change."""

    potential_weight: float = 0.5
    coverage: float = 1.0
    max_increase: float | None = None
    max_decrease: float | None = None
    relative_to: Literal["quota", "revenue_last_year"] = "quota"

    @field_validator("potential_weight")
    @classmethod
    def _alpha(cls, v):
        return _share(v, "potential_weight")

    @field_validator("coverage")
    @classmethod
    def _coverage(cls, v):
        if not 0.5 <= v <= 3:
            raise ValueError(f"coverage is {v}; write Σ quotas / target as a ratio such as 1.1 (10% over-assignment)")
        return v

    @field_validator("max_increase")
    @classmethod
    def _increase(cls, v):
        return _not_negative(v, "max_increase")

    @field_validator("max_decrease")
    @classmethod
    def _decrease(cls, v):
        return _share(v, "max_decrease")


class CapacitySpec(_Strict):
    """Capacity planning settings; see the module docstring."""

    enforce: bool = Field(default=True, description="territory workload ≤ rep capacity_hours in plan")
    segments: dict[str, SegmentSpec] | None = None
    segments_by: str = Field(default="segment", description="the account column whose value picks each account's "
                                                            "row of segments (tier or coverage_tier after a potential: section)")
    account_overrides: bool = Field(default=True, description="an account column named like a segment field "
                                                              "(calls_per_year, …) overrides the table for that account")
    derive_workload: bool = Field(default=False, description="plan on the build-up from segments instead of the "
                                                             "accounts' workload column (derived anyway when the column is absent)")
    working_time: WorkingTimeSpec = WorkingTimeSpec()
    target_utilisation: float = 0.85
    regions: RegionSpec | None = None
    target: TargetSpec | None = None
    hiring: HiringSpec = HiringSpec()
    allocation: AllocationSpec | None = None
    quotas: QuotaSpec = QuotaSpec()
    headcount_from: Literal["workload", "target", "allocation"] = Field(
        default="workload", description="which sizing sets the number of territories under territories.count: auto"
    )

    @field_validator("segments")
    @classmethod
    def _segments(cls, v):
        if v is not None and not v:
            raise ValueError(
                "the segment table is empty; list each account segment with its calls_per_year and minutes_per_call, "
                "or remove 'segments:' to use the accounts' workload column"
            )
        return v

    @field_validator("target_utilisation")
    @classmethod
    def _utilisation(cls, v):
        return _share(v, "target_utilisation", zero_ok=False)

    @model_validator(mode="after")
    def _sources(self):
        if self.derive_workload and self.segments is None:
            raise ValueError("derive_workload needs the segment table to derive from; add capacity.segments "
                             "(calls_per_year, minutes_per_call, … per segment or tier) or remove derive_workload")
        if self.headcount_from == "target" and self.target is None:
            raise ValueError("headcount_from: target needs a target; add capacity.target (revenue, productivity) or use headcount_from: workload")
        if self.headcount_from == "allocation" and self.allocation is None:
            raise ValueError("headcount_from: allocation needs capacity.allocation; add it or use headcount_from: workload")
        return self
