"""Databases, tables and selections through the official driver: r.db,
r.table (read_mode, identifier_format), get, get_all, between, selection
types, db/table administration, wait, and the compile-time checks (arity,
optargs, r.args, nesting) exactly as RethinkDB reports them."""

from __future__ import annotations

import uuid

import pytest
from rethinkdb.errors import (
    ReqlNonExistenceError,
    ReqlOpFailedError,
    ReqlQueryLogicError,
    ReqlServerCompileError,
    ReqlUserError,
)


@pytest.fixture
def db(r, conn):
    name = "tb_" + uuid.uuid4().hex[:10]
    r.db_create(name).run(conn)
    yield name
    r.db_drop(name).run(conn)


@pytest.fixture
def tbl(r, conn, db):
    """Rows {id: 0..19, g: id % 4}."""
    r.db(db).table_create("t").run(conn)
    t = r.db(db).table("t")
    t.insert([{"id": i, "g": i % 4} for i in range(20)]).run(conn)
    return t


def fails(query, conn, error: type, message: str, **opts) -> None:
    with pytest.raises(error) as info:
        query.run(conn, **opts)
    assert info.value.message == message


def ids(query, conn) -> list:
    return sorted(row["id"] for row in query.run(conn))


# -- databases --------------------------------------------------------------------

def test_db_create_list_drop(r, conn):
    name = "tb_" + uuid.uuid4().hex[:10]
    res = r.db_create(name).run(conn)
    assert res["dbs_created"] == 1
    change = res["config_changes"][0]
    assert change["old_val"] is None and change["new_val"]["name"] == name and uuid.UUID(change["new_val"]["id"])
    assert name in r.db_list().run(conn) and "rethinkdb" in r.db_list().run(conn)
    fails(r.db_create(name), conn, ReqlOpFailedError, f"Database `{name}` already exists.")
    r.db(name).table_create("a").run(conn)
    res = r.db_drop(name).run(conn)
    assert res["dbs_dropped"] == 1 and res["tables_dropped"] == 1 and res["config_changes"][0]["new_val"] is None
    fails(r.db_drop(name), conn, ReqlOpFailedError, f"Database `{name}` does not exist.")
    fails(r.db_drop("rethinkdb"), conn, ReqlOpFailedError, "Database `rethinkdb` is special; you can't delete it.")
    fails(r.db_create("rethinkdb"), conn, ReqlOpFailedError, "Database `rethinkdb` already exists.")
    fails(r.db("a b"), conn, ReqlQueryLogicError, "Database name `a b` invalid (Use A-Z, a-z, 0-9, _ and - only).")
    fails(r.db("nope").table("t"), conn, ReqlOpFailedError, "Database `nope` does not exist.")


# -- tables ---------------------------------------------------------------------------

def test_table_create_options(r, conn, db):
    d = r.db(db)
    res = d.table_create("p", primary_key="key", durability="soft").run(conn)
    config = res["config_changes"][0]["new_val"]
    assert res["tables_created"] == 1
    assert (config["name"], config["db"], config["primary_key"], config["durability"]) == ("p", db, "key", "soft")
    assert d.table("p").insert({"key": 1}).run(conn)["inserted"] == 1
    assert d.table("p").insert({"x": 1}).run(conn)["inserted"] == 1  # generated `key`
    assert d.table_create("s", shards=2, replicas=1).run(conn)["tables_created"] == 1
    assert d.table_create("u", replicas={"default": 1}, primary_replica_tag="default").run(conn)["tables_created"] == 1
    assert d.table_create("v", nonvoting_replica_tags=["default"]).run(conn)["tables_created"] == 1
    assert sorted(d.table_list().run(conn)) == ["p", "s", "u", "v"]
    fails(d.table_create("p"), conn, ReqlOpFailedError, f"Table `{db}.p` already exists.")
    fails(d.table_create("x y"), conn, ReqlQueryLogicError, "Table name `x y` invalid (Use A-Z, a-z, 0-9, _ and - only).")
    fails(r.db("rethinkdb").table_create("x"), conn, ReqlOpFailedError,
          "Database `rethinkdb` is special; you can't create new tables in it.")


