"""Disk compaction: manual compactions of garbage-heavy key ranges, and the
``disk_compaction`` job that shows while any compaction runs.

RocksDB compacts in the background on its own; its counters are sampled ten
times a second (a few property reads).  On top of that, overwrites and deletes leave old versions
and tombstones behind, so each table counts the entries it made garbage and,
past a threshold (a fraction of the table), the key ranges that hold them are
compacted with ``compact_range`` in a worker thread (the call releases the GIL
and never blocks the trio thread).  A document overwritten 100 times gets its
own key compacted: small, real work (a memtable flush plus a compaction of
the files holding that key).  Compactions start on a sample tick and each
table rests between compactions (longer after longer ones).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import trio
from rocksdict import CompactOptions, Rdict

from ..jobs.history import SUCCESS, Outcome
from ..jobs.registry import Job, JobRegistry, disk_compaction_id

SAMPLE_INTERVAL = 0.1
MIN_GARBAGE = 100  # entries made obsolete before a table's ranges are compacted
GARBAGE_RATIO = 0.5  # ... and at least this fraction of the table's live documents
HOT_KEY_OVERWRITES = 100  # overwrites of one document that get its own key compacted
MAX_TRACKED_KEYS = 10_000
MIN_INTERVAL = 0.1  # seconds between two compactions of one table
INTERVAL_PER_WORK = 20.0  # ... and at least this multiple of the last one's duration


@dataclass
class Garbage:
    """Obsolete entries of one table since its last compaction: how many, the
    key range of each keyspace (4-byte prefix) they fall in, and how often
    each document key was overwritten (to spot hot keys)."""

    count: int = 0
    threshold: float = MIN_GARBAGE
    ranges: dict[bytes, list[bytes]] = field(default_factory=dict)
    hits: dict[bytes, int] = field(default_factory=dict)
    hot: set[bytes] = field(default_factory=set)
    next_allowed: float = 0.0

    def add(self, doc_keys: list[bytes], entry_keys: list[bytes]) -> None:
        self.count += len(doc_keys) + len(entry_keys)
        self._widen(doc_keys)
        self._widen(entry_keys)
        if len(self.hits) > MAX_TRACKED_KEYS:
            self.hits.clear()  # many distinct keys: the table-wide rule covers them
        hits = self.hits
        for key in doc_keys:
            n = hits[key] = hits.get(key, 0) + 1
            if n >= HOT_KEY_OVERWRITES:
                self.hot.add(key)

    def _widen(self, keys: list[bytes]) -> None:
        for key in keys:
            span = self.ranges.get(key[:4])
            if span is None:
                self.ranges[key[:4]] = [key, key]
            elif key < span[0]:
                span[0] = key
            elif key > span[1]:
                span[1] = key

    @property
    def due(self) -> bool:
        return (self.count >= self.threshold or bool(self.hot)) and time.monotonic() >= self.next_allowed

    def take_ranges(self) -> list[tuple[bytes, bytes]]:
        """The ranges to compact now: everything past the table-wide threshold,
        else just the hot keys."""
        if self.count >= self.threshold:
            ranges = [(lo, hi) for lo, hi in self.ranges.values()]
            self.count, self.ranges, self.hits, self.hot = 0, {}, {}, set()
            return ranges
        for key in self.hot:
            self.hits.pop(key, None)
        ranges = [(key, key) for key in sorted(self.hot)]
        self.hot = set()
        return ranges


@dataclass
class CompactionStats:
    running_compactions: int = 0
    pending: bool = False
    pending_bytes: int = 0
    running_flushes: int = 0
    manual_running: int = 0
    manual_done: int = 0
    last_manual_seconds: float = 0.0


class Compactor:
    def __init__(self, db: Rdict, data: Rdict, jobs: JobRegistry | None, server_id: str) -> None:
        self._db = db
        self._data = data
        self._jobs = jobs
        self._server_id = server_id
        self._job: Job | None = None
        self._garbage: dict[int, Garbage] = {}
        self._queue: list[tuple[Garbage | None, list[tuple[bytes, bytes]]]] = []
        self._wakeup = trio.Event()
        self.stats = CompactionStats()
        self.closed = False

    # --- called by tables on the trio thread -------------------------------

    def note_garbage(self, table_keyspace: int, doc_keys: list[bytes], entry_keys: list[bytes], live_docs: int) -> None:
        """Record overwritten/deleted document keys and deleted index entry keys."""
        garbage = self._garbage.setdefault(table_keyspace, Garbage())
        garbage.add(doc_keys, entry_keys)
        garbage.threshold = max(MIN_GARBAGE, GARBAGE_RATIO * live_docs)
        # Scheduled by the next sample tick, not here: a compaction that starts
        # the instant a burst of writes ends would be over before a client
        # could look at the jobs table in response to that burst.

    def forget_table(self, table_keyspace: int) -> None:
        self._garbage.pop(table_keyspace, None)

    def reclaim(self, ranges: list[tuple[bytes, bytes]]) -> None:
        """Compact ranges that were just deleted wholesale (dropped tables/indexes)."""
        self._queue.append((None, ranges))
        self._wakeup.set()

    def _schedule(self, garbage: Garbage) -> None:
        # Blocks rescheduling until this compaction has finished and rested.
        garbage.next_allowed = float("inf")
        self._queue.append((garbage, garbage.take_ranges()))
        self._wakeup.set()

    # --- background task ---------------------------------------------------

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._sample_loop)
            await self._work_loop()

    async def _work_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup = trio.Event()
            while self._queue:
                garbage, ranges = self._queue.pop(0)
                took = 0.0
                for lo, hi in ranges:
                    took += await self.compact(lo, hi)
                if garbage is not None:
                    garbage.next_allowed = time.monotonic() + max(MIN_INTERVAL, INTERVAL_PER_WORK * took)

    async def compact(self, lo: bytes | None, hi: bytes | None) -> float:
        """Compact [lo, hi] of the data column family in a worker thread;
        the job row is present for the whole call.  Returns the seconds taken."""
        self.stats.manual_running += 1
        self._refresh_job()
        started = time.monotonic()
        try:
            await trio.to_thread.run_sync(self._compact_blocking, lo, hi)
        finally:
            self.stats.manual_running -= 1
            self.stats.manual_done += 1
            self.stats.last_manual_seconds = time.monotonic() - started
            self._refresh_job()
        return self.stats.last_manual_seconds

    def _compact_blocking(self, lo: bytes | None, hi: bytes | None) -> None:
        if self.closed:
            return
        opts = CompactOptions()
        opts.set_exclusive_manual_compaction(False)  # let RocksDB's own compactions go on
        self._data.compact_range(lo, hi, opts)

    async def _sample_loop(self) -> None:
        while True:
            self.sample()
            for garbage in self._garbage.values():
                if garbage.due:
                    self._schedule(garbage)
            await trio.sleep(SAMPLE_INTERVAL)

    def sample(self) -> CompactionStats:
        """Read RocksDB's compaction counters and add or remove the job row."""
        if self.closed:
            return self.stats
        s = self.stats
        s.running_compactions = _int_prop(self._db, "rocksdb.num-running-compactions")
        s.running_flushes = _int_prop(self._db, "rocksdb.num-running-flushes")
        s.pending = any(_int_prop(cf, "rocksdb.compaction-pending") for cf in (self._db, self._data))
        s.pending_bytes = sum(_int_prop(cf, "rocksdb.estimate-pending-compaction-bytes") for cf in (self._db, self._data))
        self._refresh_job()
        return s

    # --- the job row -------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.stats.manual_running > 0 or self.stats.running_compactions > 0

    def _refresh_job(self) -> None:
        if self._jobs is None:
            return
        if self.active and self._job is None:
            self._job = self._jobs.add(
                Job(
                    type="disk_compaction",
                    id=disk_compaction_id(self._server_id),
                    duration_known=False,
                    server_ids=[self._server_id],
                    info=dict,
                )
            )
        elif not self.active and self._job is not None:
            self._jobs.remove(self._job, Outcome(SUCCESS))
            self._job = None

    def close(self) -> None:
        self.closed = True
        if self._job is not None and self._jobs is not None:
            self._jobs.remove(self._job)
            self._job = None
        del self._db, self._data  # held handles would keep RocksDB's lock


def _int_prop(cf: Any, name: str) -> int:
    return cf.property_int_value(name) or 0
