from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rethinkdb.errors import ReqlAuthError, ReqlDriverError
from rethinkdb.handshake import HandshakeV1_0

from systables.protocol.framing import encode_frame
from systables.protocol.handshake import (
    Authenticated,
    CheckAuthKey,
    Failed,
    HandshakeEvent,
    Send,
    HandshakeProtocol,
    ServerHandshake,
)
from systables.protocol.scram import Credential, make_credential
from systables.datum.ql2 import Protocol, Version

SERVER_VERSION = "2.4.4-systables"
V1_0 = struct.pack("<I", Version.V1_0)
GREETING = {"success": True, "min_protocol_version": 0, "max_protocol_version": 0, "server_version": SERVER_VERSION}
UNSUPPORTED_MAGIC = (
    b"ERROR: Received an unsupported protocol version. This port is for RethinkDB queries. "
    b"Does your client driver version not match the server?\n\0"
)
PROTOBUF_UNSUPPORTED = b"ERROR: The PROTOBUF client protocol is no longer supported\n\0"
FIXED_NONCE = "SERVERNONCE"

Lookup = Callable[[str], Credential | None]


def new_handshake(lookup_user: Lookup) -> ServerHandshake:
    return ServerHandshake(lookup_user, SERVER_VERSION, make_nonce=lambda: FIXED_NONCE)


def message(obj: object) -> bytes:
    return json.dumps(obj).encode() + b"\0"


def client_first(authentication: str = "n,,n=admin,r=CLIENTNONCE", **overrides: object) -> bytes:
    fields = {"protocol_version": 0, "authentication_method": "SCRAM-SHA-256", "authentication": authentication}
    return message(fields | overrides)


def decode(data: bytes) -> dict:
    assert data.endswith(b"\0") and data.count(b"\0") == 1
    return json.loads(data[:-1])


def sent(event: HandshakeEvent) -> bytes:
    assert isinstance(event, Send)
    return event.data


def as_failed(event: HandshakeEvent) -> Failed:
    assert isinstance(event, Failed)
    return event


def as_authenticated(event: HandshakeEvent) -> Authenticated:
    assert isinstance(event, Authenticated)
    return event


def failure(events: list[HandshakeEvent]) -> tuple[int | None, str]:
    """The error code and text the client receives: JSON for V1_0, else plain text."""
    failed = as_failed(events[-1])
    if failed.error_code is None:
        return None, failed.data_to_send.decode()
    body = decode(failed.data_to_send)
    assert body == {"success": False, "error": failed.message, "error_code": failed.error_code}
    return body["error_code"], body["error"]


def fail_after_greeting(lookup_user: Lookup, data: bytes) -> tuple[int | None, str]:
    events = new_handshake(lookup_user).feed(V1_0 + data)
    assert events[0] == Send(message(GREETING).replace(b", ", b",").replace(b": ", b":"))
    assert len(events) == 2
    return failure(events)


# -- V1_0 greeting and pipelining


def test_greeting_is_sent_as_soon_as_the_magic_arrives(lookup_user: Lookup) -> None:
    handshake = new_handshake(lookup_user)
    assert handshake.feed(V1_0[:3]) == []
    [greeting] = handshake.feed(V1_0[3:])
    assert isinstance(greeting, Send)
    assert decode(greeting.data) == GREETING


def test_magic_and_client_first_in_one_chunk(lookup_user: Lookup) -> None:
    events = new_handshake(lookup_user).feed(V1_0 + client_first())
    assert [type(event) for event in events] == [Send, Send]
    assert decode(sent(events[1]))["authentication"].startswith("r=CLIENTNONCE" + FIXED_NONCE + ",s=")


def test_client_message_split_at_every_byte(lookup_user: Lookup) -> None:
    handshake = new_handshake(lookup_user)
    events = []
    for byte in V1_0 + client_first():
        events += handshake.feed(bytes([byte]))
    assert [type(event) for event in events] == [Send, Send]


