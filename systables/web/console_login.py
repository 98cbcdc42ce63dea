"""Logins to the web console (beyond RethinkDB, whose console is an
unauthenticated ``admin``), required once ``admin`` has a password.

* ``GET /ajax/session`` answers ``{"login_required": bool, "user": name or null}``.
* ``POST /ajax/login`` with ``{"user": ..., "password": ...}`` checks the
  password against the user's stored SCRAM credential, as the driver port
  does (PBKDF2 in a worker thread, a decoy for an unknown user, the same
  failed-login throttle per address), and answers a random session token in
  an HttpOnly, SameSite=Strict cookie.
* ``POST /ajax/logout`` ends the login and closes its ``/ajax/reql/``
  connections.

A login is idle-expired as HTTP connections are; ending it (logout, expiry,
its user's password changed or the user deleted) closes every ``/ajax/reql/``
connection opened under it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import orjson
import trio

from ..datum import errors as E
from ..pipeline.logins import LoginThrottle, check_login
from .hosts import header

if TYPE_CHECKING:
    from ..auth import Auth
    from .reql_http import Scope

COOKIE_NAME = "systables_session"
TOKEN_BYTES = 32
MAX_LOGINS = 1_000  # logins need a password, so only users can fill this; bounded all the same
MAX_LOGIN_BODY = 4096
EXPIRY_CHECK_SEC = 5.0

LOGIN_FAILED = "Wrong user name or password.\n"
LOGIN_MALFORMED = 'Expected a JSON object {"user": string, "password": string}.\n'
LOGIN_NOT_NEEDED = "No login is needed: the admin user has no password.\n"
TOO_MANY_LOGINS = "Too many console sessions are open; retry once idle ones have expired.\n"
NOT_LOGGED_IN = "Not logged in: log in to the console first.\n"
NOT_YOURS = "This HTTP connection belongs to another console session.\n"


@dataclass(eq=False)
class ConsoleLogin:
    user: str
    key: str  # the token's SHA-256: the token itself is kept by the browser only
    last_access: float
    connections: set[str] = field(default_factory=set)  # ids of its /ajax/reql/ connections


class ConsoleLogins:
    """The console's logins, by the hash of their token, with idle expiry.
    ``close_connection`` closes one ``/ajax/reql/`` connection by id."""

    def __init__(self, auth: "Auth", throttle: LoginThrottle, timeout: float,
                 close_connection: Callable[[str, str], None]) -> None:
        self.auth = auth
        self.throttle = throttle
        self.timeout = timeout
        self.close_connection = close_connection
        self._by_key: dict[str, ConsoleLogin] = {}

    @property
    def required(self) -> bool:
        return self.auth.login_required

    async def log_in(self, host: str, user: str, password: str) -> str | None:
        """A new login's token, or None for a wrong user or password."""
        if not await check_login(self.auth, self.throttle, host, user, password):
            return None
        token = secrets.token_urlsafe(TOKEN_BYTES)
        key = _key(token)
        self._by_key[key] = ConsoleLogin(user, key, trio.current_time())
        return token

    def full(self) -> bool:
        if len(self._by_key) >= MAX_LOGINS:
            self.expire_idle()
        return len(self._by_key) >= MAX_LOGINS

    def of_request(self, scope: "Scope") -> ConsoleLogin | None:
        """The live login whose token the request's cookie carries; finding it
        counts as using it."""
        token = cookie_value(header(scope, b"cookie"), COOKIE_NAME)
        login = self._by_key.get(_key(token)) if token else None
        if login is None or not self.auth.exists(login.user):
            return None
        now = trio.current_time()
        if login.last_access < now - self.timeout:  # expired, whether or not the sweep has come by
            self.end(login)
            return None
        login.last_access = now
        return login

    def end(self, login: ConsoleLogin, reason: str = E.CONSOLE_LOGGED_OUT) -> None:
        if self._by_key.pop(login.key, None) is None:
            return
        for conn_id in list(login.connections):
            self.close_connection(conn_id, reason)

    def end_user(self, user: str, kept: object | None) -> None:
        """End every login of ``user`` but ``kept`` (his password changed or he
        was deleted; the pipeline has closed their connections)."""
        for login in list(self._by_key.values()):
            if login.user == user and login is not kept:
                self.end(login)

    def expire_idle(self) -> None:
        deadline = trio.current_time() - self.timeout
        for login in list(self._by_key.values()):
            if login.last_access < deadline:
                self.end(login)

    async def run_expiry(self) -> None:
        period = min(EXPIRY_CHECK_SEC, self.timeout / 4)
        while True:
            await trio.sleep(period)
            self.expire_idle()


def _key(token: str) -> str:
    # Kept hashed: the table of logins does not hold what would let one log in.
    return hashlib.sha256(token.encode()).hexdigest()


def cookie_value(cookies: str | None, name: str) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` header."""
    if not cookies:
        return None
    for part in cookies.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value
    return None


def session_cookie(token: str) -> bytes:
    # No `Secure`: the port speaks plain HTTP (put a TLS proxy in front to get it).
    return f"{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Strict".encode()


def cleared_cookie() -> bytes:
    return f"{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0".encode()


def parse_login(body: bytes) -> tuple[str, str] | None:
    """``(user, password)`` from a login request's JSON body, or None."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(value) is not dict:
        return None
    user, password = value.get("user"), value.get("password")
    if type(user) is not str or type(password) is not str or not user:
        return None
    return user, password
