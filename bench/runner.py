"""Runs the selected workloads on every server, interleaved: each workload is
measured on systables, then on the compared server, then on the null server,
before the next workload starts, so drift on the machine hits all alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .clients import ClientPool, describe_error
from .feeds import (
    LATENCY_FEEDS,
    THROUGHPUT_FEEDS,
    THROUGHPUT_KEY,
    latency_key,
    latency_title,
    measure_insert_with_feeds,
    measure_latency,
    scaled,
    throughput_title,
)
from .profiling import Profiler, summarize
from .report import log, significant
from .results import Row, failed
from .stalls import heavy_victim, measure_stalls
from .targets import Target
from .workloads import (
    CLOSED_LOOP,
    DB,
    INDEX_TITLE,
    KILL_TITLES,
    MEMORY_TITLE,
    ClosedLoop,
    Dataset,
    Settings,
    Window,
    build_index,
    connect,
    create_tables,
    load,
    measure_big_load,
    measure_closed_loop,
    measure_index_build,
    measure_kill,
    open_cursors,
    scan_victim,
)

DOCS_WORKLOADS = {"get", "filter", "get_all", "between", "order_by_limit"}
INDEX_WORKLOADS = {"get_all", "between", "order_by_limit"}
BIG_WORKLOADS = {"count", "count_range", "index_build", "memory", "kill_scan"}
TABLES = ["docs", "inserts", "bulk", "big"]


@dataclass
class Runner:
    settings: Settings
    pool: ClientPool
    servers: list[Target]  # systables first, then the compared server
    answerers: list[Target]  # null server (and its trio variant): no data, a fixed answer
    selected: list[str]
    rounds: int = 1
    profile: set[str] = field(default_factory=set)
    results_dir: Path = Path("bench/results")
    rows: list[Row] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profiles: dict[str, str] = field(default_factory=dict)
    datasets: dict[str, Dataset] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    # -- phases ---------------------------------------------------------------
    def run(self) -> list[Row]:
        chosen = set(self.selected)
        for server in self.servers:
            self.datasets[server.name] = self.set_up(server, chosen)
        for workload in CLOSED_LOOP:
            if workload.key in chosen and workload.key != "jobs" and workload.table != "big":
                self.closed_loop(workload)
        if "jobs" in chosen:
            self.closed_loop(next(w for w in CLOSED_LOOP if w.key == "jobs"))
        if "kill" in chosen:
            self.each_server("kill", KILL_TITLES["kill"], self.measure_kill)
        if "kill_heavy" in chosen:
            self.each_server("kill_heavy", KILL_TITLES["kill_heavy"], self.measure_kill_heavy)
        if "stall" in chosen:
            self.measure_stalls()
        self.measure_feeds(chosen)
        if chosen & BIG_WORKLOADS:
            self.load_big("memory" in chosen)
        for workload in CLOSED_LOOP:
            if workload.key in chosen and workload.table == "big":
                self.closed_loop(workload)
        if "kill_scan" in chosen:
            self.each_server("kill_scan", KILL_TITLES["kill_scan"], self.measure_kill_scan)
        if "index_build" in chosen:
            self.each_server("index_build", INDEX_TITLE, self.measure_index_build)
        return self.rows

    def measure_kill(self, server: Target, window: Window) -> Row:
        return measure_kill(server, self.settings.kill_samples, window)

    def measure_kill_heavy(self, server: Target, window: Window) -> Row:
        return measure_kill(server, self.settings.kill_samples, window, "kill_heavy", heavy_victim)

    def measure_stalls(self) -> None:
        """One row per heavy query and server (see ``stalls.py``)."""
        for server in self.servers:
            if self.datasets[server.name].setup_error:
                continue
            self.check_alive(server)
            for row in measure_stalls(server, self.scale):
                self.add(self.after(row, server))

    def measure_feeds(self, chosen: set[str]) -> None:
        """Notification latency with 1, 100 and 1,000 feeds, and inserts with feeds open (``feeds.py``)."""
        scale = self.scale
        for feeds in LATENCY_FEEDS:
            if latency_key(feeds) in chosen:
                self.each_server(latency_key(feeds), latency_title(scaled(feeds, scale)),
                                 lambda server, window, n=feeds: measure_latency(server, DB, n, scale, window))
        if THROUGHPUT_KEY in chosen:
            s = self.settings
            self.each_server(THROUGHPUT_KEY, throughput_title(scaled(THROUGHPUT_FEEDS, scale)),
                             lambda server, window: measure_insert_with_feeds(
                                 server, DB, self.pool, s.clients, s.warmup, s.duration, scale, window))

    @property
    def scale(self) -> float:
        return self.settings.sizes.docs / 100_000

    def measure_kill_scan(self, server: Target, window: Window) -> Row:
        return measure_kill(server, self.settings.kill_samples, window, "kill_scan", scan_victim)

    def measure_index_build(self, server: Target, window: Window) -> Row:
        return measure_index_build(server, self.settings.sizes.big, window)

    def set_up(self, server: Target, chosen: set[str]) -> Dataset:
        dataset = Dataset()
        began = time.perf_counter()
        try:
            conn = connect(server)
            try:
                create_tables(conn, TABLES)
                if chosen & DOCS_WORKLOADS:
                    load(self.pool, server, "docs", self.settings.sizes.docs)
                    dataset.setup_seconds["docs"] = time.perf_counter() - began
                if chosen & INDEX_WORKLOADS:
                    dataset.index_error = attempt(lambda: build_index(conn, "docs", "k"))
            finally:
                conn.close(noreply_wait=False)
        except Exception as exc:
            dataset.setup_error = describe_error(exc)
            self.progress(f"could not set up {server.name}: {dataset.setup_error}")
            return dataset
        self.progress(f"set up {server.name}: {self.settings.sizes.docs:,} documents in "
                      f"{time.perf_counter() - began:.1f} s"
                      + (f"; secondary index unavailable ({dataset.index_error})" if dataset.index_error else ""))
        return dataset

    def load_big(self, report_memory: bool) -> None:
        for server in self.servers:
            if setup_error := self.datasets[server.name].setup_error:
                if report_memory:
                    self.add(Row("memory", MEMORY_TITLE, server.name, server.kind, status=f"unavailable: {setup_error}"))
                continue
            self.check_alive(server)
            window = self.window(server, "memory")
            row = measure_big_load(server, self.pool, self.settings.sizes.big, window)
            self.datasets[server.name].big_loaded = row.ok
            self.finish_profile(server, "memory", window)
            if report_memory:
                self.add(row)
            else:
                self.progress(f"loaded the big table on {server.name}: {significant(row.docs_per_s)} docs/s")

    # -- measuring --------------------------------------------------------------
    def closed_loop(self, workload: ClosedLoop) -> None:
        extra = self.answerers
        by_server: dict[str, list[Row]] = {server.name: [] for server in self.servers + extra}
        for round_index in range(self.rounds):
            for server in self.round_order(round_index) + extra:
                by_server[server.name].append(self.closed_loop_once(workload, server, round_index))
        for rows in by_server.values():
            self.add(self.median(rows))

    def closed_loop_once(self, workload: ClosedLoop, server: Target, round_index: int) -> Row:
        if (reason := self.missing_setup(workload, server)) is not None:
            return Row(workload.key, workload.title, server.name, server.kind, status=f"unavailable: {reason}")
        self.check_alive(server)
        window = self.window(server, workload.key)
        try:
            if workload.key == "jobs" and server.holds_data:
                with open_cursors(server, self.settings.sizes.cursors) as opened:
                    row = measure_closed_loop(workload, server, self.pool, self.settings, window, seed=round_index)
                    row.extra["open_cursors"] = opened
            else:
                row = measure_closed_loop(workload, server, self.pool, self.settings, window, seed=round_index)
        except Exception as exc:  # a broken connection, a refused set-up: the row says so, the run goes on
            row = failed(Row(workload.key, workload.title, server.name, server.kind), describe_error(exc))
        self.finish_profile(server, workload.key, window)
        return self.after(row, server)

    def each_server(self, key: str, title: str, measure: Callable[[Target, Window], Row]) -> None:
        for server in self.servers:
            dataset = self.datasets[server.name]
            if dataset.setup_error or (key in BIG_WORKLOADS and not dataset.big_loaded):
                reason = dataset.setup_error or "the big table could not be loaded"
                self.add(Row(key, title, server.name, server.kind, status=f"unavailable: {reason}"))
                continue
            self.check_alive(server)
            window = self.window(server, key)
            try:
                row = measure(server, window)
            except Exception as exc:
                row = failed(Row(key, title, server.name, server.kind), describe_error(exc))
            self.finish_profile(server, key, window)
            self.add(self.after(row, server))

    def missing_setup(self, workload: ClosedLoop, server: Target) -> str | None:
        dataset = self.datasets.get(server.name)
        if dataset is None:  # null servers need no data
            return None
        if dataset.setup_error:
            return f"set-up failed: {dataset.setup_error}"
        if workload.needs_index and dataset.index_error:
            return f"index_create failed: {dataset.index_error}"
        if workload.table == "big" and not dataset.big_loaded:
            return "the big table could not be loaded"
        return None

    def median(self, rows: list[Row]) -> Row:
        if len(rows) > 1:
            self.runs.append({"workload": rows[0].workload, "target": rows[0].target, "rounds": [r.to_json() for r in rows]})
        measured = [r for r in rows if r.ok and r.ops_per_s is not None]
        if not measured:
            return rows[0]
        middle = statistics.median_low([r.ops_per_s for r in measured])
        return next(r for r in measured if r.ops_per_s == middle)

    # -- server health and profiles ------------------------------------------------
    def round_order(self, round_index: int) -> list[Target]:
        return list(reversed(self.servers)) if round_index % 2 else list(self.servers)

    def check_alive(self, server: Target) -> None:
        crash = server.crashed()
        if crash is not None:
            self.notes.append(f"{server.name} had stopped and was restarted: {crash.splitlines()[0]}")
            server.restart()

    def after(self, row: Row, server: Target) -> Row:
        crash = server.crashed()
        if crash is not None:
            failed(row, f"the server crashed: {crash}")
            self.notes.append(f"{server.name} crashed during {row.title}; restarted on the same data")
            server.restart()
        if self.pool.broken:
            self.pool.restart()
        return row

    def window(self, server: Target, key: str) -> Window:
        profiler = None
        if key in self.profile and server.kind == "systables" and server.pid is not None:
            profiler = Profiler(server.pid, self.results_dir / f"profile-{key}.txt")
        return Window(server, profiler, clients=self.pool.pids)

    def finish_profile(self, server: Target, key: str, window: Window) -> None:
        if window.profiler is None or window.cpu_start is None:
            return
        if window.profile_error:
            self.notes.append(f"profile of {key} failed: {window.profile_error}")
            return
        self.profiles[key] = summarize(window.profiler.output)
        log(self.profiles[key])

    # -- output -------------------------------------------------------------------------
    def add(self, row: Row) -> None:
        self.rows.append(row)
        if row.ok:
            figures = [f"{significant(row.ops_per_s)} ops/s" if row.ops_per_s else None,
                       f"{significant(row.docs_per_s)} docs/s" if row.docs_per_s != row.ops_per_s else None,
                       f"p50 {significant(row.p50_ms)} ms" if row.p50_ms is not None else None,
                       f"p99 {significant(row.p99_ms)} ms" if row.p99_ms is not None else None,
                       f"max {significant(row.extra['max_ms'])} ms" if row.extra.get("max_ms") is not None else None,
                       f"{significant(row.cpu_us_per_op)} us CPU/op" if row.cpu_us_per_op is not None else None,
                       f"{significant(row.cpu_us_per_doc)} us CPU/doc" if row.cpu_us_per_doc is not None else None]
            self.progress(f"{row.title} on {row.target}: " + ", ".join(f for f in figures if f))
        else:
            self.progress(f"{row.title} on {row.target}: {row.status}")

    def progress(self, message: str) -> None:
        log(f"[{time.monotonic() - self.started:6.1f}s] {message}")


def attempt(action: Callable[[], None]) -> str | None:
    """Run a set-up step; the error text when it failed."""
    try:
        action()
    except Exception as exc:
        return describe_error(exc)
    return None
