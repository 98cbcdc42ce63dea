"""Server side of the connection handshake, sans-IO: bytes in, events out.

Usage by a transport::

    handshake = ServerHandshake(lookup_user, "2.4.4-systables")
    while True:
        data = await stream.receive_some()
        if not data:
            close                                   # client gave up mid-handshake
        for event in handshake.feed(data):
            Send          -> write event.data
            Failed        -> write event.data_to_send, then close
            Authenticated -> switch to query mode; feed event.leftover to the
                             frame decoder (queries pipelined behind the handshake)

Every event list is in the order the bytes must be written.  ``Failed`` and
``Authenticated`` are terminal; feeding after them raises ``RuntimeError``.

Protocols (magic number = first 4 bytes, little-endian):

* V1_0: server message #1 is sent as soon as the magic arrives, before the
  client's first message (the drivers pipeline both in one write), then a
  SCRAM-SHA-256 exchange in NUL-terminated JSON messages.  Failures are a JSON
  object ``{"success": false, "error": ..., "error_code": n}`` + NUL.
* V0_4 / V0_3: an auth key checked as the ``admin`` password, then the JSON
  sub-protocol magic; success is ``SUCCESS`` + NUL.  Failures (and unknown or
  protobuf-only magics) are plain text ``ERROR: <message>\\n`` + NUL.

Checking a V0_x key runs PBKDF2 (a few milliseconds at 4096 iterations) inside
``feed``; V1_0 logins only cost a few HMACs.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

import orjson

from systables.datum.ql2 import Protocol, Version

from .scram import Credential, ScramError, ScramExchange, new_server_nonce, process_decoy

HandshakeProtocol = Literal["V1_0", "V0_4", "V0_3"]

MAX_CLIENT_MESSAGE = 2048  # bytes, including the terminating NUL
MAX_AUTH_KEY_LENGTH = 2048
SUPPORTED_AUTHENTICATION_METHOD = "SCRAM-SHA-256"
LEGACY_USER = "admin"
LEGACY_SUCCESS = b"SUCCESS\0"
MAX_CONCURRENT_QUERIES = 1024

UNSUPPORTED_MAGIC = (
    "Received an unsupported protocol version. This port is for RethinkDB queries. "
    "Does your client driver version not match the server?"
)
PROTOBUF_UNSUPPORTED = "The PROTOBUF client protocol is no longer supported"
AUTH_KEY_TOO_LONG = "Client provided an authorization key that is too long."
INCORRECT_AUTH_KEY = "Incorrect authorization key."

# V1_0 protocol error codes (1-9); 10-20 are SCRAM's, see scram.py.
EXPECTED_NUMBER_PROTOCOL_VERSION = (1, "Expected a number for `protocol_version`.")
UNSUPPORTED_PROTOCOL_VERSION = (2, "Unsupported `protocol_version`.")
EXPECTED_STRING_AUTH_METHOD = (3, "Expected a string for `authentication_method`.")
UNSUPPORTED_AUTH_METHOD = (4, "Unsupported `authentication_method`.")
EXPECTED_STRING_AUTHENTICATION = (5, "Expected a string for `authentication`.")
LIMITED_READ_BUFFER = (7, "Limited read buffer size.")
INVALID_JSON_OBJECT = (8, "Invalid JSON object.")

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")  # the sub-protocol magic is printed as a signed int


@dataclass(frozen=True, slots=True)
class Send:
    """Bytes to write to the client now."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Authenticated:
    """Handshake done; ``leftover`` holds bytes already received past it."""

    user: str
    protocol: HandshakeProtocol
    leftover: bytes

    @property
    def max_concurrent_queries(self) -> int:
        # V0_3 clients expect their queries to run one at a time.
        return 1 if self.protocol == "V0_3" else MAX_CONCURRENT_QUERIES


@dataclass(frozen=True, slots=True)
class Failed:
    """Write ``data_to_send``, then close the connection.

    ``error_code`` is ``None`` for the plain-text errors of pre-V1_0 protocols.
    """

    data_to_send: bytes
    message: str
    error_code: int | None


@dataclass(frozen=True, slots=True)
class CheckAuthKey:
    """Check ``key`` against ``credential`` (PBKDF2: slow, so the caller does it
    off the event loop), then call ``key_checked`` with the outcome; ``credential``
    is None when there is no admin user."""

    credential: Credential | None
    key: bytes


HandshakeEvent = Send | Authenticated | Failed | CheckAuthKey


class _Failure(Exception):
    def __init__(self, event: Failed) -> None:
        super().__init__(event.message)
        self.event = event


def _json_message(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj) + b"\0"


def _fail_json(error: tuple[int, str]) -> NoReturn:
    code, message = error
    data = _json_message({"success": False, "error": message, "error_code": code})
    raise _Failure(Failed(data, message, code))


def _fail_text(message: str) -> NoReturn:
    raise _Failure(Failed(b"ERROR: " + message.encode("utf-8") + b"\n\0", message, None))


def _client_first_authentication(message: dict[str, Any]) -> str:
    """Validate client message #1 in RethinkDB's order; return its SCRAM part."""
    version = message.get("protocol_version")
    if type(version) not in (int, float):
        _fail_json(EXPECTED_NUMBER_PROTOCOL_VERSION)
    if version != 0:
        _fail_json(UNSUPPORTED_PROTOCOL_VERSION)
    method = message.get("authentication_method")
    if type(method) is not str:
        _fail_json(EXPECTED_STRING_AUTH_METHOD)
    if method != SUPPORTED_AUTHENTICATION_METHOD:
        _fail_json(UNSUPPORTED_AUTH_METHOD)
    return _authentication(message)


