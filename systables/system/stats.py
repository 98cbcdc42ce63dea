"""``rethinkdb.stats``: live counters (read-only).

Queries are counted as they start (the job registry), documents as tables
read and write them (``counters``); ``*_per_sec`` values cover the last
second.  Disk figures come from the storage engine (RocksDB properties).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..jobs.counters import TableCounters
from .base import SystemTable

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..jobs.registry import JobRegistry
    from ..node import Node
    from ..reql.context import QueryContext
    from ..storage import Storage, TableMeta


class ClientCounts(Protocol):
    """What the query pipeline tells ``stats`` about clients."""

    @property
    def connections(self) -> int: ...

    def clients_active(self) -> int: ...

STATS_TIMEOUT = "Timed out. Unable to retrieve stats."


class StatsTable(SystemTable):
    name = "stats"

    def __init__(
        self,
        node: "Node",
        catalog: "Catalog",
        storage: "Storage",
        counters: TableCounters,
        jobs: "JobRegistry",
        clients: ClientCounts,
    ) -> None:
        super().__init__(node, catalog)
        self.storage = storage
        self.counters = counters
        self.jobs = jobs
        self.clients = clients

    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]:
        rows = [self.cluster_row(), self.server_row(identifier_format)]
        shares = self.table_shares()
        for meta in self.storage.tables.values():
            rows.append(self.table_row(meta, identifier_format))
            rows.append(self.table_server_row(meta, identifier_format, shares.get(meta.id, 0.0)))
        return rows

    def cluster_row(self) -> dict:
        c = self.counters
        return {
            "id": ["cluster"],
            "query_engine": {
                "client_connections": self.clients.connections,
                "clients_active": self.clients.clients_active(),
                "queries_per_sec": self.jobs.queries_started.per_sec(),
                "read_docs_per_sec": c.read.per_sec(),
                "written_docs_per_sec": c.written.per_sec(),
            },
        }

    def server_row(self, fmt: str) -> dict:
        c = self.counters
        queries = self.jobs.queries_started
        return {
            "id": ["server", self.node.server_id],
            "query_engine": {
                "client_connections": self.clients.connections,
                "clients_active": self.clients.clients_active(),
                "queries_per_sec": queries.per_sec(),
                "queries_total": queries.total,
                "read_docs_per_sec": c.read.per_sec(),
                "read_docs_total": c.read.total,
                "written_docs_per_sec": c.written.per_sec(),
                "written_docs_total": c.written.total,
            },
            "server": self.server_ref(fmt),
        }

    def table_names(self, meta: "TableMeta", fmt: str) -> dict:
        return {"db": self.db_ref(meta.db_id, fmt), "table": meta.id if fmt == "uuid" else meta.name}

    def table_row(self, meta: "TableMeta", fmt: str) -> dict:
        read, written = self.counters.of_table(meta.id)
        return {
            "id": ["table", meta.id],
            "query_engine": {"read_docs_per_sec": read.per_sec(), "written_docs_per_sec": written.per_sec()},
            **self.table_names(meta, fmt),
        }

    def table_server_row(self, meta: "TableMeta", fmt: str, share: float) -> dict:
        read, written = self.counters.of_table(meta.id)
        return {
            "id": ["table_server", meta.id, self.node.server_id],
            "query_engine": {
                "read_docs_per_sec": read.per_sec(),
                "read_docs_total": read.total,
                "written_docs_per_sec": written.per_sec(),
                "written_docs_total": written.total,
            },
            "server": self.server_ref(fmt),
            "storage_engine": self.storage_engine(share),
            **self.table_names(meta, fmt),
        }

    def storage_engine(self, share: float) -> dict:
        storage = self.storage
        live = storage.property_int("rocksdb.estimate-live-data-size")
        total = storage.property_int("rocksdb.total-sst-files-size") + storage.property_int("rocksdb.cur-size-all-mem-tables")
        return {
            "cache": {"in_use_bytes": int(storage.property_int("rocksdb.block-cache-usage") * share)},
            "disk": {
                "read_bytes_per_sec": 0,
                "read_bytes_total": 0,
                "space_usage": {
                    "data_bytes": int(live * share),
                    "garbage_bytes": int(max(0, total - live) * share),
                    "metadata_bytes": 0,
                    "preallocated_bytes": 0,
                },
                "written_bytes_per_sec": 0,
                "written_bytes_total": 0,
            },
        }

    def table_shares(self) -> dict[str, float]:
        """RocksDB keeps one set of files for all tables: each table is shown
        its share of the space by document count."""
        storage = self.storage
        counts = {t: storage.table(t).estimate_count() for t in list(storage.tables)}
        total = sum(counts.values())
        return {t: n / total for t, n in counts.items()} if total else {}
