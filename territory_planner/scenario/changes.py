"""The ``changes:`` section: the edits a manager asks for, applied to the loaded inputs.

>>> spec = ChangesSpec.model_validate({"remove_reps": ["R017"], "lock": {"top": 50}})
>>> spec.remove_reps, spec.lock.by, spec.empty
(['R017'], 'potential', False)
>>> spec.describe()
['reps leave: R017', "top 50 accounts by potential stay with today's owner"]

``add_reps`` items are either a whole rep row (a mapping with ``rep_id``) or the id of a
row given once in ``rep_pool``, so a sweep can switch reps on and off by id:
``sweep: {changes.add_reps: [[], [TX-NEW1]]}``. A new rep's home comes from its
``lat``/``lon`` (``x``/``y`` under planar geometry), else its ``postal_code``, else its
``city`` + ``state``, looked up offline. Applying the changes is
:func:`territory_planner.data.changes.apply_changes`.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)


def _id_list(v):
    """Ids as text: YAML reads ``[1001, A7]`` as a number and a text."""
    return [str(x).strip() for x in v] if isinstance(v, list) else v


def _duplicate(ids: list[str]) -> str | None:
    seen: set[str] = set()
    return next((i for i in ids if i in seen or seen.add(i)), None)


class NewRep(BaseModel):
    """A rep who joins: any reps-file column may be given (extra keys become columns)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    rep_id: str = Field(min_length=1)
    name: str | None = None
    role: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    x: float | None = None
    y: float | None = None
    postal_code: str | None = None
    city: str | None = None
    state: str | None = None
    capacity_hours: float | None = Field(default=None, gt=0, description="blank: the team's median")
    quota: float | None = Field(default=None, ge=0)
    status: str = "open"

    @field_validator("rep_id", mode="before")
    @classmethod
    def _id_text(cls, v):
        return str(v).strip() if isinstance(v, int | str) else v

    @field_validator("postal_code", mode="before")
    @classmethod
    def _zip_text(cls, v):
        if v is None or isinstance(v, str):
            return None if v is None else v.strip()
        if isinstance(v, int) and not isinstance(v, bool) and v >= 10000:
            return str(v)
        # YAML 1.1 reads 02116 as the octal number 1102: the ZIP cannot be recovered.
        raise ValueError(f"{v!r} is not a ZIP code as written; write ZIP codes in quotes, "
                         f"e.g. postal_code: \"02116\" (YAML reads a leading 0 as an octal number)")


class LockSpec(BaseModel):
    """Accounts that stay with today's owner: the ``top`` N by a column, and/or named ones.

    ``top`` counts among the accounts whose current owner is still in the team (after
    ``remove_reps``); ties are broken by account id, so the same accounts every run.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    top: int | None = Field(default=None, ge=1)
    by: str = "potential"
    accounts: list[str] = Field(default_factory=list)

    _ids = field_validator("accounts", mode="before")(classmethod(lambda cls, v: _id_list(v)))

    @field_validator("by")
    @classmethod
    def _ranks(cls, v):
        if v == "accounts":
            raise ValueError("'accounts' ranks nothing; rank by a numeric accounts column, "
                             "e.g. by: potential (or name the accounts under lock.accounts)")
        return v

    @model_validator(mode="after")
    def _something(self):
        if self.top is None and not self.accounts:
            raise ValueError("lock names no accounts; give 'top: N' (e.g. top: 50, by: potential) or 'accounts: [id, …]'")
        return self


#: An ``add_reps`` item: a rep_pool id, or a whole row (errors then point into the row).
RepItem = Annotated[Annotated[str, Tag("id")] | Annotated[NewRep, Tag("row")],
                    Discriminator(lambda v: "row" if isinstance(v, dict | NewRep) else "id")]


class ChangesSpec(BaseModel):
    """What changes against the inputs as loaded (or, in a re-plan, against the run)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    remove_reps: list[str] = Field(default_factory=list, description="reps who leave; their accounts are re-planned")
    # rep_pool before add_reps: pydantic validates fields in this order, and add_reps reads the pool.
    rep_pool: list[NewRep] = Field(default_factory=list, description="rep rows that add_reps (and sweeps) name by id")
    add_reps: list[RepItem] = Field(default_factory=list, description="reps who join: rows, or ids of rep_pool rows")
    lock: LockSpec | None = None
    exclude_accounts: list[str] = Field(default_factory=list, description="accounts closed or out of scope")
    add_accounts: Path | None = Field(default=None, description="a file of new accounts, the accounts file's columns")

    _ids = field_validator("remove_reps", "exclude_accounts", mode="before")(classmethod(lambda cls, v: _id_list(v)))

    @field_validator("rep_pool")
    @classmethod
    def _pool_once(cls, v: list[NewRep]):
        twice = _duplicate([r.rep_id for r in v])
        if twice:
            raise ValueError(f"rep '{twice}' is listed twice; give each pool rep one row")
        return v

    @field_validator("add_reps", mode="before")
    @classmethod
    def _rep_ids(cls, v):
        return [str(x) if isinstance(x, int) and not isinstance(x, bool) else x for x in v] if isinstance(v, list) else v

    @field_validator("add_reps")
    @classmethod
    def _known_ids(cls, v: list, info: ValidationInfo):
        pool = [r.rep_id for r in info.data.get("rep_pool", [])]
        for item in v:
            if isinstance(item, str) and item not in pool:
                close = difflib.get_close_matches(item, pool, n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise ValueError(f"'{item}' is not a rep_id of changes.rep_pool; {hint}give its row under rep_pool "
                                 f"(rep ids there: {', '.join(sorted(pool)) or 'none'}), or write the row in add_reps")
        twice = _duplicate([item if isinstance(item, str) else item.rep_id for item in v])
        if twice:
            raise ValueError(f"rep '{twice}' is added twice; list each new rep once")
        return v

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
            out.append("reps join: " + ", ".join(_where(r) for r in self.new_reps()))
        if self.lock is not None:
            parts = ([f"top {self.lock.top} accounts by {self.lock.by}"] if self.lock.top else []) + (
                [f"{_few(self.lock.accounts)}"] if self.lock.accounts else [])
            out.append(" and ".join(parts) + " stay with today's owner")
        if self.exclude_accounts:
            out.append(f"accounts excluded: {_few(self.exclude_accounts)}")
        if self.add_accounts:
            out.append(f"accounts added from {self.add_accounts}")
        return out


def _where(rep: NewRep) -> str:
    """``TX-NEW1 (Dallas, TX)``: a new rep and where they sit, as the file says it."""
    place = (f"{rep.city}, {rep.state}" if rep.city and rep.state else f"ZIP {rep.postal_code}" if rep.postal_code
             else None)
    return f"{rep.rep_id} ({place})" if place else rep.rep_id


def _few(ids: list[str], n: int = 5) -> str:
    """``A1, A2, A3 and 4 more``."""
    head = ", ".join(ids[:n])
    return head + (f" and {len(ids) - n} more" if len(ids) > n else "")
