"""One table: documents, index entries, scans, index-build and backfill support.

Every method is synchronous and meant for the trio thread, except ``commit``.
Writes are one atomic RocksDB batch each: documents, the entries of every
index (ready or not), and the table's exact document count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Collection, Iterable, Iterator

from rocksdict import WriteBatch

from . import catalog, codec
from .catalog import IndexMeta, TableMeta
from .changelog import ChangeLog, LogReader, Retention
from .changes import Change
from .errors import AlreadyExists, IndexFunctionMissing, NoSuchIndex, NoSuchTable
from .locks import RowLocks
from .keys import MAX_INDEX_TAG, encode_both, encode_pk, index_entry, truncated_value
from .scan import IndexScan, KeyCount, RangeReader, Scan, bound_keys

if TYPE_CHECKING:
    from .engine import Storage

IndexFn = Callable[[dict], list[Any]]
Op = tuple[Any, "dict | None"]


@dataclass
class BackfillChunk:
    """Raw rows (primary-key encoding, packed document) of a range, in key order."""

    items: list[tuple[bytes, bytes]]
    progress: float  # rows streamed so far / rows in the table when streaming began
    last_key: bytes | None  # resume point (exclusive), None at the end


class TableStore:
    def __init__(self, storage: "Storage", meta: TableMeta, count: int) -> None:
        self._s = storage
        self.meta = meta
        self._prefix = catalog.keyspace_prefix(meta.keyspace)
        self._end = catalog.keyspace_end(meta.keyspace)
        self._count = count
        self._fns: dict[str, IndexFn] = {}
        self.dropped = False
        self.locks = RowLocks()  # held by writers from a document's read to its change's apply
        # How many consumers follow this table's change stream (feeds): with
        # none, a write builds no change objects and publishes nothing.
        self.followers = 0
        self.log = ChangeLog(
            lambda: storage._data,
            catalog.keyspace_prefix(meta.log_keyspace),
            catalog.keyspace_end(meta.log_keyspace),
            meta.log_trimmed,
        )

    @property
    def log_retention(self) -> Retention:
        return Retention.of(self.meta.log_retention)

    def changes_after(self, position: int) -> LogReader:
        """The committed changes after ``position``, in commit order, as the
        log holds them now (a point-in-time view, read in chunks)."""
        self._check_live()
        return self._s._track(self.log.reader(position))

    # --- documents -----------------------------------------------------------

    def get(self, pk: Any) -> dict | None:
        self._check_live()
        raw = self._s._data.get(self._prefix + encode_pk(pk))
        return None if raw is None else codec.unpack(raw)

    def apply(self, ops: list[Op], absent: Collection[Any] = (), *, hard: bool = False) -> None:
        """Write documents (None deletes), their index entries and their change
        log entries in one batch.

        ``absent`` holds primary keys the caller knows name no row (freshly
        generated random ones): their old value is not looked up.  ``hard``:
        the writer will wait for an fsync, and so does the publication of
        these changes to the change stream."""
        self._check_live()
        if not ops:
            return
        pk_encs = [encode_pk(pk) for pk, _ in ops]  # validate every key before writing anything
        news = [None if doc is None else codec.pack(doc) for _, doc in ops]
        known_absent = [type(pk) is str and pk in absent for pk, _ in ops] if absent else None
        changes = self._changes(pk_encs, news, [doc for _, doc in ops], known_absent)
        self._write_changes(changes, hard)

    def _old_values(self, pk_encs: list[bytes], known_absent: list[bool] | None) -> list[bytes | None]:
        prefix = self._prefix
        if known_absent is None:
            return self._s._data.get([prefix + e for e in pk_encs])
        lookup = [prefix + e for e, skip in zip(pk_encs, known_absent) if not skip]
        found = iter(self._s._data.get(lookup) if lookup else ())
        return [None if skip else next(found) for skip in known_absent]

    def _changes(
        self, pk_encs: list[bytes], news: list[bytes | None], docs: list[dict | None], known_absent: list[bool] | None = None
    ) -> list[tuple[bytes, bytes | None, bytes | None, dict | None]]:
        """(pk encoding, old raw, new raw, new doc) for each op that changes something."""
        olds = self._old_values(pk_encs, known_absent)
        latest: dict[bytes, bytes | None] = {}  # later ops on the same key see earlier ones
        changes = []
        for pk_enc, old, new, doc in zip(pk_encs, olds, news, docs):
            if pk_enc in latest:
                old = latest[pk_enc]
            if old != new:
                changes.append((pk_enc, old, new, doc))
                latest[pk_enc] = new
        return changes

    def _write_changes(self, changes: list[tuple[bytes, bytes | None, bytes | None, dict | None]], hard: bool) -> None:
        if not changes:
            return
        wb = WriteBatch(raw_mode=True)
        handle = self._s._data_handle
        prefix = self._prefix
        indexes = self._index_writers()
        garbage_docs: list[bytes] = []
        garbage_entries: list[bytes] = []
        count = self._count
        positions = self.log.append(wb, handle, [(pk_enc, old, new) for pk_enc, old, new, _ in changes])
        for pk_enc, old, new, doc in changes:
            key = prefix + pk_enc
            if new is None:
                wb.delete(key, handle)
                count -= 1
            else:
                wb.put(key, new, handle)
                count += old is None
            if old is not None:
                garbage_docs.append(key)
            if indexes:
                old_doc = None if old is None else codec.unpack(old)
                new_doc = doc if doc is not None or new is None else codec.unpack(new)
                for ix_prefix, fn in indexes:
                    _index_diff(wb, handle, ix_prefix, fn, pk_enc, old_doc, new_doc, garbage_entries)
        if count != self._count:
            wb.put(catalog.count_key(self.meta.keyspace), catalog.pack_count(count))
        batch = self._s._write(wb)
        self._count = count
        self.log.commit_appended(positions[-1])
        if self.followers:
            published = [Change(pk_enc, old, new, doc, at) for (pk_enc, old, new, doc), at in zip(changes, positions)]
            self._s._published(self.meta.id, published, batch, hard)
        if garbage_docs or garbage_entries:
            self._s._compactor.note_garbage(self.meta.keyspace, garbage_docs, garbage_entries, count)

    async def commit(self, durability: str) -> None:
        """"hard": wait until every write applied so far is fsynced; "soft": return."""
        await self._s.commit(durability)

    # --- counting and scanning -------------------------------------------------

    def count(self) -> int:
        """Exact number of documents (maintained in every write batch)."""
        self._check_live()
        return self._count

    def estimate_count(self) -> int:
        return self._count

    def count_keys(self, lo: Any = None, hi: Any = None, lo_open: bool = False, hi_open: bool = True) -> KeyCount:
        """Counts the documents of a primary-key range in chunks (keys only, point in time)."""
        self._check_live()
        return self._s._track(KeyCount(self._s._data, *bound_keys(self._prefix, self._end, lo, hi, lo_open, hi_open)))

    def scan(
        self, lo: Any = None, hi: Any = None, lo_open: bool = False, hi_open: bool = True, reverse: bool = False
    ) -> Scan:
        self._check_live()
        start, stop = bound_keys(self._prefix, self._end, lo, hi, lo_open, hi_open)
        return self._s._track(Scan(self._s._data, start, stop, reverse))

    # --- secondary indexes ---------------------------------------------------------

    def create_index(self, meta: IndexMeta, fn: IndexFn) -> IndexMeta:
        """Register an index (not ready, no entries yet); the builder fills it in."""
        self._check_live()
        if meta.name in self.meta.indexes:
            raise AlreadyExists(f"index {meta.name!r} exists")
        meta.keyspace = self._s._allocate_keyspace()
        meta.ready, meta.progress = False, 0.0
        self.meta.indexes[meta.name] = meta
        self._fns[meta.name] = fn
        self._s._save_table(self.meta)
        return meta

    def set_index_function(self, name: str, fn: IndexFn) -> None:
        self._index(name)
        self._fns[name] = fn

    def drop_index(self, name: str) -> None:
        meta = self._index(name)
        del self.meta.indexes[name]
        self._fns.pop(name, None)
        self._s._save_table(self.meta, wipe=[meta.keyspace])

    def rename_index(self, old: str, new: str, overwrite: bool = False) -> None:
        meta = self._index(old)
        if old == new:
            return
        replaced = self.meta.indexes.get(new)
        if replaced is not None and not overwrite:
            raise AlreadyExists(f"index {new!r} exists")
        del self.meta.indexes[old]
        meta.name = new
        self.meta.indexes[new] = meta
        fn = self._fns.pop(old, None)
        self._fns.pop(new, None)
        if fn is not None:
            self._fns[new] = fn
        self._s._save_table(self.meta, wipe=[replaced.keyspace] if replaced else [])

    def index_scan(
        self,
        name: str,
        lo: Any = None,
        hi: Any = None,
        lo_open: bool = False,
        hi_open: bool = True,
        reverse: bool = False,
    ) -> IndexScan:
        meta = self._index(name)
        ix_prefix = catalog.keyspace_prefix(meta.keyspace)
        return self._s._track(IndexScan(self._s._data, ix_prefix, self._prefix, lo, hi, lo_open, hi_open, reverse))

    def index_build_chunk(
        self, name: str, after_pk_key: bytes | None, max_rows: int, progress: float | None = None
    ) -> tuple[bytes | None, int]:
        """Write the entries of ``name`` for up to max_rows documents after
        ``after_pk_key`` (a primary-key encoding; None = from the start), reading
        live data.  Returns (last key done, rows done); last key None = finished.

        The resume point (and ``progress``, if given) is persisted in the same
        batch as the entries, so a restarted build continues where it stopped."""
        meta = self._index(name)
        fn = self._index_fn(name)
        start = self._prefix + (b"" if after_pk_key is None else after_pk_key + b"\x00")
        rows = RangeReader(self._s._data, start, self._end, reverse=False).take(max_rows)
        wb = WriteBatch(raw_mode=True)
        handle = self._s._data_handle
        ix_prefix = catalog.keyspace_prefix(meta.keyspace)
        plen = len(self._prefix)
        unpack = codec.unpack
        put = wb.put
        for key, raw in rows:
            for body, stored in _entries(fn, unpack(raw), key[plen:]).items():
                put(ix_prefix + body, stored, handle)
        last = rows[-1][0][plen:] if len(rows) == max_rows else None
        meta.build_after = last
        if progress is not None:
            meta.progress = progress
        wb.put(catalog.table_key(self.meta.id), catalog.pack_table(self.meta))
        self._s._write(wb)
        return last, len(rows)

    def set_index_ready(self, name: str, ready: bool) -> None:
        meta = self._index(name)
        meta.ready = ready
        if ready:
            meta.progress = 1.0
            meta.build_after = None
        self._s._save_table(self.meta)

    def set_index_progress(self, name: str, progress: float) -> None:
        self._index(name).progress = progress
        self._s._save_table(self.meta)

    def set_index_control(self, name: str, *, paused: bool | None = None, priority: str | None = None) -> None:
        """Persist an operator's control of a build (pause, priority)."""
        meta = self._index(name)
        if paused is not None:
            meta.paused = paused
        if priority is not None:
            meta.priority = priority
        self._s._save_table(self.meta)

    def clear_index(self, name: str) -> None:
        """Delete every entry of ``name`` and mark it not ready, for a rebuild."""
        meta = self._index(name)
        meta.ready, meta.progress, meta.build_after = False, 0.0, None
        self._s._save_table(self.meta, wipe=[meta.keyspace])

    def index_function(self, name: str) -> IndexFn | None:
        return self._fns.get(name)

    def _index(self, name: str) -> IndexMeta:
        self._check_live()
        meta = self.meta.indexes.get(name)
        if meta is None:
            raise NoSuchIndex(name)
        return meta

    def _index_fn(self, name: str) -> IndexFn:
        fn = self._fns.get(name)
        if fn is None:
            compile_index = self._s.compile_index
            if compile_index is None:
                raise IndexFunctionMissing(f"no function attached to index {name!r}")
            fn = self._fns[name] = compile_index(self.meta, self.meta.indexes[name])
        return fn

    def _index_writers(self) -> list[tuple[bytes, IndexFn]]:
        return [(catalog.keyspace_prefix(ix.keyspace), self._index_fn(name)) for name, ix in self.meta.indexes.items()]

    # --- backfill --------------------------------------------------------------------

    def stream_range(
        self, lo_key_bytes: bytes | None = None, hi_key_bytes: bytes | None = None, chunk_rows: int = 1000
    ) -> Iterator[BackfillChunk]:
        """Raw rows of [lo, hi) (primary-key encodings) from a point-in-time view."""
        self._check_live()
        start = self._prefix + (lo_key_bytes or b"")
        stop = self._end if hi_key_bytes is None else self._prefix + hi_key_bytes
        reader = self._s._track(RangeReader(self._s._data, start, stop, reverse=False))
        total = max(self._count, 1)
        return _stream(reader, len(self._prefix), total, chunk_rows)

    def ingest(self, chunks: Iterable[BackfillChunk | list[tuple[bytes, bytes]]]) -> int:
        """Write streamed rows (and their index entries) into this table; returns rows."""
        rows = 0
        for chunk in chunks:
            items = chunk.items if isinstance(chunk, BackfillChunk) else chunk
            self.ingest_chunk(items)
            rows += len(items)
        return rows

    def ingest_chunk(self, items: list[tuple[bytes, bytes]]) -> None:
        self._check_live()
        pk_encs = [k for k, _ in items]
        news: list[bytes | None] = [v for _, v in items]
        self._write_changes(self._changes(pk_encs, news, [None] * len(items)), False)

    # --- lifecycle ---------------------------------------------------------------------

    def _check_live(self) -> None:
        self._s._check_open()
        if self.dropped:
            raise NoSuchTable(self.meta.id)


