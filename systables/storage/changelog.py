"""The durable change log: every committed row change of a table, in commit
order, kept for a retention, so that a changefeed can resume where a client
left it (across reconnects and restarts).

Each row change gets the table's next *position* (1, 2, 3 … with no gaps)
and is written to the table's log keyspace under that position, in the same
RocksDB batch as the documents themselves: a change is in the log exactly
when it is committed, once.  The value holds the commit time and the row's
primary-key encoding and stored values before and after, copied as they are
(nothing is re-encoded).

Positions being dense makes the log's bookkeeping O(1) or O(log n): its
length is ``last - first + 1``, trimming to a count of changes is one range
deletion, and the first entry young enough to keep is found by bisection.
The position of the last entry trimmed is kept in the table's catalog
record, so that a resume from before it is refused instead of silently
missing changes.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Any, Callable

from rocksdict import Rdict, WriteBatch

from .changes import Change
from .scan import RangeReader

_KEY = struct.Struct(">Q")
_HEADER = struct.Struct("<dIii")  # commit time, pk length, old length (-1: none), new length (-1: none)
DEFAULT_RETENTION_SECONDS = 3600.0
DEFAULT_RETENTION_CHANGES = 1_000_000


@dataclass(frozen=True)
class Retention:
    """How long a table's changes stay resumable: entries older than
    ``seconds``, or beyond the last ``changes``, are trimmed."""

    seconds: float = DEFAULT_RETENTION_SECONDS
    changes: int = DEFAULT_RETENTION_CHANGES

    @classmethod
    def of(cls, stored: dict | None) -> "Retention":
        return cls() if stored is None else cls(float(stored["seconds"]), int(stored["changes"]))

    def describe(self) -> str:
        return f"{self.seconds:g} seconds or {self.changes} changes"


def encode_entry(now: float, pk_enc: bytes, old: bytes | None, new: bytes | None) -> bytes:
    return b"".join((
        _HEADER.pack(now, len(pk_enc), -1 if old is None else len(old), -1 if new is None else len(new)),
        pk_enc, old or b"", new or b"",
    ))


def decode_entry(raw: bytes, position: int) -> Change:
    _, pk_len, old_len, new_len = _HEADER.unpack_from(raw)
    at = _HEADER.size
    pk_enc = raw[at : at + pk_len]
    at += pk_len
    old = None if old_len < 0 else raw[at : at + old_len]
    at += max(old_len, 0)
    new = None if new_len < 0 else raw[at : at + new_len]
    return Change(pk_enc, old, new, None, position)


def entry_time(raw: bytes) -> float:
    return _HEADER.unpack_from(raw)[0]


class LogReader:
    """The entries after a position as the log was when the reader was
    opened (a RocksDB iterator is a point-in-time view: appends and trims
    made later are not seen), read in chunks."""

    def __init__(self, data: Rdict, prefix: bytes, end: bytes, after: int) -> None:
        self._rows = RangeReader(data, prefix + _KEY.pack(after + 1), end, reverse=False)
        self._plen = len(prefix)

    def next_chunk(self, n: int) -> list[Change]:
        plen = self._plen
        return [decode_entry(raw, _KEY.unpack_from(key, plen)[0]) for key, raw in self._rows.take(n)]

    def close(self) -> None:
        self._rows.close()


class ChangeLog:
    """One table's log, in the data column family under its own keyspace."""

    def __init__(self, data: Callable[[], Rdict], prefix: bytes, end: bytes, trimmed: int) -> None:
        self._cf = data  # the column family, asked for each time: a reference kept here would keep a closed store locked
        self.prefix = prefix
        self._end = end
        self.trimmed = trimmed  # every position up to this one is gone
        last = self._last_stored()
        self.last = max(last, trimmed)  # the position of the last change committed

    def key(self, position: int) -> bytes:
        return self.prefix + _KEY.pack(position)

    def append(self, wb: WriteBatch, handle: Any, entries: list[tuple[bytes, bytes | None, bytes | None]]) -> list[int]:
        """Put the entries into ``wb``; their positions.  ``commit_appended``
        makes the positions taken once the batch is written."""
        now = time.time()
        first = self.last + 1
        for i, (pk_enc, old, new) in enumerate(entries):
            wb.put(self.key(first + i), encode_entry(now, pk_enc, old, new), handle)
        return list(range(first, first + len(entries)))

    def commit_appended(self, last: int) -> None:
        self.last = last

    def reader(self, after: int) -> LogReader:
        return LogReader(self._cf(), self.prefix, self._end, after)

    def trim_through(self, retention: Retention, now: float) -> int:
        """The last position to trim now: the older of the count's and the
        age's limits (``self.trimmed`` when nothing is due)."""
        by_count = self.last - retention.changes
        return max(self.trimmed, by_count, self._last_older_than(now - retention.seconds))

    def delete_through(self, wb: WriteBatch, handle: Any, position: int) -> tuple[bytes, bytes]:
        lo, hi = self.prefix, self.key(position + 1)
        wb.delete_range(lo, hi, handle)
        return lo, hi

    def _last_older_than(self, cutoff: float) -> int:
        """Bisection over the dense positions for the last entry committed
        before ``cutoff`` (commit times grow with positions)."""
        lo, hi = self.trimmed, self.last  # invariant: entries ≤ lo are older (or gone); answer in [lo, hi]
        while lo < hi:
            mid = (lo + hi + 1) // 2
            raw = self._cf().get(self.key(mid))
            if raw is not None and entry_time(raw) < cutoff:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def _last_stored(self) -> int:
        reader = RangeReader(self._cf(), self.prefix, self._end, reverse=True, values=False)
        rows = reader.take(1)
        reader.close()  # an open iterator would keep the directory locked
        return _KEY.unpack_from(rows[0], len(self.prefix))[0] if rows else 0

    @property
    def length(self) -> int:
        return self.last - self.trimmed
