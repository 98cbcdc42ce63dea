"""Geospatial ReQL through the official driver: GEOMETRY values, the geo terms
with RethinkDB's exact numbers and errors, geo indexes with get_intersecting
and get_nearest, and the documents those read."""

from __future__ import annotations

import http.client
import json
import struct
import threading
import time
import uuid

import pytest
from rethinkdb.ast import ReQLEncoder
from rethinkdb.errors import (
    ReqlCompileError,
    ReqlNonExistenceError,
    ReqlOpFailedError,
    ReqlQueryLogicError,
)

from test_laziness import docs_read

SQ = [[1, 1], [2, 1], [2, 2], [1, 2]]
HOLE = [[1.1, 1.1], [1.9, 1.1], [1.9, 1.9], [1.1, 1.9]]


def geometry(kind, coordinates):
    return {"$reql_type$": "GEOMETRY", "coordinates": coordinates, "type": kind}


def fails(query, conn, cls, message):
    with pytest.raises(cls) as info:
        query.run(conn)
    assert info.value.message == message


@pytest.fixture
def table(r, conn):
    name = "geo_" + uuid.uuid4().hex[:8]
    r.table_create(name).run(conn)
    yield r.table(name)
    r.table_drop(name).run(conn)


# -- values and constructors ------------------------------------------------------

def test_point_is_stored_as_given_and_prints_with_sorted_keys(r, conn):
    assert r.point(180, 0).run(conn) == geometry("Point", [180, 0])
    assert r.point(0, 0).to_json_string().run(conn) == '{"$reql_type$":"GEOMETRY","coordinates":[0,0],"type":"Point"}'
    assert r.point(0, 1).type_of().run(conn) == "PTYPE<GEOMETRY>"
    assert r.point(0, 1).info()["type"].run(conn) == "PTYPE<GEOMETRY>"


@pytest.mark.parametrize(
    "query, message",
    [
        (lambda r: r.point(0, 90.1), "Latitude must be between -90 and 90.  Got 90.099999999999994316."),
        (lambda r: r.point(181, 91), "Longitude must be between -180 and 180.  Got 181."),
        (lambda r: r.point("a", 0), "Expected type NUMBER but found STRING."),
        (lambda r: r.line([0, 0], [0, 0]), "Invalid LineString.  Are there antipodal or duplicate vertices?"),
        (lambda r: r.line([0, 0], [1]), "Expected point coordinate pair.  Got 1 element array instead of a 2 element one."),
        (lambda r: r.line(r.point(0, 0), r.line([0, 0], [1, 0])), "Expected geometry of type `Point` but found `LineString`."),
        (lambda r: r.polygon([0, 0], [0, 1], [1, 0], [-1, 0.5]),
         "Invalid LinearRing.  Are there antipodal or duplicate vertices? Is it self-intersecting?"),
        (lambda r: r.geojson({"coordinates": [0, 0], "type": "MultiPoint"}), "GeoJSON type `MultiPoint` is not supported."),
        (lambda r: r.geojson({"coordinates": [0, 0, 0, 0], "type": "Point"}),
         "Too many coordinates.  GeoJSON position should have no more than three coordinates, but got 4."),
        (lambda r: r.geojson({"coordinates": [[[0, 0], [0, 1], [1, 1], [1, 0]]], "type": "Polygon"}),
         "First and last vertex of GeoJSON LinearRing must be identical."),
        (lambda r: r.geojson({"coordinates": [[[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]],
                                              [[1, 1], [1, 5], [5, 5], [5, 1], [1, 1]],
                                              [[2, 2], [2, 6], [6, 6], [6, 2], [2, 2]]], "type": "Polygon"}),
         "Some edges in GeoJSON polygon could not be used.  Are they intersecting?"),
        (lambda r: r.geojson({"coordinates": [0, 0], "type": "Point", "$reql_type$": "GEOMETRY"}),
         "GeoJSON object already had a $reql_type$ field."),
        (lambda r: r.circle([0, 0], 1, num_vertices=0), "num_vertices must be positive."),
        (lambda r: r.circle([0, 0], -1), "Radius must be positive"),
        (lambda r: r.circle([0, 0], 1, unit="x"), "Unrecognized distance unit `x`."),
        (lambda r: r.circle([0, 0], 1, geo_system="x"),
         'Unrecognized geo system "x" (valid options: "WGS84", "unit_sphere").'),
        (lambda r: r.circle([0, 0], 1, geo_system={"a": -1, "f": 0}), "The equator radius `a` must be positive."),
        (lambda r: r.circle([0, 0], 1, geo_system={"a": 1, "f": 1}), "The flattening `f` must be in the range [0, 1)."),
        (lambda r: r.circle([0, 0], 1, num_vertices=2), "GeoJSON LinearRing must have at least four positions."),
    ],
)
def test_validation_errors(r, conn, query, message):
    fails(query(r), conn, ReqlQueryLogicError, message)


