"""The server: storage, catalog, users, jobs, system tables and listeners, all
in one trio nursery."""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import string
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import trio

from . import __version__
from .auth import Auth
from .catalog import Catalog
from .jobs.registry import JobRegistry
from .js import JsPool
from .datum import errors as E

RETHINKDB_VERSION = "2.4.4"
LOG_KEEP = 1000


@dataclass
class ServerOptions:
    bind: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    driver_port: int = 28015
    http_port: int = 8080
    cluster_port: int = 29015
    port_offset: int = 0
    directory: str = "systables_data"
    server_name: str | None = None
    initial_password: str | None = None
    http_admin: bool = True
    cache_size_mb: int | str = "auto"
    argv: list[str] = field(default_factory=lambda: list(sys.argv))


@dataclass
class LogEntry:
    timestamp: float
    uptime: float
    level: str
    message: str


def default_server_name() -> str:
    host = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())
    suffix = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(3))
    return f"{host}_{suffix}"


class Server:
    version = f"{RETHINKDB_VERSION}-systables-{__version__}"
    handshake_timeout = 60.0

    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        self.jobs = JobRegistry()
        self.js = JsPool()
        self.sessions: set[Any] = set()
        self.catalog = Catalog(self)
        self.logs: deque[LogEntry] = deque(maxlen=LOG_KEEP)
        self.started = time.time()
        self.driver_addresses: list[tuple[str, int]] = []
        self.http_addresses: list[tuple[str, int]] = []
        self.connections = 0
        self.shutting_down = False
        self.storage: Any = None
        self.auth: Auth | None = None  # type: ignore[assignment]
        self.server_id = ""
        self.name = ""
        self._log_file: Any = None
        self._nursery: trio.Nursery | None = None

    # -- lifecycle -----------------------------------------------------------
    def open(self) -> None:
        from .storage import Storage
        from .system import SystemTables

        os.makedirs(self.options.directory, exist_ok=True)
        self._log_file = open(os.path.join(self.options.directory, "log_file"), "a", buffering=1, encoding="utf-8")
        from .indexes import index_compiler

        self.storage = Storage.open(self.options.directory, jobs=self.jobs, compile_index=index_compiler(self))
        self.server_id = self.storage.server_id
        self.name = self._load_name()
        self.auth = Auth(self.storage, self.options.initial_password)
        self.system = SystemTables(self)
        if not self.storage.get_meta("server/initialized"):
            # A new data directory starts with the `test` database, as RethinkDB's does.
            self.storage.create_db("test")
            self.storage.put_meta("server/initialized", True)
        self.log("notice", f"Running systables {__version__} (RethinkDB protocol {RETHINKDB_VERSION})")
        self.log("notice", f"Server ready, \"{self.name}\" {self.server_id}")

    def _load_name(self) -> str:
        stored = self.storage.get_meta("server/name")
        name = self.options.server_name or stored or default_server_name()
        if name != stored:
            self.storage.put_meta("server/name", name)
        return name

    def rename(self, name: str) -> None:
        self.name = name
        self.storage.put_meta("server/name", name)

    def close(self) -> None:
        self.js.close()
        if self.storage is not None:
            self.storage.close()
            self.storage = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run until cancelled; reports ``self`` through ``task_status`` once listening."""
        self.open()
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                await nursery.start(self.storage.run)
                await self._listen_driver(nursery)
                if self.options.http_admin:
                    await self._listen_http(nursery)
                nursery.start_soon(self._index_builders)
                task_status.started(self)
        finally:
            self.close()

    async def _listen_driver(self, nursery: trio.Nursery) -> None:
        from .net import accept_connections, open_listener

        port = self.options.driver_port + self.options.port_offset if self.options.driver_port else 0
        listeners = []
        for host in self.options.bind:
            listener = open_listener(host, port)
            addr = listener.getsockname()
            self.driver_addresses.append((addr[0], addr[1]))
            port = addr[1]  # with port 0, every address gets the port the first one got
            listeners.append(listener)
        for listener in listeners:
            nursery.start_soon(accept_connections, self, listener)

    async def _listen_http(self, nursery: trio.Nursery) -> None:
        try:
            from .web.app import serve_http
        except ImportError:
            return
        port = self.options.http_port + self.options.port_offset if self.options.http_port else 0
        self.http_addresses = await nursery.start(serve_http, self, self.options.bind, port)

    async def _index_builders(self) -> None:
        try:
            from .indexes import run_index_builders
        except ImportError:
            return
        await run_index_builders(self)

    async def shutdown(self, grace: float = 2.0) -> None:
        """Answer queries in flight with "Server is shutting down." and stop."""
        self.shutting_down = True
        self.log("notice", "Server got SIGINT or SIGTERM; shutting down...")
        for session in list(self.sessions):
            for q in list(session.queries.values()):
                session.interrupt(q, E.SERVER_SHUTDOWN)
        with trio.move_on_after(grace):
            while any(s.queries for s in self.sessions):
                await trio.sleep(0.01)
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    # -- bookkeeping ---------------------------------------------------------
    def connection_opened(self) -> None:
        self.connections += 1

    def connection_closed(self) -> None:
        self.connections -= 1

    def server_info(self) -> dict:
        return {"id": self.server_id, "name": self.name, "proxy": False}

    def log(self, level: str, message: str) -> None:
        now = time.time()
        self.logs.append(LogEntry(now, now - self.started, level, message))
        if self._log_file is not None:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e9):09d}"
            self._log_file.write(f"{stamp} {now - self.started:.6f}s {level}: {message}\n")

    def log_exception(self, exc: BaseException) -> None:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.log("error", f"Unexpected exception: {text}")

    # -- admin operations used by several terms and system tables -----------
    async def drop_table(self, table_id: str) -> None:
        meta = self.storage.tables.get(table_id)
        if meta is None:
            return
        self.storage.drop_table(table_id)
        self.auth.forget_scope((meta.db_id, table_id))

    async def drop_db(self, db_id: str) -> int:
        """Drop a database and its tables; returns how many tables were dropped."""
        dropped = self.storage.drop_db(db_id)
        self.auth.forget_scope((db_id,))
        return len(dropped)


async def run_server(options: ServerOptions, on_ready: Any = None) -> None:
    """Serve until SIGINT/SIGTERM, then shut down cleanly."""
    server = Server(options)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        if on_ready is not None:
            on_ready(server)
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                await server.shutdown()
                break
        nursery.cancel_scope.cancel()
