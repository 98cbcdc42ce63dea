"""The point-read fast path answers exactly what the general path answers."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rawclient import RawClient

DB_NAME = "fastpath"


@pytest.fixture(scope="module")
def client(server):
    from rethinkdb import r

    conn = r.connect(host=server.host, port=server.port)
    if DB_NAME not in r.db_list().run(conn):
        r.db_create(DB_NAME).run(conn)
        r.db(DB_NAME).table_create("t").run(conn)
        r.db(DB_NAME).table("t").insert(
            [{"id": i, "v": i * 2} for i in range(50)] + [{"id": "s", "bin": r.binary(b"\x00\x01")}, {"id": "x" * 127}]
        ).run(conn)
    conn.close()
    c = RawClient(server.host, server.port)
    yield c
    c.close()


def both_paths(client: RawClient, table_term: list, key: object, optargs: dict | None = None) -> tuple[dict, dict]:
    """The same read through the fast path, and through the general path (the
    ``r.do`` wrapper returns the same value but is not a plain point read)."""
    get = [16, [table_term, key]]
    fast = client.query(1, [1, get, optargs or {}])
    general = client.query(2, [1, [64, [[69, [[2, [1]], [10, [1]]]], get]], optargs or {}])
    return fast, general


KEYS = st.one_of(
    st.integers(-60, 60), st.integers(-(2**60), 2**60), st.text(max_size=140), st.just("s"), st.just("x" * 127),
    st.just("x" * 128), st.booleans(), st.none(), st.floats(allow_nan=False, allow_infinity=False),
)


@settings(max_examples=120)
@given(key=KEYS, table=st.sampled_from(["t", "missing", "bad name!"]), with_db=st.booleans())
def test_same_answer_as_the_general_path(client, key, table, with_db):
    table_term = [15, [[14, [DB_NAME]], table]] if with_db else [15, [table]]
    optargs = None if with_db else {"db": [14, [DB_NAME]]}
    fast, general = both_paths(client, table_term, key, optargs)
    if general["t"] == 18:
        assert fast["t"] == 18 and fast["r"] == general["r"] and fast.get("e") == general.get("e")
    else:
        assert fast == general


def test_system_tables_and_missing_databases_take_the_general_path(client):
    jobs = client.query(1, [1, [16, [[15, [[14, ["rethinkdb"]], "jobs"]], "nope"]]])
    assert jobs == {"t": 1, "r": [None]}
    missing = client.query(2, [1, [16, [[15, [[14, ["no_such_db"]], "t"]], 1]]])
    assert missing["t"] == 18 and missing["r"] == ["Database `no_such_db` does not exist."]
    assert json.dumps(client.query(3, [1, [16, [[15, [[14, [DB_NAME]], "t"]], 3]]])) == '{"t": 1, "r": [{"id": 3, "v": 6}]}'


def test_point_reads_are_answered_by_the_fast_path(tmp_path):
    """In process: the fast path does answer plain point reads, and declines the rest."""
    import orjson
    import trio

    from systables.pipeline.fastpath import point_get
    from systables.pipeline.session import Session
    from systables.server import Server, ServerOptions

    async def main() -> None:
        srv = Server(ServerOptions(directory=str(tmp_path / "data"), http_admin=False))
        services = srv.open()
        try:
            meta = services.storage.create_table(services.catalog.require_db("test").id, "t")
            services.storage.table(meta.id).apply([(1, {"id": 1, "v": "one"})])
            session = Session(services, srv.sessions, "admin", "127.0.0.1", 1)

            def fast(query: list) -> bytes | None:
                return point_get(session, session.parse(orjson.dumps(query)))

            plain = [1, [16, [[15, ["t"]], 1]]]
            assert fast(plain) == b'{"t":1,"r":[{"id":1,"v":"one"}]}'
            assert fast(plain) == await session.request(7, orjson.dumps(plain))
            assert fast([1, [16, [[15, ["t"]], 2]]]) == b'{"t":1,"r":[null]}'
            assert fast([1, [16, [[15, ["nope"]], 1]]]) is None
            assert fast([1, [16, [[15, ["t"]], 1]], {"profile": True}]) is None
            assert fast([1, [16, [[15, ["t"], {"read_mode": "outdated"}], 1]]]) is None
            assert fast([1, [16, [[15, ["t"]], 1.5]]]) is None
        finally:
            srv.close()

    trio.run(main)