def test_arity_errors_are_compile_errors(r, conn):
    fails(r.line([0, 0]), conn, ReqlCompileError, "Expected 2 or more arguments but found 1.")
    fails(r.polygon([0, 0], [0, 1]), conn, ReqlCompileError, "Expected 3 or more arguments but found 2.")


def test_client_sent_geometry_gets_a_syntax_check_only(r, conn):
    raw = {"$reql_type$": "GEOMETRY", "type": "Point", "coordinates": [0, 500]}
    assert r.expr(raw).run(conn) == geometry("Point", [0, 500])
    fails(r.expr(dict(raw, foo=1)), conn, ReqlQueryLogicError, "Unrecognized field `foo` found in geometry object.")
    fails(r.expr({"$reql_type$": "GEOMETRY", "coordinates": [0, 0]}), conn, ReqlNonExistenceError,
          "Field `type` not found in geometry object.")
    fails(r.expr(dict(raw, coordinates=True)), conn, ReqlQueryLogicError, "Expected type ARRAY but found BOOL.")
    fails(r.expr(raw).intersects(r.point(0, 0)), conn, ReqlQueryLogicError, "Latitude must be between -90 and 90.  Got 500.")


def test_geojson_round_trip_drops_bbox_and_keeps_null_crs(r, conn):
    obj = {"coordinates": [0, 0], "type": "Point", "bbox": [0, 0, 0, 0]}
    assert r.geojson(obj).run(conn) == geometry("Point", [0, 0])
    with_crs = r.geojson({"coordinates": [0, 0], "type": "Point", "crs": None})
    assert with_crs.to_geojson().run(conn) == {"coordinates": [0, 0], "crs": None, "type": "Point"}
    assert set(r.now().to_geojson().keys().run(conn)) == {"epoch_time", "timezone"}
    fails(r.expr({"a": 1}).to_geojson(), conn, ReqlQueryLogicError, 'Not a GEOMETRY pseudotype: `{\n\t"a":\t1\n}`.')


def test_circle_vertices_are_bit_exact(r, conn):
    ring = [[0, -9.04369477050382e-06], [-7.779638566553426e-06, 4.5218473852518965e-06],
            [7.779638566553426e-06, 4.5218473852518965e-06], [0, -9.04369477050382e-06]]
    assert r.circle([0, 0], 1, num_vertices=3).run(conn) == geometry("Polygon", [ring])
    assert r.circle(r.point(0, 0), 1.0 / 1609.344, num_vertices=3, unit="mi").run(conn) == geometry("Polygon", [ring])
    assert r.circle([0, 0], 1, num_vertices=3, fill=False).run(conn) == geometry("LineString", ring)
    assert r.circle([0, 0], 1, fill=False).fill().eq(r.circle([0, 0], 1)).run(conn) is True
    assert r.circle([0, 0], 1, fill=False).eq(r.circle([0, 0], 1)).run(conn) is False
    fails(r.circle([0, 0], 14000000), conn, ReqlQueryLogicError,
          "Radius must be smaller than a quarter of the circumference along the minor axis of the reference "
          "ellipsoid.  Got 14000000m, but must be smaller than 9985163.1855612862855m.")


# -- distances (RethinkDB's operations.yaml compares these as strings) -------------

