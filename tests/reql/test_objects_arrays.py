"""Object and array terms through the official driver: pluck/without (nested
selectors), merge (functions, r.literal), has_fields/with_fields, keys/values,
and append/prepend/insert_at/splice_at/delete_at/change_at/difference/set_*,
with RethinkDB's results and errors."""

from __future__ import annotations

import uuid

import pytest
from rethinkdb.errors import ReqlNonExistenceError, ReqlQueryLogicError, ReqlResourceLimitError

STRAY = (
    "Stray literal keyword found: literal is only legal inside of the object passed to merge or update "
    "and cannot nest inside other literals."
)


def fails(query, conn, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        query.run(conn)
    assert info.value.message == message


@pytest.fixture(scope="module")
def tbl(server):
    from rethinkdb import r

    conn = r.connect(host=server.host, port=server.port)
    db = "obj_" + uuid.uuid4().hex[:8]
    r.db_create(db).run(conn)
    r.db(db).table_create("t").run(conn)
    r.db(db).table("t").insert([{"id": i, "a": i, "n": {"x": i, "y": -i}} for i in range(5)]).run(conn)
    yield r.db(db).table("t")
    r.db_drop(db).run(conn)
    conn.close()


# -- pluck / without --------------------------------------------------------------

@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda r: r.expr({"a": 1, "b": 2, "c": 3}).pluck("a", "c"), {"a": 1, "c": 3}),
        (lambda r: r.expr({"a": 1, "b": 2}).pluck(["a", "missing"]), {"a": 1}),
        (lambda r: r.expr({"a": {"b": 1, "c": 2}, "d": 3}).pluck({"a": "b"}), {"a": {"b": 1}}),
        (lambda r: r.expr({"a": {"b": 1, "c": 2}, "d": 3}).pluck({"a": True, "d": True}), {"a": {"b": 1, "c": 2}, "d": 3}),
        (lambda r: r.expr({"a": [{"b": 1, "c": 2}, {"b": 3}]}).pluck({"a": "b"}), {"a": [{"b": 1}, {"b": 3}]}),
        (lambda r: r.expr({"foo": {"bar": 1}}).pluck({"foo": {"bar": "buzz"}}), {"foo": {}}),
        (lambda r: r.expr({"a": 1, "b": 2}).without("a"), {"b": 2}),
        (lambda r: r.expr({"a": {"b": 1, "c": 2}}).without({"a": "b"}), {"a": {"c": 2}}),
        (lambda r: r.expr([{"a": 1, "b": 2}, {"a": 3}]).pluck("a"), [{"a": 1}, {"a": 3}]),
        (lambda r: r.expr([{"a": 1, "b": 2}]).without("a"), [{"b": 2}]),
    ],
)
def test_pluck_and_without(r, conn, make, expected):
    assert make(r).run(conn) == expected


def test_pluck_errors(r, conn):
    fails(r.expr({"a": 1}).pluck(1), conn, ReqlQueryLogicError, "Invalid path argument `1`.")
    fails(r.expr([[{"a": 1}]]).pluck("a"), conn, ReqlQueryLogicError, "Cannot perform pluck on a sequence of sequences.")
    fails(r.expr(1).pluck("a"), conn, ReqlQueryLogicError, "Cannot perform pluck on a non-object non-sequence `1`.")


def test_operations_on_a_missing_document_can_default(r, conn, tbl):
    assert tbl.get(99).pluck("a").default("none").run(conn) == "none"
    assert tbl.get(99)["a"].default("none").run(conn) == "none"
    # keys of null is a type error, not a missing value: default does not catch it
    fails(tbl.get(99).keys().default([]), conn, ReqlQueryLogicError, "Cannot call `keys` on objects of type `NULL`.")
    fails(tbl.get(99).pluck("a"), conn, ReqlNonExistenceError, "Cannot perform pluck on a non-object non-sequence `null`.")


def test_pluck_on_tables_is_lazy_and_per_row(r, conn, tbl):
    assert list(tbl.order_by("id").pluck("id").limit(2).run(conn)) == [{"id": 0}, {"id": 1}]
    assert list(tbl.pluck({"n": "x"}).filter({"n": {"x": 3}}).run(conn)) == [{"n": {"x": 3}}]
    assert tbl.get(2).without("n").run(conn) == {"id": 2, "a": 2}


