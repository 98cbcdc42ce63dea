from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from systables.datum import cmp
from systables.storage import IndexFunctionMissing, IndexMeta, NoSuchIndex, Storage, TableStore
from systables.storage.keys import encode_key

from storage_strategies import strict_eq

T0 = {"$reql_type$": "TIME", "epoch_time": 5, "timezone": "+00:00"}
T1 = {"$reql_type$": "TIME", "epoch_time": 5, "timezone": "-07:00"}
LONG_A = "a" * 300
index_values = st.one_of(
    st.integers(-3, 3),
    st.sampled_from(["x", "y", LONG_A, LONG_A + "b", LONG_A + "c", "a" * 299, T0, T1, [1, T1], b"\x00"]),
    st.lists(st.integers(0, 2), max_size=2),
)
docs = st.fixed_dictionaries(
    {"v": index_values},
    optional={"tags": st.lists(index_values, max_size=4)},
)
ops = st.lists(st.tuples(st.integers(0, 12), st.none() | docs), min_size=1, max_size=40)


def by_v(doc: dict) -> list[Any]:
    return [doc["v"]]


def by_tags(doc: dict) -> list[Any]:
    return list(doc.get("tags", []))


FUNCTIONS = {"v": by_v, "tags": by_tags}


def make_table(store: Storage) -> TableStore:
    db = store.create_db(f"db{len(store.dbs)}")
    t = store.table(store.create_table(db.id, "t").id)
    for name, fn in FUNCTIONS.items():
        t.create_index(IndexMeta(name, name.encode(), multi=name == "tags"), fn)
    return t


def expected_entries(t: TableStore, name: str) -> list[tuple[Any, Any]]:
    rows = []
    scan = t.scan()
    while chunk := scan.next_chunk(7):
        for doc in chunk:
            rows += [(value, doc["id"]) for value in FUNCTIONS[name](doc)]
    return sorted(rows, key=lambda r: (encode_key(r[0]), encode_key(r[1])))  # stable: duplicate order kept


def scanned_entries(t: TableStore, name: str, **bounds: Any) -> list[tuple[Any, Any]]:
    scan = t.index_scan(name, **bounds)
    rows = []
    while chunk := scan.next_chunk(5):
        rows += [(value, doc["id"]) for value, doc in chunk]
    return rows


def same_entries(a: list[tuple[Any, Any]], b: list[tuple[Any, Any]]) -> bool:
    return len(a) == len(b) and all(strict_eq(x, y) for x, y in zip(a, b))


def raw_entry_count(store: Storage, t: TableStore, name: str) -> int:
    prefix = t.meta.indexes[name].keyspace.to_bytes(4, "big")
    return sum(1 for k in store._data.keys(from_key=prefix) if k.startswith(prefix))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(ops, min_size=1, max_size=3))
def test_index_entries_follow_random_writes(store: Storage, batches: list[list[tuple[int, Any]]]) -> None:
    t = make_table(store)
    for batch in batches:
        t.apply([(pk, None if doc is None else {"id": pk, **doc}) for pk, doc in batch])
    for name in FUNCTIONS:
        expected = expected_entries(t, name)
        assert same_entries(scanned_entries(t, name), expected)
        assert raw_entry_count(store, t, name) == len(expected)  # no stale entries left behind
        reverse = scanned_entries(t, name, reverse=True)
        assert [strict_eq(a[0], b[0]) for a, b in zip(reverse, expected[::-1])] == [True] * len(expected)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops, index_values, index_values, st.booleans(), st.booleans(), st.booleans())
def test_index_scan_bounds(
    store: Storage, batch: list[tuple[int, Any]], lo: Any, hi: Any, lo_open: bool, hi_open: bool, reverse: bool
) -> None:
    t = make_table(store)
    t.apply([(pk, None if doc is None else {"id": pk, **doc}) for pk, doc in batch])

    def inside(v: Any) -> bool:
        c_lo, c_hi = cmp(v, lo), cmp(v, hi)
        return (c_lo > 0 if lo_open else c_lo >= 0) and (c_hi < 0 if hi_open else c_hi <= 0)

    for name in FUNCTIONS:
        expected = [e for e in expected_entries(t, name) if inside(e[0])]
        got = scanned_entries(t, name, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open, reverse=reverse)
        if reverse:
            keys = [(encode_key(v), encode_key(pk)) for v, pk in got]
            assert keys == [(encode_key(v), encode_key(pk)) for v, pk in reversed(expected)]
        else:
            assert same_entries(got, expected)


