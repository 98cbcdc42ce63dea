"""The ``rethinkdb`` system database: one backend per table behind one
interface (``base.SystemTable``): rows computed live on each read, and
per-row writes whose refusals the write summary reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..jobs.counters import TableCounters
from .base import SystemTable
from .cluster_config import ClusterConfigTable
from .connections import ConnectionList, ConnectionsTable
from .current_issues import CurrentIssuesTable
from .db_config import DbConfigTable
from .debug_scratch import DebugScratchTable
from .job_history import JobHistoryTable
from .jobs import JobsTable
from .logs import LogsTable
from .permissions import PermissionsTable
from .server_config import ServerConfigTable
from .server_status import ServerStatusTable
from .stats import StatsTable
from .table_config import TableConfigTable
from .table_status import TableStatusTable
from .users import UsersTable

if TYPE_CHECKING:
    from ..admin import Admin
    from ..auth import Auth
    from ..catalog import Catalog
    from ..cluster import Cluster
    from ..jobs.history import JobHistory
    from ..jobs.registry import JobRegistry
    from ..logbook import LogBook
    from ..node import Node
    from ..storage import Storage
    from .stats import ClientCounts


class SystemTables:
    """The backends of the ``rethinkdb`` database, each given exactly the
    collaborators it reads or changes."""

    def __init__(
        self,
        *,
        node: "Node",
        log: "LogBook",
        storage: "Storage",
        catalog: "Catalog",
        admin: "Admin",
        auth: "Auth",
        jobs: "JobRegistry",
        counters: TableCounters,
        clients: "ClientCounts",
        cluster: "Cluster",
        connections: ConnectionList,
        history: "JobHistory",
    ) -> None:
        jobs_table = JobsTable(node, catalog, jobs, storage, log)
        backends: list[SystemTable] = [
            ClusterConfigTable(node, catalog, storage, history),
            ConnectionsTable(node, catalog, connections),
            CurrentIssuesTable(node, catalog, cluster, jobs, jobs_table, lambda: history.settings.stalled_after_sec),
            DbConfigTable(node, catalog, storage, admin),
            DebugScratchTable(node, catalog),
            JobHistoryTable(node, catalog, history, jobs_table),
            jobs_table,
            LogsTable(node, catalog, log),
            PermissionsTable(node, catalog, auth, storage, self.name_of),
            ServerConfigTable(node, catalog, storage, log, cluster),
            ServerStatusTable(node, catalog, cluster),
            StatsTable(node, catalog, storage, counters, jobs, clients),
            TableConfigTable(node, catalog, storage, admin),
            TableStatusTable(node, catalog, storage),
            UsersTable(node, catalog, auth, connections),
        ]
        self.backends: dict[str, SystemTable] = {b.name: b for b in backends}
        self._by_id = {b.id: b for b in backends}

    def describe_server(self) -> dict:
        """This server's own rows of ``server_config`` and ``server_status``,
        as the cluster publishes them to the other servers."""
        config = self.backends["server_config"]
        status = self.backends["server_status"]
        assert isinstance(config, ServerConfigTable) and isinstance(status, ServerStatusTable)
        return {"config": config.own_row(), "status": status.own_row()}

    def get(self, name: str) -> SystemTable | None:
        return self.backends.get(name)

    def name_of(self, table_id: str) -> str | None:
        backend = self._by_id.get(table_id)
        return backend.name if backend is not None else None

    def visible_names(self) -> list[str]:
        return sorted(n for n in self.backends if not n.startswith("_"))
