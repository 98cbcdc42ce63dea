"""The official Python driver against a real server process: connect,
authenticate, CRUD, cursors, concurrency (sync, trio and asyncio)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import trio
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlAuthError, ReqlDriverError, ReqlOpFailedError


def fresh_db(r, conn) -> str:
    name = "t_" + uuid.uuid4().hex[:10]
    r.db_create(name).run(conn)
    return name


def test_crud_round_trip(r, conn):
    db = fresh_db(r, conn)
    created = r.db(db).table_create("people").run(conn)
    assert created["tables_created"] == 1
    assert created["config_changes"][0]["new_val"]["name"] == "people"
    people = r.db(db).table("people")
    res = people.insert([{"id": 1, "name": "ann", "age": 31}, {"id": 2, "name": "bob", "age": 40}, {"name": "cy", "age": 25}]).run(conn)
    assert res["inserted"] == 3 and res["errors"] == 0
    assert len(res["generated_keys"]) == 1
    assert people.get(1).run(conn) == {"id": 1, "name": "ann", "age": 31}
    assert people.get(99).run(conn) is None
    older = list(people.filter(lambda p: p["age"] > 30).order_by("id").run(conn))
    assert [p["name"] for p in older] == ["ann", "bob"]
    assert list(people.filter({"name": "bob"}).pluck("age").run(conn)) == [{"age": 40}]
    upd = people.get(1).update({"age": 32}).run(conn)
    assert upd["replaced"] == 1
    assert people.get(1)["age"].run(conn) == 32
    dele = people.filter(r.row["age"] < 30).delete().run(conn)
    assert dele["deleted"] == 1
    assert people.count().run(conn) == 2
    assert r.db(db).table_list().run(conn) == ["people"]
    assert r.db_drop(db).run(conn)["tables_dropped"] == 1


def test_errors_have_rethinkdb_messages(r, conn):
    with pytest.raises(ReqlOpFailedError, match="Table `test.no_such_table` does not exist."):
        r.table("no_such_table").run(conn)
    with pytest.raises(ReqlOpFailedError, match="Database `no_such_db` does not exist."):
        r.db("no_such_db").table_list().run(conn)


def test_cursor_of_ten_thousand_rows_in_batches(r, conn):
    db = fresh_db(r, conn)
    r.db(db).table_create("big").run(conn)
    r.db(db).table("big").insert([{"id": i} for i in range(10_000)]).run(conn)
    cursor = r.db(db).table("big").run(conn, max_batch_rows=500)
    ids = sorted(row["id"] for row in cursor)
    assert ids == list(range(10_000))
    r.db_drop(db).run(conn)


def test_close_cursor_early(r, conn):
    cursor = r.range(1_000_000).run(conn, max_batch_rows=10)
    first = [next(cursor) for _ in range(5)]
    assert first == [0, 1, 2, 3, 4]
    cursor.close()
    assert r.expr(1).run(conn) == 1  # the connection still works


def test_fifty_concurrent_queries_on_one_connection(server):
    r = RethinkDB()
    r.set_loop_type("trio")

    async def main() -> list:
        results: list = [None] * 50
        async with trio.open_nursery() as conn_nursery:
            conn = await r.connect(host=server.host, port=server.port, nursery=conn_nursery)

            async def one(i: int) -> None:
                # r.js-free slow-ish query so that the 50 really overlap on the server
                results[i] = await r.range(2000).map(lambda x: x + i).count().add(i).run(conn)

            async with trio.open_nursery() as nursery:
                for i in range(50):
                    nursery.start_soon(one, i)
            # The driver's trio close() tests a trio.Event for truth, which trio 0.35
            # refuses; cancelling its nursery closes the socket instead.
            conn_nursery.cancel_scope.cancel()
        return results

    assert trio.run(main) == [2000 + i for i in range(50)]


def test_asyncio_connection(server):
    r = RethinkDB()
    r.set_loop_type("asyncio")

    async def main() -> tuple:
        conn = await r.connect(host=server.host, port=server.port)
        value = await r.expr({"a": [1, 2, 3]})["a"].count().run(conn)
        cursor = await r.range(25).run(conn, max_batch_rows=4)
        rows = []
        while await cursor.fetch_next():
            rows.append(await cursor.next())
        await conn.close()
        return value, rows

    value, rows = asyncio.run(main())
    assert value == 3
    assert rows == list(range(25))


def test_passwords(fresh_server, r):
    conn = r.connect(host=fresh_server.host, port=fresh_server.port)
    conn.close()
    with pytest.raises(ReqlAuthError):
        r.connect(host=fresh_server.host, port=fresh_server.port, password="wrong")


def test_initial_password_is_required(r):
    from serverproc import temp_server

    with temp_server(extra_args=["--initial-password", "s3cret"]) as srv:
        conn = r.connect(host=srv.host, port=srv.port, password="s3cret")
        assert r.expr("ok").run(conn) == "ok"
        conn.close()
        with pytest.raises(ReqlAuthError):
            r.connect(host=srv.host, port=srv.port, password="")
        with pytest.raises(ReqlAuthError):
            r.connect(host=srv.host, port=srv.port, user="nobody", password="")


def test_server_info_and_noreply_wait(r, conn, server):
    info = conn.server()
    assert info["name"] == server.name and info["id"] == server.server_id and info["proxy"] is False
    r.expr(1).run(conn, noreply=True)
    conn.noreply_wait()
    assert r.expr(2).run(conn) == 2


def test_data_survives_restart(fresh_server, r):
    conn = r.connect(host=fresh_server.host, port=fresh_server.port)
    db = fresh_db(r, conn)
    r.db(db).table_create("keep").run(conn)
    r.db(db).table("keep").insert([{"id": i, "v": str(i)} for i in range(100)]).run(conn)
    conn.close()
    assert fresh_server.stop() == 0
    fresh_server.start()
    conn = r.connect(host=fresh_server.host, port=fresh_server.port)
    assert r.db(db).table("keep").count().run(conn) == 100
    assert r.db(db).table("keep").get(42).run(conn) == {"id": 42, "v": "42"}
    conn.close()


def test_unreachable_port_is_driver_error(r):
    with pytest.raises(ReqlDriverError):
        r.connect(host="127.0.0.1", port=1, timeout=2)
