"""Geospatial terms: point, line, polygon, circle, distance, intersects,
includes, fill, polygon_sub, geojson, to_geojson, get_intersecting,
get_nearest.

The geometry itself is ``systables.geo``; these terms evaluate arguments,
parse optional arguments and attach errors to themselves (RethinkDB's
``geo_term_t`` reports geo errors at the geo term).  Every geo term but
``r.point`` is deterministic on a single server only, so index functions
may not use them (``check_index_function``).
"""

from __future__ import annotations

from typing import Any, Generator, TypeVar


from ... import datum as D
from ...timeslice import tick
from ...datum.errors import ReqlError, ReqlQueryLogicError
from ...datum.ql2 import TermType as T
from ...geo import geodesic, geojson, shapes
from ...geo.distance import distance
from ...geo.nearest import Rings
from ...storage import IndexMeta
from ..geo_scan import GetIntersectingStream, get_nearest
from ..seq import eager_items, rewrap_rows
from ..stream import FilterStream, Stream
from ..tables import TableVal
from ..term import MISSING, Env, Term, as_bool, as_int, as_num, as_str, term
from .basic import datum_value
from .db_table import table_arg

DEFAULT_MAX_RESULTS = 100
DEFAULT_MAX_DIST_METERS = 100000
DEFAULT_NUM_VERTICES = 32
SINGLE_SERVER_TERMS = frozenset(
    int(t)
    for t in (
        T.LINE, T.POLYGON, T.CIRCLE, T.DISTANCE, T.INTERSECTS, T.INCLUDES, T.FILL, T.POLYGON_SUB,
        T.GEOJSON, T.TO_GEOJSON, T.GET_INTERSECTING, T.GET_NEAREST,
    )
)


def check_index_function(term_: Term) -> bool:
    """Whether an index function may use every term of ``term_``: geo terms
    other than ``r.point`` give the same result on one server only."""
    if term_.tt in SINGLE_SERVER_TERMS:
        return False
    inner = getattr(term_, "inner", None)  # a term with r.args
    if isinstance(inner, Term) and not check_index_function(inner):
        return False
    return all(check_index_function(a) for a in term_.args) and all(
        check_index_function(o) for o in term_.optargs.values()
    )


R = TypeVar("R")


