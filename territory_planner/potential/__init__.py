"""Where to sell: potential from lookalike accounts, whitespace, penetration, coverage tiers.

A scenario's ``potential:`` section (scenario/potential.py) runs :func:`where_to_sell`
on the accounts as loaded, before planning (data/inputs.py); ``territory-planner
potential`` writes its figures (outputs/potential.py). The package reads frames and the
section only: no files, no solver.
"""

from territory_planner.potential.step import Estimate, where_to_sell

__all__ = ["Estimate", "where_to_sell"]
