"""Storage engine benchmark, through the engine layer alone (no ReQL, no network).

    python bench/storage_bench.py                 # 1,000,000 documents
    python bench/storage_bench.py --docs 200000   # quicker
    python bench/storage_bench.py --keyspaces     # column family per table vs key prefixes

Prints one table: inserts/s (one document per batch, and 1000 per batch, each
batch also writing a secondary-index entry), point gets/s, scan rows/s,
index scan rows/s, count rows/s, and disk size after a full compaction
against the summed MessagePack size of the documents.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import trio  # noqa: E402

from systables.storage import IndexMeta, Storage, TableStore, codec  # noqa: E402

CITIES = ["Lisbon", "Oslo", "Quito", "Osaka", "Accra", "Lima", "Perth", "Bergen"]
WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]


def make_doc(i: int, rng: random.Random) -> dict[str, Any]:
    return {
        "id": i,
        "name": f"user-{i:08d}",
        "email": f"user{i}@example.org",
        "age": rng.randint(18, 90),
        "score": rng.random() * 1000,
        "active": rng.random() < 0.5,
        "tags": rng.sample(WORDS, 3),
        "address": {"city": rng.choice(CITIES), "street": f"{rng.randint(1, 999)} Main St", "zip": f"{rng.randint(10000, 99999)}"},
        "history": [{"at": 1_600_000_000 + rng.randint(0, 10**7), "v": rng.randint(0, 100)} for _ in range(2)],
    }


def by_age(doc: dict) -> list[Any]:
    return [doc["age"]]


def timed(fn: Callable[[], int]) -> tuple[int, float]:
    start = time.perf_counter()
    n = fn()
    return n, time.perf_counter() - start


def new_table(store: Storage, name: str, index: bool) -> TableStore:
    db = next(iter(store.dbs.values()), None) or store.create_db("bench")
    table = store.table(store.create_table(db.id, name).id)
    if index:
        table.create_index(IndexMeta("age", b"age"), by_age)
        table.set_index_ready("age", True)
    return table


class DocSource:
    """Generates documents batch by batch, so that the benchmark process does not
    hold millions of live objects (the garbage collector would then dominate
    every timing), and sums their MessagePack size."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self.msgpack_bytes = 0

    def batch(self, start: int, n: int) -> list[dict]:
        docs = [make_doc(i, self._rng) for i in range(start, start + n)]
        self.msgpack_bytes += sum(len(codec.pack(d)) for d in docs)
        return docs


def insert_batched(table: TableStore, source: DocSource, total: int, batch: int) -> float:
    """Seconds spent in apply() writing ``total`` documents, ``batch`` per call."""
    spent = 0.0
    for start in range(0, total, batch):
        ops = [(d["id"], d) for d in source.batch(start, batch)]
        began = time.perf_counter()
        table.apply(ops)
        spent += time.perf_counter() - began
    return spent


def insert_single(table: TableStore, source: DocSource, total: int) -> float:
    spent = 0.0
    for start in range(0, total, 1000):
        docs = source.batch(start, 1000)
        began = time.perf_counter()
        for d in docs:
            table.apply([(d["id"], d)])
        spent += time.perf_counter() - began
    return spent


def point_gets(table: TableStore, keys: list[int]) -> int:
    get = table.get
    for k in keys:
        get(k)
    return len(keys)


def drain(scan: Any, chunk: int = 1000) -> int:
    n = 0
    while rows := scan.next_chunk(chunk):
        n += len(rows)
    return n


def count_all(table: TableStore) -> int:
    counter = table.count_keys()
    while counter.next_chunk(100_000):
        pass
    return counter.total


