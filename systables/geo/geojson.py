"""GEOMETRY datums: construction, validation, GeoJSON conversion.

A geometry is stored as given (``r.point(180, 0)`` keeps 180) and validated
into an S2 shape whenever a geo term uses it (``parse``), with RethinkDB's
errors (src/rdb_protocol/geo/geojson.cc) in RethinkDB's order.
"""

from __future__ import annotations

from typing import Any, Generator, TypeVar

from ..datum import REQL_TYPE, fmt_double, norm_num, print_datum, type_name
from ..datum.errors import ReqlNonExistenceError, ReqlQueryLogicError
from . import shapes
from .pseudo import GEOMETRY, GEOMETRY_FIELDS
from .shapes import Position, Shape

POINT, LINE, POLYGON = "Point", "LineString", "Polygon"
UNSUPPORTED_TYPES = frozenset(
    ("MultiPoint", "MultiLineString", "MultiPolygon", "GeometryCollection", "Feature", "FeatureCollection")
)
T = TypeVar("T")
# Work on long geometries is split into steps: a generator yields after every
# STEP positions, so an asynchronous caller can let other queries run
# (``systables.reql.terms.geo.paced``); ``run`` does it all at once.
Steps = Generator[None, None, T]
STEP = 256


def run(steps: Steps[T]) -> T:
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


NON_DEFAULT_CRS = (
    "Non-default coordinate reference systems are not supported in GeoJSON objects.  "
    "Make sure the `crs` field of the geometry is null or non-existent."
)


# ---------------------------------------------------------------------------
# Datum helpers with RethinkDB's messages.


def field(obj: dict, name: str) -> Any:
    try:
        return obj[name]
    except KeyError:
        raise ReqlNonExistenceError(f"No attribute `{name}` in object:\n{print_datum(obj)}") from None


def _type_error(expected: str, v: Any) -> ReqlQueryLogicError:
    cls = ReqlNonExistenceError if v is None else ReqlQueryLogicError
    return cls(f"Expected type {expected} but found {type_name(v)}.")


def _array(v: Any) -> list:
    if type(v) is not list:
        raise _type_error("ARRAY", v)
    return v


def _number(v: Any) -> float:
    if type(v) is not int and type(v) is not float:
        raise _type_error("NUMBER", v)
    return v


def _string(v: Any) -> str:
    if type(v) is not str:
        raise _type_error("STRING", v)
    return v


def as_geometry(v: Any) -> dict:
    """RethinkDB's ``as_ptype(GEOMETRY)``, which lets any pseudo-type through
    (``r.now().to_geojson()`` works; its other geo uses then fail on fields)."""
    if type(v) is dict and REQL_TYPE in v:
        return v
    raise ReqlQueryLogicError(f"Not a GEOMETRY pseudotype: `{print_datum(v)}`.")


def geometry_type(g: dict) -> str:
    return _string(field(g, "type"))


def expect_type(g: dict, expected: str) -> None:
    found = geometry_type(g)
    if found != expected:
        raise ReqlQueryLogicError(f"Expected geometry of type `{expected}` but found `{found}`.")


# ---------------------------------------------------------------------------
# Validation: GEOMETRY datum -> S2 shape.


def parse(g: dict) -> Shape:
    """The S2 shape of a geometry, raising RethinkDB's error if it is not valid."""
    return run(parse_steps(g))


def parse_steps(g: dict) -> Steps[Shape]:
    crs = g.get("crs")
    if crs is not None:
        raise ReqlQueryLogicError(NON_DEFAULT_CRS)
    kind = geometry_type(g)
    for key in g:
        if key not in GEOMETRY_FIELDS:
            raise ReqlQueryLogicError(f"Unrecognized field `{key}` found in geometry object.")
    coordinates = field(g, "coordinates")
    if kind == POINT:
        return shapes.to_s2point(*position(coordinates))
    if kind == LINE:
        return (yield from _line_steps(coordinates))
    if kind == POLYGON:
        return (yield from _polygon_steps(coordinates))
    if kind in UNSUPPORTED_TYPES:
        raise ReqlQueryLogicError(f"GeoJSON type `{kind}` is not supported.")
    raise ReqlQueryLogicError(f"Unrecognized GeoJSON type `{kind}`.")


def validate(g: dict) -> dict:
    parse(g)
    return g


def validate_steps(g: dict) -> Steps[dict]:
    yield from parse_steps(g)
    return g


def position(coords: Any) -> Position:
    """A GeoJSON position as (longitude, latitude), range-checked."""
    coords = _array(coords)
    n = len(coords)
    if n < 2:
        raise ReqlQueryLogicError("Too few coordinates.  Need at least longitude and latitude.")
    if n > 3:
        raise ReqlQueryLogicError(
            f"Too many coordinates.  GeoJSON position should have no more than three coordinates, but got {n}."
        )
    if n == 3:
        raise ReqlQueryLogicError("A third altitude coordinate in GeoJSON positions was found, but is not supported.")
    lon, lat = _number(coords[0]), _number(coords[1])
    check_range(lon, lat)
    return lon, lat


