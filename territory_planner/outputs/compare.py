"""Plans side by side (issue 26): the KPI table with deltas, every moved account, each rep's change.

What planners compare when they review scenarios (FIELD.md §4 and §5b: eSpatial, Esri
Territory Design, SAP Territory & Quota): the KPIs of every plan with a "change" column
against a reference plan, a "realignment detailed" list of every reassigned account with
from → to, and the +/− of potential, workload and quota for every affected rep.

:func:`compare_plans` takes finished plans, the first one being the reference (plan A),
and returns a :class:`Comparison` of three tables:

* ``kpis``: one row per KPI (``kpi``, ``unit``, one column per plan, ``delta <label>``
  for every plan but the first, ``better``, ``key``);
* ``moves``: every account whose rep differs between plan A and another plan
  (``MOVE_COLUMNS``), accounts present in only one of the two with ``change`` added or
  removed;
* ``reps``: per other plan and rep, accounts, potential and workload gained, lost and
  net, and the quota before and after (``REP_COLUMNS``).

Only a plan's tables, KPIs, summary figures and scenario are read, never its solver
problem or assignment vector, so plans read back from their folders compare as well as
plans just solved. KPIs come from ``plan.kpis`` (``territory_planner.kpis``, so a number
means the same as in summary.json) and are computed from the tables only where a plan
lacks them. :func:`print_comparison` prints the KPI table with rich.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rich.markup import escape
from rich.table import Table

from territory_planner.kpis import COVERAGE_KM, coefficient_of_variation, gini
from territory_planner.plan import Plan

__all__ = ["MOVE_COLUMNS", "REP_COLUMNS", "Comparison", "compare_plans", "delta_tone", "format_delta",
           "format_value", "id_text", "plan_figures", "print_comparison"]

#: Columns of ``Comparison.moves``, in order.
MOVE_COLUMNS = ["plan", "account_id", "name", "from_territory_id", "from_rep_id", "to_territory_id", "to_rep_id",
                "potential", "workload", "distance_km_before", "distance_km_after", "change"]
#: Columns of ``Comparison.reps``, in order.
REP_COLUMNS = ["plan", "rep_id", "rep_name", "accounts_gained", "accounts_lost", "accounts_net",
               "potential_gained", "potential_lost", "potential_net", "workload_gained", "workload_lost",
               "workload_net", "quota_before", "quota_after", "quota_change"]
#: Column names of ``Comparison.kpis`` other than the plans' labels; a label may not take one.
_FIXED_COLUMNS = ("kpi", "unit", "better", "key")
_DELTA = "delta "


@dataclass(frozen=True)
class Comparison:
    """Plans compared with the first (plan A); see the module docstring for the tables."""

    labels: tuple[str, ...]
    kpis: pd.DataFrame
    moves: pd.DataFrame
    reps: pd.DataFrame


@dataclass(frozen=True)
class _Kpi:
    key: str
    name: str
    unit: str
    better: str  # "lower", "higher" or "" (neither)


# --------------------------------------------------------------------------- public API


def compare_plans(plans: list[Plan], labels: list[str]) -> Comparison:
    """Compare ``plans`` with the first one.

    Parameters
    ----------
    plans : two or more plans; the first is the reference (plan A) that moves, rep
        changes and deltas are measured against. Plans read back from a folder work.
    labels : one short, unique name per plan (column names of the KPI table).

    Returns
    -------
    Comparison with the ``kpis``, ``moves`` and ``reps`` tables.

    Raises
    ------
    ValueError : fewer than two plans, a label count that does not match, a duplicate,
        empty or reserved label, or a plan whose assignments lack a needed column or list
        an account twice.
    """
    plans = list(plans)
    labels = _check_labels(plans, labels)
    for plan, label in zip(plans, labels, strict=True):
        _check_plan(plan, label)
    moves = _all_moves(plans, labels)
    return Comparison(
        labels=tuple(labels),
        kpis=_kpi_table(plans, labels),
        moves=_moves_table(moves),
        reps=_reps_table(plans, labels, moves),
    )


def print_comparison(comparison: Comparison, console) -> None:
    """Print the KPI table of ``comparison`` on a rich ``console``, deltas coloured."""
    labels = comparison.labels
    table = Table(title="Plan comparison (deltas against " + escape(labels[0]) + ")", show_lines=False)
    table.add_column("KPI")
    table.add_column("unit", style="dim")
    for label in labels:
        table.add_column(escape(label), justify="right")
    for label in labels[1:]:
        table.add_column(escape("Δ " + label), justify="right")
    for row in comparison.kpis.to_dict("records"):
        cells = [escape(str(row["kpi"])), escape(str(row["unit"]))]
        cells += [escape(format_value(row[label], row["unit"])) for label in labels]
        for label in labels[1:]:
            delta = row[_DELTA + label]
            text = escape(format_delta(delta, row["unit"]))
            tone = delta_tone(delta, row.get("better", ""), row["unit"])
            cells.append(f"[{'green' if tone == 'better' else 'red'}]{text}[/]" if tone else text)
        table.add_row(*cells)
    console.print(table)


def format_value(value, unit: str) -> str:
    """A KPI value as the planner reads it: shares as %, counts whole, '—' when missing.

    >>> format_value(0.2863, "share"), format_value(4.99, "%"), format_value(float("inf"), "share")
    ('28.6%', '4.99%', '—')
    """
    if isinstance(value, str):
        return value
    v = _number(value)
    if v is None:
        return "—"
    if unit == "share":
        return f"{v * 100:.2f}%" if 0 < abs(v) < 0.01 else f"{v * 100:.1f}%"
    if unit == "%":
        return f"{v:.2f}%"
    if unit in ("ratio", "index"):
        return f"{v:.3f}"
    if unit in ("accounts", "reps", "seats", "currency"):
        return f"{v:,.0f}"
    if unit in ("s", "km", "units"):
        return f"{v:,.1f}"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.4g}"


def format_delta(delta, unit: str) -> str:
    """A difference to plan A, signed; shares and % in percentage points ('pp').

    >>> format_delta(-0.05, "share"), format_delta(1.5, "%"), format_delta(3, "accounts")
    ('-5.0 pp', '+1.50 pp', '+3')
    """
    v = _number(delta)
    if v is None:
        return ""
    if unit == "share":
        return f"{v * 100:+.2f} pp" if 0 < abs(v) < 0.01 else f"{v * 100:+.1f} pp"
    if unit == "%":
        return f"{v:+.2f} pp"
    if unit in ("ratio", "index"):
        return f"{v:+.3f}"
    if unit in ("accounts", "reps", "seats", "currency"):
        return f"{v:+,.0f}"
    if unit in ("s", "km", "units"):
        return f"{v:+,.1f}"
    return f"{v:+,.0f}" if abs(v) >= 1000 else f"{v:+,.4g}"


def delta_tone(delta, better: str, unit: str | None = None) -> str:
    """'better', 'worse' or '' (no direction, no change or no number) for a delta.

    With ``unit``, a change too small to show (``format_delta`` prints it as zero) has no tone.

    >>> delta_tone(-2.0, "lower"), delta_tone(0.00001, "lower", "share"), delta_tone(3, "")
    ('better', '', '')
    """
    v = _number(delta)
    if v is None or v == 0 or better not in ("lower", "higher"):
        return ""
    if unit is not None and not re.search(r"[1-9]", format_delta(v, unit)):
        return ""
    return "better" if (v < 0) == (better == "lower") else "worse"


# --------------------------------------------------------------------------- validation


def _check_labels(plans: list[Plan], labels) -> list[str]:
    if len(plans) < 2:
        raise ValueError(f"compare needs at least 2 plans, got {len(plans)}; pass the reference plan and one or more to compare with it")
    labels = list(labels)
    if len(labels) != len(plans):
        raise ValueError(f"{len(plans)} plans but {len(labels)} labels; give one label per plan")
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"label {i + 1} is {label!r}; every plan needs a non-empty text label, e.g. 'A' or 'today'")
        if label in _FIXED_COLUMNS or label.startswith(_DELTA):
            raise ValueError(f"label {label!r} would clash with the comparison's own columns "
                             f"({', '.join(_FIXED_COLUMNS)}, '{_DELTA}…'); choose another label")
        if label in seen:
            raise ValueError(f"labels must be unique: {label!r} is given for plans {seen[label] + 1} and {i + 1}; "
                             "name each plan differently, e.g. 'base' and 'tight balance'")
        seen[label] = i
    return labels


def _check_plan(plan: Plan, label: str) -> None:
    a = plan.assignments
    missing = [c for c in ("account_id", "territory_id", "rep_id") if c not in a.columns]
    if missing:
        raise ValueError(f"plan {label!r}: its assignments have no {', '.join(repr(c) for c in missing)} column; "
                         "compare plans made by territory_planner (or read back from their folders)")
    keys = a["account_id"].map(id_text)
    if keys.isna().any():
        raise ValueError(f"plan {label!r}: an account has no account_id (row {int(np.flatnonzero(keys.isna())[0]) + 1})")
    duplicated = keys[keys.duplicated()]
    if len(duplicated):
        raise ValueError(f"plan {label!r} lists account {duplicated.iloc[0]!r} more than once; each account must be "
                         "assigned once")


# --------------------------------------------------------------------------- KPIs


def _kpi_rows(plans: list[Plan]) -> list[_Kpi]:
    """The KPI rows to show: FIELD.md §4 in the planner's order, those no plan has left out."""
    columns = ["potential", "workload"]
    for plan in plans:
        columns += [c for c in plan.scenario.balance if c not in columns and c in plan.territories.columns]
    distance = "units" if plans[0].geometry == "planar" else "km"
    coverage_km = _number(plans[0].kpis.get("coverage_km")) or COVERAGE_KM
    rows = []
    for col in columns:
        rows += [
            _Kpi(f"{col}_max_dev_pct", f"{col} max deviation", "%", "lower"),
            _Kpi(f"{col}_cv", f"{col} CV", "ratio", "lower"),
            _Kpi(f"{col}_gini", f"{col} Gini", "index", "lower"),
        ]
    rows += [
        _Kpi("mean_distance_km", "mean distance", distance, "lower"),
        _Kpi("max_distance_km", "max distance", distance, "lower"),
        _Kpi("workload_weighted_mean_distance_km", "workload-weighted mean distance", distance, "lower"),
        _Kpi("accounts_moved", "accounts moved vs today", "accounts", "lower"),
        _Kpi("accounts_moved_share", "share of accounts moved vs today", "share", "lower"),
        _Kpi("potential_moved_share", "potential moved vs today", "share", "lower"),
        _Kpi("potential_within_coverage_share", f"potential within {coverage_km:g} {distance}", "share", "higher"),
        _Kpi("utilisation_min", "utilisation min", "share", ""),
        _Kpi("utilisation_max", "utilisation max", "share", ""),
        _Kpi("headcount", "headcount (reps in seat)", "reps", ""),
        _Kpi("open_seats", "open seats", "seats", ""),
        _Kpi("cost", "cost (reps and open seats)", "currency", "lower"),
        _Kpi("quota_coverage_ratio", "quota coverage (Σ quotas / target)", "ratio", ""),
        _Kpi("quota_attainment_spread", "expected attainment spread (p90 − p10)", "share", "lower"),
        _Kpi("quota_attainment_mean", "expected attainment mean", "share", "higher"),
        _Kpi("status", "status", "", ""),
        _Kpi("objective", "objective (" + str(getattr(plans[0], "cost_label", None) or "cost") + ")", "cost", "lower"),
        _Kpi("bound", "bound (proven)", "cost", ""),
        _Kpi("gap", "gap", "share", "lower"),
        _Kpi("seconds", "seconds", "s", "lower"),
    ]
    return rows


