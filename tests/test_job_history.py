"""``rethinkdb.job_history`` and the live costs of query rows (beyond
RethinkDB) against a real server with the official driver: outcomes,
who killed what, retention, persistence across a restart, changefeeds, each
user's view and the ``jobs`` row of ``rethinkdb.cluster_config``."""

from __future__ import annotations

import threading
import uuid

import pytest
from helpers import Victim, poll
from rethinkdb.errors import ReqlOpIndeterminateError
from serverproc import ServerProcess, temp_server

KILLED = "Query terminated by the `rethinkdb.jobs` table."
SLOW_JS = "(function(d) { var t = Date.now(); while (Date.now() - t < 5) {} return true; })"
DEFAULTS = {"id": "jobs", "history_min_query_sec": 1, "history_max_rows": 10000,
            "history_max_age_sec": 604800, "stalled_after_sec": 60, "record_history": True, "live_costs": True}


def history(r):  # type: ignore[no-untyped-def]
    return r.db("rethinkdb").table("job_history")


def jobs_config(r):  # type: ignore[no-untyped-def]
    return r.db("rethinkdb").table("cluster_config").get("jobs")


@pytest.fixture(scope="module")
def hserver() -> ServerProcess:
    """A server of this module's own: its history settings change."""
    srv = temp_server()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def hconn(hserver, r):  # type: ignore[no-untyped-def]
    c = r.connect(hserver.host, hserver.port)
    yield c
    jobs_config(r).replace(DEFAULTS).run(c)
    c.close()


