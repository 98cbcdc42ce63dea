"""Client processes: each holds its own driver connection per server and runs
an operation in a closed loop (one query at a time) during a time window.

The main process prepares every client (connect, build the operation), then
gives them one shared window ``[start_at, stop_at)`` on the monotonic clock
(system-wide on Linux, so comparable across processes), preceded by a warm-up.
Clients record each operation's start and end; an operation counts for the
fraction of it that lies inside the window, so slow operations (a full scan
taking seconds) are counted fairly, and the server's CPU time read at the
window's edges matches the work counted.
"""

from __future__ import annotations

import math
import multiprocessing
import random
import time
import traceback
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

REPLY_GRACE = 120.0  # seconds a client may take to finish its last operation


class ClientError(RuntimeError):
    """A client failed; ``from_server`` tells a ReQL error from a local failure."""

    def __init__(self, message: str, from_server: bool) -> None:
        super().__init__(message)
        self.from_server = from_server


@dataclass
class ClientReport:
    starts: array = field(default_factory=lambda: array("d"))
    ends: array = field(default_factory=lambda: array("d"))
    docs: array = field(default_factory=lambda: array("q"))
    error: str | None = None
    error_from_server: bool = False


@dataclass
class Measured:
    """A closed-loop run, reduced to what the report shows."""

    seconds: float
    ops: float
    docs: float
    latencies: list[float]

    @property
    def ops_per_second(self) -> float:
        return self.ops / self.seconds

    @property
    def docs_per_second(self) -> float:
        return self.docs / self.seconds


def summarize(reports: list[ClientReport], start_at: float, stop_at: float) -> Measured:
    ops = docs = 0.0
    in_window: list[float] = []
    overlapping: list[float] = []
    for report in reports:
        for begin, end, n in zip(report.starts, report.ends, report.docs):
            share = _overlap(begin, end, start_at, stop_at)
            if share <= 0:
                continue
            ops += share
            docs += share * n
            overlapping.append(end - begin)
            if begin >= start_at and end <= stop_at:
                in_window.append(end - begin)
    latencies = sorted(in_window or overlapping)
    return Measured(stop_at - start_at, ops, docs, latencies)


def _overlap(begin: float, end: float, start_at: float, stop_at: float) -> float:
    if end <= begin:
        return 1.0 if start_at <= end < stop_at else 0.0
    inside = min(end, stop_at) - max(begin, start_at)
    return max(0.0, inside) / (end - begin)


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))  # nearest rank
    return sorted_values[index]


# -- the client process --------------------------------------------------------

