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


class PairDistances:
    """Distances computed on demand: ``d[rows, cols]`` gives what a dense matrix would.

    Used where a dense (n, k) matrix would not fit (the large-instance path); indexes
    broadcast like numpy fancy indexing.
    """

    def __init__(self, points_a: np.ndarray, points_b: np.ndarray, geometry: str = "geographic") -> None:
        if geometry not in ("geographic", "planar"):
            raise ValueError(f"geometry must be 'geographic' or 'planar', not {geometry!r}")
        self.a = np.asarray(points_a, dtype=float)
        self.b = np.asarray(points_b, dtype=float)
        self.geometry = geometry

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.a), len(self.b))

    def __getitem__(self, index) -> np.ndarray:
        rows, cols = index
        a, b = self.a[rows], self.b[cols]
        if self.geometry == "geographic":
            return haversine_km(a[..., 0], a[..., 1], b[..., 0], b[..., 1])
        return euclidean(a[..., 0], a[..., 1], b[..., 0], b[..., 1])


def coordinate_columns(geometry: str) -> tuple[str, str]:
    """The (first, second) coordinate column names used for a geometry (lat/lon for none)."""
    return ("x", "y") if geometry == "planar" else ("lat", "lon")


# --------------------------------------------------------------------------- unit adjacency


def unit_adjacency(polygons, *, rule: str = "rook", tolerance: float | None = None):
    """Adjacency graph of polygons: node i = polygon i, an edge where two polygons touch.

    ``rule="rook"`` links polygons that share a stretch of border; ``"queen"`` also links
    polygons that meet at a single point (the diagonal neighbours of a grid). Borders
    are compared with a ``tolerance`` (default 10⁻⁶ of the extent) so that simplified
    boundaries with slivers or hairline gaps still count as touching.

    >>> import shapely
    >>> cells = [shapely.box(x, y, x + 1, y + 1) for y in range(2) for x in range(2)]
    >>> sorted(unit_adjacency(cells).edges()), unit_adjacency(cells, rule="queen").number_of_edges()
    ([(0, 1), (0, 2), (1, 3), (2, 3)], 6)
    """
    import networkx as nx
    import shapely

    if rule not in ("rook", "queen"):
        raise ValueError(f"adjacency rule must be 'rook' or 'queen', not {rule!r}")
    shapes = np.asarray(polygons, dtype=object)
    graph = nx.Graph()
    graph.add_nodes_from(range(len(shapes)))
    if len(shapes) < 2:
        return graph
    if tolerance is None:
        x0, y0, x1, y1 = shapely.total_bounds(shapes)
        tolerance = 1e-6 * max(x1 - x0, y1 - y0, 1e-12)
    tree = shapely.STRtree(shapes)
    a, b = tree.query(shapes, predicate="dwithin", distance=tolerance)
    keep = a < b
    a, b = a[keep], b[keep]
    if rule == "rook" and len(a):
        # A shared border of positive length: the part of a's boundary within the
        # tolerance of b is longer than the few tolerance-lengths a corner contact gives.
        near = shapely.intersection(shapely.boundary(shapes[a]), shapely.buffer(shapes[b], tolerance))
        shared = shapely.length(near) > 8 * tolerance
        a, b = a[shared], b[shared]
    graph.add_edges_from(zip(a.tolist(), b.tolist(), strict=True), virtual=False)
    return graph


def drop_barrier_edges(graph, points_xy: np.ndarray, barriers) -> list[tuple[int, int]]:
    """Remove (in place) every edge whose two units a barrier line separates.

    A barrier separates units u and v when the straight segment between their
    representative points (``points_xy[u]`` → ``points_xy[v]``, x/y or lon/lat) crosses a
    barrier line. Rivers, mountain ridges and highways usually run *along* unit borders,
    so the segment between two neighbours crosses them exactly where their shared border
    does; a barrier that only cuts through the middle of one unit leaves that unit's
    edges in place (the unit straddles it). Virtual edges are cut by the same rule.
    Returns the removed edges.
    """
    import shapely

    lines = [g for g in np.asarray(barriers, dtype=object).ravel() if g is not None and not shapely.is_empty(g)]
    edges = list(graph.edges())
    if not lines or not edges:
        return []
    pts = np.asarray(points_xy, dtype=float)
    u, v = np.array(edges).T
    segments = shapely.linestrings(np.stack([pts[u], pts[v]], axis=1))
    tree = shapely.STRtree(np.asarray(lines, dtype=object))
    seg_index, _ = tree.query(segments, predicate="intersects")
    cut = [edges[i] for i in np.unique(seg_index)]
    graph.remove_edges_from(cut)
    return cut


def connect_components(graph, points: np.ndarray, geometry: str = "geographic", *, mode: str = "delaunay") -> list[tuple[int, int]]:
    """Join the graph's components by *virtual* edges (in place) so that it is connected.

    Islands and units whose neighbours are missing from the file (e.g. counties without
    accounts) would otherwise make contiguity infeasible. Candidate virtual edges are the
    edges of the Delaunay triangulation of the unit points (lat/lon or x/y, ``geometry``
    as for :func:`distance_matrix`) that join two different components: the units that
    face each other across the gap. ``mode="delaunay"`` (default) adds all of them, as
    if the missing units between were there to be assigned; ``mode="tree"`` adds only a
    minimum spanning tree of them (each component joined to its nearest other
    component, and no more edges than needed), which is far more restrictive. Returns
    the added edges (also marked ``virtual=True`` on the graph).
    """
    import networkx as nx

    components = list(nx.connected_components(graph))
    if len(components) <= 1:
        return []
    label = np.empty(graph.number_of_nodes(), dtype=int)
    for c, nodes in enumerate(components):
        label[list(nodes)] = c
    pts = np.asarray(points, dtype=float)
    u, v = _delaunay_edges(pts)
    between = label[u] != label[v]
    u, v = u[between], v[between]
    weight = _pair_distance(pts[u], pts[v], geometry)
    if mode == "delaunay":
        added = list(zip(u.tolist(), v.tolist(), strict=True))
        graph.add_edges_from(added, virtual=True)
        return added
    if mode != "tree":
        raise ValueError(f"mode must be 'delaunay' or 'tree', not {mode!r}")
    contracted = nx.Graph()
    contracted.add_nodes_from(range(len(components)))
    for a, b, w in sorted(zip(u.tolist(), v.tolist(), weight.tolist(), strict=True), key=lambda e: -e[2]):
        ca, cb = label[a], label[b]
        contracted.add_edge(ca, cb, weight=w, pair=(a, b))  # the shortest pair wins (added last)
    added = []
    for _, _, data in nx.minimum_spanning_edges(contracted, data=True):
        a, b = data["pair"]
        graph.add_edge(a, b, virtual=True)
        added.append((a, b))
    return added


def _delaunay_edges(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges of the Delaunay triangulation of ``points`` (all pairs when fewer than 4)."""
    n = len(points)
    if n < 4 or np.linalg.matrix_rank(points - points.mean(axis=0)) < 2:
        i, j = np.triu_indices(n, 1)
        return i, j
    from scipy.spatial import Delaunay

    tri = Delaunay(points, qhull_options="QJ")  # QJ: joggle, so repeated points are fine
    simplices = tri.simplices
    pairs = np.vstack([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]])
    pairs = np.unique(np.sort(pairs, axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def _pair_distance(a: np.ndarray, b: np.ndarray, geometry: str) -> np.ndarray:
    """Distance between a[i] and b[i] for each i (haversine km or euclidean)."""
    if geometry == "planar":
        return euclidean(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    return haversine_km(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
