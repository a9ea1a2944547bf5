"""The scenario file: a YAML description of one planning run.

Paths inside a scenario are relative to the scenario file. Unknown keys are errors, with
the nearest valid key suggested, because a misspelt ``balanse:`` silently ignored would
give a planner an unbalanced plan they believe is balanced.

Example
-------
>>> import textwrap, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "s.yaml").write_text(textwrap.dedent('''
...     name: tiny
...     data: {accounts: a.csv, reps: r.csv}
...     balance: {potential: 0.05}
... '''))
>>> s = load_scenario(d / "s.yaml")
>>> s.name, s.balance, s.solver.backend
('tiny', {'potential': 0.05}, 'auto')
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
)

from territory_planner.errors import ScenarioError
from territory_planner.scenario.capacity import CapacitySpec
from territory_planner.scenario.changes import ChangesSpec
from territory_planner.scenario.extends import PATH_KEYS, Resolved, in_chain, resolve, yaml_lines
from territory_planner.scenario.potential import PotentialSpec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GeocodeSpec(_Strict):
    """What to do with rows that have no coordinates and cannot be placed offline (data/places.py)."""

    on_missing: Literal["error", "skip"] = Field(
        default="error", description="error: stop, naming every such row; skip: leave them out, listed in the run's notes")


class TableSpec(_Strict):
    """An input table as the CRM gives it: the file, how its columns map, where the header is.

    ``columns`` maps the planner's column name (the target: ``account_id``, ``lat``, …)
    to the file's header (the source: ``Id``, ``BillingLatitude``, …); the loader checks
    both (data/sources.py). ``sheet`` (a name, or 1 for the first sheet) and
    ``header_row`` (1-based) say where an Excel table starts; ``header_row`` also skips
    title lines above a CSV header.
    """

    file: Path = Field(description="the table: CSV, Excel, Parquet, GeoJSON or GeoPackage")
    columns: dict[str, str] = Field(default_factory=dict, description="planner column → the file's header")
    sheet: str | int | None = Field(default=None, description="Excel: the sheet's name, or its number (1 = first)")
    header_row: int | None = Field(default=None, ge=1, description="the row the header is on (1-based); rows above are skipped")
    geocode: GeocodeSpec = GeocodeSpec()

    @field_validator("sheet")
    @classmethod
    def _sheet_number(cls, v):
        if isinstance(v, int) and v < 1:
            raise ValueError(f"sheet {v} does not exist; number sheets from 1 (the first sheet), or give the sheet's name")
        return v


# A plain path, or a mapping with `file:` (and columns, sheet, header_row, geocode).
TableInput = Annotated[
    Annotated[Path, Tag("path")] | Annotated[TableSpec, Tag("table")],
    Discriminator(lambda v: "table" if isinstance(v, dict | TableSpec) else "path"),
]


class DataSpec(_Strict):
    accounts: TableInput = Field(description="accounts file (CSV, Excel, Parquet, GeoJSON or GeoPackage), "
                                             "or {file, columns, sheet, header_row, geocode}")
    reps: TableInput | None = Field(default=None, description="reps (headcount) file, or {file, columns, …}; "
                                                              "optional only with territories.centers: choose")
    units: Path | None = Field(default=None, description="geographic units (polygons with unit_id)")

    def table(self, key: Literal["accounts", "reps"]) -> TableSpec | None:
        """``accounts`` or ``reps`` as a :class:`TableSpec` (a plain path: its file, nothing mapped)."""
        value = getattr(self, key)
        return value if isinstance(value, TableSpec) or value is None else TableSpec(file=value)


class TerritoriesSpec(_Strict):
    centers: Literal["reps", "choose"] = "reps"
    count: int | Literal["auto"] | None = None
    capacity: float | None = None
    candidates: Path | None = Field(default=None, description="centers: choose — candidate sites (site_id + coordinates); default every account")

    @field_validator("count")
    @classmethod
    def _positive_count(cls, v):
        if isinstance(v, int) and v < 1:
            raise ValueError("count must be at least 1")
        return v


class ObjectiveSpec(_Strict):
    distance_weight: Literal["none", "potential", "workload"] = "workload"


class ContinuitySpec(_Strict):
    """Keep accounts with today's owner (``current_rep_id``): a floor, a penalty, or both.

    ``min_kept``: Σ_i w_i·x_{i,owner(i)} ≥ min_kept·Σ_i w_i over accounts whose owner is a
    territory, w = ``by`` (potential, accounts = 1 each, or any numeric account column).
    ``penalty``: added to the objective for every account that changes owner.
    """

    min_kept: float | None = Field(default=None, gt=0, le=1)
    by: str = "potential"
    penalty: float | None = Field(default=None, ge=0)

    @property
    def active(self) -> bool:
        return self.min_kept is not None or self.penalty is not None


class SolverSpec(_Strict):
    backend: Literal["auto", "highs", "cbc", "cpsat"] = "auto"
    time_limit: float = Field(default=60.0, gt=0)
    mip_gap: float = Field(default=0.001, ge=0, lt=1)
    seed: int = 0
    threads: int | None = Field(default=None, ge=1)
    # exact: one MIP over every pair; large: candidate pairs, LP bound over all pairs,
    # rounding, repair and kernel MIPs (optimize/large.py); auto: large above ~600,000 pairs.
    method: Literal["auto", "exact", "large"] = "auto"


class HierarchySpec(_Strict):
    """Nested balance: reps columns naming each territory's groups, outermost first."""

    levels: list[str] = Field(min_length=1)
    balance: dict[str, float] = Field(default_factory=dict)

    @field_validator("balance")
    @classmethod
    def _tolerances(cls, v: dict[str, float]) -> dict[str, float]:
        for column, tol in v.items():
            if not 0 <= tol < 1:
                raise ValueError(f"balance tolerance for '{column}' is {tol}; write it as a share between 0 and 1, e.g. 0.05 for ±5%")
        return v


