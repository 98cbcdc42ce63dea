"""Which part of a query an error marks (the backtrace the drivers underline
with ``^^^``), and the wording of type errors, as RethinkDB 2.4 gives them.

RethinkDB's rule: an error found while converting an argument's value (as a
number, a string, a function...) marks that argument; an error found by the
term's own work on datums (arithmetic, array and object operations, turning a
datum into a sequence) marks the whole term; an error about a function marks
its body."""

from __future__ import annotations

import pytest
from rethinkdb.errors import ReqlError, ReqlNonExistenceError, ReqlQueryLogicError


def marked(query, conn) -> tuple[str, str]:
    """(message, the part of the printed query marked with ^^^)."""
    with pytest.raises(ReqlError) as info:
        query.run(conn)
    text = str(info.value)
    _, printed = text.split(" in:\n", 1)
    lines = printed.split("\n")
    marks = "".join(ch for q, c in zip(lines[::2], lines[1::2]) for ch, m in zip(q, c) if m == "^")
    return info.value.message, marks


@pytest.mark.parametrize("query_of, message, mark", [
    (lambda r: r.expr(1).add("a"), "Expected type NUMBER but found STRING.", "(r.expr(1) + r.expr('a'))"),
    (lambda r: r.expr("a").add(1), "Expected type STRING but found NUMBER.", "(r.expr('a') + r.expr(1))"),
    (lambda r: r.expr(True).add(1), "Expected type NUMBER but found BOOL.", "(r.expr(True) + r.expr(1))"),
    (lambda r: r.expr(1).div(0), "Cannot divide by zero.", "(r.expr(1) / r.expr(0))"),
    (lambda r: r.expr([1]).mul(-1), "Cannot multiply an ARRAY by a negative number.", "(r.expr([1]) * r.expr(-1))"),
    (lambda r: r.expr(1e308).mul(10), "Non-finite number: inf", "(r.expr(1e+308) * r.expr(10))"),
])
def test_arithmetic_errors_mark_the_whole_operation(r, conn, query_of, message, mark):
    assert marked(query_of(r), conn) == (message, mark)


def test_an_error_inside_a_function_marks_the_failing_term(r, conn):
    message, mark = marked(r.expr(2).do(lambda x: x.add("a")), conn)
    assert message == "Expected type NUMBER but found STRING."
    assert mark.endswith(" + r.expr('a'))") and mark.startswith("(var_")


@pytest.mark.parametrize("query_of, message, mark", [
    (lambda r: r.expr(1).append(1), "Expected type ARRAY but found NUMBER.", "r.expr(1).append(1)"),
    (lambda r: r.expr([1]).set_union(1), "Expected type ARRAY but found NUMBER.", "r.expr([1]).set_union(1)"),
    (lambda r: r.expr([1]).insert_at("a", 1), "Expected type NUMBER but found STRING.", "r.expr([1]).insert_at('a', 1)"),
    (lambda r: r.expr("abc").difference(["a"]), "Cannot convert STRING to SEQUENCE", "r.expr('abc').difference(['a'])"),
    (lambda r: r.expr(1).nth(0), "Cannot convert NUMBER to SEQUENCE", "r.expr(1).nth(0)"),
    (lambda r: r.expr([1]).union(1), "Cannot convert NUMBER to SEQUENCE", "r.expr([1]).union(1)"),
])
def test_datum_errors_of_array_and_sequence_terms_mark_the_term(r, conn, query_of, message, mark):
    assert marked(query_of(r), conn) == (message, mark)


def test_errors_about_a_function_mark_its_body(r, conn):
    assert marked(r.expr([1]).filter(lambda x, y: x), conn)[1].startswith("var_")
    assert marked(r.expr(1).do(lambda x, y: x), conn)[0] == (
        "Expected function with 1 argument but found function with 2 arguments."
    )
    message, mark = marked(r.expr([]).reduce(lambda a, b: a), conn)
    assert message == "Cannot reduce over an empty stream." and mark.startswith("var_")
    message, mark = marked(r.expr([1]).concat_map(lambda x: 1), conn)
    assert message == "Cannot convert NUMBER to SEQUENCE" and mark.startswith("lambda ")
    message, mark = marked(r.expr([1]).fold(0, lambda x: x), conn)
    assert message == "The accumulator function passed to `fold` should expect 2 arguments."


