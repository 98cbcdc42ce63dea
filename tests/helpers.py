"""What many tests need: waiting for a condition, a query running on its own
connection (a victim to watch or kill), and throwaway tables."""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Iterator

DEFAULT_TIMEOUT = 20.0


def poll(fetch: Callable[[], Any], done: Callable[[Any], bool] = bool, timeout: float = DEFAULT_TIMEOUT,
         every: float = 0.01, what: str = "condition") -> Any:
    """``fetch()`` until ``done`` says its value is the one awaited; fails with
    the last value seen after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s; last value: {value!r}")
        time.sleep(every)


def wait_for(predicate: Callable[[], Any], timeout: float = DEFAULT_TIMEOUT, every: float = 0.01,
             what: str = "condition") -> Any:
    """The first truthy value of ``predicate()``."""
    return poll(predicate, bool, timeout, every, what)


class Victim(threading.Thread):
    """Runs one query on its own connection and keeps what it returned or raised."""

    def __init__(self, r: Any, server: Any, query: Any, **run_options: Any) -> None:
        super().__init__(daemon=True)
        self.conn = r.connect(server.host, server.port)
        self.port = self.conn.client_port()
        self.query = query
        self.run_options = run_options
        self.error: BaseException | None = None
        self.result: Any = None
        self.finished_at = 0.0

    def run(self) -> None:
        try:
            self.result = self.query.run(self.conn, **self.run_options)
        except BaseException as e:  # noqa: BLE001 - the test inspects it
            self.error = e
        self.finished_at = time.perf_counter()

    def close(self) -> None:
        self.conn.close(noreply_wait=False)


def query_jobs_of(r: Any, conn: Any, port: int) -> list[dict]:
    """The ``query`` rows of ``rethinkdb.jobs`` of the connection from ``port``."""
    return list(r.db("rethinkdb").table("jobs").filter({"type": "query", "info": {"client_port": port}}).run(conn))


@contextmanager
def fresh_table(r: Any, conn: Any, prefix: str = "t", db: str = "test") -> Iterator[Any]:
    """A new table in ``db``, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    r.db(db).table_create(name).run(conn)
    try:
        yield r.db(db).table(name)
    finally:
        r.db(db).table_drop(name).run(conn)


def missing_tool(what: str, install: str) -> None:
    """A tool a test needs is missing: fail under CI (``CI=true``), where
    ``make test`` installs everything, else skip; either way say how to install it."""
    import os

    import pytest

    message = f"{what} is missing; install it with: {install}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
