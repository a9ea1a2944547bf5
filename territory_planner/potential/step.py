"""Where to sell: each account's potential, whitespace, penetration and coverage tier.

:func:`where_to_sell` is the step a scenario's ``potential:`` section adds between loading
the accounts and planning (data/inputs.py applies it, so every run of the scenario plans
on the same figures). It reads only the frame it is given and the section:

1. the **revenue** of each account: one column, or several years' columns, latest year
   first (a blank is no revenue). The model learns from the mean over the years (one
   year's noise smoothed); customers are the accounts with some revenue;
2. the **lookalike potential**: a model of the ``quantile`` of revenue given the
   features, fitted on the customers (potential/models.py), calibrated out of fold
   (potential/quality.py) and applied to every account (prospects too), never below the
   account's revenue in any year listed. ``method: auto`` takes the model with the lower
   cross-validated loss (peer groups alone below 200 customers);
3. the accounts' ``potential`` column is kept where given, unless ``overwrite: true``;
   blank cells, or a missing column, take the estimate;
4. ``whitespace`` = potential − the latest year's revenue, ``penetration`` = that revenue / potential;
5. ``tier`` (potential/tiers.py), ``penetration_tier`` and ``coverage_tier``
   (``"<tier> <penetration tier>"``, e.g. ``A grow``).

Deterministic for a seed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from territory_planner.errors import InputError
from territory_planner.potential.features import feature_frame
from territory_planner.potential.tiers import (
    by_count,
    by_cumulative_share,
    by_rules,
    check_rule_columns,
    penetration_tiers,
    tier_table,
)
from territory_planner.scenario.potential import MEASURES, PotentialSpec

#: Columns the step writes on the accounts.
WRITTEN = ("potential", "potential_source", "lookalike_potential", "whitespace", "penetration", "tier",
           "penetration_tier", "coverage_tier")
REVENUE = "revenue_basis"  # the mean of several revenue columns, when several are named
#: Larger amounts are not revenue but a unit or typing mistake (and overflow the model's sums).
MAX_AMOUNT = 1e15


@dataclass(frozen=True)
class Estimate:
    """What :func:`where_to_sell` found: the accounts with their new columns, and how."""

    accounts: pd.DataFrame
    spec: PotentialSpec
    method: str  # "gbm" or "peers"
    features: tuple[str, ...]  # the accounts' columns the model read
    revenue_columns: tuple[str, ...]  # the revenue columns read, latest year first
    customers: int
    estimated: int  # accounts whose potential is the estimate
    calibration_factor: float  # the estimate's scale from the out-of-fold calibration (potential/quality.py)
    # How the method was chosen: the rule, each method's cross-validated loss when compared,
    # and how many accounts peer groups benchmarked on a broader group.
    choice: dict = field(default_factory=dict)
    quality: dict | None = None  # potential/quality.quality (feature importance only when measured)
    notes: tuple[str, ...] = ()

    @property
    def revenue_column(self) -> str:
        """The column whitespace and penetration are measured from: the latest year."""
        return self.revenue_columns[0]

    @property
    def revenue(self) -> np.ndarray:
        """Each account's revenue as measured: the latest year (blank: 0)."""
        return pd.to_numeric(self.accounts[self.revenue_column], errors="coerce").fillna(0.0).to_numpy(float)

    @property
    def tiers(self) -> pd.DataFrame:
        """The tier table (potential/tiers.tier_table), with workload once it is derived."""
        return tier_table(self.accounts, self.revenue, self.spec.tiers.names)

    def summary(self) -> dict:
        """The model and its figures, as potential.json holds them."""
        return {
            "model": {
                "name": {"gbm": "quantile gradient boosting (scikit-learn HistGradientBoostingRegressor, "
                                "loss='quantile', on log(1 + revenue))",
                         "peers": f"peer groups (same categories and size quintile, at least {self.spec.min_peers} "
                                  "customers, backing off by the last feature listed)"}[self.method],
                "method": self.method,
                "chosen": self.choice or {"rule": f"method: {self.method} in the scenario"},
                "features": list(self.features),
                "revenue": list(self.revenue_columns),
                "target": "revenue" if len(self.revenue_columns) == 1 else f"mean of {', '.join(self.revenue_columns)}",
                "calibration_factor": self.calibration_factor,
            },
            "quantile": self.spec.quantile,
            "accounts": int(len(self.accounts)),
            "customers": self.customers,
            "potential_estimated": self.estimated,
            "potential_given": int(len(self.accounts) - self.estimated),
            "quality": self.quality,
            "tiers": {"by": self.spec.tiers.by, "rank_by": self.spec.tiers.rank_by,
                      "shares": self.spec.tiers.shares if self.spec.tiers.by != "rules" else None,
                      "penetration": self.spec.penetration.model_dump(),
                      "table": self.tiers.to_dict(orient="records")},
            "notes": list(self.notes),
        }


