"""Sequence terms through the official driver: map (one and several sequences),
filter, concat_map, fold, order_by, limit/skip/slice/nth, union (plain and
interleaved), offsets_of, contains, sample, is_empty and field access, with
RethinkDB's results, types and errors."""

from __future__ import annotations

import uuid

import pytest
from rethinkdb.errors import ReqlCompileError, ReqlNonExistenceError, ReqlQueryLogicError, ReqlResourceLimitError


@pytest.fixture(scope="module")
def tbl(server):
    """A table of 20 rows {id, a: id % 3, b: {c: id}} (row 19 lacks ``a``)."""
    from rethinkdb import r

    conn = r.connect(host=server.host, port=server.port)
    db = "seq_" + uuid.uuid4().hex[:8]
    r.db_create(db).run(conn)
    r.db(db).table_create("t").run(conn)
    rows = [{"id": i, "a": i % 3, "b": {"c": i}} for i in range(19)] + [{"id": 19, "b": {"c": 19}}]
    r.db(db).table("t").insert(rows).run(conn)
    r.db(db).table("t").index_create("a").run(conn)
    r.db(db).table("t").index_wait().run(conn)
    yield r.db(db).table("t")
    r.db_drop(db).run(conn)
    conn.close()


def fails(query, conn, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        query.run(conn)
    assert info.value.message == message


def run(query, conn, **opts):
    v = query.run(conn, **opts)
    return v if isinstance(v, (list, dict, int, float, str, bool)) or v is None else list(v)


# -- map, filter, concat_map ----------------------------------------------------

def test_map_on_arrays_and_streams(r, conn, tbl):
    assert run(r.expr([1, 2, 3]).map(lambda x: x * 2), conn) == [2, 4, 6]
    assert run(tbl.order_by("id").limit(3).map(lambda x: x["id"]), conn) == [0, 1, 2]
    assert run(tbl.map(lambda x: x["id"]).type_of(), conn) == "STREAM"
    assert run(r.expr([1, 2]).map(lambda x: x).type_of(), conn) == "ARRAY"


def test_map_over_several_sequences_stops_at_the_shortest(r, conn):
    assert run(r.map([1, 2, 3], [10, 20], lambda a, b: a + b), conn) == [11, 22]
    assert run(r.map(r.range(3), r.range(10, 100), lambda a, b: a * b), conn) == [0, 11, 24]
    assert run(r.map(r.range(), r.range(), lambda a, b: a + b).limit(3), conn) == [0, 2, 4]
    fails(r.map([1], [2], lambda a: a), conn, ReqlQueryLogicError,
          "The function passed to `map` expects 1 argument, but 2 sequences were found.")


def test_filter_functions_objects_and_missing_fields(r, conn, tbl):
    assert run(tbl.filter(lambda x: x["a"] == 2).count(), conn) == 6
    assert run(tbl.filter({"a": 0}).count(), conn) == 7
    assert run(tbl.filter({"b": {"c": 4}})["id"], conn) == [4]
    assert run(tbl.filter({"b": r.literal({"c": 4})})["id"], conn) == [4]
    assert run(tbl.filter(r.literal({"id": 4})), conn) == []
    # a missing field makes the row fail the predicate (default=False)...
    assert run(tbl.filter(lambda x: x["a"] >= 0).count(), conn) == 19
    # ...unless the default says otherwise
    assert run(tbl.filter(lambda x: x["a"] >= 0, default=True).count(), conn) == 20
    with pytest.raises(ReqlNonExistenceError):
        tbl.filter(lambda x: x["a"] >= 0, default=r.error()).run(conn)
    assert run(tbl.filter(lambda x: x["a"] == 0).type_of(), conn) == "SELECTION<STREAM>"
    assert run(r.expr([{"a": 1}]).filter({"b": 1}), conn) == []


def test_concat_map_with_arrays_and_streams(r, conn, tbl):
    assert run(r.expr([1, 2]).concat_map(lambda x: [x, x * 10]), conn) == [1, 10, 2, 20]
    assert run(r.expr([1, 2]).concat_map(lambda x: r.range(x)), conn) == [0, 0, 1]
    assert run(tbl.concat_map(lambda x: [x["id"], x["id"]]).count(), conn) == 40
    fails(r.expr([1]).concat_map(lambda x: x), conn, ReqlQueryLogicError, "Cannot convert NUMBER to SEQUENCE")


def test_fold_with_and_without_emit(r, conn):
    assert run(r.range(5).fold(0, lambda acc, x: acc + x), conn) == 10
    assert run(r.range(4).fold(0, lambda acc, x: acc + x, emit=lambda old, x, new: [new]), conn) == [0, 1, 3, 6]
    got = r.expr(["a", "b"]).fold("", lambda acc, x: acc + x, emit=lambda o, x, n: [n], final_emit=lambda acc: [acc, "!"])
    assert run(got, conn) == ["a", "ab", "ab", "!"]
    fails(r.range(3).fold(0, lambda acc, x: acc + 1, emit=lambda o, x, n: n), conn,
          ReqlQueryLogicError, "Expected type ARRAY but found NUMBER.")


# -- order_by ---------------------------------------------------------------------

def test_order_by_fields_functions_and_directions(r, conn, tbl):
    assert run(tbl.order_by("id").limit(2)["id"], conn) == [0, 1]
    assert run(tbl.order_by(r.desc("id")).limit(2)["id"], conn) == [19, 18]
    assert run(tbl.order_by(r.desc("a"), "id").limit(3)["id"], conn) == [2, 5, 8]
    assert run(tbl.order_by(lambda x: 0 - x["id"]).nth(0)["id"], conn) == 19
    assert run(tbl.order_by("id").type_of(), conn) == "SELECTION<ARRAY>"
    assert run(tbl.order_by(index="id").type_of(), conn) == "TABLE_SLICE"
    assert run(tbl.order_by(index=r.desc("id")).limit(1)["id"], conn) == [19]


def test_order_by_a_secondary_index(r, conn, tbl):
    assert tbl.order_by(index="a").limit(3)["a"].coerce_to("array").run(conn) == [0, 0, 0]
    assert tbl.order_by(index="a").count().run(conn) == 19  # a row without the field is not indexed
    # further keys order the rows of equal index values
    assert tbl.order_by(r.desc("id"), index="a").limit(2)["id"].coerce_to("array").run(conn) == [18, 15]
    assert tbl.order_by("id", index=r.desc("a")).limit(2)["id"].coerce_to("array").run(conn) == [2, 5]
    assert tbl.order_by("id", index="a").type_of().run(conn) == "SELECTION<STREAM>"
    assert tbl.between(1, 2, index="a").order_by(index="a")["id"].coerce_to("array").run(conn) == [1, 4, 7, 10, 13, 16]
    assert tbl.order_by(index="a").between(2, r.maxval).count().run(conn) == 6
    fails(tbl.between(1, 2, index="a").order_by(index="id"), conn, ReqlQueryLogicError,
          "Cannot order by index `id` after calling BETWEEN on index `a`.")


def test_order_by_puts_missing_fields_first_and_last_when_descending(r, conn):
    rows = r.expr([{"a": 2}, {"b": 1}, {"a": 1}])
    assert run(rows.order_by("a"), conn) == [{"b": 1}, {"a": 1}, {"a": 2}]
    assert run(rows.order_by(r.desc("a")), conn) == [{"a": 2}, {"a": 1}, {"b": 1}]


def test_order_by_sorts_across_types_like_rethinkdb(r, conn):
    mixed = [None, "b", 2, [1], {"x": 1}, False, "a", 1.5, r.epoch_time(0)]
    got = run(r.expr(mixed).order_by(lambda x: x), conn)
    names = [run(r.expr(v).type_of(), conn) if not hasattr(v, "tzinfo") else "PTYPE<TIME>" for v in got]
    assert names == ["ARRAY", "BOOL", "NULL", "NUMBER", "NUMBER", "OBJECT", "PTYPE<TIME>", "STRING", "STRING"]
    assert got[3:5] == [1.5, 2] and got[7:] == ["a", "b"]


def test_order_by_errors(r, conn, tbl):
    fails(tbl.order_by([1, 2]), conn, ReqlQueryLogicError, "Expected type STRING but found ARRAY.")
    fails(tbl.order_by(index="id").order_by(index="id"), conn, ReqlQueryLogicError,
          "Cannot perform multiple indexed ORDER_BYs on the same table.")
    fails(tbl.filter({}).order_by(index="id"), conn, ReqlQueryLogicError,
          "Indexed order_by can only be performed on a TABLE or TABLE_SLICE. "
          "Make sure order_by comes before any transformations (such as map) or filters.")
    fails(r.expr([1]).order_by(r.args(["a"])), conn, ReqlQueryLogicError,
          "r.args is not supported in an order_by or union command yet.")


def test_order_by_is_limited_by_the_array_limit(r, conn):
    with pytest.raises(ReqlResourceLimitError) as info:
        r.range(20).order_by(lambda x: x).run(conn, array_limit=10)
    assert info.value.message == (
        "Array over size limit `10`.  To raise the number of allowed elements, modify the "
        "`array_limit` option to `.run` (not available in the Data Explorer), or use an index."
    )


# -- limit, skip, slice, nth, is_empty ----------------------------------------------

@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda r: r.expr([1, 2, 3, 4, 5]).slice(1, 3), [2, 3]),
        (lambda r: r.expr([1, 2, 3, 4, 5]).slice(1, -1), [2, 3, 4]),
        (lambda r: r.expr([1, 2, 3, 4, 5]).slice(1, -1, right_bound="closed"), [2, 3, 4, 5]),
        (lambda r: r.expr([1, 2, 3, 4, 5]).slice(-2), [4, 5]),
        (lambda r: r.expr([1, 2, 3, 4, 5]).slice(1, 3, left_bound="open", right_bound="closed"), [3, 4]),
        (lambda r: r.expr([1, 2, 3]).skip(-1), [3]),
        (lambda r: r.expr([1, 2, 3]).limit(0), []),
        (lambda r: r.range(10).slice(2, 5), [2, 3, 4]),
        (lambda r: r.range(10).slice(7), [7, 8, 9]),
        (lambda r: r.range(10).slice(7, -1, right_bound="closed"), [7, 8, 9]),
        (lambda r: r.range().skip(3).limit(2), [3, 4]),
        (lambda r: r.expr("abcdef").slice(1, 3), "bc"),
        (lambda r: r.expr([1, 2, 3]).nth(-1), 3),
        (lambda r: r.range(5).nth(-1), 4),
        (lambda r: r.range(5).nth(2), 2),
        (lambda r: r.range(5).is_empty(), False),
        (lambda r: r.range(5).limit(0).is_empty(), True),
    ],
)
def test_positions(r, conn, make, expected):
    assert run(make(r), conn) == expected


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda r: r.range(9).skip(-1), ReqlQueryLogicError, "Cannot use a negative left index on a stream."),
        (lambda r: r.range(9).limit(-1), ReqlQueryLogicError, "LIMIT takes a non-negative argument (got -1)"),
        (lambda r: r.range(9).slice(0, -2), ReqlQueryLogicError, "Cannot use a right index < -1 on a stream."),
        (lambda r: r.range(9).slice(0, -1), ReqlQueryLogicError, "Cannot slice to an open right index of -1 on a stream."),
        (lambda r: r.range(9).slice(1, None), ReqlNonExistenceError, "Expected type NUMBER but found NULL."),
        (lambda r: r.range(9).slice("a"), ReqlQueryLogicError, "Expected type NUMBER but found STRING."),
        (lambda r: r.range(9).nth(-2), ReqlQueryLogicError, "Cannot use an index < -1 (-2) on a stream."),
        (lambda r: r.range(9).nth(9), ReqlNonExistenceError, "Index out of bounds: 9"),
        (lambda r: r.expr([1]).nth(-2), ReqlNonExistenceError, "Index out of bounds: -2"),
        (lambda r: r.expr(1).is_empty(), ReqlQueryLogicError, "Cannot convert NUMBER to SEQUENCE"),
    ],
)
def test_position_errors(r, conn, make, error, message):
    fails(make(r), conn, error, message)


