"""Queries whose results must be RethinkDB's: filter on an object result,
concat_map over streams, non-function update values evaluated per row,
r.now() in writes, a top-level r.args, shard counts, -0.0, and r.minval /
r.maxval as keys of get and get_all."""

from __future__ import annotations

import uuid

import pytest
from rethinkdb.errors import ReqlNonExistenceError, ReqlOpFailedError, ReqlQueryLogicError, ReqlUserError


@pytest.fixture
def db(r, conn):
    name = "res_" + uuid.uuid4().hex[:10]
    r.db_create(name).run(conn)
    yield r.db(name)
    r.db_drop(name).run(conn)


@pytest.fixture
def tbl(conn, db):
    """Rows {id: i, a: "ab" * i} for i in 0..3, with a secondary index on ``a``."""
    db.table_create("t").run(conn)
    t = db.table("t")
    t.insert([{"id": i, "a": "ab" * i} for i in range(4)]).run(conn)
    t.index_create("a").run(conn)
    t.index_wait().run(conn)
    return t


def ids(query, conn) -> list:
    return sorted(row["id"] for row in query.run(conn))


# -- filter -----------------------------------------------------------------------

def test_filter_on_match_keeps_the_rows_that_match(r, conn, tbl):
    # match() gives an object (or null): truthy, not a pattern to compare with the row
    assert ids(tbl.filter(lambda row: row["a"].match("b")), conn) == [1, 2, 3]
    assert tbl.filter(lambda row: row["a"].match("^(ab)+$")).count().run(conn) == 3


def test_filter_matches_an_object_only_when_it_is_literally_the_body(r, conn, tbl):
    assert ids(tbl.filter({"a": "ab"}), conn) == [1]
    assert ids(tbl.filter(lambda row: {"a": "ab"}), conn) == [1]
    assert ids(tbl.filter(lambda row: {"a": row["a"]}), conn) == [0, 1, 2, 3]
    # an object computed by another term is just a true value
    assert ids(tbl.filter(lambda row: r.object("a", "ab")), conn) == [0, 1, 2, 3]
    assert ids(tbl.filter(lambda row: r.expr({"a": "x"}).merge({})), conn) == [0, 1, 2, 3]
    assert tbl.count(lambda row: row["a"].match("b")).run(conn) == 3


# -- concat_map ---------------------------------------------------------------------

def test_concat_map_to_streams_reads_every_outer_row(r, conn):
    assert list(r.range(3).concat_map(lambda x: r.range(2)).run(conn)) == [0, 1, 0, 1, 0, 1]
    assert list(r.range(4).concat_map(lambda x: r.range(x)).run(conn)) == [0, 0, 1, 0, 1, 2]
    mixed = r.range(4).concat_map(lambda x: r.branch(x % 2 == 0, [x], r.range(x, x + 2)))
    assert list(mixed.run(conn)) == [0, 1, 2, 2, 3, 4]


def test_concat_map_joins_two_tables_many_to_many(r, conn, db):
    db.table_create("l").run(conn)
    db.table_create("rt").run(conn)
    db.table("l").insert([{"id": i} for i in range(5)]).run(conn)
    db.table("rt").insert([{"id": j} for j in range(7)]).run(conn)
    pairs = db.table("l").concat_map(lambda a: db.table("rt").map(lambda b: [a["id"], b["id"]]))
    assert sorted(pairs.run(conn)) == [[i, j] for i in range(5) for j in range(7)]


# -- update / replace with values ----------------------------------------------------

def test_update_with_a_value_evaluates_it_for_each_row(r, conn, tbl):
    tbl.update({"v": r.random()}, non_atomic=True).run(conn)
    values = [row["v"] for row in tbl.run(conn)]
    assert len(set(values)) == 4
    tbl.replace(r.row.merge({"w": r.uuid()}), non_atomic=True).run(conn)
    assert len({row["w"] for row in tbl.run(conn)}) == 4


def test_a_non_deterministic_update_value_needs_non_atomic(r, conn, tbl):
    with pytest.raises(ReqlQueryLogicError) as info:
        tbl.update({"v": r.uuid()}).run(conn)
    assert info.value.message == "Could not prove argument deterministic.  Maybe you want to use the non_atomic flag?"


