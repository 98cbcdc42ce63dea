"""Changefeeds in the evaluator.

``feed_sources.source_of`` reads what a query's value lets a feed follow;
``subscribe`` turns that into subscriptions of the change hub (the
transforms evaluated synchronously, as index functions are) and a
``FeedStream``, the infinite stream the pipeline serves: states and initial
values first, then the notifications as they come.

A ``FeedStream`` never waits: with nothing queued its ``next_batch`` returns
an empty list, and the pipeline waits (``wait_for_feeds``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

import trio

from .. import datum as D
from ..datum.errors import ReqlError, ReqlOpFailedError, ReqlQueryLogicError, ReqlResourceLimitError
from ..feeds.hub import ChangeHub
from ..feeds.queue import FeedQueue
from ..feeds.system import SystemFeeds, SystemSubscription
from ..feeds.subscriptions import (
    ABSENT,
    LimitSubscription,
    PointSubscription,
    RangeSubscription,
    Subscription,
)
from .bounds import Bounds
from .feed_resume import NOT_WITH_INITIAL, check_resumable, open_replay, resume_position
from .feed_sources import (
    ATOM_FEED, DEFAULT_QUEUE_SIZE, EAGER, INCLUDES_STATES, ORDER_BY_LIMIT_FEED, SEQUENCE_FEED, UNIONED_FEED,
    LimitSource, PointSource, RangeSource, Source, UnionSource,
)
from .geo_scan import IntersectingSnapshot
from .stream import ChainStream, MergeStream, Pacer, SliceStream, Stream
from .tables import DESCENDING, TableVal

# ---------------------------------------------------------------------------
# Options.

@dataclass
class FeedOptions:
    squash: bool | float = False
    queue_size: int = DEFAULT_QUEUE_SIZE
    include_initial: bool = False
    include_states: bool = False
    include_offsets: bool = False
    include_types: bool = False
    include_resume_token: bool = False
    resume_from: Any = None  # a resume token (None: start now)

    @property
    def squash_seconds(self) -> float:
        return 0.0 if self.squash is True or self.squash is False else float(self.squash)


# ---------------------------------------------------------------------------
# Subscribing.

@dataclass(frozen=True)
class Hubs:
    """Where subscriptions go: user tables' changes, system tables' re-reads."""

    tables: ChangeHub
    system: SystemFeeds


def subscribe(hubs: Hubs, source: Source, options: FeedOptions, at: Any) -> "FeedStream":
    """Register the subscriptions and read the initial state (or open the
    change log to replay) in one step (no checkpoint in between), so that no
    change falls between the two."""
    resuming = options.resume_from is not None
    if options.include_resume_token or resuming:
        check_resumable(_tables_of(source), isinstance(source, LimitSource), at)
    if _on_system_table(source):
        return _subscribe_system(hubs.system, source, options, at)
    hub = hubs.tables
    queue = FeedQueue(options.queue_size, options.squash is not False)
    if isinstance(source, LimitSource):
        return _subscribe_limit(hub, source, options, queue, at)
    if options.include_offsets:
        kind = "point" if isinstance(source, PointSource) else "empty" if _is_empty(source) else "range"
        raise ReqlQueryLogicError(f"Cannot include offsets for {kind} subs.", at)
    parts = source.parts if isinstance(source, UnionSource) else [source]
    if any(not isinstance(p, (RangeSource, PointSource)) for p in parts):
        raise ReqlQueryLogicError(EAGER, at)
    if resuming and options.include_initial:
        raise ReqlQueryLogicError(NOT_WITH_INITIAL, at)

    def subscriptions(to: FeedQueue, after: int | None) -> list[Subscription]:
        return [sub for part in parts for sub in _part_subscriptions(part, options, to, after, at)]

    subs = subscriptions(queue, None)
    start: AsyncIterator[list[dict]] | None = None
    if resuming:
        table = parts[0].table
        start = open_replay(table.store, resume_position(table, options.resume_from, at), subscriptions)
    elif options.include_initial:
        start = _chain([_initial_of(part, options) for part in parts if not _is_empty(part)])
    for sub in subs:
        hub.add(sub)
    note = _union_note(parts) if isinstance(source, UnionSource) else source.note
    return FeedStream(_unsubscriber(hub, subs), queue, note, options, start)


def _tables_of(source: Source) -> list[TableVal]:
    if isinstance(source, UnionSource):
        return [t for p in source.parts for t in _tables_of(p)]
    return [source.range.table if isinstance(source, LimitSource) else source.table]


def _part_subscriptions(
    part: RangeSource | PointSource, options: FeedOptions, queue: FeedQueue, after: int | None, at: Any
) -> list[Subscription]:
    if isinstance(part, PointSource):
        return [PointSubscription(
            part.table.store, queue, options.include_types, part.key, tokens=options.include_resume_token, after=after
        )]
    return _range_subscriptions(part, options, queue, after, at)


def _initial_of(part: RangeSource | PointSource, options: FeedOptions) -> AsyncIterator[list[dict]]:
    """The part's state now, read in chunks from point-in-time views opened now."""
    if isinstance(part, PointSource):
        return _one(_initial_point(part, options))
    return _initial_range(part, options, _snapshot_scans(part))