class OverlaySpec(_Strict):
    """A second alignment for one role over the same accounts (specialists over generalists)."""

    role: str
    segments: list[str] | None = None
    balance: dict[str, float] = Field(default_factory=dict)
    capacity: bool = True


class Scenario(_Strict):
    """A validated scenario. ``base_dir`` is the folder the file's paths are relative to."""

    name: str
    description: str | None = None
    data: DataSpec
    geometry: Literal["geographic", "planar", "none"] = "geographic"
    territories: TerritoriesSpec = TerritoriesSpec()
    objective: ObjectiveSpec = ObjectiveSpec()
    balance: dict[str, float] = Field(default_factory=dict)
    # Potential from lookalike accounts, whitespace and coverage tiers, before planning (scenario/potential.py).
    potential: PotentialSpec | None = None
    # true/false (the constraint alone) or a capacity-planning section (scenario/capacity.py).
    capacity: Annotated[
        Annotated[bool, Tag("bool")] | Annotated[CapacitySpec, Tag("section")],
        Discriminator(lambda v: "section" if isinstance(v, dict | CapacitySpec) else "bool"),
    ] = True
    eligibility: dict[str, list[str]] | None = None
    max_distance_km: float | None = Field(default=None, gt=0)
    contiguity: bool = Field(default=False, description="every territory's units connected (needs data.units)")
    barriers: Path | None = Field(default=None, description="lines no territory may straddle (GeoJSON/GPKG; needs contiguity)")
    continuity: ContinuitySpec = ContinuitySpec()
    solver: SolverSpec = SolverSpec()
    hierarchy: HierarchySpec | None = None
    overlays: list[OverlaySpec] = Field(default_factory=list)
    changes: ChangesSpec = ChangesSpec()
    # A grid of runs: dotted scenario key → the values it takes (scenario/sweep.py).
    sweep: dict[str, list[Any]] | None = None
    base_dir: Path = Field(default=Path("."), exclude=True)
    source: Path | None = Field(default=None, exclude=True)
    parent: Path | None = Field(default=None, exclude=True, description="the file this one extends")

    @field_validator("sweep")
    @classmethod
    def _grid(cls, v):
        for key, values in (v or {}).items():
            if not values:
                raise ValueError(f"sweep key '{key}' has no values; give a list of at least one value, e.g. [0.02, 0.03]")
        return v

    @field_validator("balance")
    @classmethod
    def _tolerances(cls, v: dict[str, float]) -> dict[str, float]:
        for column, tol in v.items():
            if not 0 <= tol < 1:
                raise ValueError(
                    f"balance tolerance for '{column}' is {tol}; write it as a share of the "
                    f"mean between 0 and 1, e.g. 0.05 for ±5%"
                )
        return v

    @property
    def capacity_enforced(self) -> bool:
        """Whether territory workload must stay within rep capacity_hours."""
        return self.capacity.enforce if isinstance(self.capacity, CapacitySpec) else bool(self.capacity)

    @property
    def capacity_plan(self) -> CapacitySpec | None:
        """The capacity-planning section, or None when ``capacity`` is a plain true/false."""
        return self.capacity if isinstance(self.capacity, CapacitySpec) else None

    def path(self, p: Path) -> Path:
        """Resolve a path written in the scenario (relative to the scenario file)."""
        return p if p.is_absolute() else self.base_dir / p

    @property
    def accounts_path(self) -> Path:
        """The accounts file (``data.accounts``, or its ``file:`` when the table is a mapping)."""
        return self.path(self.data.table("accounts").file)

    @property
    def reps_path(self) -> Path | None:
        """The reps file (``data.reps``, or its ``file:``), None without one."""
        spec = self.data.table("reps")
        return self.path(spec.file) if spec is not None else None

    @property
    def units_path(self) -> Path | None:
        return self.path(self.data.units) if self.data.units else None

    @property
    def barriers_path(self) -> Path | None:
        return self.path(self.barriers) if self.barriers else None

    def with_overrides(self, **changes: Any) -> Scenario:
        """A copy with top-level keys replaced (nested dicts are merged one level deep)."""
        raw = self.model_dump(exclude={"base_dir", "source", "parent"}, exclude_none=True)
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(raw.get(key), dict) and key != "balance":
                raw[key] = {**raw[key], **value}
            else:
                raw[key] = value
        return parse_scenario(raw, base_dir=self.base_dir, source=self.source, parent=self.parent)

    def resolved(self, *, absolute: bool = False) -> dict:
        """The whole scenario as one mapping: ``extends`` merged, every default filled in.

        ``absolute``: file paths made absolute, so the mapping plans the same from any
        folder (what the run store keeps).
        """
        raw = self.model_dump(mode="json", exclude={"base_dir", "source", "parent"}, exclude_none=True)
        if absolute:
            for keys in PATH_KEYS:
                node = raw
                for k in keys[:-1]:
                    node = node.get(k) if isinstance(node, dict) else None
                if isinstance(node, dict) and isinstance(node.get(keys[-1]), str):
                    node[keys[-1]] = str(self.path(Path(node[keys[-1]])).resolve())
        return raw

    def input_paths(self) -> dict[str, Path]:
        """Every input file the scenario reads, by the key that names it."""
        out = {"data.accounts": self.accounts_path}
        for key, path in (("data.reps", self.reps_path), ("data.units", self.units_path),
                          ("barriers", self.barriers_path),
                          ("territories.candidates", self.path(self.territories.candidates) if self.territories.candidates else None),
                          ("changes.add_accounts", self.path(self.changes.add_accounts) if self.changes.add_accounts else None)):
            if path is not None:
                out[key] = path
        return out