def test_whole_handshake_and_queries_in_one_chunk(lookup_user: Lookup) -> None:
    # With a known server nonce a client can precompute everything.
    admin = lookup_user("admin")
    assert admin is not None
    bare = "n=admin,r=CLIENTNONCE"
    server_first = f"r=CLIENTNONCE{FIXED_NONCE},s={b64(admin.salt)},i={admin.iterations}"
    final = scram_client_final(b"", bare, server_first)
    queries = encode_frame(0, b"[1,1,{}]") + encode_frame(1, b"[5]")
    events = new_handshake(lookup_user).feed(V1_0 + client_first("n,," + bare) + message({"authentication": final}) + queries)
    assert [type(event) for event in events] == [Send, Send, Send, Authenticated]
    assert events[3] == Authenticated("admin", "V1_0", queries)
    assert decode(sent(events[2]))["success"] is True


def test_feeding_after_the_end_is_a_programming_error(lookup_user: Lookup) -> None:
    handshake = new_handshake(lookup_user)
    handshake.feed(b"GET / HTTP/1.1\r\n")
    assert handshake.finished
    with pytest.raises(RuntimeError):
        handshake.feed(b"more")


# -- V1_0 protocol errors (codes 1-9)


@pytest.mark.parametrize(
    ("overrides", "code", "error"),
    [
        ({"protocol_version": "0"}, 1, "Expected a number for `protocol_version`."),
        ({"protocol_version": None}, 1, "Expected a number for `protocol_version`."),
        ({"protocol_version": False}, 1, "Expected a number for `protocol_version`."),
        ({"protocol_version": 1}, 2, "Unsupported `protocol_version`."),
        ({"protocol_version": 0.5}, 2, "Unsupported `protocol_version`."),
        ({"protocol_version": 1, "authentication_method": 3}, 2, "Unsupported `protocol_version`."),
        ({"authentication_method": 3}, 3, "Expected a string for `authentication_method`."),
        ({"authentication_method": "PLAIN"}, 4, "Unsupported `authentication_method`."),
        ({"authentication_method": "scram-sha-256"}, 4, "Unsupported `authentication_method`."),
        ({"authentication": ["n,,"]}, 5, "Expected a string for `authentication`."),
    ],
)
def test_client_first_field_errors(lookup_user: Lookup, overrides: dict, code: int, error: str) -> None:
    assert fail_after_greeting(lookup_user, client_first(**overrides)) == (code, error)


def test_missing_fields_are_reported_in_order(lookup_user: Lookup) -> None:
    assert fail_after_greeting(lookup_user, message({}))[0] == 1
    assert fail_after_greeting(lookup_user, message({"protocol_version": 0}))[0] == 3
    fields = {"protocol_version": 0, "authentication_method": "SCRAM-SHA-256"}
    assert fail_after_greeting(lookup_user, message(fields))[0] == 5


@pytest.mark.parametrize(
    "raw",
    [b"not json\0", b"[1, 2]\0", b'"string"\0', b"null\0", b"\0", b'{"a": NaN}\0', b'{"a": 1e400}\0', b'{"\xff": 1}\0'],
)
def test_invalid_json_object(lookup_user: Lookup, raw: bytes) -> None:
    assert fail_after_greeting(lookup_user, raw) == (8, "Invalid JSON object.")


def test_client_message_may_use_the_whole_2048_byte_buffer(lookup_user: Lookup) -> None:
    padded = client_first()[:-1].ljust(2047) + b"\0"
    events = new_handshake(lookup_user).feed(V1_0 + padded)
    assert [type(event) for event in events] == [Send, Send]


def test_client_message_longer_than_the_buffer(lookup_user: Lookup) -> None:
    handshake = new_handshake(lookup_user)
    assert len(handshake.feed(V1_0 + b" " * 2047)) == 1  # just the greeting: may still end in time
    events = handshake.feed(b" ")
    assert failure(events) == (7, "Limited read buffer size.")


def test_client_final_longer_than_the_buffer(lookup_user: Lookup) -> None:
    handshake = new_handshake(lookup_user)
    handshake.feed(V1_0 + client_first())
    assert failure(handshake.feed(b"{" * 4096)) == (7, "Limited read buffer size.")


def test_client_final_needs_an_authentication_string(lookup_user: Lookup) -> None:
    handshake = new_handshake(lookup_user)
    handshake.feed(V1_0 + client_first())
    events = handshake.feed(message({"authentication": 1}))
    assert failure(events) == (5, "Expected a string for `authentication`.")