def test_a_field_name_given_for_a_function_is_marked(r, conn):
    assert marked(r.expr([1]).sum("a"), conn) == ("Cannot perform get_field on a non-object non-sequence `1`.", "'a'")
    assert marked(r.expr([1, 2]).order_by(r.desc("b")), conn)[1] == "'b'"


def test_argument_conversions_mark_the_argument(r, conn):
    assert marked(r.expr([1]).nth("a"), conn) == ("Expected type NUMBER but found STRING.", "'a'")
    assert marked(r.db("test").table_create("x", shards=0), conn) == ("Every table must have at least one shard.", "0")
    assert marked(r.expr(1).bit_and(1.5), conn) == ("Number not an integer: 1.5", "1.5")


def test_reading_a_stream_into_an_array_past_the_limit_marks_the_whole_query(r, conn):
    # RethinkDB checks that limit at the top level: the error has no backtrace of its own
    query = r.expr(1).do(lambda x: r.range(10).coerce_to("array"))
    with pytest.raises(ReqlError) as info:
        query.run(conn, array_limit=5)
    assert info.value.message.startswith("Array over size limit `5`.")
    assert info.value.frames == []


def test_reading_an_infinite_stream_marks_the_stream(r, conn):
    for target in ("array", "object"):
        message, mark = marked(r.expr(1).do(lambda x: r.range().coerce_to(target)), conn)
        assert message.startswith("Cannot use an infinite stream") and mark == "r.range()"


def test_bit_operations_as_in_rethinkdb(r, conn):
    assert marked(r.expr(2**53).bit_and(1), conn)[0] == "Integer too large: 9007199254740992"
    assert marked(r.expr(-2**60).bit_or(1), conn)[0] == "Number not an integer (<-2^53): -1152921504606846976"
    assert marked(r.expr(1).bit_sal(-1), conn) == ("Cannot bit-shift by a negative value.", "r.bit_sal(r.expr(1), r.expr(-1))")
    assert r.expr(1).bit_sal(63).run(conn) == 2.0**63  # shifted in doubles, no wrap-around
    assert r.expr(1).bit_sal(70).run(conn) == 2.0**70
    assert r.expr(-5).bit_sar(1).run(conn) == -3
    assert marked(r.expr(1).bit_sal(2**53), conn)[0] == "Non-finite number: inf"


def test_integers_beyond_2_53_are_doubles(r, conn):
    value = r.expr(2**60).run(conn)
    assert isinstance(value, float) and value == 2.0**60


# -- object terms ---------------------------------------------------------------------

@pytest.mark.parametrize("query_of, message", [
    (lambda r: r.now().keys(), "Cannot call `keys` on objects of type `PTYPE<TIME>`."),
    (lambda r: r.now().values(), "Cannot call `values` on objects of type `PTYPE<TIME>`."),
    (lambda r: r.now()["epoch_time"], "Cannot call `bracket` on objects of type `PTYPE<TIME>`."),
    (lambda r: r.now().get_field("epoch_time"), "Cannot call `get_field` on objects of type `PTYPE<TIME>`."),
    (lambda r: r.now().pluck("epoch_time"), "Cannot call `pluck` on objects of type `PTYPE<TIME>`."),
    (lambda r: r.now().without("epoch_time"), "Cannot call `without` on objects of type `PTYPE<TIME>`."),
    (lambda r: r.now().merge({"a": 1}), "Cannot call `merge` on objects of type `PTYPE<TIME>`."),
    (lambda r: r.now().has_fields("epoch_time"), "Cannot call `has_fields` on objects of type `PTYPE<TIME>`."),
    (lambda r: r.now().with_fields("epoch_time"), "Cannot call `has_fields` on objects of type `PTYPE<TIME>`."),
    (lambda r: r.expr({"a": 1}).merge(r.now()), "Cannot merge objects of type `PTYPE<TIME>`."),
])
def test_pseudo_types_are_opaque_to_object_terms(r, conn, query_of, message):
    assert marked(query_of(r), conn) == (message, "r.now()")