#: Rows shown only when some plan has a value (a scenario without quotas has no quota rows).
_OPTIONAL = {"accounts_moved", "accounts_moved_share", "potential_moved_share", "quota_coverage_ratio",
             "quota_attainment_spread", "quota_attainment_mean"}


def _kpi_table(plans: list[Plan], labels: list[str]) -> pd.DataFrame:
    figures = [plan_figures(plan) for plan in plans]
    records = []
    for kpi in _kpi_rows(plans):
        values = [f.get(kpi.key) for f in figures]
        if kpi.key in _OPTIONAL and all(_number(v) is None for v in values):
            continue
        record = {"kpi": kpi.name, "unit": kpi.unit}
        if kpi.key == "status":
            record |= {label: ("" if v is None else str(v)) for label, v in zip(labels, values, strict=True)}
        else:
            record |= {label: _float(v) for label, v in zip(labels, values, strict=True)}
        first = _number(values[0])
        for label, value in zip(labels[1:], values[1:], strict=True):
            other = _number(value)
            record[_DELTA + label] = other - first if first is not None and other is not None else math.nan
        record["better"] = kpi.better
        record["key"] = kpi.key
        records.append(record)
    columns = ["kpi", "unit", *labels, *(_DELTA + label for label in labels[1:]), "better", "key"]
    table = pd.DataFrame.from_records(records, columns=columns)
    for label in labels:  # numbers and the status text share a column
        table[label] = table[label].astype(object)
    return table


