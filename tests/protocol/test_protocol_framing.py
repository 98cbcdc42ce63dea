from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systables.protocol.framing import Frame, FrameDecoder, FrameError, FrameEvent, encode_frame

STREAM = (
    encode_frame(0, b"[1,1,{}]")
    + encode_frame(1, b"")
    + encode_frame(2**64 - 1, b'[1,"x"]')
    + encode_frame(2**63, b"[2]")
)
FRAMES = [Frame(0, b"[1,1,{}]"), Frame(1, b""), Frame(2**64 - 1, b'[1,"x"]'), Frame(2**63, b"[2]")]


def feed_all(decoder: FrameDecoder, chunks: list[bytes]) -> list[FrameEvent]:
    return [event for chunk in chunks for event in decoder.feed(chunk)]


def test_encode_frame_layout() -> None:
    assert encode_frame(0x0102030405060708, b"abc") == bytes.fromhex("0807060504030201") + b"\x03\0\0\0abc"


def test_whole_stream_in_one_chunk() -> None:
    assert FrameDecoder().feed(STREAM) == FRAMES


def test_payloads_are_bytes() -> None:
    assert all(isinstance(frame, Frame) and type(frame.payload) is bytes for frame in FrameDecoder().feed(STREAM))


@pytest.mark.parametrize("cut", range(len(STREAM) + 1))
def test_split_at_every_byte_boundary(cut: int) -> None:
    assert feed_all(FrameDecoder(), [STREAM[:cut], STREAM[cut:]]) == FRAMES


def test_byte_by_byte() -> None:
    assert feed_all(FrameDecoder(), [bytes([byte]) for byte in STREAM]) == FRAMES


def test_large_body_in_small_chunks() -> None:
    body = bytes(range(256)) * 4096
    data = encode_frame(7, body) + encode_frame(8, b"x")
    chunks = [data[i : i + 1000] for i in range(0, len(data), 1000)]
    assert feed_all(FrameDecoder(), chunks) == [Frame(7, body), Frame(8, b"x")]


@pytest.mark.parametrize("cut", [1, 11, 12, 13, 5000, (1 << 20) + 11, (1 << 20) + 12, (1 << 20) + 14])
def test_large_body_cut_anywhere_then_more_frames(cut: int) -> None:
    """A large body is received into a buffer of its size; what follows it in
    the same chunk is decoded as usual."""
    body = bytes(range(256)) * 4097
    data = encode_frame(3, b"[1]") + encode_frame(7, body) + encode_frame(8, b"x") + encode_frame(9, b"yz")
    cut += len(encode_frame(3, b"[1]"))
    assert feed_all(FrameDecoder(), [data[:cut], data[cut:]]) == [Frame(3, b"[1]"), Frame(7, body), Frame(8, b"x"), Frame(9, b"yz")]


def test_largest_allowed_query_is_accepted() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(struct.pack("<QI", 5, 134217727)) == []
    assert not decoder.failed


def test_too_large_query() -> None:
    decoder = FrameDecoder()
    events = decoder.feed(encode_frame(1, b"[2]") + struct.pack("<QI", 9, 134217728) + b"abc")
    assert events == [Frame(1, b"[2]"), FrameError(9, "Query size (134217728) greater than maximum (134217727).")]
    assert decoder.failed
    assert decoder.drain_remaining == 134217728 - 3
    assert decoder.feed(b"x" * 1000) == []
    assert decoder.drain_remaining == 134217728 - 1003
    chunk = bytes(1 << 20)
    while decoder.drain_remaining:
        assert decoder.feed(chunk) == []
    assert decoder.drain_remaining == 0


def test_too_large_query_split_header() -> None:
    decoder = FrameDecoder()
    header = struct.pack("<QI", 3, 2**32 - 1)
    assert decoder.feed(header[:5]) == []
    [error] = decoder.feed(header[5:])
    assert error == FrameError(3, "Query size (4294967295) greater than maximum (134217727).")
    assert decoder.drain_remaining == 0  # 1 GiB or more: close without draining


@settings(max_examples=500)
@given(data=st.binary(max_size=200), cuts=st.lists(st.integers(0, 200), max_size=6))
def test_random_bytes_only_produce_documented_events(data: bytes, cuts: list[int]) -> None:
    decoder = FrameDecoder()
    bounds = [0, *sorted(cut for cut in cuts if cut <= len(data)), len(data)]
    for start, end in zip(bounds, bounds[1:]):
        for event in decoder.feed(data[start:end]):
            assert isinstance(event, (Frame, FrameError))
            if isinstance(event, Frame):
                assert 0 <= event.token < 2**64 and len(event.payload) <= 134217727


@settings(max_examples=300)
@given(
    frames=st.lists(st.tuples(st.integers(0, 2**64 - 1), st.binary(max_size=50)), max_size=10),
    cuts=st.lists(st.integers(0, 800), max_size=10),
)
def test_any_chunking_yields_the_same_frames(frames: list[tuple[int, bytes]], cuts: list[int]) -> None:
    data = b"".join(encode_frame(token, body) for token, body in frames)
    bounds = [0, *sorted(cut for cut in cuts if cut <= len(data)), len(data)]
    chunks = [data[start:end] for start, end in zip(bounds, bounds[1:])]
    assert feed_all(FrameDecoder(), chunks) == [Frame(token, body) for token, body in frames]
