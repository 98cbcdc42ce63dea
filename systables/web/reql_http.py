"""RethinkDB's HTTP ReQL protocol (``/ajax/reql/``), as the stock JavaScript
driver speaks it from a browser.

* ``POST .../open-new-connection`` creates an HTTP ReQL connection (user
  ``admin``, no handshake; beyond RethinkDB, once ``admin`` has a password,
  the user of the request's console login, and none without one: see
  ``console_login``) and answers its id as ``text/plain``.
* ``POST .../?conn_id=ID`` carries one request: an 8-byte little-endian token
  followed by the query JSON (no length field).  The answer is one response
  frame (token, 4-byte length, JSON), always with status 200 once the request
  is well formed: the driver ignores any other status and would hang.
* ``POST .../close-connection?conn_id=ID`` forgets the connection and
  interrupts whatever runs on it.

A connection opened under a console login answers only requests carrying
that login's cookie.  Connections not used for ``timeout`` seconds expire,
interrupting their queries.  Every response of a request that ran carries a profile: the driver
only hands the server time to the page when ``p`` is present.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

import orjson
import trio

from ..protocol.framing import MAX_QUERY_SIZE, encode_frame, query_too_large_message
from ..protocol.query import QueryParseError, parse_query
from ..protocol.response import client_error
from ..datum import errors as E
from ..datum.ql2 import QueryType
from ..pipeline.session import Session
from .console_login import NOT_LOGGED_IN, NOT_YOURS, ConsoleLogin, ConsoleLogins

if TYPE_CHECKING:
    from ..pipeline.sessions import Sessions
    from ..reql.context import Services

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

DEFAULT_TIMEOUT_SEC = 300.0
TIMEOUT_ENV = "SYSTABLES_HTTP_TIMEOUT"
EXPIRY_CHECK_SEC = 5.0
TOKEN_SIZE = 8
HTTP_USER = "admin"

CONN_ID_MISSING = 'Required parameter "conn_id" missing\n'
REQUEST_TOO_SMALL = "Client is buggy (request too small)."
NOREPLY_REFUSED = "noreply queries are not supported over HTTP\n"
NOT_OPEN = "This HTTP connection is not open."


def configured_timeout() -> float:
    """Idle expiry in seconds: RethinkDB's 300, or ``$SYSTABLES_HTTP_TIMEOUT``."""
    raw = os.environ.get(TIMEOUT_ENV)
    if not raw:
        return DEFAULT_TIMEOUT_SEC
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV} must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{TIMEOUT_ENV} must be positive, not {raw!r}")
    return value


def timed_out_message(timeout: float) -> str:
    return f"HTTP ReQL query timed out after {timeout:g} seconds."


@dataclass(eq=False)
class HttpConnection:
    id: str
    session: Session
    last_access: float
    peer_host: str = ""
    closed_reason: str | None = None
    login: ConsoleLogin | None = None  # the console login it was opened under


# Each open HTTP connection holds a session until it idles out (300 s): without
# caps, anyone reaching the port could open them by the million.
MAX_HTTP_CONNECTIONS = 1_000
MAX_HTTP_CONNECTIONS_PER_ADDRESS = 100
TOO_MANY_CONNECTIONS = "Too many open HTTP connections; close some or wait for idle ones to expire.\n"
# Request bodies being received at once, in bytes, over all requests: one body
# may be up to 128 MiB (RethinkDB's query limit), four at once took 2 GB.
MAX_BODY_BYTES_IN_FLIGHT = 256 << 20
BODIES_BUSY = "Too many large requests are being received; retry shortly.\n"


class TooManyConnections(Exception):
    pass


