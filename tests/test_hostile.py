"""Hostile queries: each answers a clean error (or its value) quickly, and while
it runs another client's ``r.expr(1)`` is answered within 100 ms."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import struct
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import pytest
from rethinkdb import r
from rethinkdb.errors import ReqlError

from latency_probe import LatencyProbe
from rawclient import RawClient
from serverproc import temp_server

pytestmark = pytest.mark.slow

PROBE_LIMIT = 0.1  # seconds: the longest another client may wait during a hostile query


@pytest.fixture(scope="module")
def server():
    with temp_server(http=False) as srv:
        conn = r.connect(srv.host, srv.port)
        r.db("test").table_create("h").run(conn)
        conn.close()
        with LatencyProbe(srv.host, srv.port) as probe:
            srv.probe = probe
            yield srv


@pytest.fixture
def conn(server):
    c = r.connect(server.host, server.port)
    yield c
    c.close()


class Outcome:
    def __init__(self) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        self.seconds = 0.0


def run_hostile(server: Any, query: Callable[[], Any], **options: Any) -> tuple[Outcome, float]:
    """Run ``query()`` on a connection of its own while the probe process sends
    ``r.expr(1)`` back to back; the outcome and the probe's slowest answer."""
    hostile = r.connect(server.host, server.port)
    outcome = Outcome()
    try:
        with server.probe.measuring() as probe:
            started = time.perf_counter()
            try:
                outcome.value = query().run(hostile, **options)
            except (ReqlError, RecursionError) as e:
                outcome.error = e
            outcome.seconds = time.perf_counter() - started
    finally:
        hostile.close(noreply_wait=False)
    return outcome, probe.slowest


def assert_fair(server: Any, query: Callable[[], Any], **options: Any) -> Outcome:
    outcome, slowest = run_hostile(server, query, **options)
    assert slowest < PROBE_LIMIT, f"a probe waited {slowest * 1000:.0f} ms"
    assert server.proc.poll() is None, "the server died"
    return outcome


def error_text(outcome: Outcome) -> str:
    assert outcome.error is not None, f"expected an error, got {outcome.value!r}"
    return str(outcome.error).split("\n")[0]


# -- regular expressions -------------------------------------------------------

def test_nested_repetition_is_refused_as_re2_does(server):
    pattern = "((a{1000}){1000}){1000}"
    outcome = assert_fair(server, lambda: r.expr("a").match(pattern))
    assert error_text(outcome) == (
        f"Error in regexp `{pattern}` (portion `{{1000}}`): invalid repetition size: {{1000}} in:"
    )


@pytest.mark.parametrize("pattern, portion", [("(a{2}){501}", "{501}"), ("((a{10}){10}){11}", "{11}"),
                                              ("(a{3,}){334}", "{334}")])
def test_repetition_products_over_1000_are_refused(conn, pattern, portion):
    with pytest.raises(ReqlError, match=re.escape(f"portion `{portion}`): invalid repetition size")):
        r.expr("a").match(pattern).run(conn)


def test_products_up_to_1000_are_accepted(conn):
    assert r.expr("a").match("(a{2}){500}").run(conn) is None
    assert r.expr("a").match("(a{3,}){333}").run(conn) is None
    assert r.expr("ab" * 1000).match("(ab){1000}").run(conn)["end"] == 2000


def test_programs_too_large_are_refused(server, conn):
    # RE2 refuses programs past ~700,000 instructions; systables past 100,000
    # (what its regex engine compiles within ~60 ms).
    with pytest.raises(ReqlError, match="\\(portion ``\\): pattern too large - compile failed"):
        r.expr("a").match("a{1000}" * 101).run(conn)
    outcome = assert_fair(server, lambda: r.expr("a").match("b{2}" * 49_000))
    assert outcome.error is None and outcome.value is None


def test_a_slow_match_runs_beside_other_clients(server):
    outcome = assert_fair(server, lambda: r.expr("a" * 40 + "b").match("(a|aa)+$"))
    assert "took too long to match" in error_text(outcome)


# -- arrays past the limit are refused before they are built --------------------

def test_array_multiplication_is_refused_before_building(server):
    for factor in (10**8, 10**9):
        outcome = assert_fair(server, lambda: r.expr([1, 2, 3]) * factor)
        assert error_text(outcome).startswith("Array over size limit `100000`.")


@pytest.mark.parametrize("query", [
    lambda: r.expr("x " * 200_000).split(),
    lambda: r.expr("x," * 200_000).split(","),
    lambda: r.expr("x" * 2_000_000).split(""),
    lambda: r.json("[" + "1," * 200_000 + "1]"),
    lambda: r.json('{"a": [' + "1," * 200_000 + "1]}"),
], ids=["whitespace", "delimiter", "characters", "json", "json-inside"])
def test_values_from_text_respect_the_array_limit(server, query):
    outcome = assert_fair(server, query)
    assert type(outcome.error).__name__ == "ReqlResourceLimitError"
    assert error_text(outcome).startswith("Array over size limit `100000`.")