def _key(name) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def _column(frame: pd.DataFrame, name: str, *, what: str, file) -> str:
    """The frame's column ``name`` (matched like a header: case, spaces, '-' ignored)."""
    if name in frame.columns:
        return name
    found = [c for c in frame.columns if _key(c) == _key(name)]
    if found:
        return found[0]
    known = [str(c) for c in frame.columns if not str(c).startswith("_")]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    raise InputError(f"{what} names column '{name}', which the accounts file does not have", file=file, column=name,
                     fix=(f"did you mean '{close[0]}'? " if close else "")
                     + f"name a column of the file ({', '.join(known[:25])}), or add the column")


def _row(frame: pd.DataFrame, i: int) -> int | None:
    return int(frame["_row"].iloc[i]) if "_row" in frame else None


@dataclass(frozen=True)
class _Revenue:
    """The revenue columns read: blank is no revenue."""

    columns: list[str]  # as resolved in the frame, the latest year first
    latest: np.ndarray  # the first column: what whitespace and penetration are measured from
    target: np.ndarray  # the mean over the years: what the model learns from (one year: the latest)
    highest: np.ndarray  # the largest year: potential is never below it


def _revenue(frame: pd.DataFrame, spec: PotentialSpec, file) -> _Revenue:
    columns = [_column(frame, c, what="potential.revenue", file=file) for c in spec.revenue_columns]
    years = []
    for column in columns:
        raw = frame[column]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(float)
        bad = np.flatnonzero(np.isnan(values) & raw.notna().to_numpy() & (raw.astype(str).str.strip() != "").to_numpy())
        if len(bad):
            i = int(bad[0])
            raise InputError("revenue is not a number", file=file, row=_row(frame, i), column=column,
                             value=raw.iloc[i], fix="write an amount such as 125000, or leave the cell blank for no revenue")
        wrong = np.flatnonzero(~np.isnan(values) & ((values < 0) | ~np.isfinite(values) | (values > MAX_AMOUNT)))
        if len(wrong):
            i = int(wrong[0])
            raise InputError("revenue is negative" if values[i] < 0 else "revenue is not a finite amount", file=file,
                             row=_row(frame, i), column=column, value=float(values[i]),
                             fix="write 0 or more (a credit belongs in another column)" if values[i] < 0 else
                             f"write an amount below {MAX_AMOUNT:.0e}, or leave the cell blank for no revenue")
        years.append(values)
    stacked = np.vstack(years)
    if np.isnan(stacked).all():
        raise InputError(f"{' and '.join(columns)} {'is' if len(columns) == 1 else 'are'} blank in every row: "
                         "potential is benchmarked on the revenue of similar accounts", file=file, column=columns[0],
                         fix="fill last year's revenue per account, or name the column that holds it under potential.revenue")
    stacked = np.nan_to_num(stacked, nan=0.0)  # blank: no revenue
    return _Revenue(columns, stacked[0], stacked.mean(axis=0), stacked.max(axis=0))


def _check_features(features: list[str], revenue: _Revenue, file) -> None:
    """No feature is a revenue column (the target would leak) or a column the step writes."""
    for feature in features:
        if feature in revenue.columns:
            raise InputError(f"feature '{feature}' is the revenue column: a model that reads revenue to predict it "
                             "finds no whitespace", file=file, column=feature,
                             fix="remove it from potential.features (revenue history belongs under potential.revenue)")
        if feature in (*WRITTEN, REVENUE, "workload"):
            raise InputError(f"feature '{feature}' is a column the potential step writes (or derives from the "
                             "estimate), so the model would read what it produces", file=file, column=feature,
                             fix=f"rename the file's column (e.g. '{feature}_crm') and list that name in potential.features")


def where_to_sell(accounts: pd.DataFrame, spec: PotentialSpec, *, seed: int = 0, measure: bool = False,
                  file=None, scenario_file=None) -> Estimate:
    """Estimate potential and tier the accounts (see the module docstring).

    The chosen model is always cross-validated (its calibration shift and quality
    figures come from it, potential/quality.py); ``measure`` adds the features'
    permutation importance (a few seconds more). ``file`` names the accounts file in errors,
    ``scenario_file`` the scenario.
    """
    # One OpenMP thread: the trees fit in a fraction of a second on thousands of accounts,
    # and more threads on a busy machine spin for tens of seconds (measured: 0.35 s on 1
    # thread, 30 s on all, on 2 cores under load); results do not depend on it.
    with threadpool_limits(limits=1, user_api="openmp"):
        return _where_to_sell(accounts, spec, seed=seed, measure=measure, file=file, scenario_file=scenario_file)