class HttpConnections:
    """The open HTTP ReQL connections, by id, with idle expiry."""

    def __init__(self, services: "Services", sessions: "Sessions", timeout: float = DEFAULT_TIMEOUT_SEC) -> None:
        self.services = services
        self.sessions = sessions
        self.timeout = timeout
        self._by_id: dict[str, HttpConnection] = {}
        self._per_address: dict[str, int] = {}

    def open(self, peer_host: str, peer_port: int, login: ConsoleLogin | None = None) -> HttpConnection:
        """A new connection, of ``login``'s user (``admin`` without a login);
        TooManyConnections past the caps."""
        if len(self._by_id) >= MAX_HTTP_CONNECTIONS:
            self.expire_idle()
        if len(self._by_id) >= MAX_HTTP_CONNECTIONS or self._per_address.get(peer_host, 0) >= MAX_HTTP_CONNECTIONS_PER_ADDRESS:
            raise TooManyConnections()
        # URL-safe ids: the driver appends the id to the URL without encoding it.
        conn_id = secrets.token_urlsafe(16)
        user = login.user if login is not None else HTTP_USER
        session = Session(self.services, self.sessions, user, peer_host, peer_port, http=True)
        session.login = login
        conn = HttpConnection(conn_id, session, trio.current_time(), peer_host, login=login)
        session.disconnect = lambda reason, by: self.close(conn_id, reason, by)
        if login is not None:
            login.connections.add(conn_id)
        self._by_id[conn_id] = conn
        self._per_address[peer_host] = self._per_address.get(peer_host, 0) + 1
        return conn

    def find(self, conn_id: str) -> HttpConnection | None:
        """The live connection ``conn_id``; finding it counts as using it."""
        conn = self._by_id.get(conn_id)
        if conn is not None:
            conn.last_access = trio.current_time()
        return conn

    def close(self, conn_id: str, reason: str = E.HTTP_TERMINATED, killed_by: dict | None = None) -> None:
        conn = self._by_id.pop(conn_id, None)
        if conn is not None:
            left = self._per_address.pop(conn.peer_host, 1) - 1
            if left:
                self._per_address[conn.peer_host] = left
            if conn.login is not None:
                conn.login.connections.discard(conn_id)
            conn.closed_reason = reason
            conn.session.close(reason, killed_by)

    def close_all(self, reason: str) -> None:
        for conn_id in list(self._by_id):
            self.close(conn_id, reason)

    def expire_idle(self) -> None:
        deadline = trio.current_time() - self.timeout
        for conn in list(self._by_id.values()):
            if conn.last_access < deadline:
                self.close(conn.id, timed_out_message(self.timeout))

    async def run_expiry(self) -> None:
        """Check for idle connections every few seconds, until cancelled."""
        period = min(EXPIRY_CHECK_SEC, self.timeout / 4)
        try:
            while True:
                await trio.sleep(period)
                self.expire_idle()
        finally:
            self.close_all(E.SERVER_SHUTDOWN)


# ---------------------------------------------------------------------------
# ASGI plumbing.

def raw_query_param(scope: Scope, name: str) -> str | None:
    """A query-string parameter, not percent-decoded (as RethinkDB reads it)."""
    prefix = name.encode() + b"="
    for part in scope.get("query_string", b"").split(b"&"):
        if part.startswith(prefix):
            return part[len(prefix):].decode("latin-1")
    return None


