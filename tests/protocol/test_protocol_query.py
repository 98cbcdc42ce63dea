from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systables.datum.jsonparse import TooDeep
from systables.datum.ql2 import QueryType
from systables.protocol.query import ParsedQuery, QueryParseError, parse_query

BUGGY = "Client is buggy (failed to deserialize query)."
PREFIX = "Server could not parse query: "


def parse_error(payload: bytes) -> str:
    with pytest.raises(QueryParseError) as info:
        parse_query(payload)
    assert str(info.value) == info.value.message
    return info.value.message


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'[1,[14,["test"]],{"db":[14,["test"]]}]', ParsedQuery(QueryType.START, [14, ["test"]], {"db": [14, ["test"]]})),
        (b"[1,5]", ParsedQuery(QueryType.START, 5, None)),
        (b"[1]", ParsedQuery(QueryType.START, None, None)),
        (b"[2]", ParsedQuery(QueryType.CONTINUE, None, None)),
        (b"[3]", ParsedQuery(QueryType.STOP, None, None)),
        (b"[4]", ParsedQuery(QueryType.NOREPLY_WAIT, None, None)),
        (b" [5] ", ParsedQuery(QueryType.SERVER_INFO, None, None)),
        (b"[1.0,null,{}]", ParsedQuery(QueryType.START, None, {})),
    ],
)
def test_valid_queries(payload: bytes, expected: ParsedQuery) -> None:
    parsed = parse_query(payload)
    assert parsed == expected
    assert type(parsed.type) is QueryType


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"[1,",
        b"not json",
        b"[1, NaN]",
        b"[1, Infinity]",
        b"[1, -Infinity]",
        b"[1, 1e400]",
        b"[1] [2]",
        b'[1, "\xff"]',
        b'[1, "\\ud800"]',
        b"[" * 10_000,
        b"[1," + b"[" * 10_000 + b"]" * 9_999 + b"]",
        b"[1," + b"[" * 1100 + b"1 2" + b"]" * 1100 + b"]",
        b"[1," + b"[" * 1100 + b'"\\ud800"' + b"]" * 1100 + b"]",
        b"[1," + b"[" * 1100 + b"1e400" + b"]" * 1100 + b"]",
        b"[1," + b"[" * 1100 + b"1," + b"]" * 1100 + b"]",
    ],
)
def test_undecodable_json(payload: bytes) -> None:
    assert parse_error(payload) == BUGGY


@pytest.mark.parametrize("depth", [1000, 1100, 10_000, 200_000])
def test_nesting_of_any_depth_is_parsed(depth: int) -> None:
    # RethinkDB answers chains of 100,000 terms; the compiler caps the depth.
    parsed = parse_query(b"[1," + b'[{"a":' * depth + b"-1.5" + b"}]" * depth + b"]")
    value = parsed.term
    for _ in range(depth):
        value = value[0]["a"]
    assert value == -1.5


def test_deep_frames_are_left_to_a_worker_thread_when_asked() -> None:
    with pytest.raises(TooDeep):
        parse_query(b"[1," + b"[" * 1100 + b"]" * 1100 + b"]", deep=False)


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        (b"{}", "Expected a query to be an array, but found OBJECT."),
        (b"null", "Expected a query to be an array, but found NULL."),
        (b"true", "Expected a query to be an array, but found BOOL."),
        (b'"x"', "Expected a query to be an array, but found STRING."),
        (b"1", "Expected a query to be an array, but found NUMBER."),
        (b"[]", "Expected 1 to 3 elements in the top-level query, but found 0."),
        (b"[1,2,{},4]", "Expected 1 to 3 elements in the top-level query, but found 4."),
        (b'["1"]', "Expected a query type as a number, but found STRING."),
        (b"[null]", "Expected a query type as a number, but found NULL."),
        (b"[true]", "Expected a query type as a number, but found BOOL."),
        (b"[[1]]", "Expected a query type as a number, but found ARRAY."),
        (b"[{}]", "Expected a query type as a number, but found OBJECT."),
        (b"[0]", "Unrecognized QueryType: 0."),
        (b"[6]", "Unrecognized QueryType: 6."),
        (b"[-1]", "Unrecognized QueryType: -1."),
        (b"[1.5]", "Unrecognized QueryType: 1.5."),
        (b"[1,1,[]]", "Expected global optargs as an object, but found ARRAY."),
        (b"[1,1,null]", "Expected global optargs as an object, but found NULL."),
        (b"[1,1,false]", "Expected global optargs as an object, but found BOOL."),
        (b'[1,1,"db"]', "Expected global optargs as an object, but found STRING."),
        (b"[1,1,7]", "Expected global optargs as an object, but found NUMBER."),
    ],
)
def test_structural_errors(payload: bytes, detail: str) -> None:
    assert parse_error(payload) == PREFIX + detail


@pytest.mark.parametrize("flag", ["noreply", "profile"])
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        ([1, True], True),
        (False, False),
        ([1, False], False),
        ("true", False),
        (1, False),
        ([True, True], False),
        ([1, True, {}], False),
        ([2, [True]], False),
    ],
)
def test_static_noreply_and_profile(flag: str, value: object, expected: bool) -> None:
    parsed = parse_query(json.dumps([1, 1, {flag: value}]).encode())
    assert getattr(parsed, flag) is expected


@pytest.mark.parametrize("payload", [b"[1,1]", b"[1,1,{}]", b'[1,1,{"db":[14,["test"]]}]'])
def test_flags_default_to_false(payload: bytes) -> None:
    parsed = parse_query(payload)
    assert not parsed.noreply and not parsed.profile


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500)
@given(JSON_VALUES)
def test_random_json_parses_or_fails_with_a_message(value: object) -> None:
    try:
        parsed = parse_query(json.dumps(value).encode())
    except QueryParseError as error:
        assert error.message.startswith(PREFIX)
    else:
        assert parsed.type in QueryType


@settings(max_examples=500)
@given(st.binary(max_size=100))
def test_random_bytes_parse_or_fail_with_a_message(payload: bytes) -> None:
    try:
        parse_query(payload)
    except QueryParseError as error:
        assert error.message == BUGGY or error.message.startswith(PREFIX)
