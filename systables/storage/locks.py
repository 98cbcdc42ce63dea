"""Row locks: the write isolation of documents.

A write reads a document, computes its replacement (a function that may
yield, call r.js, wait...), and queues the change; the changes are applied in
batches.  Each document's read-modify-write is atomic because the writer
holds that document's lock from the read until its change is applied.

Deadlocks cannot happen: a writer never waits for a lock while holding
others.  Before it waits, it applies what it has queued and releases every
lock it holds (``Writer`` in ``reql/terms/writes.py``), so a waiting writer
holds nothing.

Locks are in memory and per table; keys are ``datum.hashable`` forms of
primary keys.  Readers take no locks: they see applied documents.
"""

from __future__ import annotations

from typing import Any, Iterable

import trio


class RowLocks:
    def __init__(self) -> None:
        self._owners: dict[Any, object] = {}
        self._released: dict[Any, trio.Event] = {}  # set when a contended lock is released

    def acquire(self, key: Any, owner: object) -> bool:
        """Take ``key`` for ``owner`` if it is free (or already theirs)."""
        current = self._owners.get(key)
        if current is None:
            self._owners[key] = owner
            return True
        return current is owner

    async def wait(self, key: Any) -> None:
        """Until ``key`` is released by its holder (then try ``acquire`` again)."""
        if key not in self._owners:
            return
        event = self._released.get(key)
        if event is None:
            event = self._released[key] = trio.Event()
        await event.wait()

    def release(self, keys: Iterable[Any], owner: object) -> None:
        for key in keys:
            if self._owners.get(key) is owner:
                del self._owners[key]
                event = self._released.pop(key, None)
                if event is not None:
                    event.set()

    def __len__(self) -> int:
        return len(self._owners)