async def paced(steps: Generator[None, None, R]) -> R:
    """Run a geo computation given as steps (``geojson.Steps``), letting other
    queries run between steps."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value
        await tick()


class GeoTerm(Term):
    """A geo term: errors raised without a term belong to it."""

    async def eval(self, env: Env) -> Any:
        try:
            return await self.eval_geo(env)
        except ReqlError as e:
            raise e.at(self)

    async def eval_geo(self, env: Env) -> Any:
        raise NotImplementedError

    async def geometry_arg(self, env: Env, i: int) -> dict:
        value = await self.arg_datum(env, i)
        try:
            return geojson.as_geometry(value)
        except ReqlError as e:
            raise e.at(self.args[i])

    async def opt_value(self, env: Env, name: str, parse: Any, default: Any) -> Any:
        """An optional argument parsed by ``parse``; its errors point at it."""
        value = await self.opt_datum(env, name, MISSING)
        if value is MISSING:
            return default
        try:
            return parse(value)
        except ReqlError as e:
            raise e.at(self.optargs.get(name, self))

    async def ellipsoid(self, env: Env) -> geodesic.Ellipsoid:
        return await self.opt_value(env, "geo_system", geodesic.parse_geo_system, geodesic.WGS84)

    async def unit(self, env: Env) -> str:
        return await self.opt_value(env, "unit", geodesic.parse_unit, "m")


@term(T.POINT)
class Point(GeoTerm):
    async def eval_geo(self, env: Env) -> dict:
        lon = await self.arg_num(env, 0)
        lat = await self.arg_num(env, 1)
        return geojson.point(lon, lat)


class PositionsTerm(GeoTerm):
    async def positions(self, env: Env) -> list[shapes.Position]:
        out = []
        for i in range(len(self.args)):
            await tick()
            out.append(geojson.point_argument(await self.arg_datum(env, i)))
        return out


@term(T.LINE)
class Line(PositionsTerm):
    async def eval_geo(self, env: Env) -> dict:
        return await paced(geojson.line_steps(await self.positions(env)))


@term(T.POLYGON)
class Polygon(PositionsTerm):
    async def eval_geo(self, env: Env) -> dict:
        return await paced(geojson.polygon_steps(await self.positions(env)))


def _num_vertices(v: Any) -> int:
    n = as_int(v)
    if n < 0:  # RethinkDB reads it as an unsigned integer
        raise ReqlQueryLogicError(f"Integer too large: {n}")
    if n == 0:
        raise ReqlQueryLogicError("num_vertices must be positive.")
    return n


@term(T.CIRCLE)
class Circle(GeoTerm):
    async def eval_geo(self, env: Env) -> dict:
        center = geojson.point_argument(await self.arg_datum(env, 0))
        radius = await self.arg_num(env, 1)
        e = await self.ellipsoid(env)
        unit = await self.unit(env)
        fill = await self.opt_value(env, "fill", as_bool, True)
        num_vertices = await self.opt_value(env, "num_vertices", _num_vertices, DEFAULT_NUM_VERTICES)
        ring = await paced(geodesic.circle_steps(center, geodesic.convert(radius, unit, "m"), num_vertices, e))
        coordinates = [[D.norm_num(lon), D.norm_num(lat)] for lon, lat in ring]
        kind = geojson.POLYGON if fill else geojson.LINE
        return await paced(geojson.validate_steps(geojson.make(kind, [coordinates] if fill else coordinates)))


@term(T.DISTANCE)
class Distance(GeoTerm):
    async def eval_geo(self, env: Env) -> Any:
        a = await self.geometry_arg(env, 0)
        b = await self.geometry_arg(env, 1)
        e = await self.ellipsoid(env)
        unit = await self.unit(env)
        if geojson.geometry_type(a) != geojson.POINT:
            geojson.expect_type(b, geojson.POINT)
            a, b = b, a
        reference, other = await paced(geojson.parse_steps(a)), await paced(geojson.parse_steps(b))
        return D.norm_num(geodesic.convert(distance(reference, other, e), "m", unit))


class GeoPredicate(GeoTerm):
    """``g.intersects(h)`` / ``polygon.includes(h)``; on a sequence, a filter."""

    async def eval_geo(self, env: Env) -> Any:
        first = await self.args[0].eval(env)
        other = await paced(geojson.parse_steps(await self.geometry_arg(env, 1)))
        if isinstance(first, Stream) or type(first) is list:
            return await self.filter(first, other)
        return await self.test(self.receiver(datum_value(first, self.args[0])), other)

    def receiver(self, v: Any) -> dict:
        if isinstance(v, Stream) or type(v) is not dict:
            raise ReqlQueryLogicError(f"Cannot perform {self.name} on a non-object non-sequence `{_shown(v)}`.", self.args[0])
        kind = v.get(D.REQL_TYPE)
        if kind is not None and kind != geojson.GEOMETRY:
            raise ReqlQueryLogicError(f"Cannot call `{self.name}` on objects of type `{D.type_name(v)}`.", self.args[0])
        try:
            return geojson.as_geometry(v)
        except ReqlError as e:
            raise e.at(self.args[0])

    async def filter(self, seq: Any, other: Any) -> Any:
        async def keep(row: Any) -> bool:
            return row is not None and await self.test(self.receiver(row), other)

        items = eager_items(seq)
        if items is None:
            return FilterStream(seq, keep)
        kept = []
        for row in items:
            await tick()
            if await keep(row):
                kept.append(row)
        return rewrap_rows(seq, kept)

    async def test(self, g: dict, other: Any) -> bool:
        raise NotImplementedError


def _shown(v: Any) -> str:
    return D.print_datum(v) if not isinstance(v, Stream) else v.describe()


@term(T.INTERSECTS)
class Intersects(GeoPredicate):
    async def test(self, g: dict, other: Any) -> bool:
        return shapes.intersects(await paced(geojson.parse_steps(g)), other)


@term(T.INCLUDES)
class Includes(GeoPredicate):
    async def test(self, g: dict, other: Any) -> bool:
        geojson.expect_type(g, geojson.POLYGON)
        return shapes.includes(await paced(geojson.parse_steps(g)), other)


@term(T.FILL)
class Fill(GeoTerm):
    async def eval_geo(self, env: Env) -> dict:
        return await paced(geojson.fill_steps(await self.geometry_arg(env, 0)))


@term(T.POLYGON_SUB)
class PolygonSub(GeoTerm):
    async def eval_geo(self, env: Env) -> dict:
        outer = await self.geometry_arg(env, 0)
        inner = await self.geometry_arg(env, 1)
        for i, g in ((0, outer), (1, inner)):
            try:
                geojson.check_simple_polygon(g)
            except ReqlError as e:
                raise e.at(self.args[i])
        return await paced(geojson.polygon_sub_steps(outer, inner))


@term(T.GEOJSON)
class GeoJson(GeoTerm):
    async def eval_geo(self, env: Env) -> dict:
        return await paced(geojson.from_geojson_steps(await self.arg_datum(env, 0)))


@term(T.TO_GEOJSON)
class ToGeoJson(GeoTerm):
    async def eval_geo(self, env: Env) -> dict:
        return geojson.to_geojson(await self.geometry_arg(env, 0))


# ---------------------------------------------------------------------------
# Geo index reads.


class GeoIndexTerm(GeoTerm):
    """``table.get_intersecting(g, index=)`` / ``table.get_nearest(p, index=)``."""

    deterministic = False  # reads live data

    async def geo_index(self, env: Env, table: TableVal) -> IndexMeta:
        if "index" not in self.optargs:
            raise ReqlQueryLogicError(f"{self.name} requires an index argument.", self)
        index = as_str(await self.opt_datum(env, "index"), self.optargs["index"])
        if index == table.primary_key:
            raise ReqlQueryLogicError(f"{self.name} cannot use the primary index.", self)
        meta = table.check_index_usable(index, geo=True)
        if not meta.geo:
            raise ReqlQueryLogicError(
                f"Index `{index}` is not a geospatial index.  {self.name} can only be used with a geospatial index.",
                self,
            )
        return meta


@term(T.GET_INTERSECTING)
class GetIntersecting(GeoIndexTerm):
    async def eval_geo(self, env: Env) -> Stream:
        table = table_arg(await self.args[0].eval(env), self.args[0])
        query = await self.geometry_arg(env, 1)
        meta = await self.geo_index(env, table)
        return GetIntersectingStream(table, meta, await paced(geojson.parse_steps(query)))


def _positive_int(name: str) -> Any:
    def parse(v: Any) -> int:
        n = as_int(v)
        if n <= 0:
            raise ReqlQueryLogicError(f"{name} must be positive.")
        return n

    return parse


def _positive_num(name: str) -> Any:
    def parse(v: Any) -> float:
        x = as_num(v)
        if x <= 0:
            raise ReqlQueryLogicError(f"{name} must be positive.")
        return x

    return parse


@term(T.GET_NEAREST)
class GetNearest(GeoIndexTerm):
    async def eval_geo(self, env: Env) -> list:
        table = table_arg(await self.args[0].eval(env), self.args[0])
        lon, lat = geojson.point_argument(await self.arg_datum(env, 1))
        geojson.check_range(lon, lat)
        meta = await self.geo_index(env, table)
        max_results = await self.opt_value(env, "max_results", _positive_int("max_results"), DEFAULT_MAX_RESULTS)
        max_dist = await self.opt_value(env, "max_dist", _positive_num("max_dist"), None)
        unit = await self.unit(env)
        e = await self.ellipsoid(env)
        # The default is in meters whatever the unit; a given max_dist is in the unit.
        max_meters = DEFAULT_MAX_DIST_METERS if max_dist is None else geodesic.convert(max_dist, unit, "m")
        rings = Rings((lon, lat), max_meters, e)
        found = await get_nearest(table, meta, shapes.to_s2point(lon, lat), rings, max_results, e)
        return [{"dist": D.norm_num(geodesic.convert(d, "m", unit)), "doc": doc} for d, doc in found]
