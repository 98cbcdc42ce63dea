"""Logins (beyond RethinkDB) against real server processes over real HTTP and
the official Python driver: the console's login once ``admin`` has a
password (``/ajax/session``, ``/ajax/login``, ``/ajax/logout``), queries run
as the logged-in user, anonymous requests refused, logout and idle expiry
ending a login and its connections, a user's connections closed when his
password changes or he is deleted, one failed-login throttle for both ports,
and the same answer (and the same work) for an unknown user as for a wrong
password."""

from __future__ import annotations

import base64
import http.client
import json
import os
import statistics
import struct
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from helpers import poll, wait_for
from console_login_fixtures import ADMIN_PASSWORD, USERS, admin, bob, locked  # noqa: F401 (fixtures)
from rethinkdb import r as R
from rethinkdb.errors import ReqlAuthError, ReqlDriverError
from serverproc import ServerProcess, temp_server
from test_web_http import ENDLESS, term

NOT_LOGGED_IN = "Not logged in: log in to the console first.\n"
NOT_YOURS = "This HTTP connection belongs to another console session.\n"
LOGIN_FAILED = "Wrong user name or password.\n"
PASSWORD_CHANGED = "Connection closed: its user's password was changed."
USER_DELETED = "Connection closed: its user was deleted."
CONNECTIONS = R.db("rethinkdb").table("connections")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def json(self) -> Any:
        assert self.status == 200, (self.status, self.body)
        return json.loads(self.body)

    @property
    def response(self) -> dict:
        assert self.status == 200, (self.status, self.body)
        (length,) = struct.unpack("<I", self.body[8:12])
        return json.loads(self.body[12:12 + length])


class Browser:
    """What the console's page sends, with one cookie jar (the login's cookie)."""

    def __init__(self, server: ServerProcess) -> None:
        self.port = server.http_port
        self.cookie: str | None = None

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        all_headers = dict(headers or {})
        if self.cookie is not None:
            all_headers["Cookie"] = self.cookie
        try:
            conn.request(method, path, body=body, headers=all_headers)
            resp = conn.getresponse()
            return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def session(self) -> dict:
        return self.request("GET", "/ajax/session").json

    def log_in(self, user: str, password: str, **headers: str) -> Answer:
        answer = self.request("POST", "/ajax/login", json.dumps({"user": user, "password": password}).encode(),
                              {"Content-Type": "application/json", **headers})
        if answer.status == 200:
            self.cookie = answer.headers["set-cookie"].split(";")[0]
        return answer

    def log_out(self) -> Answer:
        return self.request("POST", "/ajax/logout")

    def open(self) -> Answer:
        return self.request("POST", "/ajax/reql/open-new-connection?cacheBuster=0.5")

    def open_id(self) -> str:
        answer = self.open()
        assert answer.status == 200, answer
        return answer.text

    def send(self, conn_id: str, token: int, query: Any) -> Answer:
        return self.request("POST", f"/ajax/reql/?conn_id={conn_id}", struct.pack("<Q", token) + json.dumps(query).encode())

    def run(self, conn_id: str, token: int, query: Any) -> dict:
        return self.send(conn_id, token, [1, term(query)]).response




def http_rows(admin: Any, user: str) -> list[dict]:
    return list(CONNECTIONS.filter({"protocol": "http", "user": user}).run(admin))


# -- no admin password: as RethinkDB ---------------------------------------------

def test_without_an_admin_password_the_console_needs_no_login(server):
    browser = Browser(server)
    assert browser.session() == {"login_required": False, "user": None}
    conn_id = browser.open_id()
    assert browser.run(conn_id, 1, R.expr(20) + 22)["r"] == [42]
    refused = browser.log_in("admin", "")
    assert (refused.status, refused.text) == (400, "No login is needed: the admin user has no password.\n")
    assert "set-cookie" not in refused.headers


# -- anonymous requests get nothing -----------------------------------------------

def test_anonymous_requests_are_refused(locked, admin):
    anonymous = Browser(locked)
    assert anonymous.session() == {"login_required": True, "user": None}
    opened = anonymous.open()
    assert (opened.status, opened.text) == (401, NOT_LOGGED_IN)
    logged_in = Browser(locked)
    assert logged_in.log_in("admin", ADMIN_PASSWORD).status == 200
    conn_id = logged_in.open_id()
    # A conn_id alone (say, leaked) runs nothing: the query would have inserted a document.
    with_id_only = anonymous.send(conn_id, 1, [1, term(R.db("rethinkdb").table("users").insert({"id": "intruder", "password": ""}))])
    assert (with_id_only.status, with_id_only.text) == (401, NOT_LOGGED_IN)
    assert USERS.get("intruder").run(admin) is None
    for target in (conn_id, "no-such-connection"):
        closed = anonymous.request("POST", f"/ajax/reql/close-connection?conn_id={target}")
        assert (closed.status, closed.text) == (401, NOT_LOGGED_IN)
    assert logged_in.run(conn_id, 2, R.expr(1))["r"] == [1]  # still open


