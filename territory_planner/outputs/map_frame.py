"""The plan reduced to what the map draws: the first step of Plan → map HTML.

:class:`PlanFrame` turns a :class:`~territory_planner.plan.Plan` into the tables the
map draws (account coordinates and territory positions, one row per territory with its
KPIs, balance bands, vacant seats and moved accounts, home bases, display coordinates for
planar plans). The other map modules build on it: ``map_outlines`` (territory polygons
and their adjacency), ``map_background`` (Census state and county lines),
``map_layers`` (Leaflet layers and popups) and ``map_legend`` (the balance legend), which
``maps.plan_map`` assembles into the page. This module also holds the map's shared
constants (palette, colours, opacity, planar extent), :func:`neighbour_colors` (the
palette given to territories so that no two neighbours share a colour) and the value
helpers every map module shares: :func:`is_missing`, :func:`html_text` (user text,
HTML-escaped) and :func:`finite_number`. It imports no other map module.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

from territory_planner.errors import InputError
from territory_planner.plan import Plan

#: Qualitative palette for territories, used in territory order; beyond 40 territories
#: :func:`neighbour_colors` reuses colours, never on two neighbouring territories.
#: Tableau 10 (without its grey) first, then colours added greedily to maximise the
#: smallest CIELAB distance to those already chosen (lightness 30–82, chroma > 30, so
#: none is washed out on a white map). Smallest pairwise ΔE*ab: 30 among the first 30,
#: 28 among all 40.
PALETTE: tuple[str, ...] = (
    "#4E79A7", "#F28E2B", "#E15759", "#59A14F", "#B07AA1", "#EDC948", "#76B7B2", "#FF9DA7",
    "#9C755F", "#0000FF", "#FF00D2", "#00E100", "#695AE1", "#FF0000", "#870078", "#FF0F87",
    "#FF96FF", "#A5D200", "#5A5A00", "#C30FFF", "#0F5A3C", "#00E1B4", "#873C00", "#C3C387",
    "#0096FF", "#4B3C87", "#960F4B", "#00C3FF", "#4BE169", "#C3C3FF", "#8700B4", "#879600",
    "#B40F00", "#003CF0", "#B4873C", "#FF004B", "#A587E1", "#009600", "#E15AA5", "#005A00",
)
UNASSIGNED_COLOR = "#8C8C8C"
#: A rep seat is vacant when its status is one of these (``data/reps.py`` STATUSES).
VACANT_STATUSES = ("open",)
#: Fill opacity of territory outlines (light, so accounts stay readable on top).
OUTLINE_FILL_OPACITY = 0.3
#: Map background without tiles.
BACKGROUND = "#FFFFFF"
#: Planar plans are scaled so that their larger side spans this many CRS.Simple units.
PLANAR_EXTENT = 200.0


# ------------------------------------------------------------------------ plan as arrays


class PlanFrame:
    """The plan's tables reduced to what the map draws, with missing columns tolerated.

    ``accounts`` has ``_x``/``_y`` (lon/lat or planar x/y), ``_t`` (territory position,
    −1 if unassigned), ``_from`` (for an account that changes rep, the position of the
    territory its current rep holds in this plan, −1 if none; −2 if it does not move)
    and the optional display columns; ``territories`` one row per territory in plan
    order with its KPIs. ``bands`` is the scenario's balance tolerance per activity
    (``{"potential": 0.05}``), ``vacant`` flags the territories whose seat is open, and
    ``colors`` holds one colour per territory: the palette in territory order, until the
    caller sets the colours it chose with :meth:`set_colors` (``maps.plan_map`` does,
    once, with the neighbour-distinct colours of the outlines; nothing else changes
    them). The layers and the legend read ``colors``. :meth:`to_display` turns data
    coordinates into the map's (a planar plan is scaled): a caller drawing a layer of its
    own on ``plan_map(plan)`` places it with ``PlanFrame(plan).to_display``. Raises
    ``InputError`` when the assignments lack the coordinate or territory columns.
    """

    def __init__(self, plan: Plan):
        self.planar = plan.geometry == "planar"
        # Unit plans (data.units) carry their unit polygons: outlines are those, dissolved.
        meta = plan.problem.meta if plan.problem is not None else {}
        self.unit_shapes = meta.get("units")
        accounts = plan.assignments
        territories = plan.territories
        x_col, y_col = ("x", "y") if self.planar else ("lon", "lat")
        for col in (x_col, y_col, "territory_id"):
            if col not in accounts.columns:
                raise InputError(
                    f"the plan's assignments have no '{col}' column",
                    column=col,
                    fix=f"a {plan.geometry} plan needs columns {x_col}, {y_col} and territory_id",
                )
        ids: list = list(territories["territory_id"]) if "territory_id" in territories.columns else []
        seen = set(ids)
        for tid in accounts["territory_id"]:
            if not is_missing(tid) and tid not in seen:
                ids.append(tid)
                seen.add(tid)
        self.territory_ids = ids
        self.colors = [PALETTE[i % len(PALETTE)] for i in range(len(ids))]
        position = {tid: i for i, tid in enumerate(ids)}

        acc = accounts.copy()
        acc["_x"] = pd.to_numeric(acc[x_col], errors="coerce")
        acc["_y"] = pd.to_numeric(acc[y_col], errors="coerce")
        acc = acc[np.isfinite(acc["_x"]) & np.isfinite(acc["_y"])]
        acc["_t"] = np.array([position.get(t, -1) if not is_missing(t) else -1 for t in acc["territory_id"]], dtype=np.int64)
        self.accounts = acc.reset_index(drop=True)

        terr = territories.copy() if len(territories.columns) else pd.DataFrame({"territory_id": []})
        if "territory_id" not in terr.columns:
            terr["territory_id"] = pd.Series(dtype=object)
        terr = terr.set_index("territory_id", drop=False).reindex(ids)
        terr["territory_id"] = ids
        self._fill_territory_kpis(terr)
        self.territories = terr.reset_index(drop=True)
        self.bands = {str(k): float(v) for k, v in (getattr(plan.scenario, "balance", None) or {}).items()}
        status = self.territories["status"] if "status" in self.territories.columns else pd.Series([None] * len(ids))
        self.vacant = np.array([str(s).strip().lower() in VACANT_STATUSES for s in status], dtype=bool)
        self.accounts["_from"] = self._previous_territory()

        if self.planar:
            homes = np.vstack([self.home_xy(), self.rep_home_xy()])
            xs = np.concatenate([self.accounts["_x"].to_numpy(), homes[:, 0]])
            ys = np.concatenate([self.accounts["_y"].to_numpy(), homes[:, 1]])
            xs, ys = xs[np.isfinite(xs)], ys[np.isfinite(ys)]
            self._origin = (float(xs.min()), float(ys.min())) if len(xs) else (0.0, 0.0)
            span = max(float(np.ptp(xs)), float(np.ptp(ys))) if len(xs) else 0.0
            self._scale = PLANAR_EXTENT / span if span > 0 else 1.0

    def _fill_territory_kpis(self, terr: pd.DataFrame) -> None:
        """Derive counts, totals and deviations from the accounts where columns are missing."""
        grouped = self.accounts[self.accounts["_t"] >= 0].groupby("_t")
        n_terr = len(self.territory_ids)
        if "n_accounts" not in terr.columns or terr["n_accounts"].isna().all():
            terr["n_accounts"] = grouped.size().reindex(range(n_terr), fill_value=0).to_numpy()
        for activity in ("potential", "workload"):
            if (activity not in terr.columns or terr[activity].isna().all()) and activity in self.accounts.columns:
                terr[activity] = grouped[activity].sum().reindex(range(n_terr), fill_value=0).to_numpy()
            dev = f"{activity}_dev_pct"
            if (dev not in terr.columns or terr[dev].isna().all()) and activity in terr.columns:
                values = pd.to_numeric(terr[activity], errors="coerce")
                mean = values.mean()
                terr[dev] = (values - mean) / mean * 100 if mean else np.nan

    def _previous_territory(self) -> np.ndarray:
        """Per account: −2 if it keeps its rep, else the position of the territory its
        current rep (``current_rep_id``) holds in this plan, −1 if that rep holds none."""
        acc = self.accounts
        out = np.full(len(acc), -2, dtype=np.int64)
        if "moved" not in acc.columns or "current_rep_id" not in acc.columns or not len(acc):
            return out
        moved = np.array([not is_missing(m) and bool(m) for m in acc["moved"]], dtype=bool)
        moved &= np.array([not is_missing(r) for r in acc["current_rep_id"]], dtype=bool)
        holder: dict[str, int] = {}
        if "rep_id" in self.territories.columns:
            for t, rep in enumerate(self.territories["rep_id"]):
                if not is_missing(rep):
                    holder.setdefault(str(rep), t)
        previous = np.array([holder.get(str(r), -1) for r in acc["current_rep_id"]], dtype=np.int64)
        out[moved] = previous[moved]
        return out

    def rep_label(self, t: int) -> str:
        """Territory ``t``'s rep as escaped HTML text: name, else id, else ''."""
        row = self.territories.iloc[t]
        return html_text(row.get("rep_name")) or html_text(row.get("rep_id"))

    def set_colors(self, colors) -> None:
        """Use ``colors`` (one "#RRGGBB" per territory, in territory order) everywhere."""
        colors = list(colors)
        if len(colors) != len(self.territory_ids):
            raise ValueError(f"{len(colors)} colours for {len(self.territory_ids)} territories")
        self.colors = colors

    # -- coordinates --------------------------------------------------------------------

    def to_display(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Data coordinates -> GeoJSON (lng, lat): identity for lon/lat, scaled for planar."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        if not self.planar:
            return x, y
        return (x - self._origin[0]) * self._scale, (y - self._origin[1]) * self._scale

    def home_xy(self) -> np.ndarray:
        """(n_territories, 2) home base per territory in data coordinates (x, y), NaN if none.

        Geographic: ``home_lon``/``home_lat``. Planar: ``home_x``/``home_y`` if present,
        else ``home_lat``/``home_lon`` holding (x, y) in that order, the (first, second)
        convention of ``geo.coordinate_columns``.
        """
        terr = self.territories
        if self.planar and {"home_x", "home_y"} <= set(terr.columns):
            cols = ("home_x", "home_y")
        elif self.planar:
            cols = ("home_lat", "home_lon")
        else:
            cols = ("home_lon", "home_lat")
        if not set(cols) <= set(terr.columns):
            return np.full((len(self.territory_ids), 2), np.nan)
        return np.column_stack([pd.to_numeric(terr[c], errors="coerce").to_numpy(float) for c in cols])

    def rep_home_xy(self) -> np.ndarray:
        """(n_territories, 2) where the seated rep lives today, NaN if not known.

        Only ``centers: choose`` plans with a reps file carry it (``rep_home_x``/``_y`` or
        ``rep_home_lon``/``_lat``): the rep moves from there to the territory's home base.
        """
        terr = self.territories
        cols = ("rep_home_x", "rep_home_y") if self.planar else ("rep_home_lon", "rep_home_lat")
        if not set(cols) <= set(terr.columns):
            return np.full((len(self.territory_ids), 2), np.nan)
        return np.column_stack([pd.to_numeric(terr[c], errors="coerce").to_numpy(float) for c in cols])

    def center(self) -> list[float]:
        lng, lat = self.to_display(self.accounts["_x"], self.accounts["_y"])
        if not len(lng):
            return [0.0, 0.0]
        return [float((lat.min() + lat.max()) / 2), float((lng.min() + lng.max()) / 2)]

    def bounds(self) -> list[list[float]]:
        """[[south, west], [north, east]] of accounts and homes, in display coordinates."""
        homes = np.vstack([self.home_xy(), self.rep_home_xy()])
        xs = np.concatenate([self.accounts["_x"].to_numpy(float), homes[:, 0]])
        ys = np.concatenate([self.accounts["_y"].to_numpy(float), homes[:, 1]])
        ok = np.isfinite(xs) & np.isfinite(ys)
        if not ok.any():
            return [[-1.0, -1.0], [1.0, 1.0]]
        lng, lat = self.to_display(xs[ok], ys[ok])
        return [[float(lat.min()), float(lng.min())], [float(lat.max()), float(lng.max())]]


def neighbour_colors(neighbours, palette=PALETTE, fixed=None) -> list[str]:
    """One palette colour per territory such that no two neighbouring territories share one.

    ``neighbours[t]`` is the set of territories touching territory ``t`` (the adjacency
    graph of the outlines, ``map_outlines.territory_adjacency``). Greedy colouring in
    territory order (Welsh & Powell 1967 style, order fixed so the result is
    deterministic), where each territory first tries its own palette entry ``t mod k``:

    * up to ``k = len(palette)`` territories every territory keeps its own colour, so
      the legend identifies a territory by its colour; distinct colours are trivially
      neighbour-distinct;
    * beyond ``k``, a territory whose own colour a neighbour already has takes another:
      preferably one that no neighbour will want as its own and no neighbour's neighbour
      has, the least used so far, so colours stay spread over the palette.

    ``fixed`` (``{position: "#RRGGBB"}``, written as the palette writes its colours) gives
    some territories their colour beforehand, e.g. the colours a territory has on another
    plan's map: those are kept as given, and every other territory avoids the colours of
    all its neighbours, fixed or not.

    The colour classes of networkx's ``greedy_color`` would do for the guarantee alone,
    but recolour every map with 5–6 colours, losing the properties above. Neighbours
    are guaranteed distinct whenever a territory touches fewer than ``k`` others (always
    on a map: planar adjacency averages below 6 neighbours), fixed colours excepted: two
    neighbours fixed to one colour keep it.

    >>> neighbour_colors([{1}, {0, 2}, {1}], palette=("#A", "#B"))
    ['#A', '#B', '#A']
    >>> neighbour_colors([{2}, set(), {0}], palette=("#A", "#B"))  # 2 would repeat #A next to 0
    ['#A', '#B', '#B']
    >>> neighbour_colors([{1}, {0}], palette=("#A", "#B"), fixed={1: "#A"})  # 0 makes way
    ['#B', '#A']
    """
    k = len(palette)
    n = len(neighbours)
    fixed = dict(fixed or {})
    chosen: list[str | None] = [fixed.get(t) for t in range(n)]
    position = {color: c for c, color in enumerate(palette)}
    used = [0] * k
    for color in chosen:
        if color in position:
            used[position[color]] += 1
    for t in range(n):
        if t in fixed:
            continue
        near = [u for u in neighbours[t] if u != t]
        taken = {chosen[u] for u in near if chosen[u] is not None}
        claimed = {palette[u % k] for u in near if chosen[u] is None}  # a later neighbour's own colour
        if palette[t % k] not in taken:
            choice = t % k
        else:
            ring = {chosen[v] for u in near for v in neighbours[u] if v != t and chosen[v] is not None}
            options = ([c for c in range(k) if palette[c] not in taken | claimed | ring]
                       or [c for c in range(k) if palette[c] not in taken | claimed]
                       or [c for c in range(k) if palette[c] not in taken]
                       or list(range(k)))
            choice = min(options, key=lambda c: (used[c], c))
        chosen[t] = palette[choice]
        used[choice] += 1
    return chosen


def is_missing(value) -> bool:
    """Whether ``value`` is None, NaN, NA or NaT (a scalar); never raises, False for list-likes."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-likes are not "missing"
        return False


def html_text(value) -> str:
    """A user-supplied value as HTML-escaped text, quotes too ('' when missing).

    Every string from the planner's data goes through it before it reaches the page.

    >>> html_text('<b>"A&B"</b>')
    '&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;'
    """
    return "" if is_missing(value) else html.escape(str(value), quote=True)


def finite_number(value) -> float | None:
    """``value`` as a finite float, else None (missing, NaN, ±inf or not a number); never raises."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
