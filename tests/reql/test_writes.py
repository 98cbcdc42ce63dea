"""Writes through the official driver: insert (conflicts, generated keys,
return_changes, per-document errors), update, replace, delete, for_each and
sync, with RethinkDB's write summaries and messages, and concurrent writers
that never lose an update."""

from __future__ import annotations

import threading
import uuid

import pytest
from rethinkdb.errors import ReqlOpFailedError, ReqlQueryLogicError, ReqlServerCompileError

ZERO = {"deleted": 0, "errors": 0, "inserted": 0, "replaced": 0, "skipped": 0, "unchanged": 0}


def summary(**counts: int) -> dict:
    return {**ZERO, **counts}


@pytest.fixture
def db(r, conn):
    """A database of its own, dropped afterwards."""
    name = "w_" + uuid.uuid4().hex[:10]
    r.db_create(name).run(conn)
    yield r.db(name)
    r.db_drop(name).run(conn)


@pytest.fixture
def tbl(conn, db):
    """A fresh empty table (primary key ``id``)."""
    db.table_create("t").run(conn)
    return db.table("t")


def fails(query, conn, error: type, message: str, **opts) -> None:
    with pytest.raises(error) as info:
        query.run(conn, **opts)
    assert info.value.message == message


# -- insert -----------------------------------------------------------------------

def test_insert_one_many_and_from_a_stream(r, conn, db, tbl):
    assert tbl.insert({"id": 1, "a": 1}).run(conn) == summary(inserted=1)
    assert tbl.insert([{"id": 2}, {"id": 3}]).run(conn) == summary(inserted=2)
    db.table_create("copy").run(conn)
    copy = db.table("copy")
    assert copy.insert(tbl).run(conn) == summary(inserted=3)
    assert copy.insert(tbl.get(1)).run(conn)["errors"] == 1
    assert sorted(copy["id"].run(conn)) == [1, 2, 3]


def test_generated_keys_are_uuids_in_document_order(r, conn, tbl):
    res = tbl.insert([{"n": 1}, {"id": 5}, {"n": 2}]).run(conn)
    assert res["inserted"] == 3
    keys = res["generated_keys"]
    assert len(keys) == 2 and all(uuid.UUID(k).version == 4 for k in keys)
    assert tbl.get(keys[0])["n"].run(conn) == 1
    assert tbl.get(keys[1])["n"].run(conn) == 2


def test_conflict_error_replace_update(r, conn, tbl):
    tbl.insert({"id": 1, "a": 1, "b": {"c": 1}}).run(conn)
    dup = tbl.insert({"id": 1, "x": 2}).run(conn)
    assert dup == summary(errors=1, first_error='Duplicate primary key `id`:\n{\n\t"a":\t1,\n\t"b":\t{\n\t\t"c":\t1\n\t},\n\t"id":\t1\n}\n{\n\t"id":\t1,\n\t"x":\t2\n}')
    assert tbl.insert({"id": 1, "b": {"d": 2}}, conflict="update").run(conn) == summary(replaced=1)
    assert tbl.get(1).run(conn) == {"id": 1, "a": 1, "b": {"c": 1, "d": 2}}
    assert tbl.insert({"id": 1, "b": {"c": 1, "d": 2}, "a": 1}, conflict="update").run(conn) == summary(unchanged=1)
    assert tbl.insert({"id": 1, "z": 0}, conflict="replace").run(conn) == summary(replaced=1)
    assert tbl.get(1).run(conn) == {"id": 1, "z": 0}
    fails(tbl.insert({"id": 1}, conflict="merge"), conn, ReqlQueryLogicError,
          'Conflict option `merge` unrecognized (options are "error", "replace" and "update").')


def test_conflict_function(r, conn, tbl):
    tbl.insert({"id": 1, "n": 1}).run(conn)
    add = tbl.insert({"id": 1, "n": 5}, conflict=lambda key, old, new: old.merge({"n": old["n"] + new["n"]}))
    assert add.run(conn) == summary(replaced=1)
    assert tbl.get(1)["n"].run(conn) == 6
    res = tbl.insert({"id": 1}, conflict=lambda k, o, n: None, return_changes=True).run(conn)
    assert res == summary(deleted=1, changes=[{"old_val": {"id": 1, "n": 6}, "new_val": None}])
    tbl.insert({"id": 2}).run(conn)
    assert tbl.insert({"id": 2}, conflict=lambda k, o, n: 2).run(conn)["first_error"] == "Inserted value must be an OBJECT (got NUMBER):\n2"
    assert tbl.insert({"id": 2}, conflict=lambda k, o, n: {"id": 3}).run(conn)["first_error"] == (
        'Primary key `id` cannot be changed (`{\n\t"id":\t2\n}` -> `{\n\t"id":\t3\n}`).')
    assert tbl.insert({"id": 2}, conflict=lambda k, o, n: r.error("no")).run(conn)["first_error"] == "no"
    fails(tbl.insert({"id": 2}, conflict=lambda k, o: o), conn, ReqlQueryLogicError,
          "The conflict function passed to `insert` should expect 3 arguments.")
    fails(tbl.insert({"id": 2}, conflict=lambda k, o, n: tbl.get(1)), conn, ReqlQueryLogicError,
          "The conflict function passed to `insert` must be deterministic.")


