"""What a feed follows, and how each committed change becomes notifications.

A subscription is called synchronously, on the writer's task, right after a
batch is committed (``hub.ChangeHub``): it decides which changes concern it,
applies the transforms that came before ``changes`` and queues the
notifications (``queue.FeedQueue``).  Transforms are given by the evaluator
as ``fn(doc) -> value or ABSENT``: a filter that rejects a version, a missing
field or any error makes that version absent, as in RethinkDB.
"""

from __future__ import annotations

import bisect
from typing import Any, Callable

from .. import datum as D
from ..storage import TableStore
from ..storage.changes import Change
from .queue import FeedQueue
from .resume import resume_token


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
Transform = Callable[[dict], Any]  # a document's transformed value, or ABSENT
IndexValues = Callable[[dict], list]  # a document's index values (multi-expanded)


def identity(doc: dict) -> Any:
    return doc


class Subscription:
    """Base: a table, the queue notifications go to, and the options that
    shape them.

    A subscription follows the changes committed after it was made: those
    at positions after ``after`` in the table's change log (a change
    committed earlier may be published later, once durable; the state the
    feed started from already holds it).  A replaying subscription is given
    the position to replay from instead."""

    def __init__(
        self, store: TableStore, queue: FeedQueue, include_types: bool, *, tokens: bool = False, after: int | None = None
    ) -> None:
        self.store = store
        self.table_id = store.meta.id
        self.queue = queue
        self.include_types = include_types
        self.tokens = tokens  # add each change's resume token
        self.after = store.log.last if after is None else after

    def on_changes(self, changes: list[Change]) -> None:
        if changes[-1].position <= self.after:
            return
        if changes[0].position <= self.after:
            changes = [c for c in changes if c.position > self.after]
        self.on_new_changes(changes)

    def on_new_changes(self, changes: list[Change]) -> None:
        raise NotImplementedError

    def push(self, old: Any, new: Any, key: Any, position: int) -> None:
        element = {"new_val": new, "old_val": old}
        if self.include_types:
            element["type"] = change_type(old, new)
        if self.tokens:
            element["resume_token"] = resume_token(self.table_id, position)
        self.queue.push(element, key)


def change_type(old: Any, new: Any) -> str:
    if old is None:
        return "add"
    return "remove" if new is None else "change"


class RangeSubscription(Subscription):
    """Rows whose key (the primary key, or an index's values) falls within
    bounds, transformed."""

    def __init__(
        self,
        store: TableStore,
        queue: FeedQueue,
        include_types: bool,
        *,
        in_range: Callable[[dict], bool],
        transform: Transform = identity,
        **kw: Any,
    ) -> None:
        super().__init__(store, queue, include_types, **kw)
        self.in_range = in_range
        self.transform = transform

    def version(self, doc: dict | None) -> Any:
        if doc is None or not self.in_range(doc):
            return ABSENT
        return self.transform(doc)

    def on_new_changes(self, changes: list[Change]) -> None:
        pk = self.store.meta.primary_key
        for change in changes:
            old = self.version(change.old)
            new = self.version(change.new)
            if old is ABSENT and new is ABSENT:
                continue
            if old is not ABSENT and new is not ABSENT and D.eq(old, new):
                continue  # the transformed value did not change
            self.push(None if old is ABSENT else old, None if new is ABSENT else new, D.hashable(change.key(pk)), change.position)


class PointSubscription(Subscription):
    """One document, by primary key."""

    def __init__(self, store: TableStore, queue: FeedQueue, include_types: bool, key: Any, **kw: Any) -> None:
        super().__init__(store, queue, include_types, **kw)
        self.key = key
        self.hashed = D.hashable(key)

    def on_new_changes(self, changes: list[Change]) -> None:
        pk = self.store.meta.primary_key
        for change in changes:
            if D.hashable(change.key(pk)) == self.hashed:
                self.push(change.old, change.new, self.hashed, change.position)


