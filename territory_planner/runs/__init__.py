"""Runs: plans kept, found again, swept, re-planned and compared.

After the Plan, a run's life: ``store`` keeps every run (folders + a SQLite index),
``record`` reads a plan folder back into a Plan and names what identifies a run; the
sweep, the re-plan and the frontier run on the public ``plan()`` and keep what they make
here. Nothing here solves by itself: it calls the orchestrator (``pipeline.plan``).
"""

from territory_planner.runs.record import read_plan, run_key
from territory_planner.runs.store import Run, RunStore

__all__ = ["Run", "RunStore", "read_plan", "run_key"]
