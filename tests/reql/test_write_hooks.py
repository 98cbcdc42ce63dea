"""Write hooks: set_write_hook / get_write_hook, the hook's part in insert,
update, replace and delete (its context, the kinds of change it may not
make, its errors), ignore_write_hook, and hooks kept across a restart and
through rethinkdb dump / restore."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from rethinkdb.errors import ReqlInternalError, ReqlOpFailedError, ReqlQueryLogicError


@pytest.fixture
def db(r, conn):
    name = "wh_" + uuid.uuid4().hex[:10]
    r.db_create(name).run(conn)
    yield r.db(name)
    r.db_drop(name).run(conn)


@pytest.fixture
def tbl(conn, db):
    db.table_create("t").run(conn)
    return db.table("t")


def stamp(context, old, new):
    """A hook that records its context in the document it writes."""
    return new.merge({"ctx": context})


def first_error(query, conn) -> str:
    result = query.run(conn)
    assert result["errors"] == 1, result
    return result["first_error"]


def test_set_and_get_write_hook(r, conn, tbl):
    assert tbl.get_write_hook().run(conn) is None
    assert tbl.set_write_hook(stamp).run(conn) == {"created": 1}
    assert tbl.set_write_hook(lambda c, o, n: n.merge({"x": 1})).run(conn) == {"replaced": 1}
    hook = tbl.get_write_hook().run(conn)
    assert sorted(hook) == ["function", "query"]
    assert hook["query"].startswith("setWriteHook(function(var") and hook["query"].endswith('.merge({"x": 1}); })')
    assert tbl.config()["write_hook"].run(conn) == hook
    # the function binary recreates the hook (rethinkdb restore relies on it)
    assert tbl.set_write_hook(hook["function"]).run(conn) == {"replaced": 1}
    assert tbl.get_write_hook().run(conn) == hook
    assert tbl.set_write_hook(None).run(conn) == {"deleted": 1}
    assert tbl.get_write_hook().run(conn) is None


def test_the_hook_shapes_every_kind_of_write(r, conn, tbl):
    tbl.set_write_hook(stamp).run(conn)
    changes = tbl.insert({"id": 1}, return_changes=True).run(conn)["changes"]
    stored = tbl.get(1).run(conn)
    assert changes[0]["new_val"] == stored
    assert stored["ctx"]["primary_key"] == 1 and "timestamp" in stored["ctx"]
    assert tbl.get(1).update({"a": 1}).run(conn)["replaced"] == 1
    assert tbl.get(1)["a"].run(conn) == 1
    assert tbl.get(1).replace({"id": 1, "b": 2}).run(conn)["replaced"] == 1
    assert sorted(tbl.get(1).run(conn)) == ["b", "ctx", "id"]
    tbl.set_write_hook(lambda c, o, n: r.branch(n.eq(None), None, n.merge({"seen": True}))).run(conn)
    tbl.insert({"id": 2, "q": 1}, conflict="update").run(conn)
    assert tbl.get(2).run(conn) == {"id": 2, "q": 1, "seen": True}
    assert tbl.get(2).delete().run(conn)["deleted"] == 1
    # a hook that keeps the old document leaves it unchanged
    tbl.set_write_hook(lambda c, o, n: o).run(conn)
    assert tbl.get(1).update({"c": 3}).run(conn)["unchanged"] == 1


def test_a_hook_may_not_change_the_kind_of_a_write(r, conn, tbl):
    tbl.insert([{"id": 1}, {"id": 3}]).run(conn)
    tbl.set_write_hook(lambda c, o, n: None).run(conn)
    assert first_error(tbl.insert({"id": 2}), conn) == "A write hook function must not turn a replace/insert into a deletion."
    assert first_error(tbl.get(1).update({"a": 1}), conn) == "A write hook function must not turn a replace/insert into a deletion."
    tbl.set_write_hook(lambda c, o, n: o).run(conn)
    assert first_error(tbl.get(1).delete(), conn) == "A write hook function must not turn a deletion into a replace/insert."
    assert tbl.count().run(conn) == 2


def test_the_hook_runs_for_a_missing_row_too(r, conn, tbl):
    # a write that leaves a missing row missing still asks the hook (old and new are null)
    tbl.set_write_hook(lambda c, o, n: r.branch(n.eq(None), {"id": c["primary_key"]}, n)).run(conn)
    deletion_to_write = "A write hook function must not turn a deletion into a replace/insert."
    assert first_error(tbl.get(9).delete(), conn) == deletion_to_write
    assert first_error(tbl.get(9).update({"a": 1}), conn) == deletion_to_write
    assert first_error(tbl.get(9).replace(None), conn) == deletion_to_write
    tbl.set_write_hook(lambda c, o, n: r.error("boom")).run(conn)
    assert first_error(tbl.get(9).delete(), conn) == "Error in write hook: boom"
    tbl.set_write_hook(lambda c, o, n: n).run(conn)
    assert tbl.get(9).delete().run(conn)["skipped"] == 1
    assert tbl.count().run(conn) == 0


def test_the_hook_result_is_checked_and_its_errors_fail_the_document(r, conn, tbl):
    tbl.insert({"id": 3}).run(conn)
    tbl.set_write_hook(lambda c, o, n: 5).run(conn)
    assert first_error(tbl.insert({"id": 1}), conn) == "Inserted value must be an OBJECT (got NUMBER):\n5"
    tbl.set_write_hook(lambda c, o, n: {"id": 99}).run(conn)
    assert first_error(tbl.insert({"id": 1}), conn) == 'Primary key `id` cannot be changed (null -> {\n\t"id":\t99\n})'
    assert first_error(tbl.get(3).update({"b": 1}), conn) == (
        'Primary key `id` cannot be changed (`{\n\t"id":\t3\n}` -> `{\n\t"id":\t99\n}`).'
    )
    tbl.set_write_hook(lambda c, o, n: r.error("boom")).run(conn)
    assert first_error(tbl.insert({"id": 1}), conn) == "Error in write hook: boom"
    tbl.set_write_hook(stamp).run(conn)
    assert first_error(tbl.get(3).delete(), conn) == (
        "Error in write hook: Cannot perform merge on a non-object non-sequence `null`."
    )


def test_ignore_write_hook_bypasses_it_with_config_permission(r, conn, tbl):
    tbl.set_write_hook(stamp).run(conn)
    tbl.insert({"id": 1}, ignore_write_hook=True).run(conn)
    tbl.get(1).update({"a": 1}, ignore_write_hook=True).run(conn)
    assert tbl.get(1).run(conn) == {"id": 1, "a": 1}
    user = "whu_" + uuid.uuid4().hex[:6]
    r.db("rethinkdb").table("users").insert({"id": user, "password": ""}).run(conn)
    try:
        tbl.grant(user, {"read": True, "write": True}).run(conn)
        as_user = r.connect(conn.host, conn.port, user=user, password="")
        with pytest.raises(ReqlInternalError) as info:
            tbl.insert({"id": 2}, ignore_write_hook=True).run(as_user)
        assert info.value.message == f"Unexpected exception: User `{user}` does not have the required `config` permission."
        assert tbl.insert({"id": 3}).run(as_user)["inserted"] == 1
        as_user.close()
    finally:
        r.db("rethinkdb").table("users").get(user).delete().run(conn)


@pytest.mark.parametrize("hook, error, message", [
    (lambda r: (lambda c, o: o), ReqlQueryLogicError, "Write hook functions must expect 3 arguments."),
    (lambda r: (lambda c, o, n: r.now()), ReqlQueryLogicError,
     "Could not prove function deterministic.  Write hook functions must be deterministic."),
    (lambda r: (lambda c, o, n: r.js("1")), ReqlQueryLogicError,
     "Could not prove function deterministic.  Write hook functions must be deterministic."),
    (lambda r: "foo", ReqlQueryLogicError, 'Expected type FUNCTION but found DATUM:\n"foo"'),
    (lambda r: r.binary(b"abc"), ReqlQueryLogicError,
     "Cannot create a write hook except from a reql_write_hook_function returned from `get_write_hook`."),
])
def test_set_write_hook_refuses_what_rethinkdb_refuses(r, conn, tbl, hook, error, message):
    with pytest.raises(error) as info:
        tbl.set_write_hook(hook(r)).run(conn)
    assert info.value.message == message
    assert tbl.get_write_hook().run(conn) is None


def test_system_tables_have_no_hooks(r, conn):
    jobs = r.db("rethinkdb").table("jobs")
    assert jobs.get_write_hook().run(conn) is None
    with pytest.raises(ReqlOpFailedError) as info:
        jobs.set_write_hook(None).run(conn)
    assert info.value.message == "Database `rethinkdb` is special; you can't set a write hook on the tables in it."


def test_hooks_survive_a_restart(r, fresh_server):
    conn = r.connect(fresh_server.host, fresh_server.port)
    r.db("test").table_create("h").run(conn)
    r.db("test").table("h").set_write_hook(lambda c, o, n: n.merge({"hooked": True})).run(conn)
    query = r.db("test").table("h").get_write_hook()["query"].run(conn)
    conn.close()
    fresh_server.stop()
    fresh_server.start()
    conn = r.connect(fresh_server.host, fresh_server.port)
    assert r.db("test").table("h").get_write_hook()["query"].run(conn) == query
    r.db("test").table("h").insert({"id": 1}).run(conn)
    assert r.db("test").table("h").get(1).run(conn) == {"id": 1, "hooked": True}
    conn.close()


def test_dump_and_restore_keep_the_hook(r, fresh_server, tmp_path):
    tools = Path(sys.executable).parent
    if not (tools / "rethinkdb-dump").exists():
        pytest.skip("rethinkdb-dump is not installed next to the interpreter")
    conn = r.connect(fresh_server.host, fresh_server.port)
    r.db_create("hooked").run(conn)
    table = r.db("hooked").table("t")
    r.db("hooked").table_create("t").run(conn)
    table.insert({"id": 1}).run(conn)
    # rethinkdb-restore recreates hooks with the indexes: it needs one to do it
    table.index_create("a").run(conn)
    table.set_write_hook(lambda c, o, n: n.merge({"hooked": True})).run(conn)
    hook = table.get_write_hook().run(conn)
    address = f"{fresh_server.host}:{fresh_server.port}"
    done = subprocess.run([str(tools / "rethinkdb-dump"), "-c", address, "-e", "hooked", "-f", "h.tar.gz"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    r.db_drop("hooked").run(conn)
    done = subprocess.run([str(tools / "rethinkdb-restore"), "-c", address, "h.tar.gz"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert table.get_write_hook().run(conn) == hook
    assert table.get(1)["id"].run(conn) == 1  # restore writes rows while it recreates the hook: either way
    table.insert({"id": 2}).run(conn)
    assert table.get(2).run(conn) == {"id": 2, "hooked": True}
    conn.close()
