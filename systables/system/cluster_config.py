"""``rethinkdb.cluster_config``: cluster-wide settings, one row
(``heartbeat``: how long a silent server counts as connected)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import datum as D
from .base import FormatError, RowChange, RowReader, SystemTable, wrong_format

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..node import Node
    from ..reql.context import QueryContext
    from ..storage import Storage

HEARTBEAT_META = "cluster/heartbeat_timeout_secs"
DEFAULT_HEARTBEAT = 10


class ClusterConfigTable(SystemTable):
    name = "cluster_config"

    def __init__(self, node: "Node", catalog: "Catalog", storage: "Storage") -> None:
        super().__init__(node, catalog)
        self.storage = storage

    def heartbeat(self) -> int | float:
        stored = self.storage.get_meta(HEARTBEAT_META)
        return DEFAULT_HEARTBEAT if stored is None else stored

    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]:
        return [{"heartbeat_timeout_secs": self.heartbeat(), "id": "heartbeat"}]

    async def write(self, row: RowChange) -> str | None:
        old, new = row.old, row.new
        if old is None:
            return self.no_inserts()
        if new is None:
            return self.no_deletes()
        try:
            reader = RowReader(new)
            reader.get("id")
            timeout = reader.get("heartbeat_timeout_secs")
            reader.finish()
        except FormatError as e:
            return wrong_format(self.qualified_name, str(e), change=False)
        if not D.is_number(timeout):
            return f"Expected a number; got {D.print_datum(timeout)}"
        if timeout < 2:
            return "The heartbeat timeout must be at least two seconds"
        self.storage.put_meta(HEARTBEAT_META, D.norm_num(timeout))
        return None
