"""Overlay teams: a second alignment per role over the same accounts.

Specialists (or any role listed under ``overlays``) are not part of the main alignment;
each overlay role gets its own territories over the accounts it covers (optionally only
some segments), balanced and capacity-checked on its own terms. The main plan gains the
columns ``overlay_<role>_territory_id`` and ``overlay_<role>_rep_id``.

Scenario::

    overlays:
      - role: Solution Specialist
        segments: [Enterprise, Mid-Market]   # optional: the accounts this team covers
        balance: {potential: 0.10}
        capacity: true
"""

from __future__ import annotations

import re

import pandas as pd

from territory_planner.errors import ScenarioError


def role_slug(role: str) -> str:
    """``"Solution Specialist"`` → ``"solution_specialist"`` (for column and file names)."""
    return re.sub(r"[^a-z0-9]+", "_", role.lower()).strip("_") or "overlay"


def split_inputs(scenario, inputs):
    """(main inputs without overlay reps, [(overlay spec, overlay inputs)])."""
    from territory_planner.data.inputs import Inputs

    if not scenario.overlays:
        return inputs, []
    reps, accounts = inputs.reps, inputs.accounts
    overlay_roles = {o.role for o in scenario.overlays}
    known = set(reps["role"].astype(str))
    parts = []
    for spec in scenario.overlays:
        if spec.role not in known:
            raise ScenarioError(
                f"overlay role '{spec.role}' matches no rep",
                file=scenario.source,
                column="overlays.role",
                fix=f"use a role of the reps file: {', '.join(sorted(known))}",
            )
        covered = accounts
        if spec.segments:
            unknown = set(spec.segments) - set(accounts["segment"].astype(str))
            if unknown:
                raise ScenarioError(
                    f"overlay '{spec.role}' names segment(s) no account has: {', '.join(sorted(unknown))}",
                    file=scenario.source,
                    column="overlays.segments",
                    fix=f"use segments of the accounts file: {', '.join(sorted(set(accounts['segment'].astype(str))))}",
                )
            covered = accounts[accounts["segment"].astype(str).isin(spec.segments)].reset_index(drop=True)
        # Today's owner and locks name main-team reps; they do not bind the overlay team.
        covered = covered.assign(current_rep_id=None, locked_rep_id=None)
        parts.append((spec, Inputs(covered, reps[reps["role"].astype(str) == spec.role].reset_index(drop=True))))
    main = Inputs(accounts, reps[~reps["role"].astype(str).isin(overlay_roles)].reset_index(drop=True))
    if len(main.reps) == 0:
        raise ScenarioError(
            "every rep belongs to an overlay role; the main alignment has nobody",
            file=scenario.source,
            column="overlays",
            fix="list only specialist roles under overlays",
        )
    return main, parts


def overlay_scenario(scenario, spec):
    """The scenario an overlay team is planned with: the main one, with its own bands."""
    return scenario.with_overrides(
        name=f"{scenario.name} / overlay {spec.role}",
        balance=dict(spec.balance),
        capacity=spec.capacity,
        overlays=[],
        hierarchy=None,
    )


def attach(main_assignments: pd.DataFrame, role: str, overlay_assignments: pd.DataFrame) -> pd.DataFrame:
    """Add the overlay's territory and rep to each account of the main plan (blank if not covered)."""
    slug = role_slug(role)
    cols = overlay_assignments[["account_id", "territory_id", "rep_id"]].rename(
        columns={"territory_id": f"overlay_{slug}_territory_id", "rep_id": f"overlay_{slug}_rep_id"}
    )
    return main_assignments.merge(cols, on="account_id", how="left")
