"""``rethinkdb-dump`` and ``rethinkdb-restore`` (shipped with the official
Python driver) round-trip a database: they read ``server_status``,
``table_config``, ``info()``, ``index_status()`` and more, so they are real
clients of the system tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers import missing_tool

TOOLS = Path(sys.executable).parent


def run_tool(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    tool = TOOLS / name
    if not tool.exists():
        missing_tool(f"the driver's `{name}` tool", "make test-deps")
    done = subprocess.run([str(tool), *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def snapshot(r, conn, db: str) -> dict:  # type: ignore[no-untyped-def]
    tables = {}
    for name in r.db(db).table_list().run(conn):
        table = r.db(db).table(name)
        info = table.info().run(conn)
        rows = sorted(table.run(conn), key=lambda row: repr(row[info["primary_key"]]))
        indexes = [{k: ix[k] for k in ("index", "multi", "geo")} for ix in table.index_status().run(conn)]
        tables[name] = {"primary_key": info["primary_key"], "rows": rows, "indexes": indexes}
    return tables


def test_dump_then_restore_round_trips_a_database(r, fresh_server, tmp_path):
    conn = r.connect(fresh_server.host, fresh_server.port)
    r.db_create("shop").run(conn)
    r.db("shop").table_create("items").run(conn)
    r.db("shop").table_create("people", primary_key="name").run(conn)
    r.db("shop").table_create("empty").run(conn)
    r.db("shop").table("items").insert(
        [{"id": i, "price": i * 1.5, "tags": ["a", str(i % 7)], "nested": {"n": i}} for i in range(1500)]
    ).run(conn)
    r.db("shop").table("people").insert([{"name": f"p{i}", "age": 20 + i} for i in range(40)]).run(conn)
    r.db("shop").table("items").index_create("price").run(conn)
    r.db("shop").table("items").index_create("tags", multi=True).run(conn)
    r.db("shop").table("items").index_wait().run(conn)
    before = snapshot(r, conn, "shop")
    address = f"{fresh_server.host}:{fresh_server.port}"

    run_tool("rethinkdb-dump", "-c", address, "-e", "shop", "-f", "shop.tar.gz", cwd=tmp_path)
    r.db_drop("shop").run(conn)
    run_tool("rethinkdb-restore", "-c", address, "shop.tar.gz", cwd=tmp_path)

    r.db("shop").table("items").index_wait().run(conn)
    assert snapshot(r, conn, "shop") == before
    assert before["items"]["indexes"] == [
        {"geo": False, "index": "price", "multi": False},
        {"geo": False, "index": "tags", "multi": True},
    ]
    assert r.db("shop").table("items").get_all("3", index="tags").count().run(conn) > 0
    conn.close()
