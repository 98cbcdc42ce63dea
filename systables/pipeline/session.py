"""A client's ReQL session, whatever the transport (a driver connection, or
an ``/ajax/reql/`` connection id): its queries by token, and what each
request does to them.

Every START goes one of two ways, decided here:

* **inline**: a query made only of terms that never wait for anything
  (``compiler.NEVER_WAITING_TERMS``: datum operations, point reads) is
  evaluated by the task that read it, with no task, cancel scope or jobs
  entry of its own.  Nothing can observe or interrupt it while it does not
  yield.  If it computes past its time slice, the first ``tick`` that yields
  *promotes* it (``timeslice.yielding_hook``): it becomes a registered query,
  visible in ``rethinkdb.jobs``, and the transport hands it the running task
  (and its cancel scope) while another task goes on reading.
* **task**: every other query runs in a task of its own, in its own cancel
  scope.

Either way, a kill is a cancelled scope, and a query whose kill arrived
answers the interruption (``Query.kill``), whatever it was computing.
"""

from __future__ import annotations

import functools
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable

import trio

from ..datum import errors as E
from ..admin import DEFAULT_DB
from ..datum.jsonparse import TooDeep
from ..datum.ql2 import QueryType, TermType
from ..protocol import response
from ..protocol.handshake import MAX_CONCURRENT_QUERIES
from ..protocol.query import ParsedQuery, QueryParseError, parse_query
from ..reql.backtrace import locate
from ..reql.compiler import compile_checked, compile_query
from ..reql.context import QueryContext
from ..reql.feeds import feed_notes
from ..reql.stream import Stream
from ..reql.term import Env, Term
from ..timeslice import yielding_hook
from .limits import read_limits, read_time_limit
from .query import STOP, Query, State
from .results import atom_response, next_batch, next_feed_batch, profile_of, resolve

if TYPE_CHECKING:
    from ..reql.context import Services
    from .sessions import Sessions


# Every optarg name RethinkDB accepts, globally or on a term (optargs.cc).
ACCEPTABLE_OPTARGS = frozenset(
    """array_limit attempts auth base binary_format changefeed_queue_size conflict data db default
    default_timezone dry_run durability emergency_repair fill first_batch_scaledown_factor float geo
    geo_system group_format header identifier_format ignore_write_hook include_initial include_offsets
    include_resume_token include_states include_types index interleave left_bound max_batch_bytes max_batch_rows
    max_batch_seconds max_dist max_results method min_batch_rows multi non_atomic noreply
    nonvoting_replica_tags num_vertices overwrite page page_limit params primary_key
    primary_replica_tag profile read_mode redirects replicas result_format resume_from return_changes return_vals
    right_bound shards squash time_limit timeout time_format unit upsert use_outdated verify wait_for""".split()
)
# Global optargs an inline query may carry (the others change how it runs).
INLINE_OPTARGS = frozenset({"db", "noreply", "profile", "read_mode", "binary_format", "time_format", "group_format"})

Promote = Callable[[Query], None]


