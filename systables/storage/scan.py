"""Chunked, point-in-time scans over a table's documents and index entries.

A RocksDB iterator reads a consistent view as of its creation, which is what
gives scans their snapshot.  (rocksdict's ``Snapshot`` objects do not work for
this: their ``items``/``iter`` ignore the snapshot and read live data; only
``snapshot[key]`` honours it.)  An index scan therefore creates its entry
iterator and a ``Snapshot`` for fetching documents in the same synchronous
step, so both see the same state.

The binding ignores ``set_iterate_lower_bound``, so forward scans seek to the
lower bound explicitly and reverse scans stop at it by hand; the upper bound
is honoured in both directions.
"""

from __future__ import annotations

from itertools import islice
from typing import Any, Iterator

from rocksdict import Rdict, ReadOptions, Snapshot

from . import codec
from .keys import decode, encode_key, order_key_of, split_index_entry, truncated_value

# Appended to an encoding to get the first key after every key that starts with it.
_AFTER = b"\xff"
# An index entry as scanned: (order key of the value, primary-key encoding, encode(value)).
_Entry = tuple[bytes, bytes, bytes]


def bound_keys(prefix: bytes, end: bytes, lo: Any, hi: Any, lo_open: bool, hi_open: bool) -> tuple[bytes, bytes]:
    """Key range [start, stop) of a primary-key range; None bounds are open-ended."""
    start = prefix if lo is None else prefix + encode_key(lo) + (b"\x00" if lo_open else b"")
    stop = end if hi is None else prefix + encode_key(hi) + (b"" if hi_open else b"\x00")
    return start, stop


class RangeReader:
    """Iterates raw (key, value) pairs of [start, stop), either direction."""

    def __init__(self, cf: Rdict, start: bytes, stop: bytes, reverse: bool, values: bool = True) -> None:
        self._ro: ReadOptions | None = ReadOptions()  # referenced for the iterator's lifetime
        self._ro.set_iterate_upper_bound(stop)
        self._start = start
        self._reverse = reverse
        self.exhausted = stop <= start
        if self.exhausted:
            self._it: Iterator[Any] = iter(())
        elif not reverse:
            self._it = (cf.items if values else cf.keys)(from_key=start, read_opt=self._ro)
        else:
            self._it = (cf.items if values else cf.keys)(backwards=True, from_key=stop, read_opt=self._ro)

    def take(self, n: int) -> list[Any]:
        """Up to n rows; fewer means the range is exhausted."""
        if self.exhausted:
            return []
        rows = list(islice(self._it, n))
        if self._reverse:
            rows = self._cut_below_start(rows)
        if len(rows) < n:
            self.close()
        return rows

    def _cut_below_start(self, rows: list[Any]) -> list[Any]:
        start = self._start
        if rows and _key_of(rows[-1]) < start:
            rows = [r for r in rows if _key_of(r) >= start]
            self.close()
        return rows

    def close(self) -> None:
        self.exhausted = True
        self._it = iter(())
        self._ro = None


def _key_of(row: Any) -> bytes:
    return row[0] if type(row) is tuple else row


class Scan:
    """Documents of a primary-key range in key order (RethinkDB's datum order)."""

    def __init__(self, cf: Rdict, start: bytes, stop: bytes, reverse: bool) -> None:
        self._reader = RangeReader(cf, start, stop, reverse)

    def next_chunk(self, max_rows: int = 1000) -> list[dict]:
        """Up to max_rows documents; [] once exhausted."""
        unpack = codec.unpack
        return [unpack(v) for _, v in self._reader.take(max_rows)]

    @property
    def exhausted(self) -> bool:
        return self._reader.exhausted

    def close(self) -> None:
        self._reader.close()


