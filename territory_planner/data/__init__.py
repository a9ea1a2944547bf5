"""Loading and validation of accounts and reps (one module each).

Every loader returns a canonical frame in file order with a final ``_row`` column (the
row a planner sees in the file) and raises :class:`~territory_planner.errors.InputError`
naming the file, row, column and value, and how to fix it.
"""

from territory_planner.data.accounts import check_references, load_accounts
from territory_planner.data.columns import check_numeric_column
from territory_planner.data.files import read_table
from territory_planner.data.reps import load_reps

__all__ = ["read_table", "load_accounts", "load_reps", "check_references", "check_numeric_column"]
