"""A capacity plan's outputs: its files, and the summary a sales leader reads after ``territory-planner capacity``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from territory_planner.capacity.planning import (
    CAPACITY_COLUMNS,
    HIRING_COLUMNS,
    QUOTA_COLUMNS,
    CapacityPlan,
)
from territory_planner.outputs.files import write_csv, write_json

if TYPE_CHECKING:
    from rich.console import Console


def money(x: float | None) -> str:
    """$ amounts the way a sales leader reads them: $205.0M, $180k."""
    if x is None:
        return "–"
    sign = "−" if x < 0 else ""
    x = abs(x)
    if x >= 1e6:
        return f"{sign}${x / 1e6:,.1f}M"
    if x >= 1e3:
        return f"{sign}${x / 1e3:,.0f}k"
    return f"{sign}${x:,.0f}"


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def print_capacity_summary(result: CapacityPlan, console: Console, written: dict | None = None) -> None:
    """Print the capacity plan as rich tables: reps by region, hiring plan, allocation, quotas."""
    from rich.markup import escape
    from rich.table import Table

    s = result.summary
    w = s["workload"]
    cap = result.capacity
    console.print(f"[bold]Capacity plan '{escape(result.scenario_name)}'[/]", highlight=False)

    t = Table(title="Reps needed by region (workload build-up)", title_justify="left")
    for col, just in [("region", "left"), ("role", "left"), ("workload h", "right"), ("FTE", "right"),
                      ("reps needed", "right"), ("today", "right"), ("open seats", "right"), ("gap", "right")]:
        t.add_column(col, justify=just)
    known = w["reps_by_region_known"]
    for row in cap.itertuples():
        t.add_row(escape(str(row.region)), escape(str(row.role)), f"{row.workload_hours:,.0f}", f"{row.fte:.2f}", str(row.headcount),
                  str(row.current_headcount) if known else "?", str(row.open_seats) if known else "?", _signed(int(row.gap)) if known else "?")
    t.add_row("total", "", f"{cap['workload_hours'].sum():,.0f}", f"{cap['fte'].sum():.2f}", f"[bold]{int(cap['headcount'].sum())}[/]",
              str(int(cap["current_headcount"].sum())) if known else "?", str(int(cap["open_seats"].sum())) if known else "?",
              _signed(int(cap["gap"].sum())) if known else "?")
    console.print(t)
    console.print(f"  {w['selling_hours_formula']};  {w['fte_formula']};  {w['headcount_rule']}", highlight=False, soft_wrap=True)

    h = s.get("hiring")
    if h is not None and result.hiring is not None:
        console.print(f"\n[bold]Target-based sizing[/]: {h['reps_formula']} ramped reps", highlight=False, soft_wrap=True)
        m = result.hiring.months
        t = Table(title="Hiring plan, month by month", title_justify="left")
        for col in ("month", "heads start", "hires", "departures", "heads end", "effective reps", "expected bookings"):
            t.add_column(col, justify="left" if col == "month" else "right")
        for row in m.itertuples():
            t.add_row(str(row.label), str(row.heads_start), str(row.hires) if row.hires else "·", str(row.departures) if row.departures else "·",
                      str(row.heads_end), f"{row.effective_capacity:.2f}", money(row.expected_bookings))
        t.add_row("year", "", str(h["hires"]), str(h["departures"]), str(h["heads_end"]), "", f"[bold]{money(h['expected_bookings'])}[/]")
        console.print(t)
        first = h["growth_start_month"]
        start = m["label"].iloc[first - 1] if first <= len(m) else f"month {first}, after the plan"
        verdict = "meets" if h["target_met"] else "[bold red]misses[/]"
        console.print(
            f"  {h['growth_hires']} growth hires up front (starting {start}) + {h['backfill_hires']} back-fills for "
            f"{h['departures']} departures; expected bookings {money(h['expected_bookings'])} {verdict} the "
            f"{money(h['target'])} target ({h['expected_bookings'] / h['target']:.1%}).",
            highlight=False, soft_wrap=True,
        )

    a = s.get("allocation")
    if a is not None:
        budget = f"budget {money(a['budget'])}" if a["budget"] is not None else "no budget"
        t = Table(title=f"Optimal headcount by {a['by']} (ADBUDG response, margin {a['margin']:.0%}, {budget})", title_justify="left")
        for col in (a["by"], "today", "optimal", "change", "bookings", "cost", "value of next rep"):
            t.add_column(col, justify="left" if col == a["by"] else "right")
        for g in a["groups"]:
            today = g["current_headcount"]
            t.add_row(escape(str(g[a["by"]])), "?" if today is None else str(today), str(g["headcount"]),
                      "" if today is None else _signed(g["headcount"] - today), money(g["sales"]), money(g["cost"]),
                      money(g["marginal_value_next_rep"]))
        t.add_row("total", "", f"[bold]{a['total_headcount']}[/]", "", money(a["sales"]), money(a["cost"]), "")
        console.print(t)
        free = a["unconstrained_optimum"]
        note = (f"the budget binds: without it the optimum is {free['total_headcount']} reps ({money(free['cost'])})"
                if a["budget_binds"] else "the budget does not bind")
        console.print(f"  profit (margin × bookings − cost) {money(a['profit'])}; {note}.", highlight=False, soft_wrap=True)

    c = s.get("cost")
    if c is not None:
        line = f"\n[bold]Cost[/]: {c['formula']}"
        if h is not None and "payroll_cost" in h:
            line += f"; hiring plan payroll {money(h['payroll_cost'])} ({h['payroll_formula'].split(' = ')[1]})"
        console.print(line, highlight=False, soft_wrap=True)

    q = s.get("quotas")
    if q is not None:
        console.print(
            f"\n[bold]Quotas[/] on {q['alignment']}: Σ {money(q['quota_total'])} on a {money(q['target'])} target, "
            f"coverage {q['coverage_ratio']:.2f}; {q['territories_capped']} of {len(result.quotas)} capped in change.\n"
            f"  Expected attainment: mean {q['attainment_mean']:.0%}, p10 {q['attainment_p10']:.0%}, p90 {q['attainment_p90']:.0%}; "
            f"{q['share_below_80pct']:.0%} of territories below 80%.",
            highlight=False, soft_wrap=True,
        )
    console.print(
        f"\n[bold]Recommended headcount[/] ({s['headcount_from']}): {s['recommended_headcount']} "
        f"(today {s['today']['in_seat']} in seat, {s['today']['open_seats']} open)",
        highlight=False,
    )
    if written:
        console.print("Wrote: " + escape(", ".join(str(p) for p in written.values())), highlight=False, soft_wrap=True)


def write_capacity(result: CapacityPlan, out_dir: str | Path) -> dict[str, Path]:
    """Write capacity.csv, hiring_plan.csv, quotas.csv and capacity.json into ``out_dir``.

    Without a revenue target hiring_plan.csv and quotas.csv hold only their header row.
    """
    out = Path(out_dir)
    hiring = result.hiring.months if result.hiring is not None else pd.DataFrame(columns=HIRING_COLUMNS)
    quotas = result.quotas if result.quotas is not None else pd.DataFrame(columns=QUOTA_COLUMNS)
    cap = result.capacity
    return {
        "capacity": write_csv(cap, out / "capacity.csv", columns=CAPACITY_COLUMNS),
        "hiring_plan": write_csv(hiring, out / "hiring_plan.csv", columns=HIRING_COLUMNS),
        "quotas": write_csv(quotas, out / "quotas.csv", columns=QUOTA_COLUMNS),
        "capacity_json": write_json(result.summary, out / "capacity.json"),
    }
