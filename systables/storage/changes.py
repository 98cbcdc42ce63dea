"""The change stream: every committed write's row changes, in commit order,
once.

``TableStore`` writes documents in atomic batches on the trio thread; right
after a batch is written, every change listener is called with the batch's
changes (only rows whose stored value changed).  Changefeeds are fed from
here, and so will be anything else that follows writes.  Documents are
decoded only when a listener asks for them.
"""

from __future__ import annotations

from typing import Any, Callable

from . import codec


class Change:
    """One row's change in a committed batch: its primary-key encoding and its
    stored value before and after (None when absent)."""

    __slots__ = ("pk_enc", "old_raw", "new_raw", "_old", "_new", "_decoded")

    def __init__(self, pk_enc: bytes, old_raw: bytes | None, new_raw: bytes | None, new_doc: dict | None) -> None:
        self.pk_enc = pk_enc
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
