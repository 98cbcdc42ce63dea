"""The storage engine: one RocksDB instance per data directory.

Column families: ``default`` holds the catalog, the server's own records and
per-table document counts; ``data`` holds every table's documents and index
entries, each table and each index under its own 4-byte keyspace prefix.
Prefixes beat a column family per table here: creating or dropping a column
family cost ~43 ms each (RocksDB rewrites its OPTIONS file and syncs the
manifest), against ~0 for a prefix, with equal write speed and scans within
15% (``bench/storage_bench.py --keyspaces``).  One column family also means
one iterator sees documents and index entries at the same point in time.
"""

from __future__ import annotations

import os
import time
import uuid
import weakref
from typing import Any, Callable, Iterator, Protocol, Sequence, TypeVar

import trio
from rocksdict import BlockBasedOptions, Cache, DBCompressionType, Options, Rdict, ReadOptions, WriteBatch, WriteOptions

from ..jobs.registry import JobRegistry
from . import catalog, codec
from .catalog import DbMeta, IndexMeta, TableMeta
from .changes import Change, ChangeListener, Publisher
from .commit import GroupCommit
from .compaction import Compactor
from .errors import AlreadyExists, NoSuchDb, NoSuchTable, StorageClosed, StorageError
from .scan import prefix_end
from .table import IndexFn, TableStore

DATA_CF = "data"
DEFAULT_CACHE_BYTES = 256 << 20
WAL_SYNC_INTERVAL = 1.0  # soft writes reach the disk within about this long
LOG_TRIM_INTERVAL = 10.0  # how often change logs are trimmed to their retention

CompileIndex = Callable[[TableMeta, IndexMeta], IndexFn]


class Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=Closable)


def rocksdb_options(cache: Cache) -> Options:
    """Options shared by both column families: 10-bit bloom filters (point gets
    skip files), one shared block cache, LZ4 blocks."""
    opts = Options(raw_mode=True)
    opts.create_if_missing(True)
    opts.create_missing_column_families(True)
    table = BlockBasedOptions()
    table.set_bloom_filter(10, False)
    table.set_block_cache(cache)
    opts.set_block_based_table_factory(table)
    opts.set_compression_type(DBCompressionType.lz4())
    opts.set_max_background_jobs(2)
    opts.set_bytes_per_sync(1 << 20)
    opts.set_keep_log_file_num(3)
    opts.set_max_total_wal_size(256 << 20)
    return opts


