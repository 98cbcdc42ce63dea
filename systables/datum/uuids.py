"""Random (version 4) UUIDs as strings, cheaply: drawn 64 at a time from the
OS and formatted by hand, a fraction of the cost of ``str(uuid.uuid4())``
(a system call each), which shows on bulk inserts and on every query the
job history records (its job id and its entry id)."""

from __future__ import annotations

import os

_pool: list[str] = []
BATCH = 64


def random_uuid() -> str:
    if not _pool:
        _pool.extend(random_uuids(BATCH))
    return _pool.pop()


def random_uuids(n: int) -> list[str]:
    raw = bytearray(os.urandom(16 * n))
    out = []
    for i in range(0, 16 * n, 16):
        raw[i + 6] = (raw[i + 6] & 0x0F) | 0x40  # version 4
        raw[i + 8] = (raw[i + 8] & 0x3F) | 0x80  # RFC 4122 variant
        h = raw[i:i + 16].hex()
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out
