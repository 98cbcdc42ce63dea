"""Shapes on the sphere (Google's S2 geometry library), as RethinkDB uses them.

Lines and polygon edges are great-circle arcs; ``intersects``, ``includes``,
validity and the index coverings are spherical (distances are not: see
``geodesic``).  A position becomes an S2 unit vector by RethinkDB's formula,
longitude 180 first mapped to -180; the operation order matters for
bit-exact distances, which convert vectors back with ``to_lon_lat``.

Boundary semantics are RethinkDB's: polygons are closed (a point on an edge
or a vertex intersects), holes are open, and a point meets a line only where
projecting it onto the line gives the point itself.
"""

from __future__ import annotations

import math
from typing import Union

import s2geometry as s2

from ..datum.errors import ReqlQueryLogicError

DEG_TO_RAD = math.pi / 180
RAD_TO_DEG = 180 / math.pi

S2Point = s2.S2Point
Position = tuple[float, float]  # (longitude, latitude) in degrees

INVALID_LINE = "Invalid LineString.  Are there antipodal or duplicate vertices?"
INVALID_RING = "Invalid LinearRing.  Are there antipodal or duplicate vertices? Is it self-intersecting?"
EMPTY_POLYGON = "The polygon is empty. It must have at least an outer shell."
UNUSABLE_EDGES = "Some edges in GeoJSON polygon could not be used.  Are they intersecting?"


def to_s2point(lon: float, lat: float) -> S2Point:
    if lon == 180.0:
        lon = -180.0
    phi = lat * DEG_TO_RAD
    lam = lon * DEG_TO_RAD
    cos_phi = math.cos(phi)
    return s2.S2Point_FromRaw(math.cos(lam) * cos_phi, math.sin(lam) * cos_phi, math.sin(phi))


def to_lon_lat(p: S2Point) -> Position:
    x, y, z = p.x(), p.y(), p.z()
    lat = math.atan2(z, math.sqrt(x * x + y * y)) * RAD_TO_DEG
    lon = math.atan2(y, x) * RAD_TO_DEG
    return lon, lat


def same_point(a: S2Point, b: S2Point) -> bool:
    # SWIG's == compares the proxies' identity, not the coordinates.
    return a.x() == b.x() and a.y() == b.y() and a.z() == b.z()


def point_key(p: S2Point) -> tuple[float, float, float]:
    return p.x(), p.y(), p.z()


# ---------------------------------------------------------------------------
# Construction with RethinkDB's validity rules.


def make_polyline(points: list[S2Point]) -> s2.S2Polyline:
    line = s2.S2Polyline()
    line.InitFromS2Points(points)
    if not line.IsValid():
        raise ReqlQueryLogicError(INVALID_LINE)
    return line


def make_loop(points: list[S2Point]) -> s2.S2Loop:
    """A ring without its closing vertex, oriented to enclose the smaller side."""
    loop = s2.S2Loop(points)
    if not loop.IsValid():
        raise ReqlQueryLogicError(INVALID_RING)
    loop.Normalize()
    return loop


def make_polygon(loops: list[s2.S2Loop]) -> s2.S2Polygon:
    """The first loop is the shell, the others holes.  As in RethinkDB's XOR
    assembly, a hole identical to another loop cancels it (so a polygon minus
    itself is empty and intersects nothing)."""
    loops = _cancel_identical(loops)
    polygon = s2.S2Polygon()
    if not loops:
        return polygon
    polygon.InitNested(loops)
    if len(loops) > 1 and not polygon.IsValid():
        raise ReqlQueryLogicError(UNUSABLE_EDGES)
    return polygon


def _cancel_identical(loops: list[s2.S2Loop]) -> list[s2.S2Loop]:
    kept: list[tuple[frozenset, s2.S2Loop]] = []
    for loop in loops:
        vertices = frozenset(point_key(loop.vertex(i)) for i in range(loop.num_vertices()))
        twin = next((i for i, (v, _) in enumerate(kept) if v == vertices), None)
        if twin is None:
            kept.append((vertices, loop))
        else:
            del kept[twin]
    return [loop for _, loop in kept]


# ---------------------------------------------------------------------------
# Predicates (RethinkDB's geo/intersection.cc and inclusion.cc).

Shape = Union[S2Point, s2.S2Polyline, s2.S2Polygon]


def line_touches_point(line: s2.S2Polyline, p: S2Point) -> bool:
    projected, _ = line.Project(p)
    return same_point(projected, p)


def polygon_touches_point(polygon: s2.S2Polygon, p: S2Point) -> bool:
    if polygon.num_loops() == 0:
        return False
    return same_point(polygon.Project(p), p)


def intersects(a: Shape, b: Shape) -> bool:
    if isinstance(a, S2Point):
        return _point_intersects(a, b)
    if isinstance(b, S2Point):
        return _point_intersects(b, a)
    if isinstance(a, s2.S2Polyline):
        if isinstance(b, s2.S2Polyline):
            return a.Intersects(b)
        return _line_meets_polygon(a, b)
    if isinstance(b, s2.S2Polyline):
        return _line_meets_polygon(b, a)
    if a.num_loops() == 0 or b.num_loops() == 0:
        return False
    return a.Intersects(b)


def _point_intersects(p: S2Point, other: Shape) -> bool:
    if isinstance(other, S2Point):
        return same_point(p, other)
    if isinstance(other, s2.S2Polyline):
        return line_touches_point(other, p)
    return polygon_touches_point(other, p)


def _line_meets_polygon(line: s2.S2Polyline, polygon: s2.S2Polygon) -> bool:
    if polygon.num_loops() == 0:
        return False
    return len(polygon.IntersectWithPolyline(line)) > 0


def includes(polygon: s2.S2Polygon, other: Shape) -> bool:
    if polygon.num_loops() == 0:
        return False
    if isinstance(other, S2Point):
        return polygon_touches_point(polygon, other)
    if isinstance(other, s2.S2Polyline):
        return _covers_line(polygon, other)
    if other.num_loops() == 0:
        return False
    return polygon.Contains(other)


def _covers_line(polygon: s2.S2Polygon, line: s2.S2Polyline) -> bool:
    """Nothing of the line lies outside: the pieces inside add up to all of it
    (S2's Python bindings have no SubtractFromPolyline)."""
    pieces = polygon.IntersectWithPolyline(line)
    inside = sum(piece.GetLength().radians() for piece in pieces)
    return inside >= line.GetLength().radians() * (1 - 1e-13)


def project(shape: Shape, p: S2Point) -> S2Point:
    """The point of ``shape`` closest to ``p`` on the sphere (``p`` itself if inside)."""
    if isinstance(shape, S2Point):
        return shape
    if isinstance(shape, s2.S2Polyline):
        return shape.Project(p)[0]
    if shape.num_loops() == 0:
        raise ReqlQueryLogicError(EMPTY_POLYGON)
    return shape.Project(p)
