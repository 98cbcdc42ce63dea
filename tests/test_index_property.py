"""Property: an index built in the background while writes, pauses and
priority changes land at random moments ends up exactly equal to the index
the definition gives for the final table, and to one built from scratch.

The server is a real ``Server`` opened on a temporary directory (storage,
catalog, jobs registry, index builder) without its network listeners, run
under trio's mock clock: the builder's pauses between chunks take no real
time, and where writes fall between chunks is decided by hypothesis.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from systables.indexes.definition import encode_definition
from systables.server import Server, ServerOptions
from systables.storage import IndexMeta, TableStore, catalog
from systables.storage.keys import encode, encode_key

VAR = [10, [1]]
DEFINITIONS: dict[str, tuple[Any, bool]] = {  # name -> (function wire term, multi)
    "v": ([69, [[2, [1]], [170, [VAR, "v"]]]], False),  # row["v"]: the evaluator-free path
    "tags": ([69, [[2, [1]], [170, [VAR, "tags"]]]], True),
    "pair": ([69, [[2, [1]], [2, [[170, [VAR, "v"]], [170, [VAR, "id"]]]]]], False),  # [row["v"], row["id"]]
    "count": ([69, [[2, [1]], [43, [[170, [VAR, "tags"]]]]]], False),  # row["tags"].count()
}

values = st.one_of(
    st.integers(-3, 3),
    st.sampled_from(["a", "b", "z" * 300, "z" * 300 + "y", None, {"o": 1}, 1.5]),
    st.lists(st.integers(0, 3), max_size=3),
)
docs = st.fixed_dictionaries({}, optional={"v": values, "tags": st.lists(values, max_size=3)})
keys = st.integers(0, 300)
writes = st.tuples(st.just("write"), st.lists(st.tuples(keys, st.none() | docs), min_size=1, max_size=20))
sleeps = st.tuples(st.just("sleep"), st.floats(0, 0.02))
controls = st.tuples(
    st.just("control"),
    st.sampled_from([{"paused": True}, {"paused": False}, {"priority": "low"}, {"priority": "normal"}]),
)
steps = st.lists(st.one_of(writes, sleeps, controls), max_size=25)
initial = st.lists(st.tuples(keys, docs), max_size=400)


def with_id(pk: int, doc: dict | None) -> dict | None:
    return None if doc is None else {"id": pk, **doc}


def create_index(server: Server, store: TableStore, name: str, definition: str) -> IndexMeta:
    func, multi = DEFINITIONS[definition]
    fn = server.services.index_functions.compile(func, multi, False)
    meta = store.create_index(IndexMeta(name, encode_definition(func, multi, False), multi=multi), fn)
    server.services.indexes.start(store, meta)
    return meta


def scanned(store: TableStore, name: str) -> list[tuple[bytes, int]]:
    scan = store.index_scan(name)
    rows: list[tuple[bytes, int]] = []
    while chunk := scan.next_chunk(100):
        rows += [(encode(value), doc["id"]) for value, doc in chunk]
    return rows


def expected(store: TableStore, name: str) -> list[tuple[bytes, int]]:
    fn = store.index_function(name)
    scan = store.scan()
    rows: list[tuple[bytes, int]] = []
    while chunk := scan.next_chunk(100):
        rows += [(encode_key(v), encode(v), doc["id"]) for doc in chunk for v in fn(doc)]  # type: ignore[misc]
    rows.sort(key=lambda r: (r[0], encode_key(r[2])))
    return [(exact, pk) for _, exact, pk in rows]


def raw_entry_count(store: TableStore, name: str) -> int:
    """Entries in the index's keyspace, including any that no scan would show."""
    keyspace = store.meta.indexes[name].keyspace
    lo, hi = catalog.keyspace_prefix(keyspace), catalog.keyspace_end(keyspace)
    count = 0
    for key in store._s._data.keys(from_key=lo):
        if key >= hi:
            break
        count += 1
    return count


async def build_with_interference(server: Server, seed_docs: list, plan: list) -> None:
    storage = server.services.storage
    db = next(iter(storage.dbs.values()))
    store = storage.table(storage.create_table(db.id, "t").id)
    store.apply([(pk, with_id(pk, doc)) for pk, doc in seed_docs])
    builds = server.services.indexes
    async with trio.open_nursery() as nursery:
        nursery.start_soon(builds.run)
        metas = [create_index(server, store, name, name) for name in DEFINITIONS]
        for kind, arg in plan:
            if kind == "write":
                store.apply([(pk, with_id(pk, doc)) for pk, doc in arg])
            elif kind == "sleep":
                await trio.sleep(arg)
            else:
                for meta in metas:
                    build = builds.get(meta)
                    if build is not None:
                        assert build.job.on_update(arg) is None
        for meta in metas:
            build = builds.get(meta)
            if build is not None:
                build.control(paused=False, priority="normal")
        await builds.wait_ready(store, metas)
        scratch = [create_index(server, store, f"{name}_scratch", name) for name in DEFINITIONS]
        await builds.wait_ready(store, scratch)
        for name in DEFINITIONS:
            built = scanned(store, name)
            assert store.meta.indexes[name].ready
            assert built == expected(store, name), name
            assert built == scanned(store, f"{name}_scratch"), name
            assert raw_entry_count(store, name) == len(built), name  # no stale entries
        assert not list(server.services.jobs)
        nursery.cancel_scope.cancel()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(initial, steps)
def test_background_build_with_random_interleavings_equals_a_scratch_build(seed_docs: list, plan: list) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(ServerOptions(directory=str(Path(tmp) / "data")))
        server.open()
        try:
            trio.run(build_with_interference, server, seed_docs, plan, clock=trio.testing.MockClock(autojump_threshold=0))
        finally:
            server.close()
