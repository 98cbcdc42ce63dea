"""``rethinkdb.table_status``: readiness of every table (read-only).  On a
single server every table is fully available; ``table.status()`` is a
selection of its row here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import SystemTable

if TYPE_CHECKING:
    from ..reql.context import QueryContext


class TableStatusTable(SystemTable):
    name = "table_status"

    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]:
        catalog = self.server.catalog
        return [catalog.table_status_row(t, identifier_format) for t in self.server.storage.tables.values()]

    def get(self, ctx: "QueryContext", key: Any, identifier_format: str) -> dict | None:
        meta = self.server.storage.tables.get(key) if type(key) is str else None
        return self.server.catalog.table_status_row(meta, identifier_format) if meta is not None else None
