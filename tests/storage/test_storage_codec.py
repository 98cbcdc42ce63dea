from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from systables.storage import codec

from storage_strategies import strict_eq, times

field_names = st.text(max_size=8)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.binary(max_size=64)
    | times
)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(field_names, inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300)
@given(st.dictionaries(field_names, documents, max_size=8))
def test_documents_round_trip(doc: dict[str, Any]) -> None:
    assert strict_eq(codec.unpack(codec.pack(doc)), doc)


def test_negative_zero_and_types_survive() -> None:
    doc = {"z": -0.0, "i": 2**63 - 1, "n": -(2**63), "f": 1.5, "b": b"\x00\xff", "u": "ü🙂", "t": True}
    back = codec.unpack(codec.pack(doc))
    assert math.copysign(1, back["z"]) == -1
    assert type(back["i"]) is int and back["i"] == 2**63 - 1
    assert type(back["b"]) is bytes and type(back["t"]) is bool
    assert back == doc
