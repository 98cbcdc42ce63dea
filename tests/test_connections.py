"""``rethinkdb.connections`` (beyond RethinkDB) against a real server with the
official driver: one row per driver and ``/ajax/reql/`` connection, each
user's view, and deleting a row closing the connection itself."""

from __future__ import annotations

import datetime
import uuid

import pytest
from helpers import Victim, poll
from rethinkdb.errors import ReqlDriverError, ReqlPermissionError
from test_web_http import ReqlHttp, term

CLOSED = "Connection closed by the `rethinkdb.connections` table."
NOT_OPEN = "This HTTP connection is not open."


def connections(r):  # type: ignore[no-untyped-def]
    return r.db("rethinkdb").table("connections")


def row_of_port(r, conn, port: int) -> dict | None:  # type: ignore[no-untyped-def]
    rows = list(connections(r).filter({"client_port": port}).run(conn))
    assert len(rows) <= 1
    return rows[0] if rows else None


@pytest.fixture
def user(r, conn, server):  # type: ignore[no-untyped-def]
    name = "c_" + uuid.uuid4().hex[:8]
    r.db("rethinkdb").table("users").insert({"id": name, "password": ""}).run(conn)
    yield name
    r.db("rethinkdb").table("users").get(name).delete().run(conn)


def test_a_driver_connection_has_its_row(r, conn, server):
    other = r.connect(server.host, server.port)
    try:
        before = datetime.datetime.now(datetime.timezone.utc)
        assert r.expr([1, 2, 3]).run(other) == [1, 2, 3]
        row = row_of_port(r, conn, other.client_port())
        assert row is not None
        assert set(row) == {"bytes_in", "bytes_out", "client_address", "client_port", "connected_at", "id",
                            "last_query_at", "protocol", "queries", "server", "user"}
        assert uuid.UUID(row["id"])
        assert row["user"] == "admin" and row["protocol"] == "V1_0" and row["client_address"] == "127.0.0.1"
        assert row["server"] == server.name and row["queries"] == []
        assert row["connected_at"] <= row["last_query_at"]
        assert row["last_query_at"] >= before - datetime.timedelta(seconds=1)
        assert row["bytes_in"] > 0 and row["bytes_out"] > 0
        r.expr("x" * 10_000).run(other)
        later = connections(r).get(row["id"]).run(conn)
        assert later["bytes_out"] >= row["bytes_out"] + 10_000
        assert later["bytes_in"] > row["bytes_in"]
    finally:
        other.close()
    poll(lambda: row_of_port(r, conn, other.client_port()), lambda row: row is None)


def test_queries_name_the_running_jobs_and_jobs_name_the_connection(r, conn, server):
    victim = Victim(r, server, r.js("while(true) {}", timeout=10))
    victim.start()
    try:
        row = poll(lambda: row_of_port(r, conn, victim.port), lambda row: row is not None and len(row["queries"]) == 1)
        job = r.db("rethinkdb").table("jobs").get(row["queries"][0]).run(conn)
        assert job["info"]["connection"] == row["id"] and job["info"]["client_port"] == victim.port
        mine = connections(r).filter({"client_port": conn.client_port()}).nth(0).run(conn)
        assert mine["queries"] and all(q[0] == "query" for q in mine["queries"])  # the reading query itself
    finally:
        victim.close()


def test_deleting_a_row_closes_the_driver_connection(r, conn, server):
    victim = Victim(r, server, r.js("while(true) {}", timeout=10))
    victim.start()
    try:
        row = poll(lambda: row_of_port(r, conn, victim.port), lambda row: row is not None and row["queries"])
        assert connections(r).get(row["id"]).delete().run(conn)["deleted"] == 1
        victim.join(timeout=5)  # the script would run for 10 s if the connection stayed open
        assert not victim.is_alive()
        assert isinstance(victim.error, ReqlDriverError)  # as when a connection drops
        assert not victim.conn.is_open()
        assert row_of_port(r, conn, victim.port) is None
        assert r.db("rethinkdb").table("jobs").get(row["queries"][0]).run(conn) is None
        history = r.db("rethinkdb").table("job_history").filter({"job": row["queries"][0]})
        [entry] = poll(lambda: list(history.run(conn)), lambda e: len(e) == 1)
        mine = row_of_port(r, conn, conn.client_port())
        assert entry["outcome"] == "killed" and entry["reason"] == CLOSED
        assert entry["killed_by"] == {"user": "admin", "connection": mine["id"]}
        with pytest.raises(ReqlDriverError):
            r.expr(1).run(victim.conn)
    finally:
        victim.close()


def test_an_http_connection_has_its_row_and_deleting_it_closes_it(r, conn, server):
    web = ReqlHttp(server.http_port)
    conn_id = web.open()
    assert web.run(conn_id, 1, [1, term(r.expr(41) + 1)])["r"] == [42]
    rows = list(connections(r).filter({"protocol": "http"}).run(conn))
    assert rows and all(row["user"] == "admin" for row in rows)
    assert all(row["id"] != conn_id for row in rows)  # the secret id of the HTTP connection is never shown
    row = max(rows, key=lambda row: row["connected_at"])
    assert row["bytes_in"] > 0 and row["bytes_out"] > 0 and row["last_query_at"] is not None
    assert connections(r).get(row["id"]).delete().run(conn)["deleted"] == 1
    answer = web.run(conn_id, 2, [1, term(r.expr(1))])
    assert answer["r"] == [NOT_OPEN]


def test_non_admins_see_and_close_only_their_own(r, conn, server, user):
    own = r.connect(server.host, server.port, user=user)
    admin_other = r.connect(server.host, server.port)
    try:
        with pytest.raises(ReqlPermissionError, match=f"User `{user}` does not have the required `read` permission"):
            list(connections(r).run(own))
        connections(r).grant(user, {"read": True, "write": True}).run(conn)
        seen = list(connections(r).run(own))
        assert [row["client_port"] for row in seen] == [own.client_port()]
        assert seen[0]["user"] == user
        admin_row = row_of_port(r, conn, admin_other.client_port())
        assert connections(r).get(admin_row["id"]).run(own) is None
        assert connections(r).get(admin_row["id"]).delete().run(own)["skipped"] == 1
        assert admin_other.is_open() and r.expr(1).run(admin_other) == 1
        second = r.connect(server.host, server.port, user=user)
        second_row = row_of_port(r, conn, second.client_port())
        assert connections(r).get(second_row["id"]).delete().run(own)["deleted"] == 1
        with pytest.raises(ReqlDriverError):
            r.expr(1).run(second)
    finally:
        own.close()
        admin_other.close()


def test_only_deletions_are_allowed(r, conn):
    mine = connections(r).filter({"client_port": conn.client_port()}).nth(0)
    result = mine.update({"user": "x"}).run(conn)
    assert result["errors"] == 1
    assert result["first_error"] == "The `rethinkdb.connections` system table only allows deletions, not inserts or updates."