@pytest.mark.parametrize(
    "query, text",
    [
        (lambda r: r.distance(r.point(-122, 37), r.point(-123, 37)), "89011.26253835332"),
        (lambda r: r.distance(r.point(-122, 37), r.point(-122, 36)), "110968.30443995494"),
        (lambda r: r.distance(r.point(-122, 37), r.point(-123, 37), geo_system="unit_sphere"), "0.01393875509649327"),
        (lambda r: r.distance(r.point(0, 0), r.point(0, 0)), "0"),
        (lambda r: r.distance(r.point(0, 0), r.point(180, 0)).mul(2), "40007862.917250897"),
        (lambda r: r.distance(r.point(0, -90), r.point(0, 90)).mul(2), "40007862.917250897"),
        (lambda r: r.distance(r.point(0, 0), r.line([0, 0], [0, 1])), "0"),
        (lambda r: r.distance(r.line([0, 0], [0, 1]), r.point(0, 0)), "0"),
        (lambda r: r.distance(r.point(0, 0), r.line([5, -1], [4, 2])), "492471.4990055255"),
        (lambda r: r.distance(r.point(0, 0), r.polygon([5, -1], [4, 2], [10, 10])), "492471.4990055255"),
        (lambda r: r.distance(r.point(0, 0), r.polygon([0, -1], [0, 1], [10, 10])), "0"),
        (lambda r: r.distance(r.point(0.5, 0.5), r.polygon([0, -1], [0, 1], [10, 10])), "0"),
    ],
)
def test_distances_print_as_rethinkdb_prints_them(r, conn, query, text):
    assert query(r).coerce_to("STRING").run(conn) == text


def test_distance_units_and_ellipsoids_multiply_exactly(r, conn):
    d = r.distance(r.point(-122, 37), r.point(-123, 37))
    for unit, factor in (("km", 1.0 / 1000.0), ("mi", 1.0 / 1609.344), ("ft", 1.0 / 0.3048), ("nm", 1.0 / 1852.0)):
        assert r.distance(r.point(-122, 37), r.point(-123, 37), unit=unit).eq(d.mul(factor)).run(conn) is True
    custom = r.distance(r.point(-122, 37), r.point(-123, 37), geo_system={"a": 637813.7, "f": 1.0 / 298.257223563})
    assert custom.eq(d.div(10)).run(conn) is True
    same = r.distance(r.point(0, 0), r.line([0.1, 0], [1, 0])).eq(r.distance(r.point(0, 0), r.point(0.1, 0)))
    assert same.run(conn) is True
    fails(r.distance(r.line([0, 0], [1, 1]), r.polygon([0, 0], [0, 1], [1, 1])), conn, ReqlQueryLogicError,
          "Expected geometry of type `Point` but found `Polygon`.")


def test_number_printing_follows_rethinkdb_digit_for_digit(r, conn):
    # Neither the shortest nor the closest representation: RethinkDB's rapidjson.
    assert r.expr(2900522.8283614735).coerce_to("STRING").run(conn) == "2900522.8283614737"
    assert r.expr(73989857.47399306).coerce_to("STRING").run(conn) == "73989857.47399307"
    assert r.expr(43963.214000819484).coerce_to("STRING").run(conn) == "43963.214000819484"
    assert r.expr(0.1).coerce_to("STRING").run(conn) == "0.1"
    assert r.expr([1.5e-7, 1e21]).to_json_string().run(conn) == "[1.5e-7,1e21]"


# -- predicates ------------------------------------------------------------------------

def test_intersects_and_includes_boundary_semantics(r, conn):
    sq = r.polygon(*SQ)
    holed = sq.polygon_sub(r.polygon(*HOLE))
    checks = [
        (sq.intersects(r.point(2, 1.5)), True),
        (holed.intersects(r.point(1.5, 1.5)), False),
        (holed.intersects(r.point(1.1, 1.1)), True),
        (sq.intersects(r.line([2, 2], [3, 3])), False),
        (sq.intersects(r.polygon([2, 1.1], [3, 1.1], [3, 1.9], [2, 1.9])), True),
        (sq.intersects(r.polygon([2, 2], [3, 2], [3, 3], [2, 3])), False),
        (r.line([1, 0], [2, 0]).intersects(r.point(1.8, 0)), True),
        (sq.includes(r.line([2, 1], [2, 2])), True),
        (sq.includes(r.line([1.5, 1.5], [3, 3])), False),
        (holed.includes(r.polygon([1.1, 1.1], [2, 1.1], [2, 2], [1.1, 2])), False),
        (sq.polygon_sub(sq).intersects(r.point(1.5, 1.5)), False),  # regression 3057: empty polygon
        (r.point(1.5, 1.5).intersects(sq.polygon_sub(sq)), False),
    ]
    assert r.expr([q for q, _ in checks]).run(conn) == [want for _, want in checks]


