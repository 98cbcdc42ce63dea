"""SCRAM-SHA-256 (RFC 5802 / RFC 7677), server side, as RethinkDB speaks it.

No channel binding, no extensions, errors reported through RethinkDB's own
numbered codes instead of the RFC's ``e=`` attribute.

Passwords are hashed as their UTF-8 bytes, without SASLprep: the official
drivers send the raw password bytes (the JavaScript driver as UTF-8, the Python
driver as Latin-1) and never normalise them, so normalising on the server would
only lock out users whose passwords normalise differently.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

ALGORITHM = "SCRAM-SHA-256"
DEFAULT_ITERATIONS = 4096
SALT_LENGTH = 16
SERVER_NONCE_LENGTH = 18
GS2_HEADER_NO_BINDING = "n,"
CHANNEL_BINDING_B64 = "biws"  # base64("n,,"): the gs2 header echoed in client-final

# RethinkDB's authentication error codes (auth/authentication_error.hpp).
INVALID_ENCODING = 10
EXTENSIONS_NOT_SUPPORTED = 11
WRONG_PASSWORD = 12
CHANNEL_BINDING_NOT_SUPPORTED = 15
UNKNOWN_USER = 17  # never sent: an unknown user is answered as a wrong password
INVALID_USERNAME_ENCODING = 18
OTHER_ERROR = 20

_MESSAGES = {
    INVALID_ENCODING: "Invalid encoding",
    EXTENSIONS_NOT_SUPPORTED: "Extensions not supported",
    WRONG_PASSWORD: "Wrong password",
    CHANNEL_BINDING_NOT_SUPPORTED: "Channel binding is not supported",
    UNKNOWN_USER: "Unknown user",
    INVALID_USERNAME_ENCODING: "Invalid username encoding",
    OTHER_ERROR: "Other error",
}


class ScramError(Exception):
    """An authentication failure with RethinkDB's code and exact message."""

    def __init__(self, code: int) -> None:
        super().__init__(_MESSAGES[code])
        self.code = code
        self.message = _MESSAGES[code]


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _password_bytes(password: str | bytes) -> bytes:
    return password if isinstance(password, bytes) else password.encode("utf-8")