def test_selections_stay_updatable(r, conn, tbl):
    assert run(tbl.limit(2).type_of(), conn) == "SELECTION<STREAM>"
    assert run(tbl.order_by("id").nth(1).type_of(), conn) == "SELECTION<OBJECT>"
    assert run(tbl.order_by("id").nth(1).update({"x": 1})["replaced"], conn) == 1
    assert run(tbl.get(1)["x"], conn) == 1
    assert run(tbl.get(1).replace(r.row.without("x"))["replaced"], conn) == 1


# -- field access ------------------------------------------------------------------

def test_get_field_on_sequences_skips_rows_without_the_field(r, conn, tbl):
    assert run(r.expr([{"a": 1}, {"b": 2}, {"a": 3}])["a"], conn) == [1, 3]
    assert run(tbl["a"].count(), conn) == 19
    assert run(tbl.order_by("id")["b"]["c"].limit(3), conn) == [0, 1, 2]
    fails(r.expr([1])["a"], conn, ReqlQueryLogicError, "Cannot perform bracket on a non-object non-sequence `1`.")
    fails(r.expr([1]).get_field("a"), conn, ReqlQueryLogicError, "Cannot perform get_field on a non-object non-sequence `1`.")
    fails(r.expr({"a": 1})["b"], conn, ReqlNonExistenceError, 'No attribute `b` in object:\n{\n\t"a":\t1\n}')


