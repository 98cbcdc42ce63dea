from __future__ import annotations

from functools import cmp_to_key
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from systables.datum import cmp
from systables.storage import (
    AlreadyExists,
    BadKeyType,
    IndexMeta,
    KeyTooLong,
    NoSuchTable,
    StorageClosed,
    StorageError,
    Storage,
    TableStore,
)

from storage_strategies import scalar_keys, strict_eq


def new_table(store: Storage, name: str = "t", **kw: Any) -> TableStore:
    db = next((d for d in store.dbs.values() if d.name == "test"), None) or store.create_db("test")
    return store.table(store.create_table(db.id, name, **kw).id)


def drain(scan: Any, chunk: int = 3) -> list[Any]:
    out: list[Any] = []
    while rows := scan.next_chunk(chunk):
        out += rows
    return out


def test_crud(store: Storage) -> None:
    t = new_table(store)
    assert t.get(1) is None
    t.apply([(1, {"id": 1, "v": "a"}), ("x", {"id": "x"}), ([1, "a"], {"id": [1, "a"]})])
    assert t.get(1) == {"id": 1, "v": "a"}
    assert t.get(1.0) == {"id": 1, "v": "a"}
    assert t.get([1, "a"]) == {"id": [1, "a"]}
    t.apply([(1, {"id": 1, "v": "b"}), ("x", None), ("missing", None)])
    assert t.get(1) == {"id": 1, "v": "b"}
    assert t.get("x") is None
    assert t.count() == 2


def test_same_key_twice_in_one_batch(store: Storage) -> None:
    t = new_table(store)
    t.apply([(1, {"id": 1, "v": 1}), (1, None), (1, {"id": 1, "v": 3})])
    assert t.get(1) == {"id": 1, "v": 3}
    assert t.count() == 1


def test_bad_keys_write_nothing(store: Storage) -> None:
    t = new_table(store)
    with pytest.raises(BadKeyType):
        t.apply([(1, {"id": 1}), (None, {"id": None})])
    with pytest.raises(KeyTooLong):
        t.apply([(1, {"id": 1}), ("k" * 200, {})])
    with pytest.raises(BadKeyType):
        t.get({"a": 1})
    assert t.count() == 0 and t.get(1) is None


def test_tables_are_isolated(store: Storage) -> None:
    a, b = new_table(store, "a"), new_table(store, "b")
    a.apply([(i, {"id": i}) for i in range(5)])
    b.apply([(i, {"id": i, "b": True}) for i in range(3)])
    assert len(drain(a.scan())) == 5 and len(drain(b.scan())) == 3
    assert drain(b.scan(reverse=True))[0] == {"id": 2, "b": True}


pk_sets = st.lists(scalar_keys | st.lists(scalar_keys, max_size=2), min_size=0, max_size=25)
bounds = st.none() | scalar_keys


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pk_sets, bounds, bounds, st.booleans(), st.booleans(), st.booleans())
def test_scan_bounds_match_model(
    store: Storage, pks: list[Any], lo: Any, hi: Any, lo_open: bool, hi_open: bool, reverse: bool
) -> None:
    t = new_table(store, f"t{len(store.tables)}")
    docs = {}
    for pk in pks:
        try:
            t.apply([(pk, {"id": pk})])
        except KeyTooLong:
            continue
        docs[repr(pk)] = pk  # repr keeps True and 1 apart
    model = sorted(_dedupe(docs.values()), key=cmp_to_key(cmp), reverse=reverse)

    def inside(k: Any) -> bool:
        if lo is not None and (cmp(k, lo) <= 0 if lo_open else cmp(k, lo) < 0):
            return False
        return hi is None or (cmp(k, hi) < 0 if hi_open else cmp(k, hi) <= 0)

    expected = [k for k in model if inside(k)]
    got = [d["id"] for d in drain(t.scan(lo, hi, lo_open, hi_open, reverse), chunk=4)]
    assert len(got) == len(expected) and all(strict_eq(a, b) or cmp(a, b) == 0 for a, b in zip(got, expected))
    counter = t.count_keys(lo, hi, lo_open, hi_open)
    while counter.next_chunk(3):
        pass
    assert counter.total == len(expected) and counter.done


def _dedupe(keys: Any) -> list[Any]:
    """Keys equal under the encoding (1 == 1.0) are one document."""
    from systables.storage.keys import encode_key

    return list({encode_key(k): k for k in keys}.values())


def test_scan_is_a_snapshot(store: Storage) -> None:
    t = new_table(store)
    t.apply([(i, {"id": i}) for i in range(10)])
    scan = t.scan()
    first = scan.next_chunk(3)
    t.apply([(5, None), (100, {"id": 100}), (4, {"id": 4, "new": True})])
    rest = drain(scan)
    assert [d["id"] for d in first + rest] == list(range(10))
    assert all("new" not in d for d in rest)


