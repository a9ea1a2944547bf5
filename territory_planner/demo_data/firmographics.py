"""The demo accounts' firmographics: industry, head count and the year before last's revenue.

They feed the lookalike potential estimate (issue 29: potential = a high quantile of
revenue among similar accounts), so they are drawn to hide potential only partly: the
head count follows from potential through an industry's spend per employee, a regional
factor and noise. They come from their own random stream, after everything else, so
every other column of the demo is the same with or without them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The firmographics' own random stream: ``default_rng([seed, FIRMOGRAPHICS_STREAM])``.
FIRMOGRAPHICS_STREAM = 29
#: Industry → the account's potential per employee ($/yr): what a firm of the industry
#: spends on the offering per head.
SPEND_PER_EMPLOYEE = {
    "Software": 2_800, "Financial Services": 2_400, "Professional Services": 1_800,
    "Healthcare": 1_100, "Manufacturing": 900, "Education": 700, "Logistics": 650,
    "Construction": 550, "Retail": 400, "Hospitality": 300,
}
INDUSTRIES = tuple(SPEND_PER_EMPLOYEE)
#: Segment → industry → probability: more Software and Financial Services among the
#: largest accounts, more Retail, Construction and Hospitality among the smallest.
INDUSTRY_SHARES = {
    segment: dict(zip(INDUSTRIES, shares, strict=True))
    for segment, shares in {
        #              Sw    FinS  Prof  Hlth  Manu  Educ  Logi  Cons  Retl  Hosp
        "Enterprise": (0.18, 0.18, 0.10, 0.14, 0.18, 0.03, 0.06, 0.03, 0.08, 0.02),
        "Mid-Market": (0.12, 0.11, 0.13, 0.13, 0.18, 0.05, 0.08, 0.06, 0.10, 0.04),
        "SMB":        (0.06, 0.06, 0.16, 0.12, 0.12, 0.05, 0.07, 0.12, 0.15, 0.09),
    }.items()
}
#: Census region → factor on the spend per employee (costs and budgets run higher on the coasts).
REGION_SPEND_FACTOR = {"Northeast": 1.15, "West": 1.10, "Midwest": 0.95, "South": 0.90}
CENSUS_REGIONS = {
    "Northeast": ("CT", "ME", "MA", "NH", "RI", "VT", "NJ", "NY", "PA"),
    "Midwest": ("IL", "IN", "MI", "OH", "WI", "IA", "KS", "MN", "MO", "NE", "ND", "SD"),
    "South": ("DE", "DC", "FL", "GA", "MD", "NC", "SC", "VA", "WV", "AL", "KY", "MS", "TN",
              "AR", "LA", "OK", "TX"),
    "West": ("AZ", "CO", "ID", "MT", "NV", "NM", "UT", "WY", "CA", "OR", "WA"),
}
#: Sigma of the lognormal noise on an account's spend per employee (log scale).
SPEND_PER_EMPLOYEE_SIGMA = 0.5
#: Revenue growth from the year before last to last year: lognormal (median, sigma of the log).
REVENUE_GROWTH = (1.05, 0.15)
#: Share of last year's customers won last year (nothing the year before).
NEW_CUSTOMER_SHARE = 0.05
#: Share of last year's non-buyers who bought the year before (churned), and the Beta
#: share of potential they bought then.
CHURNED_SHARE = 0.20
CHURNED_BETA = (2, 6)


def draw_firmographics(
    seed: int, segment: np.ndarray, state: np.ndarray, potential: np.ndarray, revenue: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Industry, employees and the year before last's revenue, from their own random stream.

    The industry is drawn with segment-dependent shares; the head count follows from
    potential, ``employees = potential / (spend_per_employee[industry] × region factor ×
    lognormal noise)``, so log(potential) ≈ log(employees) + industry + region effects +
    noise: firmographics predict potential well but not exactly. The year before last's
    revenue is last year's divided by a lognormal growth factor (never above potential),
    0 for the customers won last year; among last year's non-buyers some churned
    customers bought a Beta share of potential.
    """
    rng = np.random.default_rng([seed, FIRMOGRAPHICS_STREAM])
    n = segment.size
    industries = np.asarray(INDUSTRIES, dtype=object)
    # One uniform per account whatever the segments, by the inverse CDF of its segment's shares.
    u = rng.random(n)
    industry_index = np.zeros(n, dtype=np.int64)
    for name, shares in INDUSTRY_SHARES.items():
        mask = segment == name
        cdf = np.cumsum([shares[i] for i in INDUSTRIES])
        industry_index[mask] = np.minimum(np.searchsorted(cdf / cdf[-1], u[mask], side="right"), len(industries) - 1)
    industry = industries[industry_index]

    region_of_state = {s: region for region, states in CENSUS_REGIONS.items() for s in states}
    region_factor = pd.Series(state).map(region_of_state).map(REGION_SPEND_FACTOR).to_numpy(float)
    spend = pd.Series(industry).map(SPEND_PER_EMPLOYEE).to_numpy(float) * region_factor
    spend *= np.exp(rng.normal(0.0, SPEND_PER_EMPLOYEE_SIGMA, size=n))
    employees = np.maximum(1, np.round(potential / spend)).astype(np.int64)

    median_growth, sigma_growth = REVENUE_GROWTH
    growth = median_growth * np.exp(rng.normal(0.0, sigma_growth, size=n))
    new_customer = rng.random(n) < NEW_CUSTOMER_SHARE
    churned = rng.random(n) < CHURNED_SHARE
    churned_share = rng.beta(*CHURNED_BETA, size=n)
    prior = np.where(
        revenue > 0,
        np.where(new_customer, 0.0, np.minimum(np.round(revenue / growth), potential)),
        np.where(churned, np.round(potential * churned_share), 0.0),
    )
    return industry, employees, prior.astype(np.int64)
