"""RethinkDB's HTTP ReQL protocol (``/ajax/reql/``) against a real server
process, byte for byte as the stock JavaScript driver speaks it, plus the
administrative port's own rules (Host/Origin checks, the web shell's page)."""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from helpers import fresh_table, wait_for
from rethinkdb import r as R
from rethinkdb.ast import ReQLEncoder
from serverproc import ServerProcess, temp_server

START, CONTINUE, STOP, NOREPLY_WAIT, SERVER_INFO = 1, 2, 3, 4, 5
SUCCESS_ATOM, SUCCESS_SEQUENCE, SUCCESS_PARTIAL, WAIT_COMPLETE, SERVER_INFO_RESPONSE = 1, 2, 3, 4, 5
CLIENT_ERROR, RUNTIME_ERROR = 16, 18
OP_INDETERMINATE, QUERY_LOGIC = 4200000, 3000000

TERMINATED = "This ReQL connection has been terminated."
KILLED = "Query terminated by the `rethinkdb.jobs` table."
NOT_OPEN = "This HTTP connection is not open."
# Runs until interrupted: it checks for interruption between chunks of rows.
ENDLESS = R.range(10**12).filter(lambda x: x.ge(0)).count()


def term(query: Any) -> Any:
    return json.loads(ReQLEncoder().encode(query))


@dataclass
class Reply:
    status: int
    content_type: str | None
    body: bytes

    @property
    def token(self) -> int:
        return struct.unpack("<Q", self.body[:8])[0]

    @property
    def response(self) -> dict:
        assert self.status == 200, (self.status, self.body)
        (length,) = struct.unpack("<I", self.body[8:12])
        assert len(self.body) == 12 + length
        return json.loads(self.body[12:])


class ReqlHttp:
    """What the JavaScript driver's HttpConnection sends, one request each."""

    def __init__(self, port: int, host_header: str | None = None) -> None:
        self.port = port
        self.host_header = host_header

    def post(self, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
             conn: http.client.HTTPConnection | None = None) -> Reply:
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        all_headers = dict(headers or {})
        if self.host_header is not None:
            all_headers["Host"] = self.host_header
        try:
            conn.request("POST", path, body=body, headers=all_headers)
            resp = conn.getresponse()
            return Reply(resp.status, resp.getheader("Content-Type"), resp.read())
        finally:
            if own:
                conn.close()

    def open(self, conn: http.client.HTTPConnection | None = None) -> str:
        reply = self.post("/ajax/reql/open-new-connection?cacheBuster=0.123", conn=conn)
        assert reply.status == 200 and reply.content_type == "text/plain"
        return reply.body.decode()

    def send(self, conn_id: str, token: int, query: list) -> Reply:
        return self.post(f"/ajax/reql/?conn_id={conn_id}", struct.pack("<Q", token) + json.dumps(query).encode())

    def run(self, conn_id: str, token: int, query: list) -> dict:
        reply = self.send(conn_id, token, query)
        assert reply.token == token
        return reply.response

    def close(self, conn_id: str) -> Reply:
        return self.post(f"/ajax/reql/close-connection?conn_id={conn_id}")


@pytest.fixture
def web(server: ServerProcess) -> ReqlHttp:
    return ReqlHttp(server.http_port)


