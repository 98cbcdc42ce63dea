"""The null server: speaks the V1_0 protocol (handshake and SCRAM with the
``admin`` user's empty password) and answers every query with one fixed atom.

It measures the ceiling the client imposes: the same client processes running
the same queries against it cannot go faster anywhere.  It is kept as cheap as
possible (one thread, ``selectors``, no query parsing beyond the query type),
because on a small machine its CPU competes with the clients'.

With ``--trio`` it answers the same way through trio, structured like
``systables.net`` (a task per query, a send lock): the CPU that transport
costs per query before any ReQL work, i.e. the floor of systables' design.

    python -m bench.nullserver [--host 127.0.0.1] [--port 0] [--trio]
"""

from __future__ import annotations

import argparse
import selectors
import signal
import socket
import struct
import sys
from typing import Any

import orjson

from systables.protocol.framing import FrameDecoder, FrameError
from systables.protocol.handshake import Authenticated, Failed, Send, ServerHandshake
from systables.protocol.scram import Credential, make_credential

from .data import document

VERSION = "2.4.4-null"
RECEIVE_SIZE = 65536
ATOM = orjson.dumps({"t": 1, "r": [document(1)]})
WAIT_COMPLETE = b'{"t":4,"r":[]}'
EMPTY_SEQUENCE = b'{"t":2,"r":[],"n":[]}'
SERVER_INFO = orjson.dumps({"t": 5, "r": [{"id": "00000000-0000-0000-0000-000000000000", "name": "null", "proxy": False}]})
QUERY_TYPE_AT = 1  # b"[1,..." : the digit after the bracket is the query type
_HEADER = struct.Struct("<QI")


def lookup_admin() -> Any:
    credential = make_credential("")

    def lookup(name: str) -> Credential | None:
        return credential if name == "admin" else None

    return lookup


def answer(payload: bytes, token: int) -> bytes | None:
    """The response body for one query, or None for a noreply query."""
    kind = payload[QUERY_TYPE_AT : QUERY_TYPE_AT + 1]
    if kind == b"1":
        return None if b'"noreply"' in payload and _is_noreply(payload) else ATOM
    if kind == b"3":
        return EMPTY_SEQUENCE
    if kind == b"4":
        return WAIT_COMPLETE
    if kind == b"5":
        return SERVER_INFO
    return orjson.dumps({"t": 16, "r": [f"Token {token} not in stream cache."], "b": []})


def _is_noreply(payload: bytes) -> bool:
    query = orjson.loads(payload)
    optargs = query[2] if len(query) > 2 and type(query[2]) is dict else {}
    flag = optargs.get("noreply")
    return flag is True or flag == [1, True]


class Connection:
    def __init__(self, sock: socket.socket, lookup: Any) -> None:
        self.sock = sock
        self.handshake: ServerHandshake | None = ServerHandshake(lookup, VERSION)
        self.frames = FrameDecoder()

    def on_data(self, data: bytes) -> bool:
        """Handle received bytes; False when the connection must close."""
        if self.handshake is not None:
            return self._on_handshake(data)
        out = []
        for frame in self.frames.feed(data):
            if isinstance(frame, FrameError):
                return False
            body = answer(frame.payload, frame.token)
            if body is not None:
                out.append(_HEADER.pack(frame.token, len(body)) + body)
        if out:
            self.sock.sendall(b"".join(out))
        return True

    def _on_handshake(self, data: bytes) -> bool:
        assert self.handshake is not None
        for event in self.handshake.feed(data):
            if isinstance(event, Send):
                self.sock.sendall(event.data)
            elif isinstance(event, Failed):
                self.sock.sendall(event.data_to_send)
                return False
            elif isinstance(event, Authenticated):
                self.handshake = None
                if event.leftover:
                    return self.on_data(event.leftover)
        return True


def serve(listener: socket.socket) -> None:
    lookup = lookup_admin()
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, None)
    while True:
        for key, _ in selector.select():
            if key.data is None:
                accept(listener, selector, lookup)
            else:
                receive(key.data, selector)


def accept(listener: socket.socket, selector: selectors.BaseSelector, lookup: Any) -> None:
    sock, _ = listener.accept()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # Blocking sends: responses are small and clients always read them.
    selector.register(sock, selectors.EVENT_READ, Connection(sock, lookup))


def receive(conn: Connection, selector: selectors.BaseSelector) -> None:
    try:
        data = conn.sock.recv(RECEIVE_SIZE)
        keep = bool(data) and conn.on_data(data)
    except OSError:
        keep = False
    if not keep:
        selector.unregister(conn.sock)
        conn.sock.close()


# -- the trio floor: the same answers, through systables' transport structure ---

async def serve_trio_connection(stream: Any) -> None:
    """Like ``systables.net``: a reader task, a task per query, a send lock."""
    import trio

    stream.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    handshake, leftover = ServerHandshake(lookup_admin(), VERSION), None
    while leftover is None:
        data = await stream.receive_some(RECEIVE_SIZE)
        if not data:
            return
        for event in handshake.feed(data):
            if isinstance(event, (Send, Failed)):
                await stream.send_all(event.data if isinstance(event, Send) else event.data_to_send)
            if isinstance(event, Failed):
                return
            if isinstance(event, Authenticated):
                leftover = event.leftover
    frames, send_lock = FrameDecoder(), trio.Lock()

    async def run_one(token: int, payload: bytes) -> None:
        body = answer(payload, token)
        if body is not None:
            async with send_lock:
                await stream.send_all(_HEADER.pack(token, len(body)) + body)

    async with trio.open_nursery() as nursery:
        data = leftover
        while True:
            for frame in frames.feed(data) if data else ():
                if isinstance(frame, FrameError):
                    return
                nursery.start_soon(run_one, frame.token, frame.payload)
            data = await stream.receive_some(RECEIVE_SIZE)
            if not data:
                nursery.cancel_scope.cancel()
                return


async def serve_trio(host: str, port: int) -> None:
    import trio

    async def handler(stream: Any) -> None:
        try:
            await serve_trio_connection(stream)
        except* (trio.BrokenResourceError, trio.ClosedResourceError, ConnectionError):
            pass

    listeners = await trio.open_tcp_listeners(port, host=host)
    bound = listeners[0].socket.getsockname()
    print(f"Listening for client driver connections on {bound[0]}:{bound[1]}", flush=True)
    await trio.serve_listeners(handler, listeners)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.nullserver", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--trio", action="store_true",
                        help="serve through trio with systables' transport structure (the event loop's floor)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if args.trio:
            import trio

            trio.run(serve_trio, args.host, args.port)
            return
        listener = socket.create_server((args.host, args.port), backlog=1024)
        host, port = listener.getsockname()[:2]
        print(f"Listening for client driver connections on {host}:{port}", flush=True)
        serve(listener)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
