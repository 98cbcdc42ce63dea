"""The composition root: it opens the storage engine, builds every service,
hands each consumer exactly the collaborators it uses, and runs them all in
one trio nursery.  Nothing else constructs services, and nothing reaches one
through this object: consumers are given theirs."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any, Awaitable, Callable

import trio

from . import garbage, timeslice
from .admin import Admin
from .auth import Auth
from .catalog import Catalog
from .cluster import CatalogActions, Cluster, ClusterOptions, Replication, TableConfig, TableDirectory
from .feeds.hub import ChangeHub
from .feeds.system import SystemFeeds
from .indexes.builder import IndexBuilds
from .jobs.counters import TableCounters
from .jobs.history import JobHistory
from .jobs.registry import JobRegistry
from .jobs.stalls import StallWatcher
from .js import JsPool
from .logbook import LogBook
from .net import DriverPort, open_listener
from .pipeline.logins import LoginThrottle
from .node import RETHINKDB_VERSION, Node, ServerOptions
from .pipeline.sessions import Sessions
from .reql.context import Services
from .reql.feeds import Hubs
from .reql.index_functions import IndexFunctions
from .storage import Storage
from .system import SystemTables
from .web.app import serve_http
from . import __version__

__all__ = ["Server", "ServerOptions", "run_server"]

SHUTDOWN_GRACE = 2.0


class Server:
    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        self.services: Services | None = None
        self.sessions = Sessions()
        self._nursery: trio.Nursery | None = None
        self._cluster: Cluster | None = None
        self._stalls: StallWatcher | None = None
        self._logins = LoginThrottle()  # failed logins per address, driver port and console together

    # -- building ------------------------------------------------------------------
    def open(self) -> Services:
        """Open the data directory and build the services (no task runs yet)."""
        os.makedirs(self.options.directory, exist_ok=True)
        jobs = JobRegistry()
        jobs.add_source("query", self.sessions)
        storage = Storage.open(self.options.directory, jobs=jobs)
        node = Node(self.options, storage)
        log = LogBook(self.options.directory, node.started)
        catalog = Catalog(storage, node)
        auth = Auth(storage, self.options.initial_password)
        counters = TableCounters()
        admin = Admin(storage, catalog, auth, counters)
        history = self._job_history(storage, jobs)
        cluster = self._cluster = Cluster(self._cluster_options(node), node, log)
        system = SystemTables(
            node=node, log=log, storage=storage, catalog=catalog, admin=admin, auth=auth,
            jobs=jobs, counters=counters, clients=self.sessions, cluster=cluster,
            connections=self.sessions, history=history,
        )
        index_functions = IndexFunctions()
        feeds = Hubs(ChangeHub(storage, log), SystemFeeds())
        replication = self._replication(storage, node, log, cluster, admin, jobs, feeds.system)
        catalog.placement = replication
        cluster.describe = lambda: {**system.describe_server(), **replication.describe()}
        admin.on_table_dropped(feeds.tables.table_dropped)
        self._follow_system_changes(feeds.system, admin, jobs, log)
        cluster.on_change.append(lambda: [feeds.system.notify(t) for t in ("server_config", "server_status", "current_issues")])
        history.on_change.append(lambda: feeds.system.notify("job_history"))
        services = self.services = Services(
            node=node, log=log, storage=storage, catalog=catalog, admin=admin, auth=auth, jobs=jobs,
            indexes=IndexBuilds(storage, jobs, log), index_functions=index_functions,
            counters=counters, system=system, js=JsPool(), feeds=feeds, replication=replication,
        )
        index_functions.bind(services)
        storage.compile_index = index_functions.for_index
        admin.initialize()
        log.log("notice", f"Running systables {__version__} (RethinkDB protocol {RETHINKDB_VERSION})")
        log.log("notice", f"Server ready, \"{node.name}\" {node.server_id}")
        return services

    def _cluster_options(self, node: Node) -> ClusterOptions:
        o = self.options
        return ClusterOptions(
            directory=o.directory, bind=o.bind, port=node.port(o.cluster_port), join=o.join,
            canonical_addresses=o.canonical_addresses,
        )

    @staticmethod
    def _replication(
        storage: Storage, node: Node, log: LogBook, cluster: Cluster, admin: Admin, jobs: JobRegistry, system_feeds: SystemFeeds,
    ) -> Replication:
        """The cluster's tables: mirrored between etcd and the catalog through
        the admin service's own operations, and replicated; idle (no task,
        no listener) unless this server is part of a cluster."""
        directory = TableDirectory(storage, node, log)

        def create_table(config: TableConfig) -> None:
            f = config.fields
            admin.create_table(f["db_id"], f["name"], primary_key=f["primary_key"], durability=f["durability"],
                               write_acks=f["write_acks"], table_id=config.id)

        directory.actions = CatalogActions(
            create_db=lambda name, db_id: admin.create_db(name, db_id=db_id), drop_db=admin.drop_db,
            create_table=create_table, drop_table=admin.drop_table,
        )
        admin.on_change.append(directory.local_changed)
        directory.on_change.append(lambda: [system_feeds.notify(t) for t in ("table_config", "table_status", "db_config")])
        replication = Replication(storage, node, cluster, directory, jobs, log)
        cluster.coordinated += [directory.run, replication.run]
        cluster.handlers["replicate"] = replication.serve_replica
        return replication

    def _job_history(self, storage: Storage, jobs: JobRegistry) -> JobHistory:
        """The job history, fed by the registry (background jobs) and the
        pipeline (queries); and the stall watcher, which reads its settings."""
        history = JobHistory(storage)
        jobs.on_finished.append(history.record_job)
        self.sessions.record_to(history)
        self._stalls = StallWatcher(jobs, lambda: history.settings.stalled_after_sec)
        return history

    def _follow_system_changes(self, system_feeds: SystemFeeds, admin: Admin, jobs: JobRegistry, log: LogBook) -> None:
        """Tell system-table feeds when their rows may have changed."""
        admin.on_change.append(system_feeds.notify)
        jobs.on_change.append(lambda: system_feeds.notify("jobs"))
        jobs.on_change.append(lambda: system_feeds.notify("current_issues"))  # stalls come and go
        self.sessions.on_job_change.append(lambda: system_feeds.notify("jobs"))
        self.sessions.on_job_change.append(lambda: system_feeds.notify("connections"))  # their `queries`
        self.sessions.on_connection_change.append(lambda: system_feeds.notify("connections"))
        log.on_line.append(lambda: system_feeds.notify("logs"))

    def close(self) -> None:
        services = self.services
        if services is None:
            return
        services.js.close()
        services.storage.close()
        services.log.close()
        self.services = None

    # -- running -------------------------------------------------------------------
    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run until cancelled; reports ``self`` through ``task_status`` once listening."""
        services = self.open()
        timeslice.install()
        garbage.configure()
        # Worker threads (large parses, PBKDF2, fsync) hand the GIL back to the
        # event loop after at most this long (the default, 5 ms, is too long).
        sys.setswitchinterval(timeslice.SLICE_SECONDS)
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                await nursery.start(services.storage.run)
                assert self._cluster is not None
                await nursery.start(self._cluster.run)
                services.node.cluster_port = self._cluster.port
                self._listen_driver(nursery, services)
                if self.options.http_admin:
                    port = services.node.port(self.options.http_port)
                    services.node.http_addresses = await nursery.start(
                        serve_http, services, self.sessions, self.options.bind, port, self._logins
                    )
                nursery.start_soon(services.indexes.run)
                nursery.start_soon(garbage.run)
                nursery.start_soon(services.feeds.system.run)
                nursery.start_soon(self.sessions.time_limits.run)
                assert self._stalls is not None
                nursery.start_soon(self._stalls.run)
                task_status.started(self)
        finally:
            self.close()

    def _listen_driver(self, nursery: trio.Nursery, services: Services) -> None:
        port = services.node.port(self.options.driver_port)
        driver = DriverPort(services, self.sessions, self._logins)
        for host in self.options.bind:
            listener = open_listener(host, port)
            addr = listener.getsockname()
            services.node.driver_addresses.append((addr[0], addr[1]))
            port = addr[1]  # with port 0, every address gets the port the first one got
            nursery.start_soon(driver.accept, listener)

    async def shutdown(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Answer queries in flight with "Server is shutting down." and stop."""
        if self.services is not None:
            self.services.log.log("notice", "Server got SIGINT or SIGTERM; shutting down...")
        await self.sessions.shutdown(grace)
        if self._cluster is not None:
            await self._cluster.leave()
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    # -- what the command line prints ---------------------------------------------
    @property
    def node(self) -> Node:
        assert self.services is not None
        return self.services.node


async def run_server(options: ServerOptions, on_ready: Any = None,
                     stopped: Callable[[], Awaitable[None]] | None = None) -> None:
    """Serve until SIGINT/SIGTERM (or until ``stopped()`` returns, when the
    loop runs outside the main thread), then shut down cleanly."""
    server = Server(options)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        if on_ready is not None:
            on_ready(server.node)
        await (stopped or _signalled)()
        await server.shutdown()
        nursery.cancel_scope.cancel()


async def _signalled() -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            return
