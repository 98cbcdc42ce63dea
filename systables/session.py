"""A client's ReQL session, independent of transport (TCP connection or HTTP
connection record): its queries by token, their cursors, batching, and
interruption (STOP, kill through ``rethinkdb.jobs``, close, shutdown).

Every request runs in its own trio cancel scope; interrupting a query cancels
that scope, and the request turns the cancellation into RethinkDB's response.
"""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from .jobs.registry import Job
from .protocol import response
from .protocol.query import ParsedQuery, QueryParseError, parse_query
from .datum import errors as E
from .reql.context import QueryContext
from .datum import MinMaxVal
from .datum.ql2 import QueryType
from .reql.backtrace import locate
from .reql.compiler import compile_checked, compile_query
from .reql.stream import Stream
from .reql.term import Env, Term
from .reql.values import GroupedData, GroupedStream, SingleSelection, Val

if TYPE_CHECKING:
    from .server import Server

MAX_CONCURRENT_QUERIES = 1024

# Every optarg name RethinkDB accepts, globally or on a term (optargs.cc).
ACCEPTABLE_OPTARGS = frozenset(
    """array_limit attempts auth base binary_format changefeed_queue_size conflict data db default
    default_timezone dry_run durability emergency_repair fill first_batch_scaledown_factor float geo
    geo_system group_format header identifier_format ignore_write_hook include_initial include_offsets
    include_states include_types index interleave left_bound max_batch_bytes max_batch_rows
    max_batch_seconds max_dist max_results method min_batch_rows multi non_atomic noreply
    nonvoting_replica_tags num_vertices overwrite page page_limit params primary_key
    primary_replica_tag profile read_mode redirects replicas result_format return_changes return_vals
    right_bound shards squash timeout time_format unit upsert use_outdated verify wait_for""".split()
)


# ---------------------------------------------------------------------------

@dataclass
class Prepared:
    """A START to run the usual way, with whatever the quick path already did."""

    term: Term | None = None
    optargs: dict[str, Term] = field(default_factory=dict)
    ctx: QueryContext | None = None
    value: Any = None  # a stream the quick path produced (nothing read from it yet)


QUICK_OPTARGS = frozenset({"db", "noreply", "profile", "read_mode", "binary_format", "time_format", "group_format"})


def evaluation_profile(ctx: QueryContext, wanted: bool, seconds: float) -> Any:
    """The ``p`` of a response when the query asked for a profile."""
    if not wanted:
        return None
    return [{"description": "Evaluating query.", "duration(ms)": seconds * 1000, "sub_tasks": document_samples(ctx)}]


@dataclass
class BatchLimits:
    min_rows: int = 1
    max_rows: int | None = None
    max_bytes: int = 1 << 20
    max_seconds: float = 0.5
    scaledown: int = 4


@dataclass(eq=False)
class Query:
    token: int
    raw_term: Any
    term: Term
    ctx: QueryContext
    noreply: bool
    profile: bool
    limits: BatchLimits
    job: Job
    stream: Stream | None = None
    pending: list = field(default_factory=list)  # rows read but not yet sent
    scope: trio.CancelScope | None = None
    interrupt: str | None = None  # message of the interruption, or "stop"
    lock: trio.Lock = field(default_factory=trio.Lock)
    finished: trio.Event = field(default_factory=trio.Event)


STOP = "stop"


