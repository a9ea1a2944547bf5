"""Quota allocation: the company target split into territory quotas (FIELD.md §2).

    quota_t = target × coverage × (α·potential share_t + (1 − α)·history share_t)

(Zoltners & Sinha's potential/history blend). Caps on the year-over-year change keep each
quota within [base_t·(1 − max_decrease), base_t·(1 + max_increase)], base_t = the rep's
prior quota (or the territory's revenue last year); a territory without a base is not
capped. What the caps cut is redistributed over the other territories in proportion to
their blend, again and again until no cap is broken; the fixed point is
quota_t = clip(λ·blend_t, low_t, high_t) with the one λ that makes Σ quota = target ×
coverage, which we find exactly on the breakpoints of that piecewise-linear sum.

Expected bookings of a territory are a run-rate forecast: the company's expected bookings
× the territory's share of last year's revenue (its potential share when there is no
history). Expected attainment = expected bookings / quota.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from territory_planner.errors import ScenarioError
from territory_planner.scenario.capacity import QuotaSpec


def shares(values: np.ndarray) -> np.ndarray:
    values = np.clip(np.asarray(values, dtype=float), 0, None)
    total = values.sum()
    return values / total if total > 0 else np.full(len(values), 1.0 / max(1, len(values)))


def capped_split(total: float, weights: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """clip(λ·weights, low, high) with Σ = total (λ found exactly). Needs Σ low ≤ total ≤ Σ high.

    >>> capped_split(100, np.array([0.5, 0.3, 0.2]), np.zeros(3), np.array([40, np.inf, np.inf])).tolist()
    [40.0, 36.0, 24.0]
    """
    w = np.asarray(weights, dtype=float)
    low, high = np.asarray(low, float), np.asarray(high, float)

    def fill(lam: float) -> np.ndarray:
        return np.clip(lam * w, low, high)

    positive = w > 0
    points = np.unique(np.r_[0.0, (low / np.where(positive, w, 1))[positive], (high / np.where(positive, w, 1))[positive & np.isfinite(high)]])
    points = points[np.isfinite(points) & (points >= 0)]
    sums = np.array([fill(p).sum() for p in points])
    if total <= sums[0]:
        return fill(points[0])
    above = np.flatnonzero(sums >= total)
    if len(above) == 0:  # beyond the last breakpoint the sum is linear in λ (uncapped territories)
        lam0, s0 = points[-1], sums[-1]
        slope = w[(fill(lam0 + 1.0) < high)].sum()
        return fill(lam0 + (total - s0) / slope)
    i = int(above[0])
    l0, l1, s0, s1 = points[i - 1], points[i], sums[i - 1], sums[i]
    lam = l1 if s1 == s0 else l0 + (total - s0) * (l1 - l0) / (s1 - s0)
    return fill(lam)


def allocate_quotas(
    ids,
    potential,
    history,
    base,
    spec: QuotaSpec,
    target: float,
    *,
    expected_bookings: float | None = None,
    file=None,
) -> tuple[pd.DataFrame, dict]:
    """Quotas per territory (``quotas.csv`` rows) and the summary: coverage, attainment spread.

    ``base`` is each territory's prior quota or revenue (NaN or 0 = not capped).
    """
    alpha = spec.potential_weight
    potential = np.asarray(potential, dtype=float)
    history = np.asarray(history, dtype=float)
    base = np.asarray(base, dtype=float)
    p_share, h_share = shares(potential), shares(history) if np.nansum(history) > 0 else shares(potential)
    blend = alpha * p_share + (1 - alpha) * h_share
    total = target * spec.coverage
    raw = total * blend
    has_base = np.isfinite(base) & (base > 0)
    low = np.where(has_base & (spec.max_decrease is not None), base * (1 - (spec.max_decrease or 0)), 0.0)
    high = np.where(has_base & (spec.max_increase is not None), base * (1 + (spec.max_increase or 0)), np.inf)
    # A territory with no potential and no history takes its floor whatever λ is.
    reach = np.where(blend > 0, high, low).sum()
    if low.sum() > total * (1 + 1e-12) or reach < total * (1 - 1e-12):
        which = "max_decrease" if low.sum() > total else "max_increase"
        need = ((low.sum() - total) if which == "max_decrease" else (total - reach)) / max(base[has_base].sum(), 1e-9)
        raise ScenarioError(
            f"the quota caps cannot hold: quotas must sum to {total:,.0f} (target × coverage) but the caps allow "
            f"{low.sum():,.0f} – {reach:,.0f}",
            file=file,
            column=f"capacity.quotas.{which}",
            value=getattr(spec, which),
            fix=f"widen capacity.quotas.{which} by at least {need:.1%} (or change the target or coverage)",
        )
    quota = capped_split(total, blend, low, high)
    capped = (np.abs(quota - raw) > 1e-6 * max(1.0, total / max(1, len(quota)))) & (
        np.isclose(quota, low) | np.isclose(quota, high)
    )
    company = target if expected_bookings is None else expected_bookings
    expected = company * h_share
    with np.errstate(divide="ignore", invalid="ignore"):
        attainment = np.where(quota > 0, expected / quota, np.nan)
    table = pd.DataFrame(
        {
            "territory_id": np.asarray(ids).astype(str),
            "quota": quota,
            "potential_share": p_share,
            "history_share": h_share,
            "blend_share": blend,
            "uncapped_quota": raw,
            "base": np.where(has_base, base, np.nan),
            "capped": capped,
            "expected_bookings": expected,
            "expected_attainment": attainment,
        }
    )
    finite = attainment[np.isfinite(attainment)]
    summary = {
        "target": target,
        "coverage_ratio": float(quota.sum() / target),
        "quota_total": float(quota.sum()),
        "formula": (f"quota = {target:,.0f} × {spec.coverage:g} × ({alpha:g}·potential share + {1 - alpha:g}·history share), "
                    f"capped within [base × (1 − {spec.max_decrease}), base × (1 + {spec.max_increase})], base = {spec.relative_to}"),
        "territories_capped": int(capped.sum()),
        "expected_bookings": float(expected.sum()),
        "expected_bookings_rule": "run-rate: company expected bookings × the territory's share of last year's revenue",
        "attainment_mean": float(finite.mean()) if len(finite) else None,
        "attainment_p10": float(np.percentile(finite, 10)) if len(finite) else None,
        "attainment_p90": float(np.percentile(finite, 90)) if len(finite) else None,
        "share_below_80pct": float((finite < 0.8).mean()) if len(finite) else None,
    }
    return table, summary
