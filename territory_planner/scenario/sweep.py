"""``sweep:``: a grid over scenario keys, expanded into named runs.

``sweep: {balance.potential: [0.02, 0.03, 0.05], changes.add_reps: [[], [TX-NEW1]]}``
gives 3 × 2 = 6 runs, in the order of the grid (the first key varies slowest). Each run
is the scenario with those keys set (a dotted key names a nested key) and is validated
like a scenario file, so a sweep value that is not a valid setting is an error naming
the sweep key before anything runs.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any

from territory_planner.errors import ScenarioError
from territory_planner.scenario.parse import Scenario, parse_scenario


@dataclass(frozen=True)
class SweepRun:
    """One point of a sweep: its name, the swept values, and the scenario to plan."""

    name: str
    values: dict[str, Any]
    scenario: Scenario


def short_value(value: Any) -> str:
    """A swept value as a run name shows it.

    >>> short_value([]), short_value(["TX-NEW1", "TX-NEW2"]), short_value(0.03)
    ('none', 'TX-NEW1+TX-NEW2', '0.03')
    """
    if isinstance(value, list):
        if not value:
            return "none"
        return "+".join(v.get("rep_id", "row") if isinstance(v, dict) else str(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k}={short_value(v)}" for k, v in value.items())
    return str(value)


def set_key(raw: dict, dotted: str, value: Any) -> dict:
    """A copy of ``raw`` with the nested key ``a.b.c`` set to ``value``."""
    out = copy.deepcopy(raw)
    node = out
    parts = dotted.split(".")
    for part in parts[:-1]:
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise ScenarioError(f"sweep key '{dotted}' goes inside '{part}', which is not a section",
                                column=f"sweep.{dotted}", fix="sweep a key of a section, e.g. balance.potential")
        node = nxt
    node[parts[-1]] = copy.deepcopy(value)
    return out


def expand_sweep(scenario: Scenario) -> list[SweepRun]:
    """The runs of a scenario's ``sweep`` grid (one run, the scenario itself, without one)."""
    base = scenario.resolved()
    base.pop("sweep", None)
    if not scenario.sweep:
        return [SweepRun(scenario.name, {}, scenario.with_overrides(sweep=None))]
    keys = list(scenario.sweep)
    runs = []
    for combo in itertools.product(*(scenario.sweep[k] for k in keys)):
        raw = base
        for key, value in zip(keys, combo, strict=True):
            if key.split(".")[0] in ("sweep", "name"):
                raise ScenarioError(f"sweep key '{key}' cannot be swept", file=scenario.source, column=f"sweep.{key}",
                                    fix="sweep settings of the plan, e.g. balance.potential or changes.add_reps")
            raw = set_key(raw, key, value)
        values = dict(zip(keys, combo, strict=True))
        label = ",".join(f"{k.split('.')[-1]}={short_value(v)}" for k, v in values.items())
        raw["name"] = f"{scenario.name}[{label}]"
        try:
            run = parse_scenario(raw, base_dir=scenario.base_dir, source=scenario.source, parent=scenario.parent)
        except ScenarioError as error:
            raise ScenarioError(f"the sweep point {label} is not a valid scenario: {error.problem}",
                                file=scenario.source, column=f"sweep ({error.column})", value=error.value,
                                fix=error.fix) from None
        runs.append(SweepRun(raw["name"], values, run))
    names = [r.name for r in runs]
    if len(set(names)) != len(names):
        raise ScenarioError("two sweep points have the same name (a value is listed twice)", file=scenario.source,
                            column="sweep", fix="list each value once")
    return runs