def test_predicates_filter_sequences(r, conn, table):
    points = [r.point(1, 0), r.point(3, 0), r.point(2, 0)]
    assert r.expr(points).intersects(r.line([0, 0], [2, 0])).count().run(conn) == 2
    assert r.expr(points).intersects(r.line([0, 0], [2, 0])).type_of().run(conn) == "ARRAY"
    triangles = [r.polygon([0, 0], [1, 1], [1, 0]), r.polygon([0, 1], [1, 2], [1, 1])]
    assert r.expr(triangles).includes(r.point(0, 0)).count().run(conn) == 1
    table.insert([{"id": i, "g": r.point(i, 0)} for i in range(5)]).run(conn)
    near = table["g"].intersects(r.polygon([0.5, -1], [2.5, -1], [2.5, 1], [0.5, 1]))
    assert sorted(near.run(conn), key=lambda g: g["coordinates"]) == [geometry("Point", [1, 0]), geometry("Point", [2, 0])]
    fails(r.expr(1).intersects(r.point(0, 0)), conn, ReqlQueryLogicError,
          "Cannot perform intersects on a non-object non-sequence `1`.")
    fails(r.now().includes(r.point(0, 0)), conn, ReqlQueryLogicError,
          "Cannot call `includes` on objects of type `PTYPE<TIME>`.")
    fails(r.point(0, 0).includes(r.point(0, 0)), conn, ReqlQueryLogicError,
          "Expected geometry of type `Polygon` but found `Point`.")


def test_polygon_sub(r, conn):
    outer = r.polygon([0, 0], [1, 0], [1, 1], [0, 1])
    inner = r.polygon([0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9])
    assert outer.polygon_sub(inner).run(conn) == geometry("Polygon", [
        [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9], [0.1, 0.1]]])
    fails(outer.polygon_sub(r.polygon([0, 0], [2, 0], [2, 2], [0, 2])), conn, ReqlQueryLogicError,
          "The second argument to `polygon_sub` is not contained in the first one.")
    fails(outer.polygon_sub(inner).polygon_sub(inner), conn, ReqlQueryLogicError,
          "Expected a Polygon with only an outer shell.  This one has holes.")
    fails(r.line([0, 0], [0, 1]).polygon_sub(inner), conn, ReqlQueryLogicError, "Expected a Polygon but found a LineString.")


# -- geo indexes ------------------------------------------------------------------------

@pytest.fixture
def indexed(r, conn, table):
    """RethinkDB's indexing.yaml table: a point (with a multi index of three
    points), a unit square and a nearly vertical line."""
    table.insert([
        {"id": 0, "g": r.point(10, 10), "m": [r.point(0, 0), r.point(1, 0), r.point(2, 0)]},
        {"id": 1, "g": r.polygon([0, 0], [0, 1], [1, 1], [1, 0])},
        {"id": 2, "g": r.line([0.000002, -1], [-0.000001, 1])},
    ]).run(conn)
    assert table.index_create("g", geo=True).run(conn) == {"created": 1}
    table.index_create("m", geo=True, multi=True).run(conn)
    table.index_create("other").run(conn)
    table.index_wait().run(conn)
    return table


