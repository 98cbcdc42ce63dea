"""Reading geo indexes: ``get_intersecting`` and ``get_nearest``.

A geo index holds S2 cell keys (``systables.geo.index``); a query reads the
key ranges of its covering, keeps each document once, and checks each
candidate exactly against the geometries the index function gives for it.
Every read goes through ``TableVal.note_read``, so the profile's documents
read show how much of the table a query touched.  Reads and checks are paced
(``Pacer``): a query yields about every millisecond however large the area.
"""

from __future__ import annotations

import time
from typing import Any, AsyncIterator

from .. import datum as D
from ..geo import index as geo_index
from ..geo import shapes
from ..geo.distance import distance
from ..geo.geodesic import Ellipsoid
from ..geo.index import GeoIndexFunction, KeyRange
from ..geo.nearest import Rings
from ..geo.shapes import S2Point, Shape
from ..storage import IndexMeta
from ..timeslice import SLICE_SECONDS
from .stream import Pacer, Stream
from .tables import TableVal


def geo_function(table: TableVal, meta: IndexMeta) -> GeoIndexFunction:
    """The index's function (compiled now if no write has needed it since a restart)."""
    return table.index_function(meta)  # type: ignore[no-any-return]


class GeoPacer(Pacer):
    """A Pacer that also says when a pause is due: a query reads many small
    key ranges (most of them empty point lookups), and pausing after each
    would cost more than the reads."""

    __slots__ = ()

    def due(self) -> bool:
        return time.thread_time() - self._resumed > SLICE_SECONDS / 2


async def candidates(table: TableVal, index: str, ranges: list[KeyRange], pacer: Pacer) -> AsyncIterator[list[dict]]:
    """Documents stored under the key ranges, chunk by chunk (a document
    indexed under several cells comes once per cell)."""
    for lo, hi in ranges:
        scan = table.store.index_scan(index, lo, hi, hi_open=False)
        try:
            while True:
                if pacer.due():
                    await pacer.pause()
                rows = scan.next_chunk(pacer.chunk)
                if not rows:
                    break
                table.note_read(len(rows))
                yield [doc for _, doc in rows]
        finally:
            scan.close()


class GetIntersectingStream(Stream):
    """Rows whose indexed geometry intersects ``query``: once each for a
    simple index, once per matching element for a multi index."""

    type_name = "SELECTION"
    typeof_name = "SELECTION<STREAM>"

    def __init__(self, table: TableVal, meta: IndexMeta, query: Shape) -> None:
        self.table = table
        self.query = query
        self.index = meta.name
        self.fn = geo_function(table, meta)
        self.multi = meta.multi
        self._seen: set[Any] = set()
        self._pk = table.primary_key
        self._chunks = candidates(table, meta.name, geo_index.intersecting_ranges(query), GeoPacer())

    async def next_batch(self) -> list | None:
        async for docs in self._chunks:
            out = self._matches(docs)
            if out:
                return out
        return None

    def _matches(self, docs: list[dict]) -> list[dict]:
        out = []
        for doc in docs:
            key = D.hashable(doc.get(self._pk))
            if key in self._seen:
                continue
            self._seen.add(key)
            hits = sum(1 for s in self.fn.shapes_of(doc) if s is not None and shapes.intersects(self.query, s))
            out.extend([doc] * (hits if self.multi else min(hits, 1)))
        return out

    def intersects(self, doc: dict) -> bool:
        """Whether one of the document's indexed geometries meets the query's."""
        return any(s is not None and shapes.intersects(self.query, s) for s in self.fn.shapes_of(doc))

    def close(self) -> None:
        self._chunks = _empty()


class IntersectingSnapshot:
    """The rows whose indexed geometry intersects ``query`` as the table is
    now, for a changefeed's initial values: every key range of the covering
    is opened at once (each scan a point-in-time view, opened in the same
    step as the feed's subscription), then read chunk by chunk."""

    def __init__(self, stream: GetIntersectingStream) -> None:
        table, self._stream = stream.table, stream
        index = stream.index
        self._scans = [table.store.index_scan(index, lo, hi, hi_open=False)
                       for lo, hi in geo_index.intersecting_ranges(stream.query)]

    @property
    def exhausted(self) -> bool:
        return not self._scans

    def next_chunk(self, n: int) -> list[dict]:
        """The matches among the next ``n`` candidates (possibly none)."""
        while self._scans:
            rows = self._scans[0].next_chunk(n)
            if rows:
                self._stream.table.note_read(len(rows))
                return self._stream._matches([doc for _, doc in rows])
            self._scans.pop(0).close()
        return []

    def close(self) -> None:
        for scan in self._scans:
            scan.close()
        self._scans = []


async def _empty() -> AsyncIterator[list[dict]]:
    return
    yield  # an async generator that yields nothing


async def get_nearest(
    table: TableVal, meta: IndexMeta, center: S2Point, rings: Rings, max_results: int, e: Ellipsoid
) -> list[tuple[float, dict]]:
    """The ``max_results`` nearest (distance, row) pairs within the rings'
    ``max_dist``, nearest first.  A multi index gives a row once per element."""
    fn = geo_function(table, meta)
    pk = table.primary_key
    found: set[Any] = set()  # (primary key, element) already in the results
    results: list[tuple[float, dict]] = []
    pacer = GeoPacer()
    while True:
        ring: list[tuple[float, dict]] = []
        async for docs in candidates(table, meta.name, rings.search_ranges(), pacer):
            for doc in docs:
                key = D.hashable(doc.get(pk))
                for i, s in enumerate(fn.shapes_of(doc)):
                    if s is None or (key, i) in found:
                        continue
                    if isinstance(s, S2Point) and not rings.may_contain(s):
                        continue
                    d = distance(center, s, e)
                    if rings.contains(d):
                        found.add((key, i))
                        ring.append((d, doc))
        ring.sort(key=lambda pair: pair[0])
        results.extend(ring)
        if len(results) >= max_results or not rings.advance(len(ring)):
            return results[:max_results]