def in_background(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Run ``fn`` in a thread; the returned callable waits for its result."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised by the waiter
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()

    def wait(timeout: float = 30.0) -> Any:
        thread.join(timeout)
        assert not thread.is_alive(), "request did not finish"
        if "error" in box:
            raise box["error"]
        return box["value"]

    return wait





def query_jobs(conn, text_fragment: str) -> list[dict]:
    rows = list(R.db("rethinkdb").table("jobs").filter({"type": "query"}).run(conn))
    return [row for row in rows if text_fragment in row["info"]["query"]]


ENDLESS_TEXT = "r.range(1000000000000)"


# -- opening, running, closing ---------------------------------------------------

def test_open_new_connection_returns_a_url_safe_id(web):
    ids = {web.open() for _ in range(5)}
    assert len(ids) == 5
    for conn_id in ids:
        assert conn_id and all(c.isalnum() or c in "-_" for c in conn_id)


def test_query_round_trip_carries_the_implicit_profile(web):
    conn_id = web.open()
    reply = web.send(conn_id, 7, [START, term(R.expr([1, 2]).map(lambda x: x.mul(2)))])
    assert reply.status == 200 and reply.content_type == "application/octet-stream"
    assert reply.token == 7
    response = reply.response
    assert response["t"] == SUCCESS_ATOM and response["r"] == [[2, 4]]
    [event] = response["p"]
    assert set(event) == {"duration(ms)"} and isinstance(event["duration(ms)"], float)


def test_requested_profile_is_kept(web):
    conn_id = web.open()
    response = web.run(conn_id, 1, [START, 1, {"profile": True}])
    assert response["r"] == [1]
    assert "description" in response["p"][0]


def test_driver_run_options_are_accepted(web):
    conn_id = web.open()
    optargs = {"time_format": "raw", "binary_format": "raw", "profile": False}
    response = web.run(conn_id, 1, [START, term(R.epoch_time(0)), optargs])
    assert response["r"] == [{"$reql_type$": "TIME", "epoch_time": 0, "timezone": "+00:00"}]
    assert "p" in response


def test_cursor_continues_and_stops_across_requests(web):
    conn_id = web.open()
    first = web.run(conn_id, 1, [START, term(R.range(100)), {"max_batch_rows": 10}])
    assert first["t"] == SUCCESS_PARTIAL and first["n"] == [] and "p" in first
    rows = list(first["r"])
    second = web.run(conn_id, 1, [CONTINUE])
    assert second["t"] == SUCCESS_PARTIAL and "p" in second
    rows += second["r"]
    assert rows == list(range(len(rows)))
    stopped = web.run(conn_id, 1, [STOP])
    assert stopped["t"] == SUCCESS_SEQUENCE and stopped["r"] == [] and stopped["n"] == []
    gone = web.run(conn_id, 1, [CONTINUE])
    assert gone["t"] == CLIENT_ERROR and gone["r"] == ["Token 1 not in stream cache."]


def test_server_info_and_noreply_wait(web, server):
    conn_id = web.open()
    info = web.run(conn_id, 1, [SERVER_INFO])
    assert info["t"] == SERVER_INFO_RESPONSE
    assert info["r"][0]["id"] == server.server_id and info["r"][0]["name"] == server.name
    assert web.run(conn_id, 2, [NOREPLY_WAIT])["t"] == WAIT_COMPLETE


def test_errors_are_200_frames(web):
    conn_id = web.open()
    runtime = web.run(conn_id, 1, [START, term(R.expr(1).add("a"))])
    assert runtime["t"] == RUNTIME_ERROR and runtime["e"] == QUERY_LOGIC and "p" in runtime
    garbage = web.post(f"/ajax/reql/?conn_id={conn_id}", struct.pack("<Q", 3) + b"[1, oops")
    assert garbage.token == 3
    assert garbage.response == {"t": CLIENT_ERROR, "r": ["Client is buggy (failed to deserialize query)."], "b": []}


def test_close_connection_forgets_it(web):
    conn_id = web.open()
    closed = web.close(conn_id)
    assert closed.status == 200 and closed.body == b""
    reply = web.send(conn_id, 1, [START, 1])
    assert reply.status == 200
    assert reply.response == {"t": CLIENT_ERROR, "r": [NOT_OPEN], "b": []}
    assert web.close("never-opened").status == 200


# -- the protocol's edge cases ------------------------------------------------------

def test_unknown_conn_id_is_a_client_error_frame(web):
    reply = web.send("no-such-connection", 42, [START, 1])
    assert reply.status == 200 and reply.content_type == "application/octet-stream"
    assert reply.token == 42
    assert reply.response == {"t": CLIENT_ERROR, "r": [NOT_OPEN], "b": []}


@pytest.mark.parametrize("path", ["/ajax/reql/", "/ajax/reql/close-connection", "/ajax/reql/?other=1"])
def test_missing_conn_id_is_400(web, path):
    reply = web.post(path, struct.pack("<Q", 1) + b"[1,1]")
    assert reply.status == 400
    assert reply.body == b'Required parameter "conn_id" missing\n'


@pytest.mark.parametrize("body", [b"", b"\x01", b"\x01\x00\x00\x00\x00\x00\x00"])
def test_short_body_is_400(web, body):
    conn_id = web.open()
    reply = web.post(f"/ajax/reql/?conn_id={conn_id}", body)
    assert reply.status == 400 and reply.body == b"Client is buggy (request too small)."


def test_noreply_is_refused_and_not_run(web, conn):
    conn_id = web.open()
    db = "web_noreply"
    R.db_create(db).run(conn)
    try:
        reply = web.send(conn_id, 1, [START, term(R.db(db).table_create("t")), {"noreply": True}])
        assert reply.status == 400 and reply.body == b"noreply queries are not supported over HTTP\n"
        assert R.db(db).table_list().run(conn) == []
        assert web.run(conn_id, 2, [START, 5])["r"] == [5]  # the connection stays usable
    finally:
        R.db_drop(db).run(conn)


def test_conn_id_is_read_raw_not_percent_decoded(web):
    conn_id = web.open()
    assert web.send(conn_id.replace("_", "%5F") + "x", 1, [START, 1]).response["r"] == [NOT_OPEN]


# -- interruption ---------------------------------------------------------------------

def test_close_interrupts_the_running_query(web, conn):
    conn_id = web.open()
    waiter = in_background(lambda: web.send(conn_id, 1, [START, term(ENDLESS)]))
    wait_for(lambda: query_jobs(conn, ENDLESS_TEXT))
    web.close(conn_id)
    reply = waiter()
    assert reply.token == 1
    response = reply.response
    assert response["t"] == RUNTIME_ERROR and response["e"] == OP_INDETERMINATE
    assert response["r"] == [TERMINATED] and response["b"] == []
    wait_for(lambda: not query_jobs(conn, ENDLESS_TEXT))


def test_http_queries_are_jobs_and_can_be_killed(web, conn):
    opener = http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)
    opener.connect()
    opener_port = opener.sock.getsockname()[1]
    conn_id = web.open(conn=opener)
    opener.close()
    waiter = in_background(lambda: web.send(conn_id, 1, [START, term(ENDLESS)]))
    [job] = wait_for(lambda: query_jobs(conn, ENDLESS_TEXT))
    assert job["info"]["user"] == "admin"
    assert job["info"]["client_address"] == "127.0.0.1" and job["info"]["client_port"] == opener_port
    assert R.db("rethinkdb").table("jobs").get(job["id"]).delete().run(conn)["deleted"] == 1
    response = waiter().response
    assert response["t"] == RUNTIME_ERROR and response["e"] == OP_INDETERMINATE and response["r"] == [KILLED]


