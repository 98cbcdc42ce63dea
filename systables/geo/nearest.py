"""``get_nearest``'s traversal: the search area grows ring by ring.

RethinkDB's algorithm (src/rdb_protocol/geo_traversal.cc), reproduced because
its error message depends on it: the first ring has a radius of 10 m on
WGS84 (``a * 10/6378137`` in general).  After a ring, the next radius is
chosen so that the next ring should hold about ``GOAL_BATCH`` rows at the
density just observed (twice the radius if the ring was empty), capped at
``max_dist``.  The traversal ends once ``max_dist`` has been covered or
``max_results`` rows were found.  Each ring is searched as the cells covering
an 8-vertex circle slightly larger than the ring's radius, less the cells
lying wholly inside a cap already searched.
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
        self._center_point = shapes.to_s2point(*center)
        # Below the smallest radius of curvature, a(1-f)², with a wide margin.
        self._shortest_radius = e.a * (1.0 - e.f) ** 2 * 0.9

    def may_contain(self, p: Any) -> bool:
        """A cheap, conservative test before the exact distance: False only
        for points surely beyond the current radius (their angle from the
        center, times a radius below every radius of curvature, exceeds it)."""
        c = self._center_point
        cos_angle = p.x() * c.x() + p.y() * c.y() + p.z() * c.z()
        if cos_angle >= 1.0:
            return True
        angle = math.acos(max(-1.0, cos_angle))
        return angle * self._shortest_radius <= self.current

    def contains(self, dist: float) -> bool:
        """Whether a row at ``dist`` belongs to the current ring."""
        if dist < self.processed:
            return False
        return dist < self.current or (self.current >= self.max_dist and dist <= self.max_dist)

    def search_ranges(self) -> list[index.KeyRange]:
        """Index key ranges of the current ring's candidates."""
        outer = self._circle(self.current * 1.01 / math.cos(math.pi / RING_VERTICES) * self.e.max_radius_ratio)
        cells = index.covering(outer, index.QUERY_CELLS)
        if self.processed > 0 and cells:
            cells = _outside(cells, self._inner_cap())
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

    def _inner_cap(self) -> Any:
        """A spherical cap whose points are all closer than ``processed``:
        no geodesic is longer than its angle times the largest radius of
        curvature, a²/b (with a margin for rounding)."""
        largest_curvature_radius = self.e.a * self.e.max_radius_ratio
        angle = min(math.pi / 2, self.processed * 0.99 / largest_curvature_radius)
        s2 = shapes.s2
        return s2.S2Cap(self._center_point, s2.S1ChordAngle(s2.S1Angle.Radians(angle)))


def _polygon(ring: list[list[float]]) -> Any:
    points = [shapes.to_s2point(lon, lat) for lon, lat in ring[:-1]]
    return shapes.make_polygon([shapes.make_loop(points)])


def _outside(cells: list[Any], inner: Any) -> list[Any]:
    """``cells`` less those lying wholly inside ``inner`` (searched before)."""
    coverer = shapes.s2.S2RegionCoverer()
    coverer.set_max_cells(index.QUERY_CELLS)
    # A cell deeper than every one of ``cells`` cannot contain any of them.
    coverer.set_max_level(max(c.level() for c in cells))
    interior = [index.id_range(c.id()) for c in coverer.GetInteriorCovering(inner)]
    if not interior:
        return cells
    return [c for c in cells if not any(lo <= c.id() <= hi for lo, hi in interior)]
