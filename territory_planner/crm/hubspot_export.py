"""A Plan as a HubSpot companies import (FIELD.md §5): owners by email, keyed by Record ID.

HubSpot has no territory object: a company's rep is its owner, set by an import whose
"Company owner" column holds the owner's email (or name), matched to the company by
"Record ID". A territory is a custom company property (``--territory-property``,
"Territory" by default; create a single-line text property of that name, or let the
import create it). One file, ``companies_import.csv``, UTF-8 with a BOM (Excel opens it as
UTF-8; HubSpot's importer reads it either way).

Accounts of an open seat (no person, so no owner) keep a blank "Company owner" — HubSpot
leaves a field as it is when the import's cell is blank — and LOAD_ORDER.md lists them as
needing an owner; without a territory column they are left out of the file.
"""

from __future__ import annotations

import re

import pandas as pd

from territory_planner.crm.exporting import (
    Export,
    ExportOptions,
    Step,
    account_crm_ids,
    changed_mask,
    changed_note,
    csv_file,
    id_column,
    listing,
    open_accounts,
    open_seat_notes,
    placement,
    territory_display_names,
    territory_team,
)
from territory_planner.crm.formats import HubSpotCompany
from territory_planner.errors import InputError
from territory_planner.plan import Plan

COMPANIES_FILE = "companies_import.csv"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def record_order(value: str) -> tuple:
    """Sort key: all-digit ids (HubSpot's) by number, others as text after them."""
    return (0, len(value), value) if value.isdigit() else (1, 0, value)


def owner_emails(team: pd.DataFrame, needed: pd.Series) -> pd.Series:
    """Each territory's owner email (None for open seats), or InputError listing the reps
    (not open seats) whose email is missing or not an email."""
    emails = id_column(team["email"]) if "email" in team else pd.Series([None] * len(team), index=team.index)
    must = needed & ~team["open"]
    missing = [f"{r} ({n})" for r, n, e, m in zip(team["rep_id"], team["person"], emails, must, strict=True)
               if m and not e]
    if missing:
        how = "the reps file has no email column" if "email" not in team else "their email is blank"
        raise InputError(f"{len(missing)} rep(s) have no HubSpot owner email ({how}): {listing(missing)}",
                         column="email", fix="add each rep's HubSpot user email in an email column of the reps file "
                                             "(or import the reps with 'territory-planner import hubspot'), or mark a "
                                             "seat without a person status: open, and plan again")
    bad = [f"{r} ({e})" for r, e, m in zip(team["rep_id"], emails, must, strict=True) if m and not EMAIL.match(e)]
    if bad:
        raise InputError(f"{len(bad)} rep(s) have an email HubSpot cannot match to an owner: {listing(bad)}",
                         column="email", fix="write the owner's login email, e.g. dana.lee@example.com")
    return pd.Series([None if seat else e for e, seat in zip(emails, team["open"], strict=True)], index=team.index,
                     dtype=object)


def hubspot_export(plan: Plan, options: ExportOptions) -> Export:
    """Render ``companies_import.csv`` of ``plan`` (see the module docstring); checks every id."""
    a = plan.assignments
    team = territory_team(plan)
    ids = account_crm_ids(plan, "hubspot", options)
    where = placement(plan, team)
    changed = changed_mask(a)
    rows = changed.copy() if options.changed_only else pd.Series(True, index=a.index)
    prop = (options.territory_property or "").strip() or None
    if prop is None:
        rows &= ~open_accounts(team, where)
    needed = pd.Series([i in set(where[rows].tolist()) for i in team.index], index=team.index)
    emails = owner_emails(team, needed)
    names = territory_display_names(team)
    frame = pd.DataFrame({HubSpotCompany.RECORD_ID: ids[rows].to_numpy(),
                          HubSpotCompany.OWNER: [emails[i] or "" for i in where[rows]]})
    if prop is not None:
        frame[prop] = [names[i] for i in where[rows]]
    frame = frame.sort_values(HubSpotCompany.RECORD_ID, key=lambda s: s.map(record_order), kind="stable")
    files = {COMPANIES_FILE: csv_file(frame, bom=True)}
    mapping = ("map Record ID → Record ID, Company owner → Company owner (HubSpot matches the owner by email)"
               + (f", {prop} → your custom company property '{prop}' (single-line text; create it first, or "
                  "choose 'Create new property' while mapping)" if prop else ""))
    steps = [Step(COMPANIES_FILE, "HubSpot import (CRM → Import → Start an import → File from computer → One file "
                                  "→ One object → Companies)", "update existing companies", len(frame),
                  f"In the mapping step {mapping}; choose to update existing companies only (matched by Record ID), "
                  "so no company is created.")]
    notes = []
    if options.changed_only:
        notes.append(changed_note(int(changed.sum()), len(a), COMPANIES_FILE))
    seat_what = ("'Company owner' is blank, and HubSpot keeps today's owner for a blank cell" if prop
                 else "they are left out of the file")
    notes += open_seat_notes(team, names, where, ids, seat_what,
                             scope=changed if options.changed_only else None)
    header = [f"Plan: {plan.scenario.name} ({options.label or plan.scenario.name}), {len(a):,} accounts, "
              f"{len(team):,} territories.",
              "The file is UTF-8 with a BOM; owners are matched by the email of a HubSpot user (an owner)."]
    return Export("hubspot", files, steps, notes, {}, header)
