"""Stall detection (beyond RethinkDB) against a real server with the official
driver: a background job whose progress does not move for the ``jobs`` row's
``stalled_after_sec`` shows ``phase: "stalled"`` and a ``job_stalled`` issue
in ``rethinkdb.current_issues``, until it moves again; a paused build is not
stalled."""

from __future__ import annotations

import uuid

from helpers import poll

# About 60 ms of work per document: at low priority a build indexes one
# document per chunk and rests nine times as long as the chunk took.
HEAVY = lambda r: lambda d: r.range(200_000).sum().add(d["x"])  # noqa: E731


def jobs(r):  # type: ignore[no-untyped-def]
    return r.db("rethinkdb").table("jobs")


def build_rows(r, conn, index: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return list(jobs(r).filter({"type": "index_construction", "info": {"index": index}}).run(conn))


def issues(r, conn) -> list[dict]:  # type: ignore[no-untyped-def]
    return list(r.db("rethinkdb").table("current_issues").filter({"type": "job_stalled"}).run(conn))


def test_a_build_that_does_not_move_is_stalled_until_it_moves(r, fresh_server):
    conn = r.connect(fresh_server.host, fresh_server.port)
    r.db("rethinkdb").table("cluster_config").get("jobs").update({"stalled_after_sec": 0.15}).run(conn)
    table = "st_" + uuid.uuid4().hex[:6]
    r.db("test").table_create(table).run(conn)
    r.table(table).insert([{"id": i, "x": i} for i in range(12)]).run(conn)
    r.table(table).index_create("heavy", HEAVY(r)).run(conn)
    [row] = build_rows(r, conn, "heavy")
    jobs(r).get(row["id"]).update({"priority": "low"}).run(conn)
    stalled = poll(lambda: build_rows(r, conn, "heavy"), lambda rows: rows and rows[0]["info"]["phase"] == "stalled")[0]
    [issue] = poll(lambda: issues(r, conn), lambda found: len(found) == 1)
    assert set(issue) == {"critical", "description", "id", "info", "type"}
    assert issue["critical"] is False and uuid.UUID(issue["id"])
    assert issue["info"]["job"] == stalled["id"] and issue["info"]["servers"] == [fresh_server.name]
    assert issue["info"]["index"] == "heavy" and issue["info"]["table"] == table and issue["info"]["db"] == "test"
    assert "has made no progress for at least 0.15 seconds" in issue["description"]
    moving = poll(lambda: build_rows(r, conn, "heavy"),
                  lambda rows: rows and rows[0]["info"]["phase"] == "building"
                  and rows[0]["info"]["progress"] > stalled["info"]["progress"])
    assert moving, "the build never moved again"
    jobs(r).get(row["id"]).update({"priority": "normal"}).run(conn)
    r.table(table).index_wait("heavy").run(conn)
    assert issues(r, conn) == []  # a finished job is no issue
    [entry] = poll(lambda: list(r.db("rethinkdb").table("job_history").filter({"job": row["id"]}).run(conn)),
                   lambda e: len(e) == 1)
    assert entry["outcome"] == "success" and entry["info"]["phase"] != "stalled"
    r.db("test").table_drop(table).run(conn)
    conn.close()


def test_a_paused_build_is_not_stalled(r, fresh_server):
    conn = r.connect(fresh_server.host, fresh_server.port)
    r.db("rethinkdb").table("cluster_config").get("jobs").update({"stalled_after_sec": 0.15}).run(conn)
    paused_table, moving_table = "sp_" + uuid.uuid4().hex[:6], "sm_" + uuid.uuid4().hex[:6]
    for table in (paused_table, moving_table):
        r.db("test").table_create(table).run(conn)
        r.table(table).insert([{"id": i, "x": i} for i in range(12)]).run(conn)
    r.table(paused_table).index_create("heavy", HEAVY(r)).run(conn)
    [paused] = build_rows(r, conn, "heavy")
    jobs(r).get(paused["id"]).update({"paused": True}).run(conn)
    poll(lambda: build_rows(r, conn, "heavy"), lambda rows: rows[0]["info"]["phase"] == "paused")
    # A build that stalls, created after the pause: once the watcher finds it
    # stalled, the paused build has been still for longer than the threshold.
    r.table(moving_table).index_create("slow", HEAVY(r)).run(conn)
    [slow] = build_rows(r, conn, "slow")
    jobs(r).get(slow["id"]).update({"priority": "low"}).run(conn)
    [issue] = poll(lambda: issues(r, conn), lambda found: len(found) == 1)
    assert issue["info"]["job"] == slow["id"]
    [still] = build_rows(r, conn, "heavy")
    assert still["info"]["phase"] == "paused"
    jobs(r).get(paused["id"]).update({"paused": False}).run(conn)
    for table in (paused_table, moving_table):
        r.db("test").table_drop(table).run(conn)
    conn.close()
