"""``r.js`` against a real server: conversions as RethinkDB makes them,
functions usable from ReQL, the time limit, and isolation of the workers."""

from __future__ import annotations

import threading
import uuid

import pytest
from rethinkdb.errors import ReqlQueryLogicError


def fails_with(query, conn, message: str) -> None:  # type: ignore[no-untyped-def]
    """The query fails with ReqlQueryLogicError and exactly this message."""
    with pytest.raises(ReqlQueryLogicError) as e:
        query.run(conn)
    assert e.value.message == message


def test_values_convert_as_rethinkdb_converts_them(r, conn):
    assert r.js("1 + 1").run(conn) == 2
    assert r.js("1 + 1; 2 + 2").run(conn) == 4
    assert r.js("0.5 * 3").run(conn) == 1.5
    assert r.js("'a' + 'b'").run(conn) == "ab"
    assert r.js("null").run(conn) is None
    assert r.js("1 < 2").run(conn) is True
    assert r.js("({a: [1, 2.5, 'x', null, false], b: {c: {}}})").run(conn) == {
        "a": [1, 2.5, "x", None, False],
        "b": {"c": {}},
    }
    assert r.js("new Date('2012-08-01')").to_iso8601().run(conn) == "2012-08-01T00:00:00+00:00"
    assert r.epoch_time(1_000_000).do(r.js("(function(t) { return t.getTime(); })")).run(conn) == 1_000_000_000


def test_conversion_errors_have_rethinkdb_messages(r, conn):
    fails_with(r.js("undefined"), conn, "Cannot convert javascript `undefined` to ql::datum_t.")
    fails_with(r.js("1 / 0"), conn, "Number return value is not finite.")
    fails_with(r.js("function() { return 1; }"), conn, "SyntaxError: function name expected")
    fails_with(r.js("throw new Error('boom')"), conn, "Error: boom")
    fails_with(r.js("(function() { return 1; })"), conn, "Query result must be of type DATUM, GROUPED_DATA, or STREAM (got FUNCTION).")


def test_functions_work_in_do_map_filter(r, conn):
    assert r.do(1, 2, r.js("(function(a, b) { return a + b; })")).run(conn) == 3
    assert r.do(1, 2, r.js("(function(a) { return a; })")).run(conn) == 1
    assert r.expr([1, 2, 3]).map(r.js("(function(a) { return a + 1; })")).run(conn) == [2, 3, 4]
    assert r.expr([1, 2, 3]).filter(r.js("(function(a) { return a >= 2; })")).run(conn) == [2, 3]
    assert list(r.range(500).map(r.js("(function(x) { return {v: x * 2}; })")).run(conn))[-1] == {"v": 998}
    fails_with(r.do(1, 2, r.js("(function(a, b, c) { return c; })")), conn, "Cannot convert javascript `undefined` to ql::datum_t.")
    with pytest.raises(ReqlQueryLogicError, match="^Expected type FUNCTION but found DATUM:"):
        r.expr([1, 2, 3]).map(r.js("1")).run(conn)


def test_functions_work_on_table_rows(r, conn):
    table = "js_" + uuid.uuid4().hex[:8]
    r.db("test").table_create(table).run(conn)
    try:
        r.table(table).insert([{"id": i, "name": f"n{i}"} for i in range(50)]).run(conn)
        upper = r.table(table).order_by("id").map(r.js("(function(doc) { return doc.name.toUpperCase(); })"))
        assert upper.run(conn)[:3] == ["N0", "N1", "N2"]
        assert r.table(table).filter(r.js("(function(doc) { return doc.id % 10 == 0; })")).count().run(conn) == 5
    finally:
        r.db("test").table_drop(table).run(conn)


def test_time_limit_and_its_message(r, conn):
    fails_with(r.js("while(true) {}", timeout=0.3), conn, "JavaScript query `while(true) {}` timed out after 0.300 seconds.")
    loop = "(function(x) { while(true) {} })"
    fails_with(r.expr([1]).map(r.js(loop, timeout=0.2)), conn, f"JavaScript query `{loop}` timed out after 0.200 seconds.")
    assert r.js("1 + 2", timeout=1.2).run(conn) == 3
    assert r.js("2 + 2").run(conn) == 4  # the pool recovered