def test_wrong_logins_and_unknown_users_get_the_same_answer(locked):
    browser = Browser(locked)
    wrong = browser.log_in("admin", "not it")
    unknown = browser.log_in("nobody_" + uuid.uuid4().hex[:6], "not it")
    for answer in (wrong, unknown):
        assert (answer.status, answer.text) == (401, LOGIN_FAILED)
        assert "set-cookie" not in answer.headers
    assert browser.cookie is None
    malformed = browser.request("POST", "/ajax/login", b'{"user": 1}', {"Content-Type": "application/json"})
    assert malformed.status == 400


def test_host_and_origin_checks_apply_to_logins(locked):
    browser = Browser(locked)
    cross = browser.log_in("admin", ADMIN_PASSWORD, Origin="http://evil.example")
    assert cross.status == 403 and "set-cookie" not in cross.headers
    rebinding = browser.log_in("admin", ADMIN_PASSWORD, Host=f"evil.example:{locked.http_port}")
    assert rebinding.status == 403 and "set-cookie" not in rebinding.headers


# -- a login is that user ------------------------------------------------------------

def test_a_login_is_an_httponly_samesite_cookie_and_queries_run_as_that_user(locked, admin, bob):
    browser = Browser(locked)
    answer = browser.log_in(bob, "b0b")
    assert answer.json == {"login_required": True, "user": bob}
    attributes = [part.strip() for part in answer.headers["set-cookie"].split(";")]
    name, token = attributes[0].split("=", 1)
    assert name == "systables_session" and len(token) >= 40
    assert "HttpOnly" in attributes and "SameSite=Strict" in attributes and "Path=/" in attributes
    assert browser.session() == {"login_required": True, "user": bob}
    conn_id = browser.open_id()
    denied = browser.run(conn_id, 1, USERS)
    assert denied["t"] == 18 and denied["r"] == [f"User `{bob}` does not have the required `read` permission."]
    R.db("rethinkdb").table("jobs").grant(bob, {"read": True}).run(admin)
    jobs = browser.run(conn_id, 2, R.db("rethinkdb").table("jobs").filter({"type": "query"}).coerce_to("array"))
    [mine] = jobs["r"][0]
    assert mine["info"]["user"] == bob
    [row] = http_rows(admin, bob)
    assert row["user"] == bob and row["id"] != conn_id


def test_a_connection_answers_only_its_own_login(locked, admin, bob):
    first, second = Browser(locked), Browser(locked)
    first.log_in(bob, "b0b")
    second.log_in("admin", ADMIN_PASSWORD)
    conn_id = first.open_id()
    other = second.send(conn_id, 1, [1, term(R.expr(1))])
    assert (other.status, other.text) == (403, NOT_YOURS)
    assert first.run(conn_id, 2, R.expr(2))["r"] == [2]


def test_logout_ends_the_login_and_its_connections(locked, admin, bob):
    browser = Browser(locked)
    browser.log_in(bob, "b0b")
    conn_id = browser.open_id()
    assert browser.run(conn_id, 1, R.expr(1))["r"] == [1]
    assert len(http_rows(admin, bob)) == 1
    answer = browser.log_out()
    assert answer.status == 200 and "Max-Age=0" in answer.headers["set-cookie"]
    assert http_rows(admin, bob) == []
    # The old cookie is worth nothing now (a copy of it kept elsewhere, say).
    assert browser.session()["user"] is None
    assert browser.send(conn_id, 2, [1, term(R.expr(1))]).status == 401
    assert browser.open().status == 401


def test_logins_expire_when_idle():
    srv = temp_server(extra_args=["--initial-password", ADMIN_PASSWORD],
                      env=dict(os.environ, SYSTABLES_HTTP_TIMEOUT="1"))
    srv.start()
    try:
        admin = R.connect(srv.host, srv.port, password=ADMIN_PASSWORD)
        browser = Browser(srv)
        browser.log_in("admin", ADMIN_PASSWORD)
        # Each request renews the login: asked less often than the timeout, it expires.
        poll(lambda: browser.open().status, lambda status: status == 401, timeout=10, every=1.5,
             what="the idle login refused")
        assert http_rows(admin, "admin") == []  # its connections closed with it
        admin.close()
    finally:
        srv.stop()


# -- a changed password or a deleted user closes his connections ------------------

