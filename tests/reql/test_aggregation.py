"""Grouping and aggregation through the official driver: group (fields,
functions, several keys, multi, index), ungroup, count/sum/avg/min/max/reduce/
fold/distinct on sequences and per group, GROUPED_DATA results and the
operations that run once per group."""

from __future__ import annotations

import uuid

import pytest
from rethinkdb.errors import ReqlNonExistenceError, ReqlOpFailedError, ReqlQueryLogicError, ReqlResourceLimitError


@pytest.fixture(scope="module")
def tbl(server):
    """40 rows {id, a: id % 4, b: id % 3 (missing on ids < 4)}."""
    from rethinkdb import r

    conn = r.connect(host=server.host, port=server.port)
    db = "agg_" + uuid.uuid4().hex[:8]
    r.db_create(db).run(conn)
    r.db(db).table_create("t").run(conn)
    rows = [{"id": i, "a": i % 4, **({"b": i % 3} if i >= 4 else {})} for i in range(40)]
    r.db(db).table("t").insert(rows).run(conn)
    r.db(db).table("t").index_create("a").run(conn)
    r.db(db).table("t").index_create("pair", lambda x: [x["a"], x["a"] + 1], multi=True).run(conn)
    r.db(db).table("t").index_wait().run(conn)
    yield r.db(db).table("t")
    r.db_drop(db).run(conn)
    conn.close()


def fails(query, conn, error: type, message: str) -> None:
    """``message`` exactly; one ending in ``:`` is the first line (a value is printed after it)."""
    with pytest.raises(error) as info:
        query.run(conn)
    got = info.value.message
    assert (got.split("\n")[0] if message.endswith(":") else got) == message


def raw(query, conn):
    """A grouped result as the server sends it (GROUPED_DATA)."""
    return query.run(conn, group_format="raw")


# -- terminals on sequences -----------------------------------------------------------

@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda r: r.expr([1, 2, 3]).count(), 3),
        (lambda r: r.expr([1, 2, 2]).count(2), 2),
        (lambda r: r.expr([1, 2, 3]).count(lambda x: x > 1), 2),
        (lambda r: r.expr([{"a": 1}, {"a": 2}, {}]).count(lambda x: x["a"] > 0), 2),
        (lambda r: r.expr([1, 2.5]).sum(), 3.5),
        (lambda r: r.expr([]).sum(), 0),
        (lambda r: r.expr([{"a": 1}, {"b": 5}, {"a": 3}]).sum("a"), 4),
        (lambda r: r.expr([1, 2]).avg(), 1.5),
        (lambda r: r.expr([{"a": 1}, {"a": 4}, {}]).avg(lambda x: x["a"]), 2.5),
        (lambda r: r.expr([3, 1, 2]).min(), 1),
        (lambda r: r.expr([3, 1, 2]).max(), 3),
        (lambda r: r.expr([{"a": 2, "i": 0}, {"a": 1, "i": 1}, {"a": 1, "i": 2}]).min("a"), {"a": 1, "i": 1}),
        (lambda r: r.expr([{"a": 2, "i": 0}, {"a": 2, "i": 1}]).max("a"), {"a": 2, "i": 0}),
        (lambda r: r.range(5).reduce(lambda x, y: x + y), 10),
        (lambda r: r.range(4).fold(10, lambda acc, x: acc + x), 16),
        (lambda r: r.expr([3, 1, 3, 2, 1]).distinct(), [1, 2, 3]),
        (lambda r: r.expr(["b", 1, None, "a", 1]).distinct(), [None, 1, "a", "b"]),
        (lambda r: r.expr("abc").count(), 3),
        (lambda r: r.expr({"a": 1, "b": 2}).count(), 2),
    ],
)
def test_terminals(r, conn, make, expected):
    assert make(r).run(conn) == expected


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda r: r.expr([]).avg(), ReqlNonExistenceError,
         "Cannot take the average of an empty stream.  (If you passed `avg` a field name, "
         "it may be that no elements of the stream had that field.)"),
        (lambda r: r.expr([]).min(), ReqlNonExistenceError,
         "Cannot take the min of an empty stream.  (If you passed `min` a field name, "
         "it may be that no elements of the stream had that field.)"),
        (lambda r: r.expr([{"a": 1}]).max("b"), ReqlNonExistenceError,
         "Cannot take the max of an empty stream.  (If you passed `max` a field name, "
         "it may be that no elements of the stream had that field.)"),
        (lambda r: r.expr([]).reduce(lambda x, y: x + y), ReqlNonExistenceError, "Cannot reduce over an empty stream."),
        (lambda r: r.expr([1, "a"]).sum(), ReqlQueryLogicError, "Expected type NUMBER but found STRING."),
        (lambda r: r.range().count(), ReqlQueryLogicError,
         "Cannot use an infinite stream with an aggregation function (`reduce`, `count`, etc.) "
         "or coerce it to an array."),
        (lambda r: r.expr(5).count(), ReqlQueryLogicError, "Cannot convert NUMBER to SEQUENCE"),
    ],
)
def test_terminal_errors(r, conn, make, error, message):
    fails(make(r), conn, error, message)