def test_r_now_is_fixed_for_the_query_so_writes_accept_it(r, conn, tbl):
    assert tbl.update({"at": r.now()}).run(conn)["replaced"] == 4
    assert tbl.update(lambda row: {"at2": r.now()}).run(conn)["replaced"] == 4
    assert len({row["at"] for row in tbl.run(conn)}) == 1
    with pytest.raises(ReqlQueryLogicError) as info:
        tbl.index_create("when", lambda row: r.now()).run(conn)
    assert info.value.message == "Could not prove function deterministic.  Index functions must be deterministic."


# -- r.args ---------------------------------------------------------------------------

def test_r_args_outside_an_argument_list_is_its_array(r, conn):
    assert r.args([10, 20, 30]).run(conn) == [10, 20, 30]
    assert r.args(r.expr([1, 2]).map(lambda x: x + 1)).run(conn) == [2, 3]
    assert r.expr({"a": r.args([1])}).run(conn) == {"a": [1]}
    assert r.args([1, r.args([2])]).run(conn) == [1, 2]
    with pytest.raises(ReqlQueryLogicError) as info:
        r.args(5).run(conn)
    assert info.value.message == "Expected type ARRAY but found NUMBER."


# -- shards ---------------------------------------------------------------------------

def test_table_create_keeps_the_number_of_shards(r, conn, db):
    created = db.table_create("s", shards=2).run(conn)
    assert len(created["config_changes"][0]["new_val"]["shards"]) == 2
    assert len(db.table("s").config()["shards"].run(conn)) == 2
    assert len(db.table("s").status()["shards"].run(conn)) == 2
    with pytest.raises(ReqlOpFailedError) as info:
        db.table_create("s99", shards=99).run(conn)
    assert info.value.message == "Maximum number of shards is 64."
    with pytest.raises(ReqlQueryLogicError) as info:
        db.table_create("s0", shards=0).run(conn)
    assert info.value.message == "Every table must have at least one shard."
    assert "s99" not in db.table_list().run(conn)


# -- -0.0 -----------------------------------------------------------------------------

def test_negative_zero_survives_in_documents_and_keys(r, conn, db):
    assert r.expr(-0.0).to_json_string().run(conn) == "-0.0"
    assert r.expr({"a": -0.0}).coerce_to("string").run(conn) == '{"a":-0.0}'
    assert r.expr(-0.0).info()["value"].run(conn) == "-0.0"
    db.table_create("z").run(conn)
    z = db.table("z")
    z.insert({"id": -0.0, "v": [-0.0]}).run(conn)
    assert z.get(0).to_json_string().run(conn) == '{"id":-0.0,"v":[-0.0]}'
    duplicate = z.insert({"id": 0}).run(conn)["first_error"]
    assert duplicate == 'Duplicate primary key `id`:\n{\n\t"id":\t-0.0,\n\t"v":\t[\n\t\t-0.0\n\t]\n}\n{\n\t"id":\t0\n}'


# -- r.minval / r.maxval and null as keys -----------------------------------------------

def test_minval_and_maxval_as_keys_match_nothing(r, conn, tbl):
    assert tbl.get(r.minval).run(conn) is None
    assert list(tbl.get_all(r.minval).run(conn)) == []
    assert ids(tbl.get_all(r.maxval, 1), conn) == [1]
    assert ids(tbl.get_all([r.minval], 2), conn) == [2]
    assert list(tbl.get_all(r.minval, index="a").run(conn)) == []
    assert ids(tbl.get_all(r.maxval, "abab", index="a"), conn) == [2]
    assert tbl.get_all(["x", r.maxval], index="a").count().run(conn) == 0


def test_null_and_object_keys_fail_as_in_rethinkdb(r, conn, tbl):
    with pytest.raises(ReqlNonExistenceError) as info:
        tbl.get_all(None, index="a").run(conn)
    assert info.value.message == "Keys cannot be NULL."
    with pytest.raises(ReqlNonExistenceError) as info:
        tbl.get_all(1, None).run(conn)
    assert info.value.message == "Keys cannot be NULL."
    with pytest.raises(ReqlNonExistenceError) as info:
        tbl.get(None).run(conn)
    assert info.value.message.startswith("Primary keys must be either a number, string, bool, pseudotype or array")
    with pytest.raises(ReqlNonExistenceError) as info:
        tbl.get([None]).run(conn)
    assert info.value.message == (
        "Array keys can only contain numbers, strings, bools,  pseudotypes, or arrays (got null of type NULL)."
    )
    with pytest.raises(ReqlQueryLogicError) as info:
        tbl.get_all({"a": 1}, index="a").run(conn)
    assert info.value.message == (
        'Secondary keys must be a number, string, bool, pseudotype, or array (got {\n\t"a":\t1\n} of type OBJECT).'
    )
    assert tbl.insert({"id": r.minval}).run(conn)["first_error"] == "`r.minval` and `r.maxval` cannot be written to disk."


