"""The workloads, and how each is measured on one server.

Closed-loop workloads run in the client processes (see ``clients.py``); the
others (jobs reads with cursors open, kill latency, index build, memory) need
a set-up or a timing of their own, done here with the driver in the main
process.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rethinkdb import r
from rethinkdb.errors import ReqlOpIndeterminateError

from .clients import ClientError, ClientPool, Measured, describe_error, percentile
from .data import DOCS_PER_K
from .feeds import KEYS as FEED_KEYS
from .profiling import Profiler
from .procstat import CLOCK_TICKS, ProcessMeter, directory_bytes, machine_busy_seconds
from .results import Row, failed, mebibytes, per, unavailable
from .targets import Target

DB = "bench"
INSERT_BATCH = 1000
BETWEEN_WIDTH = 10  # index values, 10 documents each
ORDER_LIMIT = 100
CURSORS_PER_CONNECTION = 100
KILL_TIMEOUT = 5.0
KILL_MESSAGE = "Query terminated by the `rethinkdb.jobs` table."
INDEXED_FIELD = "age"  # built on the big table by the index-build workload
JOBS = r.db("rethinkdb").table("jobs")
MIN_CPU_TICKS = 2  # fewer means the window was too short for a CPU figure


@dataclass(frozen=True)
class Sizes:
    docs: int  # the table of point gets, filters and index reads
    big: int  # count, index build, memory
    cursors: int

    @classmethod
    def at_scale(cls, scale: float) -> "Sizes":
        return cls(
            docs=max(100, round(100_000 * scale)),
            big=max(1000, round(1_000_000 * scale)),
            cursors=max(10, round(1000 * scale)),
        )

    @property
    def keys(self) -> int:
        return math.ceil(self.docs / DOCS_PER_K)


@dataclass
class Settings:
    sizes: Sizes
    clients: int
    duration: float
    warmup: float
    kill_samples: int


@dataclass(frozen=True)
class ClosedLoop:
    key: str
    title: str
    op: str
    table: str
    params: Callable[[Sizes], dict[str, Any]] = lambda sizes: {}
    needs_index: bool = False
    scanned: Callable[[Sizes], int] | None = None  # documents read per query, when it is a scan
    per_doc: bool = False
    max_clients: int | None = None  # for queries that keep the server busy for seconds each

    @property
    def reads_documents(self) -> bool:
        return self.scanned is not None or self.op.startswith("count")


CLOSED_LOOP = [
    ClosedLoop("get", "point get", "point_get", "docs", lambda s: {"rows": s.docs}),
    ClosedLoop("insert_soft", "insert 1 doc, soft", "insert_one", "inserts", lambda s: {"durability": "soft"}),
    ClosedLoop("insert_hard", "insert 1 doc, hard", "insert_one", "inserts", lambda s: {"durability": "hard"}),
    ClosedLoop("insert_1000", "insert 1000 docs/query", "insert_batch", "bulk", lambda s: {"batch": INSERT_BATCH}, per_doc=True),
    ClosedLoop("filter", "filter unindexed, 1 %", "filter_unindexed", "docs", scanned=lambda s: s.docs, per_doc=True),
    ClosedLoop("get_all", "get_all on index (10 docs)", "get_all", "docs", lambda s: {"keys": s.keys}, needs_index=True),
    ClosedLoop("between", "between on index (100 docs)", "between", "docs",
               lambda s: {"keys": s.keys, "width": BETWEEN_WIDTH}, needs_index=True),
    ClosedLoop("order_by_limit", "order_by(index).limit(100)", "order_by_limit", "docs",
               lambda s: {"limit": ORDER_LIMIT}, needs_index=True),
    ClosedLoop("jobs", "read jobs, cursors open", "read_jobs", "docs"),
    ClosedLoop("count", "count()", "count", "big", lambda s: {"rows": s.big}, per_doc=True),
    # The same count when it has to read the keys (any count of a selection does).
    ClosedLoop("count_range", "between(minval, maxval).count()", "count_range", "big",
               lambda s: {"rows": s.big}, per_doc=True, max_clients=1),
]
SPECIAL = ["kill", "kill_scan", "kill_heavy", "stall", *FEED_KEYS, "index_build", "memory"]
KILL_TITLES = {
    "kill": "kill latency, r.range victim",
    "kill_scan": "kill latency, table-scan victim",
    "kill_heavy": "kill latency, heavy in-memory victim (ten maps over 100,000)",
}
INDEX_TITLE = "index build"
MEMORY_TITLE = "memory, ~300 B docs"
ALL_KEYS = [w.key for w in CLOSED_LOOP] + SPECIAL


# -- closed-loop workloads -------------------------------------------------------

@dataclass
class Window:
    """What is read from the server at the edges of the measured window (and,
    with ``--profile``, py-spy recording it in between)."""

    target: Target
    profiler: Profiler | None = None
    clients: list[int] = field(default_factory=list)  # client process ids, whose CPU is read too
    profile_error: str | None = None
    cpu_start: float | None = None
    cpu_stop: float | None = None
    peak_rss: int | None = None
    client_cpu_seconds: float | None = None
    background_cores: float | None = None  # used by processes outside the benchmark
    _began: tuple[float, float | None, tuple[float, float]] = (0.0, None, (0.0, 0.0))

    def start(self) -> None:
        meter = self.target.meter
        meter.reset_peak()
        self._began = (time.monotonic(), machine_busy_seconds(), self._bench_cpu())
        self.cpu_start = meter.cpu_seconds()
        if self.profiler is not None:
            self.profiler.start()

    def stop(self) -> None:
        meter = self.target.meter
        self.cpu_stop = meter.cpu_seconds()
        self.peak_rss = meter.peak_rss_bytes()
        self._account_machine()
        if self.profiler is not None:
            self.profile_error = self.profiler.stop()

    def _bench_cpu(self) -> tuple[float, float]:
        """CPU seconds of the client processes, and of this one with its helpers."""
        clients = sum(ProcessMeter(pid).cpu_seconds() or 0.0 for pid in self.clients)
        own = os.times()
        return clients, own.user + own.system + own.children_user + own.children_system

    def _account_machine(self) -> None:
        began, busy, (clients, own) = self._began
        seconds, busy_now, (clients_now, own_now) = time.monotonic() - began, machine_busy_seconds(), self._bench_cpu()
        self.client_cpu_seconds = clients_now - clients if self.clients else None
        if busy is None or busy_now is None or self.cpu_seconds is None or seconds <= 0:
            return
        ours = self.cpu_seconds + (clients_now - clients) + (own_now - own)
        self.background_cores = max(0.0, (busy_now - busy - ours) / seconds)

    @property
    def cpu_seconds(self) -> float | None:
        """Server CPU in the window; None when too little to tell from the clock-tick accounting."""
        if self.cpu_start is None or self.cpu_stop is None:
            return None
        spent = self.cpu_stop - self.cpu_start
        return spent if round(spent * CLOCK_TICKS) >= MIN_CPU_TICKS else None


def measure_closed_loop(
    workload: ClosedLoop, target: Target, pool: ClientPool, settings: Settings, window: Window, seed: int = 0
) -> Row:
    row = Row(workload.key, workload.title, target.name, target.kind)
    params = {"db": DB, "table": workload.table} | workload.params(settings.sizes)
    try:
        measured, reports = pool.measure(
            target.address, workload.op, params, clients=min(settings.clients, workload.max_clients or settings.clients),
            warmup=settings.warmup,
            duration=settings.duration, on_start=window.start, on_stop=window.stop, seed=seed,
        )
    except ClientError as exc:
        return unavailable(row, str(exc)) if exc.from_server else failed(row, str(exc))
    errors = [report for report in reports if report.error]
    if errors:
        first = errors[0]
        return unavailable(row, first.error) if first.error_from_server else failed(row, first.error)
    if measured.ops <= 0:
        return failed(row, "no operation completed in the window")
    fill_closed_loop(row, workload, measured, window, settings.sizes)
    if not target.holds_data and workload.reads_documents:
        row.docs_per_s = row.cpu_us_per_doc = None  # it read nothing: only its query rate means something
    return row


def fill_closed_loop(row: Row, workload: ClosedLoop, measured: Measured, window: Window, sizes: Sizes) -> None:
    row.ops_per_s = measured.ops_per_second
    row.docs_per_s = measured.docs_per_second
    if workload.scanned is not None:
        row.extra["rows_per_query"] = measured.docs / measured.ops
        row.docs_per_s = measured.ops_per_second * workload.scanned(sizes)
    row.p50_ms = ms(percentile(measured.latencies, 0.50))
    row.p99_ms = ms(percentile(measured.latencies, 0.99))
    row.samples = len(measured.latencies)
    row.cpu_us_per_op = per(window.cpu_seconds, measured.ops, 1e6)
    docs = row.docs_per_s * measured.seconds if row.docs_per_s else None
    if workload.per_doc:
        row.cpu_us_per_doc = per(window.cpu_seconds, docs, 1e6)
    row.peak_rss_mb = mebibytes(window.peak_rss)
    row.client_cpu_us_per_op = per(window.client_cpu_seconds, measured.ops, 1e6)
    row.extra["background_cores"] = window.background_cores


def ms(seconds: float | None) -> float | None:
    return seconds * 1000 if seconds is not None else None


# -- data set-up -------------------------------------------------------------------

@dataclass
class Dataset:
    """What was set up on one server, and what could not be."""

    setup_error: str | None = None
    index_error: str | None = None
    big_loaded: bool = False
    setup_seconds: dict[str, float] = field(default_factory=dict)


def connect(target: Target) -> Any:
    return r.connect(host=target.host, port=target.port)


def create_tables(conn: Any, names: list[str]) -> None:
    if DB in r.db_list().run(conn):
        r.db_drop(DB).run(conn)
    r.db_create(DB).run(conn)
    for name in names:
        r.db(DB).table_create(name).run(conn)


def load(pool: ClientPool, target: Target, table: str, count: int) -> None:
    chunk = max(1, math.ceil(count / (pool.size * 4)))
    ranges = [(DB, table, low, min(count, low + chunk), INSERT_BATCH) for low in range(0, count, chunk)]
    loaded = sum(pool.call_all(target.address, "load_range", ranges))
    if loaded != count:
        raise RuntimeError(f"loaded {loaded} of {count} documents into {DB}.{table}")


def build_index(conn: Any, table: str, name: str) -> None:
    t = r.db(DB).table(table)
    if name in t.index_list().run(conn):
        t.index_drop(name).run(conn)
    t.index_create(name).run(conn)
    t.index_wait(name).run(conn)


# -- jobs table with cursors open ---------------------------------------------------

@contextmanager
def open_cursors(target: Target, count: int) -> Iterator[int]:
    """Hold ``count`` open cursors (idle between batches) on several connections."""
    conns = [connect(target) for _ in range(math.ceil(count / CURSORS_PER_CONNECTION))]
    cursors = []
    try:
        for i in range(count):
            stream = r.range(10**12)
            cursors.append(stream.run(conns[i // CURSORS_PER_CONNECTION], max_batch_rows=1))
        yield len(cursors)
    finally:
        for conn in conns:
            conn.close(noreply_wait=False)


# -- kill latency ----------------------------------------------------------------------

def range_victim() -> Any:
    """Cheap per row and endless in practice: it ends only by being killed."""
    return r.range(10**12).filter(lambda x: x < 0).count()


def scan_victim() -> Any:
    """A table scan that selects nothing: the common long query."""
    return r.db(DB).table("big").filter(lambda doc: doc["bucket"] < 0).count()


@dataclass
class Victim:
    """A connection running a long query in a thread, waiting to be killed."""

    conn: Any
    query: Any
    error: BaseException | None = None
    failed_at: float | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self.error, self.failed_at = None, None
        self.done.clear()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            self.query.run(self.conn)
        except BaseException as exc:  # the kill arrives as an exception
            self.failed_at = time.perf_counter()
            self.error = exc
        self.done.set()

    @property
    def finished_unkilled(self) -> bool:
        return self.done.is_set() and self.error is None


class FinishedFirst(Exception):
    """The victim query ended on its own before it could be killed."""


def find_job(conn: Any, victim: Victim, timeout: float = KILL_TIMEOUT) -> list | None:
    deadline = time.monotonic() + timeout
    query = JOBS.filter({"type": "query", "info": {"client_port": victim.conn.client_port()}})["id"]
    while time.monotonic() < deadline and not victim.done.is_set():
        ids = list(query.run(conn))
        if ids:
            return ids[0]
        time.sleep(0.001)
    return None


def measure_kill(target: Target, samples: int, window: Window, key: str = "kill",
                 victim_query: Callable[[], Any] = range_victim) -> Row:
    row = Row(key, KILL_TITLES[key], target.name, target.kind)
    killer = connect(target)
    latencies: list[float] = []
    delete_times: list[float] = []
    problems: list[str] = []
    victim = Victim(connect(target), victim_query())
    window.start()
    try:
        for _ in range(samples):
            problem = kill_once(killer, victim, latencies, delete_times)
            if problem is not None:
                problems.append(problem)
                victim.conn.close(noreply_wait=False)
                victim = Victim(connect(target), victim_query())
                if len(problems) >= 3:
                    break
    except FinishedFirst:
        return unavailable(row, "the victim query ends before it can be killed at this scale")
    except Exception as exc:
        return unavailable(row, describe_error(exc))
    finally:
        window.stop()
        victim.conn.close(noreply_wait=False)
        killer.close(noreply_wait=False)
    row.extra["delete_p50_ms"] = ms(percentile(sorted(delete_times), 0.50))
    return kill_row(row, sorted(latencies), problems, samples)


def kill_once(killer: Any, victim: Victim, latencies: list[float], delete_times: list[float]) -> str | None:
    victim.start()
    job_id = find_job(killer, victim)
    if victim.finished_unkilled:
        raise FinishedFirst()
    if job_id is None:
        return "the victim query never appeared in rethinkdb.jobs"
    killed_at = time.perf_counter()
    result = JOBS.get(job_id).delete().run(killer)
    delete_times.append(time.perf_counter() - killed_at)  # the deleter's own round trip
    if not victim.done.wait(KILL_TIMEOUT):
        return f"the victim was not interrupted within {KILL_TIMEOUT:.0f} s (delete returned {result})"
    if victim.finished_unkilled:
        raise FinishedFirst()
    if not isinstance(victim.error, ReqlOpIndeterminateError) or victim.error.message != KILL_MESSAGE:
        return f"the victim failed with {type(victim.error).__name__}: {victim.error}"
    latencies.append(victim.failed_at - killed_at)
    return None


def kill_row(row: Row, latencies: list[float], problems: list[str], samples: int) -> Row:
    row.samples = len(latencies)
    row.p50_ms = ms(percentile(latencies, 0.50))
    row.p99_ms = ms(percentile(latencies, 0.99))
    row.extra["max_ms"] = ms(latencies[-1]) if latencies else None
    if problems:
        return failed(row, f"{len(problems)} of {samples} kills went wrong; first: {problems[0]}")
    return row


# -- index build and memory -------------------------------------------------------------

def measure_index_build(target: Target, count: int, window: Window) -> Row:
    row = Row("index_build", INDEX_TITLE, target.name, target.kind)
    conn = connect(target)
    t = r.db(DB).table("big")
    try:
        if INDEXED_FIELD in t.index_list().run(conn):
            t.index_drop(INDEXED_FIELD).run(conn)
        window.start()
        began = time.perf_counter()
        try:
            t.index_create(INDEXED_FIELD).run(conn)
            t.index_wait(INDEXED_FIELD).run(conn)
        finally:
            seconds = time.perf_counter() - began
            window.stop()
        found = t.get_all(18, index=INDEXED_FIELD).count().run(conn)
    except Exception as exc:
        return unavailable(row, describe_error(exc))
    finally:
        conn.close(noreply_wait=False)
    expected = math.ceil(count / 60)  # age = 18 + id % 60
    if found != expected:
        return failed(row, f"the built index finds {found} documents with age 18, expected {expected}")
    row.docs_per_s = count / seconds
    row.cpu_us_per_doc = per(window.cpu_seconds, count, 1e6)
    row.peak_rss_mb = mebibytes(window.peak_rss)
    row.extra["seconds"] = seconds
    row.samples = 1
    return row


def measure_big_load(target: Target, pool: ClientPool, count: int, window: Window) -> Row:
    """Load the big table; the row reports the load rate and the memory it took."""
    row = Row("memory", MEMORY_TITLE, target.name, target.kind)
    meter = target.meter
    rss_before = meter.rss_bytes()
    window.start()
    began = time.perf_counter()
    try:
        load(pool, target, "big", count)
    except ClientError as exc:
        return unavailable(row, str(exc)) if exc.from_server else failed(row, str(exc))
    finally:
        seconds = time.perf_counter() - began
        window.stop()
    rss_after = meter.rss_bytes()
    row.docs_per_s = count / seconds
    row.cpu_us_per_doc = per(window.cpu_seconds, count, 1e6)
    row.peak_rss_mb = mebibytes(window.peak_rss)
    row.samples = count
    row.extra |= {
        "documents": count,
        "rss_before_mb": mebibytes(rss_before),
        "rss_after_mb": mebibytes(rss_after),
        "rss_bytes_per_doc": per(rss_after - rss_before, count) if rss_after and rss_before else None,
        "disk_mb": mebibytes(directory_bytes(target.data_dir)) if target.data_dir else None,
    }
    return row
