"""The ``potential:`` section of a scenario: estimate potential, find whitespace, tier accounts.

::

    potential:
      features: [industry, employees, state]   # account columns that make accounts alike
      revenue: revenue_last_year               # or a list of years: [revenue_last_year, revenue_prior_year]
      quantile: 0.75                           # potential = the revenue the top quarter of lookalikes reach
      method: auto                             # gbm | peers | auto (the lower cross-validated loss)
      overwrite: false                         # true: replace the accounts' own potential column
      tiers:
        by: abc                                # abc: by cumulative share of potential; quantile: by count; rules
        shares: {A: 0.5, B: 0.3, C: 0.2}
      penetration: {grow_below: 0.4, harvest_from: 0.8}

With the section the accounts file needs no ``potential`` column: blank cells (or every
cell, with ``overwrite: true``) take the estimate. Each account also gets ``whitespace``,
``penetration``, ``tier``, ``penetration_tier`` (grow / maintain / harvest) and
``coverage_tier`` (e.g. ``A grow``), which ``capacity.segments_by`` can name so that each
tier's call plan drives the workload build-up (scenario/capacity.py).

This module imports nothing from the rest of the package but pydantic; validator
messages read "problem; fix" (see ``scenario.parse._explain``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: The measures a tier rule or the tier ranking may read besides the accounts' own columns
#: (``revenue``: the latest year's; the step's potential_source and lookalike_potential too).
MEASURES = ("potential", "whitespace", "penetration", "revenue", "potential_source", "lookalike_potential")
PENETRATION_TIERS = ("grow", "maintain", "harvest")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierRule(_Strict):
    """One rule of ``tiers.rules``: the first rule an account meets gives its tier.

    ``min`` (inclusive) and ``max`` (exclusive) bound numeric columns or measures
    (potential, whitespace, penetration, revenue); ``in`` lists the values of a text
    column. A rule with no condition takes every account left.
    """

    tier: str = Field(min_length=1)
    min: dict[str, float] = Field(default_factory=dict)
    max: dict[str, float] = Field(default_factory=dict)
    in_: dict[str, list[str | int | float]] = Field(default_factory=dict, alias="in")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TiersSpec(_Strict):
    """How accounts are tiered by potential (FIELD.md §2b)."""

    by: Literal["abc", "quantile", "rules"] = "abc"
    shares: dict[str, float] = Field(default_factory=lambda: {"A": 0.5, "B": 0.3, "C": 0.2},
                                     description="tier → share: of total potential (abc) or of accounts (quantile), top tier first")
    rank_by: Literal["potential", "whitespace"] = Field(default="potential", description="what abc and quantile rank by")
    rules: list[TierRule] = Field(default_factory=list, description="by: rules — the first rule an account meets gives its tier")

    @field_validator("shares")
    @classmethod
    def _shares(cls, v):
        if not v:
            raise ValueError("tiers.shares is empty; give each tier its share, top tier first, e.g. {A: 0.5, B: 0.3, C: 0.2}")
        bad = [(k, s) for k, s in v.items() if not 0 < s <= 1]
        if bad:
            raise ValueError(f"tier {bad[0][0]} has share {bad[0][1]}; each share is between 0 and 1, e.g. {{A: 0.5, B: 0.3, C: 0.2}}")
        if abs(sum(v.values()) - 1) > 1e-9:
            raise ValueError(f"the tier shares sum to {sum(v.values()):g}; make them sum to 1, e.g. {{A: 0.5, B: 0.3, C: 0.2}}")
        return v

    @model_validator(mode="after")
    def _rules(self):
        if self.by == "rules" and not self.rules:
            raise ValueError("tiers.by: rules needs rules; add e.g. rules: [{tier: A, min: {potential: 500000}}, {tier: B}]")
        if self.by != "rules" and self.rules:
            raise ValueError(f"tiers.rules are read only with by: rules (by is {self.by}); set by: rules or remove the rules")
        return self

    @property
    def names(self) -> list[str]:
        """The tier names, top tier first."""
        if self.by == "rules":
            return list(dict.fromkeys(r.tier for r in self.rules))
        return list(self.shares)


class PenetrationSpec(_Strict):
    """grow below ``grow_below``, harvest from ``harvest_from``, maintain between."""

    grow_below: float = Field(default=0.4, ge=0, le=1)
    harvest_from: float = Field(default=0.8, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self):
        if self.harvest_from < self.grow_below:
            raise ValueError(f"harvest_from ({self.harvest_from}) is below grow_below ({self.grow_below})"
                             "; e.g. grow_below: 0.4, harvest_from: 0.8")
        return self


class PotentialSpec(_Strict):
    """Potential from lookalike accounts; see the module docstring."""

    features: list[str] = Field(min_length=1, description="account columns that make accounts alike")
    revenue: str | list[str] = Field(description="the revenue column, or several years' columns (their mean is used)")
    quantile: float = Field(default=0.75, description="the quantile of lookalikes' revenue that is the potential")
    method: Literal["auto", "gbm", "peers"] = "auto"
    overwrite: bool = Field(default=False, description="replace the accounts' own potential column")
    min_peers: int = Field(default=10, ge=2, description="peers: the fewest customers a peer group needs")
    tiers: TiersSpec = TiersSpec()
    penetration: PenetrationSpec = PenetrationSpec()

    @field_validator("quantile")
    @classmethod
    def _quantile(cls, v):
        if not 0.5 <= v < 1:
            raise ValueError(f"quantile is {v}; potential is a high quantile of lookalikes' revenue, between 0.5 and 1, e.g. 0.75")
        return v

    @field_validator("features")
    @classmethod
    def _features(cls, v):
        twice = sorted({f for f in v if v.count(f) > 1})
        if twice:
            raise ValueError(f"feature '{twice[0]}' is listed twice; list each column once")
        return v

    @property
    def revenue_columns(self) -> list[str]:
        return [self.revenue] if isinstance(self.revenue, str) else list(self.revenue)

    @model_validator(mode="after")
    def _revenue_not_a_feature(self):
        if not self.revenue_columns:
            raise ValueError("revenue lists no column; name the revenue column, e.g. revenue: revenue_last_year")
        same = [c for c in self.revenue_columns if c in self.features]
        if same:
            raise ValueError(f"'{same[0]}' is both the revenue and a feature; a model that reads revenue "
                             "to predict it finds no whitespace — remove it from features")
        return self