def test_pseudo_types_in_sequences_fail_at_the_term(r, conn):
    query = r.expr([r.now()]).pluck("epoch_time")
    assert marked(query, conn) == ("Cannot call `pluck` on objects of type `PTYPE<TIME>`.", "r.expr([r.now()]).pluck('epoch_time')")
    geometry = r.expr({"$reql_type$": "GEOMETRY", "type": "Point", "coordinates": [1, 2]})
    assert marked(geometry.keys(), conn)[0] == "Cannot call `keys` on objects of type `PTYPE<GEOMETRY>`."
    message, _ = marked(r.binary(b"ab").pluck("data"), conn)
    assert message == 'Cannot perform pluck on a non-object non-sequence `{"$reql_type$":"BINARY","data":"YWI="}`.'
    assert r.now().count().run(conn) == 3


def test_keys_of_a_non_object_name_the_term(r, conn):
    assert marked(r.expr("a").keys(), conn) == ("Cannot call `keys` on objects of type `STRING`.", "'a'")
    with pytest.raises(ReqlQueryLogicError) as info:
        r.expr(None).values().default(5).run(conn)
    assert info.value.message == "Cannot call `values` on objects of type `NULL`."


def test_with_fields_and_bracket_errors(r, conn):
    assert marked(r.expr(1).with_fields("a"), conn) == ("Cannot perform has_fields on a non-object non-sequence `1`.", "1")
    assert marked(r.expr([1]).with_fields("a"), conn)[0] == "Cannot perform has_fields on a non-object non-sequence `1`."
    assert marked(r.expr([1, 2])["a"], conn)[0] == "Cannot perform bracket on a non-object non-sequence `1`."
    assert marked(r.expr({"a": 1})[1], conn)[0] == "Cannot convert OBJECT to SEQUENCE"
    with pytest.raises(ReqlNonExistenceError):
        r.expr({"a": 1})[None].run(conn)


# -- sequences and tables -----------------------------------------------------------

@pytest.fixture
def table(r, conn):
    import uuid

    db = "bt_" + uuid.uuid4().hex[:8]
    r.db_create(db).run(conn)
    r.db(db).table_create("t").run(conn)
    r.db(db).table("t").insert([{"id": i, "a": i} for i in range(3)]).run(conn)
    yield r.db(db).table("t")
    r.db_drop(db).run(conn)


def test_sequences_are_described_as_in_rethinkdb(r, conn, table):
    message, _ = marked(table.filter({}).do(lambda x: x), conn)
    assert message == "Expected type DATUM but found SELECTION:\nSELECTION ON table(t)"
    assert marked(table.between(1, 2).do(lambda x: x), conn)[0] == "Expected type DATUM but found TABLE_SLICE:\nSELECTION ON table(t)"
    assert marked(r.range(3).do(lambda x: x), conn)[0] == "Expected type DATUM but found SEQUENCE:\nVALUE SEQUENCE"
    assert marked(r.expr([1]).union(lambda x: x), conn)[0] == "Expected type SEQUENCE but found FUNCTION:\nVALUE FUNCTION"


def test_an_ordered_selection_is_not_a_datum(r, conn, table):
    for query in (table.order_by("a").add(1), table.order_by("a").append(1), table.order_by("a").do(lambda x: x)):
        message, mark = marked(query, conn)
        assert message == "Expected type DATUM but found SELECTION:\nSELECTION ON table(t)"
        assert mark.endswith(".order_by('a')")
    assert table.order_by("a").coerce_to("array").count().run(conn) == 3
    assert table.order_by("a").nth(0)["id"].run(conn) == 0


def test_an_index_is_checked_when_it_is_read(r, conn, table):
    message, _ = marked(table.get_all(1, index="nope").do(lambda x: x), conn)
    assert message.startswith("Expected type DATUM but found SELECTION")
    message, mark = marked(table.get_all(1, index="nope").count(), conn)
    assert message.startswith("Index `nope` was not found on table") and mark.endswith(".count()")
    assert marked(table.index_status("zz", "bar"), conn)[0].startswith("Index `bar` was not found")