def plan_figures(plan: Plan) -> dict:
    """Every figure the comparison shows for one plan: ``plan.kpis`` first, the tables where missing.

    Keys are those of ``territory_planner.kpis.plan_kpis`` plus ``cost``,
    ``quota_attainment_spread`` and the summary figures (status, objective, bound, gap,
    seconds). Missing figures are NaN.
    """
    kpis = dict(plan.kpis or {})
    a, t = plan.assignments, plan.territories
    out: dict = {k: (v if v is not None else math.nan) for k, v in kpis.items()}
    columns = ["potential", "workload", *(c for c in plan.scenario.balance if c not in ("potential", "workload"))]
    for col in columns:
        if col not in t.columns:
            continue
        values = pd.to_numeric(t[col], errors="coerce").to_numpy(float)
        dev = f"{col}_dev_pct"
        if _number(out.get(f"{col}_max_dev_pct")) is None and dev in t.columns:
            devs = pd.to_numeric(t[dev], errors="coerce").abs()
            out[f"{col}_max_dev_pct"] = float(devs.max()) if devs.notna().any() else math.nan
        if _number(out.get(f"{col}_cv")) is None and len(values):
            out[f"{col}_cv"] = coefficient_of_variation(values)
        if _number(out.get(f"{col}_gini")) is None and len(values):
            out[f"{col}_gini"] = gini(values)
    if "distance_km" in a.columns:
        d = pd.to_numeric(a["distance_km"], errors="coerce").to_numpy(float)
        w = pd.to_numeric(a["workload"], errors="coerce").to_numpy(float) if "workload" in a else np.ones(len(d))
        p = pd.to_numeric(a["potential"], errors="coerce").to_numpy(float) if "potential" in a else np.ones(len(d))
        ok = np.isfinite(d)
        if ok.any():
            fallback = {
                "mean_distance_km": float(d[ok].mean()),
                "max_distance_km": float(d[ok].max()),
                "workload_weighted_mean_distance_km": float((d[ok] * w[ok]).sum() / w[ok].sum()) if w[ok].sum() > 0 else math.nan,
                "potential_within_coverage_share": float(p[ok & (d <= COVERAGE_KM)].sum() / p[ok].sum()) if p[ok].sum() > 0 else math.nan,
            }
            for key, value in fallback.items():
                if key not in kpis:
                    out[key] = value
    if _number(out.get("accounts_moved")) is None and "current_rep_id" in a.columns:
        out |= _moved_vs_today(a)
    if "utilisation" in t.columns:
        util = pd.to_numeric(t["utilisation"], errors="coerce")
        for key, value in (("utilisation_min", util.min()), ("utilisation_max", util.max()), ("utilisation_mean", util.mean())):
            if _number(out.get(key)) is None:
                out[key] = float(value) if pd.notna(value) else math.nan
    is_open = t["status"].astype(str).eq("open") if "status" in t.columns else pd.Series(False, index=t.index)
    if _number(out.get("headcount")) is None:
        out["headcount"] = int((~is_open).sum())
    if _number(out.get("open_seats")) is None:
        out["open_seats"] = int(is_open.sum())
    out["cost"] = _cost(plan, out["headcount"], out["open_seats"])
    p10, p90 = _number(out.get("quota_attainment_p10")), _number(out.get("quota_attainment_p90"))
    if (p10 is None or p90 is None) and "expected_attainment" in t.columns:
        attainment = pd.to_numeric(t["expected_attainment"], errors="coerce").dropna().to_numpy(float)
        if len(attainment):
            p10, p90 = float(np.percentile(attainment, 10)), float(np.percentile(attainment, 90))
            if _number(out.get("quota_attainment_mean")) is None:
                out["quota_attainment_mean"] = float(attainment.mean())
    out["quota_attainment_spread"] = p90 - p10 if p10 is not None and p90 is not None else math.nan
    out |= {"status": plan.status, "objective": _float(plan.objective), "bound": _float(plan.bound),
            "gap": _float(plan.gap), "seconds": _float(plan.seconds)}
    return out


