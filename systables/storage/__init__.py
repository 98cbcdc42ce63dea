"""Storage engine: documents and secondary indexes in RocksDB (see API.md)."""

from .catalog import DbMeta, IndexMeta, TableMeta
from .engine import Storage
from .errors import (
    AlreadyExists,
    BadKeyType,
    IndexFunctionMissing,
    KeyTooLong,
    NoSuchDb,
    NoSuchIndex,
    NoSuchTable,
    StorageClosed,
    StorageError,
)
from .scan import IndexScan, KeyCount, Scan
from .table import BackfillChunk, IndexFn, TableStore

__all__ = [
    "AlreadyExists",
    "BackfillChunk",
    "BadKeyType",
    "DbMeta",
    "IndexFn",
    "IndexFunctionMissing",
    "IndexMeta",
    "IndexScan",
    "KeyCount",
    "KeyTooLong",
    "NoSuchDb",
    "NoSuchIndex",
    "NoSuchTable",
    "Scan",
    "Storage",
    "StorageClosed",
    "StorageError",
    "TableMeta",
    "TableStore",
]
