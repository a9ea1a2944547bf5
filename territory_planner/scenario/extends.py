"""``extends:``: a scenario written as its parent plus a few overriding lines.

Merge rules (:func:`deep_merge`): mappings merge key by key, recursively; anything else
(a list, a number, a text) in the child replaces the parent's; a key the child sets to
``null`` is dropped, so the setting's default applies again. Paths in each file stay
relative to the file that wrote them: a parent's ``data.accounts`` is rebased onto the
child's folder. A child's ``name`` (default: its file stem), ``description`` and
``sweep`` are its own, never inherited.

>>> deep_merge({"balance": {"potential": 0.05, "workload": 0.1}, "overlays": [1]},
...            {"balance": {"potential": 0.03}, "overlays": []})
{'balance': {'potential': 0.03, 'workload': 0.1}, 'overlays': []}
>>> deep_merge({"continuity": {"min_kept": 0.9}, "name": "a"}, {"continuity": None})
{'name': 'a'}

Errors name the file that is wrong and the chain that reached it: a cycle
(``a.yaml → b.yaml → a.yaml``), a parent that does not exist, a parent that is not a
scenario file; :func:`territory_planner.scenario.parse.load_scenario` names the file (and
line) that wrote an unknown key, through :attr:`Resolved.origin`.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from territory_planner.errors import ScenarioError

#: Keys whose values are file paths, relative to the file that writes them. ``data.accounts``
#: and ``data.reps`` are a path or a mapping whose ``file`` is (the other form is skipped).
PATH_KEYS = (("data", "accounts"), ("data", "accounts", "file"), ("data", "reps"), ("data", "reps", "file"),
             ("data", "units"), ("territories", "candidates"), ("barriers",), ("changes", "add_accounts"))
#: Keys a variant never inherits from its parent: what the file is, and its own experiment.
OWN_KEYS = ("name", "description", "sweep")


def deep_merge(parent: dict, child: dict) -> dict:
    """``child`` over ``parent``: mappings merge recursively, ``null`` drops a key, the rest replaces."""
    out = copy.deepcopy(parent)
    for key, value in child.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def flatten(raw: dict, prefix: tuple = ()) -> dict[tuple, object]:
    """Every leaf of a nested mapping by its key path (lists and empty mappings are leaves).

    >>> flatten({"balance": {"potential": 0.03}, "overlays": [], "solver": {}})
    {('balance', 'potential'): 0.03, ('overlays',): [], ('solver',): {}}
    """
    out: dict[tuple, object] = {}
    for key, value in raw.items():
        if isinstance(value, dict) and value:
            out.update(flatten(value, (*prefix, key)))
        else:
            out[(*prefix, key)] = value
    return out


def yaml_lines(text: str) -> dict[tuple, int]:
    """Map each key path of a YAML document to its 1-based line, for error messages."""
    lines: dict[tuple, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines

    def walk(node, path):
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                lines[(*path, k.value)] = k.start_mark.line + 1
                walk(v, (*path, k.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                lines[(*path, i)] = v.start_mark.line + 1
                walk(v, (*path, i))

    if root is not None:
        walk(root, ())
    return lines


@dataclass
class Resolved:
    """A scenario file with its ``extends`` chain merged in."""

    raw: dict  # the merged mapping, without ``extends``
    own: dict  # what the file itself writes (without ``extends``): what it changes
    chain: list[Path]  # the file, its parent, the parent's parent, … (as reached from the file)
    origin: dict[tuple, tuple[Path, int | None]] = field(default_factory=dict)  # key path → (file, line)

    @property
    def parent(self) -> Path | None:
        return self.chain[1] if len(self.chain) > 1 else None

    def wrote(self, key: tuple) -> tuple[Path, int | None] | None:
        """The file (and line) of the chain that wrote ``key``, or its nearest enclosing section."""
        return next((self.origin[key[:i]] for i in range(len(key), 0, -1) if key[:i] in self.origin), None)


def read_yaml(path: Path) -> tuple[dict, str]:
    """A scenario file's mapping and text; clear errors for a missing, non-UTF-8 or bad file."""
    if not path.is_file():
        raise ScenarioError("scenario file not found", file=path, fix="check the path; scenarios live in scenarios/")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"not UTF-8 text (byte {exc.start})", file=path, fix="save the file as UTF-8") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ScenarioError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=path,
                            row=mark.line + 1 if mark else None, fix="check indentation and colons on that line") from None
    if not isinstance(raw, dict):
        raise ScenarioError("the scenario must be a YAML mapping of keys to values", file=path,
                            fix="start the file with 'name: ...' (or 'extends: parent.yaml')")
    return raw, text