class Storage:
    def __init__(
        self,
        db: Rdict,
        directory: str,
        jobs: JobRegistry | None,
        server_id: str,
        compile_index: CompileIndex | None,
    ) -> None:
        self.directory = directory
        self.server_id = server_id
        self.compile_index = compile_index
        self._db = db
        self._data = db.get_column_family(DATA_CF)
        self._data_handle = db.get_column_family_handle(DATA_CF)
        self._write_opts = WriteOptions()
        self._write_opts.sync = False
        self._publisher = Publisher()
        self._commit = GroupCommit(self._sync_wal, self._publisher.synced)
        self._metadata_batch = 0  # the number of the last catalog or metadata batch written
        self._sync_wanted: trio.Event | None = None  # set to have the WAL synced at once
        self._compactor = Compactor(db, self._data, jobs, server_id)
        self.dbs: dict[str, DbMeta] = {}
        self.tables: dict[str, TableMeta] = {}
        self.catalog_version = 0  # grows with every change of databases or tables (names, moves)
        self._stores: dict[str, TableStore] = {}
        self._readers: weakref.WeakSet[Closable] = weakref.WeakSet()
        self._next_keyspace = 1
        self._closed = False

    # --- lifecycle -------------------------------------------------------------

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        jobs: JobRegistry | None = None,
        server_id: str | None = None,
        *,
        compile_index: CompileIndex | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> "Storage":
        """Create or reopen the store in ``directory``.

        ``server_id`` is used on first creation; reopening with a different one
        raises (it would mean the wrong data directory).  ``compile_index``, if
        given, turns a persisted index definition back into its function when a
        write needs it and none was attached with ``set_index_function``.
        """
        directory = os.fspath(directory)
        os.makedirs(directory, exist_ok=True)
        cache = Cache(cache_bytes)
        db = Rdict(directory, rocksdb_options(cache), column_families={DATA_CF: rocksdb_options(cache)})
        stored = db.get(catalog.SERVER_ID_KEY)
        if stored is None:
            stored = (server_id or str(uuid.uuid4())).encode()
            db.put(catalog.SERVER_ID_KEY, stored)
            db.flush_wal(True)
        elif server_id is not None and stored.decode() != server_id:
            db.close()
            raise StorageError(f"{directory} belongs to server {stored.decode()}, not {server_id}")
        store = cls(db, directory, jobs, stored.decode(), compile_index)
        store._load_catalog()
        return store

    def _load_catalog(self) -> None:
        self._next_keyspace = catalog.unpack_keyspace_counter(self._db.get(catalog.NEXT_KEYSPACE_KEY))
        for _, raw in self._iter_default(catalog.DB_PREFIX):
            meta = catalog.unpack_db(raw)
            self.dbs[meta.id] = meta
        for _, raw in self._iter_default(catalog.TABLE_PREFIX):
            meta = catalog.unpack_table(raw)
            if not meta.log_keyspace:  # a table created before change logs existed
                meta.log_keyspace = self._allocate_keyspace()
                self._save_table(meta)
            self.tables[meta.id] = meta
            count = catalog.unpack_count(self._db.get(catalog.count_key(meta.keyspace)))
            self._stores[meta.id] = TableStore(self, meta, count)

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Background duties until cancelled: compaction (manual compactions and
        the ``disk_compaction`` job), the WAL sync (periodic for soft writes, at
        once when a hard write's changes wait for it) and change-log trimming."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._compactor.run)
            nursery.start_soon(self._wal_sync_loop)
            nursery.start_soon(self._log_trim_loop)
            task_status.started()

    async def _wal_sync_loop(self) -> None:
        while True:
            self._sync_wanted = trio.Event()
            with trio.move_on_after(WAL_SYNC_INTERVAL):
                await self._sync_wanted.wait()
            if self._commit.unsynced:
                await self._commit.sync()

    async def _log_trim_loop(self) -> None:
        while True:
            await trio.sleep(LOG_TRIM_INTERVAL)
            self.trim_change_logs()
            await trio.lowlevel.checkpoint()

    def close(self) -> None:
        """Sync the WAL and close RocksDB.  Open scans are closed: any live
        iterator or column-family handle would keep the directory locked."""
        if self._closed:
            return
        self._closed = True
        for reader in list(self._readers):
            reader.close()
        self._compactor.close()
        self._db.flush_wal(True)
        self._db.close()
        self._stores.clear()
        del self._data, self._data_handle, self._db

    def _track(self, reader: C) -> C:
        """Remember an open scan so that ``close`` can release it."""
        self._readers.add(reader)
        return reader

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise StorageClosed(self.directory)

    # --- durability -----------------------------------------------------------------

    async def commit(self, durability: str) -> None:
        """"hard": return once the WAL holding every batch written before this
        call is fsynced (one fsync shared by concurrent callers); else at once."""
        if durability == "hard":
            await self._commit.sync()

    @property
    def fsync_count(self) -> int:
        return self._commit.fsyncs

    def _sync_wal(self) -> None:
        if not self._closed:
            self._db.flush_wal(True)

    def _put_default(self, key: bytes, value: bytes) -> None:
        """Write one catalog or metadata entry (documents never come this way)."""
        self._db.put(key, value, self._write_opts)
        self._metadata_batch = self._commit.note_write()

    def _write_meta(self, wb: WriteBatch) -> None:
        """Write a batch of catalog changes."""
        self._metadata_batch = self._write(wb)

    async def sync_metadata(self) -> None:
        """Return once every catalog and metadata change made so far (tables,
        indexes, users, passwords, grants) is fsynced: such changes are
        answered only then, so that a power loss cannot undo a revoke that was
        acknowledged.  Documents keep the durability their writers asked for."""
        if not self._commit.covers(self._metadata_batch):
            await self._commit.sync()

    def _write(self, wb: WriteBatch) -> int:
        """Write a batch; its number (what an fsync must cover to make it durable)."""
        self._db.write(wb, self._write_opts)
        return self._commit.note_write()

    # --- the change stream -----------------------------------------------------------

    def add_change_listener(self, listener: ChangeListener) -> None:
        """``listener(table_id, changes)`` for every committed batch of
        documents, in commit order, once it is as durable as its writer asked."""
        self._publisher.listeners.append(listener)

    def _published(self, table_id: str, changes: list[Change], batch: int, hard: bool) -> None:
        self._publisher.publish(table_id, changes, batch if hard else 0)
        if self._publisher.waiting and self._sync_wanted is not None:
            self._sync_wanted.set()  # do not leave a hard write's changes waiting for the periodic sync

    def trim_change_logs(self, now: float | None = None) -> None:
        """Trim every table's change log to its retention (one batch per table
        with something to trim, the new trim point recorded in the same batch)."""
        now = time.time() if now is None else now
        for store in list(self._stores.values()):
            self._trim_change_log(store, now)

    def _trim_change_log(self, store: TableStore, now: float) -> None:
        log = store.log
        through = log.trim_through(store.log_retention, now)
        if through <= log.trimmed:
            return
        wb = WriteBatch(raw_mode=True)
        log.delete_through(wb, self._data_handle, through)
        store.meta.log_trimmed = through
        wb.put(catalog.table_key(store.meta.id), catalog.pack_table(store.meta))
        self._write(wb)  # not a change anyone waits to see acknowledged
        log.trimmed = through

    # --- catalog: databases ----------------------------------------------------------

    def create_db(self, name: str, db_id: str | None = None) -> DbMeta:
        self.catalog_version += 1
        self._check_open()
        if any(d.name == name for d in self.dbs.values()):
            raise AlreadyExists(f"database {name!r} exists")
        meta = DbMeta(db_id or str(uuid.uuid4()), name)
        self._put_default(catalog.db_key(meta.id), catalog.pack_db(meta))
        self.dbs[meta.id] = meta
        return meta

    def rename_db(self, db_id: str, new_name: str) -> None:
        self.catalog_version += 1
        meta = self._db_meta(db_id)
        if any(d.name == new_name and d.id != db_id for d in self.dbs.values()):
            raise AlreadyExists(f"database {new_name!r} exists")
        renamed = DbMeta(meta.id, new_name)
        self._put_default(catalog.db_key(db_id), catalog.pack_db(renamed))
        meta.name = new_name

    def drop_db(self, db_id: str) -> list[TableMeta]:
        """Drop a database and its tables in one batch; returns the tables."""
        self.catalog_version += 1
        self._db_meta(db_id)
        dropped = [t for t in self.tables.values() if t.db_id == db_id]
        wb = WriteBatch(raw_mode=True)
        wb.delete(catalog.db_key(db_id))
        ranges = [r for t in dropped for r in self._drop_table_into(wb, t)]
        self._write_meta(wb)
        del self.dbs[db_id]
        for t in dropped:
            self._forget_table(t)
        self._compactor.reclaim(ranges)
        return dropped

    def _db_meta(self, db_id: str) -> DbMeta:
        self._check_open()
        meta = self.dbs.get(db_id)
        if meta is None:
            raise NoSuchDb(db_id)
        return meta

    # --- catalog: tables -------------------------------------------------------------

    def create_table(
        self,
        db_id: str,
        name: str,
        *,
        primary_key: str = "id",
        durability: str = "hard",
        write_acks: str = "majority",
        table_id: str | None = None,
        log_retention: dict | None = None,
    ) -> TableMeta:
        self.catalog_version += 1
        self._db_meta(db_id)
        self._check_table_name(db_id, name, None)
        meta = TableMeta(table_id or str(uuid.uuid4()), db_id, name, primary_key, durability, write_acks)
        meta.log_retention = log_retention
        if meta.id in self.tables:
            raise AlreadyExists(f"table id {meta.id} exists")
        meta.keyspace = self._allocate_keyspace()
        meta.log_keyspace = self._allocate_keyspace()
        self._save_table(meta)
        self.tables[meta.id] = meta
        self._stores[meta.id] = TableStore(self, meta, 0)
        return meta

    def update_table_meta(self, meta: TableMeta) -> None:
        """Apply a rename, a move to another database, durability or write_acks."""
        self.catalog_version += 1
        current = self._table_meta(meta.id)
        self._db_meta(meta.db_id)
        self._check_table_name(meta.db_id, meta.name, meta.id)
        current.name, current.db_id = meta.name, meta.db_id
        current.durability, current.write_acks = meta.durability, meta.write_acks
        current.log_retention = meta.log_retention
        self._save_table(current)
        self._trim_change_log(self._stores[meta.id], time.time())  # a shorter retention applies at once

    def drop_table(self, table_id: str) -> None:
        """Drop the catalog entry, documents and index entries in one batch
        (range deletions: O(1)); the space is reclaimed by a compaction."""
        self.catalog_version += 1
        meta = self._table_meta(table_id)
        wb = WriteBatch(raw_mode=True)
        ranges = self._drop_table_into(wb, meta)
        self._write_meta(wb)
        self._forget_table(meta)
        self._compactor.reclaim(ranges)

    def table(self, table_id: str) -> TableStore:
        self._table_meta(table_id)
        return self._stores[table_id]

    def _drop_table_into(self, wb: WriteBatch, meta: TableMeta) -> list[tuple[bytes, bytes]]:
        wb.delete(catalog.table_key(meta.id))
        wb.delete(catalog.count_key(meta.keyspace))
        keyspaces = [meta.keyspace, meta.log_keyspace] + [ix.keyspace for ix in meta.indexes.values()]
        return [self._wipe_keyspace_into(wb, ks) for ks in keyspaces]

    def _wipe_keyspace_into(self, wb: WriteBatch, keyspace: int) -> tuple[bytes, bytes]:
        lo, hi = catalog.keyspace_prefix(keyspace), catalog.keyspace_end(keyspace)
        wb.delete_range(lo, hi, self._data_handle)
        return lo, hi

    def _forget_table(self, meta: TableMeta) -> None:
        store = self._stores.pop(meta.id, None)
        if store is not None:
            store.dropped = True
        self.tables.pop(meta.id, None)
        self._compactor.forget_table(meta.keyspace)

    def _table_meta(self, table_id: str) -> TableMeta:
        self._check_open()
        meta = self.tables.get(table_id)
        if meta is None:
            raise NoSuchTable(table_id)
        return meta

    def _check_table_name(self, db_id: str, name: str, table_id: str | None) -> None:
        for t in self.tables.values():
            if t.db_id == db_id and t.name == name and t.id != table_id:
                raise AlreadyExists(f"table {name!r} exists")

    def _allocate_keyspace(self) -> int:
        """A fresh keyspace number, persisted before anything can use it."""
        keyspace = self._next_keyspace
        self._next_keyspace += 1
        self._put_default(catalog.NEXT_KEYSPACE_KEY, catalog.pack_keyspace_counter(self._next_keyspace))
        return keyspace

    def _save_table(self, meta: TableMeta, wipe: Sequence[int] = ()) -> None:
        """Persist a table's catalog entry, wiping the given keyspaces in the same batch."""
        wb = WriteBatch(raw_mode=True)
        wb.put(catalog.table_key(meta.id), catalog.pack_table(meta))
        ranges = [self._wipe_keyspace_into(wb, ks) for ks in wipe]
        self._write_meta(wb)
        if ranges:
            self._compactor.reclaim(ranges)

    # --- generic metadata --------------------------------------------------------------

    def put_meta(self, key: str, value: Any, *, hard: bool = True) -> None:
        """Store a metadata record; ``hard=False`` for records (the job
        history) that need not hold up the next answer for an fsync: they
        reach the disk with the WAL's next sync."""
        self._check_open()
        if hard:
            self._put_default(catalog.meta_key(key), codec.pack(value))
        else:
            self._db.put(catalog.meta_key(key), codec.pack(value), self._write_opts)

    def get_meta(self, key: str) -> Any:
        self._check_open()
        raw = self._db.get(catalog.meta_key(key))
        return None if raw is None else codec.unpack(raw)

    def delete_meta(self, key: str, *, hard: bool = True) -> None:
        self._check_open()
        self._db.delete(catalog.meta_key(key), self._write_opts)
        if hard:
            self._metadata_batch = self._commit.note_write()

    def iter_meta(self, prefix: str) -> Iterator[tuple[str, Any]]:
        self._check_open()
        skip = len(catalog.META_PREFIX)
        return iter([(key[skip:].decode(), codec.unpack(raw)) for key, raw in self._iter_default(catalog.meta_key(prefix))])

    def _iter_default(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        """Every (key, value) under ``prefix`` in the default column family, read
        at once so that no iterator outlives the call."""
        opts = ReadOptions()
        opts.set_iterate_upper_bound(prefix_end(prefix))
        return list(self._db.items(from_key=prefix, read_opt=opts))

    # --- introspection -------------------------------------------------------------------

    @property
    def compaction(self) -> Compactor:
        """The compactor: ``stats``, and ``await compact(lo, hi)`` for tools and tests."""
        return self._compactor

    def property_int(self, name: str) -> int:
        """A RocksDB integer property of the data column family (e.g. size on disk)."""
        return self._data.property_int_value(name) or 0

    def flush(self) -> None:
        """Flush memtables to SST files (tools and benchmarks)."""
        self._db.flush()
        self._data.flush()
