"""``rethinkdb.server_config``: this server's name, tags and cache size.
Updating the row renames the server or changes the others; rows can be
neither inserted nor deleted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import datum as D
from .base import FormatError, RowChange, RowReader, SystemTable, expect_name, wrong_format

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..cluster import Cluster
    from ..logbook import LogBook
    from ..node import Node
    from ..reql.context import QueryContext
    from ..storage import Storage

TAGS_META = "server/tags"
CACHE_META = "server/cache_size_mb"
MAX_CACHE_MB = 1 << 40


class ServerConfigTable(SystemTable):
    name = "server_config"
    noun = "system table"

    def __init__(self, node: "Node", catalog: "Catalog", storage: "Storage", log: "LogBook", cluster: "Cluster") -> None:
        super().__init__(node, catalog)
        self.storage = storage
        self.log = log
        self.cluster = cluster

    def tags(self) -> list[str]:
        stored = self.storage.get_meta(TAGS_META)
        if stored is None:  # a new data directory: the command line's tags
            return sorted({"default", *(self.node.options.server_tags or [])})
        return list(stored)

    def cache_size_mb(self) -> Any:
        stored = self.storage.get_meta(CACHE_META)
        if stored is not None:
            return stored
        configured = self.node.options.cache_size_mb
        return configured if configured == "auto" else D.norm_num(float(configured))

    def own_row(self) -> dict:
        return {
            "cache_size_mb": self.cache_size_mb(),
            "id": self.node.server_id,
            "name": self.node.name,
            "tags": self.tags(),
        }

    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]:
        peers = [body["config"] for body in self.cluster.peers.values() if type(body.get("config")) is dict]
        return [self.own_row(), *peers]

    async def write(self, row: RowChange) -> str | None:
        old, new = row.old, row.new
        if new is None:
            return None if old is None else self.no_deletes()
        if old is None:
            return self.no_inserts()
        if old.get("id") != self.node.server_id:
            return f"Server `{old.get('name')}` can be reconfigured only through a connection to it."
        try:
            name, tags, cache = self.parse(new)
        except FormatError as e:
            return wrong_format(self.qualified_name, str(e), change=False)
        if name != self.node.name and name in self.node.peers.values():
            return f"Cannot rename server `{self.node.name}` to `{name}` because server `{name}` already exists."
        self.apply(name, tags, cache)
        return None

    @staticmethod
    def parse(new: dict) -> tuple[str, list[str], Any]:
        reader = RowReader(new)
        reader.get("id")
        name = expect_name(reader.get("name"), "server name")
        tags = reader.get("tags")
        if type(tags) is not list:
            raise FormatError(f"In `tags`: Expected an array; got {D.print_datum(tags)}")
        tags = [expect_name(t, "server tag") for t in tags]
        cache = parse_cache_size(reader.get("cache_size_mb"))
        reader.finish()
        return name, sorted(set(tags)), cache

    def apply(self, name: str, tags: list[str], cache: Any) -> None:
        if name != self.node.name:
            self.log.log("notice", f"Changed server's name from `{self.node.name}` to `{name}`.")
            self.node.rename(name)
        self.storage.put_meta(TAGS_META, tags)
        self.storage.put_meta(CACHE_META, cache)
        self.cluster.changed()


def parse_cache_size(v: Any) -> Any:
    if v == "auto":
        return v
    if not D.is_number(v):
        raise FormatError(f"In `cache_size_mb`: Expected a number or 'auto', got {D.print_datum(v)}")
    if v < 0:
        raise FormatError("In `cache_size_mb`: Cache size cannot be negative.")
    if v > MAX_CACHE_MB:
        raise FormatError("In `cache_size_mb`: Value is too big.")
    return D.norm_num(v)
