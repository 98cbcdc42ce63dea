"""Tables as the evaluator sees them: one class for user tables (backed by the
storage engine) and system tables (backed by a ``system`` backend).

A ``TableVal`` is itself a stream (a full scan, in primary-key order) and a
selection (its rows can be updated/deleted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import trio

from . import datum as D
from .errors import ReqlNonExistenceError, ReqlOpFailedError, ReqlQueryLogicError
from .stream import FIRST_CHUNK, Stream, next_chunk_size

if TYPE_CHECKING:
    from .context import QueryContext


class SystemBackend(Protocol):
    """What a system table implements (see systables/system/)."""

    name: str
    primary_key: str

    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]: ...

    def get(self, ctx: "QueryContext", key: Any, identifier_format: str) -> dict | None: ...

    async def write(self, ctx: "QueryContext", key: Any, old: dict | None, new: dict | None, identifier_format: str) -> str | None: ...


class TableVal(Stream):
    type_name = "TABLE"
    typeof_name = "TABLE"

    def __init__(
        self,
        ctx: "QueryContext",
        db_name: str,
        db_id: str,
        name: str,
        *,
        store: Any = None,
        system: SystemBackend | None = None,
        identifier_format: str = "name",
        read_mode: str = "single",
    ) -> None:
        self.ctx = ctx
        self.db_name = db_name
        self.db_id = db_id
        self.name = name
        self.store = store
        self.system = system
        self.identifier_format = identifier_format
        self.read_mode = read_mode
        self._scan: Stream | None = None

    # -- identity ------------------------------------------------------------
    @property
    def table(self) -> "TableVal":  # a table is a selection of its own rows
        return self

    @property
    def id(self) -> str:
        return self.store.meta.id if self.store is not None else self.system.id  # type: ignore[union-attr]

    @property
    def primary_key(self) -> str:
        return self.store.meta.primary_key if self.store is not None else self.system.primary_key  # type: ignore[union-attr]

    @property
    def qualified_name(self) -> str:
        return f"{self.db_name}.{self.name}"

    def describe(self) -> str:
        return f'table("{self.name}")'

    # -- reads ---------------------------------------------------------------
    def get(self, key: Any) -> dict | None:
        self.ctx.docs_read += 1
        if self.system is not None:
            return self.system.get(self.ctx, key, self.identifier_format)
        from ..storage import BadKeyType, KeyTooLong

        try:
            return self.store.get(key)
        except (BadKeyType, KeyTooLong):
            return None

    def scan(
        self,
        lo: Any = None,
        hi: Any = None,
        *,
        lo_open: bool = False,
        hi_open: bool = True,
        reverse: bool = False,
        typeof_name: str = "TABLE_SLICE",
    ) -> Stream:
        if self.system is not None:
            return SystemScan(self, lo, hi, lo_open, hi_open, reverse, typeof_name)
        return TableScan(self, lo, hi, lo_open, hi_open, reverse, typeof_name)

    def index_scan(
        self,
        index: str,
        lo: Any = None,
        hi: Any = None,
        *,
        lo_open: bool = False,
        hi_open: bool = True,
        reverse: bool = False,
        typeof_name: str = "TABLE_SLICE",
    ) -> Stream:
        if index == self.primary_key:
            return self.scan(lo, hi, lo_open=lo_open, hi_open=hi_open, reverse=reverse, typeof_name=typeof_name)
        self.check_index_usable(index)
        return IndexScan(self, index, lo, hi, lo_open, hi_open, reverse, typeof_name)

    def check_index_usable(self, index: str) -> None:
        if self.system is not None:
            raise ReqlOpFailedError(f"Index `{index}` was not found on table `{self.qualified_name}`")
        meta = self.store.meta.indexes.get(index)
        if meta is None:
            raise ReqlOpFailedError(f"Index `{index}` was not found on table `{self.qualified_name}`.")
        if not meta.ready:
            raise ReqlOpFailedError(
                f"Index `{index}` on table `{self.qualified_name}` was accessed before its construction was finished."
            )

    async def next_batch(self) -> list | None:
        if self._scan is None:
            self._scan = self.scan(typeof_name="TABLE")
        return await self._scan.next_batch()

    def close(self) -> None:
        if self._scan is not None:
            self._scan.close()

    async def count(self) -> int:
        if self.system is not None:
            return len(self.system.rows(self.ctx, self.identifier_format))
        n = 0
        counter = self.store.count_keys()
        while True:
            got = counter.next_chunk(65536)
            if not got:
                return n
            n += got
            await trio.lowlevel.checkpoint()


class TableScan(Stream):
    """Primary-key-ordered scan of a user table, read in growing chunks."""

    def __init__(self, table: TableVal, lo: Any, hi: Any, lo_open: bool, hi_open: bool, reverse: bool, typeof_name: str) -> None:
        self.table = table
        self.typeof_name = typeof_name
        self.type_name = "TABLE_SLICE" if typeof_name == "TABLE_SLICE" else "TABLE"
        self._args = (lo, hi, lo_open, hi_open, reverse)
        self._scan: Any = None
        self._chunk = FIRST_CHUNK
        self._done = False

    async def next_batch(self) -> list | None:
        if self._done:
            return None
        if self._scan is None:
            lo, hi, lo_open, hi_open, reverse = self._args
            lo = None if lo is D.MINVAL else lo
            hi = None if hi is D.MAXVAL else hi
            self._scan = self.table.store.scan(lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open, reverse=reverse)
        else:
            await trio.lowlevel.checkpoint()
        rows = self._scan.next_chunk(self._chunk)
        self._chunk = next_chunk_size(self._chunk)
        if not rows:
            self.close()
            return None
        self.table.ctx.docs_read += len(rows)
        return rows

    def close(self) -> None:
        self._done = True
        if self._scan is not None:
            self._scan.close()
            self._scan = None


class IndexScan(Stream):
    """Secondary-index-ordered scan: yields documents (ties by primary key)."""

    def __init__(self, table: TableVal, index: str, lo: Any, hi: Any, lo_open: bool, hi_open: bool, reverse: bool, typeof_name: str) -> None:
        self.table = table
        self.index = index
        self.typeof_name = typeof_name
        self.type_name = "TABLE_SLICE"
        self._args = (lo, hi, lo_open, hi_open, reverse)
        self._scan: Any = None
        self._chunk = FIRST_CHUNK
        self._done = False
        self.with_values = False

    async def next_batch(self) -> list | None:
        if self._done:
            return None
        if self._scan is None:
            lo, hi, lo_open, hi_open, reverse = self._args
            lo = None if lo is D.MINVAL else lo
            hi = None if hi is D.MAXVAL else hi
            self._scan = self.table.store.index_scan(self.index, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open, reverse=reverse)
        else:
            await trio.lowlevel.checkpoint()
        rows = self._scan.next_chunk(self._chunk)
        self._chunk = next_chunk_size(self._chunk)
        if not rows:
            self.close()
            return None
        self.table.ctx.docs_read += len(rows)
        if self.with_values:
            return rows
        return [doc for _, doc in rows]

    def close(self) -> None:
        self._done = True
        if self._scan is not None:
            self._scan.close()
            self._scan = None


class SystemScan(Stream):
    """System tables are computed live and small: materialise, sort, bound."""

    def __init__(self, table: TableVal, lo: Any, hi: Any, lo_open: bool, hi_open: bool, reverse: bool, typeof_name: str) -> None:
        self.table = table
        self.typeof_name = typeof_name
        self.type_name = "TABLE_SLICE" if typeof_name == "TABLE_SLICE" else "TABLE"
        self._args = (lo, hi, lo_open, hi_open, reverse)
        self._rows: list | None = None

    async def next_batch(self) -> list | None:
        if self._rows is not None:
            return None
        lo, hi, lo_open, hi_open, reverse = self._args
        pk = self.table.primary_key
        rows = self.table.system.rows(self.table.ctx, self.table.identifier_format)  # type: ignore[union-attr]
        if lo is not None or hi is not None:
            rows = [r for r in rows if in_range(r.get(pk), lo, hi, lo_open, hi_open)]
        rows.sort(key=lambda r: D.SortKey(r.get(pk)), reverse=reverse)
        self._rows = rows
        self.table.ctx.docs_read += len(rows)
        return rows or None


def in_range(v: Any, lo: Any, hi: Any, lo_open: bool, hi_open: bool) -> bool:
    if lo is not None:
        c = D.cmp(v, lo)
        if c < 0 or (c == 0 and lo_open):
            return False
    if hi is not None:
        c = D.cmp(v, hi)
        if c > 0 or (c == 0 and hi_open):
            return False
    return True


def missing_field(field: str, obj: Any) -> ReqlNonExistenceError:
    return ReqlNonExistenceError(f"No attribute `{field}` in object:\n{D.print_datum(obj)}")


def check_identifier_format(v: Any) -> str:
    if v not in ("name", "uuid"):
        shown = v if type(v) is str else D.print_datum(v)
        raise ReqlQueryLogicError(f'Identifier format `{shown}` unrecognized (options are "name" and "uuid").')
    return v
