"""Tables as the evaluator sees them: one class for user tables (backed by the
storage engine) and system tables (backed by a ``system`` backend).

A ``TableVal`` is itself a stream (a full scan, in primary-key order) and a
selection (its rows can be updated/deleted).  Table slices (``between``,
``order_by(index=...)``) are ``TableSlice`` streams that remember their index,
bounds and ordering, so that they can be narrowed further and described by
``info()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from .. import datum as D
from ..datum.errors import ReqlNonExistenceError, ReqlOpFailedError, ReqlQueryLogicError
from ..storage import BadKeyType, KeyTooLong
from ..storage.keys import check_pk
from .stream import Pacer, Stream

if TYPE_CHECKING:
    from ..system.base import RowChange
    from .context import QueryContext

UNORDERED, ASCENDING, DESCENDING = "UNORDERED", "ASCENDING", "DESCENDING"
GEOMETRY_KEY = "Cannot use a geometry value as a key value in a primary or non-geospatial secondary index."
MAX_KEY_CHARS = 127  # RethinkDB's limit on a primary key's internal string, minus its type letter


class SystemBackend(Protocol):
    """What a system table implements (see systables/system/)."""

    name: str
    primary_key: str

    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]: ...

    def get(self, ctx: "QueryContext", key: Any, identifier_format: str) -> dict | None: ...

    async def write(self, row: "RowChange") -> str | None:
        """Apply one row's change; None, or the message the write summary reports."""


# ---------------------------------------------------------------------------
# Primary keys (datum_t::print_primary): RethinkDB's rules and messages.

def primary_key_error(key: Any) -> str | None:
    """Why ``key`` cannot be a primary key, in RethinkDB's words; None if it can.
    ``r.minval``/``r.maxval`` pass: they name no row (writes refuse them apart)."""
    t = type(key)
    if t is str:
        if "\x00" in key:
            return nul_byte_error(key)
        if len(key) > MAX_KEY_CHARS // 4 and len(key.encode()) > MAX_KEY_CHARS:
            return key_too_long(key)
        return None
    if t is int or t is float or t is D.MinMaxVal:
        return None
    bad = bad_key(key, PRIMARY)
    if bad is not None:
        return bad[0]
    if contains_minmax(key):
        return None
    if not _fewer_nodes(key, MAX_KEY_CHARS):  # every value in a key costs it a character at least
        return key_too_long(key)
    try:
        check_pk(key)
    except KeyTooLong:
        return key_too_long(key)
    except BadKeyType as e:
        return bad_key_message(e.key, PRIMARY)
    return None


def _fewer_nodes(value: Any, budget: int) -> bool:
    """Whether ``value`` holds fewer than ``budget`` values (walks at most that many)."""
    stack = [value]
    while stack:
        budget -= 1
        if budget < 0:
            return False
        v = stack.pop()
        if type(v) is list:
            stack.extend(v)
    return True


PRIMARY, SECONDARY = "primary", "secondary"
ARRAY_KEY = "Array keys can only contain numbers, strings, bools,  pseudotypes, or arrays"


def bad_key(key: Any, kind: str, in_array: bool = False) -> tuple[str, Any] | None:
    """RethinkDB's type and NUL-byte checks of a key (``print_primary`` /
    ``print_secondary``): the message and the offending value, or None."""
    t = type(key)
    if t is list:
        for item in key:
            bad = bad_key(item, kind, True)
            if bad is not None:
                return bad
        return None
    if t is str:  # only primary keys refuse NUL bytes
        return (nul_byte_error(key), key) if kind == PRIMARY and "\x00" in key else None
    if t is bool or t is int or t is float or t is bytes or t is D.MinMaxVal:
        return None
    if t is dict:
        rt = key.get(D.REQL_TYPE)
        if rt == "TIME":
            return None
        if rt == "GEOMETRY":
            return GEOMETRY_KEY, key
    return bad_key_message(key, kind, in_array), key


def bad_key_message(key: Any, kind: str, in_array: bool = False) -> str:
    name = D.type_name(key)
    if in_array:
        return f"{ARRAY_KEY} (got {D.print_datum(key)} of type {name})."
    if kind == SECONDARY:
        return f"Secondary keys must be a number, string, bool, pseudotype, or array (got {D.print_datum(key)} of type {name})."
    return f"Primary keys must be either a number, string, bool, pseudotype or array (got type {name}):\n{D.print_datum(key)}"


def contains_minmax(key: Any) -> bool:
    t = type(key)
    if t is list:
        return any(contains_minmax(x) for x in key)
    return t is D.MinMaxVal


