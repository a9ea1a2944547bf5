"""Coverage tiers: by potential (ABC, quantile bands or the planner's rules) and by penetration.

- **abc** (FIELD.md §2b): accounts ranked by potential, largest first (ties by account id);
  the first tier holds the accounts whose potential *before* theirs is below its share
  of the total (so it is the fewest accounts that hold at least that share), the next
  tier the accounts up to the next cumulative share, and so on.
- **quantile**: the same on the count of accounts: with ``{A: 0.1, B: 0.3, C: 0.6}`` the
  top 10% of accounts by potential are A (⌈…⌉ by the same rule: an account is in the
  first tier whose cumulative share its rank has not yet reached).
- **rules**: the first rule an account meets gives its tier; an account no rule takes
  is an error, named with its row.
- **penetration**: grow below ``grow_below``, harvest from ``harvest_from``, maintain
  between; an account without potential (penetration undefined) is maintain.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from territory_planner.errors import InputError, ScenarioError
from territory_planner.scenario.potential import PenetrationSpec, TiersSpec


def _tiers(order: np.ndarray, before: np.ndarray, shares: dict[str, float]) -> np.ndarray:
    """Tier of each ranked account from the share before it; ``order`` ranks the accounts."""
    names = np.array(list(shares), dtype=object)
    bounds = np.cumsum(list(shares.values()))
    tier = np.empty(len(order), dtype=object)
    # side="right": an account whose preceding share reaches a boundary starts the next tier
    # (the 1e-12 absorbs the float sum's rounding at an exact boundary).
    tier[order] = names[np.minimum(np.searchsorted(bounds, before + 1e-12, side="right"), len(names) - 1)]
    return tier


def _ranking(values: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Largest first, ties by account id."""
    return np.lexsort((ids.astype(str), -values))


def by_cumulative_share(values: np.ndarray, ids: np.ndarray, shares: dict[str, float]) -> np.ndarray:
    """Each account's tier by cumulative share of ``values`` (abc), top tier first."""
    order = _ranking(values, ids)
    ranked = values[order]
    total = ranked.sum()
    before = (np.cumsum(ranked) - ranked) / total if total > 0 else np.zeros(len(ranked))
    return _tiers(order, before, shares)


def by_count(values: np.ndarray, ids: np.ndarray, shares: dict[str, float]) -> np.ndarray:
    """Each account's tier by its rank among the accounts (quantile bands), top tier first."""
    order = _ranking(values, ids)
    return _tiers(order, np.arange(len(values)) / max(len(values), 1), shares)


def _rule_column(frame: pd.DataFrame, name: str, measures: dict[str, np.ndarray], *, file, key: str):
    if name in measures:
        return measures[name]
    if name in frame.columns:
        return frame[name]
    known = sorted({*measures, *(c for c in frame.columns if not str(c).startswith("_"))})
    raise ScenarioError(f"tier rule '{key}' reads column '{name}', which the accounts do not have", file=file,
                        column=f"potential.tiers.rules.{key}", value=name,
                        fix=f"use a measure ({', '.join(measures)}) or a column of the accounts file: {', '.join(known[:20])}")


def check_rule_columns(frame: pd.DataFrame, spec: TiersSpec, measures, *, scenario_file=None) -> None:
    """Every column a rule reads exists (checked before the model is fitted, so a typo fails fast)."""
    stand_in = dict.fromkeys(measures, np.zeros(len(frame)))
    for index, rule in enumerate(spec.rules):
        for kind, names in (("min", rule.min), ("max", rule.max), ("in", rule.in_)):
            for name in names:
                _rule_column(frame, name, stand_in, file=scenario_file, key=f"{index}.{kind}")


def by_rules(frame: pd.DataFrame, spec: TiersSpec, measures: dict[str, np.ndarray], *, file=None,
             scenario_file=None) -> np.ndarray:
    """Each account's tier: the first rule it meets. Every account must meet one."""
    n = len(frame)
    tier = np.full(n, None, dtype=object)
    for index, rule in enumerate(spec.rules):
        meets = np.ones(n, dtype=bool)
        for kind, bounds in (("min", rule.min), ("max", rule.max)):
            for name, bound in bounds.items():
                raw = pd.Series(_rule_column(frame, name, measures, file=scenario_file, key=f"{index}.{kind}"))
                values = pd.to_numeric(raw, errors="coerce").to_numpy(float)
                if raw.notna().any() and np.isnan(values[raw.notna().to_numpy()]).all():
                    raise ScenarioError(f"tier rule {index + 1} bounds '{name}' with {kind}, but it is a text column",
                                        file=scenario_file, column=f"potential.tiers.rules.{index}.{kind}", value=name,
                                        fix=f"list its values instead: in: {{{name}: [..]}}, or bound a numeric column")
                with np.errstate(invalid="ignore"):
                    meets &= (values >= bound) if kind == "min" else (values < bound)
        for name, allowed in rule.in_.items():
            values = pd.Series(_rule_column(frame, name, measures, file=scenario_file, key=f"{index}.in"))
            if pd.api.types.is_numeric_dtype(values):  # codes read as numbers: 8 is 8.0
                meets &= values.isin(pd.to_numeric(pd.Series(allowed, dtype=object), errors="coerce")).to_numpy()
            else:
                meets &= values.astype(str).str.strip().isin([str(a).strip() for a in allowed]).to_numpy()
        take = meets & (tier == None)  # noqa: E711  (object array: elementwise test)
        tier[take] = rule.tier
    left = np.flatnonzero(tier == None)  # noqa: E711
    if len(left):
        i = int(left[0])
        row = int(frame["_row"].iloc[i]) if "_row" in frame else None
        raise InputError(
            f"{len(left):,} accounts meet no tier rule of potential.tiers.rules, the first is account "
            f"'{frame['account_id'].iloc[i]}'",
            file=file, row=row,
            fix=f"add a last rule without conditions to take every account left, e.g. {{tier: {spec.names[-1]}}}, "
                "or widen the rules' bounds (in the scenario file)",
        )
    return tier


def penetration_tiers(penetration: np.ndarray, spec: PenetrationSpec) -> np.ndarray:
    """grow / maintain / harvest by penetration (revenue / potential)."""
    out = np.full(len(penetration), "maintain", dtype=object)
    with np.errstate(invalid="ignore"):
        out[penetration < spec.grow_below] = "grow"
        out[penetration >= spec.harvest_from] = "harvest"
    return out


def tier_table(frame: pd.DataFrame, revenue: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Per tier: accounts, potential, its share, revenue, whitespace, penetration, workload."""
    work = pd.DataFrame({"tier": frame["tier"].to_numpy(), "potential": frame["potential"].to_numpy(float),
                         "revenue": revenue, "whitespace": frame["whitespace"].to_numpy(float)})
    if "workload" in frame:
        work["workload"] = pd.to_numeric(frame["workload"], errors="coerce").to_numpy(float)
    grouped = work.groupby("tier", sort=False)
    table = grouped.agg(accounts=("potential", "size"), potential=("potential", "sum"), revenue=("revenue", "sum"),
                        whitespace=("whitespace", "sum"))
    if "workload" in work:
        table["workload_hours"] = grouped["workload"].sum()
    table = table.reindex([n for n in names if n in table.index])
    total = float(work["potential"].sum())
    table.insert(2, "potential_share", table["potential"] / total if total > 0 else np.nan)
    table["penetration"] = table["revenue"] / table["potential"].where(table["potential"] > 0)
    return table.reset_index()