def test_long_values_order_by_full_value(store: Storage) -> None:
    t = make_table(store)
    values = [LONG_A + "c", LONG_A + "b", LONG_A, "a" * 299, LONG_A + "b"]
    t.apply([(i, {"id": i, "v": v}) for i, v in enumerate(values)])
    got = scanned_entries(t, "v")
    assert [v for v, _ in got] == sorted(values)
    assert [pk for v, pk in got if v == LONG_A + "b"] == [1, 4]
    assert scanned_entries(t, "v", lo=LONG_A + "b", hi=LONG_A + "b", hi_open=False) == [(LONG_A + "b", 1), (LONG_A + "b", 4)]
    assert scanned_entries(t, "v", lo=LONG_A, lo_open=True, hi=LONG_A + "c") == [(LONG_A + "b", 1), (LONG_A + "b", 4)]


def test_multi_index_keeps_duplicates(store: Storage) -> None:
    t = make_table(store)
    t.apply([(1, {"id": 1, "v": 0, "tags": ["a", "b", "a"]})])
    assert scanned_entries(t, "tags") == [("a", 1), ("a", 1), ("b", 1)]
    t.apply([(1, {"id": 1, "v": 0, "tags": ["a"]})])
    assert scanned_entries(t, "tags") == [("a", 1)]


def test_index_build_chunks_and_ready_state(tmp_path: Any) -> None:
    store = Storage.open(tmp_path / "db")
    db = store.create_db("d")
    t = store.table(store.create_table(db.id, "t").id)
    t.apply([(i, {"id": i, "v": i % 7}) for i in range(250)])
    meta = t.create_index(IndexMeta("v", b"fn-bytes"), by_v)
    assert not meta.ready and scanned_entries(t, "v") == []
    t.apply([(1000, {"id": 1000, "v": 3}), (5, None)])  # writes maintain the unbuilt index
    assert scanned_entries(t, "v") == [(3, 1000)]
    cursor, total = None, 0
    while True:
        cursor, n = t.index_build_chunk("v", cursor, 100)
        total += n
        t.set_index_progress("v", total / 250)
        if cursor is None:
            break
        t.apply([(0, {"id": 0, "v": 6})])  # a write between chunks, behind the cursor
    t.set_index_ready("v", True)
    assert total == 250
    assert same_entries(scanned_entries(t, "v"), expected_entries(t, "v"))
    assert raw_entry_count(store, t, "v") == 250
    t.create_index(IndexMeta("half", b"half"), by_v)
    t.index_build_chunk("half", None, 10)
    store.close()

    store = Storage.open(tmp_path / "db", compile_index=lambda table, ix: FUNCTIONS["v"])
    t = store.table(t.meta.id)
    assert t.meta.indexes["v"].ready and not t.meta.indexes["half"].ready
    assert t.meta.indexes["half"].function == b"half"
    t.apply([(1, {"id": 1, "v": 100})])  # functions come back through compile_index
    assert (100, 1) in scanned_entries(t, "v")
    t.clear_index("half")
    assert scanned_entries(t, "half") == [] and raw_entry_count(store, t, "half") == 0
    assert not t.meta.indexes["half"].ready
    store.close()


def test_missing_index_function_blocks_writes(tmp_path: Any) -> None:
    store = Storage.open(tmp_path / "db")
    db = store.create_db("d")
    t = store.table(store.create_table(db.id, "t").id)
    t.create_index(IndexMeta("v", b""), by_v)
    store.close()
    store = Storage.open(tmp_path / "db")
    t = store.table(t.meta.id)
    with pytest.raises(IndexFunctionMissing):
        t.apply([(1, {"id": 1, "v": 1})])
    assert t.get(1) is None
    t.set_index_function("v", by_v)
    t.apply([(1, {"id": 1, "v": 1})])
    assert scanned_entries(t, "v") == [(1, 1)]
    store.close()


def test_drop_and_rename_index(store: Storage) -> None:
    t = make_table(store)
    t.apply([(i, {"id": i, "v": -i, "tags": [i]}) for i in range(5)])
    t.rename_index("v", "w")
    assert scanned_entries(t, "w")[0] == (-4, 4)
    with pytest.raises(NoSuchIndex):
        t.index_scan("v")
    t.apply([(9, {"id": 9, "v": -9})])
    assert scanned_entries(t, "w")[0] == (-9, 9)
    t.rename_index("tags", "w", overwrite=True)
    assert scanned_entries(t, "w") == [(i, i) for i in range(5)]
    t.drop_index("w")
    assert t.meta.indexes == {}
    doc_keys = [k for k in store._data.keys() if k[:4] == t.meta.keyspace.to_bytes(4, "big")]
    log_keys = [k for k in store._data.keys() if k[:4] == t.meta.log_keyspace.to_bytes(4, "big")]
    assert len(doc_keys) == 6 and len(log_keys) == 6  # only the documents and their changes remain