def test_split_within_the_limit_is_python_split(conn):
    assert r.expr(" a b  c  ").split(None, 1).run(conn) == ["a", "b  c  "]
    assert r.expr("a,b,,c").split(",", 2).run(conn) == ["a", "b", ",c"]
    assert r.expr("abc").split("", 1).run(conn) == ["a", "bc"]
    assert r.expr("x," * 99_999 + "x").split(",").count().run(conn) == 100_000


def test_a_js_array_past_the_limit_is_refused(conn):
    with pytest.raises(ReqlError, match="Array over size limit `1000`") as caught:
        r.js("var a = []; for (var i = 0; i < 1001; i++) a.push(i); a").run(conn, array_limit=1000)
    assert type(caught.value).__name__ == "ReqlQueryLogicError"


# -- deep nesting ----------------------------------------------------------------

@pytest.fixture
def deep_recursion():
    """The test process decodes and compares values a few thousand levels deep."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 20_000))
    yield
    sys.setrecursionlimit(old)


def nested(depth: int, inner: Any = 1) -> Any:
    value = inner
    for _ in range(depth):
        value = [value]
    return value


class RawQuery:
    """A hand-written frame sent on a raw connection: the driver cannot build
    queries this deep."""

    def __init__(self, body: str) -> None:
        self.body = body

    def run(self, conn: Any, **_: Any) -> dict:
        host, port = conn.host, conn.port
        client = RawClient(host, port, timeout=60)
        try:
            return client.query(1, self.body.encode())
        finally:
            client.close()


def chain_of_adds(n: int) -> str:
    return "[1," + "[24,[" * n + "0" + ",1]]" * n + "]"


def test_an_array_primary_key_3000_deep_is_refused_quickly(server):
    outcome = assert_fair(server, lambda: r.db("test").table("h").insert({"id": r.range(3000).fold([], lambda a, x: [a])}))
    assert outcome.value["errors"] == 1
    message = outcome.value["first_error"]
    assert message.startswith("Primary key too long (max 127 characters): [\n\t[\n\t\t[")
    assert len(message) == 9_012_045  # RethinkDB's message, tabs and all


def test_a_chain_of_10000_terms_is_answered(server, deep_recursion):
    outcome = assert_fair(server, lambda: RawQuery(chain_of_adds(10_000)))
    assert outcome.value == {"t": 1, "r": [10_000]}


def test_a_chain_past_the_limit_is_refused_cleanly(server, deep_recursion):
    outcome = assert_fair(server, lambda: RawQuery(chain_of_adds(100_001)))
    assert outcome.value["t"] == 17
    assert outcome.value["r"] == ["Query is nested too deeply (the limit is 100000 levels)."]


@pytest.mark.parametrize("depth", [300, 3000])
def test_deep_datums_are_returned_stored_and_read(server, conn, deep_recursion, depth):
    outcome = assert_fair(server, lambda: r.range(depth).fold(1, lambda a, x: [a]))
    assert outcome.value == nested(depth)
    doc_id = f"deep{depth}"
    written = assert_fair(server, lambda: r.db("test").table("h").insert(
        {"id": doc_id, "v": r.range(depth).fold(1, lambda a, x: [a])}, conflict="replace"))
    assert written.value["errors"] == 0
    assert r.db("test").table("h").get(doc_id)["v"].run(conn) == nested(depth)
    assert r.db("test").table("h").get(doc_id)["v"].to_json_string().run(conn) == "[" * depth + "1" + "]" * depth


def test_a_literal_nested_2000_deep_is_answered(server, deep_recursion):
    body = "[1," + "[2,[" * 2000 + "1" + "]]" * 2000 + "]"
    outcome = assert_fair(server, lambda: RawQuery(body))
    assert outcome.value == {"t": 1, "r": [nested(2000)]}


# -- logins ------------------------------------------------------------------------

def legacy_login(server: Any, key: bytes) -> bytes:
    """A V0_4 handshake with ``key``: the server's answer."""
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(struct.pack("<II", 0x400C2D20, len(key)) + key + struct.pack("<I", 0x7E6970C7))
        answer = b""
        while not answer.endswith(b"\0"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        return answer


@pytest.fixture(scope="module")
def guarded_server():
    """An admin password with a costly PBKDF2 (about 0.1-0.3 s per check here)."""
    with temp_server(http=False) as srv:
        conn = r.connect(srv.host, srv.port)
        r.db("rethinkdb").table("users").get("admin").update(
            {"password": {"password": "secret", "iterations": 400_000}}).run(conn)
        conn.close()
        with LatencyProbe(srv.host, srv.port, password="secret") as probe:
            srv.probe = probe
            yield srv


def test_legacy_auth_keys_are_checked_off_the_event_loop(guarded_server):
    with guarded_server.probe.measuring() as probe:
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda key: legacy_login(guarded_server, key), [b"guess1", b"guess2", b"secret"]))
    assert answers == [b"ERROR: Incorrect authorization key.\n\0"] * 2 + [b"SUCCESS\0"]
    assert probe.slowest < PROBE_LIMIT, f"a probe waited {probe.slowest * 1000:.0f} ms"


