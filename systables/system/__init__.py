"""The ``rethinkdb`` system database: one backend per table behind one
interface (``base.SystemTable``): rows computed live on each read, and
per-row writes whose refusals the write summary reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..jobs.counters import TableCounters
from .base import SystemTable
from .cluster_config import ClusterConfigTable
from .current_issues import CurrentIssuesTable
from .db_config import DbConfigTable
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
    from ..server import Server

BACKENDS: tuple[type[SystemTable], ...] = (
    ClusterConfigTable,
    CurrentIssuesTable,
    DbConfigTable,
    JobsTable,
    LogsTable,
    PermissionsTable,
    ServerConfigTable,
    ServerStatusTable,
    TableConfigTable,
    TableStatusTable,
    UsersTable,
)


class SystemTables:
    def __init__(self, server: "Server") -> None:
        self.server = server
        # Documents read and written per table, for `stats`; tables and
        # writers report into it.
        self.counters = TableCounters()
        self.backends: dict[str, SystemTable] = {cls.name: cls(server) for cls in BACKENDS}
        self.backends["stats"] = StatsTable(server, self.counters)

    def get(self, name: str) -> SystemTable | None:
        return self.backends.get(name)

    def visible_names(self) -> list[str]:
        return sorted(n for n in self.backends if not n.startswith("_"))
