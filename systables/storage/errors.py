"""Exceptions raised by the storage engine.

They carry the offending values so that the ReQL layer can phrase RethinkDB's
own messages; ``str()`` gives a readable default.
"""

from __future__ import annotations

from typing import Any


class StorageError(Exception):
    """Base class of every storage error."""


class BadKeyType(StorageError):
    """A primary key of a type RethinkDB refuses (null, object, geometry...)."""

    def __init__(self, key: Any, type_name: str) -> None:
        super().__init__(f"Primary keys must be either a number, string, bool, pseudotype or array (got type {type_name})")
        self.key = key
        self.type_name = type_name


class KeyTooLong(StorageError):
    """A primary key whose RethinkDB key string exceeds 127 characters."""

    def __init__(self, key: Any, size: int) -> None:
        super().__init__(f"Primary key too long (max 127 characters, key needs {size - 1})")
        self.key = key
        self.size = size


class NoSuchDb(StorageError):
    pass


class NoSuchTable(StorageError):
    pass


class NoSuchIndex(StorageError):
    pass


class AlreadyExists(StorageError):
    pass


class IndexFunctionMissing(StorageError):
    """A write needs an index function that was never attached after reopening."""


class StorageClosed(StorageError):
    pass