def _moved_vs_today(a: pd.DataFrame) -> dict:
    known = a["current_rep_id"].map(id_text).notna().to_numpy()
    if not known.any():
        return {}
    if "moved" in a.columns:
        moved = a["moved"].fillna(False).astype(bool).to_numpy() & known
    else:
        moved = known & (a["current_rep_id"].map(id_text).to_numpy() != a["rep_id"].map(id_text).to_numpy())
    p = pd.to_numeric(a["potential"], errors="coerce").fillna(0).to_numpy(float) if "potential" in a else np.ones(len(a))
    return {"accounts_moved": int(moved.sum()), "accounts_moved_share": float(moved.sum() / known.sum()),
            "potential_moved_share": float(p[moved].sum() / p[known].sum()) if p[known].sum() > 0 else math.nan}


def _cost(plan: Plan, headcount, open_seats) -> float:
    """(headcount + open seats) × capacity.allocation.cost_per_rep, else Σ reps' ``cost`` of the seated reps."""
    spec = getattr(plan.scenario, "capacity_plan", None)
    allocation = getattr(spec, "allocation", None)
    if allocation is not None and allocation.cost_per_rep is not None:
        return float((headcount + open_seats) * allocation.cost_per_rep)
    reps = plan.reps
    if reps is not None and "cost" in reps.columns and "rep_id" in reps.columns and "rep_id" in plan.territories:
        seated = set(plan.territories["rep_id"].map(id_text).dropna())
        costs = pd.to_numeric(reps.loc[reps["rep_id"].map(id_text).isin(seated), "cost"], errors="coerce")
        return float(costs.sum()) if costs.notna().any() else math.nan
    return math.nan


