"""Stall detection (beyond RethinkDB): a background job whose progress has
not moved for ``stalled_after_sec`` is *stalled* — its jobs row shows
``info.phase: "stalled"`` and ``rethinkdb.current_issues`` an issue — until it
moves again.  A paused job is not stalled: it waits on purpose.

The watcher samples the progress of every job that reports one, every
quarter of the threshold (at most once a second).
"""

from __future__ import annotations

import time
from typing import Callable

import trio

from .registry import Job, JobRegistry

MAX_PERIOD = 1.0


class StallWatcher:
    def __init__(self, jobs: JobRegistry, stalled_after: Callable[[], float]) -> None:
        self._jobs = jobs
        self._stalled_after = stalled_after
        self._seen: dict[int, tuple[float, float]] = {}  # id(job) -> (progress, when it last moved)

    async def run(self) -> None:
        while True:
            self.check(time.monotonic())
            await trio.sleep(min(MAX_PERIOD, self._stalled_after() / 4))

    def check(self, now: float) -> None:
        threshold = self._stalled_after()
        seen: dict[int, tuple[float, float]] = {}
        changed = False
        for job in self._jobs.background():
            if job.progress is None:
                continue
            progress = float(job.progress())
            last = self._seen.get(id(job))
            moved_at = now if last is None or last[0] != progress or _paused(job) else last[1]
            seen[id(job)] = (progress, moved_at)
            stalled = now - moved_at >= threshold
            if stalled != job.stalled:
                job.stalled = stalled
                changed = True
        self._seen = seen
        if changed:
            self._jobs.changed()


def _paused(job: Job) -> bool:
    try:
        return job.info().get("phase") == "paused"
    except Exception:  # a reporter's bug: treat as running
        return False
