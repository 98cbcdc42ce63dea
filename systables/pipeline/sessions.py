"""Every live session of this server: the source of ``query`` jobs (read by
the jobs table when it is read), the client counts ``stats`` shows, and the
shutdown of every query in flight."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterator

import trio

from ..datum import errors as E
from ..jobs.registry import Job

if TYPE_CHECKING:
    from .query import Query
    from .session import Session


class Sessions:
    def __init__(self) -> None:
        self._sessions: set["Session"] = set()
        self._by_job_id: dict[str, "Query"] = {}
        self.connections = 0  # driver connections (HTTP connection ids are not counted)
        self.shutting_down = False
        # Called when a query starts or ends (changefeeds on `rethinkdb.jobs` follow them).
        self.on_job_change: list[Callable[[], None]] = []

    def job_changed(self) -> None:
        for listener in self.on_job_change:
            listener()

    def add(self, session: "Session") -> None:
        self._sessions.add(session)

    def remove(self, session: "Session") -> None:
        self._sessions.discard(session)

    def __iter__(self) -> Iterator["Session"]:
        return iter(list(self._sessions))

    # -- the job source of `query` jobs --------------------------------------------
    def jobs(self) -> Iterator[Job]:
        for session in list(self._sessions):
            for q in list(session.queries.values()):
                if q.live:
                    yield self._job_of(q)

    def find(self, job_id: str) -> Job | None:
        q = self._by_job_id.get(job_id)
        return q.job if q is not None and q.live else None

    def _job_of(self, q: "Query") -> Job:
        if not q.has_job:
            self._by_job_id[q.job.id] = q
        return q.job

    def forget_job(self, q: "Query") -> None:
        if q.has_job:
            self._by_job_id.pop(q.job.id, None)

    # -- stats ------------------------------------------------------------------------
    def clients_active(self) -> int:
        return sum(1 for session in list(self._sessions) if session.queries)

    # -- shutdown ---------------------------------------------------------------------
    async def shutdown(self, grace: float) -> None:
        """Answer every query in flight with "Server is shutting down." (waiting
        up to ``grace`` seconds for them to answer)."""
        self.shutting_down = True
        for session in list(self._sessions):
            session.interrupt_all(E.SERVER_SHUTDOWN)
        with trio.move_on_after(grace):
            for session in list(self._sessions):
                for q in list(session.queries.values()):
                    await q.finished.wait()
