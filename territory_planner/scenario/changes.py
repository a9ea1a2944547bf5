"""The ``changes:`` section: the edits a manager asks for, applied to the loaded inputs.

>>> spec = ChangesSpec.model_validate({"remove_reps": ["R017"], "lock": {"top": 50}})
>>> spec.remove_reps, spec.lock.by, spec.empty
(['R017'], 'potential', False)

``add_reps`` items are either a whole rep row (a mapping with ``rep_id``) or the id of a
row given once in ``rep_pool``, so a sweep can switch reps on and off by id:
``sweep: {changes.add_reps: [[], [TX-NEW1]]}``. A new rep's home comes from its
``lat``/``lon`` (``x``/``y`` under planar geometry), else its ``postal_code``, else its
``city`` + ``state``, looked up offline. Applying the changes is
:func:`territory_planner.data.changes.apply_changes`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class NewRep(BaseModel):
    """A rep who joins: any reps-file column may be given (extra keys become columns)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    rep_id: str = Field(min_length=1)
    name: str | None = None
    role: str | None = None
    lat: float | None = None
    lon: float | None = None
    x: float | None = None
    y: float | None = None
    postal_code: str | None = None
    city: str | None = None
    state: str | None = None
    capacity_hours: float | None = Field(default=None, gt=0, description="blank: the team's median")
    quota: float | None = Field(default=None, ge=0)
    status: str = "open"

    @field_validator("postal_code", mode="before")
    @classmethod
    def _zip_text(cls, v):
        # YAML reads 02116 as text but 75201 as a number: a ZIP is always text.
        return None if v is None else str(v).strip().zfill(5) if isinstance(v, int) else str(v).strip()


class LockSpec(BaseModel):
    """Accounts that stay with today's owner: the ``top`` N by a column, and/or named ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    top: int | None = Field(default=None, ge=1)
    by: str = "potential"
    accounts: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self):
        if self.top is None and not self.accounts:
            raise ValueError("lock names no accounts; give 'top: N' (e.g. top: 50, by: potential) or 'accounts: [id, …]'")
        return self


class ChangesSpec(BaseModel):
    """What changes against the inputs as loaded (or, in a re-plan, against the run)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    remove_reps: list[str] = Field(default_factory=list, description="reps who leave; their accounts are re-planned")
    add_reps: list[str | NewRep] = Field(default_factory=list, description="reps who join: rows, or ids of rep_pool rows")
    rep_pool: list[NewRep] = Field(default_factory=list, description="rep rows that add_reps (and sweeps) name by id")
    lock: LockSpec | None = None
    exclude_accounts: list[str] = Field(default_factory=list, description="accounts closed or out of scope")
    add_accounts: Path | None = Field(default=None, description="a file of new accounts, the accounts file's columns")

    @field_validator("remove_reps", "exclude_accounts", mode="before")
    @classmethod
    def _ids(cls, v):
        return [str(x) for x in v] if isinstance(v, list) else v

    @model_validator(mode="after")
    def _known_ids(self):
        pool = {r.rep_id for r in self.rep_pool}
        for item in self.add_reps:
            if isinstance(item, str) and item not in pool:
                have = ", ".join(sorted(pool)) or "none"
                raise ValueError(f"add_reps names '{item}', which is not in changes.rep_pool; "
                                 f"give its row under rep_pool (rep ids there: {have}), or write the row in add_reps")
        return self

    @property
    def empty(self) -> bool:
        return not (self.remove_reps or self.add_reps or self.lock or self.exclude_accounts or self.add_accounts)

    def new_reps(self) -> list[NewRep]:
        """The rows of the reps who join, ids looked up in ``rep_pool``."""
        pool = {r.rep_id: r for r in self.rep_pool}
        return [pool[item] if isinstance(item, str) else item for item in self.add_reps]

    def describe(self) -> list[str]:
        """One short line per change, for summaries and ``scenarios list``."""
        out = []
        if self.remove_reps:
            out.append("reps leave: " + ", ".join(self.remove_reps))
        if self.add_reps:
            out.append("reps join: " + ", ".join(r.rep_id for r in self.new_reps()))
        if self.lock is not None:
            parts = ([f"top {self.lock.top} by {self.lock.by}"] if self.lock.top else []) + (
                [f"{len(self.lock.accounts)} named"] if self.lock.accounts else [])
            out.append("locked with today's owner: " + " + ".join(parts))
        if self.exclude_accounts:
            out.append(f"accounts excluded: {len(self.exclude_accounts)}")
        if self.add_accounts:
            out.append(f"accounts added from {self.add_accounts}")
        return out
