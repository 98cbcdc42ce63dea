"""Per-query time limits (beyond RethinkDB, its #3573): a query that lives
longer than its ``time_limit`` (the global optarg, or its user's default in
``rethinkdb.users``) is killed the way a deleted ``rethinkdb.jobs`` row kills
it, with its own message.

One task watches every limit: it sleeps until the earliest deadline, so a
query with a limit costs a heap push and nothing while it runs.
"""

from __future__ import annotations

import heapq
import itertools
import time
from typing import TYPE_CHECKING

import trio

from ..datum.errors import time_limit_message

if TYPE_CHECKING:
    from .query import Query


class TimeLimits:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, "Query"]] = []
        self._order = itertools.count()  # ties: no comparing queries
        self._changed = trio.Event()
        self._kept = 0  # entries left after the last sweep of ended queries

    def watch(self, q: "Query") -> None:
        """Kill ``q`` once it has lived ``q.time_limit`` seconds."""
        limit = q.time_limit
        if limit is None:
            return
        deadline = trio.current_time() + limit - _age(q)
        first = not self._heap or deadline < self._heap[0][0]
        heapq.heappush(self._heap, (deadline, next(self._order), q))
        if len(self._heap) > max(1024, 2 * self._kept):
            self._sweep()  # ended queries wait for their deadline here: bounded, amortised
        if first:
            self._changed.set()

    def _sweep(self) -> None:
        self._heap = [entry for entry in self._heap if not entry[2].ended]
        heapq.heapify(self._heap)
        self._kept = len(self._heap)
        self._changed.set()

    def expire(self, now: float) -> None:
        """Kill every query whose deadline has passed."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, q = heapq.heappop(heap)
            if not q.ended and q.time_limit is not None:
                q.kill(time_limit_message(q.time_limit))

    async def run(self) -> None:
        """Until cancelled: kill queries as their deadlines pass."""
        while True:
            self.expire(trio.current_time())
            self._changed = trio.Event()
            deadline = self._heap[0][0] if self._heap else float("inf")
            with trio.move_on_at(deadline):
                await self._changed.wait()


def _age(q: "Query") -> float:
    """How long ``q`` has lived already (it was received before it was watched)."""
    return max(0.0, time.time() - q.started_at)