def test_reduce_over_empty_can_default(r, conn):
    assert r.expr([]).reduce(lambda x, y: x + y).default("none").run(conn) == "none"


def test_terminals_on_a_table(r, conn, tbl):
    assert tbl.count().run(conn) == 40
    assert tbl.sum("a").run(conn) == 60
    assert tbl.avg("b").run(conn) == pytest.approx(sum(i % 3 for i in range(4, 40)) / 36)
    assert tbl.min().run(conn)["id"] == 0  # rows of a table compare by primary key
    assert tbl.max().run(conn)["id"] == 39
    assert tbl.min("b")["b"].run(conn) == 0
    assert tbl.map(lambda x: x["a"]).distinct().run(conn) == [0, 1, 2, 3]
    assert tbl.distinct().type_of().run(conn) == "STREAM"
    assert tbl.distinct(index="id").count().run(conn) == 40
    assert tbl.count(lambda x: x["b"] == 0).run(conn) == 12


# -- group -----------------------------------------------------------------------------

def test_group_by_field_and_function(r, conn, tbl):
    assert tbl.group("a").count().run(conn) == {0: 10, 1: 10, 2: 10, 3: 10}
    assert tbl.group(lambda x: x["id"] % 2).count().run(conn) == {0: 20, 1: 20}
    assert raw(tbl.group("a").count(), conn) == {"$reql_type$": "GROUPED_DATA", "data": [[0, 10], [1, 10], [2, 10], [3, 10]]}
    assert tbl.group("a").type_of().run(conn) == "GROUPED_STREAM"
    assert tbl.group("a").count().type_of().run(conn) == "GROUPED_DATA"


def test_group_by_several_keys_and_missing_fields(r, conn, tbl):
    got = raw(tbl.filter(lambda x: x["id"] < 8).group("a", lambda x: x["id"] % 2).count(), conn)
    assert got["data"] == [[[0, 0], 2], [[1, 1], 2], [[2, 0], 2], [[3, 1], 2]]
    assert tbl.group("b").count().run(conn) == {None: 4, 0: 12, 1: 12, 2: 12}
    assert tbl.group("a", None).count().ungroup()[0]["group"].run(conn) == [0, None]


def test_group_multi(r, conn):
    rows = r.expr([{"tags": ["x", "y"]}, {"tags": ["y"]}, {"tags": []}])
    assert rows.group("tags", multi=True).count().run(conn) == {None: 1, "x": 1, "y": 2}
    assert rows.group("tags").count().ungroup().count().run(conn) == 3  # arrays as keys


def test_group_by_primary_key_index(r, conn, tbl):
    assert raw(tbl.group(index="id").count(), conn)["data"][:2] == [[0, 1], [1, 1]]
    assert raw(tbl.group("a", index="id").count(), conn)["data"][:2] == [[[0, 0], 1], [[0, 4], 1]]
    fails(r.expr([1]).group(index="id"), conn, ReqlQueryLogicError, "Expected type TABLE but found DATUM:")


def test_group_by_secondary_index(r, conn, tbl):
    assert tbl.group(index="a").count().run(conn) == {0: 10, 1: 10, 2: 10, 3: 10}
    got = raw(tbl.group("b", index="a").count(), conn)["data"]
    assert got[:5] == [[[None, 0], 1], [[None, 1], 1], [[None, 2], 1], [[None, 3], 1], [[0, 0], 3]]
    # a multi index puts a row in the group of each of its values
    assert tbl.group(index="pair").count().run(conn) == {0: 10, 1: 20, 2: 20, 3: 20, 4: 10}


