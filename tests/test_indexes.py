"""Secondary indexes through the official driver: the admin terms' results
and errors, the queries that use an index, and index values as RethinkDB
computes them (multi, compound, null/object skipped, long values)."""

from __future__ import annotations

import uuid

import pytest
from rethinkdb.errors import ReqlOpFailedError, ReqlPermissionError, ReqlQueryLogicError

PREFIX = b"$reql_index_function$"


@pytest.fixture
def tbl(r, conn):
    name = "ix_" + uuid.uuid4().hex[:10]
    r.db("test").table_create(name).run(conn)
    table = r.db("test").table(name)
    table.conn = conn
    yield table
    r.db("test").table_drop(name).run(conn)


def qualified(tbl) -> str:
    """``db.table`` as error messages name it."""
    return "test." + tbl.info()["name"].run(tbl.conn)


def test_create_wait_status_and_list_have_rethinkdb_shapes(r, conn, tbl):
    assert tbl.index_create("b").run(conn) == {"created": 1}
    assert tbl.index_create("a", lambda row: row["x"] * 2, multi=True).run(conn) == {"created": 1}
    assert tbl.index_list().run(conn) == ["a", "b"]
    statuses = tbl.index_wait().run(conn)
    assert [s["index"] for s in statuses] == ["a", "b"]
    b = statuses[1]
    assert set(b) == {"index", "ready", "function", "multi", "geo", "outdated", "query"}  # no progress once ready
    assert b["ready"] is True and b["multi"] is False and b["geo"] is False and b["outdated"] is False
    assert b["query"] == 'indexCreate(\'b\', function(_var19) { return _var19.getField("b"); })'
    assert bytes(b["function"]).startswith(PREFIX)
    a = tbl.index_status("a").run(conn)[0]
    assert a["multi"] is True and a["query"].endswith(", {multi: true})")
    assert tbl.index_status("b", "a").count().run(conn) == 2


def test_admin_errors_match_rethinkdb(r, conn, tbl):
    name = qualified(tbl)
    tbl.index_create("x").run(conn)
    with pytest.raises(ReqlOpFailedError, match=f"Index `x` already exists on table `{name}`"):
        tbl.index_create("x").run(conn)
    with pytest.raises(ReqlOpFailedError, match=f"Index `nope` does not exist on table `{name}`"):
        tbl.index_drop("nope").run(conn)
    for query in (tbl.index_status("nope"), tbl.index_wait("x", "nope")):
        with pytest.raises(ReqlOpFailedError, match=f"Index `nope` was not found on table `{name}`"):
            query.run(conn)
    with pytest.raises(ReqlQueryLogicError, match="Index name conflict: `id` is the name of the primary key"):
        tbl.index_create("id").run(conn)
    deterministic = "Could not prove function deterministic.  Index functions must be deterministic"
    for fn in (lambda row: r.js("1"), lambda row: tbl.get(0), lambda row: r.now()):
        with pytest.raises(ReqlQueryLogicError, match=deterministic):
            tbl.index_create("bad", fn).run(conn)
    with pytest.raises(ReqlQueryLogicError, match="Cannot create an sindex except from a reql_index_function"):
        tbl.index_create("bad", r.binary(b"not an index function")).run(conn)
    with pytest.raises(ReqlQueryLogicError, match="could not be interpreted as a reql_index_function"):
        tbl.index_create("bad", r.binary(PREFIX + b"garbage")).run(conn)
    assert tbl.index_list().run(conn) == ["x"]


def test_system_tables_have_no_indexes(r, conn):
    jobs = r.db("rethinkdb").table("jobs")
    special = "Database `rethinkdb` is special; you can't create secondary indexes on the tables in it"
    with pytest.raises(ReqlOpFailedError, match=special):
        jobs.index_create("x").run(conn)
    assert jobs.index_list().run(conn) == [] and jobs.index_status().run(conn) == []
    with pytest.raises(ReqlOpFailedError, match="Index `x` does not exist on table `rethinkdb.jobs`"):
        jobs.index_drop("x").run(conn)
    with pytest.raises(ReqlOpFailedError, match="Index `x` was not found on table `rethinkdb.jobs`"):
        jobs.index_wait("x").run(conn)
    # As RethinkDB 2.4.4 answers: the first missing name in name order, and a
    # rename names the old index alone.
    with pytest.raises(ReqlOpFailedError, match="^Index `a` was not found on table `rethinkdb.jobs` in:"):
        jobs.index_status("b", "a").run(conn)
    with pytest.raises(ReqlOpFailedError, match="^Index `b` does not exist on table `rethinkdb.jobs`"):
        jobs.index_rename("b", "c").run(conn)


