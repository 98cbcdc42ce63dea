"""The administrative HTTP port: the web shell's files and RethinkDB's
``/ajax/reql/`` protocol, served by Hypercorn (trio) inside the server's
nursery."""

from __future__ import annotations

import errno
import os
import socket
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio
from hypercorn.config import Config, Sockets
from hypercorn.trio.run import worker_serve
from hypercorn.utils import wrap_app
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..pipeline.logins import LoginThrottle
from .console_login import ConsoleLogins
from .hosts import AllowedHosts, header, same_origin
from .login_http import LoginEndpoints
from .reql_http import HttpConnections, ReqlHttpEndpoint, Receive, Scope, Send, configured_timeout

if TYPE_CHECKING:
    from ..pipeline.sessions import Sessions
    from ..reql.context import Services

WEBSHELL_DIR_ENV = "SYSTABLES_WEBSHELL_DIR"
BACKLOG = 128

NOT_BUILT_PAGE = """<!doctype html>
<meta charset="utf-8"><title>systables: web shell not built</title>
<h1>web shell not built (run make webshell)</h1>
<p>The server is running; its web shell's files are missing from the package
(<code>systables/web/shell/</code>). In a source checkout, build them with <code>make webshell</code>
(needs Node.js and npm) and reload this page; an installed wheel carries them.</p>
"""

# The shell evaluates typed queries with `new Function` (hence 'unsafe-eval');
# CodeMirror injects its styles at run time (hence inline styles).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


class GuardedApp:
    """Refuses requests naming another host (DNS rebinding) or posted from
    another origin, and adds the security headers to every response."""

    def __init__(self, app: Any, allowed: AllowedHosts) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = header(scope, b"host") or ""
        if not self.allowed.allows(host):
            await _forbidden(send, "Forbidden: this server does not answer to that Host header.\n")
            return
        origin = header(scope, b"origin")
        if origin is not None and scope["method"] not in ("GET", "HEAD") and not same_origin(origin, host):
            await _forbidden(send, "Forbidden: cross-origin request.\n")
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = dict(message, headers=list(message.get("headers", [])) + SECURITY_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _forbidden(send: Send, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def packaged_shell() -> Path:
    """The built web shell as this package's data (``systables/web/shell``).

    The sdist/wheel build puts it there, and so does `make webshell` in a source
    checkout (whose editable install resolves to the same directory), so one
    lookup serves both.  It is served from a directory: a zipped package, which
    pip never makes, is not supported."""
    return Path(str(resources.files(__package__) / "shell"))


def webshell_dist() -> Path:
    """The built web shell: ``$SYSTABLES_WEBSHELL_DIR`` if set, else the package's."""
    configured = os.environ.get(WEBSHELL_DIR_ENV)
    return Path(configured) if configured else packaged_shell()


class Asgi:
    """An ASGI handler as a route's endpoint (Starlette calls plain functions
    with a Request instead)."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handler(scope, receive, send)


def build_app(connections: HttpConnections, logins: ConsoleLogins, allowed: AllowedHosts, dist: Path) -> GuardedApp:
    reql = ReqlHttpEndpoint(connections, logins)
    login = LoginEndpoints(logins)

    async def index(request: Request) -> Response:
        page = dist / "index.html"
        if not page.is_file():
            return HTMLResponse(NOT_BUILT_PAGE, status_code=503, headers={"cache-control": "no-store"})
        return FileResponse(page, headers={"cache-control": "no-cache"})

    files = StaticFiles(directory=dist, check_dir=False)
    app = Starlette(routes=[
        Route("/ajax/session", Asgi(login.session), methods=["GET"]),
        Route("/ajax/login", Asgi(login.login), methods=["POST"]),
        Route("/ajax/logout", Asgi(login.logout), methods=["POST"]),
        Route("/ajax/reql", reql, methods=None),
        Route("/ajax/reql/{rest:path}", reql, methods=None),
        Route("/", index, methods=["GET", "HEAD"]),
        Mount("/", app=GZipMiddleware(_revalidated(files, dist), minimum_size=1024, compresslevel=6)),
    ])
    return GuardedApp(app, allowed)


def _revalidated(files: StaticFiles, dist: Path) -> Any:
    """Static files are small and change with every build: always revalidate (ETag)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if not dist.is_dir():
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return

        async def send_no_cache(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = dict(message, headers=list(message.get("headers", [])) + [(b"cache-control", b"no-cache")])
            await send(message)

        await files(scope, receive, send_no_cache)

    return app


def open_sockets(hosts: list[str], port: int) -> list[socket.socket]:
    """Listening sockets on every address of ``hosts``; port 0 picks one free
    port, shared by all of them."""
    sockets: list[socket.socket] = []
    seen: set[tuple[int, str]] = set()
    try:
        for host in hosts:
            for family, kind, proto, _, address in socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            ):
                if (family, address[0]) in seen:
                    continue
                seen.add((family, address[0]))
                try:
                    sock = _listen(family, kind, proto, (address[0], port) + tuple(address[2:]))
                except OSError as error:
                    if error.errno == errno.EAFNOSUPPORT:  # e.g. IPv6 disabled: as trio's listeners do
                        continue
                    raise
                sockets.append(sock)
                port = sock.getsockname()[1]
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _listen(family: int, kind: int, proto: int, address: tuple) -> socket.socket:
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def hypercorn_config() -> Config:
    config = Config()
    config.accesslog = None
    config.loglevel = "WARNING"
    config.include_server_header = False
    config.graceful_timeout = 1.0
    return config


async def serve_http(services: "Services", sessions: "Sessions", bind_hosts: list[str], port: int,
                     throttle: LoginThrottle, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    """Serve the administrative HTTP port; reports the bound ``(host, port)`` pairs.
    ``throttle`` counts failed console logins with the driver port's."""
    sockets = open_sockets(bind_hosts, port)
    addresses = [(s.getsockname()[0], s.getsockname()[1]) for s in sockets]
    allowed = AllowedHosts.for_binds(bind_hosts, [host for host, _ in addresses])
    timeout = configured_timeout()
    connections = HttpConnections(services, sessions, timeout)
    logins = ConsoleLogins(services.auth, throttle, timeout, connections.close)
    sessions.on_user_closed.append(logins.end_user)
    app = build_app(connections, logins, allowed, webshell_dist())
    config = hypercorn_config()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(connections.run_expiry)
        nursery.start_soon(logins.run_expiry)
        await nursery.start(partial(
            worker_serve, wrap_app(app, config.wsgi_max_body_size, "asgi"), config,
            sockets=Sockets(secure_sockets=[], insecure_sockets=sockets, quic_sockets=[]),
        ))
        task_status.started(addresses)
