"""``territory-planner scenarios list [DIR]``: the scenario files of a folder as a tree of variants."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.tree import Tree

from territory_planner.cli.common import app, console, fail
from territory_planner.errors import PlannerError

scenarios_app = typer.Typer(no_args_is_help=True, help="Scenario files: the base plans and the variants that extend them.\n\n"
                            "Example: territory-planner scenarios list scenarios")
app.add_typer(scenarios_app, name="scenarios")


def _label(entry, folder: Path) -> str:
    """An entry as rich markup: name and file, description, then one line per change or its error."""
    try:
        shown = entry.path.relative_to(folder) if not entry.outside else entry.path
    except ValueError:
        shown = entry.path
    lines = [f"[bold]{escape(entry.name)}[/]  [dim]{escape(str(shown))}[/]"
             + ("  [yellow](another folder)[/]" if entry.outside else "")]
    if entry.description:
        lines.append(escape(entry.description.strip()))
    lines += [f"[cyan]• {escape(line)}[/]" for line in entry.changes]
    if entry.error:
        lines.append(f"[bold red]cannot be used:[/] [red]{escape(entry.error)}[/]")
    return "\n".join(lines)


def _add(tree: Tree, entry, folder: Path) -> None:
    node = tree.add(_label(entry, folder))
    for child in entry.children:
        _add(node, child, folder)


@scenarios_app.command("list")
def list_command(
    folder: Path = typer.Argument(Path("scenarios"), help="folder of scenario .yaml files (default: scenarios)"),
) -> None:
    """Show the scenarios of a folder: each base plan with the variants that extend it,
    what each one changes, and any file that cannot be used (with why).

    Example: territory-planner scenarios list scenarios
    """
    from territory_planner.scenario.catalog import scenario_tree

    try:
        roots = scenario_tree(folder)
    except PlannerError as exc:
        fail(exc)
    if not roots:
        console.print(f"No scenario files (*.yaml) in {escape(str(folder))}.", highlight=False)
        return
    tree = Tree(f"[bold]{escape(str(folder))}[/]", guide_style="dim")
    for root in roots:
        _add(tree, root, folder)
    console.print(tree, highlight=False, soft_wrap=False)
    broken = sum(1 for root in roots for e in root.walk() if e.error)
    total = sum(1 for root in roots for _ in root.walk())
    console.print(f"{total} scenario file{'s' if total != 1 else ''}" + (f", {broken} with errors" if broken else ""),
                  highlight=False)
