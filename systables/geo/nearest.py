"""``get_nearest``'s traversal: the search area grows ring by ring.

RethinkDB's algorithm (src/rdb_protocol/geo_traversal.cc), reproduced because
its error message depends on it: the first ring has a radius of 10 m on
WGS84 (``a * 10/6378137`` in general).  After a ring, the next radius is
chosen so that the next ring should hold about ``GOAL_BATCH`` rows at the
density just observed (twice the radius if the ring was empty), capped at
``max_dist``.  The traversal ends once ``max_dist`` has been covered or
``max_results`` rows were found.  Each ring is searched as the cells covering
an 8-vertex circle slightly larger than the ring's radius, less the cells
inside the circle already searched.
"""

from __future__ import annotations

import math
from typing import Any

from ..datum.errors import ReqlQueryLogicError
from . import index, shapes
from .geodesic import Ellipsoid, check_radius, circle_vertices
from .shapes import Position

GOAL_BATCH = 100
INITIAL_RADIUS_FRACTION = 10 / 6378137
RING_VERTICES = 8
TOO_FAR = (
    "The distance has become too large for continuing the indexed nearest traversal.  "
    "Consider specifying a smaller `max_dist` parameter.  ({})"
)


class Rings:
    """The radii of the traversal (in meters of the ellipsoid)."""

    def __init__(self, center: Position, max_dist: float, e: Ellipsoid) -> None:
        self.center = center
        self.max_dist = max_dist
        self.e = e
        self.processed = 0.0  # every row closer than this has been found
        self.current = min(max_dist, INITIAL_RADIUS_FRACTION * e.a)

    def contains(self, dist: float) -> bool:
        """Whether a row at ``dist`` belongs to the current ring."""
        if dist < self.processed:
            return False
        return dist < self.current or (self.current >= self.max_dist and dist <= self.max_dist)

    def search_ranges(self) -> list[index.KeyRange]:
        """Index key ranges of the current ring's candidates."""
        outer = self._circle(self.current * 1.01 / math.cos(math.pi / RING_VERTICES) * self.e.max_radius_ratio)
        cells = index.covering(outer, index.QUERY_CELLS)
        if self.processed > 0:
            inner = self._inner_circle(self.processed * 0.99 / self.e.max_radius_ratio)
            if inner is not None:
                cells = _outside(cells, inner)
        return index.query_ranges(cells)

    def advance(self, found: int) -> bool:
        """Move to the next ring after ``found`` rows in this one; False once done."""
        area = math.pi * (self.current * self.current - self.processed * self.processed)
        density = found / area
        self.processed = self.current
        if density != 0.0:
            grown = math.sqrt(GOAL_BATCH / math.pi / density + self.processed * self.processed)
        else:
            grown = self.current * 2.0
        # RethinkDB's growth cap of ×2 compares with the new radius itself (a no-op).
        self.current = min(grown, min(2.0 * grown, self.max_dist))
        return self.processed < self.max_dist

    def _circle(self, radius: float) -> Any:
        try:
            check_radius(radius, self.e)
        except ReqlQueryLogicError as e:
            raise ReqlQueryLogicError(TOO_FAR.format(e.message)) from None
        return _polygon(circle_vertices(self.center, radius, RING_VERTICES, self.e))

    def _inner_circle(self, radius: float) -> Any:
        try:
            return _polygon(circle_vertices(self.center, radius, RING_VERTICES, self.e))
        except ReqlQueryLogicError:
            return None  # too small or too large to build: exclude nothing


def _polygon(ring: list[list[float]]) -> Any:
    points = [shapes.to_s2point(lon, lat) for lon, lat in ring[:-1]]
    return shapes.make_polygon([shapes.make_loop(points)])


def _outside(cells: list[Any], inner: Any) -> list[Any]:
    """``cells`` less those lying wholly inside ``inner`` (searched before)."""
    coverer = shapes.s2.S2RegionCoverer()
    coverer.set_max_cells(index.QUERY_CELLS)
    interior = list(coverer.GetInteriorCovering(inner))
    return [c for c in cells if not any(i.contains(c) for i in interior)]