class KeyCount:
    """Counts the keys of a range in chunks without reading documents."""

    def __init__(self, cf: Rdict, start: bytes, stop: bytes) -> None:
        self._reader = RangeReader(cf, start, stop, reverse=False, values=False)
        self.total = 0

    def next_chunk(self, max_keys: int = 100_000) -> int:
        """Counts up to max_keys more keys and returns how many; 0 once exhausted."""
        n = len(self._reader.take(max_keys))
        self.total += n
        return n

    @property
    def done(self) -> bool:
        return self._reader.exhausted

    def close(self) -> None:
        self._reader.close()


class IndexScan:
    """(index value, document) pairs of an index range, ordered by (value, primary key)."""

    def __init__(
        self,
        cf: Rdict,
        index_prefix: bytes,
        doc_prefix: bytes,
        lo: Any,
        hi: Any,
        lo_open: bool,
        hi_open: bool,
        reverse: bool,
    ) -> None:
        self._lo = None if lo is None else encode_key(lo)
        self._hi = None if hi is None else encode_key(hi)
        self._lo_open, self._hi_open = lo_open, hi_open
        self._plen = len(index_prefix)
        self._reverse = reverse
        start = index_prefix + (b"" if self._lo is None else truncated_value(self._lo))
        stop = prefix_end(index_prefix) if self._hi is None else index_prefix + truncated_value(self._hi) + _AFTER
        # Same synchronous step: the entry iterator and the document snapshot agree.
        self._reader = RangeReader(cf, start, stop, reverse)
        self._docs: Snapshot | None = cf.snapshot()
        self._doc_prefix = doc_prefix
        self._entries = self._ordered_entries()

    def next_chunk(self, max_rows: int = 1000) -> list[tuple[Any, dict]]:
        rows = []
        for _, pk_enc, exact in islice(self._entries, max_rows):
            doc = self._fetch(pk_enc)
            if doc is not None:
                rows.append((decode(exact), doc))
        return rows

    def close(self) -> None:
        self._reader.close()
        self._entries = iter(())
        self._docs = None

    def _fetch(self, pk_enc: bytes) -> dict | None:
        try:
            return codec.unpack(self._docs[self._doc_prefix + pk_enc])  # type: ignore[index]
        except Exception:  # the binding raises a bare Exception for a missing key
            return None

    def _ordered_entries(self) -> Iterator[_Entry]:
        """Entries in scan order with bounds applied."""
        for run in self._runs():
            for entry in run:
                if self._below_lo(entry[0]):
                    if self._reverse:
                        return
                    continue
                if self._above_hi(entry[0]):
                    if self._reverse:
                        continue
                    return
                yield entry

    def _runs(self) -> Iterator[list[_Entry]]:
        """Entries in batches; entries whose key does not hold the whole value
        come as one batch per shared key prefix, re-sorted by full order key
        (then primary key)."""
        held: list[_Entry] = []
        held_prefix = b""
        while True:
            rows = self._reader.take(256)
            for key, stored in rows:
                key_value, pk_enc = split_index_entry(key[self._plen :])
                if held and key_value != held_prefix:
                    yield self._sorted(held)
                    held = []
                if stored:
                    held.append((order_key_of(stored), pk_enc, stored))
                    held_prefix = key_value
                else:
                    yield [(key_value, pk_enc, key_value)]
            if not rows:
                break
        if held:
            yield self._sorted(held)

    def _sorted(self, run: list[_Entry]) -> list[_Entry]:
        return sorted(run, key=lambda e: e[:2], reverse=self._reverse)

    def _below_lo(self, value_enc: bytes) -> bool:
        lo = self._lo
        return lo is not None and (value_enc <= lo if self._lo_open else value_enc < lo)

    def _above_hi(self, value_enc: bytes) -> bool:
        hi = self._hi
        return hi is not None and (value_enc >= hi if self._hi_open else value_enc > hi)


def prefix_end(prefix: bytes) -> bytes:
    """First key after every key starting with ``prefix`` (prefix not all 0xFF)."""
    stripped = prefix.rstrip(b"\xff")
    return stripped[:-1] + bytes([stripped[-1] + 1])