def test_get_intersecting_counts(r, conn, indexed):
    square = r.polygon([0, 0], [1, 0], [1, 1], [0, 1])
    queries = [(r.point(0, 0), 1), (r.point(10, 10), 1), (r.point(0.5, 0.5), 1), (r.point(20, 20), 0),
               (square, 2), (r.line([0, 0], [10, 10]), 3)]
    for g, n in queries:
        assert indexed.get_intersecting(g, index="g").count().run(conn) == n
    for g, n in [(r.point(0, 0), 1), (r.point(1, 0), 1), (r.point(2, 0), 1), (r.point(3, 0), 0), (square, 2)]:
        assert indexed.get_intersecting(g, index="m").count().run(conn) == n  # a row once per matching element
    found = indexed.get_intersecting(r.point(0, 0), index="g")
    assert found.type_of().run(conn) == "SELECTION<STREAM>"
    assert found.filter(True).type_of().run(conn) == "SELECTION<STREAM>"
    assert found.map(r.row).type_of().run(conn) == "STREAM"
    assert [row["id"] for row in found.run(conn)] == [1]


def test_get_nearest_results_are_exact(r, conn, indexed):
    def nearest(center, **opts):
        return indexed.get_nearest(center, index="g", **opts).pluck("dist", {"doc": "id"}).run(conn)

    assert nearest(r.point(0, 0)) == [{"dist": 0, "doc": {"id": 1}}, {"dist": 0.055659745396754216, "doc": {"id": 2}}]
    assert nearest(r.point(-0.000001, 1)) == [{"dist": 0, "doc": {"id": 2}}, {"dist": 0.11130264976984369, "doc": {"id": 1}}]
    assert [x["dist"] for x in nearest(r.point(0, 0), max_dist=1565110)] == [0, 0.055659745396754216, 1565109.0992178896]
    assert len(nearest(r.point(0, 0), max_dist=1565110, max_results=2)) == 2
    assert [x["dist"] for x in nearest([0, 0], max_dist=1566, unit="km")] == [0, 0.00005565974539675422, 1565.1090992178897]
    unit_sphere = nearest(r.point(0, 0), max_dist=1, geo_system="unit_sphere")
    assert [x["dist"] for x in unit_sphere] == [0, 8.726646259990191e-09, 0.24619691677893205]
    multi = indexed.get_nearest(r.point(0, 0), index="m", max_dist=1565110).pluck("dist", {"doc": "id"}).run(conn)
    assert multi == [{"dist": 0, "doc": {"id": 0}}, {"dist": 111319.49079327357, "doc": {"id": 0}},
                     {"dist": 222638.98158654713, "doc": {"id": 0}}]
    assert indexed.get_nearest(r.point(0, 0), index="g").type_of().run(conn) == "ARRAY"
    fails(indexed.get_nearest(r.point(0, 0), index="g", max_dist=10000000), conn, ReqlQueryLogicError,
          "The distance has become too large for continuing the indexed nearest traversal.  Consider specifying a "
          "smaller `max_dist` parameter.  (Radius must be smaller than a quarter of the circumference along the minor "
          "axis of the reference ellipsoid.  Got 10968937.995244588703m, but must be smaller than 9985163.1855612862855m.)")


def test_geo_index_misuse_errors(r, conn, indexed):
    name = indexed.info()["name"].run(conn)
    p = r.point(0, 0)
    logic = [
        (indexed.get_intersecting(p), "get_intersecting requires an index argument."),
        (indexed.get_intersecting(p, index="id"), "get_intersecting cannot use the primary index."),
        (indexed.get_intersecting(p, index="other"),
         "Index `other` is not a geospatial index.  get_intersecting can only be used with a geospatial index."),
        (indexed.get_nearest(p, index="other"),
         "Index `other` is not a geospatial index.  get_nearest can only be used with a geospatial index."),
        (indexed.get_nearest(p, index="g", max_results=0), "max_results must be positive."),
        (indexed.get_nearest(p, index="g", max_dist=-1), "max_dist must be positive."),
        (indexed.get_nearest(r.line([0, 0], [1, 1]), index="g"), "Expected geometry of type `Point` but found `LineString`."),
        (indexed.get_all(1, index="g"),
         "Index `g` is a geospatial index.  Only get_nearest and get_intersecting can use a geospatial index."),
        (indexed.between(0, 1, index="g"),
         "Index `g` is a geospatial index.  Only get_nearest and get_intersecting can use a geospatial index."),
        (indexed.order_by(index="g"),
         "Index `g` is a geospatial index.  Only get_nearest and get_intersecting can use a geospatial index."),
        (indexed.get_all(p), "Cannot use a geospatial index with `get_all`. Use `get_intersecting` instead."),
        (indexed.get(p), "Cannot use a geometry value as a key value in a primary or non-geospatial secondary index."),
    ]
    for query, message in logic:
        fails(query, conn, ReqlQueryLogicError, message)
    fails(indexed.get_intersecting(p, index="missing"), conn, ReqlOpFailedError,
          f"Index `missing` was not found on table `test.{name}`.")
    with pytest.raises(ReqlOpFailedError):
        r.db("rethinkdb").table("jobs").get_nearest(p, index="g").run(conn)
    inserted = indexed.insert({"id": r.point(0, 0)}).run(conn)
    assert inserted["first_error"] == "Cannot use a geometry value as a key value in a primary or non-geospatial secondary index."