def _where_to_sell(accounts: pd.DataFrame, spec: PotentialSpec, *, seed: int, measure: bool, file,
                   scenario_file) -> Estimate:
    frame = accounts.reset_index(drop=True).copy()
    if frame.empty:
        raise InputError("the accounts file has no rows to estimate potential for", file=file, fix="add accounts")
    features = [_column(frame, f, what="potential.features", file=file) for f in spec.features]
    check_rule_columns(frame, spec.tiers, MEASURES, scenario_file=scenario_file)
    revenue = _revenue(frame, spec, file)
    _check_features(features, revenue, file)
    X = feature_frame(frame, features, file)
    customers = revenue.target > 0
    n_customers = int(customers.sum())
    if n_customers < max(2 * spec.min_peers, 20):
        raise InputError(f"only {n_customers} accounts have revenue: too few lookalikes to benchmark potential on",
                         file=file, column=revenue.columns[0],
                         fix="fill revenue for more accounts (at least 20), or give potential as a column")
    segment = frame["segment"].astype(str).to_numpy() if "segment" in frame else np.full(len(frame), "All", dtype=object)
    from territory_planner.potential.fit import (
        fit_lookalikes,  # scikit-learn loads here, not on import
    )

    fit = fit_lookalikes(spec, X, customers, revenue.target, segment, seed, measure)
    method, lookalike = fit.method, np.round(fit.lookalike, 2)  # cents, as the file will hold it
    estimate = np.maximum(lookalike, revenue.highest)  # never below the account's own revenue in any year

    notes = []
    replaced = [c for c in WRITTEN[1:] if c in frame.columns]
    if replaced:
        notes.append(f"potential: the accounts file's own {', '.join(replaced)} column"
                     f"{'s are' if len(replaced) > 1 else ' is'} replaced by the estimate's")
    given = pd.to_numeric(frame["potential"], errors="coerce").to_numpy(float) if "potential" in frame else \
        np.full(len(frame), np.nan)
    use = np.ones(len(frame), dtype=bool) if spec.overwrite else np.isnan(given)
    potential = np.where(use, estimate, given)
    latest = revenue.latest
    frame["potential"] = potential
    frame["potential_source"] = np.where(use, "estimated", "given")
    frame["lookalike_potential"] = lookalike
    if len(revenue.columns) > 1:
        frame[REVENUE] = revenue.target
    whitespace = np.round(potential - latest, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        penetration = np.where(potential > 0, latest / np.where(potential > 0, potential, 1.0), np.nan)
    frame["whitespace"] = whitespace
    frame["penetration"] = penetration
    below = int(((~use) & (given < latest)).sum())
    if below:
        notes.append(f"potential: {below:,} accounts' own potential is below their revenue (penetration above 100%)")

    measures = {"potential": potential, "whitespace": whitespace, "penetration": penetration, "revenue": latest}
    tiers = spec.tiers
    ids = frame["account_id"].astype(str).to_numpy()
    if tiers.by == "rules":
        tier = by_rules(frame, tiers, measures, file=file, scenario_file=scenario_file)
    else:
        ranked = np.nan_to_num(measures[tiers.rank_by], nan=0.0)
        if tiers.rank_by == "whitespace":
            ranked = np.maximum(ranked, 0.0)  # a negative whitespace (own potential below revenue) ranks as none
        tier = (by_cumulative_share if tiers.by == "abc" else by_count)(ranked, ids, tiers.shares)
    frame["tier"] = tier
    frame["penetration_tier"] = penetration_tiers(penetration, spec.penetration)
    frame["coverage_tier"] = frame["tier"].astype(str) + " " + frame["penetration_tier"].astype(str)

    backed = fit.choice.get("peers_backed_off", 0)
    if backed:
        notes.append(f"potential: {backed:,} accounts have fewer than {spec.min_peers} peers with all "
                     f"{len(features)} features alike and are benchmarked on a broader group")
    n_est = int(use.sum())
    notes.insert(0, f"potential: {n_est:,} of {len(frame):,} accounts estimated from {n_customers:,} customers' "
                    f"revenue ({'gradient boosting' if method == 'gbm' else 'peer groups'}, "
                    f"{spec.quantile:.0%} quantile of lookalikes on {', '.join(features)})")
    return Estimate(
        accounts=frame, spec=spec, method=method, features=tuple(features), revenue_columns=tuple(revenue.columns),
        customers=n_customers, estimated=n_est, calibration_factor=float(np.exp(fit.shift)), choice=fit.choice,
        quality=fit.quality, notes=tuple(notes),
    )
