"""Property tests against a live server: random frames and random term trees are
answered (or the connection is closed cleanly), and the server keeps serving."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rawclient import RawClient
from serverproc import temp_server
from systables.datum.ql2 import TermType

# Terms that would reach outside the test (network, JS workers) or drop data.
EXCLUDED = {
    TermType.HTTP, TermType.JAVASCRIPT, TermType.DB_DROP, TermType.TABLE_DROP,
    TermType.DELETE, TermType.RECONFIGURE, TermType.REBALANCE, TermType.GRANT,
}
TERM_TYPES = sorted(int(t) for t in TermType if t not in EXCLUDED)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**60), 2**60), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)


def terms() -> st.SearchStrategy:
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.tuples(st.sampled_from(TERM_TYPES), st.lists(inner, max_size=3)).map(lambda t: [t[0], t[1]]),
            st.tuples(st.sampled_from(TERM_TYPES), st.lists(inner, max_size=2), st.dictionaries(st.sampled_from(["index", "default", "x"]), inner, max_size=1)).map(list),
            st.dictionaries(st.text(max_size=3), inner, max_size=2),
        ),
        max_leaves=12,
    )


@pytest.fixture(scope="module")
def fuzz_server():
    with temp_server(http=False) as srv:
        yield srv


def assert_serving(srv) -> None:
    c = RawClient(srv.host, srv.port)
    assert c.query(1, [1, [24, [40, 2]]]) == {"t": 1, "r": [42]}
    c.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(term=terms())
def test_random_term_trees_are_answered(fuzz_server, term):
    c = RawClient(fuzz_server.host, fuzz_server.port)
    try:
        c.send(7, json.dumps([1, term, {"array_limit": 1000}]).encode())
        token, response = c.recv()
        assert token == 7
        assert response["t"] in (1, 2, 3, 16, 17, 18)
        if response["t"] in (16, 17, 18):
            assert isinstance(response["r"][0], str) and response["r"][0]
        if response["t"] == 3:
            c.query(7, [3])
    finally:
        c.close()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.binary(max_size=64), token=st.integers(0, 2**64 - 1))
def test_random_frames_are_answered_or_closed(fuzz_server, data, token):
    c = RawClient(fuzz_server.host, fuzz_server.port)
    try:
        c.send_raw(struct.pack("<QL", token, len(data)) + data)
        c.sock.settimeout(5)
        try:
            got, response = c.recv()
            assert got == token and response["t"] in (1, 2, 3, 4, 5, 16, 17, 18)
        except (ConnectionError, OSError):
            pass  # closed cleanly is acceptable
    finally:
        c.close()
    assert_serving(fuzz_server)
