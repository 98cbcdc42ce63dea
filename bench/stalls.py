"""Fairness: how long a trivial query waits while another client runs one
heavy in-memory query, and how fast such a query dies when its jobs row is
deleted.

The heavy query runs in a child process (a client thread in this process
would share the driver's GIL with the probe and measure the client, not the
server); the probe runs ``r.expr(1)`` back to back on its own connection for
as long as the heavy query runs, and reports p50, p99 and the slowest answer.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any, Callable

from rethinkdb import r

from .clients import percentile
from .results import Row, failed, unavailable
from .targets import Target

SIZE = 100_000  # elements of the in-memory arrays at scale 1
LITERAL_STRINGS = 50_000  # strings of 1,000 characters: a 50 MB literal at scale 1
HEAVY_TIMEOUT = 120.0


def _array(n: int) -> Any:
    return r.range(n).coerce_to("array")


def _ten_maps(a: Any) -> Any:
    for _ in range(10):
        a = a.map(lambda x: x.add(1))
    return a.count()


HEAVY: dict[str, Callable[[float], Any]] = {
    "ten nested maps over an array": lambda scale: _array(_size(scale)).do(_ten_maps),
    "order_by of an array of objects": lambda scale: r.range(_size(scale))
    .map(lambda i: {"k": i.mul(7919).mod(100003)})
    .coerce_to("array")
    .order_by("k")
    .count(),
    "group + reduce over an array": lambda scale: _array(_size(scale))
    .group(lambda x: x.mod(100))
    .reduce(lambda a, b: a.add(b)),
    "50 MB r.expr literal": lambda scale: r.expr(["x" * 1000] * max(10, round(LITERAL_STRINGS * scale))).count(),
}


def _size(scale: float) -> int:
    return min(SIZE, max(1000, round(SIZE * scale)))
STALL_KEY = "stall"
STALL_TITLE = "r.expr(1) while a heavy query runs"
KILL_KEY = "kill_heavy"
KILL_TITLE = "kill latency, heavy in-memory victim"


def _run_heavy(host: str, port: int, name: str, scale: float, done: Any) -> None:
    conn = r.connect(host=host, port=port)
    started = time.perf_counter()
    try:
        HEAVY[name](scale).run(conn)
        done.put((time.perf_counter() - started, None))
    except Exception as exc:  # the heavy query's failure is reported, not raised
        done.put((time.perf_counter() - started, f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close(noreply_wait=False)


def measure_stalls(target: Target, scale: float) -> list[Row]:
    return [_measure_one(target, name, scale) for name in HEAVY]


def _measure_one(target: Target, name: str, scale: float) -> Row:
    row = Row(f"{STALL_KEY}: {name}", f"{STALL_TITLE}: {name}", target.name, target.kind)
    context = multiprocessing.get_context("spawn")
    done = context.Queue()
    probe = r.connect(host=target.host, port=target.port)
    try:
        r.expr(1).run(probe)
        heavy = context.Process(target=_run_heavy, args=(target.host, target.port, name, scale, done))
        heavy.start()
        latencies = _probe_until(probe, done, heavy)
        heavy.join(HEAVY_TIMEOUT)
    finally:
        probe.close(noreply_wait=False)
    if done.empty():
        return failed(row, "the heavy query did not finish")
    seconds, error = done.get()
    if error is not None:
        return unavailable(row, error)
    return _latency_row(row, latencies, seconds)


def _probe_until(probe: Any, done: Any, heavy: Any) -> list[float]:
    latencies: list[float] = []
    deadline = time.monotonic() + HEAVY_TIMEOUT
    while done.empty() and heavy.is_alive() and time.monotonic() < deadline:
        began = time.perf_counter()
        r.expr(1).run(probe)
        latencies.append(time.perf_counter() - began)
    return sorted(latencies)


def _latency_row(row: Row, latencies: list[float], heavy_seconds: float) -> Row:
    if not latencies:
        return failed(row, "no probe query ran while the heavy query did")
    row.samples = len(latencies)
    row.p50_ms = percentile(latencies, 0.50) * 1000
    row.p99_ms = percentile(latencies, 0.99) * 1000
    row.extra["max_ms"] = latencies[-1] * 1000
    row.extra["heavy_seconds"] = heavy_seconds
    return row


def heavy_victim() -> Any:
    """The victim of the kill measurement: the heavy query that runs longest
    (at full size: a smaller one ends before it can be killed)."""
    return HEAVY["ten nested maps over an array"](1.0)