def test_rename_with_and_without_overwrite(r, conn, tbl):
    name = qualified(tbl)
    tbl.insert([{"id": 1, "a": 10, "b": 20}]).run(conn)
    tbl.index_create("a").run(conn)
    tbl.index_create("b").run(conn)
    tbl.index_wait().run(conn)
    assert tbl.index_rename("a", "a").run(conn) == {"renamed": 0}
    # without overwrite RethinkDB checks both names at once and names both
    with pytest.raises(ReqlOpFailedError, match=f"Index `a` does not exist or index `b` already exists on table `{name}`"):
        tbl.index_rename("a", "b").run(conn)
    with pytest.raises(ReqlOpFailedError, match=f"Index `zz` does not exist or index `c` already exists on table `{name}`"):
        tbl.index_rename("zz", "c").run(conn)
    with pytest.raises(ReqlOpFailedError, match=f"Index `zz` does not exist on table `{name}`"):
        tbl.index_rename("zz", "c", overwrite=True).run(conn)
    with pytest.raises(ReqlQueryLogicError, match="Index name conflict: `id` is the name of the primary key"):
        tbl.index_rename("a", "id").run(conn)
    assert tbl.index_rename("a", "c").run(conn) == {"renamed": 1}
    assert tbl.get_all(10, index="c")["id"].coerce_to("array").run(conn) == [1]
    assert tbl.index_rename("c", "b", overwrite=True).run(conn) == {"renamed": 1}
    assert tbl.index_list().run(conn) == ["b"]
    assert tbl.get_all(10, index="b")["id"].coerce_to("array").run(conn) == [1]  # a's function now
    with pytest.raises(ReqlOpFailedError, match=f"Index `c` was not found on table `{name}`"):
        tbl.get_all(10, index="c").run(conn)


def test_queries_use_indexes(r, conn, tbl):
    tbl.insert([{"id": i, "x": i % 10, "name": f"n{i:03d}", "tags": [i % 2, i % 3]} for i in range(100)]).run(conn)
    tbl.index_create("x").run(conn)
    tbl.index_create("tags", multi=True).run(conn)
    tbl.index_create("xname", lambda row: [row["x"], row["name"]]).run(conn)
    tbl.index_wait().run(conn)
    ids = lambda q: sorted(q["id"].coerce_to("array").run(conn))  # noqa: E731
    assert ids(tbl.get_all(3, 4, 3, index="x")) == sorted(i for i in range(100) if i % 10 in (3, 4))
    assert ids(tbl.get_all(2, index="tags")) == [i for i in range(100) if i % 3 == 2]
    assert tbl.get_all(0, index="tags").count().run(conn) == len({i for i in range(100) if i % 2 == 0 or i % 3 == 0}) + 17
    assert ids(tbl.between(2, 4, index="x")) == [i for i in range(100) if i % 10 in (2, 3)]
    assert ids(tbl.between(2, 4, index="x", left_bound="open", right_bound="closed")) == [
        i for i in range(100) if i % 10 in (3, 4)
    ]
    ordered = tbl.order_by(index=r.desc("x")).limit(12)["x"].coerce_to("array").run(conn)
    assert ordered == [9] * 10 + [8] * 2
    asc = list(tbl.order_by(index="xname").run(conn))
    assert [(d["x"], d["name"]) for d in asc] == sorted((d["x"], d["name"]) for d in asc)
    assert ids(tbl.between([5, r.minval], [5, r.maxval], index="xname")) == [i for i in range(100) if i % 10 == 5]
    assert tbl.min(index="x")["x"].run(conn) == 0 and tbl.max(index="xname")["name"].run(conn) == "n099"
    joined = r.expr([{"k": 7}, {"k": 42}]).eq_join("k", tbl, index="x").count().run(conn)
    assert joined == 10


def test_writes_keep_indexes_exact(r, conn, tbl):
    tbl.index_create("v").run(conn)
    tbl.index_wait().run(conn)
    tbl.insert([{"id": 1, "v": "a"}, {"id": 2, "v": "b"}, {"id": 3, "v": "a"}]).run(conn)
    tbl.get(1).update({"v": "c"}).run(conn)
    tbl.get(2).delete().run(conn)
    tbl.get(3).replace({"id": 3}).run(conn)
    tbl.insert({"id": 4, "v": "a"}).run(conn)
    values = [(d["v"], d["id"]) for d in tbl.order_by(index="v").run(conn)]
    assert values == [("a", 4), ("c", 1)]