# --------------------------------------------------------------------------- moves


def _side(plan: Plan) -> pd.DataFrame:
    """One row per account: key, owner and the columns a move shows."""
    a = plan.assignments
    side = pd.DataFrame({"key": a["account_id"].map(id_text).to_numpy(), "account_id": a["account_id"].to_numpy(object)})
    for col in ("name", "territory_id", "rep_id"):
        side[col] = a[col].to_numpy(object) if col in a.columns else None
    for col in ("potential", "workload", "distance_km"):
        side[col] = pd.to_numeric(a[col], errors="coerce").to_numpy(float) if col in a.columns else math.nan
    side["owner"] = [_owner(r, t) for r, t in zip(side["rep_id"], side["territory_id"], strict=True)]
    return side


def _owner(rep_id, territory_id) -> str | None:
    """Who covers an account: its rep_id; the territory where a plan has no rep (centers without reps)."""
    rep = id_text(rep_id)
    if rep is not None:
        return rep
    territory = id_text(territory_id)
    return None if territory is None else "territory " + territory


def _pair_moves(a: pd.DataFrame, b: pd.DataFrame, label: str) -> pd.DataFrame:
    """Accounts whose owner differs between plan A (``a``) and another plan (``b``)."""
    both = a.merge(b, on="key", how="outer", suffixes=("_a", "_b"), indicator=True, sort=False)
    change = np.select(
        [both["_merge"].eq("left_only"), both["_merge"].eq("right_only"),
         both["owner_a"].fillna("\0").ne(both["owner_b"].fillna("\0"))],
        ["removed", "added", "moved"], default="",
    )
    both = both[change != ""].assign(change=change[change != ""])

    def pick(column: str) -> pd.Series:  # the other plan's value, plan A's where it has none
        return both[f"{column}_b"].where(both["_merge"].ne("left_only"), both[f"{column}_a"])

    out = pd.DataFrame({
        "plan": label,
        "account_id": pick("account_id"),
        "name": pick("name"),
        "from_territory_id": both["territory_id_a"], "from_rep_id": both["rep_id_a"],
        "to_territory_id": both["territory_id_b"], "to_rep_id": both["rep_id_b"],
        "potential": pick("potential").astype(float), "workload": pick("workload").astype(float),
        "distance_km_before": both["distance_km_a"].astype(float), "distance_km_after": both["distance_km_b"].astype(float),
        "change": both["change"],
        "_from": both["owner_a"], "_to": both["owner_b"], "_key": both["key"],
    })
    return out.iloc[_order(out["_key"])].reset_index(drop=True)


def _all_moves(plans: list[Plan], labels: list[str]) -> pd.DataFrame:
    """Moves of every other plan against plan A, with the owner keys (``_from``, ``_to``)."""
    base = _side(plans[0])
    parts = [_pair_moves(base, _side(plan), label) for plan, label in zip(plans[1:], labels[1:], strict=True)]
    return pd.concat(parts, ignore_index=True)