def test_distinct_min_max_by_index(r, conn, tbl):
    assert list(tbl.distinct(index="a").run(conn)) == [0, 1, 2, 3]
    assert tbl.distinct(index="a").type_of().run(conn) == "STREAM"
    assert list(tbl.distinct(index="pair").run(conn)) == [0, 1, 2, 3, 4]
    assert tbl.between(1, 3, index="a").distinct(index="a").coerce_to("array").run(conn) == [1, 2]
    assert tbl.between(1, 2, index="a").distinct(index="id").count().run(conn) == 10
    assert tbl.min(index="a")["id"].run(conn) == 0
    assert tbl.max(index="a")["id"].run(conn) == 39
    with pytest.raises(ReqlOpFailedError, match="^Index `nope` was not found on table `agg_"):
        tbl.min(index="nope").run(conn)


def test_aggregations_per_group_skip_rows_without_the_field(r, conn, tbl):
    # ids 0..3 lack b: b-aggregates of group a=... still come from the rows that have it
    assert tbl.group("a").sum("b").run(conn) == {a: sum(i % 3 for i in range(4, 40) if i % 4 == a) for a in range(4)}
    only = tbl.filter(lambda x: x["id"] < 4).group("a").sum("b").run(conn)
    assert only == {}  # no row has b: no group at all
    assert tbl.group("a").max("id")["id"].run(conn) == {0: 36, 1: 37, 2: 38, 3: 39}
    assert tbl.group("a").min(lambda x: x["id"]).run(conn)[1] == {"id": 1, "a": 1}
    assert tbl.group("a").avg("id").run(conn) == {0: 18, 1: 19, 2: 20, 3: 21}
    assert tbl.group("a").count(lambda x: x["id"] > 35).run(conn) == {0: 1, 1: 1, 2: 1, 3: 1}
    assert tbl.group("a").count({"id": 5, "a": 1, "b": 2}).ungroup().run(conn) == [{"group": 1, "reduction": 1}]


def test_operations_after_group_apply_per_group(r, conn, tbl):
    q = tbl.group("a").filter(lambda x: x["id"] < 8).map(lambda x: x["id"])
    assert q.reduce(lambda x, y: x + y).run(conn) == {0: 4, 1: 6, 2: 8, 3: 10}
    assert q.coerce_to("array").run(conn) == {0: [0, 4], 1: [1, 5], 2: [2, 6], 3: [3, 7]}
    assert tbl.group("a").order_by(r.desc("id")).limit(2)["id"].run(conn) == {
        0: [36, 32], 1: [37, 33], 2: [38, 34], 3: [39, 35]}
    assert tbl.group("a").pluck("id").count().run(conn) == {0: 10, 1: 10, 2: 10, 3: 10}
    assert tbl.group("a").concat_map(lambda x: [x, x]).count().run(conn) == {0: 20, 1: 20, 2: 20, 3: 20}
    assert tbl.group("a").count().do(lambda n: n * 2).run(conn) == {0: 20, 1: 20, 2: 20, 3: 20}
    assert tbl.group("a").fold(0, lambda acc, x: acc + 1).run(conn) == {0: 10, 1: 10, 2: 10, 3: 10}
    assert tbl.group("a")["a"].distinct().run(conn) == {0: [0], 1: [1], 2: [2], 3: [3]}


def test_ungroup(r, conn, tbl):
    assert tbl.group("a").count().ungroup().run(conn) == [{"group": a, "reduction": 10} for a in range(4)]
    assert tbl.group("a").ungroup()["group"].run(conn) == [0, 1, 2, 3]
    assert tbl.group("a").ungroup().nth(0)["reduction"].count().run(conn) == 10
    ranked = tbl.group("a").count().ungroup().order_by(r.desc("group"))["group"]
    assert ranked.run(conn) == [3, 2, 1, 0]
    fails(r.expr([1]).ungroup(), conn, ReqlQueryLogicError, "Expected type GROUPED_DATA but found DATUM:")


def test_group_errors(r, conn, tbl):
    fails(tbl.group(), conn, ReqlQueryLogicError, "Cannot group by nothing.")
    fails(tbl.group("a").group("b"), conn, ReqlQueryLogicError,
          "Cannot call `group` on the output of `group` (did you mean to `ungroup`?).")
    fails(tbl.group(1).count(), conn, ReqlQueryLogicError, "Expected type STRING but found NUMBER.")


