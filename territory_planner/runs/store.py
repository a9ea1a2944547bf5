"""The run store: every plan, sweep, re-plan and frontier run kept, indexed and findable.

Layout (``runs/`` in the current folder by default)::

    runs/
      runs.sqlite            the index: one row per run (id, name, parent, status, KPIs, …)
      <run id>/              one immutable folder per run
        assignments.csv …    the plan's files (outputs/report.py), scenario.yaml among them
        run.json             what the run was: kind, name, parent, swept values, inputs'
                             content hashes, package version, the key, created_at

A run's folder is written whole (``outputs.files.write_folder``: a hidden temporary
folder renamed into place) and only then indexed, so a kill at any moment leaves whole
runs only. ``run.json`` holds everything the index does, so a run whose folder landed but
whose index row did not (a kill between the two) is indexed again when the store is next
opened; a row whose folder was deleted by hand is dropped. What may change about a run
later, its label and its approval, lives in the index only: the folder never changes.

SQLite (the standard library's ``sqlite3``) is the index: one file, no server, safe for
several processes (WAL journal, a busy timeout), queryable by any SQLite tool.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from territory_planner.errors import ScenarioError
from territory_planner.outputs.files import json_text, write_folder
from territory_planner.outputs.report import render_plan
from territory_planner.plan import Plan
from territory_planner.runs.record import package_version, read_plan

#: The default store: ``runs/`` in the current folder; the environment variable
#: ``TERRITORY_PLANNER_STORE`` (and every command's ``--store DIR``) names another.
DEFAULT_STORE = "runs"
STORE_ENV = "TERRITORY_PLANNER_STORE"

_COLUMNS = {
    "id": "TEXT PRIMARY KEY",
    "name": "TEXT NOT NULL",
    "kind": "TEXT NOT NULL",  # plan | sweep | replan | frontier | edit
    "parent": "TEXT",  # the run it starts from (a re-plan's, an edit's) or the scenario it extends
    "group_id": "TEXT",  # the sweep or frontier it belongs to
    "created_at": "TEXT NOT NULL",
    "status": "TEXT NOT NULL",  # the plan's status, or failed / infeasible / no_plan
    "objective": "REAL",
    "bound": "REAL",
    "gap": "REAL",
    "seconds": "REAL",
    "kpis": "TEXT",  # JSON
    "swept": "TEXT",  # JSON: the swept keys and their values
    "label": "TEXT",
    "approved": "INTEGER NOT NULL DEFAULT 0",  # 1 once approved (by whom and when beside it)
    "approved_by": "TEXT",
    "approved_at": "TEXT",
    "error": "TEXT",
    "scenario_file": "TEXT",
    "run_key": "TEXT",
    "version": "TEXT",
}


def _now() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="microseconds")  # orders the runs of one second


def _number(value) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


@dataclass(frozen=True)
class Run:
    """One row of the index: what a run was and what it proved."""

    id: str
    name: str
    kind: str
    created_at: str
    status: str
    folder: Path
    parent: str | None = None
    group_id: str | None = None
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    seconds: float | None = None
    kpis: dict = field(default_factory=dict)
    swept: dict = field(default_factory=dict)
    label: str | None = None
    approved: bool = False
    approved_by: str | None = None
    approved_at: str | None = None
    error: str | None = None
    scenario_file: str | None = None
    run_key: str | None = None
    version: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the run holds a plan (failed and infeasible runs hold their error)."""
        return self.error is None

    def plan(self) -> Plan:
        """The run's Plan, read back from its folder."""
        if not self.ok:
            raise ScenarioError(f"run {self.id} holds no plan: it {self.status} ({self.error})",
                                fix="open a run whose status is optimal, time_limit, feasible or interrupted")
        return read_plan(self.folder)

    def inputs(self) -> dict | None:
        """The input files the run read, as ``run.json`` records them (key → {path, sha256};
        see ``record.input_hashes``), or None where it cannot be read."""
        try:
            return json.loads((self.folder / "run.json").read_text(encoding="utf-8")).get("inputs")
        except (OSError, ValueError, AttributeError):
            return None

    def meta(self) -> dict:
        """What run.json holds (everything but the mutable label and approval)."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()
                if k not in ("folder", "label", "approved", "approved_by", "approved_at")}


def _row_to_run(row: sqlite3.Row, root: Path) -> Run:
    data = dict(row)
    data["kpis"] = json.loads(data["kpis"] or "{}")
    data["swept"] = json.loads(data["swept"] or "{}")
    data["approved"] = bool(data["approved"])
    return Run(folder=root / data["id"], **data)


class RunStore:
    """A folder of runs with its SQLite index (see the module docstring).

    >>> store = RunStore(tmp / "runs")                          # doctest: +SKIP
    >>> run = store.save_plan(result, name="demo", key=key)      # doctest: +SKIP
    >>> store.get(run.id).plan().status                          # doctest: +SKIP
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root if root is not None else os.environ.get(STORE_ENV) or DEFAULT_STORE)
        if self.root.exists() and not self.root.is_dir():
            raise ScenarioError("the run store is not a folder", file=self.root,
                                fix="name a folder with --store DIR (it is created if needed)")
        self.root.mkdir(parents=True, exist_ok=True)
        self.index = self.root / "runs.sqlite"
        #: Run folders that could not be indexed (a broken run.json), each with its fix.
        self.problems: list[str] = []
        with self._db() as db:
            db.execute(f"CREATE TABLE IF NOT EXISTS runs ({', '.join(f'{k} {v}' for k, v in _COLUMNS.items())})")
            have = {r["name"] for r in db.execute("PRAGMA table_info(runs)")}
            for column, kind in _COLUMNS.items():  # a store made by an earlier version
                if column not in have:
                    db.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
            db.execute("CREATE INDEX IF NOT EXISTS runs_key ON runs (run_key)")
            db.execute("CREATE INDEX IF NOT EXISTS runs_name ON runs (name, created_at)")
        self._reconcile()

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.index, timeout=60)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA journal_mode=WAL")
            with db:  # one transaction: committed on success, rolled back on error
                yield db
        finally:
            db.close()

    def _reconcile(self) -> None:
        """Index the whole run folders the index misses; drop rows whose folder is gone."""
        with self._db() as db:
            known = {r["id"] for r in db.execute("SELECT id FROM runs")}
            on_disk = {p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")
                       and (p / "run.json").is_file()}
            for run_id in sorted(on_disk - known):
                path = self.root / run_id / "run.json"
                try:
                    meta = json.loads(path.read_text(encoding="utf-8"))
                    if not isinstance(meta, dict) or not all(meta.get(k) for k in ("id", "name", "kind", "status",
                                                                                    "created_at")):
                        raise ValueError("id, name, kind, status or created_at missing")
                    self._insert(db, {**meta, "id": run_id})
                except (ValueError, OSError, sqlite3.Error) as exc:
                    self.problems.append(f"{path}: not a readable run record ({exc}); the run is left out of the "
                                         "index. Fix: restore the file, or remove the folder with 'rm -r'")
            for run_id in sorted(known - on_disk):
                db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        cutoff = time.time() - 24 * 3600  # a write killed more than a day ago left this behind
        for stale in [*self.root.glob(".*.tmp"), *self.root.glob(".*.lock")]:
            if stale.stat().st_mtime < cutoff:
                shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)

    @staticmethod
    def _insert(db: sqlite3.Connection, meta: dict) -> None:
        values = {k: meta.get(k) for k in _COLUMNS}
        values["kpis"] = json.dumps(meta.get("kpis") or {}, sort_keys=True)
        values["swept"] = json.dumps(meta.get("swept") or {}, sort_keys=True, default=str)
        values["approved"] = int(bool(meta.get("approved")))
        db.execute(f"INSERT OR REPLACE INTO runs ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
                   list(values.values()))

    # --- writing ----------------------------------------------------------------------

    def _new_id(self) -> str:
        """A new run id, reserved by a hidden lock file created exclusively: two processes
        saving at once never get one id (the caller removes the lock once saved)."""
        while True:
            run_id = f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
            if (self.root / run_id).exists():
                continue
            try:
                os.close(os.open(self.root / f".{run_id}.lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                continue
            return run_id

    def save(self, files: dict[str, str], *, name: str, kind: str, status: str, summary: dict | None = None,
             parent: str | None = None, group_id: str | None = None, swept: dict | None = None,
             error: str | None = None, scenario_file: str | Path | None = None, key: str | None = None,
             inputs: dict | None = None, extra: dict | None = None, pause_between: float = 0.0) -> Run:
        """Keep a run: its files (name → text) and what it was; returns its index row.

        ``summary`` is the plan's ``summary.json`` content (figures and KPIs) for runs that
        hold a plan; ``error`` the message of a run that failed. ``pause_between`` (seconds
        between files) is for the tests that kill a write half-way.
        """
        summary = summary or {}
        run = Run(
            id=self._new_id(), name=name, kind=kind, created_at=_now(), status=status, folder=Path(),
            parent=parent, group_id=group_id, objective=_number(summary.get("objective")),
            bound=_number(summary.get("bound")), gap=_number(summary.get("gap")),
            seconds=_number(summary.get("seconds")), kpis=summary.get("kpis") or {}, swept=swept or {},
            error=error, scenario_file=str(Path(scenario_file).resolve()) if scenario_file else None, run_key=key,
            version=package_version(),
        )
        meta = {**run.meta(), "inputs": inputs or {}, **(extra or {})}
        folder = self.root / run.id
        try:
            write_folder(folder, {**files, "run.json": json_text(meta)}, pause_between=pause_between, check=False)
        finally:
            (self.root / f".{run.id}.lock").unlink(missing_ok=True)
        with self._db() as db:
            self._insert(db, meta)
        return self.get(run.id)

    def save_plan(self, plan: Plan, *, name: str | None = None, kind: str = "plan", key: str | None = None,
                  inputs: dict | None = None, files: dict[str, str] | None = None, **meta) -> Run:
        """Keep a Plan (its files rendered here unless ``files`` gives them, e.g. from a worker)."""
        files = files if files is not None else render_plan(plan)
        return self.save(files, name=name or plan.scenario.name, kind=kind, status=plan.status,
                         summary=plan.summary(), key=key, inputs=inputs,
                         scenario_file=meta.pop("scenario_file", plan.scenario.source), **meta)

    # --- reading ----------------------------------------------------------------------

    def runs(self, *, name: str | None = None, group_id: str | None = None, kind: str | None = None) -> list[Run]:
        """The index's runs, oldest first (filtered by name, sweep/frontier group or kind)."""
        where, args = [], []
        for column, value in (("name", name), ("group_id", group_id), ("kind", kind)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = "SELECT * FROM runs" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY created_at, id"
        with self._db() as db:
            return [_row_to_run(r, self.root) for r in db.execute(sql, args)]

    def cached(self, key: str, statuses: tuple[str, ...] = ("optimal", "time_limit", "feasible")) -> Run | None:
        """The latest run with this key whose status is one of ``statuses`` (None: plan it).

        The default leaves out runs stopped by Ctrl-C (``interrupted``) and runs without a
        plan: neither is the plan its scenario asks for.
        """
        marks = ", ".join("?" for _ in statuses)
        with self._db() as db:
            row = db.execute(f"SELECT * FROM runs WHERE run_key = ? AND error IS NULL AND status IN ({marks}) "
                             "ORDER BY created_at DESC, id DESC LIMIT 1", (key, *statuses)).fetchone()
        return _row_to_run(row, self.root) if row is not None and (self.root / row["id"]).is_dir() else None

    def get(self, ref: str) -> Run:
        """A run by id, unique id prefix, label, or name (the latest run of that name)."""
        ref = str(ref).strip()
        with self._db() as db:
            rows = db.execute("SELECT * FROM runs WHERE id = ?", (ref,)).fetchall()
            if not rows and ref:
                rows = db.execute("SELECT * FROM runs WHERE substr(id, 1, ?) = ? ORDER BY id", (len(ref), ref)).fetchall()
                if len(rows) > 1:
                    ids = ", ".join(r["id"] for r in rows[:5])
                    raise ScenarioError(f"run '{ref}' is ambiguous: {len(rows)} runs start with it ({ids} …)",
                                        file=self.index, fix="give more characters of the id")
            for column in ("label", "name"):
                if not rows:
                    rows = db.execute(f"SELECT * FROM runs WHERE {column} = ? ORDER BY created_at DESC, id DESC LIMIT 1",
                                      (ref,)).fetchall()
        if not rows:
            raise ScenarioError(f"no run '{ref}' in the store", file=self.root,
                                fix="see 'territory-planner runs list' for the ids, labels and names "
                                    f"(or --store DIR for another store than {self.root})")
        return _row_to_run(rows[0], self.root)

    # --- what may change about a run ---------------------------------------------------

    def label(self, ref: str, text: str | None) -> Run:
        """Give a run a label (a name to find it by; unique in the store), or clear it."""
        run = self.get(ref)
        with self._db() as db:
            if text:
                other = db.execute("SELECT id FROM runs WHERE label = ? AND id != ?", (text, run.id)).fetchone()
                if other is not None:
                    raise ScenarioError(f"label '{text}' is already run {other['id']}'s", file=self.index,
                                        fix=f"choose another label, or clear it first: runs label {other['id']} --clear")
            db.execute("UPDATE runs SET label = ? WHERE id = ?", (text or None, run.id))
        return self.get(run.id)

    def approve(self, ref: str, by: str) -> Run:
        """Mark a run approved by ``by`` (now); a run without a plan cannot be approved."""
        run = self.get(ref)
        if not run.ok:
            raise ScenarioError(f"run {run.id} holds no plan ({run.status}); it cannot be approved",
                                fix="approve a run that holds a plan")
        if run.status == "edited":
            raise ScenarioError(f"run {run.id} breaks constraints of its scenario (edited by hand); it cannot be "
                                "approved", fix="open it in the workbench, rebalance or move accounts back within "
                                                "the bands, save, and approve that run")
        if not by.strip():
            raise ScenarioError("approval needs a name", fix="give --by NAME")
        with self._db() as db:
            db.execute("UPDATE runs SET approved = 1, approved_by = ?, approved_at = ? WHERE id = ?",
                       (by.strip(), _now(), run.id))
        return self.get(run.id)

    def remove(self, ref: str) -> Run:
        """Delete a run: its index row, then its folder (renamed aside first, so it goes whole)."""
        run = self.get(ref)
        with self._db() as db:
            db.execute("DELETE FROM runs WHERE id = ?", (run.id,))
        if run.folder.is_dir():
            trash = self.root / f".{run.id}.rm.tmp"
            os.replace(run.folder, trash)
            shutil.rmtree(trash, ignore_errors=True)
        return run