def test_client_final_bad_json(lookup_user: Lookup) -> None:
    handshake = new_handshake(lookup_user)
    handshake.feed(V1_0 + client_first())
    assert failure(handshake.feed(b"{]\0")) == (8, "Invalid JSON object.")


# -- V1_0 SCRAM errors (codes 10-20), as JSON


@pytest.mark.parametrize(
    ("authentication", "code", "error"),
    [
        ("y,,n=admin,r=abc", 15, "Channel binding is not supported"),
        ("n,,n=admin", 10, "Invalid encoding"),
        ("n,,n=admin,r=abc,m=x", 11, "Extensions not supported"),
        ("n,,n=ad=mn,r=abc", 18, "Invalid username encoding"),
    ],
)
def test_client_first_scram_errors(lookup_user: Lookup, authentication: str, code: int, error: str) -> None:
    assert fail_after_greeting(lookup_user, client_first(authentication)) == (code, error)


@pytest.mark.parametrize(
    ("final", "code", "error"),
    [
        ("c=biws,r=CLIENTNONCESERVERNONCE", 10, "Invalid encoding"),
        ("c=eSws,r=CLIENTNONCESERVERNONCE,p=AAAA", 10, "Invalid encoding"),
        ("c=biws,r=CLIENTNONCE,p=AAAA", 20, "Other error"),
        ("c=biws,r=CLIENTNONCESERVERNONCE,p=AAAA", 12, "Wrong password"),
    ],
)
def test_client_final_scram_errors(lookup_user: Lookup, final: str, code: int, error: str) -> None:
    handshake = new_handshake(lookup_user)
    handshake.feed(V1_0 + client_first())
    assert failure(handshake.feed(message({"authentication": final}))) == (code, error)


def test_unknown_user_fails_only_at_the_final_message_as_a_wrong_password(lookup_user: Lookup) -> None:
    handshake = new_handshake(lookup_user)
    events = handshake.feed(V1_0 + client_first("n,,n=nobody,r=CLIENTNONCE"))
    assert [type(event) for event in events] == [Send, Send]
    assert ",i=4096" in decode(sent(events[1]))["authentication"]
    final = message({"authentication": "c=biws,r=CLIENTNONCESERVERNONCE,p=AAAA"})
    assert failure(handshake.feed(final)) == (12, "Wrong password")


# -- against the official Python driver's client code


def bytes_for_client(event: HandshakeEvent) -> bytes:
    if isinstance(event, Send):
        return event.data
    return event.data_to_send if isinstance(event, Failed) else b""


def drive_python_driver(handshake: ServerHandshake, user: str, password: str, after: bytes = b"") -> list[HandshakeEvent]:
    """Run the driver's handshake loop (net.py) against the server, in memory."""
    client = HandshakeV1_0(json.JSONDecoder(), json.JSONEncoder(), "localhost", 28015, user, password)
    to_client = bytearray()
    events: list[HandshakeEvent] = []
    response = None
    while True:
        request = client.next_message(response)
        if request is None:
            return events
        if request != "":
            is_last_request = client._state == 3
            for event in handshake.feed(request + (after if is_last_request else b"")):
                events.append(event)
                to_client += bytes_for_client(event)
        end = to_client.index(b"\0")  # the driver reads up to a NUL, byte by byte
        response = bytes(to_client[:end])
        del to_client[: end + 1]


@pytest.mark.parametrize(("user", "password"), [("admin", ""), ("alice", "s3cret password"), ("a,b=c", "commas")])
def test_python_driver_authenticates(lookup_user: Lookup, user: str, password: str) -> None:
    events = drive_python_driver(ServerHandshake(lookup_user, SERVER_VERSION), user, password)
    assert [type(event) for event in events] == [Send, Send, Send, Authenticated]
    assert events[-1] == Authenticated(user, "V1_0", b"")
    assert as_authenticated(events[-1]).max_concurrent_queries == 1024


