from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from systables.reql.datum import cmp
from systables.storage import BadKeyType, KeyTooLong
from systables.storage.keys import (
    MAX_INDEX_VALUE_BYTES,
    decode,
    encode,
    encode_pk,
    index_entry,
    primary_key_size,
    split_index_entry,
)

from conftest import key_datums, strict_eq


def sign(x: int) -> int:
    return (x > 0) - (x < 0)


def refined_cmp(a: Any, b: Any) -> int:
    """datum.cmp, except that times at one instant order by timezone text (as
    the encoding does, to keep the zone)."""
    if type(a) is dict and type(b) is dict:
        c = cmp(a, b)
        return c or sign((a["timezone"] > b["timezone"]) - (a["timezone"] < b["timezone"]))
    if type(a) is list and type(b) is list:
        for x, y in zip(a, b):
            c = refined_cmp(x, y)
            if c:
                return c
        return sign(len(a) - len(b))
    return cmp(a, b)


@settings(max_examples=1500)
@given(key_datums, key_datums)
@example(1, 1.0)
@example(0, -0.0)
@example("a", "a\x00")
@example(["a"], ["a", 1])
@example([], [[]])
@example(b"a", b"a\x00")
@example(True, 1)
def test_order_matches_datum_cmp(a: Any, b: Any) -> None:
    ea, eb = encode(a), encode(b)
    actual = sign((ea > eb) - (ea < eb))
    assert actual == sign(refined_cmp(a, b)), (a, b, ea, eb)
    if cmp(a, b):
        assert actual == sign(cmp(a, b))
    assert (ea == eb) == strict_eq(a, b)


@settings(max_examples=1000)
@given(key_datums)
def test_round_trip(v: Any) -> None:
    assert strict_eq(decode(encode(v)), v)


@given(key_datums)
def test_pk_encoding_is_the_datum_encoding(v: Any) -> None:
    try:
        assert encode_pk(v) == encode(v)
    except KeyTooLong:
        assert primary_key_size(v) > 128


def test_any_datum_encodes_in_order() -> None:
    values = [[], [None], False, True, None, -1, 0, 2.5, {}, {"a": 1}, {"a": 1, "b": 0}, {"b": 0},
              b"", b"\x00", {"$reql_type$": "GEOMETRY", "type": "Point"},
              {"$reql_type$": "TIME", "epoch_time": 0, "timezone": "+00:00"}, "", "a"]
    for a in values:
        assert strict_eq(decode(encode(a)), a)
        for b in values:
            ea, eb = encode(a), encode(b)
            assert sign((ea > eb) - (ea < eb)) == sign(cmp(a, b)), (a, b)


def test_negative_zero_and_one_point_zero() -> None:
    assert encode(-0.0) == encode(0) == encode(0.0)
    assert encode(1) == encode(1.0)
    assert decode(encode(-0.0)) == 0


@pytest.mark.parametrize("key", [None, {"a": 1}, [1, None], [{"x": 1}], {"$reql_type$": "GEOMETRY", "type": "Point"}])
def test_bad_key_types(key: Any) -> None:
    with pytest.raises(BadKeyType):
        encode_pk(key)


def test_key_length_limits() -> None:
    encode_pk("x" * 127)
    with pytest.raises(KeyTooLong):
        encode_pk("x" * 128)
    encode_pk("é" * 63)  # 126 bytes
    with pytest.raises(KeyTooLong):
        encode_pk("é" * 64)  # 128 bytes
    encode_pk(b"x" * 120)
    with pytest.raises(KeyTooLong):
        encode_pk(b"x" * 121)
    encode_pk([1] * 6)
    with pytest.raises(KeyTooLong):
        encode_pk([1] * 7)  # 1 + 7 * (19 + 1) = 141 characters


@given(key_datums, key_datums, key_datums, key_datums)
def test_index_entries_sort_by_value_then_pk(v1: Any, v2: Any, p1: Any, p2: Any) -> None:
    e1 = encode(v1), encode(p1)
    e2 = encode(v2), encode(p2)
    k1, _ = index_entry(*e1, 0)
    k2, _ = index_entry(*e2, 0)
    if len(e1[0]) <= MAX_INDEX_VALUE_BYTES and len(e2[0]) <= MAX_INDEX_VALUE_BYTES:
        assert sign((k1 > k2) - (k1 < k2)) == sign((e1 > e2) - (e1 < e2))
    assert split_index_entry(k1) == (e1[0][:MAX_INDEX_VALUE_BYTES], e1[1])


def test_truncated_index_entry_keeps_full_value() -> None:
    long_value = encode("x" * 1000)
    key, stored = index_entry(long_value, encode(1), 3)
    assert stored == long_value
    assert split_index_entry(key) == (long_value[:MAX_INDEX_VALUE_BYTES], encode(1))
    short_key, short_stored = index_entry(encode("x"), encode(1), 0)
    assert short_stored == b""


@given(st.lists(key_datums, min_size=2, max_size=20))
def test_sorting_encodings_sorts_datums(values: list[Any]) -> None:
    by_bytes = sorted(values, key=encode)
    for a, b in zip(by_bytes, by_bytes[1:]):
        assert cmp(a, b) <= 0