def key_error(key: Any, kind: str, at: Any = None) -> ReqlQueryLogicError | None:
    """The error a bad key raises: a missing value (null) is NON_EXISTENCE."""
    if kind == PRIMARY:
        message = primary_key_error(key)
        bad = key
        if message is not None and type(key) is list:
            found = bad_key(key, kind)
            bad = found[1] if found is not None else key
    else:
        found = bad_key(key, kind)
        message, bad = found if found is not None else (None, None)
    if message is None:
        return None
    cls = ReqlNonExistenceError if bad is None else ReqlQueryLogicError
    return cls(message, at)


def key_too_long(key: Any) -> str:
    return f"Primary key too long (max {MAX_KEY_CHARS} characters): {D.print_datum(key)}"


def nul_byte_error(s: str) -> str:
    offset = s.index("\x00")
    return f"String `{s[:min(offset, 20)]}` (truncated) contains NULL byte at offset {offset}."


def check_primary_key(key: Any, at: Any = None) -> Any:
    err = key_error(key, PRIMARY, at)
    if err is not None:
        raise err
    return key


# ---------------------------------------------------------------------------

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
        if ctx.tables is not None:  # the live costs of the query's jobs row
            ctx.tables.add((db_name, name))

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
    def note_read(self, n: int) -> None:
        """Count documents read: the query's total, and the table's ``stats``."""
        self.ctx.docs_read += n
        if self.store is not None:
            self.ctx.counters.note_read(self.store.meta.id, n)

    def check_local(self) -> None:
        """In a cluster, this server reads a table only as its primary (or,
        with ``read_mode="outdated"``, as a complete replica)."""
        if self.store is not None:
            self.ctx.replication.check_read(self.store.meta.id, self.read_mode, self.qualified_name)

    def get(self, key: Any) -> dict | None:
        """The row with primary key ``key``; invalid keys raise RethinkDB's errors."""
        self.note_read(1)
        if self.system is not None:
            return self.system.get(self.ctx, key, self.identifier_format)
        self.check_local()
        check_primary_key(key)
        if contains_minmax(key):
            return None  # r.minval / r.maxval name no row
        return self.store.get(key)

    def scan(
        self,
        lo: Any = None,
        hi: Any = None,
        *,
        lo_open: bool = False,
        hi_open: bool = True,
        reverse: bool = False,
        typeof_name: str = "TABLE_SLICE",
        sorting: str | None = None,
    ) -> "TableSlice":
        self.check_local()
        cls = SystemScan if self.system is not None else TableScan
        return cls(self, self.primary_key, lo, hi, lo_open, hi_open, reverse, typeof_name, sorting)

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
        sorting: str | None = None,
    ) -> "TableSlice":
        if index == self.primary_key:
            return self.scan(lo, hi, lo_open=lo_open, hi_open=hi_open, reverse=reverse, typeof_name=typeof_name, sorting=sorting)
        # The index is checked when first read, as RethinkDB does: `between(.., index=x).info()` works for any x.
        self.check_local()
        return IndexScan(self, index, lo, hi, lo_open, hi_open, reverse, typeof_name, sorting)

    def check_index_usable(self, index: str, *, geo: bool = False) -> Any:
        """The index's metadata if a query may read it; a geo index only
        serves the geo terms (``geo=True``)."""
        if self.system is not None:
            # RethinkDB's artificial tables word this one without a final period.
            raise ReqlOpFailedError(f"Index `{index}` was not found on table `{self.qualified_name}`")
        meta = self.store.meta.indexes.get(index)
        if meta is None:
            raise ReqlOpFailedError(f"Index `{index}` was not found on table `{self.qualified_name}`.")
        if not meta.ready:
            raise ReqlOpFailedError(
                f"Index `{index}` on table `{self.qualified_name}` was accessed before its construction was finished."
            )
        if meta.geo and not geo:
            raise ReqlQueryLogicError(
                f"Index `{index}` is a geospatial index.  Only get_nearest and get_intersecting can use a geospatial index."
            )
        return meta

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
        # The store keeps an exact per-table count inside every write batch.
        self.check_local()
        return self.store.count()


