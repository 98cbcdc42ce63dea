"""Replicated tables on three real servers: a table created on one server is
in every server's catalog; ``reconfigure(replicas=3)`` places it on all three
and answers RethinkDB's result; each new replica is backfilled from the
primary, with a ``backfill`` row in ``rethinkdb.jobs`` on every server whose
progress rises; writes made during the backfill reach every replica; after
it, the primary's writes are replicated with majority acks, and a server that
is not the primary refuses reads and writes in RethinkDB's words."""

from __future__ import annotations

import threading
import time

import pytest
from helpers import wait_for
from test_cluster import cluster_dir, connect, everyone_sees, servers, start  # noqa: F401  (fixtures)

DOCS = 50_000
PAD = "x" * 200


def doc_order(doc: dict) -> tuple[str, object]:
    return (type(doc["id"]).__name__, doc["id"])


def tables_on(r, server) -> list[str]:
    with connect(r, server) as conn:
        return r.db("test").table_list().run(conn)


def backfill_rows(r, conn) -> list[dict]:
    return list(r.db("rethinkdb").table("jobs").filter({"type": "backfill"}).run(conn))


def poll_backfills(r, server, seen: dict, rows_seen: list, ready: threading.Event) -> None:
    with connect(r, server) as conn:
        while not ready.is_set():
            for row in backfill_rows(r, conn):
                seen.setdefault((server.name, row["id"][1]), []).append(row["info"]["progress"])
                rows_seen.append(row)
            time.sleep(0.02)


def local_docs(r, server) -> list[dict]:
    with connect(r, server) as conn:
        return sorted(r.table("t", read_mode="outdated").run(conn), key=doc_order)


def test_reconfigure_to_three_replicas_backfills_and_replicates(r, servers, cluster_dir):  # noqa: F811
    a = start(servers, cluster_dir, "a")
    b = start(servers, cluster_dir, "b", join=a)
    c = start(servers, cluster_dir, "c", join=a)
    wait_for(lambda: everyone_sees(r, [a, b, c], ["a", "b", "c"]), timeout=30)
    with connect(r, a) as conn:
        r.db("test").table_create("t").run(conn)
        for start_id in range(0, DOCS, 5000):
            r.table("t").insert([{"id": i, "pad": PAD} for i in range(start_id, start_id + 5000)], durability="soft").run(conn)
    wait_for(lambda: all(tables_on(r, s) == ["t"] for s in (b, c)), timeout=10)
    with connect(r, c) as conn:
        config = r.table("t").config().run(conn)
        assert config["shards"] == [{"nonvoting_replicas": [], "primary_replica": "a", "replicas": ["a"]}]
        with pytest.raises(r.errors.ReqlOpFailedError, match="is on server `a`, and this server does not forward"):
            r.table("t").count().run(conn)

    with connect(r, a) as conn:
        with pytest.raises(r.errors.ReqlOpFailedError) as refused:
            r.table("t").reconfigure(shards=1, replicas=4).run(conn)
        assert refused.value.message == (
            "Can't put 4 replicas on servers with the tag `default` because there are only 3 servers with the tag "
            "`default`. It's impossible to have more replicas of the data than there are servers."
        )
        result = r.table("t").reconfigure(shards=1, replicas=3).run(conn)
    assert result["reconfigured"] == 1 and len(result["config_changes"]) == 1 and len(result["status_changes"]) == 1
    [change] = result["config_changes"]
    assert change["old_val"]["shards"][0]["replicas"] == ["a"]
    new_shard = change["new_val"]["shards"][0]
    assert new_shard["primary_replica"] == "a" and sorted(new_shard["replicas"]) == ["a", "b", "c"]

    # Every server's backfill rows, polled every 20 ms in a thread of its own,
    # while this thread writes to the primary until every replica is ready.
    seen: dict[tuple[str, str], list[float]] = {}  # (server, job id) -> progress seen
    rows_seen: list[dict] = []
    ready = threading.Event()
    pollers = [threading.Thread(target=poll_backfills, args=(r, s, seen, rows_seen, ready), daemon=True) for s in (a, b, c)]
    began = time.monotonic()
    for poller in pollers:
        poller.start()
    written = 0
    with connect(r, a) as conn:
        while not ready.is_set() and time.monotonic() < began + 60:
            r.table("t").insert({"id": f"during-{written}"}).run(conn)
            r.table("t").get(written).update({"pad": "changed"}).run(conn)
            written += 1
            if r.table("t").status()["status"]["all_replicas_ready"].run(conn) and not backfill_rows(r, conn):
                ready.set()
    for poller in pollers:
        poller.join()
    print(f"backfill of {DOCS} documents to two replicas: {time.monotonic() - began:.2f} s")
    assert {name for name, _ in seen} == {"a", "b", "c"}
    for key, progress in seen.items():
        rises = sum(1 for x, y in zip(progress, progress[1:]) if y > x)
        assert rises >= 2, (key, progress)
    row = rows_seen[0]
    assert row["type"] == "backfill" and row["id"][0] == "backfill" and len(row["servers"]) == 2
    assert row["info"]["db"] == "test" and row["info"]["table"] == "t" and row["info"]["source_server"] == "a"
    assert row["info"]["destination_server"] in ("b", "c") and 0 <= row["info"]["progress"] < 1
    assert row["duration_sec"] > 0 and row["info"]["phase"] == "copying"
    assert {r_["info"]["destination_server"] for r_ in rows_seen} == {"b", "c"}

    with connect(r, a) as conn:
        status = r.table("t").status().run(conn)
        assert status["shards"][0]["primary_replicas"] == ["a"]
        assert sorted((x["server"], x["state"]) for x in status["shards"][0]["replicas"]) == [
            ("a", "ready"), ("b", "ready"), ("c", "ready")
        ]
        r.table("t").insert({"id": "after"}).run(conn)  # majority acks: on b or c by now
        expected = sorted(r.table("t").run(conn), key=doc_order)
    assert len(expected) == DOCS + written + 1
    assert sum(1 for d in expected if d.get("pad") == "changed") == written
    for replica in (b, c):
        wait_for(lambda: local_docs(r, replica) == expected, timeout=10)
    with connect(r, b) as conn:
        with pytest.raises(r.errors.ReqlOpFailedError, match="^Cannot perform write: The primary replica of table `test.t` is on server `a`"):
            r.table("t").insert({"id": "refused"}).run(conn)