def _authentication(message: dict[str, Any]) -> str:
    authentication = message.get("authentication")
    if type(authentication) is not str:
        _fail_json(EXPECTED_STRING_AUTHENTICATION)
    return authentication


def _scram_step(step: Callable[[str], str], client_message: str) -> bytes:
    try:
        server_message = step(client_message)
    except ScramError as error:
        _fail_json((error.code, error.message))
    return _json_message({"success": True, "authentication": server_message})


class ServerHandshake:
    """One connection's handshake.  Call ``feed`` with every chunk received."""

    def __init__(
        self,
        lookup_user: Callable[[str], Credential | None],
        server_version: str,
        *,
        make_nonce: Callable[[], str] = new_server_nonce,
        decoy: Callable[[str], Credential] = process_decoy,
    ) -> None:
        self._lookup_user = lookup_user
        self._server_version = server_version
        self._scram = ScramExchange(lookup_user, make_nonce, decoy)
        self._buffer = bytearray()
        self._events: list[HandshakeEvent] = []
        self._step: Callable[[], bool] | None = self._read_magic
        self._legacy_protocol: HandshakeProtocol = "V0_4"
        self._auth_key_length = 0

    @property
    def finished(self) -> bool:
        return self._step is None

    def feed(self, data: bytes) -> list[HandshakeEvent]:
        if self._step is None:
            raise RuntimeError("the handshake is already finished")
        self._buffer += data
        events: list[HandshakeEvent] = []
        self._events = events
        try:
            while self._step is not None and self._step():
                pass
        except _Failure as failure:
            self._finish()
            events.append(failure.event)
        return events

    # -- steps: each returns True when it made progress and parsing should go on

    def _read_magic(self) -> bool:
        if len(self._buffer) < 4:
            return False
        magic = _U32.unpack_from(self._buffer)[0]
        del self._buffer[:4]
        if magic == Version.V1_0:
            self._send_server_greeting()
            self._step = self._read_client_first
        elif magic in (Version.V0_3, Version.V0_4):
            self._legacy_protocol = "V0_3" if magic == Version.V0_3 else "V0_4"
            self._step = self._read_auth_key_length
        elif magic in (Version.V0_1, Version.V0_2):
            _fail_text(PROTOBUF_UNSUPPORTED)
        else:
            _fail_text(UNSUPPORTED_MAGIC)
        return True

    def _send_server_greeting(self) -> None:
        greeting = {
            "success": True,
            "min_protocol_version": 0,
            "max_protocol_version": 0,
            "server_version": self._server_version,
        }
        self._events.append(Send(_json_message(greeting)))

    def _read_client_first(self) -> bool:
        message = self._take_json_message()
        if message is None:
            return False
        authentication = _client_first_authentication(message)
        self._events.append(Send(_scram_step(self._scram.first, authentication)))
        self._step = self._read_client_final
        return True

    def _read_client_final(self) -> bool:
        message = self._take_json_message()
        if message is None:
            return False
        self._events.append(Send(_scram_step(self._scram.final, _authentication(message))))
        self._authenticate(self._scram.username or "", "V1_0")
        return False

    def _read_auth_key_length(self) -> bool:
        if len(self._buffer) < 4:
            return False
        self._auth_key_length = _U32.unpack_from(self._buffer)[0]
        del self._buffer[:4]
        if self._auth_key_length > MAX_AUTH_KEY_LENGTH:
            _fail_text(AUTH_KEY_TOO_LONG)
        self._step = self._read_auth_key
        return True

    def _read_auth_key(self) -> bool:
        length = self._auth_key_length
        if len(self._buffer) < length:
            return False
        key = bytes(self._buffer[:length])
        del self._buffer[:length]
        # The reference server checks the key before reading the sub-protocol.
        self._events.append(CheckAuthKey(self._lookup_user(LEGACY_USER), key))
        self._step = self._await_key_check
        return False

    def _await_key_check(self) -> bool:
        return False

    def key_checked(self, ok: bool) -> list[HandshakeEvent]:
        """Go on after ``CheckAuthKey``: fail, or read what follows the key."""
        if self._step != self._await_key_check:
            raise RuntimeError("no auth key is being checked")
        self._step = self._read_sub_protocol if ok else self._refuse_key
        return self.feed(b"")

    def _refuse_key(self) -> bool:
        _fail_text(INCORRECT_AUTH_KEY)

    def _read_sub_protocol(self) -> bool:
        if len(self._buffer) < 4:
            return False
        sub_protocol = _I32.unpack_from(self._buffer)[0]
        del self._buffer[:4]
        if sub_protocol == Protocol.PROTOBUF:
            _fail_text(PROTOBUF_UNSUPPORTED)
        if sub_protocol != Protocol.JSON:
            _fail_text(f"Unrecognized protocol specified: '{sub_protocol}'")
        self._events.append(Send(LEGACY_SUCCESS))
        self._authenticate(LEGACY_USER, self._legacy_protocol)
        return False

    # -- helpers

    def _take_json_message(self) -> dict[str, Any] | None:
        """Pop one NUL-terminated JSON object off the buffer, if complete."""
        end = self._buffer.find(b"\0", 0, MAX_CLIENT_MESSAGE)
        if end < 0:
            if len(self._buffer) >= MAX_CLIENT_MESSAGE:
                _fail_json(LIMITED_READ_BUFFER)
            return None
        raw = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            _fail_json(INVALID_JSON_OBJECT)
        if type(message) is not dict:
            _fail_json(INVALID_JSON_OBJECT)
        return message

    def _authenticate(self, user: str, protocol: HandshakeProtocol) -> None:
        self._events.append(Authenticated(user, protocol, bytes(self._buffer)))
        self._finish()

    def _finish(self) -> None:
        self._step = None
        self._buffer.clear()
