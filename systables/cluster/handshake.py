"""The cluster port's header line and join exchange (sans-IO).

Every conversation opens with one JSON line ``{"systables_cluster": 1,
"op": ...}``.  A joining server sends ``"op": "join"``; the server it joins
answers one line with where etcd is and, when the newcomer is to run an etcd
member, the ``--initial-cluster`` it must start with.  A replica sends
``"op": "replicate"``, then the replication stream follows (``wire.py``,
``replication.py``).  Anything else on the port is refused as RethinkDB words
it in its log ("received invalid clustering header")."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

PROTOCOL = 1
MAX_LINE = 64 * 1024
INVALID_HEADER = "received invalid clustering header"


class HandshakeError(Exception):
    pass


@dataclass(frozen=True)
class JoinRequest:
    server_id: str
    name: str
    peer_url: str  # where the newcomer's etcd member would listen for peers

    def encode(self) -> bytes:
        body = {"systables_cluster": PROTOCOL, "op": "join", "server_id": self.server_id, "name": self.name, "peer_url": self.peer_url}
        return orjson.dumps(body) + b"\n"


@dataclass(frozen=True)
class JoinAnswer:
    endpoints: list[str]  # etcd client URLs
    initial_cluster: str | None  # set when the newcomer runs a member (a learner)
    member_id: str | None
    error: str | None = None

    def encode(self) -> bytes:
        body = {"endpoints": self.endpoints, "initial_cluster": self.initial_cluster, "member_id": self.member_id, "error": self.error}
        return orjson.dumps(body) + b"\n"


def _line(data: bytes) -> dict:
    if len(data) > MAX_LINE or not data.endswith(b"\n"):
        raise HandshakeError(INVALID_HEADER)
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise HandshakeError(INVALID_HEADER) from e
    if type(body) is not dict:
        raise HandshakeError(INVALID_HEADER)
    return body


def parse_header(data: bytes, ops: tuple[str, ...]) -> dict:
    """The first line of a cluster-port conversation, whose ``op`` is one of ``ops``."""
    body = _line(data)
    if body.get("systables_cluster") != PROTOCOL or body.get("op") not in ops:
        raise HandshakeError(INVALID_HEADER)
    return body


def parse_request(data: bytes) -> JoinRequest:
    return join_request(parse_header(data, ("join",)))


def join_request(body: dict) -> JoinRequest:
    fields = (body.get("server_id"), body.get("name"), body.get("peer_url"))
    if not all(type(v) is str for v in fields):
        raise HandshakeError(INVALID_HEADER)
    return JoinRequest(*fields)  # type: ignore[arg-type]


def parse_answer(data: bytes) -> JoinAnswer:
    body = _line(data)
    endpoints = body.get("endpoints")
    if type(endpoints) is not list or not all(type(e) is str for e in endpoints):
        raise HandshakeError("the joined server answered something else than a join answer")
    return JoinAnswer(endpoints, body.get("initial_cluster"), body.get("member_id"), body.get("error"))