class Running(threading.Thread):
    """``query`` running on ``conn`` in a thread of its own; keeps what it raised."""

    def __init__(self, conn: Any, query: Any) -> None:
        super().__init__(daemon=True)
        self.conn, self.query = conn, query
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.query.run(self.conn)
        except BaseException as e:  # noqa: BLE001 - the test inspects it
            self.error = e


def driver_row(admin: Any, conn: Any) -> dict | None:
    rows = list(CONNECTIONS.filter({"client_port": conn.client_port()}).run(admin))
    return rows[0] if rows else None


def test_a_changed_password_closes_the_users_connections_and_console_logins(locked, admin, bob):
    idle = R.connect(locked.host, locked.port, user=bob, password="b0b")
    busy = Running(R.connect(locked.host, locked.port, user=bob, password="b0b"), ENDLESS)
    console = Browser(locked)
    console.log_in(bob, "b0b")
    conn_id = console.open_id()
    others = R.connect(locked.host, locked.port, password=ADMIN_PASSWORD)
    try:
        wait_for(lambda: (driver_row(admin, busy.conn) or {}).get("queries"), what="the busy query running")
        [job] = driver_row(admin, busy.conn)["queries"]
        assert USERS.get(bob).update({"password": "n3w"}).run(admin)["replaced"] == 1
        busy.join(timeout=10)
        assert not busy.is_alive() and isinstance(busy.error, ReqlDriverError)  # as when a connection drops
        with pytest.raises(ReqlDriverError):
            R.expr(1).run(idle)
        assert CONNECTIONS.filter({"user": bob}).count().run(admin) == 0
        assert console.session()["user"] is None
        assert console.send(conn_id, 1, [1, term(R.expr(1))]).status == 401
        assert R.expr(1).run(others) == 1  # other users keep theirs
        history = R.db("rethinkdb").table("job_history").filter({"job": job})
        [entry] = poll(lambda: list(history.run(admin)), lambda e: len(e) == 1)
        mine = driver_row(admin, admin)
        assert entry["outcome"] == "killed" and entry["reason"] == PASSWORD_CHANGED
        assert entry["killed_by"] == {"user": "admin", "connection": mine["id"]}
        R.connect(locked.host, locked.port, user=bob, password="n3w").close()
    finally:
        busy.conn.close(noreply_wait=False)
        idle.close(noreply_wait=False)
        others.close()


def test_the_connection_that_changes_its_own_password_stays_open(locked, admin):
    name = "self_" + uuid.uuid4().hex[:8]
    USERS.insert({"id": name, "password": "one"}).run(admin)
    USERS.grant(name, {"read": True, "write": True}).run(admin)
    changer = R.connect(locked.host, locked.port, user=name, password="one")
    other = R.connect(locked.host, locked.port, user=name, password="one")
    try:
        assert USERS.get(name).update({"password": "two"}).run(changer)["replaced"] == 1
        assert R.expr(1).run(changer) == 1
        with pytest.raises(ReqlDriverError):
            R.expr(1).run(other)
    finally:
        changer.close()
        other.close(noreply_wait=False)
        USERS.get(name).delete().run(admin)


def test_unchanged_passwords_close_nothing(locked, admin, bob):
    conn = R.connect(locked.host, locked.port, user=bob, password="b0b")
    try:
        assert USERS.get(bob).update({"password": True}).run(admin)["unchanged"] == 1
        assert USERS.get(bob).update({"time_limit": 30}).run(admin)["replaced"] == 1
        assert R.expr(1).run(conn) == 1
    finally:
        conn.close()


def test_a_deleted_user_loses_his_connections(locked, admin):
    name = "gone_" + uuid.uuid4().hex[:8]
    USERS.insert({"id": name, "password": "pw"}).run(admin)
    conn = R.connect(locked.host, locked.port, user=name, password="pw")
    console = Browser(locked)
    console.log_in(name, "pw")
    conn_id = console.open_id()
    try:
        assert USERS.get(name).delete().run(admin)["deleted"] == 1
        with pytest.raises(ReqlDriverError):
            R.expr(1).run(conn)
        assert console.send(conn_id, 1, [1, term(R.expr(1))]).status == 401
        assert CONNECTIONS.filter({"user": name}).count().run(admin) == 0
    finally:
        conn.close(noreply_wait=False)


# -- one throttle, no enumeration ----------------------------------------------------