# -- union ---------------------------------------------------------------------------

def test_union_of_arrays_and_streams(r, conn, tbl):
    assert run(r.expr([1, 2]).union([3], [4]), conn) == [1, 2, 3, 4]
    assert run(r.expr([1, 2]).union([3]).type_of(), conn) == "ARRAY"
    assert run(tbl.union(tbl).count(), conn) == 40
    assert run(tbl.union([1, 2]).type_of(), conn) == "STREAM"
    assert run(r.range(3).union(r.range(2), interleave=False), conn) == [0, 1, 2, 0, 1]
    assert run(r.union(), conn) == []


def test_union_interleaved_by_an_ordering(r, conn):
    odd, even = r.expr([{"n": 1}, {"n": 3}]), r.expr([{"n": 2}, {"n": 4}])
    assert run(odd.union(even, interleave="n")["n"], conn) == [1, 2, 3, 4]
    assert run(odd.union(even, interleave=lambda x: x["n"])["n"], conn) == [1, 2, 3, 4]
    down_odd, down_even = r.expr([{"n": 3}, {"n": 1}]), r.expr([{"n": 4}, {"n": 2}])
    assert run(down_odd.union(down_even, interleave=[r.desc("n")])["n"], conn) == [4, 3, 2, 1]
    fails(odd.union(even, interleave=r.desc("n")), conn, ReqlQueryLogicError,
          "The streams given as arguments are not ordered by given ordering.")
    assert run(r.range(100).union(r.range(50, 60), interleave=lambda x: x).limit(3), conn) == [0, 1, 2]