def test_failed_logins_are_throttled_per_address(guarded_server):
    # After ten failures an address gets a try every 0.5 s; others are not held up.
    started = time.perf_counter()
    with guarded_server.probe.measuring() as probe:
        for _ in range(16):
            with pytest.raises(ReqlError):
                r.connect(guarded_server.host, guarded_server.port, password="wrong")
    assert time.perf_counter() - started > 2.0
    assert probe.slowest < PROBE_LIMIT
    r.connect(guarded_server.host, guarded_server.port, password="secret").close()  # still let in, in its turn


# -- HTTP ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def http_server():
    srv = temp_server(http=True)
    srv.env = dict(os.environ, SYSTABLES_HTTP_BODY_BYTES=str(1 << 20))
    with srv:
        yield srv


def http_post(srv: Any, path: str, body: bytes = b"") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(srv.host, srv.http_port, timeout=30)
    try:
        conn.request("POST", path, body=body)
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


def test_open_http_connections_are_capped_per_address(http_server):
    ids = []
    for _ in range(100):
        status, conn_id = http_post(http_server, "/ajax/reql/open-new-connection")
        assert status == 200
        ids.append(conn_id.decode())
    status, text = http_post(http_server, "/ajax/reql/open-new-connection")
    assert (status, text) == (503, b"Too many open HTTP connections; close some or wait for idle ones to expire.\n")
    for conn_id in ids:
        assert http_post(http_server, f"/ajax/reql/close-connection?conn_id={conn_id}")[0] == 200
    assert http_post(http_server, "/ajax/reql/open-new-connection")[0] == 200


def test_large_bodies_received_at_once_are_capped(http_server):
    # The budget is 1 MB here (256 MB by default): a second body past it is refused, not buffered.
    status, conn_id = http_post(http_server, "/ajax/reql/open-new-connection")
    held = socket.create_connection((http_server.host, http_server.http_port), timeout=30)
    try:
        head = (f"POST /ajax/reql/?conn_id={conn_id.decode()} HTTP/1.1\r\nHost: {http_server.host}:{http_server.http_port}\r\n"
                f"Content-Length: {900_000}\r\n\r\n").encode()
        held.sendall(head + b"x" * 700_000)  # not finished: its bytes stay taken
        time.sleep(0.5)
        status, text = http_post(http_server, f"/ajax/reql/?conn_id={conn_id.decode()}", b"\0" * 8 + b"[1," + b"1" * 500_000 + b"]")
        assert (status, text) == (503, b"Too many large requests are being received; retry shortly.\n")
    finally:
        held.close()
    time.sleep(0.5)
    query = b"\1" + b"\0" * 7 + json.dumps([1, [2, [1] * 1000]]).encode()
    status, body = http_post(http_server, f"/ajax/reql/?conn_id={conn_id.decode()}", query)
    assert status == 200 and b'"t":1' in body


# -- r.js ------------------------------------------------------------------------------

def test_one_user_cannot_take_every_js_worker(server, conn):
    r.db("rethinkdb").table("users").insert({"id": "eve", "password": "pw"}).run(conn)
    loops = []
    try:
        for _ in range(6):  # more endless loops than the pool keeps, more than eve's share (4)
            eve = r.connect(server.host, server.port, user="eve", password="pw")
            victim = threading.Thread(target=lambda c=eve: pytest.raises(ReqlError, r.js("while(true){}", timeout=60).run, c),
                                      daemon=True)
            victim.start()
            loops.append((eve, victim))
        time.sleep(1.0)
        started = time.perf_counter()
        assert r.js("1 + 1").run(conn) == 2
        assert time.perf_counter() - started < 2.0
    finally:
        for eve, _ in loops:
            eve.close(noreply_wait=False)
        r.db("rethinkdb").table("users").get("eve").delete().run(conn)


def test_the_initial_password_is_not_shown_in_server_status():
    with temp_server(http=False, extra_args=["--initial-password", "s3cret"]) as srv:
        conn = r.connect(srv.host, srv.port, password="s3cret")
        argv = r.db("rethinkdb").table("server_status").nth(0)["process"]["argv"].run(conn)
        conn.close()
    assert "s3cret" not in argv and argv[argv.index("--initial-password") + 1] == "<hidden>"
