"""Changefeeds through the official Python driver (sync, asyncio and trio
loops) against a real server: nothing lost, duplicated or reordered; point
and limit feeds agree with a serial model under concurrent writers; the
lossless jobs feed; resumable feeds across a dropped connection and a
killed server."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlOpFailedError, ReqlQueryLogicError

from helpers import fresh_table

WRITERS = 4


def write_concurrently(r: Any, server: Any, table: Any, per_writer: int, batch: int) -> None:
    """``WRITERS`` connections inserting ``per_writer`` rows each (keys
    ``w * 1_000_000 + i``, ``i`` ascending), ``batch`` rows per query."""

    def writer(w: int) -> None:
        c = r.connect(server.host, server.port)
        try:
            for start in range(0, per_writer, batch):
                rows = [{"id": w * 1_000_000 + i, "w": w, "i": i} for i in range(start, min(start + batch, per_writer))]
                assert table.insert(rows).run(c)["inserted"] == len(rows)
        finally:
            c.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def check_in_commit_order(changes: list[dict], per_writer: int) -> None:
    """Every row once, and each writer's rows in the order it committed them."""
    assert all(c["old_val"] is None for c in changes)
    ids = [c["new_val"]["id"] for c in changes]
    assert len(ids) == len(set(ids)) == WRITERS * per_writer
    for w in range(WRITERS):
        mine = [c["new_val"]["i"] for c in changes if c["new_val"]["w"] == w]
        assert mine == list(range(per_writer))


def test_a_table_feed_sees_10000_inserts_in_commit_order(server, r, conn):
    with fresh_table(r, conn) as table:
        feed = table.changes().run(conn)
        done = threading.Thread(target=write_concurrently, args=(r, server, table, 2500, 50))
        done.start()
        changes = [next(feed) for _ in range(10_000)]
        done.join()
        check_in_commit_order(changes, 2500)
        table.insert({"id": "last"}).run(conn)
        assert next(feed)["new_val"] == {"id": "last"}  # nothing else was queued
        feed.close()


def test_asyncio_driver_feed(server, r, conn):
    with fresh_table(r, conn) as table:
        ra = RethinkDB()
        ra.set_loop_type("asyncio")

        async def main() -> list[dict]:
            c = await ra.connect(server.host, server.port)
            feed = await table.changes(include_states=True).run(c)
            assert await feed.next() == {"state": "ready"}
            writing = asyncio.get_running_loop().run_in_executor(None, write_concurrently, r, server, table, 250, 25)
            changes = [await feed.next() for _ in range(1000)]
            await writing
            await feed.close()
            await c.close()
            return changes

        check_in_commit_order(asyncio.run(main()), 250)


def test_trio_driver_feed(server, r, conn):
    with fresh_table(r, conn) as table:
        rt = RethinkDB()
        rt.set_loop_type("trio")

        async def main() -> list[dict]:
            async with trio.open_nursery() as nursery:
                c = await rt.connect(server.host, server.port, nursery=nursery)
                feed = await table.changes().run(c)
                nursery.start_soon(trio.to_thread.run_sync, write_concurrently, r, server, table, 250, 25)
                changes = [await feed.next() for _ in range(1000)]
                await feed.close()
                # The driver's close() fails with current trio (it tests an Event's truth):
                # ending its reader task closes the connection.
                nursery.cancel_scope.cancel()
            return changes

        check_in_commit_order(trio.run(main), 250)


def test_writes_that_change_nothing_or_fail_notify_nothing(server, r, conn):
    with fresh_table(r, conn) as table:
        table.insert({"id": 1, "v": 1}).run(conn)
        feed = table.changes().run(conn)
        assert table.insert({"id": 1, "v": 2}).run(conn)["errors"] == 1  # duplicate key
        assert table.get(1).update({"v": 1}).run(conn)["unchanged"] == 1
        assert table.get(1).update({"v": r.error("no")}).run(conn)["errors"] == 1
        assert table.get(1).update({"id": 2}).run(conn)["errors"] == 1  # primary key change
        table.insert({"id": "after"}).run(conn)
        assert next(feed) == {"old_val": None, "new_val": {"id": "after"}}
        feed.close()


