"""Datum-level terms through the official driver: type_of, coerce_to, info,
json / to_json_string, binary, object, default, error, branch, do, uuid."""

from __future__ import annotations

import uuid

import pytest
from rethinkdb.errors import ReqlCompileError, ReqlNonExistenceError, ReqlQueryLogicError, ReqlUserError


def run(q, conn, **opts):
    return q.run(conn, **opts)


@pytest.fixture(scope="module")
def table(server):
    from rethinkdb import r

    c = r.connect(host=server.host, port=server.port)
    db = "datum_" + uuid.uuid4().hex[:8]
    r.db_create(db).run(c)
    r.db(db).table_create("t").run(c)
    r.db(db).table("t").insert([{"id": i, "g": i % 2} for i in range(4)]).run(c)
    yield r.db(db).table("t")
    r.db_drop(db).run(c)
    c.close()


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda r: r.expr(None), "NULL"),
        (lambda r: r.expr(True), "BOOL"),
        (lambda r: r.expr(1.5), "NUMBER"),
        (lambda r: r.expr("a"), "STRING"),
        (lambda r: r.expr([1]), "ARRAY"),
        (lambda r: r.expr({"a": 1}), "OBJECT"),
        (lambda r: r.binary(b"x"), "PTYPE<BINARY>"),
        (lambda r: r.epoch_time(0), "PTYPE<TIME>"),
        (lambda r: r.range(2), "STREAM"),
        (lambda r: r.db("test"), "DB"),
        (lambda r: r.expr(lambda x: x), "FUNCTION"),
        (lambda r: r.minval, "MINVAL"),
    ],
)
def test_type_of(r, conn, make, expected):
    assert run(make(r).type_of(), conn) == expected


def test_type_of_tables_and_selections(r, conn, table):
    assert run(table.type_of(), conn) == "TABLE"
    assert run(table.get(1).type_of(), conn) == "SELECTION<OBJECT>"
    assert run(table.filter({"g": 1}).type_of(), conn) == "SELECTION<STREAM>"
    assert run(table.between(0, 2).type_of(), conn) == "TABLE_SLICE"
    assert run(table.group("g").type_of(), conn) == "GROUPED_STREAM"
    assert run(table.group("g").count().type_of(), conn) == "GROUPED_DATA"


@pytest.mark.parametrize(
    "value, target, expected",
    [
        (1, "string", "1"),
        (1.5, "STRING", "1.5"),
        (1e20, "string", "100000000000000000000.0"),
        (1e21, "string", "1e21"),
        (None, "string", "null"),
        ({"b": [1, "x"], "a": None}, "string", '{"a":null,"b":[1,"x"]}'),
        ("-1.2", "number", -1.2),
        (" 12", "number", 12),
        ("0xa", "number", 10),
        ("1e3", "number", 1000),
        (0, "bool", True),
        (None, "bool", False),
        ("false", "bool", True),
        ({"a": 1, "b": 2}, "array", [["a", 1], ["b", 2]]),
        ([["a", 1], ["b", 2]], "object", {"a": 1, "b": 2}),
        ([], "object", {}),
        ("foo", "binary", b"foo"),
        (None, "null", None),
        ([1], "array", [1]),
    ],
)
def test_coerce_to(r, conn, value, target, expected):
    assert run(r.expr(value).coerce_to(target), conn) == expected


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda r: r.expr("--1.2").coerce_to("number"), "Could not coerce `--1.2` to NUMBER."),
        (lambda r: r.expr("1.2 ").coerce_to("number"), "Could not coerce `1.2 ` to NUMBER."),
        (lambda r: r.expr("1_000").coerce_to("number"), "Could not coerce `1_000` to NUMBER."),
        (lambda r: r.expr("inf").coerce_to("number"), "Non-finite number: inf"),
        (lambda r: r.expr(1).coerce_to("array"), "Cannot coerce NUMBER to ARRAY."),
        (lambda r: r.expr("ab").coerce_to("array"), "Cannot coerce STRING to ARRAY."),
        (lambda r: r.binary(b"a").coerce_to("number"), "Cannot coerce BINARY to NUMBER."),
        (lambda r: r.expr(1).coerce_to("nothing"), "Unknown Type: NOTHING"),
        (lambda r: r.expr([["a", 1, 2]]).coerce_to("object"), "Expected array of size 2, but got size 3."),
        (lambda r: r.expr([[1, 2]]).coerce_to("object"), "Expected type STRING but found NUMBER."),
        (lambda r: r.expr([["a", 1], ["a", 2]]).coerce_to("object"),
         'Duplicate key "a" in coerced object.  (got 1 and 2 as values)'),
        (lambda r: r.db("test").coerce_to("array"), "Cannot coerce DATABASE to ARRAY."),
    ],
)
def test_coerce_to_errors(r, conn, make, message):
    with pytest.raises(ReqlQueryLogicError) as e:
        run(make(r), conn)
    assert e.value.message == message