def _unsubscriber(hub: Any, subs: list) -> Callable[[], None]:
    def unsubscribe() -> None:
        for sub in subs:
            hub.remove(sub)

    return unsubscribe


def _is_empty(source: Source) -> bool:
    return isinstance(source, RangeSource) and source.empty


def _union_note(parts: list) -> int:
    notes = {p.note for p in parts}
    return notes.pop() if len(notes) == 1 else UNIONED_FEED


def _range_subscriptions(
    source: RangeSource, options: FeedOptions, queue: FeedQueue, after: int | None, at: Any
) -> list[Subscription]:
    if source.empty:
        return []
    store = source.table.store
    if source.geo is not None:
        tests = [source.geo.intersects]
    else:
        values = _values_of(source, at)
        tests = [_key_test(values, k) for k in source.keys] if source.keys is not None else [_bounds_test(source, values)]
    # With get_all, one subscription per key: a key given twice notifies twice.
    return [
        RangeSubscription(
            store, queue, options.include_types, in_range=test, transform=source.transforms.sync,
            tokens=options.include_resume_token, after=after,
        )
        for test in tests
    ]


def _values_of(source: RangeSource, at: Any = None) -> Callable[[dict], list]:
    """The values a document has in the source's index."""
    table = source.table
    pk = table.primary_key
    if source.index == pk:
        return lambda doc: [doc[pk]]
    try:
        meta = table.check_index_usable(source.index)
    except ReqlError as e:
        raise e.at(at)
    return table.index_function(meta)  # type: ignore[no-any-return]


def _bounds_test(source: RangeSource, values: Callable[[dict], list]) -> Callable[[dict], bool]:
    bounds = source.bounds.in_storage_terms()
    if bounds.lo is None and bounds.hi is None:
        return lambda doc: bool(values(doc))
    return lambda doc: any(bounds.contains(v) for v in values(doc))


def _key_test(values: Callable[[dict], list], key: Any) -> Callable[[dict], bool]:
    return lambda doc: any(D.eq(v, key) for v in values(doc))


def _initial_point(source: PointSource, options: FeedOptions) -> dict:
    return _initial_element(source.table.store.get(source.key), options)


def _initial_element(value: Any, options: FeedOptions) -> dict:
    element = {"new_val": value}
    if options.include_types:
        element["type"] = "initial"
    return element


async def _one(element: dict) -> AsyncIterator[list[dict]]:
    yield [element]


async def _chain(parts: list[AsyncIterator[list[dict]]]) -> AsyncIterator[list[dict]]:
    for part in parts:
        async for batch in part:
            yield batch


async def _initial_range(source: RangeSource, options: FeedOptions, scans: list) -> AsyncIterator[list[dict]]:
    """The rows the range held at subscription time (``scans`` are point-in-time
    views opened with the subscriptions), transformed, chunk by chunk."""
    table = source.table
    pacer = Pacer()
    for scan in scans:
        while True:
            rows = scan.next_chunk(pacer.chunk)
            if not rows and getattr(scan, "exhausted", True):
                break
            table.note_read(len(rows))
            out = []
            for row in rows:
                doc = row[1] if type(row) is tuple else row
                value = await source.transforms.apply(doc)
                if value is not ABSENT:
                    out.append(_initial_element(value, options))
            yield out
            await pacer.pause()
        scan.close()


def _snapshot_scans(source: RangeSource) -> list:
    if source.geo is not None:
        return [IntersectingSnapshot(source.geo)]
    store = source.table.store
    pk = source.table.primary_key
    if source.keys is not None:
        if source.index == pk:
            return [_PointScan(store, k) for k in source.keys]
        return [store.index_scan(source.index, **Bounds.point(k).storage()) for k in source.keys]
    if source.index == pk:
        return [store.scan(**source.bounds.storage())]
    return [store.index_scan(source.index, **source.bounds.storage())]