def test_python_driver_pipelined_query_becomes_leftover(lookup_user: Lookup) -> None:
    query = encode_frame(0, b"[1,1,{}]")
    events = drive_python_driver(ServerHandshake(lookup_user, SERVER_VERSION), "alice", "s3cret password", query)
    assert events[-1] == Authenticated("alice", "V1_0", query)


@pytest.mark.parametrize(
    ("user", "password", "error"),
    [("alice", "wrong", "Wrong password"), ("admin", "x", "Wrong password"), ("nobody", "", "Wrong password")],
)
def test_python_driver_rejected(lookup_user: Lookup, user: str, password: str, error: str) -> None:
    with pytest.raises(ReqlAuthError, match=f"^Could not connect to localhost:28015, {error}$"):
        drive_python_driver(ServerHandshake(lookup_user, SERVER_VERSION), user, password)


def test_python_driver_rejects_a_server_that_lies_about_the_password(lookup_user: Lookup) -> None:
    impostor = {"alice": make_credential("something else", iterations=64)}
    with pytest.raises(ReqlAuthError, match="Wrong password"):
        drive_python_driver(ServerHandshake(impostor.get, SERVER_VERSION), "alice", "s3cret password")


def test_python_driver_sees_protocol_errors_as_driver_errors(lookup_user: Lookup) -> None:
    handshake = ServerHandshake(lookup_user, SERVER_VERSION)
    client = HandshakeV1_0(json.JSONDecoder(), json.JSONEncoder(), "localhost", 28015, "admin", "")
    handshake.feed(V1_0)
    data = as_failed(handshake.feed(client_first(protocol_version=7))[0]).data_to_send
    client._state = 1
    with pytest.raises(ReqlDriverError) as info:
        client.next_message(data[:-1])
    assert not isinstance(info.value, ReqlAuthError)
    assert "Unsupported `protocol_version`." in str(info.value)


# -- V0_4 / V0_3


def legacy(version: Version, key: bytes, sub_protocol: int = Protocol.JSON) -> bytes:
    return struct.pack("<II", version, len(key)) + key + struct.pack("<I", sub_protocol)


def feed_checked(handshake: ServerHandshake, data: bytes) -> list:
    """``feed``, answering each CheckAuthKey as the server does (there, in a worker thread)."""
    events = handshake.feed(data)
    while events and isinstance(events[-1], CheckAuthKey):
        check = events.pop()
        ok = check.credential is not None and check.credential.check_password(check.key)
        events += handshake.key_checked(ok)
    return events


def test_the_auth_key_is_checked_by_the_caller() -> None:
    users = {"admin": make_credential("hunter2", iterations=16)}
    handshake = new_handshake(users.get)
    [check] = handshake.feed(legacy(Version.V0_4, b"hunter3"))
    assert isinstance(check, CheckAuthKey) and check.key == b"hunter3" and check.credential is users["admin"]
    assert failure(handshake.key_checked(False)) == (None, "ERROR: Incorrect authorization key.\n\0")


@pytest.mark.parametrize(("version", "name", "concurrency"), [(Version.V0_4, "V0_4", 1024), (Version.V0_3, "V0_3", 1)])
def test_legacy_success(lookup_user: Lookup, version: Version, name: HandshakeProtocol, concurrency: int) -> None:
    leftover = encode_frame(3, b"[1,1]")
    events = feed_checked(new_handshake(lookup_user), legacy(version, b"") + leftover)
    assert events == [Send(b"SUCCESS\0"), Authenticated("admin", name, leftover)]
    assert as_authenticated(events[1]).max_concurrent_queries == concurrency


def test_legacy_key_is_the_admin_password() -> None:
    users = {"admin": make_credential("hunter2", iterations=16)}
    events = feed_checked(new_handshake(users.get), legacy(Version.V0_4, b"hunter2"))
    assert isinstance(events[-1], Authenticated)
    events = feed_checked(new_handshake(users.get), legacy(Version.V0_4, b"hunter3"))
    assert failure(events) == (None, "ERROR: Incorrect authorization key.\n\0")


def test_legacy_without_admin_user() -> None:
    no_users: dict[str, Credential] = {}
    assert failure(feed_checked(new_handshake(no_users.get), legacy(Version.V0_4, b""))) == (
        None,
        "ERROR: Incorrect authorization key.\n\0",
    )