class LimitSubscription(Subscription):
    """The first ``n`` rows in the order of an index (ties by primary key),
    kept up to date as writes land: every change becomes at most one
    notification, pairing what left the set with what entered it."""

    def __init__(
        self,
        store: TableStore,
        queue: FeedQueue,
        include_types: bool,
        *,
        n: int,
        descending: bool,
        order_value: Callable[[dict], Any],
        transform: Transform,
        fetch_after: Callable[[dict | None, int], list[dict]],
        include_offsets: bool,
    ) -> None:
        super().__init__(store, queue, include_types)
        self.n = n
        self.descending = descending
        self.order_value = order_value  # the index value a row is ordered by, or ABSENT
        self.transform = transform
        self.fetch_after = fetch_after  # (last row of the set or None, how many) -> the next rows, in feed order
        self.include_offsets = include_offsets
        self.keys: list[Any] = []  # sort keys, in feed order
        self.docs: list[dict] = []  # the rows, same order
        self.values: list[Any] = []  # the rows transformed, same order
        self.members: dict[Any, Any] = {}  # hashable pk -> sort key

    # -- the active set ----------------------------------------------------------------
    def sort_key(self, doc: dict) -> Any:
        """A key giving the feed order (reversed for descending), or ABSENT."""
        value = self.order_value(doc)
        if value is ABSENT:
            return ABSENT
        key = (D.sort_key(value), D.sort_key(doc[self.store.meta.primary_key]))
        return _Reversed(key) if self.descending else key

    def fill(self) -> None:
        """Top up the set from the table (at the start, and after a row left)."""
        wanted = self.n - len(self.keys)
        if wanted <= 0:
            return
        last = self.docs[-1] if self.docs else None
        for doc in self.fetch_after(last, wanted):
            key = self.sort_key(doc)
            if key is ABSENT or D.hashable(doc[self.store.meta.primary_key]) in self.members:
                continue
            value = self.transform(doc)
            if value is ABSENT:
                continue
            self._insert(key, doc, value)
            if len(self.keys) >= self.n:
                return

    def initial(self) -> list[dict]:
        out = []
        for i, value in enumerate(self.values):
            element: dict = {"new_val": value}
            if self.include_offsets:
                element["new_offset"] = i
            if self.include_types:
                element["type"] = "initial"
            out.append(element)
        return out

    def _insert(self, key: Any, doc: dict, value: Any) -> int:
        i = bisect.bisect_left(self.keys, key)
        self.keys.insert(i, key)
        self.docs.insert(i, doc)
        self.values.insert(i, value)
        self.members[D.hashable(doc[self.store.meta.primary_key])] = key
        return i

    def _remove(self, hashed_pk: Any) -> tuple[int, Any]:
        key = self.members.pop(hashed_pk)
        i = bisect.bisect_left(self.keys, key)
        del self.keys[i]
        del self.docs[i]
        return i, self.values.pop(i)

    # -- changes -------------------------------------------------------------------------
    def on_new_changes(self, changes: list[Change]) -> None:
        """Each change notifies what it did to the set: what left paired with
        what entered, or a row that changed in place.  With squash, the halves
        are queued by primary key, so that the queue coalesces an entry and an
        exit of the same row into nothing."""
        pk = self.store.meta.primary_key
        for change in changes:
            before, after = self._apply(D.hashable(change.key(pk)), change.new)
            self._notify(before, after)

    def _notify(self, before: dict[Any, tuple[int, Any]], after: dict[Any, tuple[int, Any]]) -> None:
        left = sorted((h for h in before if h not in after), key=lambda h: before[h][0])
        entered = sorted((h for h in after if h not in before), key=lambda h: after[h][0])
        for h in before:
            if h in after and not D.eq(before[h][1], after[h][1]):
                self._push_limit(before[h], after[h], h)
        if self.queue.squash:
            for h in left:
                self._push_limit(before[h], None, h)
            for h in entered:
                self._push_limit(None, after[h], h)
            return
        for i in range(max(len(left), len(entered))):
            old = before[left[i]] if i < len(left) else None
            new = after[entered[i]] if i < len(entered) else None
            self._push_limit(old, new, None)

    def _apply(self, hashed_pk: Any, new_doc: dict | None) -> tuple[dict, dict]:
        """Apply one row's change to the set; returns the (offset, value) of
        the members it touched, before and after.

        Rows outside the set all come after its last one: a changed row
        enters only if it beats that boundary (or the set held the whole
        table); a vacancy is filled from the table, which already holds the
        changed row."""
        before: dict[Any, tuple[int, Any]] = {}
        touched = [hashed_pk]
        full = len(self.keys) >= self.n
        boundary = self.keys[-1] if full else None
        if hashed_pk in self.members:
            before[hashed_pk] = self._remove(hashed_pk)
        if new_doc is not None:
            key = self.sort_key(new_doc)
            value = self.transform(new_doc) if key is not ABSENT else ABSENT
            if value is not ABSENT and (boundary is None or key < boundary):
                self._insert(key, new_doc, value)
        if len(self.keys) > self.n:  # the new row pushed the last one out
            evicted = next(h for h, k in self.members.items() if k == self.keys[-1])
            before[evicted] = (self.n - 1, self._remove(evicted)[1])  # it was last before the change
            touched.append(evicted)
        if len(self.keys) < self.n and full:
            members = set(self.members)
            self.fill()
            touched += [h for h in self.members if h not in members]
        offsets = {}
        for h in touched:
            if h in self.members:
                i = bisect.bisect_left(self.keys, self.members[h])
                offsets[h] = (i, self.values[i])
        return before, offsets

    def _push_limit(self, old: tuple[int, Any] | None, new: tuple[int, Any] | None, key: Any) -> None:
        element: dict = {"new_val": new[1] if new else None, "old_val": old[1] if old else None}
        if self.include_offsets:
            element["old_offset"] = old[0] if old else None
            element["new_offset"] = new[0] if new else None
        if self.include_types:
            element["type"] = change_type(element["old_val"], element["new_val"])
        self.queue.push(element, key)


class _Reversed:
    """A sort key ordered the other way (descending feeds)."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __lt__(self, other: "_Reversed") -> bool:
        return other.key < self.key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)
