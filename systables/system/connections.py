"""``rethinkdb.connections`` (beyond RethinkDB, its issue #4873): one row per
client connection, driver port and ``/ajax/reql/`` alike, generated live
from the query pipeline.  Deleting a row closes that connection: its queries
end, and the client sees its connection dropped.  As in ``jobs``, non-admin
users see (and close) only their own connections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol

from ..auth import ADMIN
from ..datum.errors import CLOSED_BY_CONNECTIONS
from ..datum.times import make_time
from .base import RowChange, SystemTable

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..node import Node
    from ..reql.context import QueryContext

ONLY_DELETIONS = "The `rethinkdb.connections` system table only allows deletions, not inserts or updates."


class ClientConnection(Protocol):
    """What the pipeline knows of one client connection."""

    id: str
    user: str
    peer_host: str
    peer_port: int
    protocol: str
    connected_at: float
    last_query_at: float | None
    bytes_in: int
    bytes_out: int
    server_id: str
    disconnect: Callable[[str, dict], None] | None


class ConnectionList(Protocol):
    """The pipeline's connections, and the job ids of each one's running queries."""

    def open_connections(self) -> Iterable[ClientConnection]: ...

    def running_job_ids(self, connection: Any) -> list[str]: ...

    async def wait_closed(self, connection: Any) -> None: ...

    async def close_user(self, user: str, reason: str, by: dict, keep: str | None) -> None: ...


class ConnectionsTable(SystemTable):
    name = "connections"
    noun = "system table"
    moving_fields = ("bytes_in", "bytes_out", "last_query_at")  # notified once a second, not on every query

    def __init__(self, node: "Node", catalog: "Catalog", connections: ConnectionList) -> None:
        super().__init__(node, catalog)
        self.connections = connections

    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]:
        return [self.row(c, identifier_format) for c in self.visible(ctx)]

    def get(self, ctx: "QueryContext", key: Any, identifier_format: str) -> dict | None:
        found = self.find(ctx, key)
        return None if found is None else self.row(found, identifier_format)

    def visible(self, ctx: "QueryContext") -> list[ClientConnection]:
        return [c for c in self.connections.open_connections() if ctx.user == ADMIN or c.user == ctx.user]

    def find(self, ctx: "QueryContext", key: Any) -> ClientConnection | None:
        if type(key) is not str:
            return None
        return next((c for c in self.visible(ctx) if c.id == key), None)

    def row(self, c: ClientConnection, fmt: str) -> dict:
        return {
            "bytes_in": c.bytes_in,
            "bytes_out": c.bytes_out,
            "client_address": c.peer_host,
            "client_port": c.peer_port,
            "connected_at": make_time(c.connected_at),
            "id": c.id,
            "last_query_at": None if c.last_query_at is None else make_time(c.last_query_at),
            "protocol": c.protocol,
            "queries": [["query", job_id] for job_id in self.connections.running_job_ids(c)],
            "server": self.server_ref_of(c.server_id, fmt) or c.server_id,
            "user": c.user,
        }

    async def write(self, row: RowChange) -> str | None:
        if row.new is not None:
            return ONLY_DELETIONS
        ctx = row.ctx
        found = self.find(ctx, row.key)
        if found is None or found.disconnect is None:
            return None  # as in `jobs`: deleting what is not there (or not yours) changes nothing
        found.disconnect(CLOSED_BY_CONNECTIONS, {"user": ctx.user, "connection": ctx.connection_id})
        if found.id != ctx.connection_id:  # a kill reported done did happen (not awaitable on one's own)
            await self.connections.wait_closed(found)
        return None
