"""The cluster's databases and tables, kept in etcd so every server sees them.

``/st/dbs/<id>`` holds a database (``{"id", "name"}``) and ``/st/tables/<id>``
a table's configuration: what ``TableMeta`` says (name, database, primary
key, durability, write acks) and its ``shards``, each
``{"primary_replica", "replicas", "nonvoting_replicas"}`` naming servers by
id.  A table key is only ever changed by compare-and-swap on its revision, so
two servers reconfiguring one table at once cannot both win.

Every server mirrors the keys into its own catalog: a table created anywhere
is created here (empty; it holds data only once it is one of the table's
replicas).  Local changes (``table_create``, renames, drops, made by the admin
service) are found by comparing the catalog with the keys, and published by
one task, in order.  A remote change is applied to the catalog in the same
step as it is learnt, so the comparison never mistakes a table that just
arrived for one dropped here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable

import orjson
import trio

from .etcd import Etcd, EtcdError, KeyValue, WatchEvent

if TYPE_CHECKING:
    from ..logbook import LogBook
    from ..node import Node
    from ..storage import Storage, TableMeta

DBS = "/st/dbs/"
TABLES = "/st/tables/"
RETRY_EVERY = 0.5
META_FIELDS = ("db_id", "name", "primary_key", "durability", "write_acks")


@dataclass
class TableConfig:
    """A table's configuration as etcd holds it, and the key's revision."""

    id: str
    fields: dict[str, Any]  # META_FIELDS
    shards: list[dict[str, Any]]  # server ids
    revision: int = 0

    def encode(self) -> str:
        return orjson.dumps({"id": self.id, **self.fields, "shards": self.shards}).decode()

    @classmethod
    def decode(cls, value: str, revision: int) -> "TableConfig | None":
        try:
            body = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
        if type(body) is not dict or type(body.get("id")) is not str or type(body.get("shards")) is not list:
            return None
        return cls(body["id"], {k: body.get(k) for k in META_FIELDS}, body["shards"], revision)

    @property
    def primary(self) -> str:
        return self.shards[0]["primary_replica"]

    @property
    def replicas(self) -> list[str]:
        return list(self.shards[0]["replicas"])


def meta_fields(meta: "TableMeta") -> dict[str, Any]:
    return {k: getattr(meta, k) for k in META_FIELDS}


def single_shard(primary: str, replicas: list[str]) -> list[dict[str, Any]]:
    return [{"nonvoting_replicas": [], "primary_replica": primary, "replicas": sorted(replicas)}]


@dataclass
class CatalogActions:
    """How remote changes are applied here: the admin service's own
    operations, handed over by the composition root (so that index builds,
    feeds and permissions hear of them as of local ones)."""

    create_db: Callable[[str, str], Any]  # (name, id)
    drop_db: Callable[[str], Any]
    create_table: Callable[["TableConfig"], Any]
    drop_table: Callable[[str], Any]


class TableDirectory:
    """Every table's configuration, mirrored between etcd and this catalog."""

    def __init__(self, storage: "Storage", node: "Node", log: "LogBook") -> None:
        self.storage = storage
        self.node = node
        self.log = log
        self.actions: CatalogActions | None = None  # set by the composition root
        self.configs: dict[str, TableConfig] = {}
        self.dbs: dict[str, tuple[str, int]] = {}  # id -> (name, revision)
        self.on_change: list[Callable[[], Any]] = []  # told after any configuration change
        self.etcd: Etcd | None = None
        self._dirty = trio.Event()

    @property
    def active(self) -> bool:
        return self.etcd is not None

    def shards(self, table_id: str) -> list[dict[str, Any]] | None:
        """The shards of a table (server ids); None outside a cluster."""
        config = self.configs.get(table_id) if self.etcd is not None else None
        return config.shards if config is not None else None

    def local_changed(self) -> None:
        """The catalog changed here: publish what differs (soon, in order)."""
        self._dirty.set()

    # -- running -------------------------------------------------------------------
    async def run(self, etcd: Etcd) -> None:
        """Mirror until cancelled; etcd failures only delay."""
        self.etcd = etcd
        while True:
            try:
                await self._mirror(etcd)
            except* EtcdError:
                pass
            await trio.sleep(RETRY_EVERY)

    async def _mirror(self, etcd: Etcd) -> None:
        db_kvs, db_rev = await etcd.get_prefix(DBS)
        table_kvs, table_rev = await etcd.get_prefix(TABLES)
        self._adopt(db_kvs, table_kvs)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._follow, etcd, DBS, db_rev + 1)
            nursery.start_soon(self._follow, etcd, TABLES, table_rev + 1)
            nursery.start_soon(self._publish_changes, etcd)

    def _adopt(self, db_kvs: list[KeyValue], table_kvs: list[KeyValue]) -> None:
        for kv in db_kvs:
            self._db_put(kv.key[len(DBS):], kv.value, kv.mod_revision)
        for kv in table_kvs:
            config = TableConfig.decode(kv.value, kv.mod_revision)
            if config is not None:
                self._table_put(config)
        self._changed()

    async def _follow(self, etcd: Etcd, prefix: str, revision: int) -> None:
        async for event in etcd.watch_prefix(prefix, revision):
            self._apply(prefix, event)
            self._changed()

    def _apply(self, prefix: str, event: WatchEvent) -> None:
        key = event.key[len(prefix):]
        if prefix == DBS:
            if event.kind == "delete":
                self._db_gone(key)
            else:
                self._db_put(key, event.value or "", event.mod_revision)
            return
        if event.kind == "delete":
            self._table_gone(key)
            return
        config = TableConfig.decode(event.value or "", event.mod_revision)
        if config is not None:
            self._table_put(config)

    # -- remote -> local -------------------------------------------------------------
    def _db_put(self, db_id: str, value: str, revision: int) -> None:
        try:
            name = orjson.loads(value)["name"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return
        self.dbs[db_id] = (name, revision)
        if db_id in self.storage.dbs:
            if self.storage.dbs[db_id].name != name:
                self.storage.rename_db(db_id, name)
            return
        for local in list(self.storage.dbs.values()):
            # Every new server starts with its own `test`: an empty namesake gives way.
            if local.name == name and local.id not in self.dbs and not any(t.db_id == local.id for t in self.storage.tables.values()):
                self._actions().drop_db(local.id)
        self._actions().create_db(name, db_id)

    def _db_gone(self, db_id: str) -> None:
        self.dbs.pop(db_id, None)
        if db_id in self.storage.dbs:
            self._actions().drop_db(db_id)

    def _table_put(self, config: TableConfig) -> None:
        self.configs[config.id] = config
        meta = self.storage.tables.get(config.id)
        if meta is None:
            if config.fields["db_id"] in self.storage.dbs:
                self._actions().create_table(config)
            return
        if meta_fields(meta) != config.fields:
            self.storage.update_table_meta(replace(meta, **{k: v for k, v in config.fields.items() if k != "primary_key"}))

    def _table_gone(self, table_id: str) -> None:
        self.configs.pop(table_id, None)
        if table_id in self.storage.tables:
            self._actions().drop_table(table_id)

    def _actions(self) -> CatalogActions:
        assert self.actions is not None
        return self.actions

    def _changed(self) -> None:
        for callback in self.on_change:
            callback()

    # -- local -> remote ---------------------------------------------------------------
    async def _publish_changes(self, etcd: Etcd) -> None:
        self._dirty.set()  # what was created before joining is published at once
        while True:
            await self._dirty.wait()
            self._dirty = trio.Event()
            await self._publish_dbs(etcd)
            await self._publish_tables(etcd)

    async def _publish_dbs(self, etcd: Etcd) -> None:
        local = {db.id: db.name for db in self.storage.dbs.values()}
        for db_id, name in local.items():
            if self.dbs.get(db_id, ("", 0))[0] != name:
                await etcd.put(DBS + db_id, orjson.dumps({"id": db_id, "name": name}).decode())
                self.dbs[db_id] = (name, self.dbs.get(db_id, ("", 0))[1])
        for db_id in [d for d in self.dbs if d not in local]:
            await etcd.delete(DBS + db_id)
            self.dbs.pop(db_id, None)

    async def _publish_tables(self, etcd: Etcd) -> None:
        local = dict(self.storage.tables)
        for table_id, meta in local.items():
            config = self.configs.get(table_id)
            fields = meta_fields(meta)
            if config is None:
                me = self.node.server_id
                await self.swap(TableConfig(table_id, fields, single_shard(me, [me])), 0)
            elif config.fields != fields:
                await self.swap(replace(config, fields=fields), config.revision)
        for table_id in [t for t in self.configs if t not in local]:
            await etcd.delete(TABLES + table_id)
            self.configs.pop(table_id, None)

    async def refresh(self, table_id: str) -> None:
        """Read a table's key again (after a lost compare-and-swap)."""
        assert self.etcd is not None
        kv = await self.etcd.get(TABLES + table_id)
        config = TableConfig.decode(kv.value, kv.mod_revision) if kv is not None else None
        if config is not None:
            self._table_put(config)

    async def swap(self, config: TableConfig, revision: int) -> bool:
        """Write a table's configuration if its key is still at ``revision``."""
        assert self.etcd is not None
        new_revision = await self.etcd.put_if(TABLES + config.id, config.encode(), revision)
        if new_revision is None:
            return False
        self.configs[config.id] = replace(config, revision=new_revision)
        self._changed()
        return True
