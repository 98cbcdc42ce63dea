"""The buffer between a feed's subscriptions and its reader.

Notifications wait here until the client asks for the next batch.  Past
``capacity`` RethinkDB throws the whole buffer away and reports how many
elements it skipped; so does this queue.  With ``squash``, notifications for
the same primary key are coalesced while they wait: the first ``old_val``
and the last ``new_val``, at the first one's place (at the last one's, with
resume tokens); a pair that cancels out is dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import trio

from .. import datum as D
from ..datum.errors import ReqlError

OVERFLOW = "Changefeed cache over array size limit, skipped {} elements."


class FeedQueue:
    def __init__(self, capacity: int, squash: bool) -> None:
        self.capacity = capacity
        self.squash = squash
        self._items: OrderedDict[Any, dict] = OrderedDict()  # key -> notification
        self._serial = 0  # keys of notifications that never squash
        self.skipped = 0
        self.error: ReqlError | None = None  # why the feed ended
        self._changed = trio.Event()
        self._push_waiter: trio.Event | None = None

    def __len__(self) -> int:
        return len(self._items)

    # -- writers --------------------------------------------------------------------
    def push(self, element: dict, key: Any = None) -> None:
        """Queue a notification; ``key`` (a hashable primary key) lets squashing
        coalesce it with one for the same document."""
        if self.error is not None:
            return
        if self.squash and key is not None and key in self._items:
            self._coalesce(key, element)
        else:
            if key is None or not self.squash:
                self._serial += 1
                key = ("#", self._serial)
            self._items[key] = element
        if len(self._items) > self.capacity:
            self.skipped += len(self._items)
            self._items.clear()
        self._changed.set()
        if self._push_waiter is not None:
            self._push_waiter.set()
            self._push_waiter = None

    def _coalesce(self, key: Any, element: dict) -> None:
        merged = dict(self._items[key])
        merged["new_val"] = element.get("new_val")
        for field in ("new_offset", "type", "resume_token"):
            if field in element:
                merged[field] = element[field]
        if D.eq(merged.get("old_val"), merged["new_val"]):
            del self._items[key]  # an insert then a delete, or back to where it was
        elif "resume_token" in element:
            # Resume tokens must come out in commit order (a client resumes from
            # the last one it saw): the merged change moves to the newer one's place.
            del self._items[key]
            self._items[key] = merged
        else:
            self._items[key] = merged

    def fail(self, error: ReqlError) -> None:
        """End the feed: the reader raises ``error`` once it has read what is queued."""
        if self.error is None:
            self.error = error
        self._changed.set()

    # -- the reader -------------------------------------------------------------------
    def take(self, limit: int | None = None) -> list[dict]:
        """What is queued (up to ``limit``), the overflow marker first."""
        out: list[dict] = []
        if self.skipped:
            out.append({"error": OVERFLOW.format(self.skipped)})
            self.skipped = 0
        items = self._items
        while items and (limit is None or len(out) < limit):
            out.append(items.popitem(last=False)[1])
        if not items and self.error is None:
            self._changed = trio.Event()
        return out

    @property
    def ready(self) -> bool:
        """Whether a read would return something (or the feed's end)."""
        return bool(self._items) or bool(self.skipped) or self.error is not None

    async def wait(self) -> None:
        """Until there is something to read."""
        while not self.ready:
            await self._changed.wait()
            if not self.ready:
                self._changed = trio.Event()

    async def next_push(self) -> None:
        """Until the next notification is queued."""
        if self._push_waiter is None:
            self._push_waiter = trio.Event()
        await self._push_waiter.wait()
