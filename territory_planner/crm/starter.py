"""The starter scenario and the import report an import writes beside accounts.csv and reps.csv.

The scenario plans today's alignment again as it stands (one territory per rep, ±10%
potential, capacity on), with comments saying what the import could not know and the
planner should review first: a placeholder workload, one capacity for every rep, revenue
standing in for potential, reps placed at their accounts. ``IMPORT_REPORT.md`` says what was
read, where each point comes from, what was left out and why, and the same review points.
"""

from __future__ import annotations

import textwrap

import pandas as pd

from territory_planner.crm.places import SOURCES

CRM_NAMES = {"salesforce": "Salesforce", "hubspot": "HubSpot", "dynamics": "Dynamics 365"}
#: The starter scenario's choices (the brief of issue 27): what a first plan of today's
#: alignment balances and how long it searches.
BALANCE_POTENTIAL = 0.10
TIME_LIMIT = 60


def _one_line(text) -> str:
    return " ".join(str(text).split())


def review_points(accounts: pd.DataFrame, reps: pd.DataFrame, options, facts: dict) -> list[str]:
    """What the planner should check before trusting a plan of the import, most important first."""
    points = []
    workload_field = facts.get("workload_field")
    if workload_field is None:
        points.append(f"workload: every account has {options.workload_hours:g} hours/year, a placeholder "
                      "(--workload-hours). Replace the workload column of accounts.csv with a workload build-up "
                      "(calls/yr by segment x (call + travel minutes) / 60 + account management, FIELD.md §2), "
                      "or import a field of hours with --workload.")
    elif facts.get("workload_blank"):
        points.append(f"workload: from '{_one_line(workload_field)}'; {facts['workload_blank']:,} accounts without a "
                      f"value have {options.workload_hours:g} hours/year (--workload-hours).")
    points.append(f"capacity_hours: {options.capacity_hours:g} for every rep (220 days x 8 h x 0.6 selling share); "
                  "give part-timers and new hires their own (status new_hire with a ramp column).")
    field = _one_line(facts.get("potential_field", ""))
    blank = facts.get("potential_blank", 0)
    points.append(f"potential: from '{field}'" + (f"; {blank:,} accounts have no value and count 0" if blank else "")
                  + ". Revenue is what an account buys, not what it could buy: estimate potential where you can "
                    "(FIELD.md §2b).")
    by_accounts = reps.loc[reps["location_source"] == "accounts", "name"].tolist()
    if by_accounts:
        points.append(f"rep homes: {len(by_accounts)} rep(s) have no address in the CRM and sit at the "
                      f"potential-weighted centre of the accounts they own today ({_names(by_accounts)}); "
                      "set their lat/lon in reps.csv to where they live.")
    open_seats = facts.get("open_seats") or []
    if open_seats:
        points.append(f"open seats: {len(open_seats)} territory(ies) without an active rep ({_names([n for _, n in open_seats])}) "
                      "are planned as vacancies (status open); hire, or remove the row to share their accounts out.")
    if facts.get("unowned"):
        points.append(f"{facts['unowned']:,} account(s) have no owner today (current_rep_id blank); the plan assigns them.")
    if facts.get("skipped"):
        points.append(f"{len(facts['skipped']):,} account(s) were left out because they cannot be placed "
                      "(listed in IMPORT_REPORT.md); fix their addresses in the CRM and import again.")
    workload = float(accounts["workload"].sum())
    capacity = float(reps["capacity_hours"].sum())
    if capacity and workload > capacity:
        points.append(f"capacity: the accounts need {workload:,.0f} hours and the reps have {capacity:,.0f}; "
                      "with capacity: true no plan is feasible until workload or capacity changes.")
    points.extend(facts.get("notes", []))
    return points


def _names(names: list[str], limit: int = 8) -> str:
    return ", ".join(names[:limit]) + (f", … ({len(names) - limit} more)" if len(names) > limit else "")


def starter_scenario(crm: str, options, points: list[str]) -> str:
    """scenario.yaml for the imported folder: today's alignment, planned again, with what to review."""
    name = CRM_NAMES[crm]
    lines = [f"# Starter scenario written by `territory-planner import {crm}` (see IMPORT_REPORT.md).",
             "# Review before planning:"]
    for number, point in enumerate(points, start=1):
        lines += textwrap.wrap(_one_line(point), 96, initial_indent=f"#  {number}. ", subsequent_indent="#     ",
                               break_long_words=False, break_on_hyphens=False)
    lines += [
        f"name: {crm}-import",
        f"description: Today's alignment imported from {name}; a starting point to review.",
        "data: {accounts: accounts.csv, reps: reps.csv}",
        "geometry: geographic          # lat/lon, distances in km",
        "territories: {centers: reps}  # one territory per rep, centred on the rep's home",
        "objective: {distance_weight: workload}",
        f"balance: {{potential: {BALANCE_POTENTIAL:g}}}     # each territory within ±{BALANCE_POTENTIAL:.0%} of the mean potential",
        "capacity: true                # territory workload <= the rep's capacity_hours",
        "# continuity: {min_kept: 0.8, by: potential}   # keep 80% of potential with today's owner",
        f"solver: {{backend: auto, time_limit: {TIME_LIMIT}}}",
        "",
    ]
    return "\n".join(lines)


