"""``rethinkdb.logs``: the server's most recent log lines (read-only)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..datum.times import make_time
from .base import SystemTable

if TYPE_CHECKING:
    from ..reql.context import QueryContext


def log_timestamp(epoch: float) -> str:
    """UTC with nanoseconds, RethinkDB's log id format."""
    nanos = round(epoch * 1e9)
    seconds, fraction = divmod(nanos, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}"


class LogsTable(SystemTable):
    name = "logs"
    noun = "system table"

    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]:
        server = self.server_ref(identifier_format)
        rows = []
        seen: set[str] = set()
        for entry in list(self.server.logs):
            stamp = log_timestamp(entry.timestamp)
            while stamp in seen:  # two lines in the same nanosecond keep distinct ids
                stamp = stamp[:-9] + f"{int(stamp[-9:]) + 1:09d}"
            seen.add(stamp)
            rows.append(
                {
                    "id": [stamp, self.server.server_id],
                    "level": entry.level,
                    "message": entry.message,
                    "server": server,
                    "timestamp": make_time(entry.timestamp),
                    "uptime": entry.uptime,
                }
            )
        return rows
