"""Creating, renaming, moving and dropping databases and tables: one place for
RethinkDB's rules on them, used by the ReQL terms (``db_create``,
``table_drop``, ...) and by the system tables that do the same through writes
(``db_config``, ``table_config``).

Refusals raise ``ReqlOpFailedError`` with RethinkDB's message; system tables
report the message in the write summary instead.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Callable

from .catalog import SYSTEM_DB, Catalog
from .datum.errors import ReqlOpFailedError

if TYPE_CHECKING:
    from .auth import Auth
    from .jobs.counters import TableCounters
    from .storage import DbMeta, Storage, TableMeta

DEFAULT_DB = "test"
INITIALIZED_META = "server/initialized"

# Called with a table's id when it goes away (its index builds stop, its feeds end...).
DropListener = Callable[[str], None]


class Admin:
    def __init__(self, storage: "Storage", catalog: Catalog, auth: "Auth", counters: "TableCounters") -> None:
        self._storage = storage
        self._catalog = catalog
        self._auth = auth
        self._counters = counters
        self._drop_listeners: list[DropListener] = []
        # Called after any change of databases or tables (feeds on `table_config`...).
        self.on_change: list[Callable[[], None]] = []

    def on_table_dropped(self, listener: DropListener) -> None:
        self._drop_listeners.append(listener)

    def initialize(self) -> None:
        """A new data directory starts with the `test` database, as RethinkDB's does."""
        if not self._storage.get_meta(INITIALIZED_META):
            self._storage.create_db(DEFAULT_DB)
            self._storage.put_meta(INITIALIZED_META, True)

    # -- databases -------------------------------------------------------------
    def create_db(self, name: str, db_id: str | None = None) -> "DbMeta":
        if name == SYSTEM_DB or self._catalog.db_by_name(name) is not None:
            raise ReqlOpFailedError(f"Database `{name}` already exists.")
        db = self._storage.create_db(name, db_id=db_id)
        self._changed()
        return db

    def rename_db(self, db: "DbMeta", name: str) -> None:
        if name == db.name:
            return
        if name == SYSTEM_DB or self._catalog.db_by_name(name) is not None:
            raise ReqlOpFailedError(
                f"Cannot rename database `{db.name}` to `{name}` because database `{name}` already exists."
            )
        self._storage.rename_db(db.id, name)
        self._changed()

    def drop_db(self, db_id: str) -> int:
        """Drop a database and its tables; returns how many tables were dropped."""
        dropped = self._storage.drop_db(db_id)
        self._auth.forget_scope((db_id,))
        for meta in dropped:
            self._forget_table(meta.id)
        self._changed()
        return len(dropped)

    # -- tables ----------------------------------------------------------------
    def create_table(
        self,
        db_id: str,
        name: str,
        *,
        primary_key: str = "id",
        durability: str = "hard",
        write_acks: str = "majority",
        shards: int = 1,
        table_id: str | None = None,
        changefeed_retention: dict | None = None,
    ) -> "TableMeta":
        if self._catalog.table_by_name(db_id, name) is not None:
            raise ReqlOpFailedError(f"Table `{self._catalog.db_name(db_id)}.{name}` already exists.")
        meta = self._storage.create_table(
            db_id, name, primary_key=primary_key, durability=durability, write_acks=write_acks, table_id=table_id,
            log_retention=changefeed_retention,
        )
        self._catalog.set_shard_count(meta.id, shards)
        self._changed()
        return meta

    def change_table(
        self, meta: "TableMeta", *, name: str, db_id: str, durability: str, write_acks: str, shards: int,
        changefeed_retention: dict | None = None,
    ) -> None:
        """Rename, move to another database, or change the settings of a table."""
        catalog = self._catalog
        if (db_id, name) != (meta.db_id, meta.name):
            clash = catalog.table_by_name(db_id, name)
            if clash is not None and clash.id != meta.id:
                old, new = f"{catalog.db_name(meta.db_id)}.{meta.name}", f"{catalog.db_name(db_id)}.{name}"
                raise ReqlOpFailedError(f"Can't rename table `{old}` to `{new}` because table `{new}` already exists.")
        updated = replace(
            meta, name=name, db_id=db_id, durability=durability, write_acks=write_acks, log_retention=changefeed_retention
        )
        self._storage.update_table_meta(updated)
        catalog.set_shard_count(meta.id, shards)
        self._changed()

    def drop_table(self, table_id: str) -> None:
        meta = self._storage.tables.get(table_id)
        if meta is None:
            return
        self._storage.drop_table(table_id)
        self._auth.forget_scope((meta.db_id, table_id))
        self._forget_table(table_id)
        self._changed()

    def _changed(self) -> None:
        for listener in self.on_change:
            listener()

    def _forget_table(self, table_id: str) -> None:
        self._catalog.set_shard_count(table_id, 1)
        self._counters.forget(table_id)
        for listener in self._drop_listeners:
            listener(table_id)
