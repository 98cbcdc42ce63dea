"""Document encoding: MessagePack via ormsgpack.

Datums map one to one onto MessagePack: dict (str keys) → map, bytes → bin,
int (within int64 by the datum invariant) → int, float → float64, and TIME /
GEOMETRY pseudo-types stay maps.  Round trips are exact, including -0.0.

ormsgpack refuses values nested deeper than 254 levels, and RethinkDB stores
documents nested 100,000 deep.  Those are written as a pickle behind a byte
MessagePack never starts with (0xc1, "never used"), and read back by an
unpickler that refuses every global: a datum is only lists, dicts, str, bytes,
numbers, booleans and None, so no pickle of ours names a class, and none can
make the reader run code.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import ormsgpack

DEEP = b"\xc1"


def pack(value: Any) -> bytes:
    try:
        return ormsgpack.packb(value)
    except ormsgpack.MsgpackEncodeError as e:
        if str(e) != "Recursion limit reached":
            raise
    # The pickler recurses in C, as the event loop's large stack allows for.
    return DEEP + pickle.dumps(value, protocol=5)


def unpack(blob: bytes) -> Any:
    try:
        return ormsgpack.unpackb(blob)
    except ormsgpack.MsgpackDecodeError:
        if blob[:1] != DEEP:
            raise
    return _DatumUnpickler(io.BytesIO(memoryview(blob)[1:])).load()


class _DatumUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"a datum names no class ({module}.{name})")
