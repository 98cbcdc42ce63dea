"""Group commit: one WAL fsync covers every batch written before it started.

Writes go to RocksDB without sync (they reach the OS at once, so they survive a
process crash).  ``sync`` waits until an fsync that started after the caller's
last write has finished; callers arriving while an fsync runs wait for it and
then share the next one, so N concurrent callers cost about two fsyncs.
"""

from __future__ import annotations

from typing import Callable

import trio


class GroupCommit:
    def __init__(self, flush: Callable[[], None], on_synced: Callable[[int], None] = lambda batches: None) -> None:
        self._flush = flush  # blocking fsync of the WAL; run in a worker thread
        self._on_synced = on_synced  # told how many batches the finished fsync covers
        self._written = 0  # batches written so far
        self._synced = 0  # batches covered by a finished fsync
        self._in_flight: trio.Event | None = None
        self.fsyncs = 0

    def note_write(self) -> int:
        """Count a batch written; its number (what an fsync must cover)."""
        self._written += 1
        return self._written

    @property
    def unsynced(self) -> bool:
        return self._synced < self._written

    def covers(self, batch: int) -> bool:
        """Whether a finished fsync covers batch number ``batch``."""
        return self._synced >= batch

    async def sync(self) -> None:
        target = self._written
        while self._synced < target:
            if self._in_flight is None:
                await self._run_flush()
            else:
                await self._in_flight.wait()

    async def _run_flush(self) -> None:
        covers = self._written
        done = self._in_flight = trio.Event()
        try:
            await trio.to_thread.run_sync(self._flush)
            self.fsyncs += 1
            self._synced = max(self._synced, covers)
            self._on_synced(self._synced)
        finally:
            self._in_flight = None
            done.set()