def entries_with(r, conn, marker: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """History entries of queries whose text contains ``marker``."""
    return list(history(r).filter(lambda e: e["info"]["query"].default("").match(marker)).order_by("ended_at").run(conn))


def record_everything(r, conn) -> None:  # type: ignore[no-untyped-def]
    assert jobs_config(r).update({"history_min_query_sec": 0}).run(conn)["replaced"] == 1


def test_the_jobs_row_of_cluster_config(r, hconn):
    assert jobs_config(r).run(hconn) == DEFAULTS
    result = jobs_config(r).update({"history_max_rows": "many"}).run(hconn)
    assert result["first_error"] == 'Expected a number for `history_max_rows`; got "many"'
    result = jobs_config(r).update({"stalled_after_sec": 0}).run(hconn)
    assert result["first_error"] == "`stalled_after_sec` must be at least 0.1"
    result = jobs_config(r).update({"other": 1}).run(hconn)
    assert "Unexpected key(s): other" in result["first_error"]
    result = jobs_config(r).update({"live_costs": 1}).run(hconn)
    assert result["first_error"] == "Expected a boolean for `live_costs`; got 1"
    assert jobs_config(r).update({"history_max_age_sec": 3600}).run(hconn)["replaced"] == 1
    assert jobs_config(r)["history_max_age_sec"].run(hconn) == 3600


def test_success_and_error_outcomes(r, hconn):
    record_everything(r, hconn)
    marker = "ok_" + uuid.uuid4().hex[:8]
    assert r.expr(marker).run(hconn) == marker
    with pytest.raises(Exception, match="boom"):
        r.expr(marker + "_err").do(lambda x: r.error("boom")).run(hconn)
    found = poll(lambda: entries_with(r, hconn, marker), lambda e: len(e) == 2)
    # Both may end within the same millisecond (ReQL times' precision): told apart by their text.
    [failed] = [e for e in found if marker + "_err" in e["info"]["query"]]
    [done] = [e for e in found if e is not failed]
    assert done["outcome"] == "success" and done["type"] == "query" and "error" not in done
    assert done["job"][0] == "query" and uuid.UUID(done["job"][1]) and uuid.UUID(done["id"])
    assert done["started_at"] <= done["ended_at"] and done["duration_sec"] >= 0
    assert done["info"]["user"] == "admin" and done["info"]["client_port"] == hconn.client_port()
    assert failed["outcome"] == "error" and failed["error"] == "boom"


def test_short_queries_are_not_recorded_by_default(r, hconn):
    marker = "short_" + uuid.uuid4().hex[:8]
    r.expr(marker).run(hconn)
    slow = r.expr(marker + "_slow").do(lambda x: r.js("var t = Date.now(); while (Date.now() - t < 1100) {}; 1"))
    assert slow.run(hconn) == 1
    [entry] = poll(lambda: entries_with(r, hconn, marker), lambda e: len(e) >= 1)
    assert marker + "_slow" in entry["info"]["query"] and entry["duration_sec"] >= 1


def test_a_killed_query_shows_who_killed_it(r, hconn, hserver):
    victim = Victim(r, hserver, r.js("while(true) {}", timeout=10))
    victim.start()
    try:
        mine = r.db("rethinkdb").table("jobs").filter({"type": "query", "info": {"client_port": victim.port}})
        [row] = poll(lambda: list(mine.run(hconn)), lambda rows: len(rows) == 1)
        assert r.db("rethinkdb").table("jobs").get(row["id"]).delete().run(hconn)["deleted"] == 1
        victim.join(timeout=5)
        assert isinstance(victim.error, ReqlOpIndeterminateError)
        [entry] = poll(lambda: list(history(r).filter({"job": row["id"]}).run(hconn)), lambda e: len(e) == 1)
        killer = r.db("rethinkdb").table("connections").filter({"client_port": hconn.client_port()}).nth(0).run(hconn)
        assert entry["outcome"] == "killed" and entry["reason"] == KILLED
        assert entry["killed_by"] == {"user": "admin", "connection": killer["id"]}
        assert entry["info"]["connection"] == row["info"]["connection"]
    finally:
        victim.close()


def test_live_costs_while_a_query_runs_and_in_its_entry(r, hconn, hserver):
    table = "costs_" + uuid.uuid4().hex[:8]
    r.db("test").table_create(table).run(hconn)
    r.table(table).insert([{"id": i} for i in range(2000)]).run(hconn)
    query = r.table(table).filter(r.js(SLOW_JS)).count()  # about 5 ms a document
    victim = Victim(r, hserver, query)
    victim.start()
    try:
        mine = r.db("rethinkdb").table("jobs").filter({"type": "query", "info": {"client_port": victim.port}})
        first = poll(lambda: list(mine.run(hconn)), lambda rows: rows and rows[0]["info"]["documents_read"] > 0)[0]
        assert first["info"]["tables"] == [{"db": "test", "table": table}]
        assert first["info"]["documents_written"] == 0
        later = poll(lambda: list(mine.run(hconn)),
                     lambda rows: rows and rows[0]["info"]["documents_read"] > first["info"]["documents_read"])[0]
        assert later["info"]["documents_read"] < 2000  # seen while it runs
        r.db("rethinkdb").table("jobs").get(first["id"]).delete().run(hconn)
        victim.join(timeout=5)
        [entry] = poll(lambda: list(history(r).filter({"job": first["id"]}).run(hconn)), lambda e: len(e) == 1)
        assert entry["info"]["documents_read"] >= later["info"]["documents_read"]
        record_everything(r, hconn)
        other = "copy_" + uuid.uuid4().hex[:8]
        r.db("test").table_create(other).run(hconn)
        r.table(other).insert(r.table(table).limit(300)).run(hconn)
        [copy] = poll(lambda: list(history(r).filter(lambda e: e["info"]["query"].match("insert")
                                                     & e["info"]["query"].match(other)).run(hconn)), lambda e: len(e) == 1)
        assert copy["info"]["documents_written"] == 300
        assert 300 <= copy["info"]["documents_read"] <= 2000  # scans read ahead in chunks
        assert copy["info"]["tables"] == sorted([{"db": "test", "table": table}, {"db": "test", "table": other}],
                                                key=lambda t: t["table"])
    finally:
        victim.close()
        r.db("test").table_drop(table).run(hconn)


def test_history_and_live_costs_can_be_turned_off(r, hconn, hserver):
    record_everything(r, hconn)
    assert jobs_config(r).update({"record_history": False, "live_costs": False}).run(hconn)["replaced"] == 1
    marker = "off_" + uuid.uuid4().hex[:8]
    victim = Victim(r, hserver, r.expr(marker).do(lambda x: r.js("while(true) {}", timeout=10)))
    victim.start()
    try:
        mine = r.db("rethinkdb").table("jobs").filter({"type": "query", "info": {"client_port": victim.port}})
        [row] = poll(lambda: list(mine.run(hconn)), lambda rows: len(rows) == 1)
        assert not {"documents_read", "documents_written", "tables"} & set(row["info"])
        assert row["info"]["connection"]  # the connection is no cost: always there
        r.db("rethinkdb").table("jobs").get(row["id"]).delete().run(hconn)
        victim.join(timeout=5)
    finally:
        victim.close()
    assert jobs_config(r).update({"record_history": True}).run(hconn)["replaced"] == 1
    after = "on_" + uuid.uuid4().hex[:8]
    r.expr(after).run(hconn)
    poll(lambda: entries_with(r, hconn, after), lambda e: len(e) == 1)  # recorded in order: the kill came before
    assert entries_with(r, hconn, marker) == []


def test_retention_by_count(r, hconn):
    record_everything(r, hconn)
    assert jobs_config(r).update({"history_max_rows": 3}).run(hconn)["replaced"] == 1
    marker = "keep_" + uuid.uuid4().hex[:8]
    for i in range(6):
        r.expr(f"{marker}_{i}").run(hconn)
    kept = poll(lambda: list(history(r).run(hconn)), lambda e: len(e) == 3)
    queries = [e["info"].get("query", "") for e in kept]
    assert any(f'"{marker}_5"' in q for q in queries)  # the newest survive
    assert not any(f'"{marker}_{i}"' in q for q in queries for i in range(3))


def test_retention_by_age(r, hconn):
    record_everything(r, hconn)
    marker = "old_" + uuid.uuid4().hex[:8]
    r.expr(marker).run(hconn)
    [entry] = poll(lambda: entries_with(r, hconn, marker), lambda e: len(e) == 1)
    assert jobs_config(r).update({"history_max_age_sec": 0.5}).run(hconn)["replaced"] == 1
    poll(lambda: history(r).get(entry["id"]).run(hconn), lambda found: found is None)
    assert jobs_config(r).update({"history_max_age_sec": 3600}).run(hconn)["replaced"] == 1
    fresh = "new_" + uuid.uuid4().hex[:8]
    r.expr(fresh).run(hconn)
    assert len(entries_with(r, hconn, fresh)) == 1  # recorded as the query ends: the answer came after


def test_changes_on_job_history(r, hconn):
    record_everything(r, hconn)
    marker = "feed_" + uuid.uuid4().hex[:8]
    feed = history(r).filter(lambda e: e["info"]["query"].default("").match(marker)).changes().run(hconn)
    other = r.connect(hconn.host, hconn.port)
    got: list[dict] = []
    reader = threading.Thread(target=lambda: got.append(next(feed)), daemon=True)
    reader.start()
    try:
        assert r.expr(marker).run(other) == marker
        reader.join(timeout=10)
        assert got, "the feed did not see the entry"
        assert got[0]["old_val"] is None and got[0]["new_val"]["outcome"] == "success"
        assert marker in got[0]["new_val"]["info"]["query"]
    finally:
        other.close()
        feed.close()


def test_non_admins_see_their_own_and_only_admins_delete(r, hconn, hserver):
    record_everything(r, hconn)
    name = "h_" + uuid.uuid4().hex[:8]
    r.db("rethinkdb").table("users").insert({"id": name, "password": ""}).run(hconn)
    history(r).grant(name, {"read": True, "write": True}).run(hconn)
    own = r.connect(hserver.host, hserver.port, user=name)
    try:
        marker = "mine_" + uuid.uuid4().hex[:8]
        r.expr(marker).run(own)
        r.expr(marker + "_admin").run(hconn)
        poll(lambda: entries_with(r, hconn, marker), lambda e: len(e) == 2)
        seen = list(history(r).run(own))
        assert seen and all(e["type"] == "query" and e["info"]["user"] == name for e in seen)
        [entry] = [e for e in seen if f'"{marker}"' in e["info"]["query"]]
        result = history(r).get(entry["id"]).delete().run(own)
        assert result["first_error"] == "Only the `admin` user can delete rows of `rethinkdb.job_history`."
        assert history(r).get(entry["id"]).delete().run(hconn)["deleted"] == 1
        assert history(r).get(entry["id"]).run(hconn) is None
        assert history(r).insert({"id": "x"}).run(hconn)["first_error"] == (
            "The `rethinkdb.job_history` system table only allows deletions, not inserts or updates."
        )
    finally:
        own.close()
        r.db("rethinkdb").table("users").get(name).delete().run(hconn)


def test_background_jobs_are_recorded_and_history_survives_a_restart(r, fresh_server):
    conn = r.connect(fresh_server.host, fresh_server.port)
    r.db("test").table_create("t").run(conn)
    r.table("t").insert([{"id": i, "x": i} for i in range(500)]).run(conn)
    r.table("t").index_create("x").run(conn)
    r.table("t").index_wait("x").run(conn)
    builds = {"type": "index_construction", "info": {"index": "x"}}
    [entry] = poll(lambda: list(history(r).filter(builds).run(conn)), lambda e: len(e) == 1)
    assert entry["outcome"] == "success" and entry["info"]["progress"] == 1 and entry["info"]["table"] == "t"
    r.table("t").index_create("y").run(conn)
    r.table("t").index_drop("y").run(conn)
    [dropped] = poll(lambda: list(history(r).filter({"type": "index_construction", "info": {"index": "y"}}).run(conn)),
                     lambda e: len(e) == 1)
    assert dropped["outcome"] == "killed" and dropped["reason"] == "The index or its table was dropped."
    before = list(history(r).order_by("ended_at").run(conn))
    conn.close()
    fresh_server.stop()
    fresh_server.start()
    conn = r.connect(fresh_server.host, fresh_server.port)
    try:
        after = list(history(r).order_by("ended_at").run(conn))
        assert after[: len(before)] == before
    finally:
        conn.close()
