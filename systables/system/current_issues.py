"""``rethinkdb.current_issues``: problems needing an operator (read-only).

The issues RethinkDB reports here are cluster conditions (server, database
or table name collisions, unreachable replicas, outdated indexes, log write
failures).  None of them can arise on a single server of this kind, so the
table is empty; it exists because tools and dashboards read it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import SystemTable

if TYPE_CHECKING:
    from ..reql.context import QueryContext


class CurrentIssuesTable(SystemTable):
    name = "current_issues"

    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]:
        return []