# -- merge and literal ----------------------------------------------------------------

@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda r: r.expr({"a": 1}).merge({"b": 2}, {"c": 3}), {"a": 1, "b": 2, "c": 3}),
        (lambda r: r.expr({"a": {"b": 1}}).merge({"a": {"c": 2}}), {"a": {"b": 1, "c": 2}}),
        (lambda r: r.expr({"a": {"b": 1}}).merge({"a": r.literal({"c": 2})}), {"a": {"c": 2}}),
        (lambda r: r.expr({"a": {"b": 1}, "d": 4}).merge({"a": r.literal()}), {"d": 4}),
        (lambda r: r.expr({"a": 1}).merge({"b": {"c": r.literal(5)}}), {"a": 1, "b": {"c": 5}}),
        (lambda r: r.expr({"a": 1}).merge(lambda o: {"b": o["a"] + 1}), {"a": 1, "b": 2}),
        (lambda r: r.expr({"a": 1}).merge(lambda o: {"a": r.literal([o["a"]])}), {"a": [1]}),
        (lambda r: r.expr({"a": 1}).merge(5), 5),
        (lambda r: r.expr([{"a": 1}, {"a": 2}]).merge({"b": 0}), [{"a": 1, "b": 0}, {"a": 2, "b": 0}]),
        (lambda r: r.expr({"a": {"b": 1}}).merge(r.args([{"a": r.literal({"c": 1})}])), {"a": {"c": 1}}),
    ],
)
def test_merge(r, conn, make, expected):
    assert make(r).run(conn) == expected


@pytest.mark.parametrize(
    "make",
    [
        lambda r: r.literal("foo"),
        lambda r: r.expr({"a": 1}).merge(r.literal("foo")),
        lambda r: r.expr({"a": 1}).merge({"a": r.literal(r.literal(1))}),
        lambda r: r.expr({"a": r.literal(1)}),
        lambda r: r.expr([r.expr({"a": 1}).merge({"b": [r.literal(1)]})]),
    ],
)
def test_stray_literals(r, conn, make):
    fails(make(r), conn, ReqlQueryLogicError, STRAY)


def test_merge_and_literal_in_update(r, conn, tbl):
    assert tbl.get(1).update({"n": r.literal({"z": 1})})["replaced"].run(conn) == 1
    assert tbl.get(1)["n"].run(conn) == {"z": 1}
    assert tbl.get(1).update({"n": {"x": 1}})["replaced"].run(conn) == 1
    assert tbl.get(1)["n"].run(conn) == {"z": 1, "x": 1}
    assert list(tbl.filter({"id": 1}).merge(lambda row: {"twice": row["a"] * 2})["twice"].run(conn)) == [2]


# -- has_fields / with_fields / keys / values ------------------------------------------

def test_has_fields_and_with_fields(r, conn, tbl):
    obj = r.expr({"a": 1, "b": None, "e": {"f": 2}})
    assert obj.has_fields("a").run(conn) is True
    assert obj.has_fields("b").run(conn) is False  # null counts as absent
    assert obj.has_fields({"e": "f"}).run(conn) is True
    assert obj.has_fields("a", {"e": "g"}).run(conn) is False
    rows = r.expr([{"a": 1, "b": 2}, {"a": 3}, {"b": 4}])
    assert rows.has_fields("a").run(conn) == [{"a": 1, "b": 2}, {"a": 3}]
    assert rows.with_fields("a", "b").run(conn) == [{"a": 1, "b": 2}]
    assert rows.with_fields("b").run(conn) == [{"b": 2}, {"b": 4}]
    assert tbl.has_fields("n").type_of().run(conn) == "SELECTION<STREAM>"
    assert tbl.with_fields("id").count().run(conn) == 5
    fails(r.expr({"a": 1}).with_fields("a"), conn, ReqlQueryLogicError, "Cannot convert OBJECT to SEQUENCE")


def test_keys_and_values_are_in_key_order(r, conn, tbl):
    assert r.expr({"b": 2, "a": 1, "c": {"d": 0}}).keys().run(conn) == ["a", "b", "c"]
    assert r.expr({"b": 2, "a": 1, "c": {"d": 0}}).values().run(conn) == [1, 2, {"d": 0}]
    assert tbl.get(0).keys().run(conn) == ["a", "id", "n"]
    fails(r.expr([1]).keys(), conn, ReqlQueryLogicError, "Cannot call `keys` on objects of type `ARRAY`.")