def test_a_get_intersecting_feed_follows_rows_entering_and_leaving_the_area(server, r, conn):
    with fresh_table(r, conn) as table:
        table.index_create("loc", geo=True).run(conn)
        table.index_wait("loc").run(conn)
        table.insert({"id": 1, "loc": r.point(0, 0)}).run(conn)
        area = r.circle(r.point(0, 0), 1000)
        feed = table.get_intersecting(area, index="loc").changes(include_initial=True).run(conn)
        assert next(feed)["new_val"]["id"] == 1
        table.insert({"id": 2, "loc": r.point(0.001, 0.001)}).run(conn)  # inside
        table.insert({"id": 3, "loc": r.point(50, 50)}).run(conn)  # outside: nothing
        table.get(2).update({"loc": r.point(60, 60)}).run(conn)  # leaves
        table.get(3).update({"loc": r.point(0, 0.001)}).run(conn)  # enters
        seen = [(c["old_val"] and c["old_val"]["id"], c["new_val"] and c["new_val"]["id"]) for c in (next(feed) for _ in range(3))]
        assert seen == [(None, 2), (2, None), (None, 3)]
        feed.close()


# ---------------------------------------------------------------------------
# Point and limit feeds against a serial model.

# An operation on rows 0..3 of a table with values v: set v, delete, or
# rewrite a row with what it holds (a no-op write, which notifies nothing).
ops = st.lists(st.tuples(st.integers(0, 3), st.one_of(st.none(), st.integers(0, 9), st.just("same"))), max_size=12)


def run_writers(r: Any, server: Any, table: Any, programs: list[list]) -> None:
    def writer(w: int, program: list) -> None:
        c = r.connect(server.host, server.port)
        try:
            for n, (key, value) in enumerate(program):
                row = table.get(key)
                if value is None:
                    row.delete().run(c)
                elif value == "same":
                    row.replace(lambda d: d).run(c)
                else:
                    # Unique versions: every write that sets a value changes the row.
                    table.insert({"id": key, "v": value, "by": f"{w}.{n}"}, conflict="replace").run(c)
        finally:
            c.close()

    threads = [threading.Thread(target=writer, args=(w, p)) for w, p in enumerate(programs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(ops, min_size=1, max_size=3))
def test_a_point_feed_follows_every_version_under_concurrent_writers(server, r, conn, programs):
    with fresh_table(r, conn) as table:
        table.insert({"id": 1, "v": -1}).run(conn)
        feed = table.get(1).changes(include_initial=True).run(conn)
        state = next(feed)["new_val"]
        run_writers(r, server, table, programs)
        table.insert({"id": 1, "v": "end"}, conflict="replace").run(conn)
        versions = []
        while True:  # each change starts from the version before it: none missed, none twice
            change = next(feed)
            assert change["old_val"] == state
            state = change["new_val"]
            versions.append(state)
            if state == {"id": 1, "v": "end"}:
                break
        written = {(w, n) for w, p in enumerate(programs) for n, (k, v) in enumerate(p) if k == 1 and v not in (None, "same")}
        seen = {tuple(map(int, v["by"].split("."))) for v in versions if v is not None and "by" in v}
        assert seen == written
        feed.close()


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(ops, min_size=1, max_size=3), st.integers(1, 3))
def test_a_limit_feed_keeps_the_first_rows_under_concurrent_writers(server, r, conn, programs, n):
    with fresh_table(r, conn) as table:
        table.index_create("v").run(conn)
        table.index_wait("v").run(conn)
        table.insert([{"id": k, "v": k} for k in range(4)]).run(conn)
        feed = table.order_by(index="v").limit(n).changes(include_initial=True).run(conn)
        model = {}
        for _ in range(n):
            doc = next(feed)["new_val"]
            model[doc["id"]] = doc
        run_writers(r, server, table, programs)
        table.insert({"id": "sentinel", "v": -1}).run(conn)  # first in the order: it must enter the set
        while "sentinel" not in model:
            change = next(feed)
            if change["old_val"] is not None:
                assert model.pop(change["old_val"]["id"]) == change["old_val"]
            if change["new_val"] is not None:
                model[change["new_val"]["id"]] = change["new_val"]
            assert len(model) <= n
        expected = list(table.order_by(index="v").limit(n).run(conn))
        assert sorted(model.values(), key=lambda d: (d["v"], str(d["id"]))) == expected
        feed.close()


# ---------------------------------------------------------------------------
# The lossless jobs feed.

