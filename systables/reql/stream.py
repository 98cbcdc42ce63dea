"""Lazy sequences (RethinkDB's datum streams).

A stream hands out rows in batches: ``await s.next_batch()`` returns a
non-empty list, or ``None`` once exhausted.  Sources read in growing chunks
(so ``filter().limit(10)`` touches few rows) and checkpoint between chunks, so
other queries run and a kill (a cancelled scope) lands between chunks.
Arrays are not streams: sequence terms applied to a datum array compute a
datum array eagerly, as RethinkDB does.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import trio

from .errors import ReqlResourceLimitError
from .values import Val

FIRST_CHUNK = 8
MAX_CHUNK = 1024


def next_chunk_size(n: int) -> int:
    return min(n * 2, MAX_CHUNK)


class Stream(Val):
    type_name = "SEQUENCE"
    typeof_name = "STREAM"

    # The table whose documents this stream yields unchanged (a selection), if any.
    table: Any = None

    async def next_batch(self) -> list | None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def is_array_like(self) -> bool:
        return False

    def describe(self) -> str:
        return self.typeof_name.lower()

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

    def __init__(self, items: list, chunk: int = MAX_CHUNK) -> None:
        self.items = items
        self.pos = 0
        self.chunk = chunk

    async def next_batch(self) -> list | None:
        if self.pos >= len(self.items):
            return None
        start = self.pos
        self.pos = min(len(self.items), start + self.chunk)
        if start:
            await trio.lowlevel.checkpoint()
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
        self.chunk = FIRST_CHUNK

    def is_infinite(self) -> bool:
        return self.stop is None

    async def next_batch(self) -> list | None:
        stop = self.stop
        if stop is not None and self.cur >= stop:
            return None
        n = self.chunk
        end = self.cur + n if stop is None else min(stop, self.cur + n)
        batch = list(range(int(self.cur), int(end))) if type(self.cur) is int else _frange(self.cur, end)
        self.cur = end
        self.chunk = next_chunk_size(n)
        await trio.lowlevel.checkpoint()
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
            if out:
                return out

    def close(self) -> None:
        self.src.close()


class ConcatMapStream(Stream):
    def __init__(self, src: Stream, fn: Callable[[Any], Awaitable[Any]], to_stream: Callable[[Any], Stream]) -> None:
        self.src = src
        self.fn = fn
        self.to_stream = to_stream
        self.inner: Stream | None = None

    async def next_batch(self) -> list | None:
        while True:
            if self.inner is not None:
                b = await self.inner.next_batch()
                if b is not None:
                    return b
                self.inner = None
            batch = await self.src.next_batch()
            if batch is None:
                return None
            out: list = []
            for x in batch:
                v = await self.fn(x)
                if type(v) is list:
                    out.extend(v)
                else:
                    if out:
                        # keep order: drain the pending rows first, then this stream
                        self.inner = _Prepend(out, self.to_stream(v))
                        out = []
                        break
                    self.inner = self.to_stream(v)
                    break
            if out:
                return out

    def close(self) -> None:
        self.src.close()


class _Prepend(Stream):
    def __init__(self, first: list, rest: Stream) -> None:
        self.first: list | None = first
        self.rest = rest

    async def next_batch(self) -> list | None:
        if self.first is not None:
            b, self.first = self.first, None
            return b
        return await self.rest.next_batch()


class SliceStream(Stream):
    """skip/limit/slice: rows [start, stop) of the source (stop None = all)."""

    def __init__(self, src: Stream, start: int, stop: int | None) -> None:
        self.src = src
        self.start = start
        self.stop = stop
        self.pos = 0
        self.table = src.table
        self.typeof_name = src.typeof_name if src.table is not None else "STREAM"
        self.type_name = src.type_name

    async def next_batch(self) -> list | None:
        while True:
            if self.stop is not None and self.pos >= self.stop:
                self.src.close()
                return None
            batch = await self.src.next_batch()
            if batch is None:
                return None
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


class ChainStream(Stream):
    """Concatenation of several streams (``union`` without interleave)."""

    def __init__(self, parts: list[Stream]) -> None:
        self.parts = parts
        self.i = 0

    async def next_batch(self) -> list | None:
        while self.i < len(self.parts):
            b = await self.parts[self.i].next_batch()
            if b is not None:
                return b
            self.i += 1
        return None

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


async def collect(s: Stream, limit: int, at: Any = None) -> list:
    """Read a stream to the end into a list, enforcing the array size limit."""
    if s.is_infinite():
        from .errors import ReqlQueryLogicError

        raise ReqlQueryLogicError("Cannot use an infinite stream with an aggregation function (`reduce`, `count`, etc.) or coerce it to an array.", at)
    out: list = []
    while True:
        b = await s.next_batch()
        if b is None:
            return out
        out.extend(b)
        if len(out) > limit:
            s.close()
            raise ReqlResourceLimitError(f"Array over size limit `{limit}`.", at)