def test_failed_logins_on_either_port_slow_down_both():
    srv = temp_server(extra_args=["--initial-password", ADMIN_PASSWORD])
    srv.start()
    try:
        browser = Browser(srv)
        for _ in range(10):  # the free failures, on the console
            assert browser.log_in("admin", "guess").status == 401
        started = time.monotonic()
        errors: list[BaseException] = []

        def guess() -> None:
            try:
                R.connect(srv.host, srv.port, password="guess")
            except ReqlAuthError as e:
                errors.append(e)

        threads = [threading.Thread(target=guess) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        elapsed = time.monotonic() - started
        assert len(errors) == 4
        assert elapsed >= 1.4, elapsed  # one guess every 0.5 s: the 4th starts 1.5 s after the first
    finally:
        srv.stop()


def scram_first(server: ServerProcess, user: str) -> tuple[str, str]:
    """The salt the driver port challenges ``user`` with, and its final answer to a wrong proof."""
    import socket

    sock = socket.create_connection((server.host, server.port), timeout=10)
    try:
        nonce = base64.b64encode(os.urandom(18)).decode()
        sock.sendall(struct.pack("<I", 0x34C2BDC3) + json.dumps(
            {"protocol_version": 0, "authentication_method": "SCRAM-SHA-256",
             "authentication": f"n,,n={user},r={nonce}"}).encode() + b"\0")
        messages = read_messages(sock, 2)
        first = dict(kv.split("=", 1) for kv in json.loads(messages[1])["authentication"].split(","))
        proof = base64.b64encode(os.urandom(32)).decode()
        sock.sendall(json.dumps({"authentication": f"c=biws,r={first['r']},p={proof}"}).encode() + b"\0")
        return first["s"], read_messages(sock, 1)[0].decode()
    finally:
        sock.close()


def read_messages(sock: Any, count: int) -> list[bytes]:
    data = b""
    while data.count(b"\0") < count:
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    return data.split(b"\0")[:count]


def test_unknown_users_cannot_be_told_from_wrong_passwords_on_the_driver_port(locked, admin, bob):
    with pytest.raises(ReqlAuthError, match="Wrong password$"):
        R.connect(locked.host, locked.port, user="nobody_at_all", password="x")
    known = [scram_first(locked, bob) for _ in range(2)]
    unknown = [scram_first(locked, "nobody_at_all") for _ in range(2)]
    wrong = '{"success":false,"error":"Wrong password","error_code":12}'
    assert [answer for _, answer in known + unknown] == [wrong] * 4
    # A real user's salt is stable; so is an unknown one's (RethinkDB draws a new one each time).
    assert known[0][0] == known[1][0] and unknown[0][0] == unknown[1][0]
    assert unknown[0][0] != scram_first(locked, "someone_else")[0]


def test_an_unknown_users_salt_survives_a_restart():
    srv = temp_server()
    srv.start()
    try:
        before = scram_first(srv, "nobody")[0]
        srv.stop()
        srv.start()
        assert scram_first(srv, "nobody")[0] == before
    finally:
        srv.stop()


def test_console_logins_take_as_long_for_an_unknown_user_as_for_a_wrong_password():
    """Both run PBKDF2 (4096 iterations) in the server: medians within a
    factor of 1.6 (without the decoy an unknown user answers in well under
    half the time).  Five of each, alternated: within the throttle's free failures."""
    srv = temp_server(extra_args=["--initial-password", ADMIN_PASSWORD])
    srv.start()
    try:
        browser = Browser(srv)
        browser.log_in("nobody", "warm-up")  # the first request pays for imports and connections
        times: dict[str, list[float]] = {"admin": [], "nobody": []}
        for _ in range(4):
            for user in times:
                started = time.perf_counter()
                assert browser.log_in(user, "wrong").status == 401
                times[user].append(time.perf_counter() - started)
        wrong, unknown = statistics.median(times["admin"]), statistics.median(times["nobody"])
        assert 1 / 1.6 < unknown / wrong < 1.6, times
    finally:
        srv.stop()


def test_a_console_login_that_changes_its_own_password_stays_and_the_others_end(locked, admin, bob):
    USERS.grant(bob, {"read": True, "write": True}).run(admin)
    changer, other = Browser(locked), Browser(locked)
    changer.log_in(bob, "b0b")
    other.log_in(bob, "b0b")
    changing, sibling, elsewhere = changer.open_id(), changer.open_id(), other.open_id()
    driver = R.connect(locked.host, locked.port, user=bob, password="b0b")
    try:
        assert changer.run(changing, 1, USERS.get(bob).update({"password": "n3w"}))["r"][0]["replaced"] == 1
        assert changer.run(changing, 2, R.expr(1))["r"] == [1]
        assert changer.run(sibling, 3, R.expr(2))["r"] == [2]  # the same login: the same page
        assert changer.session()["user"] == bob
        assert other.session()["user"] is None
        assert other.send(elsewhere, 4, [1, term(R.expr(1))]).status == 401
        with pytest.raises(ReqlDriverError):
            R.expr(1).run(driver)
    finally:
        driver.close(noreply_wait=False)