def test_index_functions_may_use_point_only(r, conn, indexed):
    assert indexed.index_create("pt", lambda row: r.point(row["id"], row["id"]), geo=True).run(conn) == {"created": 1}
    fails(indexed.index_create("x", lambda row: r.line(row["g"], row["g"])), conn, ReqlQueryLogicError,
          "Could not prove function deterministic.  Index functions must be deterministic.")
    fails(indexed.index_create("y", lambda row: r.point(indexed.get(0)["id"], 1), geo=True), conn, ReqlQueryLogicError,
          "Could not prove function deterministic.  Index functions must be deterministic.")
    indexed.index_wait("pt").run(conn)
    near = indexed.get_nearest(r.point(0, 0), index="pt", max_dist=1565110).pluck("dist", {"doc": "id"}).run(conn)
    assert near == [{"dist": 0, "doc": {"id": 0}}, {"dist": 156899.56829134026, "doc": {"id": 1}},
                    {"dist": 313775.7094291842, "doc": {"id": 2}}]
    status = indexed.index_status("g", "m").pluck("index", "geo", "multi").run(conn)
    assert status == [{"index": "g", "geo": True, "multi": False}, {"index": "m", "geo": True, "multi": True}]


def test_non_geo_multi_index_skips_geometry_elements(r, conn, indexed):
    # regression 4146: [a, b] with b a point still finds the row under a.
    indexed.index_create("ab", lambda row: [row["id"], row["g"]], multi=True).run(conn)
    indexed.index_wait("ab").run(conn)
    assert [row["id"] for row in indexed.get_all(1, index="ab").run(conn)] == [1]


def test_index_follows_writes_and_skips_invalid_geometry(r, conn, indexed):
    square = r.polygon([-5, -5], [5, -5], [5, 5], [-5, 5])
    indexed.insert({"id": 9, "g": r.polygon([0, 0], [0, 1], [1, 1]).polygon_sub(r.polygon([0, 0], [0, 1], [1, 1]))}).run(conn)
    indexed.insert({"id": 10, "g": {"$reql_type$": "GEOMETRY", "type": "Point", "coordinates": [0, 500]}}).run(conn)
    indexed.insert({"id": 11, "g": "not a geometry"}).run(conn)
    assert sorted(indexed.get_intersecting(square, index="g")["id"].run(conn)) == [1, 2]
    indexed.get(1).update({"g": r.point(3, 3)}).run(conn)
    assert sorted(indexed.get_intersecting(square, index="g")["id"].run(conn)) == [1, 2]
    assert list(indexed.get_intersecting(r.point(0.5, 0.5), index="g").run(conn)) == []
    indexed.get(2).delete().run(conn)
    assert sorted(indexed.get_intersecting(square, index="g")["id"].run(conn)) == [1]


# -- reads grow with the answer, not with the table ----------------------------------

GRID = 150  # GRID x GRID points, 0.01 degrees (about 1.1 km) apart


@pytest.fixture
def grid(r, conn, table):
    table.insert(r.range(GRID * GRID).map(
        lambda i: {"id": i, "p": r.point(i.mod(GRID).mul(0.01), i.div(GRID).floor().mul(0.01))}
    ), durability="soft").run(conn)
    table.index_create("p", geo=True).run(conn)
    table.index_wait("p").run(conn)
    return table