class _PointScan:
    """One document read now, as a one-chunk scan."""

    def __init__(self, store: Any, key: Any) -> None:
        doc = store.get(key)
        self.rows = [doc] if doc is not None else []

    def next_chunk(self, n: int) -> list:
        rows, self.rows = self.rows, []
        return rows

    def close(self) -> None:
        pass


# -- system tables ---------------------------------------------------------------

SYSTEM_LIMIT = "System tables don't support changefeeds on `.limit()`."


def _on_system_table(source: Source) -> bool:
    if isinstance(source, UnionSource):
        return any(_on_system_table(p) for p in source.parts)
    table = source.range.table if isinstance(source, LimitSource) else source.table
    return table.computed_rows  # a system table's: found by re-reading them


def _subscribe_system(hub: SystemFeeds, source: Source, options: FeedOptions, at: Any) -> "FeedStream":
    if isinstance(source, LimitSource):
        raise ReqlOpFailedError(SYSTEM_LIMIT, at)
    if options.include_offsets:
        kind = "point" if isinstance(source, PointSource) else "range"
        raise ReqlQueryLogicError(f"Cannot include offsets for {kind} subs.", at)
    if isinstance(source, UnionSource):
        raise ReqlQueryLogicError(EAGER, at)
    # System tables squash by nature (a notification is a difference of two reads).
    queue = FeedQueue(options.queue_size, squash=False)
    table = source.table
    backend, ctx, ident = table.system, table.ctx, table.identifier_format
    if isinstance(source, PointSource):
        key = source.key
        rows: Callable[[], list[dict]] = lambda: [r for r in [backend.get(ctx, key, ident)] if r is not None]
        transform = _identity
    else:
        rows = _system_rows(source)
        transform = source.transforms.sync
    sub = SystemSubscription(
        backend.name, rows, backend.primary_key, queue,
        transform=transform, include_types=options.include_types, steady=backend.steady,
    )
    hub.add(sub)
    initial = None
    if options.include_initial:
        values = sub.initial()
        if isinstance(source, PointSource) and not values:
            values = [None]
        initial = _listed([_initial_element(v, options) for v in values])
    note = ATOM_FEED if isinstance(source, PointSource) else SEQUENCE_FEED
    return FeedStream(_unsubscriber(hub, [sub]), queue, note, options, initial)


def _identity(doc: Any) -> Any:
    return doc


def _system_rows(source: RangeSource) -> Callable[[], list[dict]]:
    table = source.table
    backend, ctx, ident, pk = table.system, table.ctx, table.identifier_format, table.primary_key
    bounds = source.bounds.in_storage_terms()

    def rows() -> list[dict]:
        found = backend.rows(ctx, ident)
        if source.keys is not None:
            return [r for r in found if any(D.eq(r.get(pk), k) for k in source.keys)]
        if bounds.lo is None and bounds.hi is None:
            return found
        return [r for r in found if bounds.contains(r.get(pk))]

    return rows


def _subscribe_limit(hub: ChangeHub, source: LimitSource, options: FeedOptions, queue: FeedQueue, at: Any) -> "FeedStream":
    table = source.range.table
    if source.n > table.ctx.array_limit:
        raise ReqlResourceLimitError(
            f"Array size limit `{table.ctx.array_limit}` exceeded.  "
            "(`.limit(X).changes()` is illegal if X is larger than the array size limit.)",
            at,
        )
    values = _values_of(source.range, at)
    descending = source.range.sorting == DESCENDING

    def order_value(doc: dict) -> Any:
        found = values(doc)
        return found[0] if found else ABSENT

    sub = LimitSubscription(
        table.store, queue, options.include_types,
        n=source.n, descending=descending, order_value=order_value,
        transform=source.range.transforms.sync, fetch_after=_fetcher(source.range, descending, values),
        include_offsets=options.include_offsets,
    )
    sub.fill()
    hub.add(sub)
    initial = _listed(sub.initial()) if options.include_initial else None
    return FeedStream(_unsubscriber(hub, [sub]), queue, ORDER_BY_LIMIT_FEED, options, initial)


async def _listed(elements: list[dict]) -> AsyncIterator[list[dict]]:
    if elements:
        yield elements


