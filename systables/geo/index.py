"""Geospatial index keys: S2 cells in the index's key space, as RethinkDB does.

Each indexed geometry is stored under the S2 cells of a covering (a point
under its leaf cell, other shapes under up to ``INDEX_CELLS`` cells).  A cell
id is a 64-bit number whose order is the Hilbert-curve order of the cells,
and a cell's descendants are exactly the ids in ``[range_min, range_max]``,
so an index value is the id as 8 big-endian bytes: the storage engine orders
binary values bytewise, i.e. by cell id.

A query geometry is covered with up to ``QUERY_CELLS`` cells; a stored cell
meets a query cell exactly when it is one of its descendants (a range scan)
or one of its ancestors (a point lookup per level).  The candidates are then
checked exactly, with ``shapes.intersects``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import s2geometry as s2

from ..datum.errors import ReqlError
from . import geojson, shapes
from .shapes import S2Point, Shape

INDEX_CELLS = 8  # RethinkDB's GEO_INDEX_GOAL_GRID_CELLS
QUERY_CELLS = 16

KeyRange = tuple[bytes, bytes]  # inclusive bounds


MAX_LEVEL = 30


def cell_key(cell: Any) -> bytes:
    return cell.id().to_bytes(8, "big")


def _key(cell_id: int) -> bytes:
    return cell_id.to_bytes(8, "big")


def id_range(cell_id: int) -> tuple[int, int]:
    """The ids of a cell's descendants (itself included), inclusive."""
    lsb = cell_id & -cell_id
    return cell_id - lsb + 1, cell_id + lsb - 1


def covering(shape: Shape, max_cells: int) -> list[Any]:
    if isinstance(shape, S2Point):
        return [s2.S2CellId(shape)]
    if isinstance(shape, s2.S2Polygon) and shape.num_loops() == 0:
        return []  # an empty polygon intersects nothing: nothing to index or look up
    coverer = s2.S2RegionCoverer()
    coverer.set_max_cells(max_cells)
    return list(coverer.GetCovering(shape))


def index_keys(shape: Shape) -> list[bytes]:
    return [cell_key(cell) for cell in covering(shape, INDEX_CELLS)]


def query_ranges(cells: Iterable[Any]) -> list[KeyRange]:
    """Key ranges holding every stored cell that meets one of ``cells``:
    their descendants and their ancestors, sorted and merged."""
    # S2 cell ids in integer arithmetic (far cheaper than the bindings' calls):
    # a cell's lowest set bit marks its level; its descendants lie within
    # lsb - 1 of it, and its parent at a level has that level's lsb.
    ranges: set[KeyRange] = set()
    for cell in cells:
        cell_id = cell.id()
        lsb = cell_id & -cell_id
        ranges.add((_key(cell_id - lsb + 1), _key(cell_id + lsb - 1)))
        level = MAX_LEVEL - (lsb.bit_length() - 1) // 2
        for up in range(level):
            up_lsb = 1 << (2 * (MAX_LEVEL - up))
            ancestor = _key((cell_id & -up_lsb) | up_lsb)
            ranges.add((ancestor, ancestor))
    return merge_ranges(sorted(ranges))


def merge_ranges(ranges: list[KeyRange]) -> list[KeyRange]:
    merged: list[KeyRange] = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1]:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def intersecting_ranges(shape: Shape) -> list[KeyRange]:
    return query_ranges(covering(shape, QUERY_CELLS))


class GeoIndexFunction:
    """The storage engine's index function of a geo index: the cell keys of
    every geometry the definition gives for a document.

    ``geometries(doc)`` gives those geometries themselves, for the exact
    check of candidates.  Values that are not valid geometries are skipped,
    as RethinkDB skips rows whose index function fails.
    """

    def __init__(self, values: Callable[[dict], list]) -> None:
        self.geometries = values

    def __call__(self, doc: dict) -> list[bytes]:
        keys: list[bytes] = []
        for g in self.geometries(doc):
            try:
                keys.extend(index_keys(geojson.parse(g)))
            except ReqlError:
                continue
        return keys

    def shapes_of(self, doc: dict) -> list[Shape | None]:
        """The shape of each geometry of ``doc`` (None where it is invalid)."""
        out: list[Shape | None] = []
        for g in self.geometries(doc):
            try:
                out.append(geojson.parse(g))
            except ReqlError:
                out.append(None)
        return out


def is_geo_index_function(fn: object) -> bool:
    return isinstance(fn, GeoIndexFunction)


__all__ = [
    "GeoIndexFunction",
    "INDEX_CELLS",
    "QUERY_CELLS",
    "intersecting_ranges",
    "index_keys",
    "shapes",
]
