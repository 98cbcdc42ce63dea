from __future__ import annotations

import json

import pytest

from systables.protocol import response
from systables.datum.errors import (
    ReqlClientError,
    ReqlCompileError,
    ReqlError,
    ReqlNonExistenceError,
    ReqlOpIndeterminateError,
    ReqlRuntimeError,
)
from systables.datum.ql2 import ErrorType, ResponseNote

PROFILE = [{"description": "Evaluating datum.", "duration(ms)": 0.01, "sub_tasks": []}]


def keys_and_values(body: bytes) -> list[tuple[str, object]]:
    return list(json.loads(body).items())


def test_atom() -> None:
    assert response.atom({"a": 1}) == b'{"t":1,"r":[{"a":1}]}'
    assert response.atom(None) == b'{"t":1,"r":[null]}'
    assert response.atom([1, 2.5, "x", True]) == b'{"t":1,"r":[[1,2.5,"x",true]]}'


def test_atom_with_profile() -> None:
    assert keys_and_values(response.atom(3, PROFILE)) == [("t", 1), ("r", [3]), ("p", PROFILE)]


def test_sequence_always_has_notes() -> None:
    assert response.sequence([]) == b'{"t":2,"r":[],"n":[]}'
    assert response.sequence([1, 2]) == b'{"t":2,"r":[1,2],"n":[]}'
    assert response.sequence((1, 2)) == b'{"t":2,"r":[1,2],"n":[]}'
    body = response.sequence([1], PROFILE, notes=[ResponseNote.SEQUENCE_FEED])
    assert keys_and_values(body) == [("t", 2), ("r", [1]), ("p", PROFILE), ("n", [1])]


def test_partial() -> None:
    assert response.partial([], [ResponseNote.SEQUENCE_FEED]) == b'{"t":3,"r":[],"n":[1]}'
    assert response.partial([{"x": 1}], []) == b'{"t":3,"r":[{"x":1}],"n":[]}'
    notes = (ResponseNote.ATOM_FEED, ResponseNote.INCLUDES_STATES)
    assert response.partial([], notes, PROFILE) == b'{"t":3,"r":[],"p":' + json.dumps(PROFILE, separators=(",", ":")).encode() + b',"n":[2,5]}'


def test_wait_complete_and_server_info() -> None:
    assert response.wait_complete() == b'{"t":4,"r":[]}'
    info = {"id": "b0ea1c2e-7d40-4b7e-9f44-6d5b2fa0c0a1", "name": "systables", "proxy": False}
    assert keys_and_values(response.server_info(info)) == [("t", 5), ("r", [info])]


def test_errors() -> None:
    assert response.client_error("Token 3 not in stream cache.") == b'{"t":16,"r":["Token 3 not in stream cache."],"b":[]}'
    assert response.compile_error("Expected 1 argument but found 2.", [0, "index"]) == (
        b'{"t":17,"r":["Expected 1 argument but found 2."],"b":[0,"index"]}'
    )
    assert response.runtime_error(ErrorType.OP_INDETERMINATE, "Server is shutting down.", []) == (
        b'{"t":18,"e":4200000,"r":["Server is shutting down."],"b":[]}'
    )
    assert response.runtime_error(None, "x", [1]) == b'{"t":18,"r":["x"],"b":[1]}'
    body = response.runtime_error(ErrorType.USER, "boom", [], PROFILE)
    assert [key for key, _ in keys_and_values(body)] == ["t", "e", "r", "b", "p"]


def test_only_runtime_errors_carry_e_and_only_batches_carry_n() -> None:
    bodies = {
        1: response.atom(1),
        2: response.sequence([]),
        3: response.partial([], []),
        4: response.wait_complete(),
        5: response.server_info({}),
        16: response.client_error("x"),
        17: response.compile_error("x", []),
        18: response.runtime_error(ErrorType.QUERY_LOGIC, "x", []),
    }
    for response_type, body in bodies.items():
        decoded = json.loads(body)
        assert decoded["t"] == response_type
        assert ("e" in decoded) == (response_type == 18)
        assert ("n" in decoded) == (response_type in (2, 3))
        assert ("b" in decoded) == (response_type >= 16)
        assert "p" not in decoded


def test_binary_datums() -> None:
    assert response.atom(b"\x00\xffab") == b'{"t":1,"r":[{"$reql_type$":"BINARY","data":"AP9hYg=="}]}'
    nested = json.loads(response.sequence([{"blob": [b""]}]))
    assert nested["r"] == [{"blob": [{"$reql_type$": "BINARY", "data": ""}]}]


def test_non_datums_are_refused() -> None:
    with pytest.raises(TypeError):
        response.atom(object())
    with pytest.raises(TypeError):
        response.atom(bytearray(b"x"))


def test_large_integers_stay_integers() -> None:
    assert response.atom(2**62) == b'{"t":1,"r":[4611686018427387904]}'


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ReqlClientError("bad"), {"t": 16, "r": ["bad"], "b": []}),
        (ReqlCompileError("bad"), {"t": 17, "r": ["bad"], "b": []}),
        (ReqlNonExistenceError("gone"), {"t": 18, "e": 3100000, "r": ["gone"], "b": []}),
        (ReqlOpIndeterminateError("Server is shutting down."), {"t": 18, "e": 4200000, "r": ["Server is shutting down."], "b": []}),
        (ReqlRuntimeError("plain"), {"t": 18, "r": ["plain"], "b": []}),
    ],
)
def test_error_from_exception(exc: ReqlError, expected: dict) -> None:
    assert json.loads(response.error(exc)) == expected


def test_error_backtrace_comes_from_the_term() -> None:
    class Term:
        def __init__(self, parent: "Term | None", frame: int | str) -> None:
            self.parent, self.frame = parent, frame

    root = Term(None, 0)
    failing = Term(Term(root, 1), "index")
    assert json.loads(response.error(ReqlCompileError("bad", failing)))["b"] == [1, "index"]
