"""Plans side by side (issue 26): the KPI table with deltas, every moved account, each rep's change.

What planners compare when they review scenarios (FIELD.md §4 and §5b: eSpatial, Esri
Territory Design, SAP Territory & Quota): the KPIs of every plan with a "change" column
against a reference plan, a "realignment detailed" list of every reassigned account with
from → to, and the +/− of potential, workload and quota for every affected rep.

:func:`compare_plans` takes finished plans, the first one being the reference (plan A),
and returns a :class:`Comparison` of three tables:

* ``kpis``: one row per KPI (``kpi``, ``unit``, one column per plan, ``delta <label>``
  for every plan but the first, ``better``, ``key``). The objective and its bound get no
  delta for a plan whose objective measures something else than plan A's (its
  ``cost_label``, e.g. workload- against potential-weighted km): the row names what each
  plan's objective measures and ``Comparison.notes`` says why the cells are empty;
* ``moves``: every account whose rep differs between plan A and another plan
  (``MOVE_COLUMNS``), accounts present in only one of the two with ``change`` added or
  removed;
* ``reps``: per other plan and rep, accounts, potential and workload gained, lost and
  net, and the quota before and after (``REP_COLUMNS``).

Only a plan's tables, KPIs, summary figures and scenario are read, never its solver
problem or assignment vector, so plans read back from their folders compare as well as
plans just solved. Every KPI is ``plan.kpis`` as ``territory_planner.kpis`` computed it
(so a number means the same as in summary.json; a plan read back carries its
summary.json's), and the two figures only a comparison shows, the team's cost and the
quota attainment spread, come from ``kpis.team_cost`` and ``kpis.attainment_spread``.
Nothing is recomputed here. The "vs today" rows count, for each plan, the accounts whose
rep differs from their ``current_rep_id`` in that plan's own accounts (for a re-plan, the
plan it started from), not from plan A. :func:`print_comparison` prints the KPI table
with rich.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rich.markup import escape
from rich.table import Table

from territory_planner.kpis import COVERAGE_KM, attainment_spread, team_cost
from territory_planner.plan import Plan

__all__ = ["MOVE_COLUMNS", "REP_COLUMNS", "RESERVED_COLUMNS", "Comparison", "compare_plans", "delta_tone",
           "format_delta", "format_value", "id_text", "is_reserved_label", "plan_figures", "print_comparison"]

#: Columns of ``Comparison.moves``, in order.
MOVE_COLUMNS = ["plan", "account_id", "name", "from_territory_id", "from_rep_id", "to_territory_id", "to_rep_id",
                "potential", "workload", "distance_km_before", "distance_km_after", "change"]
#: Columns of ``Comparison.reps``, in order.
REP_COLUMNS = ["plan", "rep_id", "rep_name", "accounts_gained", "accounts_lost", "accounts_net",
               "potential_gained", "potential_lost", "potential_net", "workload_gained", "workload_lost",
               "workload_net", "quota_before", "quota_after", "quota_change"]
#: Column names of ``Comparison.kpis`` other than the plans' labels; a label may not take
#: one, nor start with ``"delta "`` (see :func:`is_reserved_label`).
RESERVED_COLUMNS = ("kpi", "unit", "better", "key")
_DELTA = "delta "
#: What the "vs today" rows measure, for the reader of the table.
_TODAY_NOTE = ("'vs today': accounts whose rep differs from their current_rep_id in each plan's own accounts "
               "(for a re-plan, the plan it started from), not from plan A; moves.csv compares with plan A.")


@dataclass(frozen=True)
class Comparison:
    """Plans compared with the first (plan A); see the module docstring for the tables."""

    labels: tuple[str, ...]
    kpis: pd.DataFrame
    moves: pd.DataFrame
    reps: pd.DataFrame
    #: What a reader of the KPI table must know (objectives that cannot be compared,
    #: what "today" is), one sentence each.
    notes: tuple[str, ...] = ()


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
    kpis = _kpi_table(plans, labels)
    return Comparison(
        labels=tuple(labels),
        kpis=kpis,
        moves=_moves_table(moves),
        reps=_reps_table(plans, labels, moves),
        notes=_notes(plans, labels, kpis),
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
    for note in comparison.notes:
        console.print(escape(note), style="dim", highlight=False)


def format_value(value, unit: str) -> str:
    """A KPI value as the planner reads it: shares as %, counts whole, '—' when missing.

    ``unit`` is a KPI table's unit: "share", "%", "ratio", "index", "accounts", "reps",
    "seats", "currency" (quotas, cost), "s" (seconds), "h" (workload hours), "km",
    "units" (planar distance), "amount" (potential: the planner's own measure) or "cost"
    (an objective).

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
    if unit in ("s", "h", "km", "units"):
        return f"{v:,.1f}"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.4g}"  # "cost", "amount" (potential) and others


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
    if unit in ("s", "h", "km", "units"):
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


