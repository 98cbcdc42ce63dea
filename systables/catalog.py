"""Databases and tables by name, with RethinkDB's rules and messages.

Names resolve to the ids kept by the storage engine.  The ``rethinkdb``
database is not stored: it is the system database (see systables/system/).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from .datum import fmt_num, type_name
from .datum.errors import ReqlOpFailedError, ReqlQueryLogicError
from .datum.ql2 import TermType

if TYPE_CHECKING:
    from .node import Node
    from .storage import DbMeta, Storage, TableMeta

SYSTEM_DB = "rethinkdb"
SYSTEM_DB_ID = str(uuid.uuid5(uuid.UUID("39a24924-14ec-4deb-99f1-742eda7aba5e"), SYSTEM_DB))
SYSTEM_TABLE_NS = uuid.UUID("0eabef01-6deb-4069-9a2d-448db057ab1e")

NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
SHARDS_META = "shards/"


def system_table_id(name: str) -> str:
    return str(uuid.uuid5(SYSTEM_TABLE_NS, name))


def check_name(kind: str, name: str) -> str:
    """``kind`` is "Database", "Table", "Index" or "Server tag"."""
    if not NAME_RE.match(name):
        raise ReqlQueryLogicError(f"{kind} name `{name}` invalid (Use A-Z, a-z, 0-9, _ and - only).")
    return name


# ---------------------------------------------------------------------------
# Sharding and replication options (table_create, reconfigure) checked as
# RethinkDB checks them, against this single server: it carries the one
# server tag `default`, so every table has exactly one replica.

REPLICATION_OPTS = ("shards", "replicas", "primary_replica_tag", "nonvoting_replica_tags")
MAX_SHARDS = 64
SERVER_TAGS = {"default": 1}  # tag -> servers carrying it


class OptionError:
    """Marks an error as being about one option's value (``error.option``): the
    term reporting it points RethinkDB's backtrace at that optarg."""

    @staticmethod
    def about(option: str, error: Exception) -> Exception:
        error.option = option  # type: ignore[attr-defined]
        return error


def check_replication(
    shards: Any = None,
    replicas: Any = None,
    primary_replica_tag: Any = None,
    nonvoting_replica_tags: Any = None,
    server_tags: dict[str, int] | None = None,
) -> dict[str, int]:
    """Validate the options (None = not given) against the connected servers'
    tags (this server alone by default); returns replicas per server tag."""
    if shards is not None:
        check_shards(shards)
    try:
        per_tag = replicas_per_tag(replicas, primary_replica_tag, nonvoting_replica_tags)
    except ReqlQueryLogicError as e:
        raise OptionError.about("replicas", e)
    primary = "default" if primary_replica_tag is None else primary_replica_tag
    if primary not in per_tag:
        raise ReqlOpFailedError(
            f"Can't use server tag `{primary}` for primary replicas because you specified no replicas in server tag `{primary}`."
        )
    for tag in nonvoting_replica_tags or ():
        if tag not in per_tag:
            raise ReqlOpFailedError(
                f"You specified that the replicas in server tag `{tag}` should be non-voting, "
                f"but you didn't specify a number of replicas in server tag `{tag}`."
            )
    if sum(per_tag.values()) == 0:
        raise ReqlOpFailedError(
            "You must set `replicas` to at least one. `replicas` includes the primary replica; "
            "if there are zero replicas, there is nowhere to put the data."
        )
    for tag, count in per_tag.items():
        servers = (server_tags or SERVER_TAGS).get(tag, 0)
        if count > servers:
            raise ReqlOpFailedError(
                f"Can't put {count} replicas on servers with the tag `{tag}` because there are only {servers} "
                f"servers with the tag `{tag}`. It's impossible to have more replicas of the data than there are servers."
            )
    return per_tag


def check_shards(shards: Any) -> int:
    try:
        n = whole_number(shards)
        if n < 1:
            raise ReqlQueryLogicError("Every table must have at least one shard.")
    except ReqlQueryLogicError as e:
        raise OptionError.about("shards", e)
    if n > MAX_SHARDS:
        raise ReqlOpFailedError(f"Maximum number of shards is {MAX_SHARDS}.")
    return n