def test_coerce_sequences(r, conn, table):
    assert run(r.range(3).coerce_to("array"), conn) == [0, 1, 2]
    assert run(table.coerce_to("array").count(), conn) == 4
    assert run(table.coerce_to("table").type_of(), conn) == "TABLE"
    assert run(r.range(2).map(lambda x: [x.coerce_to("string"), x]).coerce_to("object"), conn) == {"0": 0, "1": 1}
    grouped = run(table.group("g").coerce_to("array"), conn, group_format="raw")
    assert grouped["$reql_type$"] == "GROUPED_DATA"
    assert sorted(len(rows) for _, rows in grouped["data"]) == [2, 2]
    with pytest.raises(ReqlQueryLogicError, match="infinite stream"):
        run(r.range().coerce_to("array"), conn)


def test_info_of_datums(r, conn):
    assert run(r.expr(None).info(), conn) == {"type": "NULL"}
    assert run(r.minval.info(), conn) == {"type": "MINVAL"}
    assert run(r.expr("1").info(), conn) == {"type": "STRING", "value": '"1"'}
    assert run(r.expr([1, 2]).info(), conn) == {"type": "ARRAY", "value": "[\n\t1,\n\t2\n]"}
    assert run(r.expr({"a": {}}).info(), conn) == {"type": "OBJECT", "value": '{\n\t"a":\t{}\n}'}
    assert run(r.binary(b"ab").info()["count"], conn) == 2


def test_info_of_tables(r, conn, table):
    info = run(table.info(), conn)
    assert info["type"] == "TABLE" and info["name"] == "t" and info["primary_key"] == "id"
    assert info["db"]["type"] == "DB" and info["doc_count_estimates"] == [4]
    assert run(table.filter({"g": 1}).info()["type"], conn) == "SELECTION<STREAM>"
    between = run(table.between(1, r.maxval).info(), conn)
    assert between["left_bound"] == 1 and between["left_bound_type"] == "closed"
    assert between["right_bound_type"] == "unbounded" and between["sorting"] == "UNORDERED"
    assert run(table.between(r.maxval, r.minval).info()["left_bound_type"], conn) == "unachievable"


def test_json_parsing(r, conn):
    assert run(r.json(' {"a": [1, 2.5, "x", null, true]} '), conn) == {"a": [1, 2.5, "x", None, True]}
    assert run(r.json('"\\u00e9\\ud83d\\ude00"'), conn) == "é😀"
    assert run(r.json('{"$reql_type$": "BINARY", "data": "AAE="}'), conn) == b"\x00\x01"
    assert run(r.json(r.expr("[1]")), conn) == [1]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("[1,2", "Missing a comma or ']' after an array element."),
        ('{"a" 1}', "Missing a colon after a name of object member."),
        ('{"a":1 "b"}', "Missing a comma or '}' after an object member."),
        ("{1:2}", "Missing a name for object member."),
        ("", "The document is empty."),
        ("1 2", "The document root must not follow by other values."),
        ("NaN", "Invalid value."),
        ("01", "The document root must not follow by other values."),
        ("1.", "Miss fraction part in number."),
        ("1e", "Miss exponent in number."),
        ("1e400", "Number too big to be stored in double."),
        ('"abc', "Missing a closing quotation mark in string."),
        ('"\\x"', "Invalid escape character in string."),
        ('"\\u12"', "Incorrect hex digit after \\u escape in string."),
        ('"\\ud800"', "The surrogate pair in string is invalid."),
    ],
)
def test_json_errors(r, conn, text, problem):
    with pytest.raises(ReqlQueryLogicError) as e:
        run(r.json(text), conn)
    assert e.value.message == f'Failed to parse "{text}" as JSON: {problem}'


def test_json_duplicate_keys(r, conn):
    with pytest.raises(ReqlQueryLogicError, match='Duplicate key "a" in JSON.'):
        run(r.json('{"a": 1, "a": 2}'), conn)


def test_to_json_string(r, conn):
    doc = {"b": 1, "a": [1.5, 'q"\n', None, True], "c": {}}
    assert run(r.expr(doc).to_json_string(), conn) == '{"a":[1.5,"q\\"\\n",null,true],"b":1,"c":{}}'
    assert run(r.expr(b"\x00\x01").to_json(), conn) == '{"$reql_type$":"BINARY","data":"AAE="}'
    assert run(r.epoch_time(1.5).to_json_string(), conn) == '{"$reql_type$":"TIME","epoch_time":1.5,"timezone":"+00:00"}'
    assert run(r.expr("\x01é").to_json_string(), conn) == '"\\u0001é"'


