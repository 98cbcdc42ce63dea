"""A raw ReQL client for protocol tests: the driver's own handshake code, then
hand-made frames, so tests can send what no driver would."""

from __future__ import annotations

import json
import socket
import struct

from rethinkdb.handshake import HandshakeV1_0


class RawClient:
    def __init__(self, host: str, port: int, user: str = "admin", password: str = "", timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""
        hs = HandshakeV1_0(json.JSONDecoder(), json.JSONEncoder(), host, port, user, password)
        reply = None
        while True:
            msg = hs.next_message(reply)
            if msg is None:
                break
            if msg:
                self.sock.sendall(msg)
            reply = self._read_until_nul()

    def _read_until_nul(self) -> bytes:
        while b"\0" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed during handshake")
            self.buffer += chunk
        msg, _, self.buffer = self.buffer.partition(b"\0")
        return msg

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, token: int, query: object) -> None:
        body = query if isinstance(query, bytes) else json.dumps(query).encode()
        self.sock.sendall(struct.pack("<QL", token, len(body)) + body)

    def recv(self) -> tuple[int, dict]:
        while len(self.buffer) < 12:
            self._fill()
        token, length = struct.unpack("<QL", self.buffer[:12])
        while len(self.buffer) < 12 + length:
            self._fill()
        body = self.buffer[12 : 12 + length]
        self.buffer = self.buffer[12 + length :]
        return token, json.loads(body)

    def query(self, token: int, query: object) -> dict:
        self.send(token, query)
        got, response = self.recv()
        assert got == token
        return response

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed")
        self.buffer += chunk

    def is_closed(self) -> bool:
        try:
            self.sock.settimeout(5)
            return self.sock.recv(1) == b""
        except (ConnectionError, OSError):
            return True

    def close(self) -> None:
        self.sock.close()