def salt_password(password: str | bytes, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", _password_bytes(password), salt, iterations)


@dataclass(frozen=True)
class Credential:
    """What the server stores per user: never the password itself.

    The salt is kept with the user and reused on every login, so drivers
    (which cache PBKDF2 results per password/salt/iterations) reconnect cheaply.
    """

    salt: bytes
    iterations: int
    salted_password: bytes

    @cached_property
    def server_key(self) -> bytes:
        return _hmac(self.salted_password, b"Server Key")

    @cached_property
    def stored_key(self) -> bytes:
        return hashlib.sha256(_hmac(self.salted_password, b"Client Key")).digest()

    def check_password(self, password: str | bytes) -> bool:
        """Constant-time check of a plaintext password (costs one PBKDF2 run)."""
        candidate = salt_password(password, self.salt, self.iterations)
        return hmac.compare_digest(candidate, self.salted_password)

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": ALGORITHM,
            "salt": self.salt,
            "iterations": self.iterations,
            "salted_password": self.salted_password,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Credential:
        """Inverse of ``to_dict``; raises ``ValueError`` on anything malformed."""
        if data.get("algorithm") != ALGORITHM:
            raise ValueError(f"unsupported credential algorithm: {data.get('algorithm')!r}")
        salt, iterations, salted = data.get("salt"), data.get("iterations"), data.get("salted_password")
        if not isinstance(salt, bytes) or not isinstance(salted, bytes) or len(salted) != 32:
            raise ValueError("credential salt and salted_password must be bytes (32-byte hash)")
        if type(iterations) is not int or iterations < 1:
            raise ValueError("credential iterations must be a positive integer")
        return cls(salt=salt, iterations=iterations, salted_password=salted)


def make_credential(password: str | bytes, iterations: int = DEFAULT_ITERATIONS) -> Credential:
    if iterations < 1:
        raise ValueError("iterations must be >= 1")
    salt = os.urandom(SALT_LENGTH)
    return Credential(salt, iterations, salt_password(password, salt, iterations))


def decoy_credential(secret: bytes, name: str) -> Credential:
    """What an unknown user ``name`` is challenged with: a salt derived from
    ``secret`` and the name, so asking twice shows the same salt, as for a real
    user (RethinkDB draws a new one each time, which tells that the user does
    not exist), and a salted password nobody knows."""
    encoded = name.encode("utf-8", "surrogatepass")
    salt = _hmac(secret, b"salt\0" + encoded)[:SALT_LENGTH]
    return Credential(salt, DEFAULT_ITERATIONS, _hmac(secret, b"password\0" + encoded))


# Decoys of exchanges whose caller gives no secret of its own: stable while the
# process lives (the server passes a secret kept in its data directory).
_PROCESS_SECRET = os.urandom(32)


def process_decoy(name: str) -> Credential:
    return decoy_credential(_PROCESS_SECRET, name)


def new_server_nonce() -> str:
    return _b64(os.urandom(SERVER_NONCE_LENGTH))


def split_attributes(message: str) -> dict[str, str]:
    """Parse ``k=v,k=v``: single ASCII-letter keys, no duplicates."""
    attributes: dict[str, str] = {}
    for item in message.split(","):
        key = item[:1]
        if len(item) < 2 or item[1] != "=" or not (key.isascii() and key.isalpha()) or key in attributes:
            raise ScramError(INVALID_ENCODING)
        attributes[key] = item[2:]
    return attributes


def decode_saslname(name: str) -> str:
    """Undo SCRAM's username escaping: ``=2C`` is ``,`` and ``=3D`` is ``=``."""
    if "=" not in name:
        return name
    parts = name.split("=")
    decoded = [parts[0]]
    for part in parts[1:]:
        escape, rest = part[:2], part[2:]
        if escape == "2C":
            decoded.append("," + rest)
        elif escape == "3D":
            decoded.append("=" + rest)
        else:
            raise ScramError(INVALID_USERNAME_ENCODING)
    return "".join(decoded)


def _client_first_bare(client_first: str) -> str:
    if not client_first.startswith(GS2_HEADER_NO_BINDING):
        raise ScramError(CHANNEL_BINDING_NOT_SUPPORTED)
    end_of_gs2_header = client_first.find(",", len(GS2_HEADER_NO_BINDING))
    if end_of_gs2_header < 0:
        raise ScramError(INVALID_ENCODING)
    return client_first[end_of_gs2_header + 1 :]


class ScramExchange:
    """One server-side SCRAM conversation: ``first()`` then ``final()``.

    Both methods raise ``ScramError``; after an error the exchange is over.
    """

    def __init__(
        self,
        lookup_user: Callable[[str], Credential | None],
        make_nonce: Callable[[], str] = new_server_nonce,
        decoy: Callable[[str], Credential] = process_decoy,
    ) -> None:
        self._lookup_user = lookup_user
        self._make_nonce = make_nonce
        self._decoy = decoy
        self.username: str | None = None
        self._credential: Credential | None = None
        self._user_known = False
        self._nonce = ""
        self._auth_message_prefix = ""

    def first(self, client_first: str) -> str:
        """Take client-first-message, return server-first-message."""
        bare = _client_first_bare(client_first)
        attributes = split_attributes(bare)
        if "m" in attributes:
            raise ScramError(EXTENSIONS_NOT_SUPPORTED)
        if "n" not in attributes or "r" not in attributes:
            raise ScramError(INVALID_ENCODING)
        self.username = decode_saslname(attributes["n"])
        credential = self._lookup_user(self.username)
        self._user_known = credential is not None
        self._credential = credential if credential is not None else self._decoy(self.username)
        self._nonce = attributes["r"] + self._make_nonce()
        server_first = f"r={self._nonce},s={_b64(self._credential.salt)},i={self._credential.iterations}"
        self._auth_message_prefix = bare + "," + server_first + ","
        return server_first

    def final(self, client_final: str) -> str:
        """Take client-final-message, return server-final-message (``v=...``)."""
        if self._credential is None:
            raise RuntimeError("final() called before first()")
        attributes = split_attributes(client_final)
        if "c" not in attributes or "r" not in attributes or "p" not in attributes:
            raise ScramError(INVALID_ENCODING)
        if attributes["c"] != CHANNEL_BINDING_B64:
            raise ScramError(INVALID_ENCODING)
        if attributes["r"] != self._nonce:
            raise ScramError(OTHER_ERROR)
        # Attribute values cannot contain commas, so ",p=" can only start the proof.
        without_proof = client_final.rpartition(",p=")[0]
        auth_message = (self._auth_message_prefix + without_proof).encode("utf-8")
        # An unknown user's proof is checked against the decoy too, and fails as a
        # wrong password does: the same answer, after the same work (RethinkDB
        # answers "Unknown user", which tells who has an account).
        self._verify_proof(attributes["p"], auth_message)
        if not self._user_known:
            raise ScramError(WRONG_PASSWORD)
        return "v=" + _b64(_hmac(self._credential.server_key, auth_message))

    def _verify_proof(self, proof: str, auth_message: bytes) -> None:
        credential = self._credential
        assert credential is not None
        client_signature = _hmac(credential.stored_key, auth_message)
        client_key = _hmac(credential.salted_password, b"Client Key")
        expected = _b64(bytes(a ^ b for a, b in zip(client_key, client_signature)))
        if not hmac.compare_digest(expected.encode("ascii"), proof.encode("utf-8")):
            raise ScramError(WRONG_PASSWORD)