def test_the_jobs_feed_shows_every_short_query_start_and_end(server, r, conn):
    jobs = r.db("rethinkdb").table("jobs").filter({"type": "query"}).changes().run(conn)
    other = r.connect(server.host, server.port)
    markers = [f"m{uuid.uuid4().hex[:8]}" for _ in range(20)]
    for marker in markers:  # about 100 ms each, one after the other
        r.js(f"var t = Date.now(); while (Date.now() - t < 100) {{}}; '{marker}'").run(other)
    started: set[str] = set()
    ended: set[str] = set()
    mine = {m: m for m in markers}

    def marker_of(job: dict | None) -> str | None:
        if job is None:
            return None
        return next((m for m in mine if m in job["info"]["query"]), None)

    while ended != set(markers):
        change = next(jobs)
        if change["old_val"] is None and marker_of(change["new_val"]):
            started.add(marker_of(change["new_val"]))
        if change["new_val"] is None and marker_of(change["old_val"]):
            assert marker_of(change["old_val"]) in started  # its start came first
            ended.add(marker_of(change["old_val"]))
    assert started == set(markers)
    jobs.close()
    other.close()


# ---------------------------------------------------------------------------
# Resumable feeds.

def test_a_resumed_feed_delivers_exactly_the_missed_changes_across_a_drop_and_a_restart(fresh_server, r):
    c = r.connect(fresh_server.host, fresh_server.port)
    r.db("test").table_create("orders").run(c)
    orders = r.db("test").table("orders")
    feed = orders.changes(include_resume_token=True).run(c)
    orders.insert([{"id": i} for i in range(10)]).run(c)
    seen = [next(feed) for _ in range(4)]
    token = seen[-1]["resume_token"]
    c.close()  # the client goes away with the feed open

    c = r.connect(fresh_server.host, fresh_server.port)
    orders.get(0).update({"paid": True}).run(c)
    orders.get(1).delete().run(c)
    c.close()
    fresh_server.kill()  # no clean shutdown
    fresh_server.start()

    c = r.connect(fresh_server.host, fresh_server.port)
    resumed = orders.changes(resume_from=token, include_resume_token=True).run(c)
    expected = [(None, {"id": i}) for i in range(4, 10)] + [({"id": 0}, {"id": 0, "paid": True}), ({"id": 1}, None)]
    replayed = [next(resumed) for _ in range(len(expected))]
    assert [(x["old_val"], x["new_val"]) for x in replayed] == expected
    orders.insert({"id": "live"}).run(c)
    live = next(resumed)
    assert live["new_val"] == {"id": "live"}
    tokens = [seen[-1]["resume_token"]] + [x["resume_token"] for x in replayed + [live]]
    assert len(set(tokens)) == len(tokens)
    resumed.close()

    # Resuming from the last token gives only what came after it.
    again = orders.changes(resume_from=replayed[-1]["resume_token"]).run(c)
    assert next(again)["new_val"] == {"id": "live"}
    again.close()
    c.close()


def test_resume_tokens_are_refused_past_the_retention_and_elsewhere(server, r, conn):
    with fresh_table(r, conn) as table, fresh_table(r, conn) as other:
        feed = table.changes(include_resume_token=True).run(conn)
        table.insert([{"id": i} for i in range(10)]).run(conn)
        first = next(feed)["resume_token"]
        feed.close()
        assert table.changes(resume_from=first).run(conn).next()["new_val"] == {"id": 1}
        with pytest.raises(ReqlQueryLogicError, match="not from a changefeed on table"):
            other.changes(resume_from=first).run(conn)
        with pytest.raises(ReqlQueryLogicError, match="Invalid resume token"):
            table.changes(resume_from="not-a-token").run(conn)
        with pytest.raises(ReqlQueryLogicError, match="order_by.limit"):
            table.order_by(index="id").limit(2).changes(include_resume_token=True).run(conn)
        with pytest.raises(ReqlQueryLogicError, match="System tables"):
            r.db("rethinkdb").table("jobs").changes(include_resume_token=True).run(conn)

        assert table.config().update({"changefeed_retention": {"changes": 3}}).run(conn)["replaced"] == 1
        assert table.config()["changefeed_retention"].run(conn) == {"changes": 3, "seconds": 3600}
        with pytest.raises(ReqlOpFailedError, match="no longer kept .* 3600 seconds or 3 changes"):
            table.changes(resume_from=first).run(conn)
        # A null token starts a plain feed (handy for a client's first run).
        plain = table.changes(resume_from=None, include_states=True).run(conn)
        assert next(plain) == {"state": "ready"}
        plain.close()