class Session:
    def __init__(
        self,
        services: "Services",
        sessions: "Sessions",
        user: str,
        peer_host: str,
        peer_port: int,
        *,
        http: bool = False,
        protocol: str = "V1_0",
    ) -> None:
        self.services = services
        self.sessions = sessions
        self.user = user
        self.peer_host = peer_host
        self.peer_port = peer_port
        self.http = http
        self.server_id = services.node.server_id
        self.queries: dict[int, Query] = {}
        self.noreply_running: set[Query] = set()
        self.closed = False
        # Its row in `rethinkdb.connections` (never an HTTP connection's secret id).
        self.id = str(uuid.uuid4())
        self.protocol = "http" if http else protocol
        self.connected_at = time.time()
        self.last_query_at: float | None = None
        self.bytes_in = 0
        self.bytes_out = 0
        # Set by the transport: closes the connection itself (a row of
        # `rethinkdb.connections` deleted), given the reason and who closed it.
        self.disconnect: Callable[[str, dict], None] | None = None
        # The console login this HTTP connection was opened under (set by the
        # web transport; None elsewhere): closing a user's connections keeps
        # the whole login that made the change.
        self.login: object | None = None
        sessions.add(self)

    # -- requests ----------------------------------------------------------------
    @staticmethod
    def parse(payload: bytes, deep: bool = True) -> ParsedQuery | bytes | None:
        """The parsed query, or the CLIENT_ERROR body answering a malformed one;
        None, with ``deep=False``, for a frame too deeply nested to parse fast
        (``request_large`` parses it in a worker thread)."""
        try:
            return parse_query(payload, deep)
        except QueryParseError as e:
            return response.client_error(e.message)
        except TooDeep:
            return None

    async def request(self, token: int, payload: bytes) -> bytes | None:
        """Run one request to its response (None when nothing is sent)."""
        parsed = self.parse(payload)
        if type(parsed) is bytes:
            return parsed
        return await self.run(token, parsed)  # type: ignore[arg-type]

    async def run(self, token: int, parsed: ParsedQuery) -> bytes | None:
        qt = parsed.type
        if qt == QueryType.START:
            return await self._start(token, parsed)
        if qt == QueryType.CONTINUE:
            return await self._continue(token)
        if qt == QueryType.STOP:
            return await self._stop(token)
        if qt == QueryType.NOREPLY_WAIT:
            if token in self.queries:
                return response.client_error(f"ERROR: duplicate token {token}")
            await self._noreply_wait()
            return response.wait_complete()
        if qt == QueryType.SERVER_INFO:
            return response.server_info(self.services.node.info())
        return response.client_error(f"Server could not parse query: Unrecognized QueryType: {qt}.")

    # -- START -------------------------------------------------------------------
    def _new_query(self, token: int, parsed: ParsedQuery) -> Query | bytes:
        """A query for a START, compiled; or the answer refusing it."""
        if token in self.queries:
            return response.client_error(f"ERROR: duplicate token {token}")
        q = Query(self, token, parsed)
        self.services.jobs.queries_started.add()
        return q

    def _compile(self, q: Query, compiled: "Compiled | None" = None) -> bool:
        """Compile ``q`` (unless given it compiled); returns whether it may run inline."""
        raw_optargs = q.parsed.global_optargs or {}
        term, optargs, never_waits = compiled or compile_start(q.parsed.term, raw_optargs)
        ctx = QueryContext(self.services, self.user, optargs)
        ctx.connection_id = self.id
        if self.sessions.live_costs:
            ctx.tables = set()
        q.compiled(term, optargs, ctx)
        q.time_limit = self.services.auth.time_limit(self.user)
        return never_waits and INLINE_OPTARGS.issuperset(raw_optargs)

    async def request_large(self, token: int, payload: bytes) -> bytes | None:
        """A request too large to parse and compile on the event loop: both run
        in a worker thread (abandoned, result unused, if the connection goes)."""
        prepared = await trio.to_thread.run_sync(prepare, payload, abandon_on_cancel=True)
        if type(prepared) is bytes:
            return prepared
        parsed, compiled = prepared  # type: ignore[misc]
        if parsed.type != QueryType.START:
            return await self.run(token, parsed)
        return await self._start(token, parsed, compiled)

    async def _start(self, token: int, parsed: ParsedQuery, compiled: "Compiled | Exception | None" = None) -> bytes | None:
        q = self._new_query(token, parsed)
        if type(q) is bytes:
            return None if parsed.noreply else q
        try:
            if isinstance(compiled, Exception):
                raise compiled
            self._compile(q, compiled)  # type: ignore[arg-type]
            await self._read_limits(q)  # type: ignore[arg-type]
        except Exception as exc:
            return self._silent(q, self._failed(q, exc))  # type: ignore[arg-type]
        if len(self.queries) >= MAX_CONCURRENT_QUERIES:
            return self._silent(q, response.client_error("Too many concurrent queries on this connection."))  # type: ignore[arg-type]
        self._register(q)  # type: ignore[arg-type]
        return self._silent(q, await self._run(q, first=True))  # type: ignore[arg-type]

    async def start_inline(self, token: int, parsed: ParsedQuery, promote: Promote) -> bytes | None | Query:
        """Run a START in the calling task if it never waits.

        Returns the answer; or the query itself, not started, when it must run
        the usual way (``run_started``).  If the query yields, ``promote`` is
        called first: from then on the calling task belongs to this query,
        and the caller concludes it (``conclude``: a kill may have arrived).
        Until then nothing else runs, so nothing but the query itself can see
        it (reading ``rethinkdb.jobs``)."""
        q = self._new_query(token, parsed)
        if type(q) is bytes:
            return None if parsed.noreply else q
        try:
            if not self._compile(q):  # type: ignore[arg-type]
                return q
        except Exception as exc:
            return self._silent(q, self._failed(q, exc))  # type: ignore[arg-type]

        promoted: list[bool] = []

        def on_yield() -> None:
            promoted.append(True)
            promote(q)  # type: ignore[arg-type]

        self._register(q)  # type: ignore[arg-type]  (it reads itself in `rethinkdb.jobs`)
        self._running(q)  # type: ignore[arg-type]
        with yielding_hook(on_yield):
            try:
                answer = await self._evaluate(q, first=True)  # type: ignore[arg-type]
            except BaseException:  # killed once promoted: the caller concludes it
                if not promoted:
                    q.end(State.FAILED)  # type: ignore[union-attr]
                raise
        if not promoted:
            answer = self.conclude(q, answer)  # type: ignore[arg-type]
        return self._silent(q, answer)  # type: ignore[arg-type]

    async def run_started(self, q: Query) -> bytes | None:
        """Run, the usual way, a query ``start_inline`` gave back."""
        try:
            await self._read_limits(q)
        except Exception as exc:
            return self._silent(q, self._failed(q, exc))
        self._register(q)
        return self._silent(q, await self._run(q, first=True))

    async def _read_limits(self, q: Query) -> None:
        """Batch limits, the array limit and the time limit from the global optargs."""
        q.limits = await read_limits(q.ctx, q.optargs)  # type: ignore[arg-type]
        q.time_limit = await read_time_limit(q.ctx, q.optargs, q.time_limit)  # type: ignore[arg-type]

    def _register(self, q: Query) -> None:
        """The query is now visible (jobs, STOP, close): it may outlive this step."""
        self.queries[q.token] = q
        q.on_end = self._forget
        if q.noreply:
            self.noreply_running.add(q)
        q.finished  # made now, so that NOREPLY_WAIT can wait for it
        self.sessions.time_limits.watch(q)

    def _running(self, q: Query) -> None:
        if q.running():
            self.sessions.job_changed()  # it is a job from now on

    def _forget(self, q: Query) -> None:
        if self.queries.get(q.token) is q:
            del self.queries[q.token]
        self.noreply_running.discard(q)
        self.sessions.forget_job(q)
        self.sessions.job_changed()

    @staticmethod
    def _silent(q: Query, answer: bytes | None) -> bytes | None:
        return None if q.noreply else answer

    # -- CONTINUE / STOP -----------------------------------------------------------
    async def _continue(self, token: int) -> bytes | None:
        q = self.queries.get(token)
        if q is None:
            return response.client_error(f"Token {token} not in stream cache.")
        return await self._run(q, first=False)

    async def _stop(self, token: int) -> bytes | None:
        q = self.queries.get(token)
        if q is None:
            return response.client_error(f"Token {token} not in stream cache.")
        q.kill(STOP)
        async with q.lock:
            q.end(State.DONE)
            self._forget(q)
        return response.EMPTY_SEQUENCE

    async def _noreply_wait(self) -> None:
        for q in list(self.noreply_running):
            await q.finished.wait()

    # -- running ------------------------------------------------------------------
    async def _run(self, q: Query, first: bool) -> bytes | None:
        """One step (the first batch or a CONTINUE) in the query's own cancel scope."""
        async with q.lock:
            if q.interrupt is not None:
                return self.conclude(q)
            if q.ended:
                return response.client_error(f"Token {q.token} not in stream cache.")
            self._running(q)
            answer = None
            try:
                with trio.CancelScope() as scope:
                    q.scope = scope
                    answer = await self._evaluate(q, first)
            except BaseException:  # the connection is closing: nobody may wait for this query forever
                q.end(State.FAILED)
                raise
            finally:
                q.scope = None
            return self.conclude(q, answer)

    async def _evaluate(self, q: Query, first: bool) -> bytes:
        """Evaluate, or read the next batch; a ReQL error is the answer."""
        started = time.perf_counter()
        try:
            if first and q.stream is None:
                value = await resolve(await q.term.eval(Env(q.ctx)), q.ctx)  # type: ignore[union-attr]
                await self.services.storage.sync_metadata()  # catalog, user and grant changes: hard
                if not isinstance(value, Stream):
                    answer = await atom_response(value, self._profile(q, started))
                    q.end(State.DONE)
                    return answer
                q.stream = value
            stream = q.stream
            if stream.is_changefeed:
                empty_after = q.limits.max_seconds if self.http else None
                rows, q.pending, exhausted = await next_feed_batch(stream, q.pending, q.limits, first, empty_after)
                notes = feed_notes(stream)
            else:
                rows, q.pending, exhausted = await next_batch(stream, q.pending, q.limits, first)
                notes = ()
            final = exhausted or q.noreply
            answer = response.encoded_batch(rows, final=final, notes=notes, profile=self._profile(q, started))
            if final:
                q.end(State.DONE)
            else:
                q.streaming()
            return answer
        except Exception as exc:  # trio.Cancelled is not an Exception: it passes
            return self._failed(q, exc)

    def conclude(self, q: Query, answer: bytes | None = None) -> bytes | None:
        """The answer to send for ``q``'s step: the interruption if one arrived
        (even after the step's last checkpoint), else ``answer``."""
        reason = q.interrupt
        if reason is None:
            return answer
        q.end(State.KILLED)
        self._forget(q)
        if reason == STOP:
            return response.EMPTY_SEQUENCE
        if reason.startswith(E.TIME_LIMIT_PREFIX):
            return response.time_limit_exceeded(reason)
        return response.interrupted(reason)

    def _profile(self, q: Query, started: float) -> Any:
        return profile_of(q.ctx, q.profile, time.perf_counter() - started)  # type: ignore[arg-type]

    def _failed(self, q: Query, exc: Exception) -> bytes:
        """The answer to a query that raised: its ReQL error, or (a bug) an
        internal error, logged; the server keeps serving either way."""
        if isinstance(exc, E.ReqlError):
            error = locate(exc)
        elif isinstance(exc, RecursionError):
            error = E.ReqlQueryLogicError("Maximum recursion depth exceeded.")
        else:
            self.services.log.log_exception(exc)
            error = E.ReqlInternalError(f"Unexpected exception: {exc!r}")
        q.end(State.FAILED, error=error.message)
        return response.error(error)

    # -- interruption -------------------------------------------------------------
    def interrupt_token(self, token: int, reason: str) -> None:
        q = self.queries.get(token)
        if q is not None:
            q.kill(reason)

    def interrupt_all(self, reason: str) -> None:
        for q in list(self.queries.values()):
            q.kill(reason)

    def close(self, reason: str = E.CLIENT_CLOSED, killed_by: dict | None = None) -> None:
        """Interrupt every query of this session (connection closed, expired,
        shutdown, its `rethinkdb.connections` row deleted by ``killed_by``)."""
        self.closed = True
        for q in list(self.queries.values()):
            q.kill(reason, killed_by)
            if q.scope is None:
                q.end(State.KILLED)
        self.sessions.remove(self)


