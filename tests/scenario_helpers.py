"""Writing a scenario file and catching the error it raises, for the scenario tests.

Shared by tests/scenario/test_scenario.py and tests/scenario/test_extends.py; importable
as ``scenario_helpers`` (pyproject's pytest pythonpath includes ``tests``).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from territory_planner.errors import ScenarioError
from territory_planner.scenario import load_scenario


def write(folder: Path, text: str, name: str = "scenario.yaml") -> Path:
    """Write ``text`` (dedented) as ``folder/name``, the folder created if needed; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(path: Path) -> ScenarioError:
    """The ScenarioError that loading ``path`` raises (the test fails if it loads)."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value
