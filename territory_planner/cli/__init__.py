"""The command line: thin, readable, with exit codes scripts can trust.

Each module registers its commands on the one typer app (``cli/common.py``); they parse
arguments, call the public API and print with rich, nothing more.
0 ok · 1 bad input · 2 infeasible · 3 solver failure · 130 stopped before any plan.
"""

from territory_planner.cli import (
    compare,  # noqa: F401  (registers compare)
    crm_export,  # noqa: F401  (registers export)
    crm_import,  # noqa: F401  (registers import salesforce|hubspot|dynamics|samples)
    plan,  # noqa: F401  (registers plan, validate, capacity, demo-data)
    potential,  # noqa: F401  (registers potential: where to sell)
    replan,  # noqa: F401  (registers replan)
    runs,  # noqa: F401  (registers runs list|show|label|approve|rm)
    scenarios,  # noqa: F401  (registers scenarios list)
    serve,  # noqa: F401  (registers serve: the workbench)
    sweep,  # noqa: F401  (registers sweep, frontier)
)
from territory_planner.cli.common import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover
    app()
