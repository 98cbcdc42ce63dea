"""Distance from a point to any geometry, as RethinkDB computes it.

S2 projects the point onto the other shape on the sphere; if the projection
is the point itself the distance is exactly 0, else it is the ellipsoidal
geodesic distance between the point and its projection.  Every point is
first round-tripped through its S2 unit vector, even between two points:
skipping that changes the last digits.
"""

from __future__ import annotations

from . import shapes
from .geodesic import Ellipsoid, geodesic_distance
from .shapes import S2Point, Shape


def distance(p: S2Point, other: Shape, e: Ellipsoid) -> float:
    """Meters of ``e`` from ``p`` to the nearest point of ``other``."""
    if isinstance(other, S2Point):
        nearest = other
    else:
        nearest = shapes.project(other, p)
        if shapes.same_point(nearest, p):
            return 0.0
    return geodesic_distance(shapes.to_lon_lat(p), shapes.to_lon_lat(nearest), e)