def test_values_rethinkdb_cannot_index_are_skipped(r, conn, tbl):
    tbl.insert([
        {"id": 1, "v": None}, {"id": 2, "v": {"an": "object"}}, {"id": 3}, {"id": 4, "v": [1, None]},
        {"id": 5, "v": [{"an": "object"}]}, {"id": 6, "v": 0},
        {"id": 7, "v": [1, [2, "x"], r.epoch_time(5), r.binary(b"\x00")]}, {"id": 8, "v": "a\x00b"},
    ]).run(conn)
    tbl.index_create("v").run(conn)
    tbl.index_create("multi_v", lambda row: row["v"], multi=True).run(conn)
    tbl.index_create("minval", lambda row: r.minval).run(conn)
    tbl.index_create("errors", lambda row: row["v"] + 1).run(conn)
    tbl.index_wait().run(conn)
    indexed = sorted(tbl.between(r.minval, r.maxval, index="v")["id"].coerce_to("array").run(conn))
    assert indexed == [6, 7, 8]  # arrays holding null or objects cannot be keys either
    multi = tbl.between(r.minval, r.maxval, index="multi_v")["id"].coerce_to("array").run(conn)
    assert sorted(multi) == [4, 6, 7, 7, 7, 7, 8]  # each element that can be a key is indexed
    assert tbl.get_all("a\x00b", index="v")["id"].coerce_to("array").run(conn) == [8]
    assert tbl.order_by(index="minval").count().run(conn) == 0
    assert tbl.get_all(1, index="errors")["id"].coerce_to("array").run(conn) == [6]


def test_long_values_are_truncated_in_keys_but_exact_in_queries(r, conn, tbl):
    base = "k" * 300
    docs = [{"id": i, "v": base + str(9 - i)} for i in range(10)] + [{"id": 10, "v": [base, 2]}, {"id": 11, "v": [base, 1]}]
    tbl.insert(docs).run(conn)
    tbl.index_create("v").run(conn)
    tbl.index_wait().run(conn)
    ordered = tbl.order_by(index="v")["id"].coerce_to("array").run(conn)
    assert ordered == [11, 10] + list(range(9, -1, -1))
    assert tbl.get_all(base + "3", index="v")["id"].coerce_to("array").run(conn) == [6]
    assert tbl.between(base + "2", base + "5", index="v").count().run(conn) == 3


def test_binary_from_index_status_recreates_the_index(r, conn, tbl):
    tbl.insert([{"id": i, "tags": [f"t{i % 3}", "all"]} for i in range(9)]).run(conn)
    tbl.index_create("t", lambda row: row["tags"].map(lambda t: t.upcase()), multi=True).run(conn)
    original = tbl.index_wait("t").run(conn)[0]
    assert tbl.index_create("copy", original["function"]).run(conn) == {"created": 1}
    copy = tbl.index_wait("copy").run(conn)[0]
    assert copy["multi"] is True and copy["function"] == original["function"]
    assert copy["query"] == original["query"].replace("indexCreate('t'", "indexCreate('copy'")
    assert tbl.get_all("T1", index="copy").count().run(conn) == 3
    assert tbl.get_all("ALL", index="copy").count().run(conn) == 9
    tbl.index_create("single", original["function"], multi=False).run(conn)  # optargs override the flags
    assert tbl.index_wait("single").run(conn)[0]["multi"] is False


def test_index_functions_run_in_a_pristine_context(r, conn, tbl):
    tbl.index_create("big", lambda row: r.range(row["n"]).count()).run(conn)
    tbl.index_wait().run(conn)
    tbl.insert({"id": 1, "n": 5000}).run(conn, array_limit=10)
    assert tbl.get_all(5000, index="big").count().run(conn) == 1


def test_index_changes_need_the_config_permission(r, conn, server, tbl):
    user = "ix_user_" + uuid.uuid4().hex[:6]
    r.db("rethinkdb").table("users").insert({"id": user, "password": False}).run(conn)
    tbl.grant(user, {"read": True, "write": True}).run(conn)
    other = r.connect(host=server.host, port=server.port, user=user, password="")
    try:
        tbl.index_create("x").run(conn)
        assert tbl.index_list().run(other) == ["x"]
        for query in (tbl.index_create("y"), tbl.index_drop("x"), tbl.index_rename("x", "z")):
            with pytest.raises(ReqlPermissionError, match=f"User `{user}` does not have the required `config` permission"):
                query.run(other)
        tbl.grant(user, {"config": True}).run(conn)
        assert tbl.index_rename("x", "z").run(other) == {"renamed": 1}
    finally:
        other.close()
        r.db("rethinkdb").table("users").get(user).delete().run(conn)


def test_ordered_index_reads_are_lazy(r, conn, server, tbl):
    tbl.insert([{"id": i, "x": i % 1000} for i in range(20_000)], durability="soft").run(conn)
    tbl.index_create("x").run(conn)
    tbl.index_wait().run(conn)
    stats = r.db("rethinkdb").table("stats").get(["server", server.server_id])["query_engine"]["read_docs_total"]
    before = stats.run(conn)
    top = tbl.order_by(index=r.desc("x")).limit(3)["x"].coerce_to("array").run(conn)
    bottom = tbl.between(r.minval, r.maxval, index="x").order_by(index="x").nth(0)["x"].run(conn)
    assert top == [999, 999, 999] and bottom == 0
    assert stats.run(conn) - before < 100  # a few small chunks, not the 20,000 rows