def test_binary(r, conn):
    assert run(r.binary(r.expr("data")), conn) == b"data"
    assert run(r.binary(r.binary(b"\xff")), conn) == b"\xff"
    assert run(r.binary(b"abc").count(), conn) == 3
    assert run(r.binary(b"abc").coerce_to("string"), conn) == "abc"
    assert run(r.binary(b"a") < r.binary(b"b"), conn) is True
    assert run(r.binary(b"a") < r.binary(b"a\x00"), conn) is True
    with pytest.raises(ReqlQueryLogicError, match="Expected type STRING but found OBJECT."):
        run(r.binary(r.expr({})), conn)


@pytest.mark.parametrize(
    "data, message",
    [
        ("ABCDEFGH==AA", "Invalid base64 format, data found after padding character '='."),
        ("A^CDEFGH", "Invalid base64 character found: '^'."),
        ("ABCDE", "Invalid base64 length: 1 character remaining, cannot decode a full byte."),
    ],
)
def test_binary_pseudotype_errors(r, conn, data, message):
    with pytest.raises(ReqlQueryLogicError) as e:
        run(r.expr({"$reql_type$": "BINARY", "data": data}), conn)
    assert e.value.message == message


def test_object(r, conn):
    assert run(r.object(), conn) == {}
    assert run(r.object("a", 1, "b", [2]), conn) == {"a": 1, "b": [2]}
    with pytest.raises(ReqlQueryLogicError, match=r"OBJECT expects an even number of arguments \(but found 3\)."):
        run(r.object("a", 1, "b"), conn)
    with pytest.raises(ReqlQueryLogicError, match=r'Duplicate key "e" in object.  \(got 4 and 5 as values\)'):
        run(r.object("e", 4, "e", 5), conn)


def test_default(r, conn):
    assert run(r.expr(None).default(5), conn) == 5
    assert run(r.expr(0).default(5), conn) == 0
    assert run(r.expr({}).get_field("a").default(lambda e: e), conn) == "No attribute `a` in object:\n{}"
    assert run(r.expr({"a": None})["a"].default(lambda e: e), conn) is None
    with pytest.raises(ReqlNonExistenceError, match="No attribute `a` in object"):
        run(r.expr({}).get_field("a").default(r.error()), conn)
    with pytest.raises(ReqlQueryLogicError, match="Cannot divide by zero."):
        run((r.expr(1) / 0).default(5), conn)


def test_error(r, conn):
    with pytest.raises(ReqlUserError, match="boom"):
        run(r.error("boom"), conn)
    with pytest.raises(ReqlQueryLogicError, match="Empty ERROR term outside a default block."):
        run(r.error(), conn)
    with pytest.raises(ReqlQueryLogicError, match="Expected type STRING but found NUMBER."):
        run(r.error(5), conn)


def test_branch(r, conn):
    assert run(r.branch(False, 1, None, 2, 0, 3, 4), conn) == 3
    assert run(r.branch([], "y", "n"), conn) == "y"
    with pytest.raises(ReqlQueryLogicError, match="even number of arguments"):
        run(r.branch(True, 1, False, 2), conn)
    with pytest.raises(ReqlQueryLogicError, match="Expected type DATUM but found DATABASE:"):
        run(r.branch(r.db("test"), 1, 2), conn)


def test_do(r, conn, table):
    assert run(r.do(1, 2, lambda a, b: a + b), conn) == 3
    assert run(r.expr(5).do(r.row * 2), conn) == 10
    assert run(r.expr(1).do("constant"), conn) == "constant"
    assert run(table.get(1).do(lambda doc: doc["g"]), conn) == 1
    assert run(table.group("g").count().do(lambda n: n * 10), conn) == {0: 20, 1: 20}
    with pytest.raises(ReqlQueryLogicError, match="Expected function with 2 arguments but found function with 1 argument."):
        run(r.do(1, 2, lambda a: a), conn)
    with pytest.raises(ReqlCompileError, match="Expected 1 or more arguments but found 0."):
        run(r.do(), conn)


def test_uuid(r, conn):
    generated = run(r.uuid(), conn)
    assert str(uuid.UUID(generated)) == generated and uuid.UUID(generated).version == 4
    assert run(r.uuid("foo"), conn) == str(uuid.uuid5(uuid.UUID("91461c99-f89d-49d2-af96-d8e2e14e9b58"), "foo"))
    assert run(r.expr([r.uuid(), r.uuid()]).distinct().count(), conn) == 2


def test_args_splices_arguments(r, conn):
    assert run(r.add(r.args([1, 2, 3])), conn) == 6
    with pytest.raises(ReqlQueryLogicError, match="Expected type ARRAY but found NUMBER."):
        run(r.add(r.args(1)), conn)


def test_null_rows_work_with_r_row(r, conn):
    assert run(r.expr([None, 1]).map(r.branch(r.row.eq(None), "none", r.row)), conn) == ["none", 1]