def test_invalid_documents_are_per_document_errors(r, conn, tbl):
    res = tbl.insert([True, {"id": 1}, {"id": None}, {"id": {"a": 1}}, {"id": "k" * 128}, {"id": "a\x00b"},
                      {"id": 2, "v": r.minval}]).run(conn)
    assert res["inserted"] == 1 and res["errors"] == 6
    assert res["first_error"] == "Expected type OBJECT but found BOOL."
    msgs = [c.get("error") for c in tbl.insert([{"id": None}, {"id": {"a": 1}}, {"id": "k" * 128}, {"id": "a\x00b"},
                                                {"v": r.maxval}], return_changes="always").run(conn)["changes"]]
    assert msgs == [
        "Primary keys must be either a number, string, bool, pseudotype or array (got type NULL):\nnull",
        'Primary keys must be either a number, string, bool, pseudotype or array (got type OBJECT):\n{\n\t"a":\t1\n}',
        f'Primary key too long (max 127 characters): "{"k" * 128}"',
        "String `a` (truncated) contains NULL byte at offset 1.",
        "`r.minval` and `r.maxval` cannot be written to disk.",
    ]
    assert tbl.insert({"id": "k" * 127}).run(conn)["inserted"] == 1
    assert tbl.insert({"id": "é" * 63}).run(conn)["inserted"] == 1  # 126 bytes
    assert tbl.insert({"id": "é" * 64}).run(conn)["errors"] == 1  # 128 bytes


def test_validation_errors_come_first_but_changes_keep_document_order(r, conn, tbl):
    tbl.insert({"id": 1}).run(conn)
    res = tbl.insert([{"id": 1}, {"id": "x" * 200}, {"id": 3}], return_changes="always").run(conn)
    assert res["first_error"].startswith("Primary key too long")
    assert [sorted(c) for c in res["changes"]] == [["error", "new_val", "old_val"]] * 2 + [["new_val", "old_val"]]
    assert res["changes"][0]["error"].startswith("Duplicate primary key")
    assert res["changes"][0]["old_val"] == res["changes"][0]["new_val"] == {"id": 1}
    assert res["changes"][2] == {"old_val": None, "new_val": {"id": 3}}


def test_insert_values_that_are_not_documents(r, conn, tbl):
    fails(tbl.insert(1), conn, ReqlQueryLogicError, "Cannot convert NUMBER to SEQUENCE")
    assert tbl.insert([]).run(conn) == ZERO
    fails(tbl.insert({"id": 1}, durability="medium"), conn, ReqlQueryLogicError,
          'Durability option `medium` unrecognized (options are "hard" and "soft").')
    fails(tbl.insert({"id": 1}, foo=1), conn, ReqlServerCompileError, "Unrecognized optional argument `foo`.")
    assert tbl.count().run(conn) == 0


def test_duplicates_within_one_insert(r, conn, tbl):
    res = tbl.insert([{"id": 7}, {"id": 7.0, "x": 1}], return_changes="always").run(conn)
    assert res["inserted"] == 1 and res["errors"] == 1
    assert res["changes"][1]["old_val"] == {"id": 7}


def test_return_changes_modes_and_the_array_limit(r, conn, tbl):
    res = tbl.insert([{"id": i} for i in range(5)], return_changes=True).run(conn)
    assert [c["new_val"]["id"] for c in res["changes"]] == list(range(5))
    assert tbl.insert({"id": 1}, return_changes=True).run(conn)["changes"] == []
    assert len(tbl.insert({"id": 1}, return_changes="always").run(conn)["changes"]) == 1
    res = tbl.update({"x": 1}, return_changes=True).run(conn, array_limit=3)
    assert res["replaced"] == 5 and len(res["changes"]) == 3
    assert res["warnings"] == ["Too many changes, array truncated to 3."]


def test_durability_from_table_optarg_and_global_optarg(r, conn, db, tbl):
    db.table_create("soft", durability="soft").run(conn)
    soft = db.table("soft")
    assert soft.insert({"id": 1}).run(conn)["inserted"] == 1
    assert soft.insert({"id": 2}, durability="hard").run(conn)["inserted"] == 1
    assert tbl.insert({"id": 1}).run(conn, durability="soft")["inserted"] == 1
    fails(tbl.insert({"id": 2}), conn, ReqlQueryLogicError,
          'Durability option `x` unrecognized (options are "hard" and "soft").', durability="x")