def is_reserved_label(label: str) -> bool:
    """Whether ``label`` would clash with a column of the KPI table (a ``RESERVED_COLUMNS``
    name, or one that starts with ``"delta "``).

    >>> is_reserved_label("key"), is_reserved_label("delta B"), is_reserved_label("keys")
    (True, True, False)
    """
    return label in RESERVED_COLUMNS or label.startswith(_DELTA)


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
        if is_reserved_label(label):
            raise ValueError(f"label {label!r} would clash with the comparison's own columns "
                             f"({', '.join(RESERVED_COLUMNS)}, '{_DELTA}…'); choose another label")
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


def _kpi_rows(plans: list[Plan], labels: list[str]) -> list[_Kpi]:
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
        _Kpi("accounts_moved", "accounts moved vs today (own current_rep_id)", "accounts", "lower"),
        _Kpi("accounts_moved_share", "share of accounts moved vs today (own current_rep_id)", "share", "lower"),
        _Kpi("potential_moved_share", "potential moved vs today (own current_rep_id)", "share", "lower"),
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
        _Kpi("objective", _objective_name(plans, labels), "cost", "lower"),
        _Kpi("bound", "bound (proven)" if _same_objective(plans) else "bound (proven; of each plan's own objective)",
             "cost", ""),
        _Kpi("gap", "gap", "share", "lower"),
        _Kpi("seconds", "seconds", "s", "lower"),
    ]
    return rows


def _same_objective(plans: list[Plan]) -> bool:
    """Whether every plan's objective measures the same thing (one ``cost_label``)."""
    return len({plan.cost_label for plan in plans}) == 1


def _objective_name(plans: list[Plan], labels: list[str]) -> str:
    """The objective row's name: what the objective measures, per plan where they differ."""
    if _same_objective(plans):
        return f"objective ({plans[0].cost_label})"
    groups: dict[str, list[str]] = {}
    for plan, label in zip(plans, labels, strict=True):
        groups.setdefault(plan.cost_label, []).append(label)
    each = "; ".join(f"{', '.join(names)}: {cost}" for cost, names in groups.items())
    return f"objective (not comparable: {each})"


#: Rows whose values are each plan's own objective: no delta where the objectives differ.
_OBJECTIVE_ROWS = ("objective", "bound")


def _notes(plans: list[Plan], labels: list[str], kpis: pd.DataFrame) -> tuple[str, ...]:
    notes = []
    others = [label for plan, label in zip(plans[1:], labels[1:], strict=True) if plan.cost_label != plans[0].cost_label]
    if others:
        notes.append(f"objective and bound not comparable: the objective of {', '.join(others)} measures something "
                     f"else than {labels[0]}'s ({plans[0].cost_label}), so their deltas are left empty; compare "
                     "the KPIs above instead.")
    if kpis["key"].isin(["accounts_moved", "accounts_moved_share", "potential_moved_share"]).any():
        notes.append(_TODAY_NOTE)
    return tuple(notes)


