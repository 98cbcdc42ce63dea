"""Changefeeds on system tables.

System tables have no write log: their rows are computed.  A subscription
keeps the rows it last saw and turns the difference with a fresh read into
notifications.  It re-reads when told that the table may have changed
(``notify``: a system-table write, a database or table created or dropped, a
job starting or ending, a log line...) and at least once a second, which is
when rows that move by themselves (``duration_sec``, ``progress``, rates)
change; a table at rest produces nothing.

Because a job's start and end are notified as they happen, a feed on
``rethinkdb.jobs`` sees every job, however short (RethinkDB only polls every
second and misses most of them).
"""

from __future__ import annotations

from typing import Any, Callable

import trio

from .. import datum as D
from ..datum.errors import ReqlError
from .queue import FeedQueue
from .subscriptions import ABSENT, Transform, change_type

POLL_SECONDS = 1.0

Rows = Callable[[], list[dict]]  # the rows the subscription follows, read now


class SystemSubscription:
    def __init__(
        self,
        table: str,
        rows: Rows,
        primary_key: str,
        queue: FeedQueue,
        *,
        transform: Transform,
        include_types: bool,
        steady: Callable[[Any], Any] = lambda value: value,
    ) -> None:
        self.table = table
        self._steady = steady  # a row without the fields that move by themselves
        self._rows = rows
        self._pk = primary_key
        self.queue = queue
        self._transform = transform
        self._include_types = include_types
        self._seen = self._read()

    def _read(self) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for row in self._rows():
            value = self._transform(row)
            if value is not ABSENT:
                out[D.hashable(row.get(self._pk))] = value
        return out

    def initial(self) -> list[Any]:
        """The values at subscription time."""
        return list(self._seen.values())

    def refresh(self, periodic: bool = False) -> None:
        """Queue what changed since the last read.  Fields that move by
        themselves (a job's duration) are reported by the periodic re-read
        only, as RethinkDB reports them, once a second."""
        current = self._read()
        seen = self._seen
        for key, new in current.items():
            old = seen.get(key)
            if old is not None and not periodic and D.eq(self._steady(old), self._steady(new)):
                current[key] = old  # the moving fields' change waits for the periodic read
                continue
            if old is None or not D.eq(old, new):
                self._push(old, new, key)
        for key, old in seen.items():
            if key not in current:
                self._push(old, None, key)
        self._seen = current

    def _push(self, old: Any, new: Any, key: Any) -> None:
        element = {"new_val": new, "old_val": old}
        if self._include_types:
            element["type"] = change_type(old, new)
        self.queue.push(element, key)


class SystemFeeds:
    """Every system-table subscription, by table name."""

    def __init__(self) -> None:
        self._by_table: dict[str, list[SystemSubscription]] = {}

    def add(self, sub: SystemSubscription) -> None:
        self._by_table.setdefault(sub.table, []).append(sub)

    def remove(self, sub: SystemSubscription) -> None:
        subs = self._by_table.get(sub.table)
        if subs is not None and sub in subs:
            subs.remove(sub)
            if not subs:
                del self._by_table[sub.table]

    def following(self, table: str) -> bool:
        return table in self._by_table

    def notify(self, table: str | None = None, periodic: bool = False) -> None:
        """``table`` (every table when None) may have changed: re-read it."""
        tables = list(self._by_table) if table is None else [table]
        for name in tables:
            for sub in list(self._by_table.get(name, ())):
                try:
                    sub.refresh(periodic)
                except ReqlError as e:  # e.g. the user lost the read permission: the feed ends
                    sub.queue.fail(e)
                    self.remove(sub)

    async def run(self) -> None:
        """Re-read every followed table each second, until cancelled."""
        while True:
            await trio.sleep(POLL_SECONDS)
            self.notify(periodic=True)
