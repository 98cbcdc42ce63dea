"""Fans the storage change stream out to subscriptions, by table.

Called on the writer's task right after each committed batch: a table
nobody follows costs one dictionary lookup.  A subscription whose handling
fails (a bug) ends its own feed only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..datum.errors import ReqlInternalError, ReqlOpFailedError
from .subscriptions import Subscription

if TYPE_CHECKING:
    from ..logbook import LogBook
    from ..storage import Storage
    from ..storage.changes import Change

UNAVAILABLE = "Changefeed aborted (unavailable)."


class ChangeHub:
    def __init__(self, storage: "Storage", log: "LogBook") -> None:
        self._by_table: dict[str, list[Subscription]] = {}
        self._log = log
        storage.add_change_listener(self._on_changes)

    def add(self, sub: Subscription) -> None:
        self._by_table.setdefault(sub.table_id, []).append(sub)
        sub.store.followers += 1

    def remove(self, sub: Subscription) -> None:
        subs = self._by_table.get(sub.table_id)
        if subs is not None and sub in subs:
            subs.remove(sub)
            sub.store.followers -= 1
            if not subs:
                del self._by_table[sub.table_id]

    def subscriptions(self, table_id: str) -> int:
        return len(self._by_table.get(table_id, ()))

    def _on_changes(self, table_id: str, changes: list["Change"]) -> None:
        subs = self._by_table.get(table_id)
        if not subs:
            return
        for sub in list(subs):
            try:
                sub.on_changes(changes)
            except Exception as exc:  # a bug ends this feed, not the write
                self._log.log_exception(exc)
                sub.queue.fail(ReqlInternalError(f"Unexpected exception in a changefeed: {exc!r}"))
                self.remove(sub)

    def table_dropped(self, table_id: str) -> None:
        """Every feed on the table ends, as in RethinkDB."""
        for sub in self._by_table.pop(table_id, []):
            sub.store.followers -= 1
            sub.queue.fail(ReqlOpFailedError(UNAVAILABLE))