def test_legacy_byte_by_byte(lookup_user: Lookup) -> None:
    handshake = new_handshake(lookup_user)
    events = []
    for byte in legacy(Version.V0_3, b""):
        events += feed_checked(handshake, bytes([byte]))
    assert events == [Send(b"SUCCESS\0"), Authenticated("admin", "V0_3", b"")]


def test_legacy_key_length_limit(lookup_user: Lookup) -> None:
    ok = feed_checked(new_handshake(lookup_user), legacy(Version.V0_4, b"k" * 2048))
    assert as_failed(ok[-1]).message == "Incorrect authorization key."
    too_long = feed_checked(new_handshake(lookup_user), struct.pack("<II", Version.V0_4, 2049))
    assert failure(too_long) == (None, "ERROR: Client provided an authorization key that is too long.\n\0")


@pytest.mark.parametrize(
    ("sub_protocol", "error"),
    [
        (Protocol.PROTOBUF, PROTOBUF_UNSUPPORTED),
        (12345, b"ERROR: Unrecognized protocol specified: '12345'\n\0"),
        (0xFFFFFFFF, b"ERROR: Unrecognized protocol specified: '-1'\n\0"),
    ],
)
def test_legacy_sub_protocol(lookup_user: Lookup, sub_protocol: int, error: bytes) -> None:
    assert failure(feed_checked(new_handshake(lookup_user), legacy(Version.V0_4, b"", sub_protocol))) == (None, error.decode())


@pytest.mark.parametrize("version", [Version.V0_1, Version.V0_2])
def test_protobuf_versions(lookup_user: Lookup, version: Version) -> None:
    events = new_handshake(lookup_user).feed(struct.pack("<I", version) + b"anything")
    assert failure(events) == (None, PROTOBUF_UNSUPPORTED.decode())


def test_unknown_magic_gets_plain_text(lookup_user: Lookup) -> None:
    events = new_handshake(lookup_user).feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    failed = as_failed(events[0])
    assert events == [Failed(UNSUPPORTED_MAGIC, failed.message, None)]
    assert failed.message.startswith("Received an unsupported protocol version.")


# -- robustness

ANY_MAGIC = st.sampled_from([struct.pack("<I", v) for v in Version] + [b"", b"GET "])


@settings(max_examples=300)
@given(prefix=ANY_MAGIC, data=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 3000), max_size=8))
def test_random_streams_only_produce_documented_events(prefix: bytes, data: bytes, cuts: list[int]) -> None:
    stream = prefix + data
    handshake = new_handshake(lambda name: make_credential("", iterations=1) if name == "admin" else None)
    bounds = [0, *sorted(cut for cut in cuts if cut <= len(stream)), len(stream)]
    for start, end in zip(bounds, bounds[1:]):
        events = handshake.feed(stream[start:end])
        assert all(isinstance(event, (Send, Failed, Authenticated)) for event in events)
        if events and not isinstance(events[-1], Send):
            assert handshake.finished
            break
        assert not handshake.finished


@settings(max_examples=300)
@given(
    fields=st.dictionaries(
        st.sampled_from(["protocol_version", "authentication_method", "authentication", "x"]),
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text()),
    ),
    final=st.binary(max_size=100),
)
def test_random_client_messages_fail_cleanly(fields: dict, final: bytes) -> None:
    handshake = new_handshake(lambda name: None)
    events = handshake.feed(V1_0 + message(fields) + final + b"\0")
    assert isinstance(events[0], Send)
    assert 1 <= (as_failed(events[-1]).error_code or 0) <= 20


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def scram_client_final(password: bytes, bare: str, server_first: str) -> str:
    attributes = dict(item.split("=", 1) for item in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password, base64.b64decode(attributes["s"]), int(attributes["i"]))
    without_proof = "c=biws,r=" + attributes["r"]
    auth_message = f"{bare},{server_first},{without_proof}".encode()
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    signature = hmac.digest(hashlib.sha256(client_key).digest(), auth_message, "sha256")
    return without_proof + ",p=" + b64(bytes(a ^ b for a, b in zip(client_key, signature)))
