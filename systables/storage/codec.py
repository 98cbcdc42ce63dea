"""Document encoding: MessagePack via ormsgpack.

Datums map one to one onto MessagePack: dict (str keys) → map, bytes → bin,
int (within int64 by the datum invariant) → int, float → float64, and TIME /
GEOMETRY pseudo-types stay maps.  Round trips are exact, including -0.0.
"""

from __future__ import annotations

from typing import Any, Callable

import ormsgpack

# Bound directly (no wrapper) because these run once per document read/written.
pack: Callable[[Any], bytes] = ormsgpack.packb
unpack: Callable[[bytes], Any] = ormsgpack.unpackb