def test_update_evaluates_its_value_per_row_and_replace_once(r, conn, tbl):
    result = tbl.update({"a": r.error("x")}).run(conn)
    assert result["errors"] == 4 and result["first_error"] == "x"
    with pytest.raises(ReqlUserError):  # replace evaluates a value once: its error is the query's
        tbl.get(1).replace(r.error("y")).run(conn)
    changes = tbl.get(1).update({"a": r.error("x")}, return_changes="always").run(conn)["changes"]
    assert changes == [{"error": "x", "new_val": {"id": 1, "a": "ab"}, "old_val": {"id": 1, "a": "ab"}}]


def test_insert_lists_documents_it_could_not_validate(r, conn, tbl):
    result = tbl.insert([{"id": 1}, "x", {"id": 89}], return_changes=True).run(conn)
    assert result["changes"] == [
        {"new_val": {"id": 89}, "old_val": None},
        {"error": "Expected type OBJECT but found STRING.", "new_val": None, "old_val": None},
    ]


def test_r_minval_and_r_maxval_order_as_sort_keys(r, conn):
    # below and above every value, as RethinkDB sorts them (no internal error)
    assert r.expr([3, 1]).order_by(lambda x: r.minval).run(conn) == [3, 1]
    assert r.expr([3, 1, 2]).order_by(lambda x: r.branch(x.eq(1), r.maxval, x)).run(conn) == [2, 3, 1]
    assert r.expr([3, 1, 2]).order_by(r.desc(lambda x: r.branch(x.eq(1), r.minval, x))).run(conn) == [3, 2, 1]
    assert r.expr([3, 1, 2]).order_by(lambda x: [1, r.branch(x.eq(3), r.minval, x)]).run(conn) == [3, 1, 2]
    with pytest.raises(ReqlQueryLogicError, match="Cannot convert `r.minval` to JSON"):
        r.expr([r.maxval, r.minval]).order_by(lambda x: x).run(conn)


@pytest.mark.parametrize("query_of, message", [
    (lambda r: r.expr(r.minval).add(1), "Expected type NUMBER but found MINVAL."),
    (lambda r: r.expr(1).add(r.maxval), "Expected type NUMBER but found MAXVAL."),
    (lambda r: r.expr(r.minval).keys(), "Cannot call `keys` on objects of type `MINVAL`."),
    (lambda r: r.expr(r.minval).upcase(), "Expected type STRING but found MINVAL."),
    # a message that would show the value cannot: r.minval has no JSON form
    (lambda r: r.expr(r.minval).year(), "Cannot convert `r.minval` to JSON."),
    (lambda r: r.expr([1]).group(lambda x: r.minval).count(), "Cannot convert `r.minval` to JSON."),
    (lambda r: r.expr([1]).map(lambda x: r.maxval).max(), "Cannot convert `r.maxval` to JSON."),
])
def test_r_minval_and_r_maxval_in_errors(r, conn, query_of, message):
    with pytest.raises(ReqlQueryLogicError) as info:
        query_of(r).run(conn)
    assert info.value.message == message


def test_r_minval_in_a_set(r, conn):
    assert r.expr([1]).set_insert(r.minval).count().run(conn) == 2
    assert r.expr([r.minval, 1]).set_difference([r.minval]).run(conn) == [1]


def test_r_args_in_a_function_body_and_in_union(r, conn):
    # a function's body is not an argument list: r.args there is its array, with the variables bound
    assert r.expr(1).do(lambda x: r.args([x, 2])).run(conn) == [1, 2]
    assert r.expr([1, 2]).map(lambda x: r.add(r.args([x, 1]))).run(conn) == [2, 3]
    assert r.expr([1]).union(r.args([[2], [3]])).run(conn) == [1, 2, 3]
    assert r.union(r.args([[1], [2]])).run(conn) == [1, 2]
    with pytest.raises(ReqlQueryLogicError, match="r.args is not supported in an order_by or union command yet"):
        r.expr([3, 1]).order_by(r.args(["a"])).run(conn)
