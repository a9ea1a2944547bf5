"""The plan reduced to what the map draws: the first step of Plan → map HTML.

:class:`PlanFrame` turns a :class:`~territory_planner.plan.Plan` into the tables the
map draws (account coordinates and territory positions, one row per territory with its
KPIs, home bases, display coordinates for planar plans). The other map modules build on
it: ``map_outlines`` (territory polygons) and ``map_layers`` (Leaflet layers, popups,
legend), which ``maps.plan_map`` assembles into the page. This module also holds the
map's shared constants (palette, colours, opacity, planar extent) and the helpers
``_missing`` / ``_text`` (HTML escaping) / ``_number`` the popups use; it imports no
other map module.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

from territory_planner.errors import InputError
from territory_planner.plan import Plan

#: Qualitative palette for territories, used in territory order and cycled beyond 40.
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
    −1 if unassigned) and the optional display columns; ``territories`` one row per
    territory in plan order with its KPIs. :meth:`to_display` turns data coordinates
    into the map's (a planar plan is scaled): a caller drawing a layer of its own on
    ``plan_map(plan)`` places it with ``PlanFrame(plan).to_display``. Raises
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
            if not _missing(tid) and tid not in seen:
                ids.append(tid)
                seen.add(tid)
        self.territory_ids = ids
        self.colors = [PALETTE[i % len(PALETTE)] for i in range(len(ids))]
        position = {tid: i for i, tid in enumerate(ids)}

        acc = accounts.copy()
        acc["_x"] = pd.to_numeric(acc[x_col], errors="coerce")
        acc["_y"] = pd.to_numeric(acc[y_col], errors="coerce")
        acc = acc[np.isfinite(acc["_x"]) & np.isfinite(acc["_y"])]
        acc["_t"] = [position.get(t, -1) if not _missing(t) else -1 for t in acc["territory_id"]]
        self.accounts = acc.reset_index(drop=True)

        terr = territories.copy() if len(territories.columns) else pd.DataFrame({"territory_id": []})
        if "territory_id" not in terr.columns:
            terr["territory_id"] = pd.Series(dtype=object)
        terr = terr.set_index("territory_id", drop=False).reindex(ids)
        terr["territory_id"] = ids
        self._fill_territory_kpis(terr)
        self.territories = terr.reset_index(drop=True)

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


def _missing(value) -> bool:
    """None, NaN, NA or NaT (a scalar); never raises."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-likes are not "missing"
        return False


def _text(value) -> str:
    """A user-supplied value as HTML-escaped text ('' when missing)."""
    return "" if _missing(value) else html.escape(str(value), quote=True)


def _number(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