def test_catalog_operations_and_restart(tmp_path: Any) -> None:
    store = Storage.open(tmp_path / "db")
    server_id = store.server_id
    db = store.create_db("app")
    with pytest.raises(AlreadyExists):
        store.create_db("app")
    meta = store.create_table(db.id, "users", primary_key="name", durability="soft")
    t = store.table(meta.id)
    t.apply([("ann", {"name": "ann", "age": 3})])
    t.create_index(IndexMeta("age", b"serialized"), lambda d: [d["age"]])
    t.set_index_progress("age", 0.5)
    other = store.create_db("other")
    meta.name, meta.db_id, meta.write_acks = "people", other.id, "single"
    store.update_table_meta(meta)
    store.rename_db(db.id, "app2")
    store.put_meta("cluster/heartbeat", {"secs": 10})
    store.put_meta("users/admin", {"pw": b"\x01"})
    store.put_meta("users/bob", True)
    store.delete_meta("users/bob")
    store.close()
    with pytest.raises(StorageClosed):
        t.get("ann")

    store = Storage.open(tmp_path / "db")
    assert store.server_id == server_id
    assert {d.name for d in store.dbs.values()} == {"app2", "other"}
    meta2 = store.tables[meta.id]
    assert (meta2.name, meta2.db_id, meta2.primary_key, meta2.durability, meta2.write_acks) == (
        "people", other.id, "name", "soft", "single")
    ix = meta2.indexes["age"]
    assert (ix.function, ix.ready, ix.progress) == (b"serialized", False, 0.5)
    t = store.table(meta.id)
    assert t.get("ann") == {"name": "ann", "age": 3} and t.count() == 1
    assert store.get_meta("cluster/heartbeat") == {"secs": 10}
    assert list(store.iter_meta("users/")) == [("users/admin", {"pw": b"\x01"})]
    assert store.get_meta("users/bob") is None
    store.close()
    with pytest.raises(StorageError):
        Storage.open(tmp_path / "db", server_id="someone-else")


def test_drop_table_and_db(tmp_path: Any) -> None:
    store = Storage.open(tmp_path / "db")
    a = new_table(store, "a")
    a.create_index(IndexMeta("v", b""), lambda d: [d["v"]])
    a.apply([(i, {"id": i, "v": i}) for i in range(100)])
    b = new_table(store, "b")
    b.apply([(1, {"id": 1})])
    store.drop_table(a.meta.id)
    with pytest.raises(NoSuchTable):
        a.get(1)
    with pytest.raises(NoSuchTable):
        store.table(a.meta.id)
    c = new_table(store, "a")  # same name again: a fresh, empty table
    assert c.get(1) is None and drain(c.scan()) == [] and c.count() == 0
    other = store.create_db("other")
    d = store.table(store.create_table(other.id, "d").id)
    d.apply([(1, {"id": 1})])
    dropped = store.drop_db(other.id)
    assert [m.name for m in dropped] == ["d"]
    store.close()
    store = Storage.open(tmp_path / "db")
    assert sorted(m.name for m in store.tables.values()) == ["a", "b"]
    assert store.table(b.meta.id).get(1) == {"id": 1}
    assert store.table(c.meta.id).count() == 0
    raw_keys = list(store._data.keys())
    kept = {ks.to_bytes(4, "big") for ks in (b.meta.keyspace, b.meta.log_keyspace)}  # b's rows and change log
    assert raw_keys and all(k[:4] in kept for k in raw_keys)
    store.close()


async def test_group_commit_shares_fsyncs(store: Storage) -> None:
    t = new_table(store)
    acked = 0

    async def writer(i: int) -> None:
        nonlocal acked
        t.apply([(i, {"id": i})])
        await t.commit("hard")
        acked += 1

    async with trio.open_nursery() as nursery:
        for i in range(200):
            nursery.start_soon(writer, i)
    assert acked == 200
    assert 1 <= store.fsync_count < 20
    before = store.fsync_count
    await t.commit("soft")
    await t.commit("hard")  # nothing new written: no fsync
    assert store.fsync_count == before


async def test_run_syncs_soft_writes(store: Storage) -> None:
    t = new_table(store)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        t.apply([(1, {"id": 1})])
        with trio.fail_after(5):
            while store._commit.unsynced:
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()


def test_count_large_chunks(store: Storage) -> None:
    t = new_table(store)
    t.apply([(i, {"id": i, "pad": "x" * 50}) for i in range(5000)])
    counter = t.count_keys()
    chunks = []
    while n := counter.next_chunk(1000):
        chunks.append(n)
    assert chunks == [1000] * 5 and counter.total == 5000 == t.count()
    counter = t.count_keys(100, 200, hi_open=False)
    counter.next_chunk()
    assert counter.total == 101


def test_close_releases_open_scans(tmp_path: Any) -> None:
    store = Storage.open(tmp_path / "db")
    t = new_table(store)
    t.apply([(i, {"id": i}) for i in range(10)])
    t.create_index(IndexMeta("id2", b""), lambda d: [d["id"]])
    scan, iscan, counter = t.scan(), t.index_scan("id2"), t.count_keys()
    scan.next_chunk(1)
    stream = t.stream_range(chunk_rows=2)
    next(stream)
    store.close()
    Storage.open(tmp_path / "db").close()  # would fail on RocksDB's lock if anything leaked
    assert scan.next_chunk() == [] and iscan.next_chunk() == [] and counter.next_chunk() == 0


async def test_metadata_changes_are_synced_before_they_are_answered(store: Storage) -> None:
    # The pipeline awaits sync_metadata before answering any query: catalog,
    # user and grant changes are hard-durable; document writes keep their own.
    await store.sync_metadata()
    before = store.fsync_count
    t = new_table(store)
    await store.sync_metadata()
    assert store.fsync_count == before + 1
    store.put_meta("user:bob", {"password": "x"})
    await store.sync_metadata()
    assert store.fsync_count == before + 2
    t.apply([(1, {"id": 1})])  # a soft document write: no fsync for it
    await store.sync_metadata()
    assert store.fsync_count == before + 2
    store.delete_meta("user:bob")
    await store.sync_metadata()
    await store.sync_metadata()  # nothing new: no fsync
    assert store.fsync_count == before + 3