def dir_size(path: str) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def bench_engine(args: argparse.Namespace) -> None:
    rng = random.Random(1)
    workdir = tempfile.mkdtemp(prefix="storage-bench-")
    rows: list[tuple[str, str]] = []
    try:
        store = Storage.open(os.path.join(workdir, "db"))
        single = new_table(store, "single", index=True)
        n = args.single_docs
        secs = insert_single(single, DocSource(0), n)
        rows.append((f"insert, 1 doc per batch (+index entry), {n:,} docs", f"{n / secs:,.0f} docs/s"))
        store.drop_table(single.meta.id)

        table = new_table(store, "main", index=True)
        source = DocSource(1)
        n = args.docs
        secs = insert_batched(table, source, n, 1000)
        rows.append((f"insert, 1000 docs per batch (+index entries), {n:,} docs", f"{n / secs:,.0f} docs/s"))
        _, secs = timed(lambda: trio.run(table.commit, "hard") or 1)
        rows.append(("commit('hard') after the load (one WAL fsync)", f"{secs * 1000:.1f} ms"))

        store.flush()
        _, secs = timed(lambda: trio.run(store.compaction.compact, None, None) and 1)
        rows.append(("full manual compaction (after flush)", f"{secs:.1f} s"))

        keys = [rng.randrange(n) for _ in range(args.gets)]
        count, secs = timed(lambda keys=keys: point_gets(table, keys))
        rows.append((f"point gets (random, {count:,})", f"{count / secs:,.0f} gets/s"))
        del keys
        count, secs = timed(lambda: drain(table.scan()))
        rows.append((f"full scan, chunks of 1000 ({count:,} rows)", f"{count / secs:,.0f} rows/s"))
        count, secs = timed(lambda: drain(table.index_scan("age")))
        rows.append((f"full index scan + document fetch ({count:,} rows)", f"{count / secs:,.0f} rows/s"))
        count, secs = timed(lambda: count_all(table))
        rows.append((f"count_keys, chunks of 100k ({count:,} keys)", f"{count / secs:,.0f} rows/s"))
        _, secs = timed(lambda: table.count() and 1)
        rows.append(("count() (kept in every batch)", f"{secs * 1e6:.1f} µs"))

        sst = store.property_int("rocksdb.total-sst-files-size")
        store.close()
        total = dir_size(os.path.join(workdir, "db"))
        packed = source.msgpack_bytes
        rows.append(("documents as MessagePack (sum)", f"{packed / 1e6:,.1f} MB"))
        rows.append(("SST files after compaction (docs + age index)", f"{sst / 1e6:,.1f} MB ({sst / packed:.2f}x)"))
        rows.append(("whole data directory (incl. WAL, logs)", f"{total / 1e6:,.1f} MB ({total / packed:.2f}x)"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(rows)


def bench_keyspaces(args: argparse.Namespace) -> None:
    """Column family per table and index vs 4-byte key prefixes in one column family."""
    from rocksdict import Cache, Rdict, WriteBatch

    from systables.storage.engine import rocksdb_options

    cache = Cache(256 << 20)

    def options() -> Any:
        return rocksdb_options(cache)  # the engine's own settings

    rng = random.Random(2)
    n = args.keyspace_docs
    docs = [(os.urandom(16), codec.pack(make_doc(i, rng))) for i in range(n)]  # bytes only: no GC load
    rows = []
    for mode in ("column family per table", "key prefix per table"):
        path = tempfile.mkdtemp(prefix="ks-bench-")
        db = Rdict(path, options(), column_families={"data": options()})
        data = db.get_column_family_handle("data")
        cf_mode = mode.startswith("column")
        start = time.perf_counter()
        for i in range(100):
            if cf_mode:
                db.create_column_family(f"t{i}", options())
                db.create_column_family(f"i{i}", options())
            else:
                db[b"tb:%d" % i] = b"meta"
        create = (time.perf_counter() - start) / 100
        start = time.perf_counter()
        for i in range(100):
            if cf_mode:
                db.drop_column_family(f"t{i}")
                db.drop_column_family(f"i{i}")
            else:
                wb = WriteBatch(raw_mode=True)
                del wb[b"tb:%d" % i]
                wb.delete_range(struct.pack(">I", 2 * i), struct.pack(">I", 2 * i + 2), data)
                db.write(wb)
        drop = (time.perf_counter() - start) / 100
        if cf_mode:
            db.create_column_family("docs", options())
            db.create_column_family("idx", options())
            docs_h, idx_h, docs_p, idx_p = db.get_column_family_handle("docs"), db.get_column_family_handle("idx"), b"", b""
            docs_cf = db.get_column_family("docs")
        else:
            docs_h = idx_h = data
            docs_p, idx_p = struct.pack(">I", 1000), struct.pack(">I", 1001)
            docs_cf = db.get_column_family("data")
        start = time.perf_counter()
        for j in range(0, n, 100):
            wb = WriteBatch(raw_mode=True)
            for k, v in docs[j : j + 100]:
                wb.put(docs_p + k, v, docs_h)
                wb.put(idx_p + v[-12:] + k, b"", idx_h)
            db.write(wb)
        write = n / (time.perf_counter() - start)
        docs_cf.flush()
        start = time.perf_counter()
        scanned = sum(1 for _ in docs_cf.values(from_key=docs_p or None))
        scan = scanned / (time.perf_counter() - start)
        rows.append((mode, f"create {create * 1000:.2f} ms, drop {drop * 1000:.2f} ms per table+index; "
                     f"{write:,.0f} docs+entries/s (batches of 100); scan {scan:,.0f} rows/s"))
        del docs_cf
        db.close()
        shutil.rmtree(path, ignore_errors=True)
    print_table(rows)


def print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"| {'measure'.ljust(width)} | result |")
    print(f"|{'-' * (width + 2)}|--------|")
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--single-docs", type=int, default=200_000, help="documents inserted one per batch")
    parser.add_argument("--gets", type=int, default=200_000)
    parser.add_argument("--keyspaces", action="store_true", help="compare keyspace layouts instead")
    parser.add_argument("--keyspace-docs", type=int, default=200_000)
    args = parser.parse_args()
    if args.keyspaces:
        bench_keyspaces(args)
    else:
        bench_engine(args)


if __name__ == "__main__":
    main()