@pytest.mark.parametrize(
    "opts, error, message",
    [
        ({"durability": "fake"}, ReqlQueryLogicError, 'Durability option `fake` unrecognized (options are "hard" and "soft").'),
        ({"primary_key": 1}, ReqlQueryLogicError, "Expected type STRING but found NUMBER."),
        ({"shards": 0}, ReqlQueryLogicError, "Every table must have at least one shard."),
        ({"shards": 65}, ReqlOpFailedError, "Maximum number of shards is 64."),
        ({"replicas": 2}, ReqlOpFailedError,
         "Can't put 2 replicas on servers with the tag `default` because there are only 1 servers with the tag "
         "`default`. It's impossible to have more replicas of the data than there are servers."),
        ({"replicas": {"default": 1}}, ReqlQueryLogicError, "`primary_replica_tag` must be specified when `replicas` is an OBJECT."),
        ({"replicas": 1, "primary_replica_tag": "default"}, ReqlQueryLogicError,
         "`replicas` must be an OBJECT if `primary_replica_tag` is specified."),
        ({"replicas": {"default": -1}, "primary_replica_tag": "default"}, ReqlQueryLogicError, "Can't have a negative number of replicas"),
        ({"replicas": {"default": 1}, "primary_replica_tag": "foo"}, ReqlOpFailedError,
         "Can't use server tag `foo` for primary replicas because you specified no replicas in server tag `foo`."),
        ({"replicas": {"foo": 0}, "primary_replica_tag": "foo"}, ReqlOpFailedError,
         "You must set `replicas` to at least one. `replicas` includes the primary replica; if there are zero replicas, "
         "there is nowhere to put the data."),
    ],
)
def test_table_create_rejects_bad_options(r, conn, db, opts, error, message):
    fails(r.db(db).table_create("bad", **opts), conn, error, message)
    assert r.db(db).table_list().run(conn) == []


def test_table_drop_list_and_missing_tables(r, conn, db):
    d = r.db(db)
    d.table_create("a").run(conn)
    res = d.table_drop("a").run(conn)
    assert res["tables_dropped"] == 1 and res["config_changes"][0]["old_val"]["name"] == "a"
    assert d.table_list().run(conn) == []
    fails(d.table_drop("a"), conn, ReqlOpFailedError, f"Table `{db}.a` does not exist.")
    fails(d.table("a"), conn, ReqlOpFailedError, f"Table `{db}.a` does not exist.")
    fails(d.table("%"), conn, ReqlQueryLogicError, "Table name `%` invalid (Use A-Z, a-z, 0-9, _ and - only).")
    fails(r.db("rethinkdb").table_drop("jobs"), conn, ReqlOpFailedError, "Database `rethinkdb` is special; you can't drop tables in it.")
    assert "jobs" in r.db("rethinkdb").table_list().run(conn)


def test_table_optargs(r, conn, tbl, db):
    for mode in ("single", "majority", "outdated"):
        assert r.db(db).table("t", read_mode=mode).count().run(conn) == 20
    fails(r.db(db).table("t", read_mode="fake"), conn, ReqlQueryLogicError,
          'Read mode `fake` unrecognized (options are "majority", "single", and "outdated").')
    fails(r.db(db).table("t", read_mode=None), conn, ReqlNonExistenceError, "Expected type STRING but found NULL.")
    fails(r.db(db).table("t", read_mode=True), conn, ReqlQueryLogicError, "Expected type STRING but found BOOL.")
    fails(r.db(db).table("t", identifier_format="id"), conn, ReqlQueryLogicError,
          'Identifier format `id` unrecognized (options are "name" and "uuid").')
    outdated = "The `use_outdated` optarg is no longer supported.  Use the `read_mode` optarg instead."
    fails(r.db(db).table("t", use_outdated=True), conn, ReqlQueryLogicError, outdated)
    fails(r.db(db).table("t"), conn, ReqlQueryLogicError, outdated, use_outdated=True)
    assert r.table("t").count().run(conn, db=db) == 20


# -- get, get_all, between ---------------------------------------------------------------

def test_get(r, conn, tbl):
    assert tbl.get(3).run(conn) == {"id": 3, "g": 3}
    assert tbl.get(3.0).run(conn) == {"id": 3, "g": 3}
    assert tbl.get(300).run(conn) is None
    assert tbl.get(3).type_of().run(conn) == "SELECTION<OBJECT>"
    fails(tbl.get(None), conn, ReqlQueryLogicError,
          "Primary keys must be either a number, string, bool, pseudotype or array (got type NULL):\nnull")
    fails(tbl.get("x" * 128), conn, ReqlQueryLogicError, f'Primary key too long (max 127 characters): "{"x" * 128}"')


def test_get_all(r, conn, tbl, db):
    assert ids(tbl.get_all(1, 2, 2, 300), conn) == [1, 2]
    assert list(tbl.get_all().run(conn)) == []
    assert tbl.get_all(1).type_of().run(conn) == "SELECTION<STREAM>"
    assert ids(tbl.get_all(r.args([0, 1]), 2), conn) == [0, 1, 2]
    assert ids(tbl.get_all(r.args([]), 5, index="id"), conn) == [5]
    fails(tbl.get_all(1, index="nope"), conn, ReqlOpFailedError, f"Index `nope` was not found on table `{db}.t`.")


