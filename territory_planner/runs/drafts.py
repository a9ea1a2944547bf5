"""Drafts: the edits a planner makes to a stored run, kept in the run store as they are made.

A draft is a run opened for editing (the workbench's working copy). It never changes the
run: it is the run's id plus a journal of edits, each one a row of ``draft_edits`` in the
store's index (``runs/runs.sqlite``), committed before the edit is acknowledged. A server
restart or a closed browser tab therefore loses nothing: the draft's state is the run's
plan with its edits replayed.

Undo and redo move a cursor (``position``) through the journal; a new edit after an undo
drops the edits past the cursor (as every editor does). Each change, undo and redo
included, raises the draft's ``version``; a writer states the version it saw, and a
stale one changes nothing (:class:`StaleDraftError`), so two tabs cannot overwrite each
other's work unseen.

An edit is a JSON object with a ``kind`` (``move``, ``lock``, ``rebalance``) and
whatever its kind records; this module stores them and does not interpret them.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from territory_planner.errors import ScenarioError
from territory_planner.runs.store import RunStore

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS drafts (id TEXT PRIMARY KEY, base_run TEXT NOT NULL, created_at TEXT NOT NULL, "
    "updated_at TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0, position INTEGER NOT NULL DEFAULT 0, "
    "saved_run TEXT, state TEXT NOT NULL DEFAULT '{}')",
    "CREATE TABLE IF NOT EXISTS draft_edits (draft_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, "
    "payload TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (draft_id, seq))",
    "CREATE INDEX IF NOT EXISTS drafts_base ON drafts (base_run, updated_at)",
)


class StaleDraftError(ScenarioError):
    """A change was asked of a draft at a version it no longer has."""


def stale(current: int, given: int) -> StaleDraftError:
    """The error of a change asked at version ``given`` of a draft now at ``current``."""
    return StaleDraftError(f"stale edit: the plan has changed since this request was made (it is at version "
                           f"{current}, the request was made at version {given})",
                           fix="reload the plan and make the edit again")


def _now() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Draft:
    """A draft as stored: its run, version, cursor and the journal up to the cursor."""

    id: str
    base_run: str
    created_at: str
    updated_at: str
    version: int
    position: int  # edits[:position] are applied; edits[position:] can be redone
    saved_run: str | None
    edits: tuple[dict, ...]  # the whole journal (redo tail included)

    @property
    def applied(self) -> tuple[dict, ...]:
        return self.edits[: self.position]

    @property
    def can_undo(self) -> bool:
        return self.position > 0

    @property
    def can_redo(self) -> bool:
        return self.position < len(self.edits)


class Drafts:
    """The drafts of a :class:`RunStore` (tables beside its ``runs`` table)."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        with self._db() as db:
            for sql in _SCHEMA:
                db.execute(sql)

    @contextmanager
    def _db(self) -> Iterator:
        with self.store._db() as db:  # noqa: SLF001 — one index file, one connection policy
            yield db

    def create(self, base_run: str) -> Draft:
        """A new, empty draft of the run ``base_run`` (an id of the store)."""
        run = self.store.get(base_run)
        draft_id = f"d-{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        now = _now()
        with self._db() as db:
            db.execute("INSERT INTO drafts (id, base_run, created_at, updated_at) VALUES (?, ?, ?, ?)",
                       (draft_id, run.id, now, now))
        return self.get(draft_id)

    def get(self, draft_id: str) -> Draft:
        with self._db() as db:
            row = db.execute("SELECT * FROM drafts WHERE id = ?", (draft_id,)).fetchone()
            if row is None:
                raise ScenarioError(f"no draft '{draft_id}' in the store", file=self.store.index,
                                    fix="open a run to start a new draft")
            edits = db.execute("SELECT payload FROM draft_edits WHERE draft_id = ? ORDER BY seq",
                               (draft_id,)).fetchall()
        return Draft(row["id"], row["base_run"], row["created_at"], row["updated_at"], row["version"],
                     row["position"], row["saved_run"], tuple(json.loads(e["payload"]) for e in edits))

    def latest(self, base_run: str | None = None) -> Draft | None:
        """The draft changed last (of ``base_run`` if given) whose run is still in the store
        and that was not saved (a saved draft's work is its run; editing goes on in a draft
        of that run)."""
        sql = "SELECT d.id FROM drafts d JOIN runs r ON r.id = d.base_run WHERE d.saved_run IS NULL"
        args: tuple = ()
        if base_run is not None:
            sql += " AND d.base_run = ?"
            args = (base_run,)
        with self._db() as db:
            row = db.execute(sql + " ORDER BY d.updated_at DESC, d.id DESC LIMIT 1", args).fetchone()
        return self.get(row["id"]) if row is not None else None

    def _check(self, db, draft_id: str, version: int):
        row = db.execute("SELECT version, position FROM drafts WHERE id = ?", (draft_id,)).fetchone()
        if row is None:
            raise ScenarioError(f"no draft '{draft_id}' in the store", file=self.store.index,
                                fix="open a run to start a new draft")
        if row["version"] != version:
            raise stale(row["version"], version)
        return row

    def append(self, draft_id: str, version: int, edit: dict) -> Draft:
        """Add ``edit`` at the cursor (dropping the redo tail) if the draft is at ``version``."""
        payload = json.dumps(edit, sort_keys=True, allow_nan=False)
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            row = self._check(db, draft_id, version)
            position = row["position"]
            db.execute("DELETE FROM draft_edits WHERE draft_id = ? AND seq >= ?", (draft_id, position))
            db.execute("INSERT INTO draft_edits (draft_id, seq, kind, payload, created_at) VALUES (?, ?, ?, ?, ?)",
                       (draft_id, position, str(edit.get("kind", "")), payload, _now()))
            db.execute("UPDATE drafts SET position = ?, version = version + 1, updated_at = ? WHERE id = ?",
                       (position + 1, _now(), draft_id))
        return self.get(draft_id)

    def step(self, draft_id: str, version: int, delta: int) -> Draft:
        """Undo (``delta`` −1) or redo (+1) one edit if the draft is at ``version``."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            row = self._check(db, draft_id, version)
            count = db.execute("SELECT COUNT(*) FROM draft_edits WHERE draft_id = ?", (draft_id,)).fetchone()[0]
            position = row["position"] + delta
            if not 0 <= position <= count:
                word = "undo" if delta < 0 else "redo"
                raise ScenarioError(f"nothing to {word}", fix="make an edit first" if delta < 0 else
                                    "redo follows an undo; there is no undone edit")
            db.execute("UPDATE drafts SET position = ?, version = version + 1, updated_at = ? WHERE id = ?",
                       (position, _now(), draft_id))
        return self.get(draft_id)

    def discard(self, draft_id: str) -> None:
        """Delete a draft that holds no edit (one created for a run that could not be opened)."""
        with self._db() as db:
            if db.execute("SELECT COUNT(*) FROM draft_edits WHERE draft_id = ?", (draft_id,)).fetchone()[0] == 0:
                db.execute("DELETE FROM drafts WHERE id = ?", (draft_id,))

    def mark_saved(self, draft_id: str, run_id: str) -> None:
        with self._db() as db:
            db.execute("UPDATE drafts SET saved_run = ?, updated_at = ? WHERE id = ?", (run_id, _now(), draft_id))

    def touch(self, draft_id: str) -> None:
        """Make ``draft_id`` the latest (the one a restart reopens)."""
        with self._db() as db:
            db.execute("UPDATE drafts SET updated_at = ? WHERE id = ?", (_now(), draft_id))
