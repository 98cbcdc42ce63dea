"""A driver connection's queries after the handshake: frames in, responses
out, each request on the path its session chooses.

The transport gives two coroutines, ``receive`` (bytes; b"" once the client
closed) and ``send`` (one whole response frame).  One task at a time reads
frames (the *reader*).  It answers point reads and inline queries itself and
starts a task for every other request (up to the handshake's concurrency,
1024 at once as in RethinkDB; one at a time, in order, for V0_3).

When an inline query is promoted (it computes past its time slice), the
reader task becomes that query's task: a new reader is started to go on
reading, the old one finishes the query, sends its answer and ends.  Each
reader task has one cancel scope, which becomes the promoted query's scope,
so killing the query cancels exactly that task.

Closing the connection cancels the nursery, hence every query of it.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Awaitable, Callable, Coroutine

import trio

from ..datum import errors as E
from ..protocol import framing
from ..protocol.query import ParsedQuery
from ..protocol.response import client_error
from ..datum.ql2 import QueryType
from .fastpath import point_get
from .outbox import Outbox
from .query import Query
from .session import LARGE_PAYLOAD, Session

Receive = Callable[[], Awaitable[bytes]]
Send = Callable[[bytes], Awaitable[None]]
GONE = (OSError, trio.BrokenResourceError, trio.ClosedResourceError)


class ReaderTask:
    """One task that reads frames, until a query it runs inline is promoted."""

    def __init__(self) -> None:
        self.scope = trio.CancelScope()
        self.query: Query | None = None  # the promoted query this task now runs
        self.answer: bytes | None = None


class Connection:
    def __init__(self, session: Session, receive: Receive, send: Send, leftover: bytes, concurrency: int) -> None:
        self.session = session
        self._receive = receive
        self._outbox = Outbox(send)
        self._decoder = framing.FrameDecoder()
        self._events: deque[framing.FrameEvent] = deque(self._decoder.feed(leftover) if leftover else ())
        self._concurrency = concurrency
        self._limiter = trio.Semaphore(concurrency)
        self._nursery: trio.Nursery | None = None

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._reader)

    # -- reading --------------------------------------------------------------------
    async def _reader(self) -> None:
        task = ReaderTask()
        with task.scope:
            await self._read_frames(task)
        q = task.query
        if q is not None:  # this task ran a promoted query: answer it, outside its scope
            answer = self.session.conclude(q, task.answer)
            if answer is not None and not q.noreply:
                await self._respond(q.token, answer)

    async def _read_frames(self, task: ReaderTask) -> None:
        while True:
            event = await self._next_event()
            if event is None:
                self.session.close(E.CLIENT_CLOSED)
                self._cancel_all()
                return
            if isinstance(event, framing.FrameError):
                await self._respond(event.token, client_error(event.message))
                await self._drain()
                self._cancel_all()
                return
            await self._handle(task, event.token, event.payload)
            if task.query is not None:
                return  # promoted: another reader took over

    async def _next_event(self) -> framing.FrameEvent | None:
        while not self._events:
            data = await self._receive()
            if not data:
                return None
            self.session.bytes_in += len(data)
            self._events.extend(self._decoder.feed(data))
        return self._events.popleft()

    async def _drain(self, limit_seconds: float = 300.0) -> None:
        """Read and discard a refused body, so closing does not reset the error away."""
        with trio.move_on_after(limit_seconds):
            while self._decoder.drain_remaining > 0:
                data = await self._receive()
                if not data:
                    return
                self._decoder.feed(data)

    # -- dispatching ------------------------------------------------------------------
    async def _handle(self, task: ReaderTask, token: int, payload: bytes) -> None:
        session = self.session
        session.last_query_at = time.time()
        parsed = None if len(payload) >= LARGE_PAYLOAD else session.parse(payload, deep=False)
        if parsed is None:  # large or deeply nested: parsed and compiled in a worker thread
            await self._spawn(self._run_large, token, payload)
            return
        if type(parsed) is bytes:
            await self._respond(token, parsed)
            return
        assert isinstance(parsed, ParsedQuery)
        if self._concurrency > 1 and parsed.type == QueryType.START and token not in session.queries:
            answer = point_get(session, parsed)
            if answer is not None:
                await self._respond(token, answer)
                return
            outcome = await session.start_inline(token, parsed, lambda q: self._promote(task, q))
            if task.query is not None:
                task.answer = outcome if type(outcome) is bytes else None
                return
            if isinstance(outcome, Query):
                await self._spawn(self._run_started, outcome)
            elif outcome is not None:
                await self._respond(token, outcome)
            return
        if parsed.type == QueryType.SERVER_INFO:
            answer = await session.run(token, parsed)
            if answer is not None:
                await self._respond(token, answer)
            return
        await self._spawn(self._run_request, token, parsed)

    def _promote(self, task: ReaderTask, q: Query) -> None:
        """``q`` yields: it keeps this task (and its scope); a new reader reads on."""
        task.query = q
        q.scope = task.scope
        assert self._nursery is not None
        self._nursery.start_soon(self._reader)

    async def _spawn(self, fn: Callable[..., Awaitable[None]], *args: object) -> None:
        await self._limiter.acquire()
        assert self._nursery is not None
        self._nursery.start_soon(fn, *args)

    # -- requests in their own tasks ---------------------------------------------------
    async def _run_request(self, token: int, parsed: ParsedQuery) -> None:
        await self._run_task(token, self.session.run(token, parsed))

    async def _run_large(self, token: int, payload: bytes) -> None:
        await self._run_task(token, self.session.request_large(token, payload))

    async def _run_started(self, q: Query) -> None:
        await self._run_task(q.token, self.session.run_started(q))

    async def _run_task(self, token: int, request: Coroutine[Any, Any, bytes | None]) -> None:
        try:
            answer = await request
        except Exception as exc:  # a bug in one query must not take the connection down
            self.session.services.log.log_exception(exc)
            answer = client_error(f"Unexpected exception: {exc!r}")
        finally:
            self._limiter.release()
        await self._respond_unless_closed(token, answer)

    async def _respond_unless_closed(self, token: int, answer: bytes | None) -> None:
        if answer is not None and not self.session.closed:
            await self._respond(token, answer)

    async def _respond(self, token: int, answer: bytes) -> None:
        try:
            # Other running tasks (open feeds, concurrent queries) may answer in this same moment.
            others = self._concurrency - self._limiter.value > 0
            frame = framing.encode_frame(token, answer)
            self.session.bytes_out += len(frame)
            await self._outbox.put(frame, gather=others)
        except GONE:
            self._cancel_all()

    def _cancel_all(self) -> None:
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()
