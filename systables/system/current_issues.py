"""``rethinkdb.current_issues``: problems needing an operator (read-only).

The issues RethinkDB reports here are cluster conditions (server, database
or table name collisions, unreachable replicas, outdated indexes, log write
failures).  What can arise here so far: several connected servers with one
name (``server_name_collision``, in RethinkDB's words and shape).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from .base import SystemTable

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..cluster import Cluster
    from ..node import Node
    from ..reql.context import QueryContext

# Issue ids are derived from what the issue is about, so that a row keeps its
# id while the issue lasts (RethinkDB does the same with its own namespaces).
SERVER_NAME_COLLISION_NS = uuid.UUID("5a9d1f3e-8c2b-4e57-9a61-3f0c7b2d4e18")


class CurrentIssuesTable(SystemTable):
    name = "current_issues"

    def __init__(self, node: "Node", catalog: "Catalog", cluster: "Cluster") -> None:
        super().__init__(node, catalog)
        self.cluster = cluster

    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]:
        return self.server_name_collisions()

    def server_name_collisions(self) -> list[dict]:
        by_name: dict[str, list[str]] = {self.node.name: [self.node.server_id]}
        for server_id, name in self.node.peers.items():
            by_name.setdefault(name, []).append(server_id)
        return [server_name_collision(name, ids) for name, ids in sorted(by_name.items()) if len(ids) > 1]


def server_name_collision(name: str, ids: list[str]) -> dict:
    return {
        "critical": True,
        "description": (
            f"There are multiple servers named `{name}`. RethinkDB requires that every server have a unique "
            "name. Please update the `name` field of the conflicting servers' documents in the "
            "`rethinkdb.server_config` system table.\n\nThe UUIDs of the conflicting servers are as follows: "
            + ", ".join(ids)
        ),
        "id": str(uuid.uuid5(SERVER_NAME_COLLISION_NS, name)),
        "info": {"ids": ids, "name": name},
        "type": "server_name_collision",
    }
