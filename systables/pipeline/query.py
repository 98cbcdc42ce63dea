"""One query's life in the pipeline, with explicit states:

    RECEIVED → COMPILED → RUNNING ⇄ STREAMING → DONE | FAILED | KILLED

RUNNING is evaluation or the computing of a batch; STREAMING is a cursor
waiting for the client's next CONTINUE (it stays a ``query`` job meanwhile,
as in RethinkDB).  A query is a job, visible in ``rethinkdb.jobs``, while it
is RUNNING or STREAMING; the jobs table reads it from the pipeline
(``Sessions.query_jobs``), nothing is pushed anywhere.

A kill (``interrupt``) records the reason and cancels the query's scope if it
runs; the query then ends with the interruption as its answer, whatever it
was computing.  A query that is not running (a cursor between batches) ends
at once and answers the error to its next CONTINUE.
"""

from __future__ import annotations

import enum
import time
from typing import TYPE_CHECKING, Any, Callable

import trio

from ..datum.errors import KILLED_BY_JOBS
from ..datum.uuids import random_uuid
from ..jobs.registry import Job
from ..reql.pretty import print_js
from .limits import DEFAULT_LIMITS, BatchLimits

if TYPE_CHECKING:
    from ..protocol.query import ParsedQuery
    from ..reql.context import QueryContext
    from ..reql.stream import Stream
    from ..reql.term import Term


class State(enum.Enum):
    RECEIVED = "received"
    COMPILED = "compiled"
    RUNNING = "running"
    STREAMING = "streaming"
    DONE = "done"
    FAILED = "failed"
    KILLED = "killed"


LIVE = frozenset({State.RUNNING, State.STREAMING})
ENDED = frozenset({State.DONE, State.FAILED, State.KILLED})
STOP = "stop"  # the interruption reason of a STOP: answered with an empty final batch


class Query:
    """A START and the cursor it may leave open."""

    __slots__ = (
        "token", "parsed", "term", "optargs", "ctx", "limits", "state", "stream", "pending",
        "scope", "interrupt", "killed_by", "time_limit", "started_at", "_job", "_printed", "_lock", "_finished",
        "on_end", "session",
    )

    def __init__(self, session: Any, token: int, parsed: "ParsedQuery") -> None:
        self.session = session
        self.token = token
        self.parsed = parsed
        self.term: Term | None = None
        self.optargs: dict[str, Term] = {}
        self.ctx: QueryContext | None = None
        self.limits: BatchLimits = DEFAULT_LIMITS
        self.state = State.RECEIVED
        self.stream: Stream | None = None
        self.pending: list = []  # rows read from the stream but not sent yet
        self.scope: trio.CancelScope | None = None  # set while it runs
        self.interrupt: str | None = None  # why it was interrupted (kill, STOP, close...)
        self.killed_by: dict | None = None  # {user, connection} of whoever killed it, if someone did
        self.time_limit: float | None = None  # seconds it may live (optarg or its user's default)
        self.started_at = time.time()
        self._job: Job | None = None
        self._printed: str | None = None
        self._lock: trio.Lock | None = None
        self._finished: trio.Event | None = None
        self.on_end: Callable[["Query"], None] | None = None

    # -- flags ------------------------------------------------------------------
    @property
    def noreply(self) -> bool:
        return self.parsed.noreply

    @property
    def profile(self) -> bool:
        return self.parsed.profile

    @property
    def live(self) -> bool:
        return self.state in LIVE

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    # -- synchronisation (made only for queries that outlive one step) ----------
    @property
    def lock(self) -> trio.Lock:
        """Held while a batch is computed (CONTINUE and STOP take turns)."""
        if self._lock is None:
            self._lock = trio.Lock()
        return self._lock

    @property
    def finished(self) -> trio.Event:
        if self._finished is None:
            self._finished = trio.Event()
            if self.ended:
                self._finished.set()
        return self._finished

    # -- transitions ----------------------------------------------------------------
    def compiled(self, term: "Term", optargs: dict[str, "Term"], ctx: "QueryContext") -> None:
        self.term, self.optargs, self.ctx = term, optargs, ctx
        ctx.query = self
        self.state = State.COMPILED

    def running(self) -> bool:
        """RUNNING; True the first time (when it becomes a job)."""
        first = self.state is State.COMPILED
        self.state = State.RUNNING
        return first

    def streaming(self) -> None:
        self.state = State.STREAMING

    def end(self, state: State, *, forget: bool = True, error: str | None = None) -> None:
        """DONE, FAILED (``error`` says why) or KILLED: close the cursor, leave
        the jobs table for the job history (and, unless ``forget`` is false,
        the session: a cursor killed between two batches stays there to
        answer its next CONTINUE)."""
        if self.ended:
            return
        was_job = self.state in LIVE
        self.state = state
        if was_job:
            self.session.sessions.query_finished(self, error)
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        self.pending = []
        if self._finished is not None:
            self._finished.set()
        if forget and self.on_end is not None:
            self.on_end(self)

    def kill(self, reason: str, killed_by: dict | None = None) -> None:
        """Interrupt: a running query is cancelled at its next checkpoint; one
        that waits for CONTINUE ends now and answers ``reason`` then."""
        if self.ended:
            return
        if self.interrupt is None:
            self.interrupt = reason
            self.killed_by = killed_by
        if self.scope is not None:
            self.scope.cancel()
        elif self.state is State.STREAMING:
            self.end(State.KILLED, forget=False)

    # -- the jobs row -----------------------------------------------------------------
    @property
    def job(self) -> Job:
        """This query as a ``query`` job (made the first time someone looks)."""
        if self._job is None:
            self._job = Job(
                type="query",
                id=random_uuid(),
                start_time=self.started_at,
                user=self.session.user,
                server_ids=[self.session.server_id],
                info=self.info,
                on_kill=self._killed_by,
                ended=self.wait_ended,
            )
        return self._job

    @property
    def has_job(self) -> bool:
        return self._job is not None

    def info(self) -> dict:
        if self._printed is None:
            self._printed = print_js(self.parsed.term)
        session = self.session
        info = {
            "client_address": session.peer_host,
            "client_port": session.peer_port,
            "connection": session.id,
            "query": self._printed,
            "user": session.user,
        }
        ctx = self.ctx
        if ctx is not None and ctx.tables is not None:  # live costs (off only in benchmarks)
            info["documents_read"] = ctx.docs_read
            info["documents_written"] = ctx.docs_written
            info["tables"] = [{"db": db, "table": table} for db, table in sorted(ctx.tables)]
        return info

    def _killed_by(self, by_user: str, by_connection: str | None) -> None:
        self.kill(KILLED_BY_JOBS, {"user": by_user, "connection": by_connection})

    async def wait_ended(self) -> None:
        """Until this query has stopped.  A query running without a scope of its
        own runs inline and has not yielded: only it can be asking (it read
        its own row), and it answers the kill when it concludes."""
        if self.state is State.RUNNING and self.scope is None:
            return
        await self.finished.wait()
