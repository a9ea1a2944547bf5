"""The package's structure: no import cycles, layers that point one way, rooms of a readable size.

The import graph is read from the source (every ``import`` and ``from … import``, the ones
inside functions too, since a lazy import hides a cycle but does not remove it), so the
test needs no import side effects and names the file and line of an edge it rejects.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "territory_planner"

#: What each part of the package may import (README, "How the code is organised"). A run
#: goes scenario + data → model → optimize → plan → outputs (capacity beside model); the
#: dependencies point from a step to the steps before it: ``data`` reads the scenario,
#: ``model`` and ``capacity`` build problems for ``optimize`` and call its solvers, the
#: result and the outputs read all of these; nothing earlier reads anything later.
ALLOWED = {
    "errors": set(),
    "scenario": {"errors"},
    # Where to sell: potential, whitespace and tiers from a frame and the scenario's section (no I/O).
    "potential": {"errors", "scenario"},
    "data": {"errors", "scenario", "potential"},
    "optimize": {"errors"},
    "model": {"errors", "scenario", "data", "optimize"},
    "capacity": {"errors", "scenario", "data", "optimize"},
    "kpis": set(),
    "plan": {"errors", "scenario", "optimize", "kpis"},
    "outputs": {"errors", "scenario", "data", "potential", "model", "optimize", "capacity", "kpis", "plan"},
    "pipeline": {"errors", "scenario", "data", "model", "optimize", "capacity", "kpis", "plan"},
    # A plan made by hand (the workbench's edits), measured on the problem plan() poses.
    "assess": {"errors", "scenario", "data", "model", "optimize", "capacity", "kpis", "plan", "pipeline"},
    "runs": {"errors", "scenario", "data", "model", "optimize", "capacity", "kpis", "plan", "outputs",
             "pipeline"},
    # The CRM's formats both ways: reading its exports into planner inputs, writing a Plan
    # as its load files. An edge of the flow like outputs/, beside it.
    "crm": {"errors", "scenario", "data", "kpis", "plan", "outputs"},
    "demo_data": {"errors", "data", "outputs"},
    # The planner's workbench: a web layer over the run store, the Plan and the export.
    "workbench": {"errors", "scenario", "data", "model", "optimize", "kpis", "plan", "outputs", "pipeline",
                  "runs", "crm", "assess"},
    "cli": {"errors", "scenario", "data", "potential", "model", "optimize", "capacity", "kpis", "plan", "outputs",
            "pipeline", "runs", "crm", "demo_data", "workbench", "assess"},
    "__init__": {"errors", "scenario", "data", "potential", "model", "optimize", "capacity", "kpis", "plan", "outputs",
                 "pipeline", "runs", "crm", "assess"},
}
ROOT = "territory_planner"
#: Modules above this many lines are split by what they do (issue 25).
MAX_LINES = 650


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(name: str, path: Path, mods: dict[str, Path]) -> list[tuple[str, int]]:
    """(imported module of ``mods``, line) for every import in the file, lazy ones too."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            targets = [node.args[0].value]  # importlib.import_module("territory_planner.…")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], *([base] if base else [])])
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in mods:  # `from pkg import name`: the module that holds it
                target = target.rpartition(".")[0]
            if target and target != name:
                found.append((target, node.lineno))
    return found


def import_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    mods = modules()
    for name, path in mods.items():
        graph.add_node(name, path=path)
        for target, line in imports(name, path, mods):
            if name.startswith(target + ".") and target != ROOT:
                continue  # a module reaching its own package's __init__ re-exports: not a design loop
            # The root package re-exports the public API from every layer: a module that
            # imports it (`from territory_planner import plan`) depends on all of them.
            graph.add_edge(name, target, line=line)
    return graph


def part(module: str) -> str:
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert not cycles, "import cycles: " + " | ".join(" <-> ".join(c) for c in cycles)


def test_a_new_cycle_is_caught(tmp_path, monkeypatch):
    """The check above is not vacuous: two modules importing each other (one lazily) fail it."""
    fake = tmp_path / "territory_planner"
    (fake / "optimize").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "optimize" / "__init__.py").write_text("")
    (fake / "optimize" / "a.py").write_text("from territory_planner.optimize.b import g\n")
    (fake / "optimize" / "b.py").write_text("def g():\n    from territory_planner.optimize import a\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    with pytest.raises(AssertionError, match="optimize.a <-> territory_planner.optimize.b"):
        test_the_import_graph_has_no_cycle()


def fake_package(tmp_path, monkeypatch, files: dict[str, str]) -> None:
    """Point the checks at a package made of ``files`` (path → source) under tmp_path."""
    fake = tmp_path / "territory_planner"
    for path, text in {"__init__.py": "", **files}.items():
        (fake / path).parent.mkdir(parents=True, exist_ok=True)
        for parent in (fake / path).parents:
            if parent == fake.parent:
                break
            (parent / "__init__.py").touch()
        (fake / path).write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)


def test_a_cycle_through_the_root_package_is_caught(tmp_path, monkeypatch):
    fake_package(tmp_path, monkeypatch, {
        "__init__.py": "from territory_planner.optimize.solve import solve\n",
        "optimize/solve.py": "def solve():\n    from territory_planner import solve\n",
    })
    with pytest.raises(AssertionError, match="import cycles"):
        test_the_import_graph_has_no_cycle()


@pytest.mark.parametrize("source", [
    "from territory_planner.outputs.report import write_plan\n",
    "def f():\n    from territory_planner.pipeline import plan\n",
    "import importlib\nimportlib.import_module('territory_planner.cli')\n",
    "from territory_planner import plan\n",
])
def test_an_import_against_the_flow_is_caught(tmp_path, monkeypatch, source):
    fake_package(tmp_path, monkeypatch, {
        "optimize/solve.py": source,
        "outputs/report.py": "", "pipeline.py": "", "cli.py": "",
    })
    with pytest.raises(AssertionError, match="optimize/solve.py:[0-9]+ imports"):
        test_every_part_imports_only_the_parts_before_it()


def test_every_part_imports_only_the_parts_before_it():
    graph = import_graph()
    unknown = sorted({part(m) for m in graph} - set(ALLOWED))
    assert not unknown, f"new top-level parts {unknown}: give them a place in ALLOWED (and the README's layout)"
    wrong = [
        f"{graph.nodes[a]['path'].relative_to(PACKAGE.parent)}:{line} imports {b} ({part(a)} may import {sorted(ALLOWED[part(a)])})"
        for a, b, line in graph.edges(data="line")
        if part(b) != part(a) and part(b) not in ALLOWED[part(a)]
    ]
    assert not wrong, "\n".join(wrong)


def test_the_solver_and_model_layers_never_reach_outputs_the_cli_or_the_orchestrator():
    later = {"outputs", "cli", "pipeline", "runs", "crm", "__init__", "demo_data"}
    for layer in ("data", "scenario", "model", "optimize", "capacity", "plan"):
        assert not ALLOWED[layer] & later, layer


@pytest.mark.parametrize("name", sorted(modules()))
def test_each_module_imports_and_says_what_it_does(name):
    module = importlib.import_module(name)
    assert (module.__doc__ or "").strip(), f"{modules()[name]} needs a docstring saying its part in the flow"


def test_no_module_is_too_big_to_hold_in_the_head():
    big = {str(p.relative_to(PACKAGE.parent)): n for p in modules().values()
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not big, f"split these by what they do: {big}"