def replicas_per_tag(replicas: Any, primary_replica_tag: Any, nonvoting_replica_tags: Any) -> dict[str, int]:
    if primary_replica_tag is not None:
        check_tag(primary_replica_tag)
    if nonvoting_replica_tags is not None:
        if type(nonvoting_replica_tags) is not list:
            raise ReqlQueryLogicError(f"Expected type ARRAY but found {type_name(nonvoting_replica_tags)}.")
        for tag in nonvoting_replica_tags:
            check_tag(tag)
    if replicas is None:
        return {"default": 1}
    if type(replicas) is dict:
        per_tag = {}
        for tag, count in replicas.items():
            check_name("Server tag", tag)
            n = whole_number(count)
            if n < 0:
                raise ReqlQueryLogicError("Can't have a negative number of replicas")
            per_tag[tag] = n
        if primary_replica_tag is None:
            raise ReqlQueryLogicError("`primary_replica_tag` must be specified when `replicas` is an OBJECT.")
        return per_tag
    if type(replicas) in (int, float):
        n = whole_number(replicas)
        if n < 0:
            raise ReqlQueryLogicError("Can't have a negative number of replicas")
        if primary_replica_tag is not None:
            raise ReqlQueryLogicError("`replicas` must be an OBJECT if `primary_replica_tag` is specified.")
        if nonvoting_replica_tags is not None:
            raise ReqlQueryLogicError("`replicas` must be an OBJECT if `nonvoting_replica_tags` is specified.")
        return {"default": n}
    raise ReqlQueryLogicError(f"Expected type OBJECT or NUMBER but found {type_name(replicas)}.")


def check_tag(tag: Any) -> str:
    if type(tag) is not str:
        raise ReqlQueryLogicError(f"Expected type STRING but found {type_name(tag)}.")
    return check_name("Server tag", tag)


def whole_number(v: Any) -> int:
    if type(v) not in (int, float):
        raise ReqlQueryLogicError(f"Expected type NUMBER but found {type_name(v)}.")
    if type(v) is float:
        raise ReqlQueryLogicError(f"Number not an integer: {fmt_num(v)}")
    return v


# ---------------------------------------------------------------------------
# Write hooks, kept with the tables' configuration (``table_config``'s
# ``write_hook``) under the table's id; ReQL compiles and runs them.

WRITE_HOOK_META = "write_hook/"
WRITE_HOOK_PREFIX = b"$reql_write_hook_function$"
WRITE_HOOK_VERSION = 1
FUNC_TERM = int(TermType.FUNC)


class WriteHooks:
    """Each table's hook as stored: its function in wire form and its text,
    read once from storage and cached."""

    def __init__(self, storage: "Storage") -> None:
        self.storage = storage
        self.cache: dict[str, dict | None] = {}

    def get(self, table_id: str) -> dict | None:
        """``{"func": wire function, "query": text}``, or None."""
        if table_id not in self.cache:
            self.cache[table_id] = self.storage.get_meta(WRITE_HOOK_META + table_id)
        return self.cache[table_id]

    def set(self, table_id: str, hook: dict | None) -> None:
        if hook is None:
            self.storage.delete_meta(WRITE_HOOK_META + table_id)
        else:
            self.storage.put_meta(WRITE_HOOK_META + table_id, hook)
        self.cache[table_id] = hook

    def row(self, table_id: str) -> dict | None:
        """``get_write_hook()`` and ``table_config``'s ``write_hook``."""
        hook = self.get(table_id)
        if hook is None:
            return None
        return {"function": write_hook_binary(hook["func"]), "query": hook["query"]}


def write_hook_binary(func: Any) -> bytes:
    payload = {"v": WRITE_HOOK_VERSION, "func": func}
    return WRITE_HOOK_PREFIX + json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def write_hook_function(blob: bytes) -> Any:
    """The wire function of a ``get_write_hook`` binary; ValueError if it is not one."""
    if not blob.startswith(WRITE_HOOK_PREFIX):
        raise ValueError("not a write hook function")
    payload = json.loads(blob[len(WRITE_HOOK_PREFIX):].decode())
    func = payload["func"] if type(payload) is dict else None
    if payload.get("v") != WRITE_HOOK_VERSION or type(func) is not list or not func or func[0] != FUNC_TERM:
        raise ValueError("not a write hook definition")
    return func


class Placement(Protocol):
    """Where a cluster keeps each table (the cluster's replication service)."""

    def shards(self, table_id: str) -> list[dict] | None:
        """``[{primary_replica, replicas, nonvoting_replicas}]`` by server id; None outside a cluster."""
        ...

    def replica_state(self, table_id: str, server_id: str) -> str: ...

    def primary_connected(self, table_id: str) -> bool: ...


