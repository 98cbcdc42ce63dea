"""Error texts the drivers' test suites compare verbatim, as RethinkDB 2.4
words them: limits, grant and index_rename, pseudo-types in r.json and in
datums, unknown optional arguments."""

from __future__ import annotations

import uuid

import pytest
from rawclient import RawClient
from rethinkdb.errors import (
    ReqlDriverError,
    ReqlNonExistenceError,
    ReqlOpFailedError,
    ReqlQueryLogicError,
    ReqlResourceLimitError,
    ReqlServerCompileError,
)

ARRAY_LIMIT = (
    "Array over size limit `5`.  To raise the number of allowed elements, modify the `array_limit` option to "
    "`.run` (not available in the Data Explorer), or use an index."
)


def message_of(query, conn, error: type, **opts) -> str:
    with pytest.raises(error) as info:
        query.run(conn, **opts)
    return info.value.message


@pytest.fixture
def db(r, conn):
    name = "et_" + uuid.uuid4().hex[:10]
    r.db_create(name).run(conn)
    yield r.db(name)
    r.db_drop(name).run(conn)


@pytest.mark.parametrize("query_of", [
    lambda r: r.range(10).coerce_to("array"),
    lambda r: r.expr([1, 2, 3, 4, 5, 6]),
    lambda r: r.expr([1, 2, 3]).union([4, 5, 6]),
    lambda r: r.range(10).distinct(),
])
def test_the_array_limit_error_says_how_to_raise_it(r, conn, query_of):
    assert message_of(query_of(r), conn, ReqlResourceLimitError, array_limit=5) == ARRAY_LIMIT


def test_split_respects_the_array_limit(r, conn):
    assert message_of(r.expr("a b c d e f").split(), conn, ReqlResourceLimitError, array_limit=5) == ARRAY_LIMIT
    assert message_of(r.expr("abcdef").split(""), conn, ReqlResourceLimitError, array_limit=5) == ARRAY_LIMIT
    assert r.expr("a b c d e").split().run(conn, array_limit=5) == ["a", "b", "c", "d", "e"]


def test_a_stream_becomes_an_object_pair_by_pair(r, conn):
    # no array is built, so the array limit does not apply; a bad pair is reported as it comes
    pairs = r.range(8).map(lambda x: [x.coerce_to("string"), x])
    assert pairs.coerce_to("object").run(conn, array_limit=5) == {str(i): i for i in range(8)}
    assert message_of(r.range(8).coerce_to("object"), conn, ReqlQueryLogicError, array_limit=5) == (
        "Expected type ARRAY but found NUMBER."
    )


def test_grouped_data_limits(r, conn):
    grouped = r.range(10).group(lambda x: x % 2)
    expected = "Grouped data over size limit `5`.  Try putting a reduction (like `.reduce` or `.count`) on the end."
    assert message_of(grouped, conn, ReqlResourceLimitError, array_limit=5) == expected
    assert message_of(grouped.ungroup(), conn, ReqlResourceLimitError, array_limit=5) == expected
    assert message_of(r.range(10).group(lambda x: x).count(), conn, ReqlResourceLimitError, array_limit=5) == (
        "Too many groups (> 5)."
    )


def test_grant_argument_errors(r, conn, db):
    user = "et_" + uuid.uuid4().hex[:6]
    r.db("rethinkdb").table("users").insert({"id": user, "password": ""}).run(conn)
    try:
        assert message_of(db.grant(user, {"read": 1}), conn, ReqlOpFailedError) == (
            "Expected a boolean or null for `read`, got 1."
        )
        assert message_of(r.grant(user, 1), conn, ReqlOpFailedError) == "Expected an object, got 1."
    finally:
        r.db("rethinkdb").table("users").get(user).delete().run(conn)


def test_index_rename_errors(r, conn, db):
    db.table_create("t").run(conn)
    t = db.table("t")
    t.index_create("a").run(conn)
    t.index_create("b").run(conn)
    name = db.config()["name"].run(conn) + ".t"
    assert message_of(t.index_rename("a", "b"), conn, ReqlOpFailedError) == (
        f"Index `a` does not exist or index `b` already exists on table `{name}`."
    )
    assert message_of(t.index_rename("nope", "x"), conn, ReqlOpFailedError) == (
        f"Index `nope` does not exist or index `x` already exists on table `{name}`."
    )
    assert message_of(t.index_rename("nope", "x", overwrite=True), conn, ReqlOpFailedError) == (
        f"Index `nope` does not exist on table `{name}`."
    )
    assert t.index_rename("a", "a").run(conn) == {"renamed": 0}


