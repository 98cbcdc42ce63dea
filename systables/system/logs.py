"""``rethinkdb.logs``: the server's most recent log lines (read-only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..datum.times import make_time
from ..logbook import LogBook, log_timestamp
from .base import SystemTable

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..node import Node
    from ..reql.context import QueryContext


class LogsTable(SystemTable):
    name = "logs"
    noun = "system table"

    def __init__(self, node: "Node", catalog: "Catalog", log: LogBook) -> None:
        super().__init__(node, catalog)
        self.log = log

    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]:
        server = self.server_ref(identifier_format)
        rows = []
        seen: set[str] = set()
        for entry in list(self.log.entries):
            stamp = log_timestamp(entry.timestamp)
            while stamp in seen:  # two lines in the same nanosecond keep distinct ids
                stamp = stamp[:-9] + f"{int(stamp[-9:]) + 1:09d}"
            seen.add(stamp)
            rows.append(
                {
                    "id": [stamp, self.node.server_id],
                    "level": entry.level,
                    "message": entry.message,
                    "server": server,
                    "timestamp": make_time(entry.timestamp),
                    "uptime": entry.uptime,
                }
            )
        return rows
