"""``rethinkdb._debug_scratch``: a hidden in-memory table any row can be
written to, as in RethinkDB, where tests use it to exercise system-table
changefeeds.  It is lost when the server stops."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import datum as D
from .base import RowChange, SystemTable

if TYPE_CHECKING:
    from ..reql.context import QueryContext


class DebugScratchTable(SystemTable):
    name = "_debug_scratch"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._rows: dict[Any, dict] = {}

    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]:
        return list(self._rows.values())

    def get(self, ctx: "QueryContext", key: Any, identifier_format: str) -> dict | None:
        return self._rows.get(D.hashable(key))

    async def write(self, row: RowChange) -> str | None:
        if row.new is None:
            self._rows.pop(D.hashable(row.key), None)
        else:
            self._rows[D.hashable(row.key)] = row.new
        return None