def test_r_json_takes_literals_where_datums_may_not(r, conn):
    literal = r.json('{"a": {"$reql_type$": "LITERAL", "value": 5}}')
    assert r.expr({"a": 1, "b": 2}).merge(literal).run(conn) == {"a": 5, "b": 2}
    assert r.expr({"a": {"b": 1}}).merge(r.json('{"a": {"$reql_type$": "LITERAL"}}')).run(conn) == {}
    assert r.json('{"$reql_type$": "LITERAL", "value": 1}').type_of().run(conn) == "PTYPE<LITERAL>"
    assert literal.keys().run(conn) == ["a"]
    with pytest.raises(ReqlDriverError):  # the driver cannot read a literal, as with RethinkDB
        r.json('{"$reql_type$": "LITERAL", "value": 1}').run(conn)
    assert message_of(literal["a"]["value"], conn, ReqlQueryLogicError) == (
        "Cannot call `bracket` on objects of type `PTYPE<LITERAL>`."
    )
    assert message_of(r.json('{"$reql_type$": "LITERAL", "value": 1, "x": 2}'), conn, ReqlQueryLogicError) == (
        "Invalid literal term with illegal key `x`."
    )
    stray = r.expr({"a": 1}).merge({"a": {"$reql_type$": "LITERAL", "value": 5}})
    assert message_of(stray, conn, ReqlQueryLogicError).startswith("Stray literal keyword found")


def test_pseudo_type_datum_errors(r, conn):
    assert message_of(r.expr({"$reql_type$": "FOO"}), conn, ReqlQueryLogicError) == "Unknown $reql_type$ `PTYPE<FOO>`."
    assert message_of(r.json('{"$reql_type$": "GROUPED_DATA", "data": []}'), conn, ReqlQueryLogicError) == (
        "Unknown $reql_type$ `PTYPE<GROUPED_DATA>`."
    )
    assert message_of(r.expr({"$reql_type$": 1}), conn, ReqlQueryLogicError) == (
        'Error: Field `$reql_type$` must be a string (got `1` of type NUMBER):\n{\n\t"$reql_type$":\t1\n}'
    )
    assert message_of(r.json("1 2"), conn, ReqlQueryLogicError) == (
        'Failed to parse "1 2" as JSON: The document root must not follow by other values.'
    )


def test_an_unknown_optional_argument_marks_its_value(r, conn):
    with pytest.raises(ReqlServerCompileError) as info:
        r.table("x").insert({}, foo=1).run(conn)
    assert info.value.message == "Unrecognized optional argument `foo`."
    assert str(info.value).endswith("\n" + " " * len("r.table('x').insert(r.expr({}), foo=") + "^ ")


def test_names_and_admin_options_mark_their_argument(r, conn):
    from rethinkdb.errors import ReqlError

    def mark(query) -> str:
        with pytest.raises(ReqlError) as info:
            query.run(conn)
        lines = str(info.value).split("\n")
        return "".join(ch for ch, m in zip(lines[-2], lines[-1]) if m == "^")

    assert mark(r.db_create("bad name")) == "'bad name'"
    assert mark(r.db("test").table("bad name")) == "'bad name'"
    assert mark(r.table_create("bad name")) == "'bad name'"
    assert mark(r.db("test").wait(wait_for="x")) == "'x'"
    assert mark(r.db("test").wait(timeout="x")) == "'x'"
    with pytest.raises(ReqlQueryLogicError) as info:
        r.expr([["a", 1], ["a", 2]]).coerce_to("object").run(conn)
    assert info.value.message == 'Duplicate key "a" in coerced object.  (got 1 and 2 as values)'


