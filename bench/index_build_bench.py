"""Background index construction: build rate and what it costs other queries.

    python bench/index_build_bench.py                  # 1,000,000 documents
    python bench/index_build_bench.py --docs 100000    # quicker
    python bench/index_build_bench.py --json out.json

Starts a systables server, loads the documents (``bench/data.py``), then:

1. builds an index on ``k`` with nothing else running: documents per second
   (wall clock, from ``index_create`` until ``index_wait`` returns) and per
   second of server CPU;
2. measures a point-read loop (``get`` of random keys, one client, back to
   back) alone, then while an index on ``age`` is built: latency percentiles
   and the worst stall, i.e. the longest a single read waited;
3. the same build at ``priority: "low"`` (set through its ``rethinkdb.jobs``
   row right after ``index_create``), with the same read loop.

Wall-clock figures depend on what else the machine runs; the CPU figures and
the machine's busy fraction are printed so that a noisy run can be told apart.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rethinkdb import RethinkDB  # noqa: E402

from bench.data import document, id_batches, prebuilt  # noqa: E402
from bench.procstat import ProcessMeter, machine_busy_seconds  # noqa: E402
from bench.targets import Target, start_systables  # noqa: E402

INDEX_NS = uuid.UUID("74d855a5-0c40-4930-a451-d1ce508ef2d2")
LOAD_THREADS = 4
BASELINE_SECONDS = 3.0


@dataclass
class BuildResult:
    index: str
    docs: int
    seconds: float
    docs_per_second: float
    server_cpu_seconds: float | None
    docs_per_cpu_second: float | None
    machine_busy: float | None  # fraction of all cores busy during the build


@dataclass
class ReadLatency:
    reads: int
    p50_ms: float
    p99_ms: float
    p999_ms: float
    worst_ms: float


def connect(r: RethinkDB, target: Target) -> Any:
    return r.connect(host=target.host, port=target.port)


def load(r: RethinkDB, target: Target, docs: int) -> float:
    """Insert the documents from a few connections; returns seconds taken."""
    started = time.perf_counter()

    def insert(batch: tuple[int, int]) -> None:
        conn = local_conn(r, target)
        rows = prebuilt([document(i) for i in range(*batch)])
        r.table("bench").insert(rows, durability="soft").run(conn)

    with ThreadPoolExecutor(LOAD_THREADS) as pool:
        list(pool.map(insert, id_batches(0, docs, 2000)))
    r.table("bench").sync().run(local_conn(r, target))
    return time.perf_counter() - started


_local = threading.local()


def local_conn(r: RethinkDB, target: Target) -> Any:
    if getattr(_local, "conn", None) is None:
        _local.conn = connect(r, target)
    return _local.conn


def build(r: RethinkDB, conn: Any, target: Target, index: str, docs: int, priority: str = "normal") -> BuildResult:
    meter = ProcessMeter(target.pid)
    cpu0, busy0 = meter.cpu_seconds(), machine_busy_seconds()
    started = time.perf_counter()
    r.table("bench").index_create(index).run(conn)
    if priority != "normal":
        table_id = r.table("bench").info()["id"].run(conn)
        job = ["index_construction", str(uuid.uuid5(INDEX_NS, table_id + index))]
        r.db("rethinkdb").table("jobs").get(job).update({"priority": priority}).run(conn)
    r.table("bench").index_wait(index).run(conn)
    seconds = time.perf_counter() - started
    cpu1, busy1 = meter.cpu_seconds(), machine_busy_seconds()
    cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    busy = None if busy0 is None or busy1 is None else (busy1 - busy0) / seconds / cpu_count()
    return BuildResult(
        index, docs, round(seconds, 3), round(docs / seconds), cpu and round(cpu, 3),
        round(docs / cpu) if cpu else None, busy and round(busy, 3),
    )


def cpu_count() -> int:
    return os.cpu_count() or 1


class ReadLoop:
    """Point reads back to back on their own connection, in a thread."""

    def __init__(self, r: RethinkDB, target: Target, docs: int) -> None:
        self.r, self.target, self.docs = r, target, docs
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "ReadLoop":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        conn = connect(self.r, self.target)
        rng = random.Random(7)
        table = self.r.table("bench")
        while not self._stop.is_set():
            started = time.perf_counter()
            table.get(rng.randrange(self.docs)).run(conn)
            self.latencies.append(time.perf_counter() - started)
        conn.close()

    def summary(self) -> ReadLatency:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 3)

        return ReadLatency(len(ordered), pct(0.5), pct(0.99), pct(0.999), round(ordered[-1] * 1000, 3))


def read_baseline(r: RethinkDB, target: Target, docs: int, seconds: float) -> ReadLatency:
    with ReadLoop(r, target, docs) as loop:
        time.sleep(seconds)
    return loop.summary()


def build_under_reads(r: RethinkDB, conn: Any, target: Target, index: str, docs: int, priority: str) -> dict:
    with ReadLoop(r, target, docs) as loop:
        result = build(r, conn, target, index, docs, priority)
    return {"build": asdict(result), "reads": asdict(loop.summary())}


def run(args: argparse.Namespace) -> dict:
    r = RethinkDB()
    target = start_systables(None, [])
    try:
        conn = connect(r, target)
        r.table_create("bench", durability="soft").run(conn)
        load_seconds = load(r, target, args.docs)
        print(f"loaded {args.docs:,} documents in {load_seconds:.1f} s", flush=True)
        report: dict[str, Any] = {"docs": args.docs}
        report["build_alone"] = asdict(build(r, conn, target, "k", args.docs))
        print_build("build alone", report["build_alone"])
        report["reads_alone"] = asdict(read_baseline(r, target, args.docs, args.baseline_seconds))
        print_reads("point reads, no build", report["reads_alone"])
        for priority, index in (("normal", "age"), ("low", "bucket")):
            measured = build_under_reads(r, conn, target, index, args.docs, priority)
            report[f"build_with_reads_{priority}"] = measured
            print_build(f"build ({priority} priority) with the read loop", measured["build"])
            print_reads("point reads during that build", measured["reads"])
        return report
    finally:
        target.stop()


def print_build(title: str, b: dict) -> None:
    cpu = f", {b['docs_per_cpu_second']:,} docs per server CPU-second" if b["docs_per_cpu_second"] else ""
    busy = f" (machine {b['machine_busy']:.0%} busy)" if b["machine_busy"] is not None else ""
    print(f"{title}: {b['docs']:,} docs in {b['seconds']} s = {b['docs_per_second']:,} docs/s{cpu}{busy}", flush=True)


def print_reads(title: str, s: dict) -> None:
    print(
        f"{title}: {s['reads']:,} reads, p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms, "
        f"p99.9 {s['p999_ms']} ms, worst stall {s['worst_ms']} ms",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--baseline-seconds", type=float, default=BASELINE_SECONDS, help="read loop alone, before the builds")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    report = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
