"""Crash test of the storage engine: acknowledged hard writes survive SIGKILL.

Each trial starts a child process that writes documents (with a secondary
index) from several concurrent tasks, each write followed by
``commit("hard")``, and prints every acknowledged key.  The parent kills the
child with SIGKILL at a random moment, reopens the store, and checks that
every acknowledged document is present and intact, that every stored
document is intact, and that the index has exactly one entry per document
(write batches are atomic).  Trials reuse one data directory, so recovery is
exercised repeatedly.

    python bench/crash_test.py --trials 200 --min-run 0.2 --max-run 2.0
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from systables.storage import IndexMeta, Storage, TableStore  # noqa: E402

WRITERS = 4
KEYS_PER_TRIAL = 1_000_000


def document(key: int) -> dict[str, Any]:
    digest = hashlib.sha256(str(key).encode()).hexdigest()
    return {"id": key, "group": key % 13, "digest": digest, "pad": digest * (key % 5)}


def by_group(doc: dict) -> list[Any]:
    return [doc["group"]]


def open_table(directory: str) -> tuple[Storage, TableStore]:
    store = Storage.open(directory, compile_index=lambda table, index: by_group)
    if not store.tables:
        db = store.create_db("crash")
        table = store.table(store.create_table(db.id, "docs").id)
        table.create_index(IndexMeta("group", b"group"), by_group)
        return store, table
    return store, store.table(next(iter(store.tables)))


# --- child ---------------------------------------------------------------------------


def child(directory: str, first_key: int) -> None:
    import trio

    store, table = open_table(directory)

    async def writer(lane: int) -> None:
        key = first_key + lane
        while True:
            batch = [key + WRITERS * i for i in range(1 + key % 3)]  # 1-3 documents per batch
            table.apply([(k, document(k)) for k in batch])
            await table.commit("hard")
            sys.stdout.write("".join(f"{k}\n" for k in batch))
            sys.stdout.flush()
            key += WRITERS * len(batch)
            await trio.sleep(0)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for lane in range(WRITERS):
                nursery.start_soon(writer, lane)

    trio.run(main)


# --- parent --------------------------------------------------------------------------


def run_trial(directory: str, trial: int, min_run: float, max_run: float, log_dir: str) -> int:
    """One kill-and-verify cycle; returns how many writes were acknowledged."""
    ack_path = os.path.join(log_dir, f"acks-{trial}.txt")
    with open(ack_path, "w") as acks:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", directory, str(trial * KEYS_PER_TRIAL)], stdout=acks
        )
        time.sleep(random.uniform(min_run, max_run))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    acked = [int(line) for line in Path(ack_path).read_text().splitlines() if line.strip()]
    verify(directory, acked)
    return len(acked)


def verify(directory: str, acked: list[int]) -> None:
    store, table = open_table(directory)
    try:
        for key in acked:
            doc = table.get(key)
            if doc != document(key):
                raise AssertionError(f"acknowledged document {key} is {doc!r}")
        docs = _count_docs(table)
        entries = _count_entries(table)
        if docs != entries or docs != table.count():
            raise AssertionError(f"{docs} documents, {entries} index entries, count says {table.count()}")
    finally:
        store.close()


def _count_docs(table: TableStore) -> int:
    n, scan = 0, table.scan()
    while chunk := scan.next_chunk(5000):
        for doc in chunk:
            if doc != document(doc["id"]):
                raise AssertionError(f"stored document {doc['id']} is damaged")
        n += len(chunk)
    return n


def _count_entries(table: TableStore) -> int:
    n, scan = 0, table.index_scan("group")
    while chunk := scan.next_chunk(5000):
        n += sum(1 for value, doc in chunk if value == doc["group"])
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--min-run", type=float, default=0.2, help="shortest time before the kill, seconds")
    parser.add_argument("--max-run", type=float, default=1.5, help="longest time before the kill, seconds")
    parser.add_argument("--time-limit", type=float, default=0, help="stop starting trials after this many seconds")
    parser.add_argument("--dir", default=None, help="data directory (default: a fresh temporary one)")
    parser.add_argument("--child", nargs=2, metavar=("DIR", "FIRST_KEY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.dir or os.path.join(tmp, "db")
        started, total = time.monotonic(), 0
        for trial in range(args.trials):
            if args.time_limit and time.monotonic() - started > args.time_limit:
                break
            total += run_trial(directory, trial, args.min_run, args.max_run, tmp)
        elapsed = time.monotonic() - started
        print(f"{trial + 1} trials, {total} acknowledged writes verified after SIGKILL, {elapsed:.1f} s: OK")


if __name__ == "__main__":
    main()