def _rebase(raw: dict, src: Path, dst: Path) -> dict:
    """``raw``'s path values, written relative to folder ``src``, made relative to ``dst``."""
    if src.resolve() == dst.resolve():
        return raw
    out = copy.deepcopy(raw)
    for keys in PATH_KEYS:
        node = out
        for k in keys[:-1]:
            node = node.get(k) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(keys[-1]), str) and not Path(node[keys[-1]]).is_absolute():
            node[keys[-1]] = os.path.relpath((src / node[keys[-1]]).resolve(), dst.resolve())
    return out


def chain_text(chain: list[Path]) -> str:
    """``a.yaml → b.yaml → c.yaml``: a file and the parents it extends."""
    return " → ".join(str(p) for p in chain)


def in_chain(error: ScenarioError, chain: list[Path | None]) -> ScenarioError:
    """``error`` with the ``extends`` chain that reached its file named (no-op for one file)."""
    if len(chain) < 2:
        return error
    error.problem = f"{error.problem} (extends chain: {chain_text([p for p in chain if p is not None])})"
    error.args = (error.render(),)
    return error


def resolve(path: Path | str) -> Resolved:
    """Read ``path`` and merge its ``extends`` chain (parents first, then each child over)."""
    return _resolve(Path(path), [])


def _resolve(path: Path, below: list[Path]) -> Resolved:
    """``below``: the files that extend ``path``, from the one that was asked for."""
    reached = [*below, path]
    try:
        raw, text = read_yaml(path)
    except ScenarioError as error:
        raise in_chain(error, reached) from None
    lines = yaml_lines(text)
    own = {k: v for k, v in raw.items() if k != "extends"}
    origin = {key: (path, line) for key, line in lines.items() if key[0] != "extends"}
    parent_ref = raw.get("extends")
    if parent_ref is None:
        return Resolved(own, own, [path], origin)
    if not isinstance(parent_ref, str) or not parent_ref.strip():
        raise in_chain(ScenarioError(
            "'extends' must name one parent scenario file", file=path, row=lines.get(("extends",)),
            column="extends", value=parent_ref, fix="write e.g. 'extends: demo.yaml' (relative to this file)"), reached)
    parent = Path(os.path.normpath(path.parent / parent_ref.strip()))
    if parent.resolve() in {p.resolve() for p in reached}:
        raise ScenarioError(f"'extends' makes a cycle: {chain_text([*reached, parent])}", file=path,
                            row=lines.get(("extends",)), column="extends", value=parent_ref,
                            fix="a scenario cannot extend itself or a file that extends it; "
                                "remove 'extends' from one file of the cycle")
    if not parent.is_file():
        raise ScenarioError(f"'extends' names a parent that does not exist: {chain_text([*reached, parent])}",
                            file=path, row=lines.get(("extends",)), column="extends", value=parent_ref,
                            fix="check the parent's path; it is relative to this file's folder")
    base = _resolve(parent, reached)
    merged = deep_merge(_rebase(base.raw, parent.parent, path.parent), own)
    for key in OWN_KEYS:  # a variant's name, description and sweep are its own
        if key not in own:
            merged.pop(key, None)
    merged.setdefault("name", path.stem)  # runs of the variant are told apart from the parent's by name
    # A key the child writes replaces everything the parents wrote under it, unless both
    # are mappings (then it merges, and so do the origins).
    replaced = list(flatten(own))
    kept = {key: at for key, at in base.origin.items()
            if key[0] not in OWN_KEYS and not any(key[:len(r)] == r for r in replaced)}
    return Resolved(merged, own, [path, *base.chain], {**kept, **origin})
