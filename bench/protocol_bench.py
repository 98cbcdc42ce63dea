"""Micro-benchmark of the per-query protocol path: response encoding, query
parsing and frame decoding, for 1-document and 100-document payloads.

    python bench/protocol_bench.py
"""

from __future__ import annotations

import timeit
import uuid
from collections.abc import Callable

import orjson

from systables.protocol import response
from systables.protocol.framing import FrameDecoder, encode_frame
from systables.protocol.query import parse_query


def document(i: int) -> dict:
    return {
        "id": str(uuid.UUID(int=i)),
        "name": f"user-{i}",
        "age": 20 + i % 50,
        "score": i * 1.25 + 0.1,
        "active": i % 2 == 0,
        "tags": ["a", "b", "c"],
        "address": {"city": "Lisbon", "zip": "1000-001", "geo": [38.72, -9.14]},
        "created": {"$reql_type$": "TIME", "epoch_time": 1700000000 + i, "timezone": "+00:00"},
        "note": None,
    }


def insert_query(documents: list[dict]) -> bytes:
    table = [15, [[14, ["test"]], "users"]]
    return orjson.dumps([1, [56, [table, [2, documents]]], {"db": [14, ["test"]], "durability": "soft"}])


def microseconds(call: Callable[[], object]) -> float:
    timer = timeit.Timer(call)
    loops, _ = timer.autorange()
    best = min(timer.repeat(repeat=5, number=loops))
    return best / loops * 1e6


def main() -> None:
    for count in (1, 100):
        documents = [document(i) for i in range(count)]
        query = insert_query(documents)
        frames = encode_frame(1, query) * 10
        decoder = FrameDecoder()
        cases = {
            "encode atom": lambda: response.atom(documents[0] if count == 1 else documents),
            "encode sequence": lambda: response.sequence(documents),
            "encode partial": lambda: response.partial(documents, ()),
            "encode with binary": lambda: response.sequence([{"blob": b"\x00" * 64}] * count),
            "parse query": lambda: parse_query(query),
            "decode 10 frames": lambda: decoder.feed(frames),
        }
        print(f"{count} document(s): query {len(query)} bytes, sequence response {len(response.sequence(documents))} bytes")
        for name, call in cases.items():
            print(f"  {name:<20} {microseconds(call):9.2f} µs")


if __name__ == "__main__":
    main()
