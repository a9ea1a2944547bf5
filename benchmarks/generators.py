"""Instance generators unlike the demo's, for measuring on instances nobody tuned on.

The demo generator (``territory_planner.demo_data``) draws US accounts around ZIP
centroids with lognormal potential and three segments. These draw from other shapes:

- :func:`planar_cpmp`: a capacitated p-median instance on a planar square, accounts in
  a few Gaussian clusters plus a uniform background, integer workloads from a
  heavy-tailed (Pareto) law, and one capacity for all centers set so that the centers
  are ``utilisation`` full on average (0.9: tight).
- :func:`clustered_alignment`: accounts and reps for a ``centers: reps`` alignment on a
  planar rectangle, heavy-tailed potential uncorrelated with workload, and rep
  capacities set so that a share of the team (``binding_share``) would sit at 95–100%
  utilisation in a balanced plan.

Every function is deterministic for its seed. :func:`write_scenario` writes an instance
as the files a planner would bring (accounts.csv, reps.csv, scenario.yaml), so the CLI
can be measured on it end to end.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml


def _clustered_points(rng: np.random.Generator, n: int, *, width: float, height: float, clusters: int,
                      background: float) -> np.ndarray:
    """(n, 2) points: ``background`` share uniform, the rest in Gaussian clusters of random size."""
    n_uniform = int(round(background * n))
    centres = rng.uniform([0.1 * width, 0.1 * height], [0.9 * width, 0.9 * height], size=(clusters, 2))
    spread = rng.uniform(0.02, 0.08, size=clusters) * min(width, height)
    weights = rng.dirichlet(np.full(clusters, 0.8))
    which = rng.choice(clusters, size=n - n_uniform, p=weights)
    pts = centres[which] + rng.normal(size=(n - n_uniform, 2)) * spread[which, None]
    pts = np.clip(pts, 0, [width, height])
    uniform = rng.uniform([0, 0], [width, height], size=(n_uniform, 2))
    out = np.vstack([pts, uniform])
    return np.round(out[rng.permutation(n)], 3)


def planar_cpmp(n: int, p: int, *, utilisation: float = 0.9, seed: int = 0) -> tuple[pd.DataFrame, float]:
    """(accounts, capacity): ``n`` accounts on a 1,000 × 1,000 square for choosing ``p`` centers.

    Workloads are integers 1–60 from a Pareto law (a few heavy accounts); the capacity is
    Σ workload / (p × utilisation), rounded down to an integer, and never below the
    heaviest account. Potential is lognormal and independent of workload.
    """
    rng = np.random.default_rng(seed)
    xy = _clustered_points(rng, n, width=1000.0, height=1000.0, clusters=max(3, p // 3), background=0.25)
    workload = np.clip(np.round(4 * (rng.pareto(2.2, n) + 1)), 1, 60)
    capacity = max(float(np.floor(workload.sum() / (p * utilisation))), float(workload.max()))
    accounts = pd.DataFrame({
        "account_id": [f"C{i + 1:05d}" for i in range(n)],
        "name": [f"Account {i + 1}" for i in range(n)],
        "x": xy[:, 0],
        "y": xy[:, 1],
        "potential": np.round(rng.lognormal(10.5, 1.1, n), 0),
        "workload": workload,
    })
    return accounts, capacity


def clustered_alignment(n: int, k: int, *, binding_share: float = 0.3, seed: int = 0,
                        segments: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(accounts, reps) for a ``centers: reps`` alignment on a 1,600 × 900 planar rectangle.

    Potential is heavy-tailed (Pareto, a handful of accounts hold a large share) and only
    weakly tied to workload. Rep homes sit near the accounts' clusters. Capacities: the
    mean territory workload × 1.02 for ``binding_share`` of the reps (at 95–100% in a
    plan balanced on workload), × 1.4 for the others.
    """
    rng = np.random.default_rng(seed)
    xy = _clustered_points(rng, n, width=1600.0, height=900.0, clusters=max(4, k // 4), background=0.15)
    potential = np.round(20_000 * (rng.pareto(1.6, n) + 1), 0)
    workload = np.round(rng.gamma(2.0, 6.0, n) + 0.00002 * potential, 1)
    homes = xy[rng.choice(n, size=k, replace=False)] + rng.normal(scale=15.0, size=(k, 2))
    mean_load = workload.sum() / k
    binding = rng.permutation(k) < int(round(binding_share * k))
    capacity = np.round(np.where(binding, 1.02, 1.4) * mean_load, 1)
    accounts = pd.DataFrame({
        "account_id": [f"K{i + 1:05d}" for i in range(n)],
        "name": [f"Client {i + 1}" for i in range(n)],
        "x": xy[:, 0],
        "y": xy[:, 1],
        "potential": potential,
        "workload": workload,
    })
    if segments:
        accounts["segment"] = np.where(potential > np.quantile(potential, 0.8), "Enterprise", "SMB")
    reps = pd.DataFrame({
        "rep_id": [f"P{j + 1:03d}" for j in range(k)],
        "name": [f"Rep {j + 1}" for j in range(k)],
        "x": np.round(homes[:, 0], 3),
        "y": np.round(homes[:, 1], 3),
        "capacity_hours": capacity,
    })
    return accounts, reps


def write_scenario(folder: str | Path, accounts: pd.DataFrame, scenario: dict,
                   reps: pd.DataFrame | None = None) -> Path:
    """Write accounts.csv (and reps.csv) and scenario.yaml into ``folder``; returns the YAML path.

    ``scenario`` is the scenario mapping without its ``data`` section, which is filled in.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    accounts.to_csv(folder / "accounts.csv", index=False)
    data = {"accounts": "accounts.csv"}
    if reps is not None:
        reps.to_csv(folder / "reps.csv", index=False)
        data["reps"] = "reps.csv"
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump({"name": folder.name, "data": data, **scenario}, sort_keys=False))
    return path


#: Industries of :func:`firmographic_accounts`: log spend per employee and its share of accounts.
_FIRM_INDUSTRIES = {"Agritech": (6.2, 0.08), "Biotech": (7.6, 0.07), "Wholesale": (6.6, 0.15), "Media": (6.9, 0.10),
                    "Utilities": (7.2, 0.05), "Public Sector": (6.0, 0.12), "Telecom": (7.4, 0.06),
                    "Engineering": (6.8, 0.17), "Insurance": (7.0, 0.11), "Travel": (6.4, 0.09)}
_FIRM_REGIONS = {"North": 0.15, "South": -0.10, "East": 0.05, "West": 0.0, "Islands": -0.25, "Capital": 0.30}


def firmographic_accounts(n: int, *, seed: int = 0, hidden: float = 0.35, prospects: float = 0.12) -> pd.DataFrame:
    """``n`` accounts with a known potential behind their revenue, unlike the demo's data.

    A Pareto (heavy-tailed) head count per account, ten industries with their own spend
    per employee, six regions with a price level, and a hidden factor (lognormal, sigma
    ``hidden``) no column shows: true potential = employees^0.9 × spend(industry) ×
    level(region) × hidden. Revenue is a Beta(2, 3) share of it (penetration, unseen),
    with a ``prospects`` share buying nothing; a second, noisier revenue year
    (``revenue_prior``) is also drawn. Columns: account_id, segment (by size), industry,
    region, employees, founded (noise: no effect), revenue, revenue_prior, true_potential
    (what a test compares the estimate with; a planner never has it), x, y.
    """
    rng = np.random.default_rng([seed, 2029])
    names = np.array(list(_FIRM_INDUSTRIES), dtype=object)
    industry = names[rng.choice(len(names), size=n, p=[s for _, s in _FIRM_INDUSTRIES.values()])]
    regions = np.array(list(_FIRM_REGIONS), dtype=object)
    region = regions[rng.integers(0, len(regions), size=n)]
    employees = np.maximum(1, np.round((rng.pareto(1.3, size=n) + 1) * 8)).astype(np.int64)
    log_spend = pd.Series(industry).map({k: v for k, (v, _) in _FIRM_INDUSTRIES.items()}).to_numpy(float)
    level = pd.Series(region).map(_FIRM_REGIONS).to_numpy(float)
    true = np.exp(0.9 * np.log(employees) + log_spend + level + rng.normal(0, hidden, size=n))
    share = rng.beta(2, 3, size=n) * (rng.random(n) >= prospects)
    revenue = np.round(true * share)
    prior = np.round(np.maximum(0, true * np.clip(share * rng.lognormal(-0.05, 0.25, size=n), 0, 1)))
    segment = np.where(employees >= 200, "Large", np.where(employees >= 40, "Medium", "Small"))
    return pd.DataFrame({
        "account_id": [f"F{i:06d}" for i in range(1, n + 1)], "segment": segment, "industry": industry,
        "region": region, "employees": employees, "founded": rng.integers(1950, 2024, size=n),
        "revenue": revenue, "revenue_prior": prior, "true_potential": np.round(true),
        "x": rng.uniform(0, 1000, size=n), "y": rng.uniform(0, 1000, size=n),
    })