def test_between(r, conn, tbl):
    assert ids(tbl.between(5, 8), conn) == [5, 6, 7]
    assert ids(tbl.between(5, 8, left_bound="open", right_bound="closed"), conn) == [6, 7, 8]
    assert ids(tbl.between(r.minval, 2), conn) == [0, 1]
    assert ids(tbl.between(18, r.maxval), conn) == [18, 19]
    assert tbl.between(r.maxval, r.minval).count().run(conn) == 0
    assert tbl.between(8, 5).count().run(conn) == 0
    assert tbl.between(5, 5, right_bound="closed").count().run(conn) == 1
    assert tbl.between("a", "z").count().run(conn) == 0
    assert tbl.between(1, 3).type_of().run(conn) == "TABLE_SLICE"
    fails(tbl.between(None, 2), conn, ReqlQueryLogicError,
          "Cannot use `nu" + "ll` in BETWEEN, use `r.minval` or `r.maxval` to denote unboundedness.")
    fails(tbl.between(1, 2, left_bound="half"), conn, ReqlQueryLogicError,
          'Expected `open` or `closed` for optarg `left_bound` (got `"half"`).')
    fails(tbl.between(1, 2).between(1, 2), conn, ReqlQueryLogicError, "Cannot perform multiple BETWEENs on the same table.")
    fails(r.expr([1, 2]).between(1, 2), conn, ReqlQueryLogicError, "Expected type TABLE_SLICE but found DATUM:\n[\n\t1,\n\t2\n]")


def test_selections_are_writable_and_typed(r, conn, tbl):
    assert tbl.type_of().run(conn) == "TABLE"
    assert tbl.filter({"g": 1}).type_of().run(conn) == "SELECTION<STREAM>"
    assert tbl.order_by("id").type_of().run(conn) == "SELECTION<ARRAY>"
    assert tbl.between(0, 4).update({"w": 1}).run(conn)["replaced"] == 4
    assert tbl.get_all(0, 1).delete().run(conn)["deleted"] == 2
    assert tbl.filter({"w": 1}).count().run(conn) == 2


def test_wait(r, conn, tbl, db):
    assert r.db(db).wait().run(conn) == {"ready": 1}
    assert tbl.wait(wait_for="ready_for_writes", timeout=5).run(conn) == {"ready": 1}
    special = "Database `rethinkdb` is special; the system tables in it are always available and don't need to be waited on."
    fails(r.db("rethinkdb").wait(), conn, ReqlOpFailedError, special)


# -- compile-time checks ----------------------------------------------------------------

@pytest.mark.parametrize(
    "build, message",
    [
        (lambda r, t: r.db_list(1), "Expected 0 arguments but found 1."),
        (lambda r, t: t.get(), "Expected 2 arguments but found 1."),
        (lambda r, t: t.get(1, 2), "Expected 2 arguments but found 3."),
        (lambda r, t: t.insert(), "Expected 2 arguments but found 1."),
        (lambda r, t: t.delete(1), "Expected 1 argument but found 2."),
        (lambda r, t: r.db("test").table_drop(1, 2), "Expected between 1 and 2 arguments but found 3."),
        (lambda r, t: t.between(1), "Expected 3 arguments but found 2."),
        (lambda r, t: t.map(), "Expected 2 or more arguments but found 1."),
        (lambda r, t: t.index_rename("a"), "Expected 3 arguments but found 2."),
        (lambda r, t: r.expr([]).insert_at(1), "Expected 3 arguments but found 2."),
        (lambda r, t: t.update({}, foo=1), "Unrecognized optional argument `foo`."),
        (lambda r, t: t.get_all(r.args([1]), foo=1), "Unrecognized optional argument `foo`."),
    ],
)
def test_compile_time_arity_and_optargs(r, conn, tbl, build, message):
    fails(build(r, tbl), conn, ReqlServerCompileError, message)


def test_r_args_is_checked_at_run_time_and_stays_lazy(r, conn):
    assert r.branch(r.args([True, 1]), r.error("a")).run(conn) == 1
    fails(r.branch(r.args([True, 1, r.error("a")])), conn, ReqlUserError, "a")
    fails(r.floor(r.args([1, 2])), conn, ReqlQueryLogicError, "Expected 1 argument but found 2.")
    fails(r.expr([{"x": 1}]).order_by(r.args(["x"])), conn, ReqlQueryLogicError,
          "r.args is not supported in an order_by or union command yet.")


def test_r_row_cannot_nest(r, conn):
    nested = r.expr([[1, 2], [3, 4]])
    assert nested.filter(r.row.filter(lambda y: y >= 4).count() > 0).run(conn) == [[3, 4]]
    fails(nested.filter(lambda x: x.filter(r.row >= 4).count() > 0), conn, ReqlServerCompileError,
          "Cannot use r.row in nested queries.  Use functions instead.")


def test_every_term_class_has_rethinkdb_arity():
    import systables.reql.compiler  # noqa: F401  (importing the compiler registers every term)
    from systables.reql.term import ARITY, TERMS

    for tt, cls in TERMS.items():
        spec = ARITY.get(tt)
        if spec is None:
            continue
        assert (cls.min_args, cls.max_args, cls.opt_names) == (spec[0], spec[1], frozenset(spec[2])), cls.__name__