async def send_plain(send: Send, status: int, text: str, content_type: bytes = b"application/text") -> None:
    body = text.encode()
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_frame(send: Send, token: int, response: bytes, session: Session | None = None) -> None:
    """Send one response frame, counted in ``session``'s ``bytes_out`` before
    it leaves (a client that has read it may look at its connection's row)."""
    body = encode_frame(token, response)
    if session is not None:
        session.bytes_out += len(body)
    headers = [(b"content-type", b"application/octet-stream"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ClientGone(Exception):
    """The client disconnected before sending its whole request."""


class BodiesBusy(Exception):
    """Receiving this body would pass MAX_BODY_BYTES_IN_FLIGHT."""


BODY_BUDGET_ENV = "SYSTABLES_HTTP_BODY_BYTES"  # changes MAX_BODY_BYTES_IN_FLIGHT (tests)


class BodyBudget:
    """The bytes of request bodies being received or held at once."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit if limit is not None else int(os.environ.get(BODY_BUDGET_ENV, MAX_BODY_BYTES_IN_FLIGHT))
        self.used = 0

    def take(self, n: int) -> None:
        if self.used + n > self.limit:
            raise BodiesBusy()
        self.used += n

    def give(self, n: int) -> None:
        self.used -= n


class BodyTooLarge(Exception):
    def __init__(self, head: bytes, length: int) -> None:
        super().__init__(length)
        self.head = head
        self.length = length


async def read_body(scope: Scope, receive: Receive, limit: int, budget: BodyBudget, taken: list[int]) -> bytes:
    """The whole request body; BodyTooLarge past ``limit`` bytes, BodiesBusy
    past the server's ``budget`` (what it took is added to ``taken[0]``, for
    the caller to give back once the body is no longer needed)."""
    declared = _content_length(scope)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        budget.take(len(chunk))
        taken[0] += len(chunk)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(b"".join(chunks)[:TOKEN_SIZE], max(size, declared or 0))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


def with_profile(response: bytes, duration_ms: float) -> bytes:
    """Add RethinkDB's implicit HTTP profile unless the query asked for one."""
    document = orjson.loads(response)
    if "p" in document:
        return response
    document["p"] = [{"duration(ms)": duration_ms}]
    return orjson.dumps(document)


# ---------------------------------------------------------------------------

class ReqlHttpEndpoint:
    """The ASGI app behind ``/ajax/reql/...``."""

    def __init__(self, connections: HttpConnections, logins: ConsoleLogins) -> None:
        self.connections = connections
        self.logins = logins
        self.bodies = BodyBudget()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        is_post = scope["method"] == "POST"
        # RethinkDB matches these names anywhere in the path, for POSTs only.
        if is_post and "close-connection" in path:
            await self._close(scope, send)
        elif is_post and "open-new-connection" in path:
            await self._open(scope, send)
        else:
            await self._query(scope, receive, send)

    async def _open(self, scope: Scope, send: Send) -> None:
        host, port = scope.get("client") or ("", 0)
        login = self.logins.of_request(scope)
        if login is None and self.logins.required:
            await send_plain(send, 401, NOT_LOGGED_IN, b"text/plain; charset=utf-8")
            return
        try:
            conn = self.connections.open(host, port, login)
        except TooManyConnections:
            await send_plain(send, 503, TOO_MANY_CONNECTIONS)
            return
        await send_plain(send, 200, conn.id, b"text/plain")

    async def _close(self, scope: Scope, send: Send) -> None:
        conn_id = raw_query_param(scope, "conn_id")
        if conn_id is None:
            await send_plain(send, 400, CONN_ID_MISSING)
            return
        if await self._refused(scope, send, self.connections.find(conn_id)):
            return
        self.connections.close(conn_id, E.HTTP_TERMINATED)
        await send_plain(send, 200, "")

    async def _refused(self, scope: Scope, send: Send, conn: HttpConnection | None) -> bool:
        """Whether the request may not use ``conn`` (answered then): without
        its console login's cookie (and, once logins are required, without
        any login at all), nothing is run or told."""
        login = self.logins.of_request(scope)
        if login is None and (self.logins.required or (conn is not None and conn.login is not None)):
            await send_plain(send, 401, NOT_LOGGED_IN, b"text/plain; charset=utf-8")
            return True
        if conn is not None and conn.login is not login:
            await send_plain(send, 403, NOT_YOURS, b"text/plain; charset=utf-8")
            return True
        return False

    async def _query(self, scope: Scope, receive: Receive, send: Send) -> None:
        taken = [0]
        try:
            await self._query_within_budget(scope, receive, send, taken)
        finally:
            self.bodies.give(taken[0])

    async def _query_within_budget(self, scope: Scope, receive: Receive, send: Send, taken: list[int]) -> None:
        conn_id = raw_query_param(scope, "conn_id")
        if conn_id is None:
            await send_plain(send, 400, CONN_ID_MISSING)
            return
        conn = self.connections.find(conn_id)
        if await self._refused(scope, send, conn):  # before the body: an anonymous request costs nothing
            return
        try:
            request = await read_body(scope, receive, TOKEN_SIZE + MAX_QUERY_SIZE, self.bodies, taken)
        except BodyTooLarge as too_large:
            await self._refuse_large(send, too_large)
            return
        except BodiesBusy:
            await send_plain(send, 503, BODIES_BUSY)
            return
        except ClientGone:
            return
        if len(request) < TOKEN_SIZE:
            await send_plain(send, 400, REQUEST_TOO_SMALL)
            return
        token = int.from_bytes(request[:TOKEN_SIZE], "little")
        payload = request[TOKEN_SIZE:]
        conn = self.connections.find(conn_id)  # again: it may have closed while the body came
        if conn is None:
            await send_frame(send, token, client_error(NOT_OPEN))
            return
        try:
            parsed = parse_query(payload)
        except QueryParseError as error:
            await send_frame(send, token, client_error(error.message))
            return
        if parsed.noreply:
            # Nothing could tell the page a noreply query failed; RethinkDB refuses them.
            await send_plain(send, 400, NOREPLY_REFUSED)
            return
        session = conn.session
        session.bytes_in += len(request)
        session.last_query_at = time.time()
        response = await self._run(conn, token, payload, parsed.type, receive)
        if response is not None:
            await send_frame(send, token, response, session)

    async def _run(self, conn: HttpConnection, token: int, payload: bytes,
                   query_type: QueryType, receive: Receive) -> bytes | None:
        started = time.perf_counter()
        aborted = False

        async def interrupt_on_disconnect() -> None:
            nonlocal aborted
            while (await receive())["type"] != "http.disconnect":
                pass
            aborted = True
            if query_type in (QueryType.START, QueryType.CONTINUE):
                conn.session.interrupt_token(token, E.HTTP_TERMINATED)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(interrupt_on_disconnect)
            response = await conn.session.request(token, payload)
            nursery.cancel_scope.cancel()
        if response is None or aborted:
            return None
        if conn.closed_reason is not None or self.connections.sessions.shutting_down:
            return response  # interrupted: RethinkDB attaches no profile then
        return with_profile(response, (time.perf_counter() - started) * 1000)

    async def _refuse_large(self, send: Send, too_large: BodyTooLarge) -> None:
        if len(too_large.head) < TOKEN_SIZE:
            await send_plain(send, 400, REQUEST_TOO_SMALL)
            return
        token = int.from_bytes(too_large.head, "little")
        message = query_too_large_message(too_large.length - TOKEN_SIZE)
        await send_frame(send, token, client_error(message))