def test_abandoned_request_interrupts_its_query(web, conn):
    conn_id = web.open()
    payload = struct.pack("<Q", 1) + json.dumps([START, term(ENDLESS)]).encode()
    request = (f"POST /ajax/reql/?conn_id={conn_id} HTTP/1.1\r\nHost: 127.0.0.1:{web.port}\r\n"
               f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
    with socket.create_connection(("127.0.0.1", web.port)) as sock:
        sock.sendall(request)
        wait_for(lambda: query_jobs(conn, ENDLESS_TEXT))
    wait_for(lambda: not query_jobs(conn, ENDLESS_TEXT))
    assert web.run(conn_id, 2, [START, 1])["r"] == [1]  # only the request ended, not the connection


def test_idle_connections_expire(monkeypatch):
    monkeypatch.setenv("SYSTABLES_HTTP_TIMEOUT", "1")
    with temp_server() as srv:
        web = ReqlHttp(srv.http_port)
        idle = web.open()
        busy = web.open()
        started = time.monotonic()
        # A query that outlives the timeout is interrupted with RethinkDB's message.
        response = web.run(busy, 1, [START, term(ENDLESS)])
        assert response["t"] == RUNTIME_ERROR and response["e"] == OP_INDETERMINATE
        assert response["r"] == ["HTTP ReQL query timed out after 1 seconds."]
        assert time.monotonic() - started < 10
        assert web.run(idle, 2, [START, 1])["r"] == [NOT_OPEN]
        fresh = web.open()
        assert web.run(fresh, 1, [START, 1])["r"] == [1]


def test_default_timeout_message_is_rethinkdbs():
    from systables.datum import errors
    from systables.web.reql_http import DEFAULT_TIMEOUT_SEC, timed_out_message

    assert timed_out_message(DEFAULT_TIMEOUT_SEC) == errors.HTTP_TIMED_OUT


# -- the administrative port ------------------------------------------------------------

@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.2", ""])
def test_foreign_host_header_is_refused(server, host):
    web = ReqlHttp(server.http_port, host_header=host)
    reply = web.post("/ajax/reql/open-new-connection")
    assert reply.status == 403


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST.", "127.0.0.1:{port}", "localhost:{port}"])
def test_own_host_names_are_accepted(server, host):
    web = ReqlHttp(server.http_port, host_header=host.format(port=server.http_port))
    assert web.post("/ajax/reql/open-new-connection").status == 200


def test_cross_origin_posts_are_refused(web):
    evil = web.post("/ajax/reql/open-new-connection", headers={"Origin": "http://evil.example"})
    assert evil.status == 403
    same = web.post("/ajax/reql/open-new-connection", headers={"Origin": f"http://127.0.0.1:{web.port}"})
    assert same.status == 200


@dataclass
class Page:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def get(port: int, path: str) -> Page:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return Page(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def test_missing_bundle_answers_503(monkeypatch, tmp_path):
    monkeypatch.setenv("SYSTABLES_WEBSHELL_DIR", str(tmp_path / "nothing-here"))
    with temp_server() as srv:
        resp = get(srv.http_port, "/")
        assert resp.status == 503
        assert b"web shell not built (run make webshell)" in resp.body
        assert get(srv.http_port, "/shell.js").status == 404


def test_page_is_served_with_protective_headers(monkeypatch, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>shell</title>")
    (tmp_path / "shell.js").write_text("console.log('x');" * 200)
    monkeypatch.setenv("SYSTABLES_WEBSHELL_DIR", str(tmp_path))
    with temp_server() as srv:
        page = get(srv.http_port, "/")
        assert page.status == 200 and page.body.startswith(b"<!doctype html>")
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Cache-Control"] == "no-cache"
        script = get(srv.http_port, "/shell.js")
        assert script.status == 200 and script.headers["ETag"]
        assert get(srv.http_port, "/../../etc/passwd").status == 404


def test_no_http_admin_turns_the_port_off():
    with temp_server(http=False) as srv:
        assert srv.http_port == 0
        assert not any("administrative HTTP" in line for line in srv.output)


def test_allowed_hosts_follow_the_bound_addresses():
    from systables.web.hosts import AllowedHosts

    loopback = AllowedHosts.for_binds(["127.0.0.1"], ["127.0.0.1"])
    assert loopback.allows("127.0.0.1:8080") and loopback.allows("localhost")
    assert not loopback.allows("10.1.2.3") and not loopback.allows("attacker.example")
    named = AllowedHosts.for_binds(["db.internal"], ["10.0.0.5"])
    assert named.allows("db.internal:8080") and named.allows("10.0.0.5")
    assert not named.allows("10.0.0.6") and not named.allows("rebind.attacker.example")
    wildcard = AllowedHosts.for_binds(["0.0.0.0"], ["0.0.0.0"])
    assert wildcard.allows("192.168.1.20:8080") and wildcard.allows("[::1]:8080") and wildcard.allows("localhost")
    assert not wildcard.allows("rebind.attacker.example")


# -- changefeeds, as RethinkDB serves them to its own UI ------------------------------

SEQUENCE_FEED = 1


def changes_text(conn, table) -> str:
    """How the server prints ``table.changes()`` in ``rethinkdb.jobs``."""
    name = table.info()["name"].run(conn)
    return f'table("{name}").changes()'


def feed_changes(web: ReqlHttp, conn_id: str, token: int, wanted: int, timeout: float = 20.0) -> list[dict]:
    """CONTINUE (each answered within the batch time, empty or not) until
    ``wanted`` changes arrived."""
    changes: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(changes) < wanted:
        assert time.monotonic() < deadline, f"only {changes!r} arrived"
        started = time.monotonic()
        response = web.run(conn_id, token, [CONTINUE])
        assert time.monotonic() - started < 5, "a CONTINUE waited past the batch time"
        assert response["t"] == SUCCESS_PARTIAL and response["n"] == [SEQUENCE_FEED], response
        changes += response["r"]
    return changes


def test_a_feed_over_http_sees_other_clients_writes_and_stop_ends_it(web, conn):
    with fresh_table(R, conn) as table:
        conn_id = web.open()
        first = web.run(conn_id, 1, [START, term(table.changes())])
        assert first["t"] == SUCCESS_PARTIAL and first["n"] == [SEQUENCE_FEED] and first["r"] == []
        text = changes_text(conn, table)
        [job] = wait_for(lambda: query_jobs(conn, text))
        # Idle: an empty batch after the batch time, so that the page cycles.
        empty = web.run(conn_id, 1, [CONTINUE])
        assert empty["t"] == SUCCESS_PARTIAL and empty["r"] == []
        # A CONTINUE waiting for changes holds neither the connection's other queries nor the server.
        waiting = in_background(lambda: feed_changes(web, conn_id, 1, 3))
        assert web.run(conn_id, 2, [START, term(R.expr(41).add(1))])["r"] == [42]
        assert table.insert([{"id": 1}, {"id": 2}]).run(conn)["inserted"] == 2
        assert table.get(1).update({"x": 1}).run(conn)["replaced"] == 1
        changes = waiting()
        assert changes == [{"old_val": None, "new_val": {"id": 1}}, {"old_val": None, "new_val": {"id": 2}},
                           {"old_val": {"id": 1}, "new_val": {"id": 1, "x": 1}}]
        # STOP while a CONTINUE waits: both are answered, the job goes.  (Nothing
        # shows when the server has read the CONTINUE: one that arrives after
        # the STOP is answered as a token no longer open.)
        blocked = in_background(lambda: web.run(conn_id, 1, [CONTINUE]))
        stopped = web.run(conn_id, 1, [STOP])
        assert stopped["t"] == SUCCESS_SEQUENCE and stopped["r"] == []
        late = blocked()
        assert late["t"] in (SUCCESS_SEQUENCE, SUCCESS_PARTIAL) or (
            late["t"] == CLIENT_ERROR and late["r"] == ["Token 1 not in stream cache."]), late
        wait_for(lambda: not query_jobs(conn, text))
        assert web.run(conn_id, 1, [CONTINUE])["r"] == ["Token 1 not in stream cache."]


def test_deleting_an_http_feeds_job_ends_it(web, conn):
    with fresh_table(R, conn) as table:
        conn_id = web.open()
        assert web.run(conn_id, 1, [START, term(table.changes())])["t"] == SUCCESS_PARTIAL
        text = changes_text(conn, table)
        [job] = wait_for(lambda: query_jobs(conn, text))
        assert job["info"]["client_address"] == "127.0.0.1"
        waiting = in_background(lambda: _continue_until_error(web, conn_id, 1))
        assert R.db("rethinkdb").table("jobs").get(job["id"]).delete().run(conn)["deleted"] == 1
        response = waiting()
        assert response["t"] == RUNTIME_ERROR and response["e"] == OP_INDETERMINATE and response["r"] == [KILLED]
        assert not query_jobs(conn, text)


def _continue_until_error(web: ReqlHttp, conn_id: str, token: int) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = web.run(conn_id, token, [CONTINUE])
        if response["t"] != SUCCESS_PARTIAL:
            return response
    raise AssertionError("the feed never ended")


def test_closing_the_http_connection_ends_its_feeds(web, conn):
    with fresh_table(R, conn) as table:
        conn_id = web.open()
        for token in (1, 2):
            assert web.run(conn_id, token, [START, term(table.changes())])["t"] == SUCCESS_PARTIAL
        text = changes_text(conn, table)
        assert len(wait_for(lambda: len(query_jobs(conn, text)) == 2 and query_jobs(conn, text))) == 2
        waiting = in_background(lambda: _continue_until_error(web, conn_id, 1))
        web.close(conn_id)
        response = waiting()
        assert response["t"] in (RUNTIME_ERROR, CLIENT_ERROR)
        wait_for(lambda: not query_jobs(conn, text))


def test_a_system_table_feed_over_http_sees_a_job_start_and_end(web, conn):
    conn_id = web.open()
    assert web.run(conn_id, 1, [START, term(R.db("rethinkdb").table("jobs").changes())])["t"] == SUCCESS_PARTIAL
    marker = "http_jobs_feed_marker"
    R.expr(marker).do(lambda x: R.range(20000).count()).run(conn)
    deadline = time.monotonic() + 20
    starts = ends = 0
    while not (starts and ends):
        assert time.monotonic() < deadline
        for change in web.run(conn_id, 1, [CONTINUE])["r"]:
            new, old = change["new_val"], change["old_val"]
            starts += bool(new and old is None and marker in new["info"].get("query", ""))
            ends += bool(old and new is None and marker in old["info"].get("query", ""))
    assert starts == ends == 1
    web.close(conn_id)
