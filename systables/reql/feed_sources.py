"""What a changefeed follows (``source_of``): a range of a table (possibly
narrowed by ``between``/``get_all`` and transformed by ``filter``/``map``/
``pluck``...), one document, the first ``n`` rows of an index order, a union
of those, or nothing at all — with RethinkDB's errors for everything else.
``feeds.subscribe`` turns a source into subscriptions."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Awaitable, Callable

from .. import datum as D
from ..datum.errors import ReqlError, ReqlQueryLogicError
from ..feeds.subscriptions import ABSENT
from ..timeslice import WouldBlock, run_to_completion
from .bounds import ALL, Bounds
from .geo_scan import GetIntersectingStream
from .stream import BatchMapStream, ChainStream, ConcatMapStream, FilterStream, MapStream, SliceStream, Stream
from .tables import UNORDERED, TableSlice, TableVal
from .values import GroupedData, GroupedStream, SingleSelection

SEQUENCE_FEED, ATOM_FEED, ORDER_BY_LIMIT_FEED, UNIONED_FEED, INCLUDES_STATES = 1, 2, 3, 4, 5
DEFAULT_QUEUE_SIZE = 100_000

EAGER = "Cannot call `changes` on an eager stream."
NON_DETERMINISTIC = "Cannot call `changes` after a non-deterministic function."
AFTER_LIMIT = (
    "Changefeeds are not supported on queries that have a transformation following a `limit` term.  "
    "Transformations include terms such as `filter`, `map`, `pluck`, etc.  "
    "Consider moving the transformation before the `limit` term."
)
UNORDERED_LIMIT = "Cannot get changes on the first elements of an unordered stream."

Row = Callable[[Any], Awaitable[Any]]


# ---------------------------------------------------------------------------
# Transforms before `changes`.

@dataclass(frozen=True)
class Step:
    kind: str  # "filter", "map" (one row in, one out) or "batch" (a list in, 0 or 1 out)
    fn: Callable[[Any], Awaitable[Any]]

    async def apply(self, row: Any) -> Any:
        if self.kind == "filter":
            return row if await self.fn(row) else ABSENT
        if self.kind == "map":
            return await self.fn(row)
        out = await self.fn([row])
        return out[0] if out else ABSENT


@dataclass(frozen=True)
class Transforms:
    steps: tuple[Step, ...] = ()

    def then(self, step: Step) -> "Transforms":
        return Transforms(self.steps + (step,))

    @property
    def filters_only(self) -> bool:
        return all(s.kind == "filter" for s in self.steps)

    async def apply(self, row: Any) -> Any:
        """The transformed row, or ABSENT (a rejecting filter or any error)."""
        try:
            for step in self.steps:
                row = await step.apply(row)
                if row is ABSENT:
                    return ABSENT
        except ReqlError:
            return ABSENT
        return row

    def sync(self, doc: Any) -> Any:
        """``apply`` without the event loop (for subscriptions, on the writer's task)."""
        if not self.steps:
            return doc
        try:
            return run_to_completion(self.apply(doc))
        except WouldBlock:
            return ABSENT


def deterministic(fn: Any) -> bool:
    return getattr(fn, "deterministic", True)


# ---------------------------------------------------------------------------
# What a feed follows.

@dataclass
class RangeSource:
    table: TableVal
    index: str  # the primary key's name for a primary-key range
    bounds: Bounds = ALL
    keys: list | None = None  # get_all: these values of the index
    sorting: str = UNORDERED
    transforms: Transforms = field(default_factory=Transforms)
    note: int = SEQUENCE_FEED
    geo: GetIntersectingStream | None = None  # get_intersecting: rows meeting its geometry

    @property
    def empty(self) -> bool:
        if self.keys is not None:
            return not self.keys
        return self.bounds.never_matches()


@dataclass
class PointSource:
    table: TableVal
    key: Any
    note: int = ATOM_FEED


@dataclass
class LimitSource:
    range: RangeSource
    n: int
    note: int = ORDER_BY_LIMIT_FEED


@dataclass
class UnionSource:
    parts: list
    note: int = SEQUENCE_FEED


Source = RangeSource | PointSource | LimitSource | UnionSource


def source_of(value: Any, at: Any) -> Source:
    """What ``value.changes()`` follows, or RethinkDB's error."""
    if isinstance(value, SingleSelection):
        return PointSource(value.table, value.key)
    if isinstance(value, (GroupedStream, GroupedData)):
        raise ReqlQueryLogicError("Cannot call `changes` after `group`.", at)
    if type(value) is list:
        raise ReqlQueryLogicError(EAGER, at)
    if not isinstance(value, Stream):
        raise ReqlQueryLogicError(f"Cannot convert {D.type_name(value)} to SEQUENCE", at)
    return _stream_source(value, at)


def _stream_source(s: Stream, at: Any) -> Source:
    if isinstance(s, TableVal):
        return RangeSource(s, s.primary_key)
    if isinstance(s, TableSlice):
        return RangeSource(s.table, s.index, s.bounds, sorting=s.sorting)
    if isinstance(s, GetIntersectingStream):
        return RangeSource(s.table, s.index, geo=s)
    keys = getattr(s, "feed_keys", None)
    if keys is not None:  # get_all
        return RangeSource(s.table, keys[0], keys=list(keys[1]))
    if isinstance(s, FilterStream):
        return _transformed(s.src, Step("filter", s.pred), s.pred, at)
    if isinstance(s, MapStream):
        return _transformed(s.src, Step("map", s.fn), s.fn, at)
    if isinstance(s, BatchMapStream) and not s.infinite:
        return _transformed(s.src, Step("batch", s.fn), s.fn, at)
    if isinstance(s, ConcatMapStream):
        raise ReqlQueryLogicError("Cannot call `changes` after `concat_map`.", at)
    if isinstance(s, SliceStream):
        return _limited(s, at)
    if isinstance(s, ChainStream) and getattr(s, "is_union", False):
        return UnionSource([_stream_source(p, at) for p in s.parts])
    raise ReqlQueryLogicError(EAGER, at)


def _transformed(src: Stream, step: Step, fn: Any, at: Any) -> Source:
    inner = _stream_source(src, at)
    refused = getattr(fn, "refuses_changes", None)
    if refused is not None:
        raise ReqlQueryLogicError(f"Cannot call `changes` after `{refused}`.", at)
    if not deterministic(fn):
        raise ReqlQueryLogicError(NON_DETERMINISTIC, at)
    if isinstance(inner, RangeSource):
        return replace(inner, transforms=inner.transforms.then(step))
    if isinstance(inner, LimitSource):
        if step.kind != "filter":
            raise ReqlQueryLogicError(AFTER_LIMIT, at)
        # A filter after the limit acts as one before it (as in RethinkDB).
        return replace(inner, range=replace(inner.range, transforms=inner.range.transforms.then(step)))
    raise ReqlQueryLogicError(EAGER, at)


def _limited(s: SliceStream, at: Any) -> Source:
    inner = _stream_source(s.src, at)
    if s.start != 0 or s.stop is None:
        raise ReqlQueryLogicError(EAGER, at)
    if isinstance(inner, UnionSource):
        raise ReqlQueryLogicError("Cannot call `changes` on a slice of a union.", at)
    if not isinstance(inner, RangeSource) or inner.sorting == UNORDERED or inner.keys is not None:
        raise ReqlQueryLogicError(UNORDERED_LIMIT, at)
    return LimitSource(inner, s.stop)
