"""The query pipeline in process, over an in-memory transport: an inline
query that yields is promoted (another task goes on reading the connection,
the query shows in ``rethinkdb.jobs`` and its kill lands), and the static
flags are read once for both paths."""

from __future__ import annotations

import struct

import orjson
import trio

from systables import timeslice
from systables.pipeline.connection import Connection
from systables.pipeline.session import Session
from systables.server import Server, ServerOptions

START, MAKE_ARRAY, ADD, DB, TABLE, GET, DELETE, FILTER = 1, 2, 24, 14, 15, 16, 54, 39
JOBS = [TABLE, [[DB, ["rethinkdb"]], "jobs"]]


def frame(token: int, query: list) -> bytes:
    body = orjson.dumps(query)
    return struct.pack("<QI", token, len(body)) + body


class MemoryClient:
    """Frames in, responses out, through channels instead of a socket."""

    def __init__(self) -> None:
        self.to_server, self._from_client = trio.open_memory_channel[bytes](100)
        self._responses: dict[int, dict] = {}
        self._arrived = trio.Event()

    async def receive(self) -> bytes:
        return await self._from_client.receive()

    async def send(self, data: bytes) -> None:
        # Responses ready together arrive in one send, as over a socket.
        at = 0
        while at < len(data):
            token, length = struct.unpack_from("<QI", data, at)
            self._responses[token] = orjson.loads(data[at + 12 : at + 12 + length])
            at += 12 + length
        self._arrived.set()

    async def response(self, token: int) -> dict:
        while token not in self._responses:
            self._arrived = trio.Event()
            await self._arrived.wait()
        return self._responses.pop(token)


async def test_an_inline_query_that_yields_is_promoted_listed_and_killable(tmp_path, monkeypatch):
    monkeypatch.setattr(timeslice, "SLICE_SECONDS", 0.0)  # every tick yields
    server = Server(ServerOptions(directory=str(tmp_path / "data"), http_admin=False))
    services = server.open()
    try:
        session = Session(services, server.sessions, "admin", "127.0.0.1", 4242)
        client = MemoryClient()
        connection = Connection(session, client.receive, client.send, b"", 1024)
        # Datum terms only, and a small enough frame: it runs inline.
        long_array = [START, [MAKE_ARRAY, [[ADD, [1, 1]]] * 50_000]]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(connection.run)
            await client.to_server.send(frame(1, long_array) + frame(2, [START, JOBS]))
            jobs = await client.response(2)  # answered while query 1 still runs
            [row] = [j for j in jobs["r"] if "r.expr(1).add(1)" in j["info"]["query"]]
            assert row["info"]["client_port"] == 4242
            await client.to_server.send(frame(3, [START, [DELETE, [[GET, [JOBS, [MAKE_ARRAY, row["id"]]]]]]]))
            killed = await client.response(3)
            assert killed["r"][0]["deleted"] == 1
            victim = await client.response(1)
            assert victim["t"] == 18 and victim["r"] == ["Query terminated by the `rethinkdb.jobs` table."]
            await client.to_server.send(frame(4, [START, [ADD, [1, 2]]]))
            assert (await client.response(4))["r"] == [3]  # the connection goes on
            await client.to_server.send(b"")
    finally:
        server.close()


async def test_a_profiled_inline_query_keeps_its_profile(tmp_path):
    server = Server(ServerOptions(directory=str(tmp_path / "data"), http_admin=False))
    services = server.open()
    try:
        session = Session(services, server.sessions, "admin", "127.0.0.1", 1)
        client = MemoryClient()
        connection = Connection(session, client.receive, client.send, b"", 1024)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(connection.run)
            await client.to_server.send(frame(1, [START, [ADD, [1, 2]], {"profile": True}]))
            answer = await client.response(1)
            assert answer["r"] == [3] and answer["p"][0]["description"] == "Evaluating query."
            await client.to_server.send(b"")
    finally:
        server.close()
