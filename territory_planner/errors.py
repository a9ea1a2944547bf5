"""Errors a planner can act on.

Every error names what is wrong, where (file, row, column, value) and how to fix it.
The CLI maps them to exit codes scripts can trust: 0 ok, 1 bad input, 2 infeasible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class PlannerError(Exception):
    """Base class of every error territory_planner raises on purpose."""

    exit_code = 1


class InputError(PlannerError):
    """Bad input data or scenario: says file, row, column, value and the fix.

    ``row`` is the row a planner sees when opening the file: for CSV and Excel the line
    number counting the header as line 1; for Parquet and GeoJSON the 1-based record
    number.
    """

    exit_code = 1

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        self.value = value
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        text = ", ".join(where)
        text = f"{text}: {self.problem}" if text else self.problem
        if self.value is not None:
            text += f" (value: {self.value!r})"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


class ScenarioError(InputError):
    """A scenario file that cannot be used as written."""


@dataclass(frozen=True)
class Conflict:
    """One constraint family that takes part in an infeasibility, in the planner's words."""

    constraint: str  # e.g. "balance potential ±5%"
    detail: str  # e.g. "account A-17 alone is 7% of a territory's mean"
    loosest_feasible: str | None = None  # e.g. "±8% potential would be feasible"


@dataclass
class Diagnosis:
    summary: str
    conflicts: list[Conflict] = field(default_factory=list)

    def render(self) -> str:
        lines = [self.summary]
        for c in self.conflicts:
            line = f"- {c.constraint}: {c.detail}"
            if c.loosest_feasible:
                line += f" — {c.loosest_feasible}"
            lines.append(line)
        return "\n".join(lines)


class InfeasibleError(PlannerError):
    """No plan satisfies the constraints; carries a diagnosis of which and by how much."""

    exit_code = 2

    def __init__(self, diagnosis: Diagnosis) -> None:
        self.diagnosis = diagnosis
        super().__init__(diagnosis.render())

    def __reduce__(self):  # picklable, e.g. out of a worker process
        return (type(self), (self.diagnosis,))


class NoPlanFoundError(PlannerError):
    """No plan was found in the time limit, and none was proven impossible either."""

    exit_code = 2

    def __init__(self, diagnosis: Diagnosis) -> None:
        self.diagnosis = diagnosis
        super().__init__(diagnosis.render())

    def __reduce__(self):  # picklable, e.g. out of a worker process
        return (type(self), (self.diagnosis,))


class SolverError(PlannerError):
    """The solver backend failed or is unavailable."""

    exit_code = 3
