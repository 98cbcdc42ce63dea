"""The change stream: every committed write's row changes, in commit order,
once.

``TableStore`` writes documents in atomic batches on the trio thread; once a
batch is as durable as its writer asked (at once for soft writes, after the
fsync that covers it for hard ones), every change listener is called with
the batch's changes (only rows whose stored value changed), batches in the
order they were committed (``Publisher``).  Changefeeds are fed from
here, and so will be anything else that follows writes.  Documents are
decoded only when a listener asks for them.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

from . import codec


class Change:
    """One row's change in a committed batch: its primary-key encoding, its
    stored value before and after (None when absent), and its position in
    the table's change log (1, 2, 3 … in commit order)."""

    __slots__ = ("pk_enc", "old_raw", "new_raw", "_old", "_new", "_decoded", "position")

    def __init__(
        self, pk_enc: bytes, old_raw: bytes | None, new_raw: bytes | None, new_doc: dict | None, position: int = 0
    ) -> None:
        self.pk_enc = pk_enc
        self.position = position
        self.old_raw = old_raw
        self.new_raw = new_raw
        self._new = new_doc
        self._old: dict | None = None
        self._decoded = new_doc is not None or new_raw is None

    @property
    def old(self) -> dict | None:
        if self._old is None and self.old_raw is not None:
            self._old = codec.unpack(self.old_raw)
        return self._old

    @property
    def new(self) -> dict | None:
        if not self._decoded:
            self._new = codec.unpack(self.new_raw)  # type: ignore[arg-type]
            self._decoded = True
        return self._new

    def key(self, primary_key: str) -> Any:
        doc = self.new if self.new_raw is not None else self.old
        return doc[primary_key]  # type: ignore[index]


# Called with (table id, the batch's changes) after each committed batch.
ChangeListener = Callable[[str, list[Change]], None]


class Publisher:
    """Hands committed batches to the listeners in commit order, each once
    it is durable: a soft batch queued behind a hard one waits for it."""

    def __init__(self) -> None:
        self.listeners: list[ChangeListener] = []
        self._waiting: deque[tuple[int, str, list[Change]]] = deque()  # (batch number needing fsync or 0, ...)
        self._synced = 0

    def publish(self, table_id: str, changes: list[Change], needs_sync: int) -> None:
        """``needs_sync``: the batch number an fsync must cover first (0: none)."""
        if not self.listeners:
            return
        if not self._waiting and needs_sync <= self._synced:
            self._deliver(table_id, changes)
        else:
            self._waiting.append((needs_sync, table_id, changes))

    @property
    def waiting(self) -> bool:
        return bool(self._waiting)

    def synced(self, batches: int) -> None:
        """An fsync covering the first ``batches`` batches finished."""
        self._synced = max(self._synced, batches)
        waiting = self._waiting
        while waiting and waiting[0][0] <= self._synced:
            _, table_id, changes = waiting.popleft()
            self._deliver(table_id, changes)

    def _deliver(self, table_id: str, changes: list[Change]) -> None:
        for listener in self.listeners:
            listener(table_id, changes)
