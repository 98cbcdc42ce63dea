"""Query framing after the handshake, sans-IO.

A frame is ``token`` (8 bytes, little-endian unsigned), ``length`` (4 bytes,
little-endian unsigned) and ``length`` bytes of JSON, in both directions.

A client frame longer than ``MAX_QUERY_SIZE`` yields a ``FrameError``: answer
it with ``response.client_error(error.message)`` on ``error.token``, then keep
reading and feeding until ``decoder.drain_remaining`` is 0 (the reference
server allows 5 minutes) and close.  Draining matters: closing a socket with
unread input makes the kernel send a reset, which can destroy the error
response before the client reads it.  Bodies of 1 GiB or more are not drained
(``drain_remaining`` is 0 at once): close straight away.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

MAX_QUERY_SIZE = 134217727  # 128 MiB - 1
MAX_DRAIN_SIZE = 1 << 30
LARGE_FRAME = 1 << 20  # a body this long is received into a buffer of its size (a bytearray)
HEADER = struct.Struct("<QI")
HEADER_SIZE = HEADER.size


class Frame(NamedTuple):
    token: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class FrameError:
    """The query on ``token`` was refused; the connection must be closed."""

    token: int
    message: str


FrameEvent = Frame | FrameError


def encode_frame(token: int, body: bytes) -> bytes:
    return HEADER.pack(token, len(body)) + body


def query_too_large_message(length: int) -> str:
    return f"Query size ({length}) greater than maximum ({MAX_QUERY_SIZE})."


class FrameDecoder:
    """Splits the client's byte stream into frames; feed it every chunk."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._needed = HEADER_SIZE  # buffered bytes needed before parsing is worthwhile
        self._failed = False
        self._drain_remaining = 0
        self._large: tuple[int, bytearray] | None = None  # (token, body) of a large frame being received
        self._large_filled = 0

    @property
    def failed(self) -> bool:
        """True once a ``FrameError`` was returned; later input is discarded."""
        return self._failed

    @property
    def drain_remaining(self) -> int:
        """Bytes of the refused body still to read before closing."""
        return self._drain_remaining

    def feed(self, data: bytes) -> list[FrameEvent]:
        if self._failed:
            self._drain_remaining = max(0, self._drain_remaining - len(data))
            return []
        events: list[FrameEvent] = []
        if self._large is not None:
            data = self._fill_large(data, events)
            if not data:
                return events
        buffer = self._buffer
        if buffer:
            buffer += data
            if len(buffer) < self._needed:
                return events  # keeps bodies arriving in small chunks linear
            data = bytes(buffer)
            buffer.clear()
        consumed = self._parse(data, events)
        if consumed < len(data):
            self._keep(memoryview(data)[consumed:])
        return events

    def _keep(self, rest: memoryview) -> None:
        """Buffer the start of an incomplete frame; a large body goes straight
        into a buffer of its final size (growing one by appends would copy it
        again and again, on the event loop)."""
        if len(rest) >= HEADER_SIZE:
            token, length = HEADER.unpack_from(rest, 0)
            if length >= LARGE_FRAME:
                self._large = (token, bytearray(length))
                self._large_filled = 0
                self._fill_large(rest[HEADER_SIZE:], [])
                return
        self._buffer += rest

    def _fill_large(self, data: bytes | memoryview, events: list[FrameEvent]) -> bytes | memoryview:
        """Copy into the large body; returns what comes after it."""
        assert self._large is not None
        token, body = self._large
        taken = min(len(data), len(body) - self._large_filled)
        body[self._large_filled : self._large_filled + taken] = data[:taken]
        self._large_filled += taken
        if self._large_filled == len(body):
            events.append(Frame(token, body))  # type: ignore[arg-type]
            self._large = None
            self._needed = HEADER_SIZE
        return data[taken:]

    def _parse(self, data: bytes, events: list[FrameEvent]) -> int:
        """Append the complete frames of ``data``; return how many bytes they used."""
        position, end = 0, len(data)
        while end - position >= HEADER_SIZE:
            token, length = HEADER.unpack_from(data, position)
            if length > MAX_QUERY_SIZE:
                self._refuse(token, length, end - position - HEADER_SIZE, events)
                return end
            frame_end = position + HEADER_SIZE + length
            if frame_end > end:
                self._needed = frame_end - position
                return position
            events.append(Frame(token, data[position + HEADER_SIZE : frame_end]))
            position = frame_end
        self._needed = HEADER_SIZE
        return position

    def _refuse(self, token: int, length: int, body_received: int, events: list[FrameEvent]) -> None:
        self._failed = True
        self._drain_remaining = max(0, length - body_received) if length < MAX_DRAIN_SIZE else 0
        events.append(FrameError(token, query_too_large_message(length)))