# -- update / replace / delete -------------------------------------------------------

def test_update_objects_functions_literals(r, conn, tbl):
    tbl.insert({"id": 1, "a": {"b": 1, "c": 2}, "n": 1}).run(conn)
    assert tbl.get(1).update({"a": {"b": 5}}).run(conn) == summary(replaced=1)
    assert tbl.get(1)["a"].run(conn) == {"b": 5, "c": 2}
    assert tbl.get(1).update({"a": r.literal({"z": 0})}).run(conn) == summary(replaced=1)
    assert tbl.get(1)["a"].run(conn) == {"z": 0}
    assert tbl.get(1).update({"a": r.literal()}).run(conn) == summary(replaced=1)
    assert tbl.get(1).run(conn) == {"id": 1, "n": 1}
    assert tbl.get(1).update(lambda row: {"n": row["n"] + 1}).run(conn) == summary(replaced=1)
    assert tbl.get(1).update(r.row).run(conn) == summary(unchanged=1)
    assert tbl.get(1).update(lambda row: None).run(conn) == summary(unchanged=1)
    assert tbl.get(2).update({"n": 1}).run(conn) == summary(skipped=1)
    assert tbl.get(1).update(lambda row: 5).run(conn)["first_error"] == "Inserted value must be an OBJECT (got NUMBER):\n5"
    assert tbl.get(1).update({"id": 2}).run(conn)["first_error"] == (
        'Primary key `id` cannot be changed (`{\n\t"id":\t1,\n\t"n":\t2\n}` -> `{\n\t"id":\t2,\n\t"n":\t2\n}`).')
    assert tbl.get(1).update(lambda row: row["missing"]).run(conn)["first_error"] == (
        'No attribute `missing` in object:\n{\n\t"id":\t1,\n\t"n":\t2\n}')


def test_update_of_selections(r, conn, tbl):
    tbl.insert([{"id": i, "g": i % 2} for i in range(10)]).run(conn)
    assert tbl.filter({"g": 0}).update({"even": True}).run(conn) == summary(replaced=5)
    assert tbl.between(0, 3).update(lambda row: {"low": row["id"] < 3}).run(conn) == summary(replaced=3)
    assert tbl.get_all(1, 2, 99).update({"picked": True}).run(conn) == summary(replaced=2)
    assert tbl.order_by("id").limit(2).update({"first": True}).run(conn) == summary(replaced=2)
    assert tbl.update({"g": r.row["g"]}).run(conn) == summary(unchanged=10)
    fails(r.expr([1, 2]).update({"a": 1}), conn, ReqlQueryLogicError, "Expected type SELECTION but found DATUM:\n[\n\t1,\n\t2\n]")


def test_non_atomic_writes_need_the_flag(r, conn, tbl):
    tbl.insert([{"id": 1, "n": 1}, {"id": 2, "n": 2}]).run(conn)
    msg = "Could not prove argument deterministic.  Maybe you want to use the non_atomic flag?"
    fails(tbl.get(1).update({"n": tbl.get(2)["n"]}), conn, ReqlQueryLogicError, msg)
    fails(tbl.get(1).update(lambda row: {"n": tbl.get(2)["n"]}), conn, ReqlQueryLogicError, msg)
    fails(tbl.get(1).replace(tbl.get(2)), conn, ReqlQueryLogicError, msg)
    fails(tbl.replace(r.args([tbl.get(2)])), conn, ReqlQueryLogicError, msg)
    assert tbl.get(1).update({"n": tbl.get(2)["n"]}, non_atomic=True).run(conn) == summary(replaced=1)
    assert tbl.get(1)["n"].run(conn) == 2


def test_replace_inserts_deletes_and_checks_keys(r, conn, tbl):
    assert tbl.get(1).replace({"id": 1, "a": 1}).run(conn) == summary(inserted=1)
    assert tbl.get(1).replace({"id": 1, "a": 1}).run(conn) == summary(unchanged=1)
    assert tbl.get(1).replace(lambda row: row.without("a")).run(conn) == summary(replaced=1)
    assert tbl.get(1).replace({"a": 2}).run(conn)["first_error"] == 'Inserted object must have primary key `id`:\n{\n\t"a":\t2\n}'
    assert tbl.get(5).replace({"id": 6}).run(conn)["first_error"] == 'Primary key `id` cannot be changed (`null` -> `{\n\t"id":\t6\n}`).'
    assert tbl.get(5).replace(None).run(conn) == summary(skipped=1)
    res = tbl.get(1).replace(None, return_changes=True).run(conn)
    assert res == summary(deleted=1, changes=[{"old_val": {"id": 1}, "new_val": None}])


