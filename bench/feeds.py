"""Changefeeds: how long a change takes to reach its feeds with 1, 100 and
1,000 feeds open on the table, and what open feeds cost the writers.

Feeds are held by child processes (``HOLDERS`` at most), each with one
asyncio-driver connection carrying its share of the feeds, so that reading
notifications does not compete with the writer for one GIL.

* ``feed_latency_N``: one writer inserts a document every ``1 / rate``
  seconds (soft durability: the figure is the feed path's, not an fsync's),
  stamping it with the wall-clock time just before it sends the insert; each
  feed records, for every notification, the time it arrived minus that
  stamp: *write sent → notification decoded by the client*.
* ``insert_feeds_100``: the closed-loop single-document soft insert with
  100 feeds open on the table, read as fast as their holders can; compare
  with ``insert_soft`` (no feeds).  Overflowed feeds (the server dropped
  queued changes) are counted.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue as queue_module
import time
from typing import Any

from rethinkdb import RethinkDB, r

from .clients import ClientError, ClientPool, percentile
from .results import Row, failed, mebibytes, per, unavailable
from .targets import Target

HOLDERS = 4
LATENCY_FEEDS = (1, 100, 1000)
THROUGHPUT_FEEDS = 100
# Writes of a latency run and their pace, by feeds open: about 40,000
# notifications at most, which the holders read as they come.
PACE = {1: (300, 50.0), 100: (100, 20.0), 1000: (40, 10.0)}
FULL_SCALE_FROM = 0.1  # below this --scale, fewer feeds and writes (smoke runs)
TABLE = "feeds"
OPEN_TIMEOUT = 120.0


def scaled(n: int, scale: float, least: int = 1) -> int:
    return max(least, min(n, round(n * scale / FULL_SCALE_FROM)))


def latency_key(feeds: int) -> str:
    return f"feed_latency_{feeds}"


def latency_title(feeds: int) -> str:
    return f"change → client latency, {feeds} feed{'s' if feeds > 1 else ''} open"


def throughput_title(feeds: int) -> str:
    return f"insert 1 doc, soft, {feeds} feeds open"


THROUGHPUT_KEY = f"insert_feeds_{THROUGHPUT_FEEDS}"
KEYS = [latency_key(n) for n in LATENCY_FEEDS] + [THROUGHPUT_KEY]


# -- the holders (child processes) ------------------------------------------------

def _hold(host: str, port: int, db: str, table: str, feeds: int, expect: int | None,
          ready: Any, stop: Any, results: Any) -> None:
    """Open ``feeds`` feeds; record each notification's latency until each
    feed has seen ``expect`` changes (or, with None, until ``stop`` is set)."""
    rq = RethinkDB()
    rq.set_loop_type("asyncio")
    latencies: list[float] = []
    counts = {"notifications": 0, "overflows": 0}

    async def follow(cursor: Any) -> None:
        seen = 0
        while expect is None or seen < expect:
            try:
                change = await cursor.next()
            except Exception:  # closed at the end of a throughput run
                return
            now = time.time()
            counts["notifications"] += 1
            if "error" in change:
                counts["overflows"] += 1
                continue
            sent = (change.get("new_val") or {}).get("sent")
            if sent is not None:
                latencies.append(now - sent)
            seen += 1

    async def main() -> None:
        conn = await rq.connect(host=host, port=port)
        cursors = [await rq.db(db).table(table).changes().run(conn) for _ in range(feeds)]
        ready.put(feeds)
        tasks = [asyncio.ensure_future(follow(c)) for c in cursors]
        if expect is None:
            while not stop.is_set():
                await asyncio.sleep(0.05)
            for c in cursors:
                await c.close()
        await asyncio.gather(*tasks)
        await conn.close(noreply_wait=False)

    try:
        asyncio.run(main())
        results.put((latencies, counts, None))
    except Exception as exc:  # reported to the parent, not raised
        results.put((latencies, counts, f"{type(exc).__name__}: {exc}"))


class Holders:
    """The feed-holding processes of one measurement."""

    def __init__(self, target: Target, db: str, feeds: int, expect: int | None) -> None:
        context = multiprocessing.get_context("spawn")
        self.ready, self.results, self.stop = context.Queue(), context.Queue(), context.Event()
        shares = [feeds // HOLDERS + (i < feeds % HOLDERS) for i in range(min(HOLDERS, feeds))]
        self.procs = [
            context.Process(target=_hold, args=(target.host, target.port, db, TABLE, n, expect,
                                                self.ready, self.stop, self.results), daemon=True)
            for n in shares
        ]
        self.feeds = feeds

    def __enter__(self) -> "Holders":
        for p in self.procs:
            p.start()
        opened = 0
        deadline = time.monotonic() + OPEN_TIMEOUT
        while opened < self.feeds:
            try:
                opened += self.ready.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue_module.Empty:
                raise RuntimeError(f"only {opened} of {self.feeds} feeds opened") from None
        return self

    def collect(self, timeout: float) -> tuple[list[float], dict[str, int], list[str]]:
        latencies: list[float] = []
        counts = {"notifications": 0, "overflows": 0}
        errors = []
        for _ in self.procs:
            try:
                got, c, error = self.results.get(timeout=timeout)
            except queue_module.Empty:
                errors.append("a feed holder did not report")
                continue
            latencies += got
            for k in counts:
                counts[k] += c[k]
            if error:
                errors.append(error)
        return sorted(latencies), counts, errors

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for p in self.procs:
            p.join(10)
            if p.is_alive():
                p.kill()


# -- measurements ----------------------------------------------------------------------

def prepare(target: Target, db: str) -> None:
    conn = r.connect(host=target.host, port=target.port)
    try:
        if TABLE in r.db(db).table_list().run(conn):
            r.db(db).table_drop(TABLE).run(conn)
        r.db(db).table_create(TABLE).run(conn)
    finally:
        conn.close(noreply_wait=False)


def measure_latency(target: Target, db: str, key_feeds: int, scale: float, window: Any) -> Row:
    feeds = scaled(key_feeds, scale)
    full_writes, rate = PACE[key_feeds]
    writes = scaled(full_writes, scale, least=5)
    row = Row(latency_key(key_feeds), latency_title(feeds), target.name, target.kind)
    try:
        prepare(target, db)
        rss_before = target.meter.rss_bytes()
        with Holders(target, db, feeds, expect=writes) as holders:
            rss_open = target.meter.rss_bytes()
            window.start()
            try:
                _write_paced(target, db, writes, rate)
                latencies, counts, errors = holders.collect(timeout=60 + writes / rate)
            finally:
                window.stop()
    except Exception as exc:
        return unavailable(row, f"{type(exc).__name__}: {exc}")
    if errors:
        return failed(row, errors[0])
    expected = feeds * writes
    if len(latencies) != expected:
        return failed(row, f"{len(latencies)} of {expected} notifications arrived ({counts['overflows']} overflows)")
    row.samples = len(latencies)
    row.p50_ms = percentile(latencies, 0.50) * 1000
    row.p99_ms = percentile(latencies, 0.99) * 1000
    if rss_before and rss_open:
        row.extra["rss_per_feed_kb"] = (rss_open - rss_before) / feeds / 1024
    row.extra |= {"feeds": feeds, "max_ms": latencies[-1] * 1000, "writes": writes, "writes_per_s": rate,
                  "cpu_us_per_notification": per(window.cpu_seconds, expected, 1e6)}
    row.peak_rss_mb = mebibytes(window.peak_rss)
    return row


def _write_paced(target: Target, db: str, writes: int, rate: float) -> None:
    conn = r.connect(host=target.host, port=target.port)
    table = r.db(db).table(TABLE)
    try:
        started = time.perf_counter()
        for i in range(writes):
            pause = started + i / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            table.insert({"i": i, "sent": time.time()}, durability="soft").run(conn)
    finally:
        conn.close(noreply_wait=False)


def measure_insert_with_feeds(target: Target, db: str, pool: ClientPool, clients: int, warmup: float,
                              duration: float, scale: float, window: Any) -> Row:
    feeds = scaled(THROUGHPUT_FEEDS, scale)
    row = Row(THROUGHPUT_KEY, throughput_title(feeds), target.name, target.kind)
    try:
        prepare(target, db)
        with Holders(target, db, feeds, expect=None) as holders:
            measured, reports = pool.measure(
                target.address, "insert_one", {"db": db, "table": TABLE, "durability": "soft"}, clients=clients,
                warmup=warmup, duration=duration, on_start=window.start, on_stop=window.stop,
            )
            holders.stop.set()
            _, counts, errors = holders.collect(timeout=60)
    except ClientError as exc:
        return unavailable(row, str(exc)) if exc.from_server else failed(row, str(exc))
    except Exception as exc:
        return unavailable(row, f"{type(exc).__name__}: {exc}")
    problems = [rep.error for rep in reports if rep.error] + errors
    if problems:
        return failed(row, problems[0])
    row.ops_per_s = measured.ops_per_second
    row.docs_per_s = measured.docs_per_second
    row.p50_ms = percentile(measured.latencies, 0.50) * 1000
    row.p99_ms = percentile(measured.latencies, 0.99) * 1000
    row.samples = len(measured.latencies)
    row.cpu_us_per_op = per(window.cpu_seconds, measured.ops, 1e6)
    row.peak_rss_mb = mebibytes(window.peak_rss)
    row.extra |= {"feeds": feeds, "notifications": counts["notifications"], "overflows": counts["overflows"]}
    return row
