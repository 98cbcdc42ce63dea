"""Hypothesis strategies and comparisons shared by the storage tests."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from systables.datum import norm_num

TIMEZONES = ["+00:00", "-07:00", "+05:30"]

numbers = st.one_of(
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0**63, -(2.0**63), 5e-324, 1.7976931348623157e308]),
).map(norm_num)
strings = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(["", "a", "a\x00", "a\x00b", "\x00", "\xff", "ab"])
binaries = st.binary(max_size=10) | st.sampled_from([b"", b"\x00", b"\x00\xff", b"\xff", b"a\x00"])
times = st.builds(
    lambda epoch, tz: {"$reql_type$": "TIME", "epoch_time": epoch, "timezone": tz},
    st.floats(min_value=-1e10, max_value=1e10, allow_nan=False).map(norm_num),
    st.sampled_from(TIMEZONES),
)
scalar_keys = numbers | strings | st.booleans() | binaries | times
key_datums = st.recursive(scalar_keys, lambda inner: st.lists(inner, max_size=4), max_leaves=12)


def strict_eq(a: Any, b: Any) -> bool:
    """Datum equality that tells bool from number and int from -0.0 apart only where datums do."""
    ta, tb = type(a), type(b)
    if (ta is bool) != (tb is bool):
        return False
    if ta in (int, float) and tb in (int, float):
        return a == b
    if ta is not tb:
        return False
    if ta is list:
        return len(a) == len(b) and all(strict_eq(x, y) for x, y in zip(a, b))
    if ta is dict:
        return a.keys() == b.keys() and all(strict_eq(a[k], b[k]) for k in a)
    if ta is float and math.isnan(a):
        return math.isnan(b)
    return a == b