def profiled(query, conn):
    result = query.run(conn, profile=True)
    value = result["value"]
    return (list(value) if not isinstance(value, list) else value), docs_read(result["profile"])


def test_get_nearest_reads_grow_with_max_results_and_match_a_full_scan(r, conn, grid):
    center = r.point(0.723, 0.418)
    reads = {}
    for k in (1, 10, 100):
        found, reads[k] = profiled(grid.get_nearest(center, index="p", max_results=k, max_dist=50000), conn)
        by_scan = grid.map(lambda row: {"dist": r.distance(center, row["p"]), "id": row["id"]}).order_by("dist", "id")
        assert sorted((x["dist"], x["doc"]["id"]) for x in found) == [(x["dist"], x["id"]) for x in by_scan.limit(k).run(conn)]
    assert reads[1] <= reads[10] <= reads[100]
    assert reads[100] < GRID * GRID / 20, reads


def test_get_intersecting_reads_only_candidates(r, conn, grid):
    area = r.circle(r.point(0.5, 0.5), 3000)
    found, n = profiled(grid.get_intersecting(area, index="p").coerce_to("array"), conn)
    expected = grid.filter(lambda row: area.intersects(row["p"])).count().run(conn)
    assert len(found) == expected > 0
    assert n < 4 * expected + 200, (n, expected)


# -- fairness: long geo computations let other queries run ----------------------------

def test_a_long_geo_computation_does_not_hold_up_other_queries(r, server):
    busy = r.connect(server.host, server.port)
    other = r.connect(server.host, server.port)
    done = threading.Event()

    def heavy():
        try:
            assert r.circle([0, 0], 1000, num_vertices=60000).type_of().run(busy) == "PTYPE<GEOMETRY>"
        finally:
            done.set()

    thread = threading.Thread(target=heavy, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not any("circle" in job["info"].get("query", "") for job in
                  r.db("rethinkdb").table("jobs").filter({"type": "query"}).run(other)):
        assert time.monotonic() < deadline and not done.is_set(), "the computation never showed up as running"
    latencies = []
    for _ in range(5):
        started = time.monotonic()
        assert r.expr(1).run(other) == 1
        latencies.append(time.monotonic() - started)
    assert not done.is_set(), "the computation ended before the other queries ran: nothing was measured"
    assert max(latencies) < 0.25, latencies
    thread.join(60)
    busy.close()
    other.close()


# -- through the web shell's HTTP protocol -----------------------------------------------

def test_geometry_through_the_web_shell_json(r, server):
    web = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=30)
    web.request("POST", "/ajax/reql/open-new-connection?cacheBuster=1")
    conn_id = web.getresponse().read().decode()
    query = [1, json.loads(ReQLEncoder().encode(r.circle([0, 0], 1, num_vertices=3)))]
    web.request("POST", f"/ajax/reql/?conn_id={conn_id}", body=struct.pack("<Q", 1) + json.dumps(query).encode())
    body = web.getresponse().read()
    response = json.loads(body[12:])
    assert response["r"] == [geometry("Polygon", [[[0, -9.04369477050382e-06], [-7.779638566553426e-06, 4.5218473852518965e-06],
                                                   [7.779638566553426e-06, 4.5218473852518965e-06], [0, -9.04369477050382e-06]]])]
    web.close()


def test_get_nearest_default_max_dist_is_100_km_whatever_the_unit(r, conn, table):
    table.insert([{"id": 1, "at": r.point(0, 0)}, {"id": 2, "at": r.point(1, 0)}]).run(conn)
    table.index_create("at", geo=True).run(conn)
    table.index_wait("at").run(conn)
    for unit in ("m", "km", "mi"):
        hits = table.get_nearest(r.point(0.9, 0), index="at", unit=unit).run(conn)
        assert [hit["doc"]["id"] for hit in hits] == [2]  # (0, 0) is 100.19 km away
    hits = table.get_nearest(r.point(0.9, 0), index="at", unit="km", max_dist=101).run(conn)
    assert [hit["doc"]["id"] for hit in hits] == [2, 1]