Compiled = tuple[Term, dict[str, Term], bool]
LARGE_PAYLOAD = 1 << 20  # parsed and compiled in a worker thread from this size on


def prepare(payload: bytes) -> "tuple[ParsedQuery, Compiled | Exception | None] | bytes":
    """Parse a request and compile it if it is a START (in a worker thread):
    the parsed query and the compiled term or the error compiling it, or the
    CLIENT_ERROR body answering a malformed request."""
    parsed = Session.parse(payload)
    if type(parsed) is bytes:
        return parsed
    assert isinstance(parsed, ParsedQuery)
    if parsed.type != QueryType.START:
        return parsed, None
    try:
        return parsed, compile_start(parsed.term, parsed.global_optargs or {})
    except Exception as exc:  # answered as the query's error, on the event loop
        return parsed, exc


def compile_start(raw_term: Any, raw_optargs: dict) -> Compiled:
    """The compiled term and global optargs, and whether the query never waits."""
    optargs: dict[str, Term] = {}
    for name, raw in raw_optargs.items():
        if name not in ACCEPTABLE_OPTARGS:
            raise E.ReqlCompileError(f"Unrecognized global optional argument `{name}`.")
        optargs[name] = compile_query(raw)
    if "db" not in optargs:
        optargs["db"] = default_db_term()
    term, never_waits = compile_checked(raw_term)
    return term, optargs, never_waits


@functools.cache
def default_db_term() -> Term:
    """``r.db("test")``, the default database; compiled once, never modified."""
    return compile_query([int(TermType.DB), [DEFAULT_DB]])
