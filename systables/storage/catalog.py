"""Catalog records (databases, tables, indexes) and their persisted form.

The catalog lives in RocksDB's default column family next to the server's own
records; documents and index entries live in the ``data`` column family under
a 4-byte *keyspace* prefix per table and per index.  Keyspace numbers are
never reused, so dropping a table or index is one range deletion in the same
batch as its catalog change.
"""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass, field
from typing import Any

from . import codec

DB_PREFIX = b"db:"
TABLE_PREFIX = b"tb:"
META_PREFIX = b"mt:"
COUNT_PREFIX = b"ct:"  # exact document count per table keyspace
SERVER_ID_KEY = b"sys:server_id"
NEXT_KEYSPACE_KEY = b"sys:next_keyspace"

_KEYSPACE = struct.Struct(">I")
_COUNT = struct.Struct(">q")


@dataclass
class DbMeta:
    id: str
    name: str


@dataclass
class IndexMeta:
    name: str
    function: bytes
    multi: bool = False
    geo: bool = False
    ready: bool = False
    progress: float = 0.0
    keyspace: int = 0  # assigned by the engine
    # Construction state, persisted so that a build resumes after a restart:
    # the primary-key encoding of the last document indexed (None: from the
    # start), and the operator's controls (pause, priority "normal" | "low").
    build_after: bytes | None = None
    paused: bool = False
    priority: str = "normal"


@dataclass
class TableMeta:
    id: str
    db_id: str
    name: str
    primary_key: str = "id"
    durability: str = "hard"
    write_acks: str = "majority"
    indexes: dict[str, IndexMeta] = field(default_factory=dict)
    keyspace: int = 0  # assigned by the engine
    # The change log (``changelog``): its keyspace, its retention if not the
    # default ({"seconds": s, "changes": n}), and the last position trimmed.
    log_keyspace: int = 0
    log_retention: dict | None = None
    log_trimmed: int = 0


def keyspace_prefix(keyspace: int) -> bytes:
    return _KEYSPACE.pack(keyspace)


def keyspace_end(keyspace: int) -> bytes:
    """First key after the keyspace (exclusive upper bound)."""
    return _KEYSPACE.pack(keyspace + 1)


def pack_count(n: int) -> bytes:
    return _COUNT.pack(n)


def unpack_count(raw: bytes | None) -> int:
    return _COUNT.unpack(raw)[0] if raw else 0


def pack_keyspace_counter(n: int) -> bytes:
    return _KEYSPACE.pack(n)


def unpack_keyspace_counter(raw: bytes | None) -> int:
    return _KEYSPACE.unpack(raw)[0] if raw else 1


def db_key(db_id: str) -> bytes:
    return DB_PREFIX + db_id.encode()


def table_key(table_id: str) -> bytes:
    return TABLE_PREFIX + table_id.encode()


def meta_key(key: str) -> bytes:
    return META_PREFIX + key.encode()


def count_key(keyspace: int) -> bytes:
    return COUNT_PREFIX + keyspace_prefix(keyspace)


def pack_db(meta: DbMeta) -> bytes:
    return codec.pack(asdict(meta))


def unpack_db(raw: bytes) -> DbMeta:
    return DbMeta(**codec.unpack(raw))


def pack_table(meta: TableMeta) -> bytes:
    return codec.pack(asdict(meta))


def unpack_table(raw: bytes) -> TableMeta:
    fields: dict[str, Any] = codec.unpack(raw)
    indexes = {name: IndexMeta(**ix) for name, ix in fields.pop("indexes").items()}
    return TableMeta(indexes=indexes, **fields)
