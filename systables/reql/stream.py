"""Lazy sequences (RethinkDB's datum streams).

A stream hands out rows in batches: ``await s.next_batch()`` returns a
non-empty list, or ``None`` once exhausted; a changefeed returns an empty list
when nothing has arrived yet (it never waits: the pipeline waits for it), and
every wrapper passes such an empty batch on.  Sources read in growing chunks
(so ``filter().limit(10)`` touches few rows) and checkpoint between chunks, so
other queries run and a kill (a cancelled scope) lands between chunks.
Arrays are not streams: sequence terms applied to a datum array compute a
datum array eagerly, as RethinkDB does.
"""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable

from ..datum.errors import ReqlQueryLogicError, array_over_limit
from ..timeslice import yield_now
from .values import Val

TERMINAL_ON_FEED = "Cannot call a terminal (`reduce`, `count`, etc.) on an infinite stream (such as a changefeed)."
FIRST_CHUNK = 8
MAX_CHUNK = 1024


SLICE_SECONDS = 0.001  # work between two yields of a query, for fairness and fast kills
MIN_CHUNK = 16


def next_chunk_size(n: int) -> int:
    return min(n * 2, MAX_CHUNK)


class Pacer:
    """Sizes a source's chunks so that its query yields every millisecond or so.

    The time measured between two yields is the whole query's work on a chunk
    (reading it, and whatever the consumers do with it), in this thread's CPU
    time so that a busy machine does not shrink the chunks.  The chunk grows
    while that work stays well under SLICE_SECONDS and shrinks past it, so
    every query lets the others run, and a kill land, within milliseconds
    whatever its cost per row.
    """

    __slots__ = ("chunk", "_resumed")

    def __init__(self, first: int = FIRST_CHUNK) -> None:
        self.chunk = first
        self._resumed = time.thread_time()

    async def pause(self) -> None:
        busy = time.thread_time() - self._resumed
        if busy > SLICE_SECONDS:
            self.chunk = max(MIN_CHUNK, self.chunk // 2)
        elif busy < SLICE_SECONDS / 2:
            self.chunk = next_chunk_size(self.chunk)
        await yield_now()
        self._resumed = time.thread_time()


class Stream(Val):
    type_name = "SEQUENCE"
    typeof_name = "STREAM"

    # The table whose documents this stream yields unchanged (a selection), if any.
    table: Any = None
    # Computed in memory rather than read lazily (no changefeed can follow it).
    eager = False
    @property
    def is_changefeed(self) -> bool:
        """A changefeed, or a stream reading one: infinite, and never waiting."""
        src = getattr(self, "src", None)
        return src is not None and src.is_changefeed

    async def next_batch(self) -> list | None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def is_array_like(self) -> bool:
        return False

    def describe(self) -> str:
        """How RethinkDB shows a sequence in type errors: a selection names its table."""
        if self.table is not None:
            return f"SELECTION ON table({self.table.name})"
        return "VALUE SEQUENCE"

    def is_infinite(self) -> bool:
        return False

    async def __aiter__(self):  # type: ignore[override]
        while True:
            batch = await self.next_batch()
            if batch is None:
                return
            for row in batch:
                yield row


class ArrayStream(Stream):
    """A datum array seen as a stream (for operations shared with streams)."""

    eager = True

    def __init__(self, items: list, chunk: int = MAX_CHUNK) -> None:
        self.items = items
        self.pos = 0
        self.pacer = Pacer(chunk)

    async def next_batch(self) -> list | None:
        if self.pos >= len(self.items):
            return None
        start = self.pos
        if start:
            await self.pacer.pause()
        self.pos = min(len(self.items), start + self.pacer.chunk)
        return self.items[start:self.pos]

    def is_array_like(self) -> bool:
        return True


class SelectionArray(ArrayStream):
    """Documents of a table held in memory (e.g. an ordered selection)."""

    typeof_name = "SELECTION<ARRAY>"
    type_name = "SELECTION"

    def __init__(self, items: list, table: Any) -> None:
        super().__init__(items)
        self.table = table


class RangeStream(Stream):
    def __init__(self, start: int | float, stop: int | float | None) -> None:
        self.cur = start
        self.stop = stop
        self.pacer = Pacer()

    def is_infinite(self) -> bool:
        return self.stop is None

    async def next_batch(self) -> list | None:
        stop = self.stop
        if stop is not None and self.cur >= stop:
            return None
        await self.pacer.pause()
        n = self.pacer.chunk
        end = self.cur + n if stop is None else min(stop, self.cur + n)
        batch = list(range(int(self.cur), int(end))) if type(self.cur) is int else _frange(self.cur, end)
        self.cur = end
        return batch


def _frange(a: float, b: float) -> list:
    out = []
    while a < b:
        out.append(a)
        a += 1
    return out


class MapStream(Stream):
    def __init__(self, src: Stream, fn: Callable[[Any], Awaitable[Any]]) -> None:
        self.src = src
        self.fn = fn

    def is_infinite(self) -> bool:
        return self.src.is_infinite()

    async def next_batch(self) -> list | None:
        batch = await self.src.next_batch()
        if batch is None:
            return None
        fn = self.fn
        many = getattr(fn, "many", None)
        if many is not None:  # functions that are cheaper per batch (r.js)
            return await many(batch)
        return [await fn(x) for x in batch]

    def close(self) -> None:
        self.src.close()


class FilterStream(Stream):
    def __init__(self, src: Stream, pred: Callable[[Any], Awaitable[bool]]) -> None:
        self.src = src
        self.pred = pred
        self.table = src.table
        self.typeof_name = "SELECTION<STREAM>" if src.table is not None else "STREAM"
        if src.table is not None:
            self.type_name = "SELECTION"

    def is_infinite(self) -> bool:
        return self.src.is_infinite()

    async def next_batch(self) -> list | None:
        pred = self.pred
        while True:
            batch = await self.src.next_batch()
            if batch is None:
                return None
            out = [x for x in batch if await pred(x)]
            if out or not batch:
                return out

    def close(self) -> None:
        self.src.close()


class ConcatMapStream(Stream):
    """Each source row mapped to an array or a stream, concatenated in order.

    A row mapped to a stream is drained before the rest of its source batch
    is mapped, so the batch's remaining rows are kept in ``pending``.
    """

    def __init__(self, src: Stream, fn: Callable[[Any], Awaitable[Any]], to_stream: Callable[[Any], Stream]) -> None:
        self.src = src
        self.fn = fn
        self.to_stream = to_stream
        self.inner: Stream | None = None
        self.pending: list = []
        self.pos = 0

    def is_infinite(self) -> bool:
        return self.src.is_infinite()

    async def next_batch(self) -> list | None:
        while True:
            if self.inner is not None:
                b = await self.inner.next_batch()
                if b is not None:
                    return b
                self.inner = None
            if self.pos >= len(self.pending):
                batch = await self.src.next_batch()
                if batch is None:
                    return None
                if not batch:
                    return batch  # a changefeed with nothing new yet
                self.pending, self.pos = batch, 0
            out = await self._map_pending()
            if out:
                return out  # a stream met meanwhile is drained by the next call

    async def _map_pending(self) -> list:
        """Map pending rows up to the first one whose result is a stream."""
        out: list = []
        while self.pos < len(self.pending):
            v = await self.fn(self.pending[self.pos])
            self.pos += 1
            if type(v) is list:
                out.extend(v)
            else:
                self.inner = self.to_stream(v)
                break
        return out

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()
        self.src.close()


class SliceStream(Stream):
    """skip/limit/slice: rows [start, stop) of the source (stop None = all)."""

    def __init__(self, src: Stream, start: int, stop: int | None) -> None:
        self.src = src
        self.start = start
        self.stop = stop
        self.pos = 0
        self.table = src.table
        if src.table is not None:
            self.type_name = "SELECTION"
            self.typeof_name = "SELECTION<STREAM>"

    def is_infinite(self) -> bool:
        return self.stop is None and self.src.is_infinite()

    async def next_batch(self) -> list | None:
        while True:
            if self.stop is not None and self.pos >= self.stop:
                self.src.close()
                return None
            batch = await self.src.next_batch()
            if batch is None:
                return None
            if not batch:
                return batch
            lo = self.pos
            hi = lo + len(batch)
            self.pos = hi
            a = max(0, self.start - lo)
            b = len(batch) if self.stop is None else max(0, min(len(batch), self.stop - lo))
            if a < b:
                return batch[a:b]
            if self.stop is not None and hi >= self.stop:
                self.src.close()
                return None

    def close(self) -> None:
        self.src.close()


class BatchMapStream(Stream):
    """Each source batch turned into a list of rows by ``fn`` (which may keep state
    across batches, e.g. a running offset); empty results are skipped."""

    def __init__(self, src: Stream, fn: Callable[[list], Awaitable[list]], *, infinite: bool | None = None) -> None:
        self.src = src
        self.fn = fn
        self.infinite = src.is_infinite() if infinite is None else infinite

    def is_infinite(self) -> bool:
        return self.infinite

    async def next_batch(self) -> list | None:
        while True:
            batch = await self.src.next_batch()
            if batch is None:
                return None
            out = await self.fn(batch) if batch else batch
            if out or not batch:
                return out

    def close(self) -> None:
        self.src.close()


class MultiMapStream(Stream):
    """``map`` over several sequences: rows taken in lockstep, up to the shortest."""

    def __init__(self, srcs: list[Stream], fn: Callable[..., Awaitable[Any]]) -> None:
        self.srcs = srcs
        self.fn = fn
        self.pending: list[list] = [[] for _ in srcs]
        self.done = False

    def is_infinite(self) -> bool:
        return all(s.is_infinite() for s in self.srcs)

    async def next_batch(self) -> list | None:
        if self.done:
            return None
        for i, src in enumerate(self.srcs):
            if not self.pending[i]:
                batch = await src.next_batch()
                if batch is None:
                    self.close()
                    return None
                self.pending[i] = batch
        n = min(len(p) for p in self.pending)
        columns = [p[:n] for p in self.pending]
        self.pending = [p[n:] for p in self.pending]
        return [await self.fn(*args) for args in zip(*columns)]

    def close(self) -> None:
        self.done = True
        for s in self.srcs:
            s.close()


class FoldStream(Stream):
    """``fold`` with ``emit``: the accumulator runs over the rows and each step
    emits an array of rows; ``final_emit`` adds rows at the end."""

    eager = True

    def __init__(
        self,
        src: Stream,
        base: Any,
        step: Callable[[Any, Any], Awaitable[Any]],
        emit: Callable[[Any, Any, Any], Awaitable[list]],
        final_emit: Callable[[Any], Awaitable[list]] | None,
    ) -> None:
        self.src = src
        self.acc = base
        self.step = step
        self.emit = emit
        self.final_emit = final_emit
        self.done = False

    def is_infinite(self) -> bool:
        return self.src.is_infinite()

    async def next_batch(self) -> list | None:
        while not self.done:
            batch = await self.src.next_batch()
            if batch is None:
                self.done = True
                return (await self.final_emit(self.acc) or None) if self.final_emit else None
            out: list = []
            for row in batch:
                new_acc = await self.step(self.acc, row)
                out.extend(await self.emit(self.acc, row, new_acc))
                self.acc = new_acc
            if out:
                return out
        return None

    def close(self) -> None:
        self.src.close()


KeyedRow = tuple[Any, Any]  # (sort key, row)


class MergeStream(Stream):
    """``union(interleave=ordering)``: merges streams each sorted by the ordering,
    refusing a stream found out of order."""

    def __init__(
        self,
        srcs: list[Stream],
        key_of: Callable[[Any], Awaitable[Any]],
        compare: Callable[[Any, Any], int],
        out_of_order: Callable[[], Exception],
    ) -> None:
        self.srcs = srcs
        self.key_of = key_of
        self.compare = compare
        self.out_of_order = out_of_order
        self.heads: list[list[KeyedRow]] = [[] for _ in srcs]
        self.last: list[Any] = [_NO_KEY] * len(srcs)
        self.live = [True] * len(srcs)

    async def _fill(self, i: int) -> bool:
        """Make sure stream ``i`` has a pending row; False once it is exhausted."""
        while self.live[i] and not self.heads[i]:
            batch = await self.srcs[i].next_batch()
            if batch is None:
                self.live[i] = False
                break
            keyed = [(await self.key_of(row), row) for row in batch]
            prev = self.last[i]
            for key, _ in keyed:
                if prev is not _NO_KEY and self.compare(prev, key) > 0:
                    raise self.out_of_order()
                prev = key
            self.last[i] = prev
            self.heads[i] = keyed
        return bool(self.heads[i])

    async def next_batch(self) -> list | None:
        out: list = []
        while len(out) < MAX_CHUNK:
            best = -1
            for i in range(len(self.srcs)):
                if await self._fill(i) and (best < 0 or self.compare(self.heads[i][0][0], self.heads[best][0][0]) < 0):
                    best = i
            if best < 0:
                break
            out.append(self.heads[best].pop(0)[1])
        return out or None

    def close(self) -> None:
        for s in self.srcs:
            s.close()


_NO_KEY = object()


class RunSortStream(Stream):
    """An index scan (index value, document) whose runs of equal index values are
    sorted by further keys: ``order_by(key..., index=...)`` stays lazy."""

    typeof_name = "SELECTION<STREAM>"
    type_name = "SELECTION"

    def __init__(
        self, src: Stream, sort_run: Callable[[list], Awaitable[list]], same: Callable[[Any, Any], bool]
    ) -> None:
        self.src = src
        self.table = src.table
        self.sort_run = sort_run
        self.same = same
        self.run: list[KeyedRow] = []
        self.done = False

    async def next_batch(self) -> list | None:
        out: list = []
        while not out and not self.done:
            batch = await self.src.next_batch()
            if batch is None:
                self.done = True
                out = await self._flush()
                break
            for value, doc in batch:
                if self.run and not self.same(self.run[0][0], value):
                    out.extend(await self._flush())
                self.run.append((value, doc))
        return out or None

    async def _flush(self) -> list:
        rows = [doc for _, doc in self.run]
        self.run = []
        return await self.sort_run(rows) if len(rows) > 1 else rows

    def close(self) -> None:
        self.src.close()


class ChainStream(Stream):
    """Concatenation of several streams (``union`` without interleave)."""

    def __init__(self, parts: list[Stream]) -> None:
        self.parts = parts
        self.i = 0

    def is_infinite(self) -> bool:
        return any(p.is_infinite() for p in self.parts)

    @property
    def is_changefeed(self) -> bool:
        return any(p.is_changefeed for p in self.parts)

    async def next_batch(self) -> list | None:
        if self.is_changefeed:
            return await self._next_of_each()
        while self.i < len(self.parts):
            b = await self.parts[self.i].next_batch()
            if b is not None:
                return b
            self.i += 1
        return None

    async def _next_of_each(self) -> list | None:
        """With feeds among the parts: what each part has now (finite parts
        are drained along the way), None once every part is exhausted."""
        out: list = []
        live = []
        for part in self.parts:
            batch = await part.next_batch()
            if batch is not None:
                out.extend(batch)
                live.append(part)
        self.parts = live
        return out if live else None

    def close(self) -> None:
        for p in self.parts:
            p.close()


class GeneratorStream(Stream):
    """A stream whose batches come from an async generator function."""

    def __init__(self, agen: Any, *, table: Any = None, typeof_name: str = "STREAM") -> None:
        self.agen = agen
        self.table = table
        self.typeof_name = typeof_name
        if table is not None:
            self.type_name = "SELECTION"

    async def next_batch(self) -> list | None:
        try:
            return await self.agen.__anext__()
        except StopAsyncIteration:
            return None

    def close(self) -> None:
        pass


INFINITE = (
    "Cannot use an infinite stream with an aggregation function (`reduce`, `count`, etc.) "
    "or coerce it to an array."
)


def check_finite(s: Stream, at: Any = None) -> None:
    """Refuse to read a changefeed or an infinite stream to its end."""
    if s.is_changefeed:
        raise ReqlQueryLogicError(TERMINAL_ON_FEED, at)
    if s.is_infinite():
        raise ReqlQueryLogicError(INFINITE, at)


def reads_a_table(s: Any) -> bool:
    """Whether ``s`` reads a table through transformations only (maps,
    filters, concat_maps, unions), as RethinkDB runs on the table's shards;
    a slice (``limit``, ``skip``) or an in-memory sequence is read where the
    query runs.  The two check the number of groups differently."""
    if not isinstance(s, Stream) or s.is_array_like() or isinstance(s, SliceStream):
        return False
    if isinstance(s, ChainStream):
        return any(reads_a_table(p) for p in s.parts)
    if s.table is not None:
        return True
    return reads_a_table(getattr(s, "src", None))


async def collect(s: Stream, limit: int, at: Any = None, limit_at: Any = None) -> list:
    """Read a stream to the end into a list, enforcing the array size limit
    (its error is raised at ``limit_at`` if given, else at ``at``)."""
    check_finite(s, at)
    at = at if limit_at is None else limit_at
    out: list = []
    while True:
        b = await s.next_batch()
        if b is None:
            return out
        out.extend(b)
        if len(out) > limit:
            s.close()
            raise array_over_limit(limit, at)