def test_js_is_not_deterministic(r, conn):
    table = "jsd_" + uuid.uuid4().hex[:8]
    r.db("test").table_create(table).run(conn)
    try:
        r.table(table).insert({"id": 1}).run(conn)
        with pytest.raises(ReqlQueryLogicError, match="Could not prove argument deterministic"):
            r.table(table).get(1).update({"d": r.js("5")}).run(conn)
        assert r.table(table).get(1).update({"d": r.js("5")}, non_atomic=True).run(conn)["replaced"] == 1
    finally:
        r.db("test").table_drop(table).run(conn)


def test_scripts_cannot_break_the_conversions(r, conn):
    assert r.js("JSON = null; Array = null; Date = null; Object.keys = null; 1").run(conn) == 1
    assert r.js("({a: [1]})").run(conn) == {"a": [1]}


def test_many_connections_run_js_at_once(r, server):
    results: list[int] = []

    def run(i: int) -> None:
        c = r.connect(server.host, server.port)
        try:
            results.append(r.js(f"var s = 0; for (var k = 0; k < 100000; k++) s += 1; s + {i}").run(c))
        finally:
            c.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [100000 + i for i in range(12)]


def test_batched_calls_keep_per_row_errors_and_limits(r, conn):
    # `map` over a stream sends rows to the worker a batch at a time.
    assert r.range(2000).map(r.js("(function(x) { return x + 1; })")).count().run(conn) == 2000
    assert list(r.range(3).map(r.js("(function(x) { return [x, 'a']; })")).run(conn)) == [[0, "a"], [1, "a"], [2, "a"]]
    odd = "(function(x) { return x == 5 ? undefined : x; })"
    fails_with(r.range(10).map(r.js(odd)), conn, "Cannot convert javascript `undefined` to ql::datum_t.")
    stuck = "(function(x) { if (x == 5) { while(true) {} } return x; })"
    fails_with(r.range(10).map(r.js(stuck, timeout=0.25)), conn, f"JavaScript query `{stuck}` timed out after 0.250 seconds.")


def worker_pids(server_pid: int) -> list[int]:
    from pathlib import Path

    pids: list[int] = []
    for children in Path(f"/proc/{server_pid}/task").glob("*/children"):
        pids += [int(p) for p in children.read_text().split()]
    return [p for p in pids if "worker.py" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")]


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="reads /proc")
def test_a_worker_that_died_while_idle_is_replaced(r, fresh_server):
    import os
    import signal

    conn = r.connect(fresh_server.host, fresh_server.port)
    assert r.js("6 * 7").run(conn) == 42
    pids = worker_pids(fresh_server.proc.pid)
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    assert r.js("6 * 7").run(conn) == 42
    assert r.range(100).map(r.js("(function(x) { return x; })")).count().run(conn) == 100
    conn.close()


def test_one_users_scripts_cannot_change_anothers_javascript(r, conn, server):
    """A script may replace globals of its worker; the next user to get that
    worker starts from a fresh context (RethinkDB gives every script one)."""
    names = [f"js_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for name in names:
        r.db("rethinkdb").table("users").insert({"id": name, "password": "pw"}).run(conn)
    mallory, alice = (r.connect(server.host, server.port, user=name, password="pw") for name in names)
    try:
        tamper = "Date = null; Array.prototype.map = function () { return 'tampered'; }; leaked = 42; 1"
        for _ in range(3):  # the idle worker handed out next is the one that ran this last
            assert r.js(tamper).run(mallory) == 1
        assert r.js("typeof Date + ' ' + typeof leaked").run(alice) == "function undefined"
        assert r.js("[1, 2].map(function (x) { return x * 2; })").run(alice) == [2, 4]
    finally:
        mallory.close()
        alice.close()
        for name in names:
            r.db("rethinkdb").table("users").get(name).delete().run(conn)