def _fetcher(source: RangeSource, descending: bool, values: Callable[[dict], list]) -> Callable[[dict | None, int], list[dict]]:
    """Rows of the index order after ``last`` (None: from the start)."""
    store = source.table.store
    pk = source.table.primary_key

    def fetch(last: dict | None, wanted: int) -> list[dict]:
        lo = hi = None
        if last is not None:
            boundary = values(last)[0]
            lo, hi = (None, boundary) if descending else (boundary, None)
        if source.index == pk:
            scan = store.scan(lo, hi, hi_open=False, reverse=descending)
            rows = [doc for doc in scan.next_chunk(wanted + 1)]
        else:
            scan = store.index_scan(source.index, lo, hi, hi_open=False, reverse=descending)
            rows = []
            while len(rows) < wanted + 64 and (chunk := scan.next_chunk(wanted + 64)):
                rows += [doc for _, doc in chunk]
        scan.close()
        return rows

    return fetch


# ---------------------------------------------------------------------------
# The stream.

class FeedStream(Stream):
    """A changefeed as the pipeline serves it (infinite, never waiting)."""

    typeof_name = "STREAM"
    is_changefeed = True  # type: ignore[assignment]

    def __init__(
        self,
        unsubscribe: Callable[[], None],
        queue: FeedQueue,
        note: int,
        options: FeedOptions,
        initial: AsyncIterator[list[dict]] | None,
    ) -> None:
        self._unsubscribe = unsubscribe
        self.queue = queue
        self.options = options
        self.notes = [note, INCLUDES_STATES] if options.include_states else [note]
        self._prelude: list[dict] = []
        self._initial = initial
        self._closed = False
        if options.include_states:
            self._prelude.append(self._state("initializing" if initial is not None else "ready"))

    def _state(self, state: str) -> dict:
        element = {"state": state}
        if self.options.include_types:
            element["type"] = "state"
        return element

    def is_infinite(self) -> bool:
        return True

    async def next_batch(self) -> list | None:
        out, self._prelude = self._prelude, []
        if self._initial is not None:
            try:
                out += await self._initial.__anext__()
            except StopAsyncIteration:
                self._initial = None
                if self.options.include_states:
                    out.append(self._state("ready"))
            return out
        if not self.queue.ready:
            return out
        out += self.queue.take()
        if not out and self.queue.error is not None:
            raise self.queue.error
        return out

    @property
    def ready(self) -> bool:
        """Whether ``next_batch`` has something to give."""
        return bool(self._prelude) or self._initial is not None or self.queue.ready

    async def wait(self) -> None:
        """Until there is something to read."""
        if self._prelude or self._initial is not None:
            return
        await self.queue.wait()

    async def squash(self) -> None:
        """With ``squash=N``: wait N seconds (or until the queue is half full)
        before a batch is assembled, so that changes coalesce."""
        seconds = self.options.squash_seconds
        if seconds <= 0:
            return
        with trio.move_on_after(seconds):
            while len(self.queue) <= self.queue.capacity // 2:
                await self.queue.next_push()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._unsubscribe()
            self._initial = None


def feed_roots(s: Any) -> list[FeedStream]:
    """The feeds a stream reads (through its wrappers)."""
    if isinstance(s, FeedStream):
        return [s]
    parts = getattr(s, "parts", None) or getattr(s, "srcs", None)
    if parts is not None:
        return [root for p in parts for root in feed_roots(p)]
    src = getattr(s, "src", None)
    return feed_roots(src) if src is not None else []


def feed_notes(s: Stream) -> list[int]:
    roots = feed_roots(s)
    if len(roots) == 1:
        notes = roots[0].notes
        return notes[:1] if _wrapped_away_states(s) else notes
    kinds = {r.notes[0] for r in roots}
    return [kinds.pop() if len(kinds) == 1 else UNIONED_FEED]


def _wrapped_away_states(s: Any) -> bool:
    """A ``limit`` or ``union`` around a feed does not forward its states note."""
    while not isinstance(s, FeedStream):
        if isinstance(s, (SliceStream, ChainStream, MergeStream)):
            return True
        s = getattr(s, "src", None)
        if s is None:
            return False
    return False


async def wait_for_feeds(roots: list[FeedStream]) -> None:
    """Until one of the feeds has something to read."""
    if len(roots) == 1:
        await roots[0].wait()
        return
    async with trio.open_nursery() as nursery:
        async def one(root: FeedStream) -> None:
            await root.wait()
            nursery.cancel_scope.cancel()

        for root in roots:
            nursery.start_soon(one, root)


async def squash_feeds(roots: list[FeedStream]) -> None:
    """The squashing wait of the feeds that squash for a time (before a batch)."""
    for root in roots:
        await root.squash()