def test_option_values_and_coerced_values_are_marked(r, conn, table):
    message, mark = marked(table.replace({"id": 1}, durability="softt"), conn)
    assert message == 'Durability option `softt` unrecognized (options are "hard" and "soft").' and mark == "'softt'"
    assert marked(r.expr(2).coerce_to("ARRAY"), conn) == ("Cannot coerce NUMBER to ARRAY.", "2")
    assert marked(r.expr(1).coerce_to("foo"), conn) == ("Unknown Type: FOO", "r.expr(1).coerce_to('foo')")


def test_joins_and_zip(r, conn):
    assert r.expr([1]).outer_join([1], 1).run(conn) == [{"left": 1, "right": 1}]  # a constant predicate
    assert marked(r.expr([1]).zip(), conn) == ("Expected type OBJECT but found NUMBER.", "r.expr([1]).zip()")


def test_compile_errors_mark_the_term_at_fault(r, conn):
    query = r.expr({"a": 1}).merge({"a": r.literal(1, 2)})
    with pytest.raises(ReqlError) as info:
        query.run(conn)
    assert info.value.message == "Expected between 0 and 1 arguments but found 2."
    lines = str(info.value).split("\n")
    assert "".join(ch for ch, m in zip(lines[-2], lines[-1]) if m == "^") == "r.literal(1, 2)"


def test_write_options_mark_their_values(r, conn, table):
    assert marked(table.insert({"id": 1}, conflict="foo"), conn) == (
        'Conflict option `foo` unrecognized (options are "error", "replace" and "update").', "'foo'"
    )
    assert marked(table.insert({"id": 1}, return_changes="foo"), conn)[0] == (
        "Invalid return_changes value `foo` (options are `true`, `false`, and `'always'`.)"
    )
    assert marked(table.between(None, 2), conn)[1] == "None"
    assert marked(table.between(1, 2, index=1), conn) == ("Expected type STRING but found NUMBER.", "1")
    assert marked(r.expr([1, 2]).slice(0, 1, left_bound="x"), conn)[0] == (
        'Expected `open` or `closed` for optarg `left_bound` (got `"x"`).'
    )
    assert marked(r.expr([1, 2]).slice(0, 1, left_bound=1), conn) == ("Expected type STRING but found NUMBER.", "1")


def test_index_functions_must_be_functions(r, conn, table):
    assert marked(table.index_create("c", 1), conn) == ("Expected type FUNCTION but found DATUM:\n1", "1")
    with pytest.raises(ReqlNonExistenceError):
        table.index_create("c", None).run(conn)


def test_literal_is_stray_in_a_filter_function(r, conn, table):
    message, mark = marked(table.filter(lambda x: {"a": r.literal(1)}), conn)
    assert message.startswith("Stray literal keyword found") and mark == "r.literal(1)"
    assert table.filter({"a": r.literal(1)}).count().run(conn) == 1
    assert r.expr({"a": {"b": 1}}).merge(lambda x: {"a": r.literal(1)}).run(conn) == {"a": 1}


def test_for_each_of_null_is_a_missing_value(r, conn, table):
    with pytest.raises(ReqlNonExistenceError) as info:
        r.expr([99]).for_each(lambda x: table.get(x)).run(conn)
    assert info.value.message == "FOR_EACH expects one or more basic write queries.  Expected type ARRAY but found NULL."


def test_an_option_of_the_wrong_type_marks_the_option(r, conn):
    assert marked(r.db("test").table("x", read_mode=1), conn) == ("Expected type STRING but found NUMBER.", "1")
    assert marked(r.db("test").table("x", identifier_format=1), conn) == ("Expected type STRING but found NUMBER.", "1")
    # an unknown read mode marks the term; an unknown repair mode its option
    assert marked(r.db("test").table("x", read_mode="x"), conn)[1] == "r.db('test').table('x', read_mode='x')"
    for target in (r.db("rethinkdb").table("jobs"), r.db("test")):  # checked before the target
        message, mark = marked(target.reconfigure(emergency_repair="x"), conn)
        assert message == '`emergency_repair` should be "unsafe_rollback" or "unsafe_rollback_or_erase"'
        assert mark == "'x'"
        assert marked(target.reconfigure(emergency_repair=1), conn) == ("Expected type STRING but found NUMBER.", "1")