#: Rows shown only when some plan has a value (a scenario without quotas has no quota rows).
_OPTIONAL = {"accounts_moved", "accounts_moved_share", "potential_moved_share", "quota_coverage_ratio",
             "quota_attainment_spread", "quota_attainment_mean"}


def _kpi_table(plans: list[Plan], labels: list[str]) -> pd.DataFrame:
    figures = [plan_figures(plan) for plan in plans]
    comparable = [plan.cost_label == plans[0].cost_label for plan in plans]
    records = []
    for kpi in _kpi_rows(plans, labels):
        values = [f.get(kpi.key) for f in figures]
        if kpi.key in _OPTIONAL and all(_number(v) is None for v in values):
            continue
        record = {"kpi": kpi.name, "unit": kpi.unit}
        if kpi.key == "status":
            record |= {label: ("" if v is None else str(v)) for label, v in zip(labels, values, strict=True)}
        else:
            record |= {label: _float(v) for label, v in zip(labels, values, strict=True)}
        first = _number(values[0])
        for label, value, same in zip(labels[1:], values[1:], comparable[1:], strict=True):
            other = _number(value)
            known = first is not None and other is not None and (same or kpi.key not in _OBJECTIVE_ROWS)
            record[_DELTA + label] = other - first if known else math.nan
        record["better"] = kpi.better
        record["key"] = kpi.key
        records.append(record)
    columns = ["kpi", "unit", *labels, *(_DELTA + label for label in labels[1:]), "better", "key"]
    table = pd.DataFrame.from_records(records, columns=columns)
    for label in labels:  # numbers and the status text share a column
        table[label] = table[label].astype(object)
    return table


def plan_figures(plan: Plan) -> dict:
    """Every figure the comparison shows for one plan, all from ``plan.kpis`` and its summary.

    Keys are those of ``plan.kpis`` (``territory_planner.kpis.plan_kpis``, or a plan
    folder's summary.json), plus ``cost`` (``kpis.team_cost``), ``quota_attainment_spread``
    (``kpis.attainment_spread``) and the summary figures (status, objective, bound, gap,
    seconds). A KPI the plan does not carry is missing (NaN in the table), never computed
    here from its tables: the numbers are the ones summary.json states.
    """
    out: dict = {k: (v if v is not None else math.nan) for k, v in (plan.kpis or {}).items()}
    out["cost"] = team_cost(_float(out.get("headcount")), _float(out.get("open_seats")),
                            cost_per_rep=_cost_per_rep(plan), seated_rep_costs=_seated_rep_costs(plan))
    out["quota_attainment_spread"] = attainment_spread(out.get("quota_attainment_p10"), out.get("quota_attainment_p90"))
    out |= {"status": plan.status, "objective": _float(plan.objective), "bound": _float(plan.bound),
            "gap": _float(plan.gap), "seconds": _float(plan.seconds)}
    return out


def _cost_per_rep(plan: Plan) -> float | None:
    """The scenario's ``capacity.allocation.cost_per_rep``, None without one."""
    allocation = getattr(getattr(plan.scenario, "capacity_plan", None), "allocation", None)
    return None if allocation is None or allocation.cost_per_rep is None else float(allocation.cost_per_rep)


def _seated_rep_costs(plan: Plan) -> np.ndarray | None:
    """The reps file's ``cost`` of the reps seated on the plan's territories, None without the column."""
    reps, territories = plan.reps, plan.territories
    if reps is None or "cost" not in reps.columns or "rep_id" not in reps.columns or "rep_id" not in territories:
        return None
    seated = set(territories["rep_id"].map(id_text).dropna())
    return pd.to_numeric(reps.loc[reps["rep_id"].map(id_text).isin(seated), "cost"], errors="coerce").to_numpy(float)


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