def test_comparisons_take_two_or_more_arguments(r, conn):
    for query in (r.expr(1).eq(), r.expr(1).ne(), r.expr(1).lt(), r.expr(1).ge()):
        assert message_of(query, conn, ReqlServerCompileError) == "Expected 2 or more arguments but found 1."


def test_a_null_row_has_no_field(r, conn):
    assert r.expr([None, {"a": 1}])["a"].run(conn) == [1]
    assert r.expr([None, {"a": 1}]).has_fields("a").run(conn) == [{"a": 1}]
    assert message_of(r.expr([None, 1])["a"], conn, ReqlQueryLogicError) == (
        "Cannot perform bracket on a non-object non-sequence `1`."
    )


def test_regular_expressions_are_those_of_rethinkdbs_re2(r, conn):
    assert message_of(r.expr("abc").match("(?<n>b)"), conn, ReqlQueryLogicError) == (
        "Error in regexp `(?<n>b)` (portion `(?<`): invalid perl operator: (?<"
    )
    assert r.expr("abc").match("(?P<n>b)")["groups"][0]["str"].run(conn) == "b"


def test_indexed_distinct_needs_a_table(r, conn):
    assert message_of(r.expr([1]).distinct(index="a"), conn, ReqlQueryLogicError) == (
        "Can only perform an indexed distinct on a TABLE."
    )


def test_bytes_that_are_not_utf8(r, conn):
    assert message_of(r.binary(b"ab\xff").coerce_to("string"), conn, ReqlQueryLogicError) == (
        "String `ab` (truncated) is not a UTF-8 string; Invalid initial byte seen at position 2."
    )
    assert message_of(r.binary(b"ab\xc3").coerce_to("string"), conn, ReqlQueryLogicError) == (
        "String `ab` (truncated) is not a UTF-8 string; Expected continuation byte, saw end of string at position 2."
    )
    assert message_of(r.binary(b"a" * 30 + b"\xc3x").coerce_to("string"), conn, ReqlQueryLogicError) == (
        "String `aaaaaaaaaaaaaaaaaaaa` (truncated) is not a UTF-8 string; "
        "Expected continuation byte, saw something else at position 30."
    )


def test_coerce_to_type_names(r, conn):
    for name in ("sequence", "selection", "single_selection", "grouped_stream"):
        assert message_of(r.expr(1).coerce_to(name), conn, ReqlQueryLogicError) == f"Unknown Type: {name.upper()}"
    assert r.expr(1).coerce_to("datum").run(conn) == 1
    assert list(r.range(3).coerce_to("stream").run(conn)) == [0, 1, 2]


def test_a_datum_indexed_by_a_number_must_be_an_array(r, conn):
    assert message_of(r.expr("abc")[0], conn, ReqlQueryLogicError) == "Cannot convert STRING to SEQUENCE"
    with pytest.raises(ReqlNonExistenceError):
        r.expr(None)[0].run(conn)


def test_binaries_print_compactly_in_messages(r, conn):
    assert r.binary(b"a").info()["value"].run(conn) == '{"$reql_type$":"BINARY","data":"YQ=="}'
    printed = r.expr({"b": [r.binary(b"a")], "a": r.binary(b"")}).info()["value"].run(conn)
    assert printed == (
        '{\n\t"a":{"$reql_type$":"BINARY","data":""},\n\t"b":\t[{"$reql_type$":"BINARY","data":"YQ=="}\n\t]\n}'
    )


@pytest.mark.parametrize("password, message", [
    (1, "Expected an object, string or boolean for `password`, got 1."),
    (None, "Expected an object, string or boolean for `password`, got null."),
    ({}, "Expected a field named `iterations`."),
    ({"password": "a"}, "Expected a field named `iterations`."),
    ({"password": "a", "iterations": 0}, "Expected `iterations` to be an integer greater than zero, got 0."),
    ({"password": "a", "iterations": 1.5}, "Expected `iterations` to be an integer greater than zero, got 1.5."),
    ({"iterations": 1}, "Expected a field named `password`."),
    ({"password": 1, "iterations": 1}, "Expected `password` to be a string, got 1."),
    ({"password": "a", "iterations": 1, "x": 2}, "Unexpected key(s) `x`."),
])
def test_password_errors_of_the_users_table(r, conn, password, message):
    users = r.db("rethinkdb").table("users")
    name = "et_" + uuid.uuid4().hex[:6]
    users.insert({"id": name, "password": False}).run(conn)
    try:
        assert users.get(name).update({"password": password}).run(conn)["first_error"] == message
    finally:
        users.get(name).delete().run(conn)


