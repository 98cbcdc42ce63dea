"""Tables as the evaluator sees them: one interface, ``TableVal``, for user
tables (``StoredTableVal``, backed by the storage engine) and system tables
(``SystemTableVal``, backed by a ``system`` backend).

A ``TableVal`` is itself a stream (a full scan, in primary-key order) and a
selection (its rows can be updated/deleted).  Table slices (``between``,
``order_by(index=...)``) are ``TableSlice`` streams that remember their index,
bounds and ordering, so that they can be narrowed further and described by
``info()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from .. import datum as D
from ..datum.errors import ReqlNonExistenceError, ReqlOpFailedError, ReqlQueryLogicError
from ..storage import BadKeyType, KeyTooLong
from ..catalog import SYSTEM_DB, SYSTEM_DB_ID
from ..storage.keys import check_pk
from .bounds import ALL, Bounds
from .row_writers import RowWriter, StoredRows, SystemRows
from .stream import Pacer, Stream

if TYPE_CHECKING:
    from typing import Mapping

    from ..storage.catalog import IndexMeta
    from ..storage.table import TableStore
    from ..system.base import SystemTable
    from .context import QueryContext

UNORDERED, ASCENDING, DESCENDING = "UNORDERED", "ASCENDING", "DESCENDING"
GEOMETRY_KEY = "Cannot use a geometry value as a key value in a primary or non-geospatial secondary index."
MAX_KEY_CHARS = 127  # RethinkDB's limit on a primary key's internal string, minus its type letter


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
    """A table as a query holds it: one interface for user tables
    (``StoredTableVal``, backed by the storage engine) and system tables
    (``SystemTableVal``, backed by a ``systables.system`` backend), so that
    terms ask the table rather than branch on which kind they hold.

    What differs between the two kinds is here, in one place: reads
    (``get``, ``scan``, ``count``), indexes (``index_names``,
    ``check_index_usable``), writes (``row_writer``), and what only a stored
    table has (``stored``, for the terms that need one, with the error they
    give on a system table)."""

    type_name = "TABLE"
    typeof_name = "TABLE"
    # What RethinkDB does differently on its artificial tables:
    validates_primary_keys = True  # get_all(key) checks the key's type first
    has_write_hooks = True
    # Rows computed when read, not stored: no change log (feeds re-read them
    # and cannot resume), no storage order of their own to stream them in.
    computed_rows = False
    default_durability = "soft"

    def __init__(
        self,
        ctx: "QueryContext",
        db_name: str,
        db_id: str,
        name: str,
        *,
        identifier_format: str = "name",
        read_mode: str = "single",
    ) -> None:
        self.ctx = ctx
        self.db_name = db_name
        self.db_id = db_id
        self.name = name
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
        raise NotImplementedError

    @property
    def primary_key(self) -> str:
        raise NotImplementedError

    @property
    def qualified_name(self) -> str:
        return f"{self.db_name}.{self.name}"

    def describe(self) -> str:
        return f'table("{self.name}")'

    # -- what only a stored table has --------------------------------------
    def stored(self, refusal: Callable[[], Exception]) -> "TableStore":
        """The table's store, for a term that needs one; ``refusal()`` is
        raised on a system table, which has none."""
        raise NotImplementedError

    # -- reads ---------------------------------------------------------------
    def note_read(self, n: int) -> None:
        """Count documents read: the query's total (and the table's ``stats``)."""
        self.ctx.docs_read += n

    def check_local(self) -> None:
        """In a cluster, this server reads a table only as its primary (or,
        with ``read_mode="outdated"``, as a complete replica); every server
        has its own system tables."""

    def get(self, key: Any) -> dict | None:
        """The row with primary key ``key``; invalid keys raise RethinkDB's errors."""
        raise NotImplementedError

    scan_class: type["TableSlice"]

    def scan(
        self,
        bounds: Bounds = ALL,
        *,
        reverse: bool = False,
        typeof_name: str = "TABLE_SLICE",
        sorting: str | None = None,
    ) -> "TableSlice":
        self.check_local()
        return self.scan_class(self, self.primary_key, bounds, reverse, typeof_name, sorting)

    def index_scan(
        self,
        index: str,
        bounds: Bounds = ALL,
        *,
        reverse: bool = False,
        typeof_name: str = "TABLE_SLICE",
        sorting: str | None = None,
    ) -> "TableSlice":
        if index == self.primary_key:
            return self.scan(bounds, reverse=reverse, typeof_name=typeof_name, sorting=sorting)
        # The index is checked when first read, as RethinkDB does: `between(.., index=x).info()` works for any x.
        self.check_local()
        return IndexScan(self, index, bounds, reverse, typeof_name, sorting)

    def index_metas(self) -> "Mapping[str, IndexMeta]":
        """The table's secondary indexes, by name (ready or not)."""
        raise NotImplementedError

    def index_names(self) -> list[str]:
        return sorted(self.index_metas())

    def index_function(self, meta: "IndexMeta") -> Any:
        """The function of an index ``check_index_usable`` accepted."""
        raise NotImplementedError

    @property
    def dropped(self) -> bool:
        """Whether the table was dropped since the query opened it."""
        return False

    def check_index_usable(self, index: str, *, geo: bool = False) -> Any:
        """The index's metadata if a query may read it; a geo index only
        serves the geo terms (``geo=True``)."""
        raise NotImplementedError

    async def next_batch(self) -> list | None:
        if self._scan is None:
            self._scan = self.scan(typeof_name="TABLE")
        return await self._scan.next_batch()

    def close(self) -> None:
        if self._scan is not None:
            self._scan.close()

    async def count(self) -> int:
        raise NotImplementedError

    # -- writes --------------------------------------------------------------
    def row_writer(self, durability: str, autogenerated: set[str]) -> "RowWriter":
        """What a write term reads rows through and hands their new values to
        (``autogenerated``: the keys the write made up, filled as it goes)."""
        raise NotImplementedError


