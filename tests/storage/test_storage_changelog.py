"""The durable change log and the change stream's publication order."""

from __future__ import annotations

from typing import Any

import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from systables.storage import Storage, TableStore
from systables.storage.changes import Change

from test_storage_engine import new_table


def logged(t: TableStore, after: int = 0) -> list[tuple[int, Any, Any]]:
    reader = t.changes_after(after)
    out = []
    while chunk := reader.next_chunk(3):
        out += [(c.position, c.old, c.new) for c in chunk]
    reader.close()
    return out


def follow(store: Storage, t: TableStore) -> list[tuple[str, Change]]:
    seen: list[tuple[str, Change]] = []
    store.add_change_listener(lambda table_id, changes: seen.extend((table_id, c) for c in changes))
    t.followers += 1
    return seen


def test_every_committed_change_is_logged_once_in_order(store: Storage) -> None:
    t = new_table(store)
    t.apply([(1, {"id": 1}), (2, {"id": 2})])
    t.apply([(1, {"id": 1, "v": 1}), (2, None)])
    t.apply([(1, {"id": 1, "v": 1})])  # no change: nothing logged
    t.apply([(3, {"id": 3}), (3, {"id": 3, "v": 3})])  # the same row twice in one batch
    assert logged(t) == [
        (1, None, {"id": 1}),
        (2, None, {"id": 2}),
        (3, {"id": 1}, {"id": 1, "v": 1}),
        (4, {"id": 2}, None),
        (5, None, {"id": 3}),
        (6, {"id": 3}, {"id": 3, "v": 3}),
    ]
    assert [p for p, _, _ in logged(t, after=4)] == [5, 6]
    assert logged(t, after=6) == []


def test_positions_and_log_survive_a_restart(tmp_path: Any) -> None:
    store = Storage.open(tmp_path / "db")
    t = new_table(store)
    t.apply([(i, {"id": i}) for i in range(5)])
    table_id = t.meta.id
    store.close()
    store = Storage.open(tmp_path / "db")
    t = store.table(table_id)
    assert t.log.last == 5
    t.apply([(9, {"id": 9})])
    assert [(p, new) for p, _, new in logged(t, after=3)] == [(4, {"id": 3}), (5, {"id": 4}), (6, {"id": 9})]
    store.close()


def test_a_reader_sees_the_log_as_it_was_when_opened(store: Storage) -> None:
    t = new_table(store)
    t.apply([(1, {"id": 1})])
    reader = t.changes_after(0)
    t.apply([(2, {"id": 2})])
    store.trim_change_logs(now=1e12)  # everything is past its age: trimmed
    assert [c.position for c in reader.next_chunk(10)] == [1]
    reader.close()
    assert logged(t) == []


def test_trimming_to_a_count_keeps_the_last_changes(store: Storage) -> None:
    t = new_table(store)
    t.apply([(i, {"id": i}) for i in range(10)])
    meta = t.meta
    meta.log_retention = {"seconds": 3600, "changes": 4}
    store.update_table_meta(meta)  # a shorter retention applies at once
    assert [p for p, _, _ in logged(t)] == [7, 8, 9, 10]
    assert (t.log.trimmed, t.log.last, t.log.length) == (6, 10, 4)


def test_trimming_by_age_bisects_the_commit_times(store: Storage, monkeypatch: Any) -> None:
    t = new_table(store)
    clock = [1000.0]
    monkeypatch.setattr("systables.storage.changelog.time.time", lambda: clock[0])
    for i in range(20):
        clock[0] = 1000.0 + i
        t.apply([(i, {"id": i})])
    meta = t.meta
    meta.log_retention = {"seconds": 5.5, "changes": 1000}
    store.update_table_meta(meta)
    store.trim_change_logs(now=1019.0)  # keeps what was committed at 1013.5 or later
    assert [p for p, _, _ in logged(t)] == list(range(15, 21))


def test_the_trim_point_and_positions_survive_a_restart(tmp_path: Any) -> None:
    store = Storage.open(tmp_path / "db")
    t = new_table(store)
    t.apply([(i, {"id": i}) for i in range(6)])
    store.trim_change_logs(now=1e12)
    table_id = t.meta.id
    store.close()
    store = Storage.open(tmp_path / "db")
    t = store.table(table_id)
    assert (t.log.trimmed, t.log.last) == (6, 6)  # an empty log does not restart positions at 1
    t.apply([(7, {"id": 7})])
    assert [p for p, _, _ in logged(t)] == [7]
    store.close()


def test_dropping_a_table_drops_its_log(store: Storage) -> None:
    t = new_table(store)
    t.apply([(i, {"id": i}) for i in range(3)])
    log_prefix = t.log.prefix
    store.drop_table(t.meta.id)
    assert not [k for k in store._data.keys() if k.startswith(log_prefix)]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.one_of(st.none(), st.integers(0, 3))), min_size=1, max_size=40),
       st.integers(1, 7))
def test_the_log_replays_to_the_table(tmp_path_factory: Any, ops: list, chunk: int) -> None:
    """Replaying the log from nothing, in order, rebuilds the table; each
    change's old value is the previous change's new value for its row."""
    store = Storage.open(tmp_path_factory.mktemp("db"))
    try:
        t = new_table(store)
        for i in range(0, len(ops), chunk):
            t.apply([(k, None if v is None else {"id": k, "v": v}) for k, v in ops[i : i + chunk]])
        state: dict[int, Any] = {}
        for _, old, new in logged(t):
            key = (new or old)["id"]
            assert state.get(key) == old
            if new is None:
                del state[key]
            else:
                state[key] = new
        assert state == {doc["id"]: doc for doc in (t.get(k) for k in range(6)) if doc is not None}
    finally:
        store.close()


async def test_hard_changes_are_published_after_their_fsync_in_commit_order(store: Storage) -> None:
    t = new_table(store)
    seen = follow(store, t)
    t.apply([(1, {"id": 1})], hard=True)
    t.apply([(2, {"id": 2})])  # soft, but committed after a hard batch: it waits too
    assert seen == []
    await t.commit("hard")
    assert [c.position for _, c in seen] == [1, 2]
    t.apply([(3, {"id": 3})])  # nothing waiting: published at once
    assert [c.position for _, c in seen] == [1, 2, 3]


async def test_a_waiting_hard_change_has_the_wal_synced_without_its_writer(store: Storage) -> None:
    t = new_table(store)
    seen = follow(store, t)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        t.apply([(1, {"id": 1})], hard=True)  # the writer never calls commit
        with trio.fail_after(5):
            while not seen:
                await trio.sleep(0.001)
        nursery.cancel_scope.cancel()
    assert seen[0][1].new == {"id": 1}


def test_unfollowed_tables_publish_nothing(store: Storage) -> None:
    t = new_table(store)
    seen: list = []
    store.add_change_listener(lambda table_id, changes: seen.extend(changes))
    t.apply([(1, {"id": 1})])
    assert seen == [] and t.log.last == 1
