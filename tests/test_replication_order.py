"""Backfill ordering, in one process with two storage engines and no
network: a primary streams its table (snapshot chunks with the changes made
meanwhile interleaved) to a replica while a writer keeps inserting, updating
and deleting keys below, inside and beyond the copy's frontier; afterwards
the replica's rows are exactly the primary's, row for row."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import trio
import trio.testing

from systables.cluster import wire
from systables.cluster.replication import Backfill, Outgoing, Replication
from systables.jobs.registry import JobRegistry
from systables.storage import Storage


def replication_of(storage: Storage, server_id: str) -> Replication:
    node = SimpleNamespace(server_id=server_id, options=SimpleNamespace(server_tags=None), ref_of=lambda s, f: s)
    cluster = SimpleNamespace(changed=lambda: None, peers={}, on_change=[])
    directory = SimpleNamespace(configs={}, active=True, on_change=[])
    log = SimpleNamespace(log=lambda *a: None, log_exception=lambda e: None)
    return Replication(storage, node, cluster, directory, JobRegistry(), log)  # type: ignore[arg-type]


def rows(store: Any) -> list[tuple[bytes, bytes]]:
    return [item for chunk in store.stream_range() for item in chunk.items]


def test_writes_during_a_backfill_reach_the_replica_in_order(tmp_path: Any) -> None:
    source, target = Storage.open(tmp_path / "p"), Storage.open(tmp_path / "r")
    db = source.create_db("d")
    meta = source.create_table(db.id, "t")
    target.create_db("d", db_id=db.id)
    target.create_table(db.id, "t", table_id=meta.id)
    src, dst = source.table(meta.id), target.table(meta.id)
    src.apply([(i, {"id": i, "v": 0}) for i in range(3000)])
    primary, replica = replication_of(source, "p"), replication_of(target, "r")
    source.add_change_listener(primary._committed)
    rng = random.Random(7)
    copied = trio.Event()
    backfill = Backfill(meta.id, "p")
    writes = 0

    async def write() -> None:
        nonlocal writes
        while not copied.is_set():
            for _ in range(5):
                key: Any = rng.randrange(4000) if rng.random() < 0.8 else f"s{rng.randrange(200)}"
                src.apply([(key, None if rng.random() < 0.2 else {"id": key, "v": writes})])
                writes += 1
            await trio.sleep(0)

    async def receive(stream: trio.abc.ReceiveStream) -> None:
        decoder = wire.Decoder()
        while True:
            for message in decoder.feed(await stream.receive_some(1 << 20)):
                await replica._handle(backfill, message)
                if message["t"] == "done":
                    copied.set()

    async def main() -> None:
        sending, receiving = trio.testing.memory_stream_pair()
        out = Outgoing("r")
        primary._outgoing[meta.id] = {"r": out}
        src.followers += 1
        async with trio.open_nursery() as nursery:
            nursery.start_soon(primary._send, sending, src, out)
            nursery.start_soon(receive, receiving)
            nursery.start_soon(write)
            await copied.wait()
            with trio.fail_after(10):
                while backfill.applied < src.log.last:
                    await trio.sleep(0.001)
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert writes > 200 and backfill.copied_all and not backfill.held
    assert dst.count() == src.count() and rows(dst) == rows(src)
    assert meta.id in replica.ready
