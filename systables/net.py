"""The driver port: TCP connections, moving bytes between sockets and the
sans-IO protocol core.

Sockets are used directly in non-blocking mode: a receive or send that can
complete at once does so without a trip through the scheduler, and the
connection waits for readiness only when it must (trio's socket wrappers
yield on every call, which costs more than a point read).

After the handshake, the connection's frames and queries are the query
pipeline's (``pipeline.connection``): this module only moves bytes.
"""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING

import trio

from .datum import errors as E
from .pipeline.connection import GONE, Connection
from .pipeline.logins import LoginThrottle
from .pipeline.session import Session
from .protocol import handshake

if TYPE_CHECKING:
    from .auth import Auth
    from .node import Node
    from .pipeline.sessions import Sessions
    from .reql.context import Services

RECEIVE_SIZE = 65536
READS_BEFORE_YIELD = 8  # a client that keeps sending must not starve the others
HANDSHAKE_TIMEOUT = 60.0


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
        """Send ``data`` whole.  Responses are sent outside the queries' cancel
        scopes, so only the connection's own end can cut one short; the
        socket is then closed rather than left with half a frame."""
        async with self.send_lock:
            view = memoryview(data)
            sock = self.sock
            try:
                while view:
                    try:
                        sent = sock.send(view)
                    except (BlockingIOError, InterruptedError):
                        await trio.lowlevel.wait_writable(sock)
                        continue
                    view = view[sent:]
            except BaseException:
                if 0 < len(view) < len(data):
                    self.close()
                raise

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            trio.lowlevel.notify_closing(self.sock)
            self.sock.close()


class DriverPort:
    """Accepts driver connections and runs each one's handshake and session."""

    def __init__(self, services: "Services", sessions: "Sessions", logins: LoginThrottle | None = None) -> None:
        self.logins = logins or LoginThrottle()  # shared with the console's logins: one count per address
        self.services = services
        self.sessions = sessions

    async def accept(self, listener: socket.socket) -> None:
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
                            self.services.log.log("error", f"Cannot accept a connection: {e}")
                            await trio.sleep(0.1)
                            continue
                        raise
                    nursery.start_soon(self.serve, sock)
        finally:
            trio.lowlevel.notify_closing(listener)
            listener.close()

    async def serve(self, sock: socket.socket) -> None:
        transport = Transport(sock)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            host, port = sock.getpeername()[:2]
            auth = await run_handshake(self.services.auth, self.services.node, transport, self.logins, host)
            if auth is None:
                return
            await self._serve_session(transport, auth, host, port)
        except* GONE:
            pass  # the client went away (reset or closed); inside the nursery these arrive grouped
        except* Exception as group:  # a bug must cost this connection only, never the server
            for exc in group.exceptions:
                self.services.log.log_exception(exc)
        finally:
            transport.close()

    async def _serve_session(self, transport: Transport, auth: handshake.Authenticated, host: str, port: int) -> None:
        session = Session(self.services, self.sessions, auth.user, host, port, protocol=auth.protocol)
        self.sessions.connections += 1
        try:
            connection = Connection(session, transport.receive, transport.send_all, auth.leftover, auth.max_concurrent_queries)
            session.disconnect = lambda reason, by: disconnect(session, transport, reason, by)
            await connection.run()
        finally:
            session.close(E.CLIENT_CLOSED)
            self.sessions.connections -= 1


def disconnect(session: Session, transport: Transport, reason: str, by: dict) -> None:
    """Close a driver connection from the server's side: its queries end
    (recorded as killed by ``by``) and the client sees the socket closed, as
    when a connection drops."""
    session.close(reason, by)
    transport.close()


async def run_handshake(auth: "Auth", node: "Node", transport: Transport, logins: LoginThrottle | None = None,
                        host: str = "") -> "handshake.Authenticated | None":
    hs = handshake.ServerHandshake(lookup_user=auth.lookup, server_version=node.version, decoy=auth.decoy)
    logins = logins or LoginThrottle()
    await logins.wait_turn(host)  # before any verdict: a throttled address guesses no faster
    with trio.move_on_after(HANDSHAKE_TIMEOUT):
        while True:
            data = await transport.receive()
            if not data:
                return None
            events = hs.feed(data)
            while events:
                event = events.pop(0)
                if isinstance(event, handshake.Send):
                    await transport.send_all(event.data)
                elif isinstance(event, handshake.CheckAuthKey):
                    events += hs.key_checked(await check_auth_key(event))
                elif isinstance(event, handshake.Failed):
                    await logins.failed(host, event.message)
                    if event.data_to_send:
                        await transport.send_all(event.data_to_send)
                    return None
                elif isinstance(event, handshake.Authenticated):
                    return event
    return None


async def check_auth_key(check: handshake.CheckAuthKey) -> bool:
    """PBKDF2 of a legacy auth key, in a worker thread: its cost is the admin
    password's iteration count, which may be high, and the client is not yet
    anyone."""
    if check.credential is None:
        return False
    return await trio.to_thread.run_sync(check.credential.check_password, check.key, abandon_on_cancel=True)


def open_listener(host: str, port: int) -> socket.socket:
    """A non-blocking listening socket on ``host:port`` (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=1024, reuse_port=False)
    listener.setblocking(False)
    return listener
