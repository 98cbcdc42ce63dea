"""Background index construction against real server processes: the
``index_construction`` row of ``rethinkdb.jobs`` (RethinkDB's own scenario),
progress visible right after ``index_create``, pausing, resuming and lower
priority through the row, a build surviving a restart or a crash, and a drop
or rename while it runs."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from helpers import wait_for
from rethinkdb.errors import ReqlOpFailedError

INDEX_NS = uuid.UUID("74d855a5-0c40-4930-a451-d1ce508ef2d2")
BAD_UPDATE = 'Index construction jobs accept updates of `paused` (true or false) and `priority` ("normal" or "low") only.'


def jobs(r):
    return r.db("rethinkdb").table("jobs")


def job_id(r, conn, table, index: str) -> list:
    table_id = table.info()["id"].run(conn)
    return ["index_construction", str(uuid.uuid5(INDEX_NS, table_id + index))]


@pytest.fixture
def make_table(r, conn):
    created = []

    def make(docs: int, fields=lambda i: {"x": i}) -> object:
        name = "ib_" + uuid.uuid4().hex[:10]
        r.db("test").table_create(name).run(conn)
        created.append(name)
        table = r.db("test").table(name)
        for start in range(0, docs, 10_000):
            batch = [{"id": i, **fields(i)} for i in range(start, min(docs, start + 10_000))]
            # Hard writes: index_create answers once the index is durable, and a
            # soft load would make that fsync (and the build's head start) long.
            table.insert(batch).run(conn)
        return table

    yield make
    for name in created:
        r.db("test").table_drop(name).run(conn)


def create_paused(r, conn, table, index: str, *function, patch: dict | None = None, attempts: int = 5, **opts) -> list:
    """index_create, then pause the build (or apply ``patch``) through its job
    row at once.  A build can outrun the client on a loaded machine: then
    drop and retry."""
    for _ in range(attempts):
        table.index_create(index, *function, **opts).run(conn)
        job = job_id(r, conn, table, index)
        if jobs(r).get(job).update(patch or {"paused": True}).run(conn)["replaced"] == 1:
            return job
        table.index_drop(index).run(conn)
    pytest.fail("every build finished before its job row could be updated")





def test_rethinkdb_jobs_scenario_for_index_construction(r, conn, server, make_table):
    # RethinkDB's jobs test polls every 10 ms and wants two progress increases;
    # its table (500 documents) builds here in a few ms, so this one is bigger.
    table = make_table(50_000)
    table.index_create("x").run(conn)
    name = table.info()["name"].run(conn)
    query = jobs(r).filter({"type": "index_construction", "info": {"db": "test", "table": name, "index": "x"}})
    seen: list[dict] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rows = list(query.coerce_to("array").run(conn))
        assert len(rows) <= 1
        if rows:
            seen.append(rows[0])
        elif seen:
            break
        time.sleep(0.01)
    progress = [row["info"]["progress"] for row in seen]
    assert sum(1 for a, b in zip(progress, progress[1:]) if b > a) >= 2, progress
    assert progress == sorted(progress) and all(0 <= p < 1 for p in progress)
    row = seen[-1]
    assert row["id"] == job_id(r, conn, table, "x") and row["servers"] == [server.name]
    assert 0 < row["duration_sec"] <= 20
    assert row["info"]["phase"] == "building" and row["info"]["priority"] == "normal"
    assert row["info"]["eta_sec"] is None or row["info"]["eta_sec"] >= 0
    assert table.index_status("x")["ready"].run(conn) == [True]


def caught_building(table, conn, create, drop, attempts: int = 5) -> None:
    """``create`` builds, then its builds must still run at the next query.  A
    build can outrun the client on a loaded machine: then drop and retry."""
    for _ in range(attempts):
        create()
        if not any(s["ready"] for s in table.index_status().run(conn)):
            return
        drop()
    pytest.fail("every build finished before the client could look at it")


def test_status_right_after_create_shows_progress(r, conn, make_table):
    table = make_table(20_000, lambda i: {"a": i, "tags": [i % 7, i % 11]})

    def create():
        table.index_create("foo", r.row["a"]).run(conn)
        table.index_create("bar", r.row["tags"], multi=True).run(conn)

    caught_building(table, conn, create, lambda: [table.index_drop(name).run(conn) for name in ("foo", "bar")])
    assert table.index_status().map(lambda s: s["progress"] < 1).run(conn) == [True, True]
    with pytest.raises(ReqlOpFailedError, match="was accessed before its construction was finished"):
        table.get_all(3, index="bar").run(conn)
    done = table.index_wait().run(conn)
    assert [s["ready"] for s in done] == [True, True] and all("progress" not in s for s in done)
    assert table.get_all(3, index="bar").count().run(conn) == len({i for i in range(20_000) if i % 7 == 3 or i % 11 == 3}) + len(
        [i for i in range(20_000) if i % 7 == 3 and i % 11 == 3]
    )


def test_pause_resume_and_priority_through_the_jobs_row(r, conn, make_table):
    table = make_table(20_000)
    job = create_paused(r, conn, table, "x")
    row = jobs(r).get(job).run(conn)
    assert row["info"]["phase"] == "paused" and row["info"]["eta_sec"] is None
    before = table.index_status("x")[0]["progress"].run(conn)
    time.sleep(0.3)
    assert table.index_status("x")[0]["progress"].run(conn) == before < 1
    with pytest.raises(ReqlOpFailedError, match="accessed before its construction was finished"):
        table.between(0, 10, index="x").count().run(conn)
    table.insert({"id": -1, "x": -1}).run(conn)  # writes go on, and reach the index
    result = jobs(r).get(job).update({"paused": False, "priority": "low"}).run(conn)
    assert result["replaced"] == 1
    info = wait_for(lambda: (i := jobs(r).get(job)["info"].default(None).run(conn)) and i["progress"] > before and i)
    assert info["phase"] == "building" and info["priority"] == "low"
    jobs(r).get(job).update({"priority": "normal"}).run(conn)
    table.index_wait("x").run(conn)
    assert jobs(r).get(job).run(conn) is None
    assert table.between(r.minval, r.maxval, index="x").count().run(conn) == 20_001
    assert list(table.order_by(index="x").limit(1)["id"].run(conn)) == [-1]


def test_bad_control_updates_are_refused(r, conn, make_table):
    table = make_table(20_000)
    job = create_paused(r, conn, table, "x")
    for patch in ({"paused": "yes"}, {"priority": "high"}, {"progress": 1}, {"info": {"phase": "done"}, "x": 1}):
        result = jobs(r).get(job).update(patch).run(conn)
        assert result["errors"] == 1 and result["first_error"] == BAD_UPDATE, patch
    deleted = jobs(r).get(job).delete().run(conn)
    assert deleted["errors"] == 1 and deleted["first_error"] == "Jobs of type `index_construction` cannot be interrupted."
    assert jobs(r).get(job)["info"]["phase"].run(conn) == "paused"
    table.index_drop("x").run(conn)


def test_drop_during_build_stops_it(r, conn, make_table):
    table = make_table(20_000)
    caught_building(table, conn, lambda: table.index_create("x").run(conn), lambda: table.index_drop("x").run(conn))
    job = job_id(r, conn, table, "x")
    assert jobs(r).get(job).run(conn) is not None
    assert table.index_drop("x").run(conn) == {"dropped": 1}
    assert jobs(r).get(job).run(conn) is None
    assert table.index_list().run(conn) == []
    table.insert({"id": -1, "x": "after"}).run(conn)
    table.index_create("x").run(conn)  # the same name again: a new, complete build
    table.index_wait("x").run(conn)
    assert table.between(r.minval, r.maxval, index="x").count().run(conn) == 20_001


def test_drop_of_a_paused_build(r, conn, make_table):
    table = make_table(20_000)
    job = create_paused(r, conn, table, "x")
    table.index_drop("x").run(conn)
    assert jobs(r).get(job).run(conn) is None
    assert table.index_status().run(conn) == []


def test_rename_during_build_moves_its_job_row(r, conn, make_table):
    table = make_table(20_000)
    old_job = create_paused(r, conn, table, "x")
    assert table.index_rename("x", "y").run(conn) == {"renamed": 1}
    new_job = job_id(r, conn, table, "y")
    assert jobs(r).get(old_job).run(conn) is None
    row = jobs(r).get(new_job).run(conn)
    assert row["info"]["index"] == "y" and row["info"]["phase"] == "paused"
    jobs(r).get(new_job).update({"paused": False}).run(conn)
    table.index_wait("y").run(conn)
    assert table.between(r.minval, r.maxval, index="y").count().run(conn) == 20_000


def test_writes_during_the_build_are_all_indexed(r, conn, make_table):
    table = make_table(20_000, lambda i: {"x": i % 100})
    table.index_create("x").run(conn)
    for i in range(0, 20_000, 1499):  # updates, deletes and inserts across the table while it builds
        table.get(i).update({"x": -1}).run(conn)
        table.get(i + 1).delete().run(conn)
        table.insert({"id": 100_000 + i, "x": -2}).run(conn)
    table.index_wait("x").run(conn)
    expected = sorted((d["x"], d["id"]) for d in table.run(conn))
    indexed = [(d["x"], d["id"]) for d in table.order_by(index="x").run(conn)]
    assert indexed == expected


def test_build_resumes_after_a_restart(r, fresh_server):
    conn = r.connect(host=fresh_server.host, port=fresh_server.port)
    r.db("test").table_create("t").run(conn)
    table = r.db("test").table("t")
    table.insert([{"id": i, "x": i % 50} for i in range(20_000)]).run(conn)
    job = create_paused(r, conn, table, "x")
    progress = table.index_status("x")[0]["progress"].run(conn)
    conn.close()
    fresh_server.stop()
    fresh_server.start()
    conn = r.connect(host=fresh_server.host, port=fresh_server.port)
    row = jobs(r).get(job).run(conn)
    assert row["info"]["phase"] == "paused" and row["info"]["progress"] == progress  # the pause is kept
    assert table.index_status("x")[0]["ready"].run(conn) is False
    table.insert({"id": -1, "x": -1}).run(conn)  # the index function came back with the restart
    jobs(r).get(job).update({"paused": False}).run(conn)
    table.index_wait("x").run(conn)
    assert table.between(r.minval, r.maxval, index="x").count().run(conn) == 20_001
    assert table.get_all(-1, index="x")["id"].coerce_to("array").run(conn) == [-1]
    conn.close()


def test_build_survives_a_crash_and_is_never_served_half_built(r, fresh_server):
    conn = r.connect(host=fresh_server.host, port=fresh_server.port)
    r.db("test").table_create("t").run(conn)
    table = r.db("test").table("t")
    table.insert([{"id": i, "x": i} for i in range(30_000)]).run(conn)
    # An evaluated function (not the plain-field fast path), at low priority: slow enough to catch mid-build.
    job = create_paused(r, conn, table, "x", lambda row: [row["x"], "k"], patch={"priority": "low"})
    seen = wait_for(lambda: (p := table.index_status("x")[0]["progress"].run(conn)) > 0.05 and p)
    conn.close()
    fresh_server.kill()
    fresh_server.start()
    conn = r.connect(host=fresh_server.host, port=fresh_server.port)
    status = table.index_status("x")[0].run(conn)
    assert status["ready"] is False and seen <= status["progress"] < 1  # resumed, not restarted
    with pytest.raises(ReqlOpFailedError, match="accessed before its construction was finished"):
        table.get_all([5, "k"], index="x").run(conn)
    assert jobs(r).get(job)["info"]["priority"].run(conn) == "low"
    jobs(r).get(job).update({"priority": "normal"}).run(conn)
    table.index_wait("x").run(conn)
    assert table.between(r.minval, r.maxval, index="x").count().run(conn) == 30_000
    assert table.get_all([29_999, "k"], index="x")["id"].coerce_to("array").run(conn) == [29_999]
    conn.close()


def test_index_build_progress_example_runs_against_a_server(server):
    example = Path(__file__).resolve().parent.parent / "examples" / "index_build_progress.py"
    done = subprocess.run(
        [sys.executable, str(example), "--host", server.host, "--port", str(server.port), "--docs", "50000", "--pause-at", "0.2"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any("phase paused" in line for line in lines) and any("phase building" in line for line in lines)
    assert "index `score` ready: True" in done.stdout
    assert "documents with score 42: 51" in done.stdout
    assert "three highest scores: ids [49849, 48852, 47855]" in done.stdout


NO_CONFIG = "User `mallory` does not have the required `config` permission."


def test_controlling_a_build_takes_config_on_its_table(r, conn, server, make_table):
    # write on rethinkdb.jobs (enough to kill one's own queries) does not give
    # a say over index builds on tables one may not configure.
    table = make_table(50_000)
    job = create_paused(r, conn, table, "x")
    users = r.db("rethinkdb").table("users")
    users.insert({"id": "mallory", "password": "pw"}).run(conn)
    try:
        jobs(r).grant("mallory", {"read": True, "write": True}).run(conn)
        other = r.connect(server.host, server.port, user="mallory", password="pw")
        for patch in ({"paused": False}, {"priority": "low"}):
            # only admin sees index builds' rows: mallory's update finds none
            assert jobs(r).get(job).update(patch).run(other)["replaced"] == 0
            for conflict in ("update", "replace"):
                with pytest.raises(r.errors.ReqlPermissionError, match=NO_CONFIG):
                    jobs(r).insert({"id": job, **patch}, conflict=conflict).run(other)
        assert jobs(r).get(job)["info"]["phase"].run(conn) == "paused"
        table.grant("mallory", {"config": True}).run(conn)
        result = jobs(r).insert({"id": job, "paused": False}, conflict="update").run(other)
        assert result["errors"] == 0, result  # the row is hidden from mallory: "inserted"
        assert jobs(r).get(job)["info"]["phase"].default("done").run(conn) != "paused"
        other.close()
    finally:
        users.get("mallory").delete().run(conn)
