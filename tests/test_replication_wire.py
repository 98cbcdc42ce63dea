"""The replication stream's framing (sans-IO): messages survive being cut
anywhere, and a frame that is not a message is refused."""

from __future__ import annotations

import ormsgpack
import pytest

from systables.cluster import wire


def test_messages_cut_anywhere_come_out_whole_and_in_order():
    messages = [
        {"t": "start", "position": 7, "total": 2},
        {"t": "chunk", "items": [[b"\x01a", b"doc"], [b"\x01b", b"doc2"]], "last": None, "progress": 0.5},
        {"t": "changes", "items": [[8, b"\x01a", None]]},
        {"t": "done"},
    ]
    data = b"".join(wire.encode(m) for m in messages)
    for cut in range(1, 9):
        decoder = wire.Decoder()
        out = []
        for i in range(0, len(data), cut):
            out += decoder.feed(data[i:i + cut])
        assert [m["t"] for m in out] == ["start", "chunk", "changes", "done"]
        assert out[1]["items"][1] == [b"\x01b", b"doc2"] and out[2]["items"] == [[8, b"\x01a", None]]


def test_a_frame_that_is_not_a_message_is_refused():
    body = ormsgpack.packb([1, 2])
    with pytest.raises(wire.FrameError):
        wire.Decoder().feed(wire.HEADER.pack(len(body)) + body)
    with pytest.raises(wire.FrameError):
        wire.Decoder().feed(wire.HEADER.pack(wire.MAX_FRAME + 1))