# -- arrays ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda r: r.expr([1, 2]).append(3), [1, 2, 3]),
        (lambda r: r.expr([1, 2]).prepend(0), [0, 1, 2]),
        (lambda r: r.expr([1, 2, 3]).insert_at(1, "x"), [1, "x", 2, 3]),
        (lambda r: r.expr([1, 2, 3]).insert_at(3, "x"), [1, 2, 3, "x"]),
        (lambda r: r.expr([1, 2, 3]).insert_at(-1, "x"), [1, 2, 3, "x"]),
        (lambda r: r.expr([1, 2, 3]).splice_at(1, ["x", "y"]), [1, "x", "y", 2, 3]),
        (lambda r: r.expr([1, 2, 3]).delete_at(0), [2, 3]),
        (lambda r: r.expr([1, 2, 3]).delete_at(-1), [1, 2]),
        (lambda r: r.expr([1, 2, 3, 4]).delete_at(1, 3), [1, 4]),
        (lambda r: r.expr([1, 2, 3, 4]).delete_at(4, 4), [1, 2, 3, 4]),
        (lambda r: r.expr([]).delete_at(0, 0), []),
        (lambda r: r.expr([1, 2, 3]).change_at(1, "x"), [1, "x", 3]),
        (lambda r: r.expr([1, 2, 2, 3, 1]).difference([2, 3]), [1, 1]),
        (lambda r: r.expr([1, 1, 2]).set_insert(3), [1, 2, 3]),
        (lambda r: r.expr([1, 1, 2]).set_insert(2), [1, 2]),
        (lambda r: r.expr([3, 1, 1]).set_union([2, 3]), [3, 1, 2]),
        (lambda r: r.expr([3, 1, 2, 1]).set_intersection([1, 2, 5]), [1, 2]),
        (lambda r: r.expr([3, 1, 2, 1]).set_difference([2]), [3, 1]),
        (lambda r: r.expr([1, 1.0, 2]).set_insert(1), [1, 2]),
        (lambda r: r.range(5).map(lambda x: x % 2).coerce_to("array").difference([0]), [1, 1]),
    ],
)
def test_array_terms(r, conn, make, expected):
    assert make(r).run(conn) == expected


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda r: r.expr([1, 2, 3]).insert_at(5, 0), ReqlNonExistenceError, "Index `5` out of bounds for array of size: `3`."),
        (lambda r: r.expr([1, 2, 3]).insert_at(-5, 0), ReqlNonExistenceError, "Index out of bounds: -5"),
        (lambda r: r.expr([1, 2, 3]).change_at(3, 0), ReqlNonExistenceError, "Index `3` out of bounds for array of size: `3`."),
        (lambda r: r.expr([1, 2, 3]).delete_at(3), ReqlNonExistenceError, "Index `3` out of bounds for array of size: `3`."),
        (lambda r: r.expr([1, 2, 3]).delete_at(2, 1), ReqlQueryLogicError, "Start index `2` is greater than end index `1`."),
        (lambda r: r.expr(1).append(2), ReqlQueryLogicError, "Expected type ARRAY but found NUMBER."),
        (lambda r: r.expr([1]).splice_at(0, 2), ReqlQueryLogicError, "Expected type ARRAY but found NUMBER."),
        (lambda r: r.expr([1]).set_union(2), ReqlQueryLogicError, "Expected type ARRAY but found NUMBER."),
    ],
)
def test_array_errors(r, conn, make, error, message):
    fails(make(r), conn, error, message)


def test_arrays_respect_the_array_limit(r, conn):
    with pytest.raises(ReqlResourceLimitError) as info:
        r.expr([1, 2, 3]).append(4).run(conn, array_limit=3)
    assert info.value.message == (
        "Array over size limit `3`.  To raise the number of allowed elements, modify the "
        "`array_limit` option to `.run` (not available in the Data Explorer), or use an index."
    )
    with pytest.raises(ReqlResourceLimitError):
        r.expr([1, 2]).splice_at(0, [3, 4]).run(conn, array_limit=3)
