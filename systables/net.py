"""The driver port: TCP connections running the sans-IO protocol core.

Sockets are used directly in non-blocking mode: a receive or send that can
complete at once does so without a trip through the scheduler, and the
connection waits for readiness only when it must (trio's socket wrappers
yield on every call, which costs more than a point read).

Queries made only of terms that never wait are answered by the reading task
itself (``Session.answer_quickly``).  Every other query runs in its own task
in the connection's nursery (up to 1024 at once, as RethinkDB), so responses
may go back in any order; sends are serialised by a lock.  Closing the
connection cancels the nursery, hence every query of the connection.
"""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING

import trio

from .fastpath import point_get
from .protocol import framing, handshake
from .protocol.response import client_error
from .datum import errors as E
from .session import Prepared, Session, acquire

if TYPE_CHECKING:
    from .server import Server

RECEIVE_SIZE = 65536
READS_BEFORE_YIELD = 8  # a client that keeps sending must not starve the others
GONE = (OSError, trio.BrokenResourceError, trio.ClosedResourceError)


class Transport:
    """A connected, non-blocking socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.send_lock = trio.Lock()
        self.closed = False
        self._reads_in_a_row = 0

    async def receive(self) -> bytes:
        """The next bytes from the client; b"" when it closed its side."""
        sock = self.sock
        while True:
            try:
                data = sock.recv(RECEIVE_SIZE)
            except (BlockingIOError, InterruptedError):
                self._reads_in_a_row = 0
                await trio.lowlevel.wait_readable(sock)
                continue
            self._reads_in_a_row += 1
            if self._reads_in_a_row >= READS_BEFORE_YIELD:
                self._reads_in_a_row = 0
                await trio.lowlevel.checkpoint()
            return data

    async def send_all(self, data: bytes) -> None:
        await acquire(self.send_lock)
        try:
            view = memoryview(data)
            sock = self.sock
            while view:
                try:
                    sent = sock.send(view)
                except (BlockingIOError, InterruptedError):
                    await trio.lowlevel.wait_writable(sock)
                    continue
                view = view[sent:]
        finally:
            self.send_lock.release()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            trio.lowlevel.notify_closing(self.sock)
            self.sock.close()


async def accept_connections(server: "Server", listener: socket.socket) -> None:
    """Accept clients on ``listener`` until cancelled; each gets its own task."""
    try:
        async with trio.open_nursery() as nursery:
            while True:
                await trio.lowlevel.wait_readable(listener)
                try:
                    sock, _ = listener.accept()
                except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                    continue
                except OSError as e:
                    if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                        server.log("error", f"Cannot accept a connection: {e}")
                        await trio.sleep(0.1)
                        continue
                    raise
                nursery.start_soon(serve_connection, server, sock)
    finally:
        trio.lowlevel.notify_closing(listener)
        listener.close()


async def serve_connection(server: "Server", sock: socket.socket) -> None:
    transport = Transport(sock)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        host, port = sock.getpeername()[:2]
        auth = await run_handshake(server, transport)
        if auth is None:
            return
        session = Session(server, auth.user, host, port)
        server.connection_opened()
        try:
            await run_queries(server, session, transport, auth.leftover, auth.max_concurrent_queries)
        finally:
            session.close(E.CLIENT_CLOSED)
            server.connection_closed()
    except* GONE:
        pass  # the client went away (reset or closed); inside the nursery these arrive grouped
    except* Exception as group:  # a bug must cost this connection only, never the server
        for exc in group.exceptions:
            server.log_exception(exc)
    finally:
        transport.close()


async def run_handshake(server: "Server", transport: Transport) -> "handshake.Authenticated | None":
    hs = handshake.ServerHandshake(lookup_user=server.auth.lookup, server_version=server.version)
    with trio.move_on_after(server.handshake_timeout):
        while True:
            data = await transport.receive()
            if not data:
                return None
            for event in hs.feed(data):
                if isinstance(event, handshake.Send):
                    await transport.send_all(event.data)
                elif isinstance(event, handshake.Failed):
                    if event.data_to_send:
                        await transport.send_all(event.data_to_send)
                    return None
                elif isinstance(event, handshake.Authenticated):
                    return event
    return None


async def run_queries(server: "Server", session: Session, transport: Transport, leftover: bytes, concurrency: int) -> None:
    decoder = framing.FrameDecoder()
    limiter = trio.Semaphore(concurrency)

    async def send(token: int, payload: bytes) -> None:
        await transport.send_all(framing.encode_frame(token, payload))

    async def run_one(token: int, parsed: object, prepared: Prepared | None) -> None:
        try:
            response = await session.dispatch(token, parsed, prepared)  # type: ignore[arg-type]
            if response is not None and not session.closed:
                await send(token, response)
        except GONE:
            nursery.cancel_scope.cancel()
        except Exception as exc:  # a bug in one query must not take the connection down
            server.log_exception(exc)
            await send(token, client_error(f"Unexpected exception: {exc!r}"))
        finally:
            limiter.release()

    async def answer(token: int, payload: bytes) -> None:
        parsed = session.parse(payload)
        if type(parsed) is bytes:
            await send(token, parsed)
            return
        # V0_3 connections run their queries one at a time, in tasks, in order.
        if concurrency > 1 and token not in session.queries:
            response = point_get(session, parsed)  # type: ignore[arg-type]
            if response is not None:
                await send(token, response)
                return
        outcome = await session.answer_quickly(token, parsed) if concurrency > 1 else Prepared()
        if type(outcome) is Prepared:
            await limiter.acquire()
            nursery.start_soon(run_one, token, parsed, outcome)
        elif outcome is not None:
            await send(token, outcome)

    async with trio.open_nursery() as nursery:
        data = leftover
        while True:
            for event in decoder.feed(data) if data else ():
                if isinstance(event, framing.FrameError):
                    await send(event.token, client_error(event.message))
                    await drain(transport, decoder)
                    nursery.cancel_scope.cancel()
                    return
                await answer(event.token, event.payload)
            data = await transport.receive()
            if not data:
                session.close(E.CLIENT_CLOSED)
                nursery.cancel_scope.cancel()
                return


async def drain(transport: Transport, decoder: framing.FrameDecoder, limit_seconds: float = 300.0) -> None:
    """Read and discard the refused body, so closing does not reset the error away."""
    with trio.move_on_after(limit_seconds):
        while decoder.drain_remaining > 0:
            data = await transport.receive()
            if not data:
                return
            decoder.feed(data)


def open_listener(host: str, port: int) -> socket.socket:
    """A non-blocking listening socket on ``host:port`` (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=1024, reuse_port=False)
    listener.setblocking(False)
    return listener
