"""``rethinkdb.table_status``: readiness of every table (read-only).  On a
single server every table is fully available; ``table.status()`` is a
selection of its row here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import SystemTable

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..node import Node
    from ..reql.context import QueryContext
    from ..storage import Storage


class TableStatusTable(SystemTable):
    name = "table_status"

    def __init__(self, node: "Node", catalog: "Catalog", storage: "Storage") -> None:
        super().__init__(node, catalog)
        self.storage = storage

    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]:
        return [self.catalog.table_status_row(t, identifier_format) for t in self.storage.tables.values()]

    def get(self, ctx: "QueryContext", key: Any, identifier_format: str) -> dict | None:
        meta = self.storage.tables.get(key) if type(key) is str else None
        return self.catalog.table_status_row(meta, identifier_format) if meta is not None else None