class Catalog:
    """Names of databases and tables, and the config/status rows describing them
    (shared by the admin terms and the system tables)."""

    def __init__(self, storage: "Storage", node: "Node") -> None:
        self.storage = storage
        self.node = node
        self.write_hooks = WriteHooks(storage)
        self._by_name: tuple[dict, dict] = ({}, {})
        self._names_version = -1
        self.placement: Placement | None = None  # set in a cluster (by the composition root)

    # -- databases -----------------------------------------------------------
    def db_by_name(self, name: str) -> "DbMeta | None":
        return self._names()[0].get(name)

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
        return self._names()[1].get((db_id, name))

    def _names(self) -> tuple[dict[str, "DbMeta"], dict[tuple[str, str], "TableMeta"]]:
        """Databases by name and tables by (db id, name), rebuilt after catalog changes
        (every query resolves names: a scan of all tables would grow with their number)."""
        storage = self.storage
        if self._names_version != storage.catalog_version:
            dbs: dict[str, DbMeta] = {}
            for db in storage.dbs.values():
                dbs.setdefault(db.name, db)
            tables: dict[tuple[str, str], TableMeta] = {}
            for t in storage.tables.values():
                tables.setdefault((t.db_id, t.name), t)
            self._by_name = (dbs, tables)
            self._names_version = storage.catalog_version
        return self._by_name

    def require_table(self, db_name: str, db_id: str, name: str) -> "TableMeta":
        t = self.table_by_name(db_id, name)
        if t is None:
            raise ReqlOpFailedError(f"Table `{db_name}.{name}` does not exist.")
        return t

    # -- rows shared by admin terms and system tables ------------------------
    def db_config_row(self, db: "DbMeta") -> dict:
        return {"id": db.id, "name": db.name}

    # A single server keeps each table in one store; the shard count a user
    # configured is remembered and shown, every shard on this server.
    def shard_count(self, table_id: str) -> int:
        return self.storage.get_meta(SHARDS_META + table_id) or 1

    def set_shard_count(self, table_id: str, shards: int) -> None:
        if shards == 1:
            self.storage.delete_meta(SHARDS_META + table_id)
        else:
            self.storage.put_meta(SHARDS_META + table_id, shards)

    def _placed(self, table_id: str) -> list[dict] | None:
        return self.placement.shards(table_id) if self.placement is not None else None

    def _server(self, server_id: str, identifier_format: str) -> str:
        """A server named in a table's configuration (its id once it is gone)."""
        return self.node.ref_of(server_id, identifier_format) or server_id

    def table_config_row(self, t: "TableMeta", identifier_format: str = "name") -> dict:
        placed = self._placed(t.id)
        if placed is not None:
            ref = lambda sid: self._server(sid, identifier_format)  # noqa: E731
            shards = [
                {"nonvoting_replicas": [ref(s) for s in shard["nonvoting_replicas"]],
                 "primary_replica": ref(shard["primary_replica"]), "replicas": [ref(s) for s in shard["replicas"]]}
                for shard in placed
            ]
        else:
            server = self.node.ref(identifier_format)
            shards = [
                {"nonvoting_replicas": [], "primary_replica": server, "replicas": [server]}
                for _ in range(self.shard_count(t.id))
            ]
        row = {
            "db": t.db_id if identifier_format == "uuid" else self.db_name(t.db_id),
            "durability": t.durability,
            "id": t.id,
            "indexes": sorted(t.indexes),
            "name": t.name,
            "primary_key": t.primary_key,
            "shards": shards,
            "write_acks": t.write_acks,
            "write_hook": self.write_hook_row(t),
        }
        if t.log_retention is not None:  # shown only when set (beyond RethinkDB; see storage/changelog.py)
            row = {"changefeed_retention": dict(t.log_retention)} | row
        return row

    def write_hook_row(self, t: "TableMeta") -> Any:
        return self.write_hooks.row(t.id)

    def table_status_row(self, t: "TableMeta", identifier_format: str = "name") -> dict:
        placed = self._placed(t.id)
        if placed is not None and self.placement is not None:
            return self._cluster_status_row(t, placed, self.placement, identifier_format)
        server = self.node.ref(identifier_format)
        shards = [
            {"primary_replicas": [server], "replicas": [{"server": server, "state": "ready"}]}
            for _ in range(self.shard_count(t.id))
        ]
        return {
            "db": t.db_id if identifier_format == "uuid" else self.db_name(t.db_id),
            "id": t.id,
            "name": t.name,
            "raft_leader": server,
            "shards": shards,
            "status": {
                "all_replicas_ready": True,
                "ready_for_outdated_reads": True,
                "ready_for_reads": True,
                "ready_for_writes": True,
            },
        }

    def _cluster_status_row(self, t: "TableMeta", placed: list[dict], placement: Placement, fmt: str) -> dict:
        up = placement.primary_connected(t.id)
        shards, ready = [], up
        for shard in placed:
            replicas = [{"server": self._server(s, fmt), "state": placement.replica_state(t.id, s)} for s in shard["replicas"]]
            ready = ready and all(r["state"] == "ready" for r in replicas)
            primaries = [self._server(shard["primary_replica"], fmt)] if up else []
            shards.append({"primary_replicas": primaries, "replicas": replicas})
        return {
            "db": t.db_id if fmt == "uuid" else self.db_name(t.db_id),
            "id": t.id,
            "name": t.name,
            "raft_leader": self._server(placed[0]["primary_replica"], fmt) if up else None,
            "shards": shards,
            "status": {
                "all_replicas_ready": ready,
                "ready_for_outdated_reads": True,
                "ready_for_reads": up,
                "ready_for_writes": up,
            },
        }