def test_databases_and_tables_are_shared_and_created_with_replicas(r, servers, cluster_dir):  # noqa: F811
    a = start(servers, cluster_dir, "a")
    b = start(servers, cluster_dir, "b", join=a)
    wait_for(lambda: everyone_sees(r, [a, b], ["a", "b"]), timeout=30)
    with connect(r, b) as conn:
        r.db_create("shop").run(conn)
        created = r.db("shop").table_create("u", replicas=2).run(conn)
        assert created["tables_created"] == 1
        with pytest.raises(r.errors.ReqlOpFailedError, match="only 2 servers with the tag `default`"):
            r.db("shop").table_create("v", replicas=3).run(conn)
        r.db("shop").table("u").insert([{"id": i} for i in range(100)]).run(conn)

    def shard_on_a():
        with connect(r, a) as conn:
            if "u" not in r.db("shop").table_list().run(conn):
                return None
            return r.db("shop").table("u").config()["shards"].run(conn)

    assert wait_for(shard_on_a, timeout=10) == [{"nonvoting_replicas": [], "primary_replica": "b", "replicas": sorted(["a", "b"], key=lambda n: {"a": a.server_id, "b": b.server_id}[n])}]
    with connect(r, a) as conn:
        wait_for(lambda: r.db("shop").table("u", read_mode="outdated").count().run(conn) == 100, timeout=10)
        with pytest.raises(r.errors.ReqlOpFailedError, match="Cannot perform read: The primary replica of table `shop.u` is on server `b`"):
            r.db("shop").table("u").get(1).run(conn)
    with connect(r, b) as conn:
        renamed = r.db("shop").table("u").config().update({"name": "w"}).run(conn)
        assert renamed["replaced"] == 1, renamed
        moved = r.db("shop").table("w").config().update({"shards": [{"primary_replica": "a", "replicas": ["a"]}]}).run(conn)
        assert moved["errors"] == 1 and "use `reconfigure`" in moved["first_error"]
    wait_for(lambda: tables_of(r, a, "shop") == ["w"], timeout=10)
    with connect(r, a) as conn:
        r.db("shop").table_drop("w").run(conn)
    wait_for(lambda: tables_of(r, b, "shop") == [], timeout=10)
    with connect(r, a) as conn:
        r.db_drop("shop").run(conn)
    wait_for(lambda: "shop" not in db_names(r, b), timeout=10)


def tables_of(r, server, db: str) -> list[str]:
    with connect(r, server) as conn:
        return r.db(db).table_list().run(conn)


def db_names(r, server) -> list[str]:
    with connect(r, server) as conn:
        return r.db_list().run(conn)


def test_a_primary_that_lost_its_quorum_refuses_writes(r, servers, cluster_dir):  # noqa: F811
    a = start(servers, cluster_dir, "a")
    b = start(servers, cluster_dir, "b", join=a)
    c = start(servers, cluster_dir, "c", join=a)
    wait_for(lambda: everyone_sees(r, [a, b, c], ["a", "b", "c"]), timeout=30)
    with connect(r, a) as conn:
        r.db("test").table_create("q", replicas=3).run(conn)
        wait_for(lambda: r.table("q").status()["status"]["all_replicas_ready"].run(conn), timeout=10)
        b.kill()
        assert r.table("q").insert({"id": 1}).run(conn)["inserted"] == 1  # a and c are a majority
        c.kill()
        # Refused before it is written, or (if c's connection is not seen closed
        # yet) not acknowledged: INDETERMINATE once it is.
        with pytest.raises(r.errors.ReqlError, match="^Cannot perform write: The primary replica"):
            r.table("q").insert({"id": 2}).run(conn)
        with pytest.raises(r.errors.ReqlOpFailedError, match="isn't connected to a quorum of replicas. The write was not performed."):
            r.table("q").insert({"id": 3}).run(conn)
        assert r.table("q").get(1).run(conn) == {"id": 1}