def test_a_user_row_needs_a_password_before_anything_else(r, conn):
    users = r.db("rethinkdb").table("users")
    name = "et_" + uuid.uuid4().hex[:6]
    assert users.insert({"id": name, "foo": 1}).run(conn)["first_error"] == "Expected a field named `password`."
    assert users.insert({"id": name, "password": 1, "foo": 1}).run(conn)["first_error"] == "Unexpected key(s) `foo`."


@pytest.mark.parametrize("term, message", [
    ([69, [1, 2]], "CLIENT ERROR: FUNC variables must be a literal *array* of numbers."),
    ([69, [[2, ["a"]], 1]], "CLIENT ERROR: FUNC variables must be a literal array of *numbers*."),
    ([69, [[2, [1]], 1], {"x": 1}], "FUNC takes no optional arguments."),
    ([69, [[2, [1]], [10, [1]], 3]], "FUNC takes exactly two arguments (got 3)"),
    ([10, ["a"]], "A variable term has a non-numeric name datum."),
    ([10, []], "A variable term has the wrong number of arguments."),
    ([64, [[69, [[2, [1.5]], [10, [1.5]]]], 7]], "Number not an integer: 1.5"),
    ([3, [1, 2]], "MAKE_OBJ term must not have any args."),
    ([13, [1]], "Expected no arguments or optional arguments on implicit variable term."),
    ([13, [], {"a": 1}], "Expected no arguments or optional arguments on implicit variable term."),
    ([73, []], "ASC may only be used as an argument to ORDER_BY or UNION."),
    ([74, [1, 2]], "DESC may only be used as an argument to ORDER_BY or UNION."),
])
def test_malformed_functions_and_variables(server, term, message):
    # no driver sends these; RethinkDB's words for them still reach whoever does
    client = RawClient(server.host, server.port)
    try:
        response = client.query(1, [1, term, {}])
    finally:
        client.close()
    assert response["t"] == 17 and response["r"] == [message]


def test_order_by_checks_its_sequence_before_its_keys(r, conn):
    with pytest.raises(ReqlQueryLogicError) as info:
        r.expr(1).order_by(1).run(conn)
    assert info.value.message == "Cannot convert NUMBER to SEQUENCE"


def test_map_checks_its_sequences_before_its_function(r, conn):
    # r.map(seq, seq, function): a function given as a sequence is reported first
    with pytest.raises(ReqlQueryLogicError) as info:
        r.map([1], lambda: 1, 3).run(conn)
    assert info.value.message == "Expected type SEQUENCE but found FUNCTION:\nVALUE FUNCTION"


@pytest.mark.parametrize("query_of, message", [
    # the sequence is read before the function, the base, the table or the field
    (lambda r: r.expr(1).reduce(1), "Cannot convert NUMBER to SEQUENCE"),
    (lambda r: r.expr(1).fold(1, 1), "Cannot convert NUMBER to SEQUENCE"),
    (lambda r: r.expr(1).concat_map(1), "Cannot convert NUMBER to SEQUENCE"),
    (lambda r: r.expr(1).eq_join(1, 1), "Cannot convert NUMBER to SEQUENCE"),
    (lambda r: r.expr(1).sum(1), "Cannot convert NUMBER to SEQUENCE"),
    # get_field checks the object before the name; sample reads its size first
    (lambda r: r.expr(1).get_field(1), "Cannot perform get_field on a non-object non-sequence `1`."),
    (lambda r: r.expr({}).get_field(1), "Expected type STRING but found NUMBER."),
    (lambda r: r.expr(1).sample("a"), "Expected type NUMBER but found STRING."),
    (lambda r: r.expr(1).distinct(index=1), "Can only perform an indexed distinct on a TABLE."),
])
def test_which_argument_is_reported_first(r, conn, query_of, message):
    with pytest.raises(ReqlQueryLogicError) as info:
        query_of(r).run(conn)
    assert info.value.message == message