_yaml_lines = yaml_lines


def _models_in(ann) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (through Optional, unions, dict and list values)."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return [ann]
    return [m for arg in get_args(ann) for m in _models_in(arg)]


def _keyed(ann) -> bool:
    """Whether a field holds its models in a dict or list (so the next location part is a key)."""
    if get_origin(ann) in (dict, list):
        return True
    return any(_keyed(arg) for arg in get_args(ann) if not isinstance(arg, type) or get_origin(arg) is not None)


def _model_at(loc: tuple) -> type[BaseModel] | None:
    model: Any = Scenario
    skip_key = False
    for part in loc[:-1]:
        if skip_key:
            skip_key = False
            continue
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        models = _models_in(field.annotation)
        if not models:
            return None
        model, skip_key = models[0], _keyed(field.annotation)
    return model


def _without_union_tags(loc: tuple) -> tuple:
    """Drop the tag pydantic puts after a tagged-union field (``capacity`` true/false or a
    section; ``data.accounts``/``data.reps`` a path or a table; an ``add_reps`` item, a pool
    id or a row)."""
    out: list = []
    for part in loc:
        if out == ["capacity"] and part in ("bool", "section"):
            continue
        if out in (["data", "accounts"], ["data", "reps"]) and part in ("path", "table"):
            continue
        if len(out) >= 2 and out[-2] == "add_reps" and isinstance(out[-1], int) and part in ("id", "row"):
            continue
        out.append(part)
    return tuple(out)


