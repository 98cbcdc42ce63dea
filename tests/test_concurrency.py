"""The concurrency contract, seen from clients: a long in-memory query is
visible in ``rethinkdb.jobs`` while it runs and dies when its row is deleted;
a killed write leaves nothing behind; concurrent writers on the same
documents never lose an update (each document's read-modify-write is atomic
however long computing the new value takes)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rethinkdb.errors import ReqlOpIndeterminateError

from helpers import Victim, fresh_table, poll, query_jobs_of

KILLED = "Query terminated by the `rethinkdb.jobs` table."


def ten_maps_over_an_array(r):  # type: ignore[no-untyped-def]
    """About a second of pure in-memory work (it never reads a table)."""
    a = r.range(100_000).coerce_to("array")
    for _ in range(10):
        a = a.map(lambda x: x.add(1))
    return a.count()


def kill(r, conn, victim: Victim) -> dict:  # type: ignore[no-untyped-def]
    [row] = poll(lambda: query_jobs_of(r, conn, victim.port), lambda rows: len(rows) == 1)
    return r.db("rethinkdb").table("jobs").get(row["id"]).delete().run(conn)


def test_a_long_in_memory_query_is_a_job_while_it_runs_and_its_kill_lands(r, conn, server):
    victim = Victim(r, server, ten_maps_over_an_array(r))
    victim.start()
    try:
        assert kill(r, conn, victim)["deleted"] == 1
        victim.join(10)
        assert isinstance(victim.error, ReqlOpIndeterminateError) and victim.error.message == KILLED
        assert query_jobs_of(r, conn, victim.port) == []
    finally:
        victim.close()


def test_a_killed_user_creation_creates_no_user(r, conn, server):
    """PBKDF2 runs in a worker thread: the kill abandons it before the user is stored."""
    users = r.db("rethinkdb").table("users")
    name = "u" + uuid.uuid4().hex[:8]
    slow = {"password": "x", "iterations": 3_000_000}
    victim = Victim(r, server, users.insert({"id": name, "password": slow}))
    victim.start()
    try:
        assert kill(r, conn, victim)["deleted"] == 1
        victim.join(10)
        assert isinstance(victim.error, ReqlOpIndeterminateError) and victim.error.message == KILLED
        assert users.get(name).run(conn) is None
        # Another user costing the same PBKDF2: once it exists, the abandoned
        # computation has had as long, and it still stored nothing.
        other = name + "b"
        assert users.insert({"id": other, "password": slow}).run(conn)["inserted"] == 1
        assert users.get(name).run(conn) is None
        users.get(other).delete().run(conn)
    finally:
        victim.close()


def test_no_module_uses_trio_private_apis():
    root = Path(__file__).resolve().parent.parent / "systables"
    offenders = [str(p) for p in root.rglob("*.py") if "trio._" in p.read_text()]
    assert offenders == []


# -- concurrent writers against a serial model -------------------------------------

KEYS = 4
SLOW_STEPS = 3_000  # a fold this long makes the new value take several time slices


def slow(r, value):  # type: ignore[no-untyped-def]
    """``value``, computed slowly (deterministically: allowed in atomic writes)."""
    return r.range(SLOW_STEPS).fold(0, lambda acc, _: acc).add(value)


def write(r, table, kind: str, keys: list[int], inc: int):  # type: ignore[no-untyped-def]
    if kind == "update":
        return table.get_all(*keys).update(lambda row: {"n": row["n"].add(slow(r, inc))})
    if kind == "replace":
        return table.get_all(*keys).replace(lambda row: row.merge({"n": row["n"].add(slow(r, inc))}))
    return table.insert(
        [{"id": k, "n": inc} for k in keys],
        conflict=lambda _id, old, new: old.merge({"n": old["n"].add(slow(r, new["n"]))}),
    )


ops = st.tuples(
    st.sampled_from(["update", "replace", "insert"]),
    st.lists(st.integers(0, KEYS - 1), min_size=1, max_size=KEYS, unique=True),
    st.integers(1, 9),
)
plans = st.lists(st.lists(ops, min_size=1, max_size=4), min_size=2, max_size=3)


@pytest.mark.slow
@settings(max_examples=12)
@given(plans)
def test_concurrent_writers_on_the_same_documents_match_a_serial_run(server, plans: list) -> None:
    from rethinkdb import r

    conn = r.connect(server.host, server.port)
    try:
        with fresh_table(r, conn, "cw") as table:
            table.insert([{"id": k, "n": 0} for k in range(KEYS)]).run(conn)
            errors: list[BaseException] = []

            def writer(plan: list) -> None:
                c = r.connect(server.host, server.port)
                try:
                    for kind, keys, inc in plan:
                        result = write(r, table, kind, keys, inc).run(c)
                        assert result["errors"] == 0, result
                except BaseException as e:  # noqa: BLE001 - reported below
                    errors.append(e)
                finally:
                    c.close()

            threads = [threading.Thread(target=writer, args=(plan,)) for plan in plans]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            expected = {k: 0 for k in range(KEYS)}
            for plan in plans:
                for _, keys, inc in plan:
                    for k in keys:
                        expected[k] += inc
            assert {doc["id"]: doc["n"] for doc in table.run(conn)} == expected
    finally:
        conn.close()
