"""Counters with a recent rate: the numbers behind ``rethinkdb.stats``."""

from __future__ import annotations

import time
from collections import deque

BUCKET_SECONDS = 0.1
WINDOW_BUCKETS = 10  # the rate is measured over the last second


class RateCounter:
    """A growing total, and how much it grew over the last second."""

    __slots__ = ("total", "_buckets")

    def __init__(self) -> None:
        self.total = 0
        self._buckets: deque[list[int]] = deque()  # [bucket number, count]

    def add(self, n: int = 1, now: float | None = None) -> None:
        if n <= 0:
            return
        self.total += n
        bucket = int((now if now is not None else time.monotonic()) / BUCKET_SECONDS)
        buckets = self._buckets
        if buckets and buckets[-1][0] == bucket:
            buckets[-1][1] += n
        else:
            buckets.append([bucket, n])
            self._trim(bucket)

    def per_sec(self, now: float | None = None) -> float:
        bucket = int((now if now is not None else time.monotonic()) / BUCKET_SECONDS)
        self._trim(bucket)
        return sum(count for _, count in self._buckets) / (WINDOW_BUCKETS * BUCKET_SECONDS)

    def _trim(self, bucket: int) -> None:
        oldest = bucket - WINDOW_BUCKETS
        buckets = self._buckets
        while buckets and buckets[0][0] <= oldest:
            buckets.popleft()


class TableCounters:
    """Documents read and written, per table and for the whole server."""

    def __init__(self) -> None:
        self.read = RateCounter()
        self.written = RateCounter()
        self.tables: dict[str, tuple[RateCounter, RateCounter]] = {}

    def _of(self, table_id: str) -> tuple[RateCounter, RateCounter]:
        pair = self.tables.get(table_id)
        if pair is None:
            pair = self.tables[table_id] = (RateCounter(), RateCounter())
        return pair

    def note_read(self, table_id: str, n: int) -> None:
        self.read.add(n)
        self._of(table_id)[0].add(n)

    def note_written(self, table_id: str, n: int) -> None:
        self.written.add(n)
        self._of(table_id)[1].add(n)

    def of_table(self, table_id: str) -> tuple[RateCounter, RateCounter]:
        return self._of(table_id)

    def forget(self, table_id: str) -> None:
        self.tables.pop(table_id, None)
