"""``Bounds``: the range a table slice, a range feed or a storage scan covers
(``between``'s two values and whether each end is open), one value instead of
four loose arguments.

``None`` at either end is unbounded; so are ``r.minval``/``r.maxval`` given
at the top level of a bound (``storage``).  RethinkDB has three notions of an
empty range, and each place that asks keeps its own: see ``is_empty``,
``unachievable`` and ``never_matches``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import datum as D


@dataclass(frozen=True, slots=True)
class Bounds:
    lo: Any = None
    hi: Any = None
    lo_open: bool = False
    hi_open: bool = True  # between's default: [lo, hi)

    @staticmethod
    def point(key: Any) -> "Bounds":
        """Exactly ``key`` (a get_all on an index)."""
        return Bounds(key, key, False, False)

    @property
    def has_bounds(self) -> bool:
        """Whether ``between`` narrowed it (``between(r.minval, r.maxval)`` did not)."""
        return not ((self.lo is None or self.lo is D.MINVAL) and (self.hi is None or self.hi is D.MAXVAL))

    def storage(self) -> dict[str, Any]:
        """The storage engine's scan arguments: r.minval / r.maxval at the
        top level are the open ends of a range."""
        return {"lo": _storage(self.lo), "hi": _storage(self.hi), "lo_open": self.lo_open, "hi_open": self.hi_open}

    def is_empty(self) -> bool:
        """No value lies within (``between(r.maxval, r.minval)``, ``between(2, 1)``):
        a slice so bounded reads nothing."""
        lo, hi = self.lo, self.hi
        if lo is None or hi is None:
            return False
        c = D.cmp(lo, hi)
        return c > 0 or (c == 0 and (self.lo_open or self.hi_open))

    def unachievable(self) -> bool:
        """What ``info()`` reports as ``unachievable`` bounds: r.minval and
        r.maxval count as unbounded, except a range starting at r.maxval or
        ending at r.minval."""
        lo, hi = self.lo, self.hi
        if (type(lo) is D.MinMaxVal and lo.is_max) or (type(hi) is D.MinMaxVal and not hi.is_max):
            return True
        if _unbounded(lo) or _unbounded(hi):
            return False
        return self.is_empty()

    def never_matches(self) -> bool:
        """Whether a range feed can never emit (its error messages call it
        an ``empty`` sub): r.minval and r.maxval count as unbounded."""
        if _unbounded(self.lo) or _unbounded(self.hi):
            return False
        return self.is_empty()

    def contains(self, v: Any) -> bool:
        """Whether ``v`` lies within (r.minval / r.maxval ends compare as datums)."""
        lo, hi = self.lo, self.hi
        if lo is not None:
            c = D.cmp(v, lo)
            if c < 0 or (c == 0 and self.lo_open):
                return False
        if hi is not None:
            c = D.cmp(v, hi)
            if c > 0 or (c == 0 and self.hi_open):
                return False
        return True

    def in_storage_terms(self) -> "Bounds":
        """The same range with top-level r.minval / r.maxval made unbounded."""
        return Bounds(_storage(self.lo), _storage(self.hi), self.lo_open, self.hi_open)


ALL = Bounds()


def _unbounded(v: Any) -> bool:
    return v is None or type(v) is D.MinMaxVal


def _storage(v: Any) -> Any:
    return None if type(v) is D.MinMaxVal else v
