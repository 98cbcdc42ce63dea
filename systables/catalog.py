"""Databases and tables by name, with RethinkDB's rules and messages.

Names resolve to the ids kept by the storage engine.  The ``rethinkdb``
database is not stored: it is the system database (see systables/system/).
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from .reql.errors import ReqlOpFailedError, ReqlQueryLogicError

if TYPE_CHECKING:
    from .server import Server
    from .storage import DbMeta, TableMeta

SYSTEM_DB = "rethinkdb"
SYSTEM_DB_ID = str(uuid.uuid5(uuid.UUID("39a24924-14ec-4deb-99f1-742eda7aba5e"), SYSTEM_DB))
SYSTEM_TABLE_NS = uuid.UUID("0eabef01-6deb-4069-9a2d-448db057ab1e")

NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def system_table_id(name: str) -> str:
    return str(uuid.uuid5(SYSTEM_TABLE_NS, name))


def check_name(kind: str, name: str) -> str:
    """``kind`` is "Database", "Table" or "Index"."""
    if not NAME_RE.match(name):
        raise ReqlQueryLogicError(f"{kind} name `{name}` invalid (Use A-Z, a-z, 0-9, _ and - only).")
    return name


class Catalog:
    def __init__(self, server: "Server") -> None:
        self.server = server

    @property
    def storage(self) -> Any:
        return self.server.storage

    # -- databases -----------------------------------------------------------
    def db_by_name(self, name: str) -> "DbMeta | None":
        for db in self.storage.dbs.values():
            if db.name == name:
                return db
        return None

    def require_db(self, name: str) -> "DbMeta":
        db = self.db_by_name(name)
        if db is None:
            raise ReqlOpFailedError(f"Database `{name}` does not exist.")
        return db

    def db_names(self) -> list[str]:
        return sorted([SYSTEM_DB] + [db.name for db in self.storage.dbs.values()])

    def db_name(self, db_id: str) -> str:
        if db_id == SYSTEM_DB_ID:
            return SYSTEM_DB
        db = self.storage.dbs.get(db_id)
        return db.name if db is not None else "__deleted_database__"

    # -- tables --------------------------------------------------------------
    def tables_of(self, db_id: str) -> list["TableMeta"]:
        return sorted((t for t in self.storage.tables.values() if t.db_id == db_id), key=lambda t: t.name)

    def table_by_name(self, db_id: str, name: str) -> "TableMeta | None":
        for t in self.storage.tables.values():
            if t.db_id == db_id and t.name == name:
                return t
        return None

    def require_table(self, db_name: str, db_id: str, name: str) -> "TableMeta":
        t = self.table_by_name(db_id, name)
        if t is None:
            raise ReqlOpFailedError(f"Table `{db_name}.{name}` does not exist.")
        return t

    # -- rows shared by admin terms and system tables ------------------------
    def server_ref(self, identifier_format: str) -> str:
        return self.server.server_id if identifier_format == "uuid" else self.server.name

    def db_config_row(self, db: "DbMeta") -> dict:
        return {"id": db.id, "name": db.name}

    def table_config_row(self, t: "TableMeta", identifier_format: str = "name") -> dict:
        server = self.server_ref(identifier_format)
        return {
            "db": t.db_id if identifier_format == "uuid" else self.db_name(t.db_id),
            "durability": t.durability,
            "id": t.id,
            "indexes": sorted(t.indexes),
            "name": t.name,
            "primary_key": t.primary_key,
            "shards": [{"nonvoting_replicas": [], "primary_replica": server, "replicas": [server]}],
            "write_acks": t.write_acks,
            "write_hook": self.write_hook_row(t),
        }

    def write_hook_row(self, t: "TableMeta") -> Any:
        hook = getattr(t, "write_hook", None)
        if not hook:
            return None
        return {"function": hook["function"], "query": hook["query"]}

    def table_status_row(self, t: "TableMeta", identifier_format: str = "name") -> dict:
        server = self.server_ref(identifier_format)
        return {
            "db": t.db_id if identifier_format == "uuid" else self.db_name(t.db_id),
            "id": t.id,
            "name": t.name,
            "raft_leader": server,
            "shards": [{"primary_replicas": [server], "replicas": [{"server": server, "state": "ready"}]}],
            "status": {
                "all_replicas_ready": True,
                "ready_for_outdated_reads": True,
                "ready_for_reads": True,
                "ready_for_writes": True,
            },
        }