def test_asc_and_desc_only_order_order_by_and_union(r, conn):
    fails(r.expr([1]).union([2], interleave=lambda x: r.desc(x)), conn, ReqlCompileError,
          "DESC may only be used as an argument to ORDER_BY or UNION.")
    fails(r.expr([1]).map(lambda x: r.asc(x)), conn, ReqlCompileError,
          "ASC may only be used as an argument to ORDER_BY or UNION.")


# -- offsets_of, contains, sample ----------------------------------------------------

def test_offsets_of_values_and_predicates(r, conn):
    assert run(r.expr([1, 2, 1]).offsets_of(1), conn) == [0, 2]
    assert run(r.range(10).offsets_of(lambda x: x % 4 == 0), conn) == [0, 4, 8]
    assert run(r.expr([{"a": 1}, {"a": 2}]).offsets_of({"a": 2}), conn) == [1]
    assert run(r.expr([1]).offsets_of(2), conn) == []


def test_contains_values_and_predicates(r, conn, tbl):
    assert run(r.expr([1, 2, 3]).contains(2, 3), conn) is True
    assert run(r.expr([1, 2, 3]).contains(2, 4), conn) is False
    assert run(r.expr([1, 2]).contains(), conn) is True
    assert run(r.range().contains(1000), conn) is True
    assert run(tbl.contains(lambda x: x["b"]["c"] == 7), conn) is True
    assert run(tbl.contains(tbl.get(3)), conn) is True
    assert run(tbl.contains(lambda x: x["a"] == 5), conn) is False


def test_sample(r, conn, tbl):
    got = run(r.expr([1, 2, 3, 4]).sample(2), conn)
    assert len(got) == 2 and set(got) <= {1, 2, 3, 4} and len(set(got)) == 2
    assert sorted(run(r.expr([1, 2, 3]).sample(10), conn)) == [1, 2, 3]
    assert len({row["id"] for row in run(tbl.sample(5), conn)}) == 5
    assert run(tbl.sample(5).type_of(), conn) == "SELECTION<ARRAY>"
    fails(r.expr([1]).sample(-1), conn, ReqlQueryLogicError, "Number of items to sample must be non-negative, got `-1`.")
    fails(r.expr({}).sample(1), conn, ReqlQueryLogicError, "Cannot convert OBJECT to SEQUENCE")


def test_skip_is_slice_and_takes_strings_and_binaries(r, conn):
    assert r.expr("abc").skip(1).run(conn) == "bc"
    assert r.expr("abc").skip(-1).run(conn) == "c"
    assert r.binary(b"abc").skip(1).run(conn) == b"bc"
    assert r.expr([1, 2, 3]).skip(1).run(conn) == [2, 3]


@pytest.mark.parametrize("query_of, message", [
    (lambda r: r.expr(1).slice(1), "Expected ARRAY, BINARY, or STRING, but found NUMBER."),
    (lambda r: r.expr({"a": 1}).skip(1), "Expected ARRAY, BINARY, or STRING, but found OBJECT."),
    (lambda r: r.expr(None).slice(0, 1), "Expected ARRAY, BINARY, or STRING, but found NULL."),
    (lambda r: r.db("test").skip(1), "Cannot slice non-sequences."),
])
def test_slicing_what_is_not_a_sequence(r, conn, query_of, message):
    with pytest.raises(ReqlQueryLogicError) as info:
        query_of(r).run(conn)
    assert info.value.message == message
    assert info.value.frames == [0]  # the value is marked
