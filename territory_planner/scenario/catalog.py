"""The scenarios of a folder as a tree: each parent with the variants that extend it.

``territory-planner scenarios list [DIR]`` prints it. Every ``*.yaml`` / ``*.yml`` file of
the folder is one entry, under the file its ``extends:`` names (a parent in another
folder is listed too, marked as such); each entry says what it changes against its
parent: the keys it overrides, flattened (``balance.potential: 0.03``), the manager's
edits of its ``changes:`` section in words (what the parent's changes do not already
say), and the number of runs of its ``sweep:`` grid. A file that cannot be read or
validated is listed with its error, in place where its parent is known, never crashing
the listing.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "base.yaml").write_text("name: base\\ndata: {accounts: a.csv, reps: r.csv}\\n")
>>> _ = (d / "tight.yaml").write_text("extends: base.yaml\\nbalance: {potential: 0.03}\\n")
>>> [root] = scenario_tree(d)
>>> root.name, [(c.name, c.changes) for c in root.children]
('base', [('tight', ['balance.potential: 0.03'])])
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from territory_planner.errors import PlannerError, ScenarioError
from territory_planner.scenario.extends import OWN_KEYS, flatten, read_yaml, resolve
from territory_planner.scenario.parse import Scenario, load_scenario

#: Keys an entry shows in words (its name and description above, changes and sweep below).
NOT_OVERRIDES = (*OWN_KEYS, "changes")
#: A value longer than this is cut in the listing (the file has it whole).
MAX_VALUE_CHARS = 80


@dataclass
class ScenarioEntry:
    """One scenario file of the tree."""

    path: Path
    name: str
    description: str | None = None
    changes: list[str] = field(default_factory=list)  # what it changes against its parent, one line each
    error: str | None = None  # why it cannot be used, when it cannot
    outside: bool = False  # a parent in another folder than the one listed
    children: list[ScenarioEntry] = field(default_factory=list)
    parent: Path | None = field(default=None, repr=False)  # the file its extends names (as reached)
    scenario: Scenario | None = field(default=None, repr=False)

    def walk(self):
        """This entry and every entry below it, parents first."""
        yield self
        for child in self.children:
            yield from child.walk()


def _value_text(value) -> str:
    """A YAML value as one short line: ``0.03``, ``[a, b]``, ``{min_kept: 0.9}``."""
    if value is None:
        return "default"
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000).strip()
    text = text.removesuffix("\n...").removesuffix("...").strip()
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def overrides(own: dict) -> list[str]:
    """The keys a file sets, flattened: ``["balance.potential: 0.03", "solver.time_limit: 20"]``."""
    return [f"{'.'.join(map(str, key))}: {_value_text(value)}" for key, value in flatten(own).items()
            if key[0] not in NOT_OVERRIDES]


def sweep_line(sweep: dict | None) -> str | None:
    """``sweep: 8 runs (balance.potential × changes.add_reps × …)``, or None without a grid."""
    if not sweep:
        return None
    runs = math.prod(len(v) if isinstance(v, list) else 1 for v in sweep.values())
    return f"sweep: {runs} run{'s' if runs != 1 else ''} ({' × '.join(map(str, sweep))})"


def _parent_ref(path: Path) -> Path | None:
    """The file ``path`` extends, read without validating anything (None if it says none)."""
    try:
        raw, _ = read_yaml(path)
    except ScenarioError:
        return None
    ref = raw.get("extends")
    return Path(os.path.normpath(path.parent / ref.strip())) if isinstance(ref, str) and ref.strip() else None


def _load(path: Path, *, outside: bool = False) -> ScenarioEntry:
    """An entry for one file, with its error instead of a crash."""
    entry = ScenarioEntry(path, path.stem, outside=outside, parent=_parent_ref(path))
    try:
        own = resolve(path).own
        entry.scenario = load_scenario(path)
    except PlannerError as error:
        entry.error = str(error)
        try:  # what the file itself says, for the listing
            raw, _ = read_yaml(path)
            entry.name = str(raw.get("name") or path.stem)
            entry.description = raw.get("description") if isinstance(raw.get("description"), str) else None
        except ScenarioError:
            pass
        return entry
    entry.name, entry.description = entry.scenario.name, entry.scenario.description
    entry.changes = overrides(own) if entry.parent is not None else []
    return entry


def _describe_changes(entry: ScenarioEntry, parent: ScenarioEntry | None) -> None:
    """Add the entry's ``changes:`` lines the parent does not already have, and its sweep."""
    if entry.scenario is None:
        return
    mine = entry.scenario.changes.describe()
    theirs = parent.scenario.changes.describe() if parent is not None and parent.scenario is not None else []
    entry.changes += [line for line in mine if line not in theirs]
    line = sweep_line(entry.scenario.sweep)
    if line:
        entry.changes.append(line)


def scenario_files(folder: Path) -> list[Path]:
    """The scenario files of a folder (``*.yaml`` and ``*.yml``, not its subfolders), by name."""
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".yaml", ".yml")),
                  key=lambda p: p.name)


def scenario_tree(folder: Path | str) -> list[ScenarioEntry]:
    """The scenario files of ``folder`` as a forest: roots (files extending none) with their variants.

    A parent in another folder is an entry too (``outside``); files whose ``extends``
    makes a cycle are roots, each with its error. Children are sorted by file name.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ScenarioError("not a folder of scenario files", file=folder, fix="give the folder that holds the .yaml files, e.g. scenarios")
    entries: dict[Path, ScenarioEntry] = {}
    todo = [(p, False) for p in scenario_files(folder)]
    while todo:
        path, outside = todo.pop(0)
        key = path.resolve()
        if key in entries:
            continue
        entries[key] = entry = _load(path, outside=outside)
        if entry.parent is not None and entry.parent.is_file() and entry.parent.resolve() not in entries:
            todo.append((entry.parent, True))  # a parent elsewhere: list it, marked
    parent_of = {key: e.parent.resolve() for key, e in entries.items()
                 if e.parent is not None and e.parent.resolve() in entries}
    for key in _in_cycles(parent_of):  # a file in a cycle of extends is a root (its error says why)
        parent_of.pop(key)
    roots = []
    for key, entry in entries.items():
        up = parent_of.get(key)
        if up is None:
            roots.append(entry)
        else:
            entries[up].children.append(entry)
    for entry in entries.values():
        entry.children.sort(key=lambda e: e.path.name)
        _describe_changes(entry, entries.get(parent_of.get(entry.path.resolve())))
    roots.sort(key=lambda e: (e.outside, e.path.name))
    return roots


def _in_cycles(parent_of: dict[Path, Path]) -> set[Path]:
    """The files that lie on a cycle of ``extends``."""
    cycles: set[Path] = set()
    for key in parent_of:
        path, at = [key], parent_of.get(key)
        while at is not None and at not in path:
            path.append(at)
            at = parent_of.get(at)
        if at is not None:
            cycles.update(path[path.index(at):])
    return cycles
