"""The replication stream's framing (sans-IO): after the one JSON header line
of the cluster port (``handshake.py``), each message is a 4-byte big-endian
length and a msgpack map with a ``t`` (type) field.

Primary → replica: ``start`` (``position``: the change-log position the
copy's snapshot reflects; ``total``: rows in it), ``chunk`` (``items``:
``[key, document]`` in key order, ``last``: the key the copy has reached or
None at the end, ``progress``), ``changes`` (``items``: ``[position, key,
document or None]`` in commit order), ``done`` (the copy is complete).
Replica → primary: ``ack`` (``position``: every change up to it is applied,
and durable as the table asks).
"""

from __future__ import annotations

import struct
from typing import Any

import ormsgpack

HEADER = struct.Struct(">I")
MAX_FRAME = 256 * 1024 * 1024


class FrameError(Exception):
    pass


def encode(message: dict[str, Any]) -> bytes:
    body = ormsgpack.packb(message)
    return HEADER.pack(len(body)) + body


class Decoder:
    """Bytes in, whole messages out."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buffer += data
        messages = []
        buffer = self._buffer
        offset = 0
        while len(buffer) - offset >= HEADER.size:
            (size,) = HEADER.unpack_from(buffer, offset)
            if size > MAX_FRAME:
                raise FrameError(f"a frame of {size} bytes")
            end = offset + HEADER.size + size
            if len(buffer) < end:
                break
            message = ormsgpack.unpackb(bytes(buffer[offset + HEADER.size:end]))
            if type(message) is not dict or type(message.get("t")) is not str:
                raise FrameError("a frame that is not a message")
            messages.append(message)
            offset = end
        del buffer[:offset]
        return messages
