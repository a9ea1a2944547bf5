"""Capacity planning (FIELD.md §2): how many reps, where, at what cost, carrying which quota.

- :mod:`.workload` — workload build-up → FTE and headcount by region and role
  (Zoltners & Sinha).
- :mod:`.sizing` — target-based sizing and the month-by-month hiring plan (ramp, attrition).
- :mod:`.allocation` — optimal headcount per region/segment under an ADBUDG response
  (Little 1970; Lodish 1971), an exact MIP solved with HiGHS.
- :mod:`.quotas` — target → territory quotas (potential/history blend, capped changes).
- :mod:`.planning` — all of it for a scenario, its files, and the links to territory design.

The keys of the scenario's ``capacity:`` section live in :mod:`territory_planner.scenario.capacity`;
the files and the printed summary in :mod:`territory_planner.outputs.capacity`. The names of
``planning.__all__`` are served from here on first use, so importing one capacity module
does not load them all.
"""

from __future__ import annotations


def __getattr__(name: str):
    import importlib

    planning = importlib.import_module("territory_planner.capacity.planning")
    if name in planning.__all__:
        return getattr(planning, name)
    raise AttributeError(name)
