"""The trade-off frontier: travel against disruption (or balance), by the ε-constraint method.

``territory-planner frontier SCENARIO --x disruption --y travel --points 8``: the
scenario's objective (travel: Σ distance × weight) is minimised while one other goal is
held at a level ε, for a series of levels (Haimes, Lasdon & Wismer 1971, the ε-constraint
method; Chankong & Haimes 1983, *Multiobjective Decision Making*, ch. 4):

* ``--x disruption``: first the scenario is planned without a ``continuity.min_kept``
  floor: the unconstrained end, whose plan keeps a share κ0 of accounts (``--by
  accounts``) or of potential (``--by potential``) with today's owner. Then
  ``continuity.min_kept`` is stepped from 1.0 (nobody moves) down towards κ0, so that
  with the unconstrained end there are ``points`` points, evenly spaced in kept share.
* ``--x balance``: the ``balance.potential`` tolerance is stepped from the scenario's own
  τ0 to tighter, τ0·k/points for k = points … 1.

``--y travel`` is travel alone: a scenario's ``continuity.penalty`` (a cost per account
changing owner, added to the objective) is dropped from every point, the unconstrained
end included, so the y axis is Σ distance × weight and nothing else. Disruption is the x
axis, held by the ``continuity.min_kept`` floor that is stepped (``--x balance`` keeps
the scenario's own floor, if any, as a constraint).

Each point is a run of the store (kind ``frontier``, one ``group_id``), planned on the
Dask backend of ``runs/sweep.py`` and comparable like any runs. A point with no plan
(typically min_kept 1.0, or the tightest band) is kept with its error and marks the
frontier's end. With a proven-optimal plan at every point the frontier is monotone; a
plan stopped by its time limit, whose gap is left open, can be beaten by a looser point
and a tighter one at once: such a point is flagged ``dominated``.

:func:`write_frontier` writes ``frontier.csv`` (one row per point) and ``frontier.svg``
(the chart) as one folder (``outputs.files.write_folder``).
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from territory_planner.errors import PlannerError
from territory_planner.outputs.files import csv_text, write_folder
from territory_planner.runs.record import read_plan_table
from territory_planner.runs.store import Run, RunStore
from territory_planner.runs.sweep import (
    Batch,
    DaskBackend,
    Job,
    OnUpdate,
    Outcome,
    Tally,
    new_group_id,
    run_many,
)
from territory_planner.scenario import Scenario

#: What a frontier can trade: ``--x`` (the goal held at ε), ``--y`` (the goal minimised).
X_CHOICES = {"disruption": "accounts (or potential) changing owner", "balance": "potential balance tolerance"}
Y_CHOICES = {"travel": "the scenario's objective without its continuity.penalty: distance × weight"}
BY_CHOICES = ("accounts", "potential")
#: The columns of frontier.csv.
COLUMNS = ["point", "x", "min_kept", "balance_tolerance", "kept_share", "accounts_moved_share",
           "potential_moved_share", "potential_max_dev_pct", "objective", "bound", "gap", "mean_distance_km",
           "status", "dominated", "run_id", "name"]


def check_axes(x: str, y: str, by: str, points: int) -> None:
    """Raise a PlannerError naming the choices for an unknown ``--x``, ``--y`` or ``--by``."""
    if x not in X_CHOICES:
        raise PlannerError(f"unknown --x '{x}'; choose among " + ", ".join(f"{k} ({v})" for k, v in X_CHOICES.items()))
    if y not in Y_CHOICES:
        raise PlannerError(f"unknown --y '{y}'; choose among " + ", ".join(f"{k} ({v})" for k, v in Y_CHOICES.items()))
    if by not in BY_CHOICES:
        raise PlannerError(f"unknown --by '{by}'; choose among {', '.join(BY_CHOICES)}")
    if points < 2:
        raise PlannerError(f"--points must be at least 2 (got {points}): a frontier needs two ends")


@dataclass(frozen=True)
class Frontier:
    """The points of a frontier (their runs in ``outcomes``) and ``table``, frontier.csv's rows."""

    scenario: str
    x: str
    y: str
    by: str
    group_id: str
    outcomes: list[Outcome]
    table: pd.DataFrame
    objective_label: str = "objective"
    interrupted: bool = False
    batches: tuple[Batch, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return any(o.ok for o in self.outcomes)

    @property
    def reused(self) -> int:
        return sum(b.reused for b in self.batches)

    @property
    def seconds(self) -> float:
        return sum(b.seconds for b in self.batches)


def kept_share(run: Run, by: str) -> float:
    """Share of accounts (or potential) that the run's plan keeps with today's owner.

    Over the accounts whose ``current_rep_id`` is a territory's rep, as the
    ``continuity.min_kept`` row counts them (``model/constraints.kept_share``); NaN when
    no account has one.
    """
    a = read_plan_table(run.folder / "assignments.csv")
    if "current_rep_id" not in a:
        return math.nan
    reps = set(read_plan_table(run.folder / "territories.csv")["rep_id"].dropna().astype(str))
    current = a["current_rep_id"]
    owned = current.notna() & current.astype(str).isin(reps)
    weight = pd.Series(1.0, index=a.index) if by == "accounts" else a[by].astype(float)
    total = float(weight[owned].sum())
    if total <= 0:
        return math.nan
    return float(weight[owned & (current.astype(str) == a["rep_id"].astype(str))].sum() / total)


def disruption_levels(kappa0: float, points: int) -> list[float]:
    """min_kept from 1.0 down towards κ0: ``points − 1`` levels, the unconstrained end the last point.

    >>> disruption_levels(0.2, 5)
    [1.0, 0.8, 0.6, 0.4]
    """
    kappa0 = float(kappa0)  # Python's rounding, whatever number type comes in (numpy rounds half-way apart)
    levels = [round(1.0 - (1.0 - kappa0) * k / (points - 1), 4) for k in range(points - 1)]
    return sorted({v for v in levels if v > kappa0 + 1e-9}, reverse=True)


def balance_levels(tolerance: float, points: int) -> list[float]:
    """The potential tolerance from τ0 to tighter, tightest first.

    >>> balance_levels(0.05, 4)
    [0.0125, 0.025, 0.0375, 0.05]
    """
    return sorted({round(float(tolerance) * k / points, 6) for k in range(points, 0, -1)})


def _offset(on_update: OnUpdate | None, before: Tally, total: int) -> OnUpdate | None:
    """``on_update`` for a later batch: its counts added to those of the batches before it."""
    if on_update is None:
        return None

    def update(t: Tally, outcome: Outcome | None) -> None:
        on_update(Tally(total, before.done + t.done, before.failed + t.failed, before.reused + t.reused, t.running),
                  outcome)
    return update


def _tally(batch: Batch) -> Tally:
    ok = sum(o.ok and not o.reused for o in batch.outcomes)
    failed = sum(o.run is not None and not o.ok for o in batch.outcomes)
    return Tally(len(batch.outcomes), ok, failed, batch.reused)


def run_frontier(
    scenario: Scenario,
    store: RunStore,
    *,
    x: str = "disruption",
    y: str = "travel",
    points: int = 8,
    by: str = "accounts",
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    on_update: OnUpdate | None = None,
) -> Frontier:
    """Plan the frontier's points on Dask, keep them (kind ``frontier``) and tabulate them.

    Every point is the scenario without its sweep grid and without ``continuity.penalty``
    (y is travel alone; see the module docstring).
    """
    check_axes(x, y, by, points)
    # A frontier steps its own key (a sweep grid is not run), and y is travel alone: a move
    # penalty in the objective would make each point's y travel plus disruption again.
    base = scenario.with_overrides(sweep=None, continuity={"penalty": None})
    group_id = new_group_id("frontier")
    name = scenario.name
    batches: list[Batch] = []
    with DaskBackend(workers=workers, scheduler=scheduler, expect=points - 1 if x == "disruption" else points) as backend:
        if x == "balance":
            tolerance = base.balance.get("potential")
            if not tolerance:
                raise PlannerError("--x balance steps the potential balance tolerance, and this scenario has none "
                                   "(or ±0%). Fix: set balance: {potential: 0.05} in the scenario")
            jobs = [Job(f"{name}[potential={t:g}]", base.with_overrides(balance={**base.balance, "potential": t}),
                        {"balance.potential": t}, "frontier") for t in balance_levels(tolerance, points)]
            batches.append(run_many(jobs, store, backend=backend, fresh=fresh, on_update=_offset(on_update, Tally(0), points),
                                    group_id=group_id))
        else:
            free = base.with_overrides(continuity={"min_kept": None, "by": by, "penalty": None})
            anchor = Job(f"{name}[min_kept=none]", free, {"continuity.min_kept": None}, "frontier")
            batches.append(run_many([anchor], store, backend=backend, fresh=fresh,
                                    on_update=_offset(on_update, Tally(0), points), group_id=group_id))
            end = batches[0].outcomes[0]
            if end.ok and not batches[0].interrupted:
                kappa0 = kept_share(end.run, by)
                if not math.isfinite(kappa0):
                    raise PlannerError(f"--x disruption needs today's owners: no account of run {end.run.id} has a "
                                       "current_rep_id that is one of the reps. Fix: add current_rep_id to the accounts "
                                       "file, or trade --x balance")
                jobs = [Job(f"{name}[min_kept={k:g}]", free.with_overrides(continuity={"min_kept": k}),
                            {"continuity.min_kept": k}, "frontier") for k in disruption_levels(kappa0, points)]
                if jobs:
                    batches.append(run_many(jobs, store, backend=backend, fresh=fresh,
                                            on_update=_offset(on_update, _tally(batches[0]), 1 + len(jobs)),
                                            group_id=group_id))
    outcomes = [o for b in batches[1:] for o in b.outcomes] + batches[0].outcomes if x == "disruption" \
        else batches[0].outcomes
    table = frontier_table(outcomes, x, by)
    label = "objective"
    for o in outcomes:
        if o.ok and (o.run.folder / "summary.json").is_file():
            label = json.loads((o.run.folder / "summary.json").read_text(encoding="utf-8")).get("objective_label") or label
            break
    return Frontier(name, x, y, by, group_id, outcomes, table, label, any(b.interrupted for b in batches), tuple(batches))


def _num(value) -> float:
    return float(value) if isinstance(value, int | float) and value is not None and math.isfinite(value) else math.nan


def frontier_table(outcomes: list[Outcome], x: str, by: str) -> pd.DataFrame:
    """frontier.csv's rows: one per point, in the frontier's order, ``dominated`` flagged."""
    rows = []
    for number, o in enumerate(outcomes, start=1):
        swept = o.job.swept
        run, k = o.run, (o.run.kpis if o.run is not None else {})
        kept = kept_share(run, by) if o.ok else math.nan
        dev = _num(k.get("potential_max_dev_pct"))
        rows.append({
            "point": number,
            "x": (1.0 - kept if x == "disruption" else dev / 100.0) if o.ok else math.nan,
            "min_kept": _num(swept.get("continuity.min_kept")),
            "balance_tolerance": _num(swept.get("balance.potential", o.job.scenario.balance.get("potential"))),
            "kept_share": kept,
            "accounts_moved_share": _num(k.get("accounts_moved_share")),
            "potential_moved_share": _num(k.get("potential_moved_share")),
            "potential_max_dev_pct": dev,
            "objective": _num(run.objective) if run is not None else math.nan,
            "bound": _num(run.bound) if run is not None else math.nan,
            "gap": _num(run.gap) if run is not None else math.nan,
            "mean_distance_km": _num(k.get("mean_distance_km")),
            "status": o.status,
            "dominated": False,
            "run_id": run.id if run is not None else "",
            "name": o.job.name,
        })
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["dominated"] = dominated(table)
    return table


def dominated(table: pd.DataFrame, rtol: float = 1e-9) -> pd.Series:
    """Rows some other plan beats: no worse on x and on the objective, better on one."""
    ok = table["x"].notna() & table["objective"].notna()
    xs, ys = table["x"].to_numpy(float), table["objective"].to_numpy(float)
    out = []
    for i in range(len(table)):
        if not ok.iloc[i]:
            out.append(False)
            continue
        tx, ty = rtol * max(1.0, abs(xs[i])), rtol * max(1.0, abs(ys[i]))
        out.append(any(ok.iloc[j] and j != i and xs[j] <= xs[i] + tx and ys[j] <= ys[i] + ty
                       and (xs[j] < xs[i] - tx or ys[j] < ys[i] - ty) for j in range(len(table))))
    return pd.Series(out, index=table.index, dtype=bool)


def x_label(x: str, by: str) -> str:
    return f"{by} changing owner (%)" if x == "disruption" else "largest potential deviation from the mean (%)"


def _level_text(x: str, level: float) -> str:
    if not math.isfinite(level):
        return "no floor"
    return f"kept ≥ {level:.0%}" if x == "disruption" else f"±{level:.2%}"


def frontier_svg(frontier: Frontier) -> str:
    """The frontier as an SVG chart (matplotlib's Figure API: no pyplot, no GUI backend)."""
    import matplotlib
    from matplotlib.figure import Figure

    t = frontier.table
    fig = Figure(figsize=(7.5, 4.8), layout="constrained")
    ax = fig.add_subplot()
    ok = t["x"].notna() & t["objective"].notna()
    front = t[ok & ~t["dominated"]].sort_values("x")
    ax.plot(front["x"] * 100, front["objective"], "-o", color="#1f77b4", label="frontier (each point a run)")
    off = t[ok & t["dominated"]]
    if len(off):
        ax.plot(off["x"] * 100, off["objective"], "o", mfc="none", color="#888888", label="dominated (open gap)")
    for _, row in t[ok].iterrows():
        level = row["min_kept"] if frontier.x == "disruption" else row["balance_tolerance"]
        ax.annotate(_level_text(frontier.x, level), (row["x"] * 100, row["objective"]), textcoords="offset points",
                    xytext=(4, 4), fontsize=8)
    failed = t[~ok]
    if len(failed):  # no y to show: drawn at the top, where the constraint ends the frontier
        where = (1.0 - failed["min_kept"]) if frontier.x == "disruption" else failed["balance_tolerance"]
        top = t.loc[ok, "objective"].max() if ok.any() else 1.0
        ax.plot(where * 100, [top] * len(failed), "x", color="#d62728", markersize=9,
                label="no plan: " + ", ".join(sorted(set(failed["status"]))))
        for w, (_, row) in zip(where, failed.iterrows(), strict=True):
            level = row["min_kept"] if frontier.x == "disruption" else row["balance_tolerance"]
            ax.annotate(_level_text(frontier.x, level), (w * 100, top), textcoords="offset points", xytext=(4, -12),
                        fontsize=8, color="#d62728")
    ax.set_xlabel(x_label(frontier.x, frontier.by))
    ax.set_ylabel(f"{frontier.y}: {frontier.objective_label}")
    ax.set_title(f"{frontier.scenario}: trade-off frontier ({frontier.y} vs {frontier.x})", fontsize=11)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "territory_planner", "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def write_frontier(frontier: Frontier, out: str | Path) -> dict[str, Path]:
    """Write frontier.csv and frontier.svg as the whole of folder ``out``."""
    return write_folder(out, {"frontier.csv": csv_text(frontier.table), "frontier.svg": frontier_svg(frontier)})


def read_frontier(path: str | Path) -> pd.DataFrame:
    """frontier.csv read back (run ids as text, ``dominated`` as booleans)."""
    table = pd.read_csv(path, dtype={"run_id": str, "name": str, "status": str}, keep_default_na=True)
    table["run_id"] = table["run_id"].fillna("")
    table["dominated"] = table["dominated"].astype(str).str.lower().eq("true")
    return table

