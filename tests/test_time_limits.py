"""Per-query time limits (beyond RethinkDB): the ``time_limit`` global
optarg and a user's default in ``rethinkdb.users``, against a real server
with the official driver."""

from __future__ import annotations

import time
import uuid

import pytest
from helpers import poll
from rethinkdb.errors import ReqlOpFailedError, ReqlQueryLogicError

ENDLESS_JS = 'while (true) {}; 1'  # (no clock: another test's script may have replaced `Date`)


def limit_message(seconds: str) -> str:
    return f"Query terminated: it exceeded its time limit of {seconds} seconds."


def users(r):  # type: ignore[no-untyped-def]
    return r.db("rethinkdb").table("users")


def history_of(r, conn, marker: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return list(r.db("rethinkdb").table("job_history").filter(lambda e: e["info"]["query"].match(marker)).run(conn))


@pytest.fixture
def user(r, conn):  # type: ignore[no-untyped-def]
    name = "t_" + uuid.uuid4().hex[:8]
    users(r).insert({"id": name, "password": ""}).run(conn)
    yield name
    users(r).get(name).delete().run(conn)


def test_the_optarg_kills_a_query_past_its_limit(r, conn):
    marker = "limit_" + uuid.uuid4().hex[:8]
    started = time.monotonic()
    with pytest.raises(ReqlOpFailedError) as caught:
        r.expr(marker).do(lambda x: r.range(10**12).count()).run(conn, time_limit=0.3)
    took = time.monotonic() - started
    assert caught.value.message == limit_message("0.3")
    assert 0.3 <= took < 5
    [entry] = poll(lambda: history_of(r, conn, marker), lambda e: len(e) == 1)
    assert entry["outcome"] == "killed" and entry["reason"] == limit_message("0.3")
    assert entry["killed_by"] is None and entry["duration_sec"] >= 0.3
    assert r.expr(1).run(conn) == 1  # the connection goes on
    assert r.range(1000).count().run(conn, time_limit=10) == 1000  # a query within its limit is untouched


def test_a_cursor_past_its_limit_answers_the_kill(r, conn):
    cursor = r.range(10**6).run(conn, time_limit=0.3, max_batch_rows=10)
    assert next(cursor) == 0
    with pytest.raises(ReqlOpFailedError, match="time limit of 0.3 seconds"):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            next(cursor)


def test_the_optarg_is_checked(r, conn):
    with pytest.raises(ReqlQueryLogicError, match="^Expected type NUMBER but found STRING"):
        r.expr(1).run(conn, time_limit="soon")
    with pytest.raises(ReqlQueryLogicError, match=r"^time_limit must be positive \(got `0`\)"):
        r.expr(1).run(conn, time_limit=0)
    with pytest.raises(ReqlQueryLogicError, match=r"^time_limit must be positive \(got `-2`\)"):
        r.expr(1).run(conn, time_limit=-2)
    with pytest.raises(ReqlQueryLogicError, match=r"^time_limit is too large"):
        r.expr(1).run(conn, time_limit=10**9)


def test_a_users_default_applies_to_its_queries(r, conn, server, user):
    assert users(r).get(user).update({"time_limit": 0.3}).run(conn)["replaced"] == 1
    assert users(r).get(user).run(conn) == {"id": user, "password": False, "time_limit": 0.3}
    r.db("test").grant(user, {"read": True}).run(conn)
    theirs = r.connect(server.host, server.port, user=user)
    try:
        marker = "default_" + uuid.uuid4().hex[:8]
        with pytest.raises(ReqlOpFailedError) as caught:
            r.expr(marker).do(lambda x: r.js(ENDLESS_JS, timeout=30)).run(theirs)
        assert caught.value.message == limit_message("0.3")
        [entry] = poll(lambda: history_of(r, conn, marker), lambda e: len(e) == 1)
        assert entry["outcome"] == "killed" and entry["reason"] == limit_message("0.3")
        assert entry["info"]["user"] == user
        assert r.range(100).count().run(theirs, time_limit=5) == 100
        # null lifts the default for one query: the script runs into its own timeout instead
        with pytest.raises(ReqlQueryLogicError, match="timed out after 0.600 seconds"):
            r.js("while (true) {}", timeout=0.6).run(theirs, time_limit=None)
        with pytest.raises(ReqlOpFailedError, match="time limit of 0.5 seconds"):
            r.range(10**12).count().run(theirs, time_limit=0.5)  # the optarg overrides the default
        assert r.expr(2).run(conn) == 2  # other users have no limit
    finally:
        theirs.close()


def test_only_admin_sets_a_default_and_it_is_checked(r, conn, server, user):
    result = users(r).get(user).update({"time_limit": "long"}).run(conn)
    assert result["first_error"].startswith("Expected `time_limit` to be a number of seconds greater than 0")
    assert users(r).get(user).update({"time_limit": -1}).run(conn)["errors"] == 1
    assert users(r).get(user).update({"time_limit": 60}).run(conn)["replaced"] == 1
    assert users(r).get(user).update({"time_limit": None}).run(conn)["replaced"] == 1
    assert users(r).get(user).run(conn) == {"id": user, "password": False}
    users(r).grant(user, {"read": True, "write": True}).run(conn)
    r.grant(user, {"config": True}).run(conn)
    theirs = r.connect(server.host, server.port, user=user)
    try:
        result = users(r).get(user).update({"time_limit": 1000}).run(theirs)
        assert result["first_error"] == "Only the `admin` user can set `time_limit`."
    finally:
        theirs.close()
        r.grant(user, {"config": None}).run(conn)
