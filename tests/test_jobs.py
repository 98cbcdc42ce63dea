"""``rethinkdb.jobs`` against a real server with the official driver: the
steps of RethinkDB's own jobs-table test that apply to one server, and the
rest of the table's contract (visibility, writes, identifier_format)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from helpers import Victim, poll
from rethinkdb.errors import (
    ReqlOpIndeterminateError,
    ReqlPermissionError,
    ReqlRuntimeError,
)

KILLED = "Query terminated by the `rethinkdb.jobs` table."
ONLY_DELETIONS = "The `rethinkdb.jobs` system table only allows deletions, not inserts or updates."
JS_LOOP_QUERY = 'r.js("while(true) {}", {"timeout": 10})'


def jobs(r):  # type: ignore[no-untyped-def]
    return r.db("rethinkdb").table("jobs")







def rows_of_port(r, conn, port: int) -> list[dict]:  # type: ignore[no-untyped-def]
    return list(jobs(r).filter({"type": "query", "info": {"client_port": port}}).run(conn))


def test_running_js_query_is_listed_with_its_details(r, conn, server):
    target = r.connect(server.host, server.port)
    port = target.client_port()
    try:
        r.js("while(true) {}", timeout=10).run(target, noreply=True)
        rows = poll(lambda: rows_of_port(r, conn, port), lambda rows: any(x["info"]["query"] == JS_LOOP_QUERY for x in rows))
        row = next(x for x in rows if x["info"]["query"] == JS_LOOP_QUERY)
        assert 0 < row["duration_sec"] <= 10
        assert row["id"][0] == "query" and row["type"] == "query"
        assert uuid.UUID(row["id"][1])
        assert row["servers"] == [server.name]
        [connection] = r.db("rethinkdb").table("connections").filter({"client_port": port}).run(conn)
        assert row["info"] == {"client_address": "127.0.0.1", "client_port": port, "query": JS_LOOP_QUERY, "user": "admin",
                               "connection": connection["id"], "documents_read": 0, "documents_written": 0, "tables": []}
        poll(lambda: jobs(r).get(row["id"])["duration_sec"].run(conn), lambda d: d > row["duration_sec"])
        assert jobs(r).get(row["id"]).delete().run(conn)["deleted"] == 1
        poll(lambda: rows_of_port(r, conn, port), lambda rows: rows == [])
    finally:
        target.close()


def test_deleting_the_row_kills_the_js_query(r, conn, server):
    victim = Victim(r, server, r.js("while(true) {}", timeout=10))
    victim.start()
    try:
        # Rows without `info.query` (other job types) are filtered out, not errors.
        mine = jobs(r).filter(lambda x: (x["info"]["query"] == JS_LOOP_QUERY) & (x["info"]["client_port"] == victim.port))
        found = poll(lambda: list(mine.run(conn)), lambda rows: len(rows) == 1)
        result = jobs(r).get(found[0]["id"]).delete().run(conn)
        assert result == {"deleted": 1, "errors": 0, "inserted": 0, "replaced": 0, "skipped": 0, "unchanged": 0}
        victim.join(timeout=5)  # the script would run for 10 s if the kill did not land
        assert not victim.is_alive()
        assert isinstance(victim.error, ReqlOpIndeterminateError)
        assert isinstance(victim.error, ReqlRuntimeError)
        assert victim.error.message == KILLED
        assert jobs(r).get(found[0]["id"]).run(conn) is None
        # The connection survives the kill and its worker was replaced.
        assert r.js("1 + 1").run(victim.conn) == 2
    finally:
        victim.close()


def test_the_reading_query_sees_exactly_itself(r, server):
    conn = r.connect(server.host, server.port)
    try:
        query = jobs(r).map(lambda x: 1)
        assert list(query.run(conn)) == [1]
        query.run(conn, noreply=True)
        query.run(conn, noreply=True)
        conn.noreply_wait()
        assert list(query.run(conn)) == [1]
        own = list(jobs(r).run(conn))
        assert [row["info"]["query"] for row in own] == ['r.db("rethinkdb").table("jobs")']
    finally:
        conn.close()


def test_open_cursor_is_a_job_until_closed(r, conn, server):
    table = "cursor_" + uuid.uuid4().hex[:8]
    r.db("test").table_create(table).run(conn)
    r.table(table).insert([{"id": i, "pad": "x" * 200} for i in range(5000)]).run(conn)
    reader = r.connect(server.host, server.port)
    try:
        cursor = r.table(table).run(reader, max_batch_rows=10)
        next(cursor)
        rows = rows_of_port(r, conn, reader.client_port())
        assert [row["info"]["query"] for row in rows] == [f'r.table("{table}")']
        cursor.close()
        poll(lambda: rows_of_port(r, conn, reader.client_port()), lambda rows: rows == [])
    finally:
        reader.close()
        r.db("test").table_drop(table).run(conn)


def test_disk_compaction_row_appears_after_a_burst_of_updates(r, conn, server):
    table = "compact_" + uuid.uuid4().hex[:8]
    r.db("test").table_create(table).run(conn)
    try:
        key = r.table(table).insert({}).run(conn)["generated_keys"][0]
        deadline = time.monotonic() + 20
        found: list[dict] = []
        while not found and time.monotonic() < deadline:
            for i in range(100):
                r.table(table).get(key).update({"value": i}).run(conn, noreply=True)
            for _ in range(50):
                found = list(jobs(r).filter({"type": "disk_compaction"}).run(conn))
                if found:
                    break
                time.sleep(0.01)
        assert len(found) == 1, "no disk_compaction job within 20 s"
        row = found[0]
        assert row["duration_sec"] is None
        assert row["id"][0] == "disk_compaction" and row["type"] == "disk_compaction"
        assert row["servers"] == [server.name]
        assert row["info"] == {}
        # One stable id per server: uuid5 of the server id.
        assert row["id"][1] == str(uuid.uuid5(uuid.UUID("b8766ece-d15c-4f96-bee5-c0edacf10c9c"), server.server_id))
    finally:
        r.db("test").table_drop(table).run(conn)


@pytest.mark.slow
def test_full_scan_of_a_million_rows_is_killed_mid_scan(r, fresh_server):
    conn = r.connect(fresh_server.host, fresh_server.port)
    r.db("test").table_create("big").run(conn)
    r.table("big").insert(r.range(1_000_000).map(lambda i: {"id": i}), durability="soft").run(conn)
    victim = Victim(r, fresh_server, r.table("big").filter(lambda doc: doc["id"] < 0).count())
    victim.start()
    try:
        rows = poll(lambda: rows_of_port(r, conn, victim.port), lambda rows: len(rows) == 1)
        assert jobs(r).get(rows[0]["id"]).delete().run(conn)["deleted"] == 1
        victim.join(timeout=10)
        assert isinstance(victim.error, ReqlOpIndeterminateError)
        assert victim.error.message == KILLED
        assert victim.result is None
    finally:
        victim.close()
        conn.close()


def test_writes_other_than_deleting_query_jobs_are_refused_per_row(r, conn):
    own = jobs(r).filter({"type": "query"})
    updated = own.update({"info": {"user": "mallory"}}).run(conn)
    assert updated["errors"] >= 1 and updated["replaced"] == 0
    assert updated["first_error"] == ONLY_DELETIONS
    inserted = jobs(r).insert({"type": "query", "info": {}}).run(conn)
    assert inserted["errors"] == 1 and inserted["first_error"] == ONLY_DELETIONS
    assert len(inserted["generated_keys"]) == 1
    assert jobs(r).get(["query", str(uuid.uuid4())]).delete().run(conn)["skipped"] == 1


def test_get_requires_a_well_formed_key(r, conn):
    assert jobs(r).get("query").run(conn) is None
    assert jobs(r).get(["query"]).run(conn) is None
    assert jobs(r).get(["disk_compaction", str(uuid.uuid4())]).run(conn) is None
    own = list(jobs(r).run(conn))[0]  # the reading query itself, now finished
    assert jobs(r).get(own["id"]).run(conn) is None


def test_identifier_format_uuid_names_servers_by_id(r, conn, server):
    row = list(jobs(r).filter({"type": "query"}).run(conn, identifier_format="uuid"))[0]
    assert row["servers"] == [server.server_id]
    row = list(r.db("rethinkdb").table("jobs", identifier_format="uuid").filter({"type": "query"}).run(conn))[0]
    assert row["servers"] == [server.server_id]
    assert row["info"]["user"] == "admin"


def make_user(r, conn, name: str, password: str | bool = False) -> None:  # type: ignore[no-untyped-def]
    r.db("rethinkdb").table("users").insert({"id": name, "password": password}, conflict="replace").run(conn)


def test_non_admin_sees_and_kills_only_its_own_queries(r, conn, server):
    user = "u_" + uuid.uuid4().hex[:8]
    make_user(r, conn, user)
    other = r.connect(server.host, server.port, user=user)
    admin_js = r.connect(server.host, server.port)
    try:
        with pytest.raises(ReqlPermissionError, match=f"User `{user}` does not have the required `read` permission."):
            list(jobs(r).run(other))
        jobs(r).grant(user, {"read": True, "write": True}).run(conn)
        r.js("while(true) {}", timeout=10).run(admin_js, noreply=True)
        poll(lambda: rows_of_port(r, conn, admin_js.client_port()), lambda rows: len(rows) == 1)
        for _ in range(20):
            seen = list(jobs(r).run(other))
            assert len(seen) == 1
            assert seen[0]["type"] == "query" and seen[0]["info"]["user"] == user
            assert seen[0]["info"]["query"] == 'r.db("rethinkdb").table("jobs")'
        admin_row = rows_of_port(r, conn, admin_js.client_port())[0]
        assert jobs(r).get(admin_row["id"]).delete().run(other)["skipped"] == 1
        assert jobs(r).filter({"type": "query"}).count().run(other) == 1
        assert jobs(r).get(admin_row["id"]).run(conn) is not None  # still running
        assert jobs(r).get(admin_row["id"]).delete().run(conn)["deleted"] == 1
    finally:
        other.close()
        admin_js.close()
        r.db("rethinkdb").table("users").get(user).delete().run(conn)


def test_index_construction_rows_show_progress_until_ready(r, conn, server):
    table = "ix_" + uuid.uuid4().hex[:8]
    r.db("test").table_create(table).run(conn)
    try:
        for start in range(0, 50_000, 10_000):  # big enough for 10 ms polls to see it move
            r.table(table).insert([{"id": i, "x": i} for i in range(start, start + 10_000)], durability="soft").run(conn)
        r.table(table).index_create("x").run(conn)
        query = jobs(r).filter({"type": "index_construction", "info": {"db": "test", "table": table, "index": "x"}})
        seen: list[dict] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            rows = list(query.run(conn))
            assert len(rows) <= 1
            if rows:
                seen.append(rows[0])
            elif seen:
                break
            time.sleep(0.01)
        assert seen, "the index build never showed in rethinkdb.jobs"
        assert list(query.run(conn)) == []  # gone once ready, never shown at progress 1
        progress = [row["info"]["progress"] for row in seen]
        assert all(0 <= p < 1 for p in progress)
        assert sum(1 for a, b in zip(progress, progress[1:]) if b > a) >= 2
        row = seen[-1]
        assert row["id"][0] == "index_construction" and row["servers"] == [server.name]
        assert 0 < row["duration_sec"] <= 20
        table_id = r.table(table).info()["id"].run(conn)
        assert row["id"][1] == str(uuid.uuid5(uuid.UUID("74d855a5-0c40-4930-a451-d1ce508ef2d2"), table_id + "x"))
    finally:
        r.db("test").table_drop(table).run(conn)


def test_watch_and_kill_example_runs_against_a_server(server):
    example = Path(__file__).resolve().parent.parent / "examples" / "watch_and_kill_jobs.py"
    done = subprocess.run(
        [sys.executable, str(example), "--host", server.host, "--port", str(server.port)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "r.range(1000000000000).filter(function(var1) { return var1.lt(0); }).count()" in done.stdout
    assert "ReqlOpIndeterminateError: Query terminated by the `rethinkdb.jobs` table." in done.stdout


# -- rendering of reports (no server: the backend over a registry) ----------

def registry_backend():  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    from systables.jobs.registry import JobRegistry
    from systables.node import Node, ServerOptions
    from systables.storage import TableMeta
    from systables.system.jobs import JobsTable

    table = TableMeta(id=str(uuid.uuid4()), db_id="db-1", name="orders")
    node = Node(ServerOptions(server_name="alpha"), SimpleNamespace(server_id="s-1", get_meta=lambda k: None, put_meta=lambda k, v: None))
    server = SimpleNamespace(
        jobs=JobRegistry(),
        storage=SimpleNamespace(tables={table.id: table}),
        catalog=SimpleNamespace(db_name=lambda db_id: {"db-1": "shop"}.get(db_id, "__deleted_database__")),
    )
    return JobsTable(node, server.catalog, server.jobs, server.storage, log=None), server, table


def test_reports_of_one_index_build_merge_into_one_row():
    from types import SimpleNamespace

    from systables.jobs.registry import Job, index_construction_id

    backend, server, table = registry_backend()
    job_id = index_construction_id(table.id, "total")
    info = lambda: {"db": table.db_id, "table": table.id, "index": "total"}  # noqa: E731
    for fraction, started in ((0.2, time.time() - 5), (0.6, time.time() - 1)):
        server.jobs.add(Job("index_construction", job_id, start_time=started, server_ids=["s-1"], info=info,
                            progress=lambda f=fraction: f))
    admin = SimpleNamespace(user="admin")
    [row] = backend.rows(admin, "name")
    assert row["info"] == {"db": "shop", "table": "orders", "index": "total", "progress": 0.4}
    assert 5 <= row["duration_sec"] < 6 and row["servers"] == ["alpha"]
    [row] = backend.rows(admin, "uuid")
    assert row["info"]["db"] == "db-1" and row["info"]["table"] == table.id and row["servers"] == ["s-1"]
    assert backend.rows(SimpleNamespace(user="bob"), "name") == []  # only admin sees non-query jobs
    del server.storage.tables[table.id]
    assert backend.rows(admin, "name") == []  # the table was dropped meanwhile


def test_backfill_rows_name_both_servers_or_are_dropped():
    from types import SimpleNamespace

    from systables.jobs.registry import Job, backfill_id

    backend, server, table = registry_backend()
    info = {"db": table.db_id, "table": table.id, "source_server": "s-1", "destination_server": "s-1"}
    server.jobs.add(Job("backfill", backfill_id("s-1", table.id, "s-1"), server_ids=["s-1"], info=lambda: dict(info),
                        progress=lambda: 0.25))
    [row] = backend.rows(SimpleNamespace(user="admin"), "name")
    assert row["info"] == {"db": "shop", "table": "orders", "source_server": "alpha", "destination_server": "alpha", "progress": 0.25}
    info["source_server"] = "s-unknown"  # a server that is not connected cannot be named
    assert backend.rows(SimpleNamespace(user="admin"), "name") == []


async def test_only_query_jobs_can_be_killed():
    from systables.jobs.registry import Job, JobNotInterruptible, JobRegistry

    registry = JobRegistry()
    killed: list[str] = []
    job = registry.add(Job("query", "q-1", user="bob", on_kill=lambda user, connection: killed.append(user)))
    with pytest.raises(JobNotInterruptible, match="^Jobs of type `disk_compaction` cannot be interrupted.$"):
        await registry.kill("disk_compaction", "x", "admin", True)
    assert await registry.kill("query", "q-1", "carol", False) is False  # someone else's query
    assert await registry.kill("query", "q-1", "bob", False) is True
    assert killed == ["bob"]
    registry.remove(job)
    assert registry.get("query", "q-1") is None and len(registry) == 0


def test_deleting_absent_rows_follows_rethinkdb(conn, r):
    jobs = r.db("rethinkdb").table("jobs")
    absent = "00000000-0000-0000-0000-000000000000"
    refused = jobs.get(["disk_compaction", absent]).delete().run(conn)
    assert refused["errors"] == 1 and refused["first_error"] == "Jobs of type `disk_compaction` cannot be interrupted."
    assert jobs.get(["query", absent]).delete().run(conn)["skipped"] == 1
    assert jobs.get("not a job key").delete().run(conn)["skipped"] == 1


def test_secondary_index_on_jobs_is_not_found_without_period(conn, r):
    from rethinkdb.errors import ReqlOpFailedError

    with pytest.raises(ReqlOpFailedError) as err:
        list(r.db("rethinkdb").table("jobs").get_all(1, index="x").run(conn))
    assert err.value.message == "Index `x` was not found on table `rethinkdb.jobs`"