def _moves_table(moves: pd.DataFrame) -> pd.DataFrame:
    out = moves[MOVE_COLUMNS].copy()
    for col in ("plan", "account_id", "name", "from_territory_id", "from_rep_id", "to_territory_id", "to_rep_id", "change"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def _order(keys: pd.Series) -> np.ndarray:
    """Positions that sort account ids: numerically when every id is a number, else as text."""
    numbers = pd.to_numeric(keys, errors="coerce")
    if len(keys) and numbers.notna().all():
        return np.argsort(numbers.to_numpy(float), kind="stable")
    return np.argsort(keys.astype(str).to_numpy(), kind="stable")


# --------------------------------------------------------------------------- reps


def _rep_directory(plan: Plan) -> tuple[dict[str, object], dict[str, str | None], dict[str, float] | None]:
    """owner → rep_id (as written), owner → rep_name, owner → quota (None without a quota column)."""
    ids: dict[str, object] = {}
    names: dict[str, str | None] = {}
    for frame in (plan.territories, plan.assignments):
        if "territory_id" not in frame.columns:
            continue
        reps = frame["rep_id"] if "rep_id" in frame.columns else pd.Series(None, index=frame.index)
        rep_names = frame["rep_name"] if "rep_name" in frame.columns else pd.Series(None, index=frame.index)
        for rep, territory, name in zip(reps, frame["territory_id"], rep_names, strict=True):
            owner = _owner(rep, territory)
            if owner is not None and owner not in ids:
                ids[owner] = rep if id_text(rep) is not None else territory
                names[owner] = None if id_text(name) is None else str(name)
    quotas = None
    t = plan.territories
    if "quota" in t.columns and "territory_id" in t.columns:
        owners = [_owner(r, tid) for r, tid in zip(t["rep_id"] if "rep_id" in t else [None] * len(t), t["territory_id"], strict=True)]
        quota = pd.to_numeric(t["quota"], errors="coerce")
        quotas = {o: float(q) for o, q in pd.Series(quota.to_numpy(float), index=owners).groupby(level=0, sort=False).sum(min_count=1).items()}
    return ids, names, quotas


def _reps_table(plans: list[Plan], labels: list[str], moves: pd.DataFrame) -> pd.DataFrame:
    base_ids, base_names, base_quota = _rep_directory(plans[0])
    records = []
    for plan, label in zip(plans[1:], labels[1:], strict=True):
        ids, names, quota = _rep_directory(plan)
        owners = list(dict.fromkeys([*base_ids, *ids]))
        mine = moves[moves["plan"] == label]
        gained = mine[mine["change"].isin(["moved", "added"])].groupby("_to")
        lost = mine[mine["change"].isin(["moved", "removed"])].groupby("_from")
        owners += [o for o in dict.fromkeys([*mine["_to"].dropna(), *mine["_from"].dropna()]) if o not in owners]
        g_count, l_count = gained.size(), lost.size()
        g_sum, l_sum = gained[["potential", "workload"]].sum(), lost[["potential", "workload"]].sum()
        for owner in owners:
            record = {"plan": label, "rep_id": ids.get(owner, base_ids.get(owner, owner)),
                      "rep_name": names.get(owner) or base_names.get(owner)}
            record["accounts_gained"] = int(g_count.get(owner, 0))
            record["accounts_lost"] = int(l_count.get(owner, 0))
            record["accounts_net"] = record["accounts_gained"] - record["accounts_lost"]
            for col in ("potential", "workload"):
                won = float(g_sum[col].get(owner, 0.0)) if len(g_sum) else 0.0
                gone = float(l_sum[col].get(owner, 0.0)) if len(l_sum) else 0.0
                record |= {f"{col}_gained": won, f"{col}_lost": gone, f"{col}_net": won - gone}
            before = math.nan if base_quota is None else base_quota.get(owner, 0.0)
            after = math.nan if quota is None else quota.get(owner, 0.0)
            record |= {"quota_before": before, "quota_after": after, "quota_change": after - before}
            records.append(record)
    table = pd.DataFrame.from_records(records, columns=REP_COLUMNS)
    for col in ("plan", "rep_id", "rep_name"):
        table[col] = table[col].astype(object).where(table[col].notna(), None)
    return table


# --------------------------------------------------------------------------- helpers


def id_text(value) -> str | None:
    """An id as comparable text: None when missing, 12.0 → '12', else ``str``."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _number(value) -> float | None:
    """A finite float, or None (missing, text, inf)."""
    if isinstance(value, bool | np.bool_):
        return float(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _float(value) -> float:
    """A float cell: inf kept (bound −inf, gap inf), missing as NaN."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