def _explain(err: dict, file: Path | None, lines: dict[tuple, int], resolved: Resolved | None = None) -> ScenarioError:
    loc = _without_union_tags(tuple(err["loc"]))
    key = ".".join(str(p) for p in loc)
    row = lines.get(loc) or next((lines[loc[:i]] for i in range(len(loc) - 1, 0, -1) if loc[:i] in lines), None)
    at = resolved.wrote(loc) if resolved is not None else None
    if at is not None:  # a scenario with extends: name the file of the chain that wrote the key
        file, row = at
    if err["type"] == "extra_forbidden":
        model = _model_at(loc)
        valid = [f for f in (model.model_fields if model else {}) if f not in ("base_dir", "source", "parent")]
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else "remove it"
        return ScenarioError(
            f"unknown key '{key}'",
            file=file,
            row=row,
            column=key,
            fix=f"{hint} Valid keys here: {', '.join(valid)}",
        )
    if err["type"] == "missing":
        return ScenarioError(f"required key '{key}' is missing", file=file, row=row, column=key, fix=f"add '{loc[-1]}:' to the scenario")
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return ScenarioError(
            f"'{key}' {msg[0].lower() + msg[1:]}", file=file, row=row, column=key, value=err.get("input"),
            fix=f"write one of {expected}",
        )
    # The validators above phrase their messages as "problem; how to fix it".
    problem, _, fix = msg.partition("; ")
    return ScenarioError(
        f"'{key}': {problem}", file=file, row=row, column=key, value=err.get("input"),
        fix=fix or f"set '{key}' to a valid value",
    )


def parse_scenario(
    raw: dict, *, base_dir: Path | str = ".", source: Path | None = None, text: str | None = None,
    parent: Path | None = None, resolved: Resolved | None = None,
) -> Scenario:
    """Validate a scenario given as a dict (as read from YAML, ``extends`` already merged)."""
    if not isinstance(raw, dict):
        raise ScenarioError("the scenario must be a YAML mapping of keys to values", file=source, fix="start the file with 'name: ...'")
    if "extends" in raw:
        raise ScenarioError("'extends' is resolved when a scenario file is read", file=source, column="extends",
                            fix="load the file with load_scenario(path), or merge the parent yourself")
    chain = resolved.chain if resolved is not None else [source]
    try:
        scenario = Scenario.model_validate({**raw, "base_dir": Path(base_dir), "source": source, "parent": parent})
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key also makes its right spelling "missing": name the misspelling first.
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        raise in_chain(_explain(first, source, _yaml_lines(text or ""), resolved), chain) from None
    if scenario.data.reps is None and scenario.territories.centers != "choose":
        # Only choosing centers plans without people: every other territory is a rep's.
        at = (resolved.wrote(("data",)) if resolved is not None else None) or (source, _yaml_lines(text or "").get(("data",)))
        raise in_chain(ScenarioError(
            "required key 'data.reps' is missing: one territory is built per rep", file=at[0],
            row=at[1], column="data.reps",
            fix="add 'reps: <reps file>' under data:, or use 'territories: {centers: choose, count: P, capacity: Q}' "
                "to choose P centers among the accounts without a reps file",
        ), chain)
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file; paths inside are relative to it.

    ``extends: parent.yaml`` merges the parent first (scenario/extends.py): mappings
    merge key by key, lists and values replace, ``null`` restores a key's default. An
    error names the file of the chain that wrote the offending key, and the chain.
    """
    path = Path(path)
    resolved = resolve(path)
    text = path.read_text(encoding="utf-8")
    return parse_scenario(resolved.raw, base_dir=path.parent, source=path, text=text, parent=resolved.parent,
                          resolved=resolved)
