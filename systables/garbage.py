"""When the cyclic garbage collector runs.

CPython's collector stops everything while it scans; a full collection scans
every tracked object, so with a large result in memory (a 100,000-document
``order_by``, a big array) it takes tens of milliseconds, and with default
settings it runs several times during such a query: every client stalls.

So the oldest generation is never collected automatically.  The young
generations still are (they scan only recent objects: well under a
millisecond), and a background task makes the full collection at a quiet
moment: when the heap is back near its size at rest, or at the latest after
``MAX_DELAY`` seconds.  What was allocated at start-up (modules, the term
table) is frozen out of every collection.
"""

from __future__ import annotations

import gc
import sys
import time

import trio

CHECK_SECONDS = 1.0
MAX_DELAY = 30.0  # a full collection happens at least this often
QUIET_GROWTH = 1.25  # the heap counts as quiet below this multiple of its size at rest
NEVER = 1 << 30  # a gen-2 threshold that automatic collection never reaches


def configure() -> None:
    """Freeze what start-up allocated and leave full collections to ``run``."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, NEVER)


async def run() -> None:
    """Make full collections at quiet moments, until cancelled."""
    rest = sys.getallocatedblocks()
    last = time.monotonic()
    while True:
        await trio.sleep(CHECK_SECONDS)
        blocks = sys.getallocatedblocks()
        if blocks <= rest * QUIET_GROWTH or time.monotonic() - last >= MAX_DELAY:
            gc.collect()
            last = time.monotonic()
            rest = sys.getallocatedblocks()
