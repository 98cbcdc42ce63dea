"""Every live session of this server: the source of ``query`` jobs (read by
the jobs table when it is read), the open connections ``rethinkdb.connections``
lists, the client counts ``stats`` shows, where finished queries go (the job
history), their time limits, and the shutdown of every query in flight."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable, Iterator

import trio

from ..datum import errors as E
from ..jobs.history import ERROR, KILLED, SUCCESS, JobHistory, Outcome
from ..jobs.registry import Job
from .query import STOP, State
from .time_limits import TimeLimits

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
        # Called when a connection opens or closes (feeds on `rethinkdb.connections`).
        self.on_connection_change: list[Callable[[], None]] = []
        # Called with (user, login kept or None) when a user's connections are
        # closed: the console ends that user's logins too.
        self.on_user_closed: list[Callable[[str, object | None], None]] = []
        self.history: JobHistory | None = None  # where finished queries are recorded
        self.time_limits = TimeLimits()

    def record_to(self, history: JobHistory) -> None:
        """Record finished queries in ``history`` (its settings say whether)."""
        self.history = history

    @property
    def live_costs(self) -> bool:
        """Whether query rows count documents and tables (the ``jobs`` row of
        ``rethinkdb.cluster_config`` may turn it off)."""
        history = self.history
        return history is not None and history.settings.live_costs

    def job_changed(self) -> None:
        for listener in self.on_job_change:
            listener()

    def add(self, session: "Session") -> None:
        self._sessions.add(session)
        self._connections_changed()

    def remove(self, session: "Session") -> None:
        if session in self._sessions:
            self._sessions.discard(session)
            self._connections_changed()

    def _connections_changed(self) -> None:
        for listener in self.on_connection_change:
            listener()

    # -- `rethinkdb.connections` -------------------------------------------------------
    def open_connections(self) -> list["Session"]:
        return [s for s in list(self._sessions) if not s.closed]

    def running_job_ids(self, session: "Session") -> list[str]:
        return [self._job_of(q).id for q in list(session.queries.values()) if q.live]

    async def wait_closed(self, session: "Session") -> None:
        """Until every query of a closed session has stopped."""
        for q in list(session.queries.values()):
            await q.finished.wait()

    async def close_user(self, user: str, reason: str, by: dict, keep: str | None) -> None:
        """Close every connection of ``user`` (his password changed, or he was
        deleted), driver port and console alike, except the connection ``keep``
        that made the change (and the other connections of its console login),
        as a session changing its own password goes on in PostgreSQL.  Returns
        once their queries have stopped."""
        kept = next((s for s in self._sessions if s.id == keep), None)
        kept_login = kept.login if kept is not None else None
        victims = [s for s in self.open_connections() if s.user == user and s is not kept
                   and (kept_login is None or s.login is not kept_login)]
        for session in victims:
            if session.disconnect is not None:
                session.disconnect(reason, by)
            else:
                session.close(reason, by)
        for listener in self.on_user_closed:
            listener(user, kept_login)
        for session in victims:
            await self.wait_closed(session)

    # -- the job history ----------------------------------------------------------------
    def query_finished(self, q: "Query", error: str | None) -> None:
        """``q`` stopped being a job: recorded if it ran long enough or was killed."""
        history = self.history
        if history is None:
            return
        outcome = query_outcome(q, error)
        ended = time.time()
        if not history.wants_query(ended - q.started_at, outcome):
            return
        history.record("query", q.job.id, started_at=q.started_at, outcome=outcome, info=q.info(),
                       servers=[q.session.server_id], user=q.session.user, ended_at=ended)

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


def query_outcome(q: "Query", error: str | None) -> Outcome:
    """How a query ended: killed (by whom, when someone did), failed or done.
    A STOP is a client done with its cursor: a success."""
    if q.interrupt is not None and q.interrupt != STOP:
        return Outcome(KILLED, q.interrupt, q.killed_by, forced=q.killed_by is not None or q.interrupt.startswith(E.TIME_LIMIT_PREFIX))
    if q.state is State.FAILED:
        return Outcome(ERROR, error or "The query failed.")
    return Outcome(SUCCESS)
