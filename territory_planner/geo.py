"""Distances between accounts and territory centers.

The optimizer sees only cost arrays; this module turns coordinates into them.

>>> round(float(haversine_km(40.7128, -74.0060, 34.0522, -118.2437)), 0)
3936.0
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km; arguments broadcast like numpy arrays."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(a, dtype=float)) for a in (lat1, lon1, lat2, lon2))
    dlat = lat2 - lat1
    dlon = lon2 - lon1
    a = np.sin(dlat / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def euclidean(x1, y1, x2, y2) -> np.ndarray:
    """Planar distance in the units of the coordinates; arguments broadcast."""
    return np.hypot(np.asarray(x1, float) - np.asarray(x2, float), np.asarray(y1, float) - np.asarray(y2, float))


def distance_matrix(points_a: np.ndarray, points_b: np.ndarray, geometry: str = "geographic") -> np.ndarray:
    """Dense (len(a), len(b)) matrix of distances.

    ``points_*`` are (n, 2) arrays of (lat, lon) for ``geographic`` (km, haversine) or
    (x, y) for ``planar`` (euclidean).
    """
    a = np.asarray(points_a, dtype=float)
    b = np.asarray(points_b, dtype=float)
    if geometry == "geographic":
        return haversine_km(a[:, None, 0], a[:, None, 1], b[None, :, 0], b[None, :, 1])
    if geometry == "planar":
        return euclidean(a[:, None, 0], a[:, None, 1], b[None, :, 0], b[None, :, 1])
    raise ValueError(f"geometry must be 'geographic' or 'planar', not {geometry!r}")


def coordinate_columns(geometry: str) -> tuple[str, str]:
    """The (first, second) coordinate column names used for a geometry."""
    return ("lat", "lon") if geometry == "geographic" else ("x", "y")
