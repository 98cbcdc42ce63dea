"""Malformed and hostile input gets RethinkDB's errors, and the server keeps serving."""

from __future__ import annotations

import socket
import struct

from rawclient import RawClient

V1_0 = struct.pack("<L", 0x34C2BDC3)
CLIENT_ERROR, COMPILE_ERROR, RUNTIME_ERROR = 16, 17, 18


def still_serving(server) -> None:
    c = RawClient(server.host, server.port)
    assert c.query(1, [1, [24, [1, 2]]]) == {"t": 1, "r": [3]}
    c.close()


def test_wrong_magic_gets_plain_text_error(server):
    with socket.create_connection((server.host, server.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    assert data == (
        b"ERROR: Received an unsupported protocol version. This port is for RethinkDB queries. "
        b"Does your client driver version not match the server?\n\x00"
    )
    still_serving(server)


def test_bad_json_is_a_client_error_and_the_connection_stays(server):
    c = RawClient(server.host, server.port)
    c.send(5, b"[1, {nope")
    assert c.recv() == (5, {"t": CLIENT_ERROR, "r": ["Client is buggy (failed to deserialize query)."], "b": []})
    assert c.query(6, [1, "still here"]) == {"t": 1, "r": ["still here"]}
    c.close()


def test_structural_errors(server):
    c = RawClient(server.host, server.port)
    cases = {
        b"{}": "Server could not parse query: Expected a query to be an array, but found OBJECT.",
        b"[]": "Server could not parse query: Expected 1 to 3 elements in the top-level query, but found 0.",
        b"[99]": "Server could not parse query: Unrecognized QueryType: 99.",
        b'[1, 1, "x"]': "Server could not parse query: Expected global optargs as an object, but found STRING.",
    }
    for i, (payload, message) in enumerate(cases.items(), 10):
        c.send(i, payload)
        assert c.recv() == (i, {"t": CLIENT_ERROR, "r": [message], "b": []})
    c.close()


def test_huge_length_header_is_refused_without_reading_it(server):
    c = RawClient(server.host, server.port)
    c.send_raw(struct.pack("<QL", 7, 200 * 1024 * 1024))
    token, response = c.recv()
    assert token == 7
    assert response["t"] == CLIENT_ERROR
    assert response["r"] == [f"Query size ({200 * 1024 * 1024}) greater than maximum (134217727)."]
    c.close()
    still_serving(server)


def test_unknown_term_and_wrong_arity(server):
    c = RawClient(server.host, server.port)
    unknown = c.query(1, [1, [999, []]])
    assert unknown["t"] == COMPILE_ERROR and "999" in unknown["r"][0]
    arity = c.query(2, [1, [24, []]])
    assert arity == {"t": COMPILE_ERROR, "r": ["Expected 1 or more arguments but found 0."], "b": []}
    optarg = c.query(3, [1, [15, ["x"], {"bogus": 1}]])
    assert optarg["t"] == COMPILE_ERROR and optarg["r"] == ["Unrecognized optional argument `bogus`."]
    glob = c.query(4, [1, 1, {"obviously_bogus": 1}])
    assert glob["r"] == ["Unrecognized global optional argument `obviously_bogus`."]
    c.close()


def test_query_nested_ten_thousand_deep(server):
    c = RawClient(server.host, server.port)
    def nested_add(depth: int) -> bytes:
        return b"[1," + b"[24,[" * depth + b"1" + b",1]]" * depth + b"]"

    assert c.query(1, nested_add(10_000)) == {"t": 1, "r": [10_001]}  # as RethinkDB answers
    assert c.query(2, nested_add(450)) == {"t": 1, "r": [451]}
    response = c.query(3, nested_add(100_001))
    assert response["t"] == COMPILE_ERROR
    assert response["r"] == ["Query is nested too deeply (the limit is 100000 levels)."]
    c.close()
    still_serving(server)


def test_connection_dropped_mid_frame(server):
    c = RawClient(server.host, server.port)
    c.send_raw(struct.pack("<QL", 1, 100) + b"[1, [24")
    c.close()
    still_serving(server)


def test_noreply_is_never_answered(server):
    c = RawClient(server.host, server.port)
    c.send(1, [1, [12, ["boom"]], {"noreply": True}])
    c.send(2, [4])
    assert c.recv() == (2, {"t": 4, "r": []})
    c.close()


def test_continue_and_stop_on_unknown_token(server):
    c = RawClient(server.host, server.port)
    assert c.query(40, [2]) == {"t": CLIENT_ERROR, "r": ["Token 40 not in stream cache."], "b": []}
    assert c.query(41, [3]) == {"t": CLIENT_ERROR, "r": ["Token 41 not in stream cache."], "b": []}
    c.close()


def test_stop_answers_empty_sequence(server):
    c = RawClient(server.host, server.port)
    first = c.query(1, [1, [173, []], {"max_batch_rows": 5, "first_batch_scaledown_factor": 1}])
    assert first["t"] == 3 and first["r"] == [0, 1, 2, 3, 4] and first["n"] == []
    assert c.query(1, [3]) == {"t": 2, "r": [], "n": []}
    assert c.query(1, [2]) == {"t": CLIENT_ERROR, "r": ["Token 1 not in stream cache."], "b": []}
    c.close()


def test_v0_4_handshake_with_auth_key(server):
    import json as _json

    with socket.create_connection((server.host, server.port), timeout=5) as s:
        s.sendall(struct.pack("<LL", 0x400C2D20, 0) + struct.pack("<L", 0x7E6970C7))
        reply = b""
        while not reply.endswith(b"\0"):
            reply += s.recv(64)
        assert reply == b"SUCCESS\0"
        body = b'[1, [24, [20, 22]]]'
        s.sendall(struct.pack("<QL", 3, len(body)) + body)
        data = b""
        while len(data) < 12 or len(data) < 12 + struct.unpack("<L", data[8:12])[0]:
            data += s.recv(4096)
        assert struct.unpack("<Q", data[:8])[0] == 3
        assert _json.loads(data[12:]) == {"t": 1, "r": [42]}


def test_v0_4_wrong_auth_key(server):
    with socket.create_connection((server.host, server.port), timeout=5) as s:
        s.sendall(struct.pack("<LL", 0x400C2D20, 5) + b"wrong" + struct.pack("<L", 0x7E6970C7))
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    assert data == b"ERROR: Incorrect authorization key.\n\x00"


def test_terms_not_implemented_are_named(server):
    c = RawClient(server.host, server.port)
    fetch = c.query(2, [1, [153, ["http://localhost/"]]])
    assert fetch == {"t": COMPILE_ERROR, "r": ["The `http` command is not supported by this server yet."], "b": []}
    assert c.query(3, [1, [9999, []]])["r"] == ["Unrecognized TermType: 9999."]
    c.close()
