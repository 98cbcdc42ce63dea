"""The console's login endpoints (``/ajax/session``, ``/ajax/login``,
``/ajax/logout``: see ``console_login``), as ASGI apps."""

from __future__ import annotations

import orjson

from .console_login import (
    LOGIN_FAILED, LOGIN_MALFORMED, LOGIN_NOT_NEEDED, MAX_LOGIN_BODY, TOO_MANY_LOGINS,
    ConsoleLogins, cleared_cookie, parse_login, session_cookie,
)
from .reql_http import BodiesBusy, BodyBudget, BodyTooLarge, ClientGone, Receive, Scope, Send, read_body

TEXT = b"text/plain; charset=utf-8"


async def send_answer(send: Send, status: int, body: bytes, content_type: bytes = TEXT,
                      cookie: bytes | None = None) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store")]
    if cookie is not None:
        headers.append((b"set-cookie", cookie))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Send, value: dict, cookie: bytes | None = None) -> None:
    await send_answer(send, 200, orjson.dumps(value), b"application/json", cookie)


class LoginEndpoints:
    """``GET /ajax/session``, ``POST /ajax/login`` and ``POST /ajax/logout``."""

    def __init__(self, logins: ConsoleLogins) -> None:
        self.logins = logins
        self.bodies = BodyBudget(MAX_LOGIN_BODY * 256)  # login bodies being received at once

    async def session(self, scope: Scope, receive: Receive, send: Send) -> None:
        login = self.logins.of_request(scope)
        await send_json(send, {"login_required": self.logins.required, "user": login.user if login else None})

    async def login(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.logins.required:
            await send_answer(send, 400, LOGIN_NOT_NEEDED.encode())
            return
        credentials = await self._credentials(scope, receive)
        if credentials is None:
            await send_answer(send, 400, LOGIN_MALFORMED.encode())
            return
        if self.logins.full():
            await send_answer(send, 503, TOO_MANY_LOGINS.encode())
            return
        host = (scope.get("client") or ("", 0))[0]
        token = await self.logins.log_in(host, *credentials)
        if token is None:
            await send_answer(send, 401, LOGIN_FAILED.encode())
            return
        await send_json(send, {"login_required": True, "user": credentials[0]}, session_cookie(token))

    async def _credentials(self, scope: Scope, receive: Receive) -> tuple[str, str] | None:
        taken = [0]
        try:
            return parse_login(await read_body(scope, receive, MAX_LOGIN_BODY, self.bodies, taken))
        except (BodyTooLarge, BodiesBusy, ClientGone):
            return None
        finally:
            self.bodies.give(taken[0])

    async def logout(self, scope: Scope, receive: Receive, send: Send) -> None:
        login = self.logins.of_request(scope)
        if login is not None:
            self.logins.end(login)
        await send_json(send, {"login_required": self.logins.required, "user": None}, cleared_cookie())