def test_grouped_rows_respect_the_array_limit(r, conn):
    with pytest.raises(ReqlResourceLimitError) as info:
        r.range(30).group(lambda x: x % 2).run(conn, array_limit=10)
    assert info.value.message == (
        "Grouped data over size limit `10`.  Try putting a reduction (like `.reduce` or `.count`) on the end."
    )
    # all the groups' rows together count, not each group's
    with pytest.raises(ReqlResourceLimitError):
        r.range(12).group(lambda x: x % 2).run(conn, array_limit=10)
    with pytest.raises(ReqlResourceLimitError) as info:
        r.range(12).group(lambda x: x).count().run(conn, array_limit=10)
    assert info.value.message == "Too many groups (> 10)."
    # a terminal needs no array per group
    assert r.range(30).group(lambda x: x % 2).count().run(conn, array_limit=10) == {0: 15, 1: 15}


ARRAY_LIMIT_30 = (
    "Array over size limit `30`.  To raise the number of allowed elements, modify the `array_limit` option to "
    "`.run` (not available in the Data Explorer), or use an index."
)


def test_groups_made_in_memory_must_stay_below_the_array_limit(r, conn):
    # RethinkDB refuses as many groups as the limit, not only more
    with pytest.raises(ReqlResourceLimitError) as info:
        r.range(10).group(lambda x: x % 5).count().run(conn, array_limit=5)
    assert info.value.message == "Too many groups (> 5)."
    assert info.value.frames == []  # checked at the top level: the whole query is marked
    assert r.range(10).group(lambda x: x % 5).count().run(conn, array_limit=6) == {i: 2 for i in range(5)}
    with pytest.raises(ReqlResourceLimitError, match=r"Too many groups \(> 5\)"):
        r.range(5).group(lambda x: x).run(conn, array_limit=5)
    with pytest.raises(ReqlResourceLimitError, match=r"Too many groups \(> 4\)"):
        r.expr([1]).do(lambda _: r.range(4).group(lambda x: x).max()).run(conn, array_limit=4)


def test_groups_of_a_table_read_may_reach_the_array_limit(r, conn, tbl):
    # grouped where the table is read, then put together as an array
    for query in (tbl.group("id").count(), tbl.filter(True).group("id").count(),
                  tbl.map(lambda x: x).group("id").count(), tbl.group("id", multi=True).count(),
                  tbl.union([]).group("id").count()):
        with pytest.raises(ReqlResourceLimitError) as info:
            query.run(conn, array_limit=30)
        assert info.value.message == ARRAY_LIMIT_30
        assert info.value.frames == []
    assert len(tbl.group("id").count().run(conn, array_limit=40)) == 40
    # a slice or an array of the table is grouped in memory
    with pytest.raises(ReqlResourceLimitError, match=r"Too many groups \(> 40\)"):
        tbl.limit(40).group("id").count().run(conn, array_limit=40)
    with pytest.raises(ReqlResourceLimitError, match=r"Too many groups \(> 40\)"):
        tbl.coerce_to("array").group("id").count().run(conn, array_limit=40)


def test_distinct_of_a_table_streams_its_rows_in_primary_key_order(r, conn, tbl):
    rows = tbl.distinct()
    assert rows.type_of().run(conn) == "STREAM"
    assert [row["id"] for row in rows.run(conn, array_limit=10)] == list(range(40))  # no array is built
    assert rows.count().run(conn, array_limit=10) == 40
    assert [row["id"] for row in tbl.between(5, 9).distinct().run(conn)] == [5, 6, 7, 8]
    assert [row["id"] for row in tbl.order_by(index=r.desc("id")).distinct().limit(2).run(conn)] == [39, 38]
    with pytest.raises(ReqlQueryLogicError, match="Expected type DATUM but found SEQUENCE:\nVALUE SEQUENCE"):
        tbl.distinct().add(1).run(conn)


def test_distinct_of_other_sequences_is_an_array(r, conn, tbl):
    for query in (tbl.filter({}).distinct(), tbl.get_all(1, 2).distinct(), tbl.limit(3).distinct(),
                  tbl.map(lambda x: x["a"]).distinct(), r.range(3).distinct()):
        assert query.type_of().run(conn) == "ARRAY"
    assert tbl.map(lambda x: x["a"]).distinct().run(conn) == [0, 1, 2, 3]