class StoredTableVal(TableVal):
    """A user table: its rows, indexes and counts are the storage engine's."""

    def __init__(self, ctx: "QueryContext", db_name: str, db_id: str, name: str, store: "TableStore", **kw: Any) -> None:
        self.store = store
        super().__init__(ctx, db_name, db_id, name, **kw)

    @property
    def id(self) -> str:
        return self.store.meta.id

    @property
    def primary_key(self) -> str:
        return self.store.meta.primary_key

    @property
    def default_durability(self) -> str:  # type: ignore[override]
        return self.store.meta.durability

    def stored(self, refusal: Callable[[], Exception]) -> "TableStore":
        return self.store

    def note_read(self, n: int) -> None:
        self.ctx.docs_read += n
        self.ctx.counters.note_read(self.store.meta.id, n)

    def check_local(self) -> None:
        self.ctx.replication.check_read(self.store.meta.id, self.read_mode, self.qualified_name)

    def get(self, key: Any) -> dict | None:
        self.note_read(1)
        self.check_local()
        check_primary_key(key)
        if contains_minmax(key):
            return None  # r.minval / r.maxval name no row
        return self.store.get(key)

    @property
    def scan_class(self) -> type["TableSlice"]:  # type: ignore[override]
        return TableScan

    def index_metas(self) -> "Mapping[str, IndexMeta]":
        return self.store.meta.indexes

    @property
    def dropped(self) -> bool:
        return self.store.dropped

    def index_function(self, meta: "IndexMeta") -> Any:
        # Compiled now if no write has needed it since a restart.
        fn = self.store.index_function(meta.name)
        if fn is None:
            fn = self.ctx.index_functions.for_index(self.store.meta, meta)
            self.store.set_index_function(meta.name, fn)
        return fn

    def check_index_usable(self, index: str, *, geo: bool = False) -> Any:
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

    async def count(self) -> int:
        # The store keeps an exact per-table count inside every write batch.
        self.check_local()
        return self.store.count()

    def row_writer(self, durability: str, autogenerated: set[str]) -> "RowWriter":
        # A replica that is not the primary refuses (no forwarding yet).
        self.ctx.replication.check_write(self.store.meta.id, self.qualified_name)
        return StoredRows(self.ctx, self.store, durability, autogenerated)