class Session:
    def __init__(self, server: "Server", user: str, peer_host: str, peer_port: int, *, http: bool = False) -> None:
        self.server = server
        self.user = user
        self.peer_host = peer_host
        self.peer_port = peer_port
        self.http = http
        self.queries: dict[int, Query] = {}
        self.noreply_running: set[Query] = set()
        self.closed = False
        server.sessions.add(self)

    # -- entry point ---------------------------------------------------------
    async def handle(self, token: int, payload: bytes) -> bytes | None:
        """Run one request; returns the response body, or None when nothing is sent."""
        parsed = self.parse(payload)
        if type(parsed) is bytes:
            return parsed
        return await self.dispatch(token, parsed)  # type: ignore[arg-type]

    def parse(self, payload: bytes) -> ParsedQuery | bytes:
        """The parsed query, or the CLIENT_ERROR body answering a malformed one."""
        try:
            return parse_query(payload)
        except QueryParseError as e:
            return response.client_error(e.message)

    async def dispatch(self, token: int, parsed: ParsedQuery, prepared: "Prepared | None" = None) -> bytes | None:
        qt = parsed.type
        if qt == QueryType.START:
            return await self._start(token, parsed.term, parsed.global_optargs or {}, prepared)
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
            return response.server_info(self.server.server_info())
        return response.client_error(f"Server could not parse query: Unrecognized QueryType: {qt}.")

    # -- quick queries ---------------------------------------------------------
    async def answer_quickly(self, token: int, parsed: ParsedQuery) -> "bytes | None | Prepared":
        """Answer a START made only of terms that never wait (point reads, datum
        operations) at once, without a task, a cancel scope or a jobs entry:
        nothing can observe it while it runs, and nothing can interrupt it.

        Returns the response (None when nothing is sent), or a ``Prepared``
        query to run the usual way."""
        raw_optargs = parsed.global_optargs or {}
        if parsed.type != QueryType.START or token in self.queries or not QUICK_OPTARGS.issuperset(raw_optargs):
            return Prepared()
        noreply = static_bool(raw_optargs.get("noreply"))
        try:
            term, optargs, never_waits = compile_start(parsed.term, raw_optargs)
            if not never_waits:
                return Prepared(term, optargs)
            ctx = QueryContext(self.server, self.user, optargs)
            self.server.jobs.queries_started.add()
            value = await term.eval(Env(ctx))
            if isinstance(value, Stream):
                return Prepared(term, optargs, ctx, value)
            value = await resolve_result(value, None)
            answer = response.atom(value, evaluation_profile(ctx, parsed.profile, time.time() - ctx.start_time))
        except Exception as exc:
            answer = self._failed(exc)
        return None if noreply else answer

    # -- START ---------------------------------------------------------------
    async def _start(self, token: int, raw_term: Any, raw_optargs: dict, prepared: "Prepared | None" = None) -> bytes | None:
        if token in self.queries:
            return response.client_error(f"ERROR: duplicate token {token}")
        noreply = static_bool(raw_optargs.get("noreply"))
        profile = static_bool(raw_optargs.get("profile"))
        first_value = None
        try:
            if prepared is not None and prepared.term is not None:
                term, optargs = prepared.term, prepared.optargs
            else:
                term, optargs, _ = compile_start(raw_term, raw_optargs)
            if prepared is not None and prepared.ctx is not None:
                ctx, first_value = prepared.ctx, prepared.value
            else:
                ctx = QueryContext(self.server, self.user, optargs)
            limits = await read_limits(ctx, optargs)
        except Exception as exc:
            return None if noreply else self._failed(exc)
        if len(self.queries) >= MAX_CONCURRENT_QUERIES:
            return None if noreply else response.client_error("Too many concurrent queries on this connection.")
        job = self._make_job(raw_term)
        q = Query(token, raw_term, term, ctx, noreply, profile, limits, job)
        q.stream = first_value
        job.on_kill = lambda by_user, q=q: self.interrupt(q, E.KILLED_BY_JOBS)
        self.queries[token] = q
        self.server.jobs.add(job, counted=first_value is None)
        if noreply:
            self.noreply_running.add(q)
        try:
            answer = await self._run(q, first=True)
        finally:
            if noreply:
                self._finish(q)
                self.noreply_running.discard(q)
        return None if noreply else answer

    def _make_job(self, raw_term: Any) -> Job:
        printed: list[str] = []

        def info() -> dict:
            if not printed:
                from .reql.pretty import print_js

                printed.append(print_js(raw_term))
            return {
                "client_address": self.peer_host,
                "client_port": self.peer_port,
                "query": printed[0],
                "user": self.user,
            }

        return Job(
            type="query",
            id=str(uuid.uuid4()),
            user=self.user,
            server_ids=[self.server.server_id],
            info=info,
        )

    # -- CONTINUE / STOP -----------------------------------------------------
    async def _continue(self, token: int) -> bytes | None:
        q = self.queries.get(token)
        if q is None:
            return response.client_error(f"Token {token} not in stream cache.")
        return await self._run(q, first=False)

    async def _stop(self, token: int) -> bytes | None:
        q = self.queries.get(token)
        if q is None:
            return response.client_error(f"Token {token} not in stream cache.")
        self.interrupt(q, STOP)
        await acquire(q.lock)
        try:
            self._finish(q)
        finally:
            q.lock.release()
        return response.EMPTY_SEQUENCE

    async def _noreply_wait(self) -> None:
        for q in list(self.noreply_running):
            await q.finished.wait()

    # -- running -------------------------------------------------------------
    async def _run(self, q: Query, first: bool) -> bytes | None:
        await acquire(q.lock)
        try:
            return await self._run_locked(q, first)
        finally:
            q.lock.release()

    async def _run_locked(self, q: Query, first: bool) -> bytes | None:
        if q.interrupt is not None:
            return self._interrupted_response(q)
        if q.finished.is_set():
            return response.client_error(f"Token {q.token} not in stream cache.")
        started = time.perf_counter()
        answer: bytes | None = None
        with trio.CancelScope() as scope:
            q.scope = scope
            try:
                answer = await self._evaluate(q, first, started)
            except Exception as exc:  # trio.Cancelled is not an Exception: it passes
                self._finish(q)
                answer = self._failed(exc)
        q.scope = None
        if scope.cancelled_caught:
            return self._interrupted_response(q)
        return answer

    def _failed(self, exc: Exception) -> bytes:
        """The answer to a query that raised: its ReQL error, or (a bug) an
        internal error, logged; the server keeps serving either way."""
        if isinstance(exc, E.ReqlError):
            return response.error(locate(exc))
        if isinstance(exc, RecursionError):
            return response.error(E.ReqlQueryLogicError("Maximum recursion depth exceeded."))
        self.server.log_exception(exc)
        return response.error(E.ReqlInternalError(f"Unexpected exception: {exc!r}"))

    def _interrupted_response(self, q: Query) -> bytes:
        reason = q.interrupt or E.UNKNOWN_CAUSE
        self._finish(q)
        if reason == STOP:
            return response.EMPTY_SEQUENCE
        return response.interrupted(reason)

    async def _evaluate(self, q: Query, first: bool, started: float) -> bytes:
        if first and q.stream is None:
            value = await q.term.eval(Env(q.ctx))
            value = await resolve_result(value, q)
            if not isinstance(value, Stream):
                self._finish(q)
                return response.atom(value, self._profile(q, started))
            q.stream = value
        rows, exhausted = await self._next_batch(q, first)
        if exhausted or q.noreply:
            self._finish(q)
            return response.encoded_batch(rows, final=True, profile=self._profile(q, started))
        return response.encoded_batch(rows, final=False, profile=self._profile(q, started))

    def _profile(self, q: Query, started: float) -> Any:
        return evaluation_profile(q.ctx, q.profile, time.perf_counter() - started)

    async def _next_batch(self, q: Query, first: bool) -> tuple[list[bytes], bool]:
        lim = q.limits
        scale = lim.scaledown if first else 1
        max_rows = max(1, lim.max_rows // scale) if lim.max_rows is not None else None
        max_bytes = max(1, lim.max_bytes // scale)
        deadline = time.monotonic() + lim.max_seconds / scale
        out: list[bytes] = []
        size = 0
        stream = q.stream
        assert stream is not None
        while True:
            if not q.pending:
                batch = await stream.next_batch()
                if batch is None:
                    return out, True
                q.pending = batch
            pending = q.pending
            i = 0
            for i, row in enumerate(pending, 1):
                encoded = response.encode_datum(row)
                out.append(encoded)
                size += len(encoded) + 1
                if (max_rows is not None and len(out) >= max_rows) or size >= max_bytes:
                    break
            else:
                i = len(pending)
            q.pending = pending[i:]
            if len(out) >= lim.min_rows and (
                (max_rows is not None and len(out) >= max_rows) or size >= max_bytes or time.monotonic() >= deadline
            ):
                if not q.pending:
                    # Peek so that an exhausted stream ends with SUCCESS_SEQUENCE.
                    nxt = await stream.next_batch()
                    if nxt is None:
                        return out, True
                    q.pending = nxt
                return out, False

    # -- interruption and cleanup --------------------------------------------
    def interrupt(self, q: Query, reason: str) -> None:
        """Interrupt ``q`` (kill, stop, close, shutdown); it leaves ``jobs`` at once."""
        if q.interrupt is None:
            q.interrupt = reason
        q.job.cancelled = True
        self.server.jobs.remove(q.job)
        if q.scope is not None:
            q.scope.cancel()

    def _finish(self, q: Query) -> None:
        if self.queries.get(q.token) is q:
            del self.queries[q.token]
        self.server.jobs.remove(q.job)
        q.job.cancelled = True
        if q.stream is not None:
            q.stream.close()
        q.finished.set()

    def close(self, reason: str = E.CLIENT_CLOSED) -> None:
        """Interrupt every query of this session (connection closed, expired, shutdown)."""
        self.closed = True
        for q in list(self.queries.values()):
            self.interrupt(q, reason)
            if q.lock.locked() is False:
                self._finish(q)
        self.server.sessions.discard(self)


def document_samples(ctx: QueryContext) -> list[dict]:
    """Documents the query has read and written so far, as profile sample events
    (the mean is the query's time so far per document)."""
    elapsed_ms = (time.time() - ctx.start_time) * 1000
    events = []
    for description, n in (("Read documents.", ctx.docs_read), ("Write documents.", ctx.docs_written)):
        if n:
            events.append({"description": description, "mean_duration(ms)": elapsed_ms / n, "n_samples": n})
    return events


async def acquire(lock: trio.Lock) -> None:
    """Take ``lock``; without a scheduling point when it is free (the common case)."""
    try:
        lock.acquire_nowait()
    except trio.WouldBlock:
        await lock.acquire()


def static_bool(v: Any) -> bool:
    """noreply/profile are read before evaluation: a JSON bool or a DATUM term."""
    if v is True:
        return True
    if type(v) is list and len(v) == 2 and v[0] == 1:
        inner = v[1]
        return inner is True or (type(inner) is list and len(inner) == 1 and inner[0] is True)
    return False


def compile_start(raw_term: Any, raw_optargs: dict) -> tuple[Term, dict[str, Term], bool]:
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
    return compile_query([14, ["test"]])


LIMIT_OPTARGS = frozenset(
    {"array_limit", "min_batch_rows", "max_batch_rows", "max_batch_bytes", "first_batch_scaledown_factor", "max_batch_seconds"}
)


async def read_limits(ctx: QueryContext, optargs: dict[str, Term]) -> BatchLimits:
    lim = BatchLimits()
    if LIMIT_OPTARGS.isdisjoint(optargs):
        return lim
    env = Env(ctx)

    async def get(name: str) -> Any:
        t = optargs.get(name)
        if t is None:
            return None
        from .reql.term import as_datum

        return as_datum(await t.eval(env))

    al = await get("array_limit")
    if al is not None:
        if not isinstance(al, (int, float)) or isinstance(al, bool) or al < 1:
            raise E.ReqlQueryLogicError(f"Illegal array size limit `{al}`.  (Must be >= 1.)")
        ctx.array_limit = int(al)
    for name in ("min_batch_rows", "max_batch_rows", "max_batch_bytes", "first_batch_scaledown_factor"):
        v = await get(name)
        if v is None:
            continue
        from .reql.term import as_int

        n = as_int(v)
        if name == "min_batch_rows":
            lim.min_rows = max(1, n)
        elif name == "max_batch_rows":
            lim.max_rows = max(1, n)
        elif name == "max_batch_bytes":
            lim.max_bytes = max(1, n)
        else:
            lim.scaledown = max(1, n)
    secs = await get("max_batch_seconds")
    if secs is not None:
        from .datum import fmt_num
        from .reql.term import as_num

        s = as_num(secs)
        if s < 0:
            raise E.ReqlQueryLogicError(f"max_batch_seconds must be positive (got `{fmt_num(s)}`).")
        if s >= 86400:
            raise E.ReqlQueryLogicError(f"max_batch_seconds is too large (got `{fmt_num(s)}`, must be less than 86400).")
        lim.max_seconds = s
    return lim


async def resolve_result(value: Any, q: Query | None) -> Any:
    """Turn the root value into a datum or a stream to send."""
    if isinstance(value, Stream):
        if value.is_array_like() and q is not None:
            from .reql.stream import collect

            return await collect(value, q.ctx.array_limit)
        return value
    if isinstance(value, SingleSelection):
        return value.doc
    if isinstance(value, GroupedData):
        return value.to_datum()
    if isinstance(value, GroupedStream):
        return (await value.materialize(q.ctx)).to_datum()
    if isinstance(value, Val):
        raise E.ReqlQueryLogicError(
            f"Query result must be of type DATUM, GROUPED_DATA, or STREAM (got {value.type_name})."
        )
    if isinstance(value, MinMaxVal):
        raise E.ReqlQueryLogicError(f"Cannot convert `{value!r}` to JSON.")
    return value
