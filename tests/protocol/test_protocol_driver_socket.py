"""The official Python driver over a real socket, against a minimal blocking
server built from the sans-IO pieces (handshake, framing, query, response)."""

from __future__ import annotations

import base64
import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlAuthError

from systables.protocol import response
from systables.protocol.framing import Frame, FrameDecoder, encode_frame
from systables.protocol.handshake import Authenticated, CheckAuthKey, Failed, Send, ServerHandshake
from systables.protocol.query import QueryParseError, parse_query
from systables.protocol.scram import Credential
from systables.datum.ql2 import Protocol, QueryType, Version

SERVER_INFO = {"id": "6f0fe6a4-8a39-4c0a-9c0e-5c7c1e8b2f11", "name": "systables", "proxy": False}

r = RethinkDB()


def evaluate(term: object) -> object:
    """Just enough ReQL for the test: datums echo back, BINARY becomes bytes."""
    if isinstance(term, dict) and term.get("$reql_type$") == "BINARY":
        return base64.b64decode(term["data"])
    return term


def answer(frame: Frame) -> bytes | None:
    try:
        query = parse_query(frame.payload)
    except QueryParseError as error:
        return response.client_error(error.message)
    if query.noreply:
        return None
    if query.type is QueryType.SERVER_INFO:
        return response.server_info(SERVER_INFO)
    if query.type is QueryType.START:
        return response.atom(evaluate(query.term))
    return response.client_error(f"Token {frame.token} not in stream cache.")


def handshake(conn: socket.socket, lookup_user: Callable[[str], Credential | None]) -> bytes | None:
    machine = ServerHandshake(lookup_user, "2.4.4-systables")
    while data := conn.recv(65536):
        events = machine.feed(data)
        while events:
            event = events.pop(0)
            if isinstance(event, CheckAuthKey):
                ok = event.credential is not None and event.credential.check_password(event.key)
                events += machine.key_checked(ok)
            elif isinstance(event, Send):
                conn.sendall(event.data)
            elif isinstance(event, Failed):
                conn.sendall(event.data_to_send)
                return None
            elif isinstance(event, Authenticated):
                return event.leftover
    return None


def serve_connection(conn: socket.socket, lookup_user: Callable[[str], Credential | None]) -> None:
    with conn:
        leftover = handshake(conn, lookup_user)
        if leftover is None:
            return
        decoder = FrameDecoder()
        data = leftover
        while True:
            for frame in decoder.feed(data):
                assert isinstance(frame, Frame)
                body = answer(frame)
                if body is not None:
                    conn.sendall(encode_frame(frame.token, body))
            data = conn.recv(65536)
            if not data:
                return


@pytest.fixture
def port(lookup_user: Callable[[str], Credential | None]) -> Iterator[int]:
    listener = socket.create_server(("127.0.0.1", 0))

    def accept_loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve_connection, args=(conn, lookup_user), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def test_connect_and_query(port: int) -> None:
    with r.connect("127.0.0.1", port, user="alice", password="s3cret password", timeout=5) as conn:
        assert r.expr({"a": 1, "b": 2.5, "c": "x", "d": None}).run(conn) == {"a": 1, "b": 2.5, "c": "x", "d": None}
        assert r.binary(b"\x00\xff").run(conn) == b"\x00\xff"
        assert conn.server() == SERVER_INFO
        assert r.expr(1).run(conn, noreply=True) is None
        assert r.expr("after noreply").run(conn) == "after noreply"


def test_default_admin_with_empty_password(port: int) -> None:
    with r.connect("127.0.0.1", port, timeout=5) as conn:
        assert r.expr(7).run(conn) == 7


def test_wrong_password(port: int) -> None:
    with pytest.raises(ReqlAuthError, match="Wrong password"):
        r.connect("127.0.0.1", port, user="alice", password="nope", timeout=5)


def test_unknown_user_is_answered_as_a_wrong_password(port: int) -> None:
    with pytest.raises(ReqlAuthError, match="Wrong password"):
        r.connect("127.0.0.1", port, user="mallory", password="", timeout=5)


def receive_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        assert chunk, "connection closed early"
        data += chunk
    return data


def receive_response(conn: socket.socket) -> tuple[int, bytes]:
    token, length = struct.unpack("<QI", receive_exactly(conn, 12))
    return token, receive_exactly(conn, length)


def test_legacy_client_pipelining_everything_in_one_write(port: int) -> None:
    handshake = struct.pack("<III", Version.V0_4, 0, Protocol.JSON)
    queries = encode_frame(1, b"[9]") + encode_frame(2, b"not json") + encode_frame(3, b'[1,"still open"]')
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(handshake + queries)
        assert receive_exactly(conn, 8) == b"SUCCESS\0"
        assert receive_response(conn) == (1, b'{"t":16,"r":["Server could not parse query: Unrecognized QueryType: 9."],"b":[]}')
        assert receive_response(conn) == (2, b'{"t":16,"r":["Client is buggy (failed to deserialize query)."],"b":[]}')
        assert receive_response(conn) == (3, b'{"t":1,"r":["still open"]}')