class SystemTableVal(TableVal):
    """A table of the ``rethinkdb`` database: rows computed live by its backend."""

    validates_primary_keys = False
    has_write_hooks = False
    computed_rows = True

    def __init__(self, ctx: "QueryContext", name: str, system: SystemTable, **kw: Any) -> None:
        self.system = system
        super().__init__(ctx, SYSTEM_DB, SYSTEM_DB_ID, name, **kw)

    @property
    def id(self) -> str:
        return self.system.id

    @property
    def primary_key(self) -> str:
        return self.system.primary_key

    def stored(self, refusal: Callable[[], Exception]) -> "TableStore":
        raise refusal()

    def get(self, key: Any) -> dict | None:
        self.note_read(1)
        return self.system.get(self.ctx, key, self.identifier_format)

    @property
    def scan_class(self) -> type["TableSlice"]:  # type: ignore[override]
        return SystemScan

    def rows(self) -> list[dict]:
        return self.system.rows(self.ctx, self.identifier_format)

    def index_metas(self) -> "Mapping[str, IndexMeta]":
        return {}

    def check_index_usable(self, index: str, *, geo: bool = False) -> Any:
        # RethinkDB's artificial tables word this one without a final period.
        raise ReqlOpFailedError(f"Index `{index}` was not found on table `{self.qualified_name}`")

    async def count(self) -> int:
        return len(self.rows())

    def row_writer(self, durability: str, autogenerated: set[str]) -> "RowWriter":
        return SystemRows(self.ctx, self.system, self.identifier_format, autogenerated)


class TableSlice(Stream):
    """Rows of a table in the order of an index (the primary key's by default),
    within bounds.  ``sorting`` is what ``info()`` reports: UNORDERED unless the
    slice came from ``order_by(index=...)``."""

    def __init__(
        self,
        table: TableVal,
        index: str,
        bounds: Bounds,
        reverse: bool,
        typeof_name: str,
        sorting: str | None = None,
    ) -> None:
        self.table = table
        self.index = index
        self.bounds = bounds
        self.reverse = reverse
        self.sorting = sorting or (DESCENDING if reverse else UNORDERED)
        self.typeof_name = typeof_name
        self.type_name = "TABLE_SLICE" if typeof_name == "TABLE_SLICE" else ("SELECTION" if typeof_name.startswith("SELECTION") else "TABLE")
        self._pacer = Pacer()
        self._done = bounds.is_empty()

    def with_bounds(self, index: str, bounds: Bounds) -> "TableSlice":
        """``between`` on this slice (RethinkDB's table_slice_t::with_bounds)."""
        if self.bounds.has_bounds:
            raise ReqlQueryLogicError("Cannot perform multiple BETWEENs on the same table.")
        if index != self.index:
            raise ReqlQueryLogicError(f"Cannot call BETWEEN on index `{index}` after ordering on index `{self.index}`.")
        return self.table.index_scan(index, bounds, reverse=self.reverse, sorting=self.sorting)

    def _next_chunk_size(self) -> int:
        return self._pacer.chunk

    async def _yield(self) -> None:
        """Let other queries run (and a kill land) between two chunks."""
        await self._pacer.pause()


class TableScan(TableSlice):
    """Primary-key-ordered scan of a user table, read in growing chunks."""

    _scan: Any = None

    async def next_batch(self) -> list | None:
        if self._done:
            return None
        if self._scan is None:
            self._scan = self.table.store.scan(**self.bounds.storage(), reverse=self.reverse)
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
            self._scan = self.table.store.index_scan(self.index, **self.bounds.storage(), reverse=self.reverse)
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
        rows = self.table.rows()  # type: ignore[attr-defined]  # a SystemTableVal's
        bounds = self.bounds
        if bounds.lo is not None or bounds.hi is not None:
            rows = [r for r in rows if bounds.contains(r.get(pk))]
        rows.sort(key=lambda r: D.SortKey(r.get(pk)), reverse=self.reverse)
        self._rows = rows
        self.table.note_read(len(rows))
        return rows or None


def check_identifier_format(v: Any) -> str:
    if v not in ("name", "uuid"):
        raise ReqlQueryLogicError(f'Identifier format `{v}` unrecognized (options are "name" and "uuid").')
    return v
