from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from systables.datum import cmp
from systables.storage import BadKeyType, KeyTooLong
from systables.storage.keys import (
    MAX_INDEX_VALUE_BYTES,
    decode,
    encode,
    encode_key,
    encode_pk,
    index_entry,
    order_key_of,
    primary_key_size,
    split_index_entry,
)

from storage_strategies import key_datums, strict_eq


def sign(x: int) -> int:
    return (x > 0) - (x < 0)


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
    expected = sign(cmp(a, b))
    ka, kb = encode_key(a), encode_key(b)
    assert sign((ka > kb) - (ka < kb)) == expected, (a, b, ka, kb)
    ea, eb = encode(a), encode(b)
    if expected:
        assert sign((ea > eb) - (ea < eb)) == expected
    assert (ea == eb) == strict_eq(a, b)


@settings(max_examples=1000)
@given(key_datums)
def test_round_trip(v: Any) -> None:
    assert strict_eq(decode(encode(v)), v)


@given(key_datums)
def test_pk_encoding_is_the_order_key(v: Any) -> None:
    try:
        assert encode_pk(v) == encode_key(v)
    except KeyTooLong:
        assert primary_key_size(v) > 128


def test_any_datum_encodes_in_order() -> None:
    values = [[], [None], False, True, None, -1, 0, 2.5, {}, {"a": 1}, {"a": 1, "b": 0}, {"b": 0},
              b"", b"\x00", {"$reql_type$": "GEOMETRY", "type": "Point"},
              {"$reql_type$": "TIME", "epoch_time": 0, "timezone": "+00:00"}, "", "a"]
    for a in values:
        assert strict_eq(decode(encode(a)), a)
        for b in values:
            ea, eb = encode_key(a), encode_key(b)
            assert sign((ea > eb) - (ea < eb)) == sign(cmp(a, b)), (a, b)


def test_negative_zero_and_one_point_zero() -> None:
    assert encode(-0.0) == encode(0) == encode(0.0)
    assert encode(1) == encode(1.0)
    assert decode(encode(-0.0)) == 0


def test_times_keep_their_zone_but_key_by_instant() -> None:
    utc = {"$reql_type$": "TIME", "epoch_time": 10, "timezone": "+00:00"}
    ist = {"$reql_type$": "TIME", "epoch_time": 10, "timezone": "+05:30"}
    assert encode_key(utc) == encode_key(ist) == encode_pk(ist)
    assert decode(encode([ist, utc, "x"])) == [ist, utc, "x"]
    assert decode(encode_key(ist)) == utc
    # the zones are appended after the whole value, so ties never reorder by zone
    assert encode([ist, 1]) < encode([utc, 2])


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
    o1, o2 = (encode_key(v1), encode_key(p1)), (encode_key(v2), encode_key(p2))
    k1, _ = index_entry(o1[0], encode(v1), o1[1], 0)
    k2, _ = index_entry(o2[0], encode(v2), o2[1], 0)
    if len(o1[0]) <= MAX_INDEX_VALUE_BYTES and len(o2[0]) <= MAX_INDEX_VALUE_BYTES:
        assert sign((k1 > k2) - (k1 < k2)) == sign((o1 > o2) - (o1 < o2))
    assert split_index_entry(k1) == (o1[0][:MAX_INDEX_VALUE_BYTES], o1[1])


def test_entry_stores_the_full_value_when_the_key_cannot() -> None:
    long_value = "x" * 1000
    key, stored = index_entry(encode_key(long_value), encode(long_value), encode_key(1), 3)
    assert decode(stored) == long_value and order_key_of(stored) == encode_key(long_value)
    assert split_index_entry(key) == (encode_key(long_value)[:MAX_INDEX_VALUE_BYTES], encode_key(1))
    assert index_entry(encode_key("x"), encode("x"), encode_key(1), 0)[1] == b""
    t = {"$reql_type$": "TIME", "epoch_time": 1, "timezone": "-07:00"}
    assert decode(index_entry(encode_key(t), encode(t), encode_key(1), 0)[1]) == t


@given(st.lists(key_datums, min_size=2, max_size=20))
def test_sorting_encodings_sorts_datums(values: list[Any]) -> None:
    by_bytes = sorted(values, key=encode_key)
    for a, b in zip(by_bytes, by_bytes[1:]):
        assert cmp(a, b) <= 0
