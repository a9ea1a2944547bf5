"""Target-based sizing and the month-by-month hiring plan.

Reps needed at steady state (Zoltners & Sinha, *The Complete Guide to Sales Force
Sizing*): revenue target / (productivity of a ramped rep × expected attainment).

The hiring plan simulates the planning year month by month (FIELD.md §2):

- A rep in seat in the t-th month of tenure (t = 1, 2, …) produces ``ramp[t − 1]`` of a
  ramped rep; after the listed months a rep is fully ramped (factor 1). Reps ``active``
  in the reps file are ramped; ``new_hire`` reps start their ramp in month 1; ``open``
  seats are vacant and produce nothing.
- Effective capacity in a month = Σ ramp factors of the reps in seat (in ramped reps);
  expected bookings in a month = effective capacity × productivity × attainment / 12.
- Departures: attrition/12 × the heads in seat each month, expected. To keep heads whole,
  a month's departures are the rounded *cumulative* expectation minus last month's
  (round half up), so the year loses round(Σ expected) people. They leave at the end
  of the month, from the most tenured reps first (ramped reps carry the attrition).
- Back-fills: each departure is replaced by a hire who starts ``lead_time_months + 1``
  months later (the month after the departure when there is no lead time) and
  re-enters the ramp.
- **Growth hires are made up front**: all of them are requested in month 1 and start in
  month ``1 + lead_time_months``. Their number is the smallest whole number whose
  plan's expected bookings over the year reach the revenue target. Hiring up front is
  the cheapest way to reach a target within the year: a rep hired later ramps later and
  books less, so any later plan needs at least as many hires.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from territory_planner.scenario.capacity import HiringSpec, TargetSpec

MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def target_reps(target: TargetSpec) -> tuple[float, int, str]:
    """Ramped reps needed for the target: (exact, rounded up, the arithmetic)."""
    per_rep = target.productivity * target.expected_attainment
    exact = target.revenue / per_rep
    whole = int(math.ceil(exact - 1e-9))
    text = (f"reps = revenue / (productivity × attainment) = {target.revenue:,.0f} / ({target.productivity:,.0f} × "
            f"{target.expected_attainment:g}) = {exact:.2f} → {whole}")
    return exact, whole, text


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5 + 1e-9))


def month_labels(hiring: HiringSpec) -> list[str]:
    """Labels of the planning months: ``2027-01``… from ``start``, else M1, M2, …"""
    if hiring.start is None:
        return [f"M{m}" for m in range(1, hiring.months + 1)]
    try:
        first = pd.Period(hiring.start, freq="M")
    except (ValueError, TypeError):
        return [f"M{m}" for m in range(1, hiring.months + 1)]
    return [str(first + k) for k in range(hiring.months)]


@dataclass(frozen=True)
class HiringPlan:
    """The month-by-month plan (``hiring_plan.csv``) and its totals."""

    months: pd.DataFrame  # month, heads_start, hires, departures, heads_end, effective_capacity, expected_bookings
    growth_hires: int
    backfill_hires: int
    target_met: bool
    expected_bookings: float
    arithmetic: dict


def simulate(
    *, ramped: int, new_hires: int, growth_hires: int, target: TargetSpec, hiring: HiringSpec
) -> pd.DataFrame:
    """One year under the plan's rules (see the module docstring) for a given number of growth hires."""
    ramp = list(hiring.ramp)
    months = hiring.months
    per_month = target.productivity * target.expected_attainment / 12.0
    # Cohorts: tenure in months already served at the start of the month → heads.
    cohorts: dict[int, int] = {}
    if ramped:
        cohorts[len(ramp)] = ramped
    if new_hires:
        cohorts[0] = cohorts.get(0, 0) + new_hires
    scheduled = np.zeros(months + 2 + hiring.lead_time_months, dtype=int)
    start = 1 + hiring.lead_time_months
    if start <= months:
        scheduled[start] += growth_hires
    expected_total = 0.0
    departed_total = 0
    rows = []
    for m in range(1, months + 1):
        heads_start = sum(cohorts.values())
        hires = int(scheduled[m])
        if hires:
            cohorts[0] = cohorts.get(0, 0) + hires
        in_seat = heads_start + hires
        effective = sum(count * (ramp[t] if t < len(ramp) else 1.0) for t, count in cohorts.items())
        expected_total += hiring.attrition / 12.0 * in_seat
        departures = min(in_seat, _round_half_up(expected_total) - departed_total)
        departed_total += departures
        left = departures
        for t in sorted(cohorts, reverse=True):  # most tenured leave first
            take = min(left, cohorts[t])
            cohorts[t] -= take
            left -= take
        cohorts = {t + 1: c for t, c in cohorts.items() if c > 0}
        if departures and m + 1 + hiring.lead_time_months <= months:
            scheduled[m + 1 + hiring.lead_time_months] += departures
        rows.append(
            {
                "month": m,
                "heads_start": heads_start,
                "hires": hires,
                "departures": departures,
                "heads_end": in_seat - departures,
                "effective_capacity": effective,
                "expected_bookings": effective * per_month,
            }
        )
    return pd.DataFrame(rows)