class ClientProcess:
    """State of one client process: its connections and its prepared operation."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.connections: dict[tuple[str, int], Any] = {}
        self.operation: Callable[[], int] | None = None

    def connection(self, address: tuple[str, int]) -> Any:
        from rethinkdb import r

        conn = self.connections.get(address)
        if conn is None or not conn.is_open():
            conn = r.connect(host=address[0], port=address[1])
            self.connections[address] = conn
        return conn

    def prepare(self, address: tuple[str, int], op: str, params: dict[str, Any], seed: int) -> None:
        from .ops import OPS

        self.operation = OPS[op](self.connection(address), params, random.Random(seed))

    def run(self, start_at: float, stop_at: float) -> ClientReport:
        assert self.operation is not None
        report = ClientReport()
        operation, clock = self.operation, time.monotonic
        try:
            while True:
                begin = clock()
                if begin >= stop_at:
                    break
                n = operation()
                end = clock()
                if end > start_at:
                    report.starts.append(begin)
                    report.ends.append(end)
                    report.docs.append(n)
        except Exception as exc:  # reported to the main process, which decides
            report.error = describe_error(exc)
            report.error_from_server = is_server_error(exc)
        self.operation = None
        return report

    def call(self, address: tuple[str, int], task: str, args: tuple) -> Any:
        from .ops import TASKS

        return TASKS[task](self.connection(address), *args)

    def close(self) -> None:
        for conn in self.connections.values():
            try:
                conn.close(noreply_wait=False)
            except Exception:
                pass


def describe_error(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {message}"


def is_server_error(exc: BaseException) -> bool:
    from rethinkdb.errors import ReqlCompileError, ReqlRuntimeError

    return isinstance(exc, (ReqlRuntimeError, ReqlCompileError))


def client_main(pipe: Connection, index: int) -> None:
    client = ClientProcess(index)
    handlers: dict[str, Callable[..., Any]] = {
        "prepare": client.prepare,
        "run": client.run,
        "call": client.call,
    }
    try:
        while True:
            command, args = pipe.recv()
            if command == "exit":
                break
            try:
                pipe.send(("ok", handlers[command](*args)))
            except Exception as exc:
                pipe.send(("error", (describe_error(exc), is_server_error(exc), traceback.format_exc())))
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        client.close()


# -- the main process's side -----------------------------------------------------

class ClientPool:
    """``size`` client processes, kept for the whole benchmark."""

    def __init__(self, size: int) -> None:
        self._start(size)

    def _start(self, size: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.broken = False  # a client stopped answering: restart before reuse
        self.pipes: list[Connection] = []
        self.processes: list[Any] = []
        for index in range(size):
            parent, child = context.Pipe()
            process = context.Process(target=client_main, args=(child, index), name=f"bench-client-{index}", daemon=True)
            process.start()
            child.close()
            self.pipes.append(parent)
            self.processes.append(process)

    @property
    def size(self) -> int:
        return len(self.pipes)

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes if process.pid is not None]

    def _ask(self, pipes: list[Connection], command: str, args_per_client: list[tuple]) -> list[Any]:
        for pipe, args in zip(pipes, args_per_client):
            pipe.send((command, args))
        return self._replies(pipes, None)

    def _replies(self, pipes: list[Connection], timeout: float | None) -> list[Any]:
        """Every client's answer (all are read, so none is left behind); raises the first error."""
        answers = [self._reply(pipe, timeout) for pipe in pipes]
        for status, value in answers:
            if status == "error":
                message, from_server, _ = value
                raise ClientError(message, from_server)
        return [value for _, value in answers]

    def _reply(self, pipe: Connection, timeout: float | None) -> tuple[str, Any]:
        if timeout is not None and not pipe.poll(timeout):
            self.broken = True
            return ("error", (f"a client did not answer within {timeout:.0f} s", False, ""))
        return pipe.recv()

    def measure(
        self,
        address: tuple[str, int],
        op: str,
        params: dict[str, Any],
        *,
        clients: int,
        warmup: float,
        duration: float,
        on_start: Callable[[], None],
        on_stop: Callable[[], None],
        seed: int = 0,
    ) -> tuple[Measured, list[ClientReport]]:
        pipes = self.pipes[: max(1, min(clients, self.size))]
        self._ask(pipes, "prepare", [(address, op, params, seed * 1000 + i) for i in range(len(pipes))])
        start_at = time.monotonic() + warmup
        stop_at = start_at + duration
        for pipe in pipes:
            pipe.send(("run", (start_at, stop_at)))
        sleep_until(start_at)
        on_start()
        sleep_until(stop_at)
        on_stop()
        reports = self._replies(pipes, REPLY_GRACE)
        return summarize(reports, start_at, stop_at), reports

    def call_all(self, address: tuple[str, int], task: str, args_list: list[tuple]) -> list[Any]:
        """Run setup tasks spread over the clients, each client taking its share in turn."""
        results: list[Any] = []
        for offset in range(0, len(args_list), self.size):
            chunk = args_list[offset : offset + self.size]
            results += self._ask(self.pipes[: len(chunk)], "call", [(address, task, args) for args in chunk])
        return results

    def restart(self) -> None:
        size = self.size
        for process in self.processes:
            process.kill()
            process.join()
        self._start(size)

    def close(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(("exit", ()))
            except OSError:
                pass
        for process in self.processes:
            process.join(5)
            if process.is_alive():
                process.terminate()


def sleep_until(deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)

