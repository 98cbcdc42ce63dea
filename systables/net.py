"""The driver port: TCP connections running the sans-IO protocol core.

One task per connection reads frames; each query runs in its own task in the
connection's nursery (up to 1024 at once, as RethinkDB), so responses may go
back in any order; writes are serialised by a lock.  Closing the connection
cancels the nursery, hence every query of the connection.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import trio

from .protocol import framing, handshake
from .reql import errors as E
from .session import Session, client_error

if TYPE_CHECKING:
    from .server import Server

RECEIVE_SIZE = 65536


async def serve_connection(server: "Server", stream: trio.SocketStream) -> None:
    try:
        sock = stream.socket
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        host, port = sock.getpeername()[:2]
    except OSError:
        await stream.aclose()
        return
    try:
        auth = await run_handshake(server, stream)
        if auth is None:
            return
        concurrency = auth.max_concurrent_queries
        session = Session(server, auth.user, host, port)
        server.connection_opened()
        try:
            await run_queries(server, session, stream, auth.leftover, concurrency)
        finally:
            session.close(E.CLIENT_CLOSED)
            server.connection_closed()
    except* (trio.BrokenResourceError, trio.ClosedResourceError, ConnectionError):
        pass  # the client went away (reset or closed); inside the nursery these arrive grouped
    finally:
        with trio.CancelScope(shield=True):
            await stream.aclose()


async def run_handshake(server: "Server", stream: trio.SocketStream) -> "handshake.Authenticated | None":
    hs = handshake.ServerHandshake(lookup_user=server.auth.lookup, server_version=server.version)
    with trio.move_on_after(server.handshake_timeout):
        while True:
            data = await stream.receive_some(RECEIVE_SIZE)
            if not data:
                return None
            for event in hs.feed(data):
                if isinstance(event, handshake.Send):
                    await stream.send_all(event.data)
                elif isinstance(event, handshake.Failed):
                    if event.data_to_send:
                        await stream.send_all(event.data_to_send)
                    return None
                elif isinstance(event, handshake.Authenticated):
                    return event
    return None


async def run_queries(server: "Server", session: Session, stream: trio.SocketStream, leftover: bytes, concurrency: int) -> None:
    decoder = framing.FrameDecoder()
    send_lock = trio.Lock()
    limiter = trio.Semaphore(concurrency)

    async def send(token: int, payload: bytes) -> None:
        frame = framing.encode_frame(token, payload)
        async with send_lock:
            await stream.send_all(frame)

    async def run_one(token: int, payload: bytes) -> None:
        try:
            response = await session.handle(token, payload)
            if response is not None and not session.closed:
                await send(token, response)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            nursery.cancel_scope.cancel()
        except Exception as exc:  # a bug in one query must not take the connection down
            server.log_exception(exc)
            await send(token, client_error(f"Unexpected exception: {exc!r}"))
        finally:
            limiter.release()

    async with trio.open_nursery() as nursery:
        data = leftover
        while True:
            for event in decoder.feed(data) if data else ():
                if isinstance(event, framing.FrameError):
                    await send(event.token, client_error(event.message))
                    await drain(stream, decoder)
                    nursery.cancel_scope.cancel()
                    return
                await limiter.acquire()
                nursery.start_soon(run_one, event.token, event.payload)
            data = await stream.receive_some(RECEIVE_SIZE)
            if not data:
                session.close(E.CLIENT_CLOSED)
                nursery.cancel_scope.cancel()
                return


async def drain(stream: trio.SocketStream, decoder: framing.FrameDecoder, limit_seconds: float = 300.0) -> None:
    """Read and discard the refused body, so closing does not reset the error away."""
    with trio.move_on_after(limit_seconds):
        while decoder.drain_remaining > 0:
            data = await stream.receive_some(RECEIVE_SIZE)
            if not data:
                return
            decoder.feed(data)