class TableSlice(Stream):
    """Rows of a table in the order of an index (the primary key's by default),
    within bounds.  ``sorting`` is what ``info()`` reports: UNORDERED unless the
    slice came from ``order_by(index=...)``."""

    def __init__(
        self,
        table: TableVal,
        index: str,
        lo: Any,
        hi: Any,
        lo_open: bool,
        hi_open: bool,
        reverse: bool,
        typeof_name: str,
        sorting: str | None = None,
    ) -> None:
        self.table = table
        self.index = index
        self.lo, self.hi = lo, hi
        self.lo_open, self.hi_open = lo_open, hi_open
        self.reverse = reverse
        self.sorting = sorting or (DESCENDING if reverse else UNORDERED)
        self.typeof_name = typeof_name
        self.type_name = "TABLE_SLICE" if typeof_name == "TABLE_SLICE" else ("SELECTION" if typeof_name.startswith("SELECTION") else "TABLE")
        self._pacer = Pacer()
        self._done = is_empty_range(lo, hi, lo_open, hi_open)

    @property
    def _args(self) -> tuple[Any, Any, bool, bool, bool]:
        return self.lo, self.hi, self.lo_open, self.hi_open, self.reverse

    @property
    def has_bounds(self) -> bool:
        return not (_unbounded_below(self.lo) and _unbounded_above(self.hi))

    def with_bounds(self, index: str, lo: Any, hi: Any, lo_open: bool, hi_open: bool) -> "TableSlice":
        """``between`` on this slice (RethinkDB's table_slice_t::with_bounds)."""
        if self.has_bounds:
            raise ReqlQueryLogicError("Cannot perform multiple BETWEENs on the same table.")
        if index != self.index:
            raise ReqlQueryLogicError(f"Cannot call BETWEEN on index `{index}` after ordering on index `{self.index}`.")
        return self.table.index_scan(
            index, lo, hi, lo_open=lo_open, hi_open=hi_open, reverse=self.reverse, sorting=self.sorting
        )

    def _next_chunk_size(self) -> int:
        return self._pacer.chunk

    async def _yield(self) -> None:
        """Let other queries run (and a kill land) between two chunks."""
        await self._pacer.pause()


def _unbounded_below(v: Any) -> bool:
    return v is None or v is D.MINVAL


def _unbounded_above(v: Any) -> bool:
    return v is None or v is D.MAXVAL


def is_empty_range(lo: Any, hi: Any, lo_open: bool, hi_open: bool) -> bool:
    """Bounds that no value satisfies (``between(r.maxval, r.minval)``, ``between(2, 1)``)."""
    if lo is None or hi is None:
        return False
    c = D.cmp(lo, hi)
    return c > 0 or (c == 0 and (lo_open or hi_open))


def storage_bound(v: Any) -> Any:
    """Top-level r.minval / r.maxval are the open ends of a range."""
    return None if isinstance(v, D.MinMaxVal) else v


class TableScan(TableSlice):
    """Primary-key-ordered scan of a user table, read in growing chunks."""

    _scan: Any = None

    async def next_batch(self) -> list | None:
        if self._done:
            return None
        if self._scan is None:
            self._scan = self.table.store.scan(
                lo=storage_bound(self.lo), hi=storage_bound(self.hi),
                lo_open=self.lo_open, hi_open=self.hi_open, reverse=self.reverse,
            )
        else:
            await self._yield()
        rows = self._scan.next_chunk(self._next_chunk_size())
        if not rows:
            self.close()
            return None
        self.table.note_read(len(rows))
        return rows

    def close(self) -> None:
        self._done = True
        if self._scan is not None:
            self._scan.close()
            self._scan = None


class IndexScan(TableSlice):
    """Secondary-index-ordered scan: yields documents (ties by primary key)."""

    _scan: Any = None
    with_values = False  # yield (index value, document) pairs instead

    async def next_batch(self) -> list | None:
        if self._done:
            return None
        if self._scan is None:
            self.table.check_index_usable(self.index)
            self._scan = self.table.store.index_scan(
                self.index, lo=storage_bound(self.lo), hi=storage_bound(self.hi),
                lo_open=self.lo_open, hi_open=self.hi_open, reverse=self.reverse,
            )
        else:
            await self._yield()
        rows = self._scan.next_chunk(self._next_chunk_size())
        if not rows:
            self.close()
            return None
        self.table.note_read(len(rows))
        if self.with_values:
            return rows
        return [doc for _, doc in rows]

    def close(self) -> None:
        self._done = True
        if self._scan is not None:
            self._scan.close()
            self._scan = None


class SystemScan(TableSlice):
    """System tables are computed live and small: materialise, sort, bound."""

    _rows: list | None = None

    async def next_batch(self) -> list | None:
        if self._rows is not None or self._done:
            return None
        pk = self.table.primary_key
        rows = self.table.system.rows(self.table.ctx, self.table.identifier_format)  # type: ignore[union-attr]
        if self.lo is not None or self.hi is not None:
            rows = [r for r in rows if in_range(r.get(pk), self.lo, self.hi, self.lo_open, self.hi_open)]
        rows.sort(key=lambda r: D.SortKey(r.get(pk)), reverse=self.reverse)
        self._rows = rows
        self.table.note_read(len(rows))
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


def check_identifier_format(v: Any) -> str:
    if v not in ("name", "uuid"):
        raise ReqlQueryLogicError(f'Identifier format `{v}` unrecognized (options are "name" and "uuid").')
    return v