def _stream(reader: RangeReader, plen: int, total: int, chunk_rows: int) -> Iterator[BackfillChunk]:
    done = 0
    while True:
        rows = reader.take(chunk_rows)
        if not rows:
            return
        done += len(rows)
        items = [(k[plen:], v) for k, v in rows]
        last = items[-1][0] if not reader.exhausted else None
        yield BackfillChunk(items, min(1.0, done / total), last)


def _entries(fn: IndexFn, doc: dict, pk_enc: bytes) -> dict[bytes, bytes]:
    """Entry key bodies → stored values for one document; duplicates of a value
    (as multi indexes may produce) get distinct tags."""
    values = fn(doc)
    if len(values) == 1:  # the common case, on every write and build: no tags to track
        try:
            order_key, exact = encode_both(values[0])
        except TypeError:
            return {}
        body, stored = index_entry(order_key, exact, pk_enc, 0)
        return {body: stored}
    entries: dict[bytes, bytes] = {}
    seen: dict[bytes, int] = {}
    for value in values:
        try:
            order_key, exact = encode_both(value)
        except TypeError:
            continue
        short = truncated_value(order_key)
        tag = seen.get(short, 0)
        if tag > MAX_INDEX_TAG:
            continue
        seen[short] = tag + 1
        body, stored = index_entry(order_key, exact, pk_enc, tag)
        entries[body] = stored
    return entries


def _index_diff(
    wb: WriteBatch,
    handle: Any,
    ix_prefix: bytes,
    fn: IndexFn,
    pk_enc: bytes,
    old_doc: dict | None,
    new_doc: dict | None,
    garbage: list[bytes],
) -> None:
    """Delete the entries only the old document has, put the ones only the new has."""
    old = {} if old_doc is None else _entries(fn, old_doc, pk_enc)
    new = {} if new_doc is None else _entries(fn, new_doc, pk_enc)
    for body, stored in new.items():
        if old.get(body) != stored:
            wb.put(ix_prefix + body, stored, handle)
    for body in old.keys() - new.keys():
        key = ix_prefix + body
        wb.delete(key, handle)
        garbage.append(key)
