"""What the workbench shows and moves: its items (accounts or units) and the figures of a plan.

:class:`Items` groups a plan's accounts into what the planner selects (accounts, or the
units of a plan built from units); :class:`Figures` is what the plan in hand proves
(status, objective, bound) with the words the page shows for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from territory_planner.assess import EDITED
from territory_planner.data.geo import coordinate_columns
from territory_planner.errors import ScenarioError
from territory_planner.optimize.solution import relative_gap
from territory_planner.outputs.map_legend import status_words
from territory_planner.plan import Plan


class NotFoundError(ScenarioError):
    """A request names an account, unit, rep or run that does not exist."""


@dataclass(frozen=True)
class Items:
    """What the planner selects and moves: accounts, or units (groups of accounts)."""

    kind: str  # "account" | "unit"
    ids: np.ndarray  # (m,) str
    names: list[str]
    y: np.ndarray  # lat (or planar y) of the item (a unit's: its accounts' mean)
    x: np.ndarray
    potential: np.ndarray
    workload: np.ndarray
    n_accounts: np.ndarray
    of_account: np.ndarray  # (n,) item position of each account (problem order)

    def positions(self, ids) -> np.ndarray:
        """Positions of item ids; raises :class:`NotFoundError` naming the unknown ones."""
        index = self._index
        out, unknown = [], []
        for i in ids:
            p = index.get(str(i))
            (unknown if p is None else out).append(str(i) if p is None else p)
        if unknown:
            raise NotFoundError(f"unknown {self.kind}(s): {', '.join(unknown[:5])}"
                                + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""),
                                fix=f"give {self.kind} ids of the plan (the ids of the map and the search box)")
        return np.asarray(out, dtype=int)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {str(v): i for i, v in enumerate(self.ids)}


def items_of(plan: Plan, accounts: pd.DataFrame, geometry: str) -> Items:
    a, b = coordinate_columns(geometry) if geometry != "none" else ("lat", "lon")
    n = len(accounts)
    lat = accounts[a].to_numpy(float) if a in accounts else np.full(n, np.nan)
    lon = accounts[b].to_numpy(float) if b in accounts else np.full(n, np.nan)
    pot = accounts["potential"].to_numpy(float)
    work = accounts["workload"].to_numpy(float)
    unit = None
    if plan.scenario.units_path is not None and "unit_id" in plan.assignments \
            and plan.assignments["unit_id"].notna().all():
        by_account = dict(zip(plan.assignments["account_id"].astype(str), plan.assignments["unit_id"].astype(str),
                              strict=True))
        unit = accounts["account_id"].astype(str).map(by_account)
    if unit is None or unit.isna().any():
        return Items("account", accounts["account_id"].astype(str).to_numpy(), accounts["name"].astype(str).tolist(),
                     lat, lon, pot, work, np.ones(n, dtype=int), np.arange(n))
    ids, of_account = np.unique(unit.to_numpy(str), return_inverse=True)
    m = len(ids)
    count = np.bincount(of_account, minlength=m)
    mean = lambda v: np.bincount(of_account, weights=np.nan_to_num(v), minlength=m) / np.maximum(count, 1)  # noqa: E731
    return Items("unit", ids, [f"unit {u}" for u in ids], mean(lat), mean(lon),
                 np.bincount(of_account, weights=pot, minlength=m), np.bincount(of_account, weights=work, minlength=m),
                 count, of_account)


@dataclass(frozen=True)
class Figures:
    """What the plan in hand proves: status, objective, bound (−inf: none), where it comes from.

    ``measured``: the figures were measured by the workbench on the plan in hand (hand
    edits, or a run opened on input files that changed since), not stated by a solve.
    """

    status: str
    objective: float
    bound: float
    bound_from: str | None
    seconds: float | None = None
    measured: str | None = None  # "edited" (hand edits) | "inputs" (the input files changed since the run)

    @property
    def gap(self) -> float | None:
        return relative_gap(self.objective, self.bound) if math.isfinite(self.bound) else None

    def as_dict(self) -> dict:
        gap = self.gap
        within = "no proven bound" if gap is None else f"within {100 * gap:.2f}% of the proven bound"
        text = status_words(self.status, gap)
        if self.status == EDITED:
            text = ("edited by hand: breaks constraints (see the list)" if self.measured != "inputs" else
                    "breaks constraints under the input files as they are now (see the list)")
        elif self.status == "interrupted":
            text = f"stopped — best plan found so far, {within}"
        elif self.measured == "edited":
            text = f"edited by hand: keeps every constraint, {within}"
        elif self.measured == "inputs":
            text = f"measured on the input files as they are now (changed since the run): keeps every constraint, {within}"
        return {"status": self.status, "status_text": text, "objective": number(self.objective),
                "bound": number(self.bound), "gap": gap, "bound_from": self.bound_from if gap is not None else None}


def number(value) -> float | None:
    """A finite float, or None (JSON has no infinities)."""
    return float(value) if value is not None and math.isfinite(float(value)) else None

