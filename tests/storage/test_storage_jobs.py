from __future__ import annotations

import time
from typing import Any

import trio

from systables.jobs.registry import Job, JobRegistry, disk_compaction_id
from systables.storage import Storage, TableStore


class RecordingRegistry(JobRegistry):
    """Remembers when jobs come and go, so short-lived rows can be checked."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, Job, float]] = []

    def add(self, job: Job) -> Job:
        self.events.append(("add", job, time.monotonic()))
        return super().add(job)

    def remove(self, job: Job, outcome: Any = None) -> None:
        self.events.append(("remove", job, time.monotonic()))
        super().remove(job, outcome)


def new_table(store: Storage) -> TableStore:
    db = store.create_db("test")
    return store.table(store.create_table(db.id, "t").id)


async def test_manual_compaction_shows_a_job(tmp_path: Any) -> None:
    jobs = RecordingRegistry()
    store = Storage.open(tmp_path / "db", jobs=jobs)
    t = new_table(store)
    for start in range(0, 20_000, 1000):
        t.apply([(i, {"id": i, "pad": "x" * 100}) for i in range(start, start + 1000)])
    seen_during: list[Job] = []

    async def watch() -> None:
        while store.compaction.stats.manual_running == 0:
            await trio.sleep(0)
        seen_during.extend(j for j in jobs if j.type == "disk_compaction")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch)
        await trio.sleep(0)
        await store.compaction.compact(None, None)
    [job] = seen_during
    assert job.id == disk_compaction_id(store.server_id)
    assert job.server_ids == [store.server_id] and job.duration_sec() is None and job.info() == {}
    assert [j for j in jobs if j.type == "disk_compaction"] == []
    assert [e[0] for e in jobs.events] == ["add", "remove"]
    store.close()


async def test_overwrite_burst_triggers_a_small_compaction(tmp_path: Any) -> None:
    jobs = RecordingRegistry()
    store = Storage.open(tmp_path / "db", jobs=jobs)
    t = new_table(store)
    t.apply([(i, {"id": i}) for i in range(1000)])
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        for x in range(100):  # like r.range(100).for_each(table.get(id).update({value: x}))
            t.apply([(7, {"id": 7, "value": x})])
        with trio.fail_after(5):
            while store.compaction.stats.manual_done == 0:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    kinds = [(kind, job.type) for kind, job, _ in jobs.events]
    assert ("add", "disk_compaction") in kinds and ("remove", "disk_compaction") in kinds
    assert store.compaction.stats.last_manual_seconds > 0
    store.close()


async def test_compaction_is_rate_limited_per_table(tmp_path: Any) -> None:
    store = Storage.open(tmp_path / "db")
    t = new_table(store)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        for x in range(1000):
            t.apply([(1, {"id": 1, "value": x})])
            if x % 100 == 0:
                await trio.sleep(0.001)
        await trio.sleep(0.3)
        nursery.cancel_scope.cancel()
    assert 1 <= store.compaction.stats.manual_done <= 5  # at most one per sample tick (0.1 s)
    store.close()


async def test_dropped_table_space_is_reclaimed(tmp_path: Any) -> None:
    store = Storage.open(tmp_path / "db")
    t = new_table(store)
    for start in range(0, 20_000, 2000):
        t.apply([(i, {"id": i, "pad": str(i) * 20}) for i in range(start, start + 2000)])
    store.flush()
    before = store.property_int("rocksdb.total-sst-files-size")
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        store.drop_table(t.meta.id)
        with trio.fail_after(10):
            while store.compaction.stats.manual_done == 0:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    after = store.property_int("rocksdb.total-sst-files-size")
    assert before > 100_000 and after < before / 10
    store.close()


async def test_job_row_is_seen_by_a_poller_during_update_bursts(tmp_path: Any, jobs: JobRegistry) -> None:
    """RethinkDB's jobs test: bursts of 100 updates to one document, polling
    the jobs table between bursts, must see a disk_compaction row within 20 s."""
    store = Storage.open(tmp_path / "db", jobs=jobs)
    t = new_table(store)
    t.apply([("k", {"id": "k"})])
    seen: list[Job] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        with trio.fail_after(20):
            while not seen:
                for x in range(100):
                    t.apply([("k", {"id": "k", "value": x})])
                    await trio.sleep(0)
                for _ in range(3):
                    await trio.sleep(0.01)
                    seen += [j for j in jobs if j.type == "disk_compaction"]
        nursery.cancel_scope.cancel()
    assert seen[0].id == disk_compaction_id(store.server_id)
    store.close()