def hiring_plan(
    *, ramped: int, new_hires: int, target: TargetSpec, hiring: HiringSpec, max_growth_hires: int | None = None
) -> HiringPlan:
    """The fewest up-front growth hires whose year reaches the revenue target."""
    exact, whole, reps_text = target_reps(target)
    limit = max_growth_hires if max_growth_hires is not None else 20 * (whole + ramped + new_hires) + 20
    growth, table, met = 0, None, False
    for growth in range(limit + 1):
        table = simulate(ramped=ramped, new_hires=new_hires, growth_hires=growth, target=target, hiring=hiring)
        if table["expected_bookings"].sum() >= target.revenue * (1 - 1e-12):
            met = True
            break
    if not met:  # unreachable within the year (e.g. hires start too late to ramp): report the start
        growth = 0
        table = simulate(ramped=ramped, new_hires=new_hires, growth_hires=0, target=target, hiring=hiring)
    table.insert(1, "label", month_labels(hiring))
    bookings = float(table["expected_bookings"].sum())
    per_month = target.productivity * target.expected_attainment / 12.0
    start = 1 + hiring.lead_time_months
    arithmetic = {
        "reps_needed_ramped": exact,
        "reps_needed": whole,
        "reps_formula": reps_text,
        "starting_heads": {"ramped": ramped, "new_hires": new_hires},
        "monthly_bookings_per_ramped_rep": per_month,
        "bookings_formula": (f"expected bookings in a month = effective capacity × {target.productivity:,.0f} × "
                             f"{target.expected_attainment:g} / 12 = effective capacity × {per_month:,.0f}"),
        "effective_capacity_rule": f"Σ ramp factor of each rep in seat; ramp by month of tenure = {list(hiring.ramp)}, then 1",
        "departures_rule": (f"cumulative expected departures = Σ {hiring.attrition:g}/12 × heads in seat, rounded half up; "
                            "the most tenured leave first, at the end of the month"),
        "backfill_rule": f"each departure is back-filled by a hire starting {hiring.lead_time_months + 1} month(s) later, re-entering the ramp",
        "growth_hire_policy": (f"growth hires are all made up front and start in month {start}: the fewest whose "
                               f"expected bookings over the {hiring.months} months reach the target"),
        "growth_hires": growth,
        "growth_start_month": start,
        "expected_bookings": bookings,
        "target": target.revenue,
        "target_met": met,
        "bookings_vs_target": f"Σ expected bookings = {bookings:,.0f} vs target {target.revenue:,.0f} ({bookings / target.revenue:.1%})",
    }
    total_hires = int(table["hires"].sum())
    return HiringPlan(table, growth, total_hires - growth, met, bookings, arithmetic)
