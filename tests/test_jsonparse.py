"""Large JSON is parsed in pieces (``datum.jsonparse``): the pieces must give
exactly what orjson gives for the whole, and refuse what orjson refuses."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from systables.datum import jsonparse

tricky_strings = st.sampled_from(['a,b]', 'x\\"y', "é中", "{{[", "]]}", "\\", '"', "p" * 300, "p," * 100, ""])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**62), 2**62), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=20), tricky_strings)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=5) | tricky_strings, inner, max_size=8),
                      max_leaves=60)


@pytest.fixture
def small_pieces(monkeypatch):
    monkeypatch.setattr(jsonparse, "CHUNK", 48)
    monkeypatch.setattr(jsonparse, "STRING_SLICE", 7)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # the fixture only sets constants
@given(values, st.booleans())
def test_pieces_give_what_orjson_gives(small_pieces, value, indent) -> None:
    data = orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else 0)
    assert jsonparse.loads(data) == orjson.loads(data)


@pytest.mark.parametrize("data", [
    b"[1,,2]" + b" " * 100, b"[" + b"1," * 100 + b"]", b'{"a":1,' + b'"b":2,' * 40 + b"}", b'["a"' + b",1" * 100,
    b'{"a" 1' + b',"b":1' * 40 + b"}", b"[" + b'"\x01",' * 50 + b"1]", b"[1]" + b" " * 100 + b"x",
    b'{"a":1}' + b" " * 100 + b"}", b'["' + b"x" * 200, b"[" + b"[1]," * 60 + b"[1]]]", b'["' + b'a\\"' * 100 + b"]",
])
def test_pieces_refuse_what_orjson_refuses(small_pieces, data: bytes) -> None:
    with pytest.raises(ValueError):
        orjson.loads(data)
    with pytest.raises(ValueError):
        jsonparse.loads(data)
