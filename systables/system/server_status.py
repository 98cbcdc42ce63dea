"""``rethinkdb.server_status``: how this server runs (read-only).  Nothing in
it ticks, so changefeeds on it stay quiet while nothing changes."""

from __future__ import annotations

import os
import platform
import socket
from typing import TYPE_CHECKING

from ..datum.times import make_time
from .base import SystemTable

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..cluster import Cluster
    from ..node import Node
    from ..reql.context import QueryContext

AUTO_CACHE_MB = 100  # what "auto" amounts to (RocksDB block cache)


class ServerStatusTable(SystemTable):
    name = "server_status"

    def __init__(self, node: "Node", catalog: "Catalog", cluster: "Cluster") -> None:
        super().__init__(node, catalog)
        self.cluster = cluster

    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]:
        peers = {sid: body["status"] for sid, body in self.cluster.peers.items() if type(body.get("status")) is dict}
        names = {sid: status.get("name") for sid, status in peers.items()}
        names[self.node.server_id] = self.node.name
        rows = [self.own_row(), *peers.values()]
        for row in rows:  # every server this one knows, but the row's own
            others = sorted(str(n) for sid, n in names.items() if sid != row.get("id"))
            row["network"]["connected_to"] = {name: True for name in others}
        return rows

    def own_row(self) -> dict:
        node = self.node
        options = node.options
        started = make_time(node.started)
        http_ports = [port for _, port in node.http_addresses]
        reql_ports = [port for _, port in node.driver_addresses]
        cache = options.cache_size_mb
        return {
            "id": node.server_id,
            "name": node.name,
            "network": {
                "canonical_addresses": [{"host": host, "port": self.cluster_port()} for host in self.hosts()],
                "cluster_port": self.cluster_port(),
                "connected_to": {},
                "hostname": socket.gethostname(),
                "http_admin_port": http_ports[0] if http_ports else "<no http admin>",
                "reql_port": reql_ports[0] if reql_ports else options.driver_port,
                "time_connected": started,
            },
            "process": {
                "argv": list(options.argv),
                "cache_size_mb": AUTO_CACHE_MB if cache == "auto" else float(cache),
                "pid": os.getpid(),
                "time_started": started,
                "version": f"rethinkdb {node.version} (CPython {platform.python_version()})",
            },
        }

    def cluster_port(self) -> int:
        return self.node.cluster_port or self.node.options.cluster_port

    def hosts(self) -> list[str]:
        if self.node.options.canonical_addresses:
            return list(self.node.options.canonical_addresses)
        hosts = sorted({host for host, _ in self.node.driver_addresses})
        return hosts or ["127.0.0.1"]