def check_range(lon: float, lat: float) -> None:
    if not -180.0 <= lon <= 180.0:
        raise ReqlQueryLogicError(f"Longitude must be between -180 and 180.  Got {fmt_double(lon)}.")
    if not -90.0 <= lat <= 90.0:
        raise ReqlQueryLogicError(f"Latitude must be between -90 and 90.  Got {fmt_double(lat)}.")


def _points_steps(coords: list) -> Steps[list]:
    points = []
    for i, c in enumerate(coords):
        if i and i % STEP == 0:
            yield
        points.append(shapes.to_s2point(*position(c)))
    return points


def _line_steps(coords: Any) -> Steps[shapes.s2.S2Polyline]:
    coords = _array(coords)
    if len(coords) < 2:
        raise ReqlQueryLogicError("GeoJSON LineString must have at least two positions.")
    return shapes.make_polyline((yield from _points_steps(coords)))


def _polygon_steps(rings: Any) -> Steps[shapes.s2.S2Polygon]:
    loops = []
    for ring in _array(rings):
        loops.append((yield from _ring_steps(ring)))
    return shapes.make_polygon(loops)


def _ring_steps(coords: Any) -> Steps[shapes.s2.S2Loop]:
    coords = _array(coords)
    if len(coords) < 4:
        raise ReqlQueryLogicError("GeoJSON LinearRing must have at least four positions.")
    points = yield from _points_steps(coords)
    if not shapes.same_point(points[0], points[-1]):
        raise ReqlQueryLogicError("First and last vertex of GeoJSON LinearRing must be identical.")
    return shapes.make_loop(points[:-1])


# ---------------------------------------------------------------------------
# Construction (r.point, r.line, r.polygon, r.circle, fill, polygon_sub).


def make(kind: str, coordinates: list) -> dict:
    return {REQL_TYPE: GEOMETRY, "coordinates": coordinates, "type": kind}


def point(lon: float, lat: float) -> dict:
    return validate(make(POINT, [lon, lat]))


def line_steps(positions: list[Position]) -> Steps[dict]:
    return (yield from validate_steps(make(LINE, [_pair(p) for p in positions])))


def polygon_steps(positions: list[Position]) -> Steps[dict]:
    """A polygon with one ring, closed if its last position is not its first."""
    ring = [_pair(p) for p in positions]
    if ring and ring[0] != ring[-1]:
        ring.append(list(ring[0]))
    return (yield from validate_steps(make(POLYGON, [ring])))


def _pair(p: Position) -> list:
    return [norm_num(p[0]), norm_num(p[1])]


def point_argument(v: Any) -> Position:
    """A point given as a Point geometry or as a ``[lon, lat]`` pair."""
    if type(v) is dict and REQL_TYPE in v:
        expect_type(v, POINT)
        coords = _array(field(v, "coordinates"))
        return position(coords)
    coords = _array(v)
    if len(coords) != 2:
        raise ReqlQueryLogicError(
            f"Expected point coordinate pair.  Got {len(coords)} element array instead of a 2 element one."
        )
    return _number(coords[0]), _number(coords[1])


def fill_steps(g: dict) -> Steps[dict]:
    """A LineString's positions as a polygon shell (closed if needed)."""
    kind = geometry_type(g)
    if kind != LINE:
        raise ReqlQueryLogicError(f"Expected geometry of type `{LINE}` but found `{kind}`.")
    ring = list(_array(field(g, "coordinates")))
    if ring and ring[0] != ring[-1]:
        ring.append(ring[0])
    return (yield from validate_steps(make(POLYGON, [ring])))


def polygon_sub_steps(outer: dict, inner: dict) -> Steps[dict]:
    """``outer`` with ``inner`` cut out as a hole; both must be simple polygons
    and ``inner`` within ``outer``."""
    check_simple_polygon(outer)
    check_simple_polygon(inner)
    outer_shape = yield from parse_steps(outer)
    inner_shape = yield from parse_steps(inner)
    if not shapes.includes(outer_shape, inner_shape):
        raise ReqlQueryLogicError("The second argument to `polygon_sub` is not contained in the first one.")
    rings = [field(outer, "coordinates")[0], field(inner, "coordinates")[0]]
    return (yield from validate_steps(make(POLYGON, rings)))


def check_simple_polygon(g: dict) -> None:
    kind = geometry_type(g)
    if kind != POLYGON:
        raise ReqlQueryLogicError(f"Expected a Polygon but found a {kind}.")
    if len(_array(field(g, "coordinates"))) > 1:
        raise ReqlQueryLogicError("Expected a Polygon with only an outer shell.  This one has holes.")


# ---------------------------------------------------------------------------
# GeoJSON conversion.


def from_geojson_steps(obj: Any) -> Steps[dict]:
    """``r.geojson``: a GeoJSON object as a validated geometry (``bbox`` dropped)."""
    if type(obj) is not dict:
        raise _type_error("OBJECT", obj)
    if REQL_TYPE in obj:
        raise ReqlQueryLogicError("GeoJSON object already had a $reql_type$ field.")
    geometry = {k: v for k, v in obj.items() if k != "bbox"}
    geometry[REQL_TYPE] = GEOMETRY
    return (yield from validate_steps(geometry))


def to_geojson(v: Any) -> dict:
    g = as_geometry(v)
    return {k: x for k, x in g.items() if k != REQL_TYPE}
