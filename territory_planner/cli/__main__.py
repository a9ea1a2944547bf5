"""``python -m territory_planner.cli``: the command line."""

from territory_planner.cli import app

if __name__ == "__main__":
    app()