def test_delete(r, conn, tbl):
    tbl.insert([{"id": i} for i in range(10)]).run(conn)
    assert tbl.get(3).delete().run(conn) == summary(deleted=1)
    assert tbl.get(3).delete(return_changes="always").run(conn) == summary(skipped=1, changes=[{"old_val": None, "new_val": None}])
    assert tbl.filter(lambda row: row["id"] > 6).delete().run(conn) == summary(deleted=3)
    assert tbl.delete(durability="soft").run(conn) == summary(deleted=6)
    assert tbl.count().run(conn) == 0
    fails(r.expr([1, 2]).delete(), conn, ReqlQueryLogicError, "Expected type SELECTION but found DATUM:\n[\n\t1,\n\t2\n]")


def test_writes_to_a_big_table_span_storage_batches(r, conn, tbl):
    assert tbl.insert([{"id": i, "v": 0} for i in range(2500)]).run(conn)["inserted"] == 2500
    assert tbl.update({"v": r.row["v"] + 1}).run(conn)["replaced"] == 2500
    assert tbl.filter({"v": 1}).count().run(conn) == 2500
    assert tbl.delete().run(conn)["deleted"] == 2500


def test_concurrent_updates_lose_nothing(r, server, conn, tbl):
    tbl.insert({"id": 1, "n": 0}).run(conn)
    per_thread = 25

    def bump() -> None:
        c = r.connect(host=server.host, port=server.port)
        for _ in range(per_thread):
            tbl.get(1).update({"n": r.row["n"] + 1}).run(c)
        c.close()

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    tbl.update({"m": r.row["n"]}).run(conn)
    for t in threads:
        t.join()
    assert tbl.get(1)["n"].run(conn) == 4 * per_thread


def test_concurrent_full_table_updates_lose_nothing(r, server, conn, tbl):
    tbl.insert([{"id": i, "n": 0} for i in range(1500)]).run(conn)

    def bump_all() -> None:
        c = r.connect(host=server.host, port=server.port)
        for _ in range(2):
            assert tbl.update({"n": r.row["n"] + 1}).run(c)["replaced"] == 1500
        c.close()

    threads = [threading.Thread(target=bump_all) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tbl.filter({"n": 6}).count().run(conn) == 1500


# -- for_each, writes inside other terms, sync ----------------------------------------

def test_for_each_sums_the_summaries(r, conn, tbl):
    res = r.expr([1, 2, 3]).for_each(lambda x: tbl.insert({"id": x})).run(conn)
    assert res == summary(inserted=3)
    res = r.expr([1, 2]).for_each(lambda x: [tbl.get(x).update({"a": 1}), tbl.insert({"id": x})]).run(conn)
    assert res["replaced"] == 2 and res["errors"] == 2 and res["first_error"].startswith("Duplicate primary key `id`")
    res = r.range(3).for_each(tbl.insert({})).run(conn)  # a constant: evaluated once, summed three times
    assert res["inserted"] == 3 and len(res["generated_keys"]) == 3 and len(set(res["generated_keys"])) == 1
    assert r.expr([]).for_each(lambda x: tbl.insert({"id": x})).run(conn) == {}
    fails(r.expr([1]).for_each(lambda x: x), conn, ReqlQueryLogicError,
          "FOR_EACH expects one or more basic write queries.  Expected type ARRAY but found NUMBER.")
    fails(r.expr([1]).for_each(lambda x: tbl), conn, ReqlQueryLogicError, "FOR_EACH expects one or more basic write queries.")


def test_writes_cannot_nest_in_stream_functions(r, conn, tbl):
    msg = "Cannot nest writes or meta ops in stream operations.  Use FOR_EACH instead."
    fails(r.expr([1, 2]).map(lambda x: tbl.insert({"id": x})), conn, ReqlServerCompileError, msg)
    fails(r.expr([1, 2]).filter(lambda x: r.db_create("x")), conn, ReqlServerCompileError, msg)
    fails(tbl.update(lambda row: tbl.insert({})), conn, ReqlServerCompileError, msg)
    assert r.expr(1).do(lambda x: tbl.insert({"id": x})).run(conn)["inserted"] == 1
    assert tbl.insert({"id": 2}, return_changes=True)["changes"].map(lambda c: c["new_val"]["id"]).run(conn) == [2]


def test_sync(r, conn, tbl):
    assert tbl.sync().run(conn) == {"synced": 1}
    fails(r.db("rethinkdb").table("users").sync(), conn, ReqlOpFailedError, "Artificial tables don't support `sync()`.")
