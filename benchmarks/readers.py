"""Readers for public benchmark formats; each returns plain arrays for the optimizer.

* OR-Library ``pmedcap1`` (Osman & Christofides 1994), one problem per file:
  ``k v`` / ``n p Q`` / n lines ``i x y d``. Costs are floor(Euclidean) per assignment —
  the only convention that reproduces the published optima (see the set's SOURCE.md).
* Lorena & Senne / Stefanello CPMP (``.dat``): ``n p`` then n lines ``x y Q d``; real
  Euclidean costs, every point a candidate with its own capacity.
* OR-Library GAP (``gap1.txt`` … ``gapd.txt``): several problems per file, each
  ``m n`` / m×n costs / m×n resources / m capacities. gap1–12 are maximisation,
  gapa–d minimisation.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class CpmpInstance:
    """A capacitated p-median instance: every point is a candidate center."""

    name: str
    xy: np.ndarray  # (n, 2)
    demand: np.ndarray  # (n,)
    capacity: np.ndarray  # (n,) capacity of each point as a center
    p: int
    cost: np.ndarray  # (n, n) cost of serving i from center j
    reference: float | None = None  # value in the file header, if any

    @property
    def n(self) -> int:
        return len(self.demand)


@dataclass(frozen=True)
class GapInstance:
    """A generalised assignment instance: job j to agent i (arrays are jobs × agents)."""

    name: str
    cost: np.ndarray  # (n_jobs, m_agents) cost (or profit) of giving job j to agent i
    resource: np.ndarray  # (n_jobs, m_agents) resource agent i uses for job j
    capacity: np.ndarray  # (m_agents,)
    maximise: bool

    @property
    def n(self) -> int:
        return self.cost.shape[0]

    @property
    def m(self) -> int:
        return self.cost.shape[1]


def _tokens(path: Path) -> list[str]:
    return Path(path).read_text(encoding="utf-8").split()


def floor_euclidean(xy: np.ndarray) -> np.ndarray:
    """floor(√((x_i − x_j)² + (y_i − y_j)²)) for every pair (OR-Library CPMP convention)."""
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    return np.floor(d + 1e-9)


def euclidean(xy: np.ndarray) -> np.ndarray:
    return np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])


def read_pmedcap(path: str | Path) -> CpmpInstance:
    """One OR-Library pmedcap1 problem (``instances/pmedcap1_XX.txt``)."""
    path = Path(path)
    t = _tokens(path)
    _, value, n, p, q = (int(x) for x in t[:5])
    rows = np.array(t[5 : 5 + 4 * n], dtype=float).reshape(n, 4)
    xy = rows[:, 1:3]
    return CpmpInstance(path.stem, xy, rows[:, 3], np.full(n, float(q)), p, floor_euclidean(xy), float(value))


def read_lorena(path: str | Path) -> CpmpInstance:
    """A Lorena/Stefanello ``.dat`` CPMP problem (real Euclidean costs)."""
    path = Path(path)
    t = _tokens(path)
    n, p = int(t[0]), int(t[1])
    rows = np.array(t[2 : 2 + 4 * n], dtype=float).reshape(n, 4)
    xy = rows[:, :2]
    return CpmpInstance(path.stem, xy, rows[:, 3], rows[:, 2], p, euclidean(xy))


def read_gap(path: str | Path) -> list[GapInstance]:
    """Every problem of an OR-Library GAP file, named ``<file>-<k>`` (1-based)."""
    path = Path(path)
    t = [int(x) for x in _tokens(path)]
    count, pos = t[0], 1
    maximise = path.stem not in ("gapa", "gapb", "gapc", "gapd")
    out = []
    for k in range(count):
        m, n = t[pos], t[pos + 1]
        pos += 2
        c = np.array(t[pos : pos + m * n], dtype=float).reshape(m, n)
        pos += m * n
        a = np.array(t[pos : pos + m * n], dtype=float).reshape(m, n)
        pos += m * n
        b = np.array(t[pos : pos + m], dtype=float)
        pos += m
        out.append(GapInstance(f"{path.stem}-{k + 1}", c.T.copy(), a.T.copy(), b, maximise))
    return out


def read_pmedcap_solution(path: str | Path, n: int, p: int) -> np.ndarray:
    """An albuquef solution file: p median ids, then n lines ``customer median`` (1-based)."""
    t = Path(path).read_text(encoding="utf-8").split()
    nums: list[int] = []
    for tok in t:
        if not tok.lstrip("-").isdigit():
            break
        nums.append(int(tok))
    pairs = np.array(nums[p : p + 2 * n], dtype=int).reshape(n, 2)
    assignment = np.empty(n, dtype=int)
    assignment[pairs[:, 0] - 1] = pairs[:, 1] - 1
    return assignment


def read_optima(folder: str | Path) -> dict[str, float]:
    """``optima.csv`` of a benchmark folder: instance → published optimum / best known."""
    with open(Path(folder) / "optima.csv", encoding="utf-8", newline="") as f:
        # gapa–d rows read "gapa-1 (a05100)": the name before the alias is the instance.
        return {row["instance"].split(" (")[0]: float(row["optimal_or_best"]) for row in csv.DictReader(f)}