def import_report(crm: str, accounts: pd.DataFrame, reps: pd.DataFrame, facts: dict, sources: dict,
                  points: list[str]) -> str:
    """IMPORT_REPORT.md: what was read, where the points come from, what was left out, what to review."""
    name = CRM_NAMES[crm]
    out = [f"# Import from {name}", "", "Files read:", ""]
    for what, export in sources.items():  # an importing.Export: the file, its rows, how it was read
        how = "; ".join(getattr(export.table, "notes", ()) or ())
        out.append(f"- {what}: `{export.file}` ({len(export):,} rows{'; ' + _one_line(how) if how else ''})")
    out += ["", f"## Accounts: {len(accounts):,} to plan (of {facts['accounts_read']:,} read)", "",
            "| where the point comes from | accounts |", "|---|---:|"]
    out += [f"| {SOURCES[s]} | {n:,} |" for s, n in facts["account_sources"].items()]
    out += ["", f"- potential: `{_one_line(facts['potential_field'])}`, total {accounts['potential'].sum():,.0f}"
            + (f"; {facts['potential_blank']:,} accounts without a value count 0" if facts["potential_blank"] else ""),
            f"- workload: {accounts['workload'].sum():,.0f} hours/year in all"
            + (f" (from `{_one_line(facts['workload_field'])}`)" if facts.get("workload_field") else " (a placeholder per account)"),
            f"- today's owner (`current_rep_id`): {facts.get('owner_source', 'the owner field')}"
            + (f"; {facts['unowned']:,} accounts have none" if facts.get("unowned") else "")]
    if facts.get("segment_field"):
        counts = accounts["segment"].replace("", "(blank)").value_counts()
        out.append(f"- segment: `{_one_line(facts['segment_field'])}` — "
                   + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    skipped = facts.get("skipped") or []
    out += ["", f"### Left out: {len(skipped):,} account(s) that cannot be placed", ""]
    out += [f"- row {r}: {_one_line(d)}" for r, d in skipped] or ["None."]
    out += ["", f"## Reps: {len(reps):,}", "", "| where the home comes from | reps |", "|---|---:|"]
    out += [f"| {SOURCES[s]} | {n:,} |" for s, n in facts["rep_sources"].items()]
    owned = accounts.groupby("current_rep_id").agg(accounts=("account_id", "size"), potential=("potential", "sum"),
                                                   workload=("workload", "sum"))
    out += ["", "| rep_id | name | status | accounts | potential | workload h | capacity h |",
            "|---|---|---|---:|---:|---:|---:|"]
    for rep in reps.itertuples(index=False):
        mine = owned.loc[rep.rep_id] if rep.rep_id in owned.index else None
        count, potential, workload = (0, 0.0, 0.0) if mine is None else (mine["accounts"], mine["potential"], mine["workload"])
        out.append(f"| {rep.rep_id} | {_cell(rep.name)} | {rep.status} | {count:,} | {potential:,.0f} | "
                   f"{workload:,.0f} | {rep.capacity_hours:,.0f} |")
    left_out = facts.get("left_out") or []
    out += ["", f"### Users not imported as reps: {len(left_out):,}", "",
            "They own no account (import with --all-users to plan every active user as a rep)." if left_out else "None."]
    out += [f"- {rid} {_cell(n)}{'' if active else ' (inactive)'}" for rid, n, active in left_out[:50]]
    if len(left_out) > 50:
        out.append(f"- … and {len(left_out) - 50} more")
    unplaced = facts.get("unplaced_users") or []
    if unplaced:
        out += ["", f"### Users left out because they cannot be placed: {len(unplaced)}", "",
                "No address in the CRM and no account to place them by:", ""]
        out += [f"- {rid} {_cell(n)}" for rid, n in unplaced]
    out += ["", "## Review before planning", ""]
    out += [f"{i}. {_one_line(p)}" for i, p in enumerate(points, start=1)]
    out += ["", "Then: `territory-planner plan <this folder>/scenario.yaml --out <a new folder>`.", ""]
    return "\n".join(out)


def _cell(text) -> str:
    """Text for a Markdown table cell or list item: one line, pipes escaped."""
    return _one_line(text).replace("|", "\\|")
