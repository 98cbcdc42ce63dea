"""Streams stay lazy on a 1,000,000-row table: ``filter().limit()``, ``map``,
``skip``, ``slice``, ``union``, ``between``, ``eq_join``... read only the rows
they need.  Rows read are counted by the server itself and reported by
``profile=True`` (a "Read documents." sample event), not measured by timing;
materialising the table runs into the array limit instead of exhausting memory."""

from __future__ import annotations

import pytest
from rethinkdb.errors import ReqlResourceLimitError

from serverproc import temp_server

ROWS = 1_000_000
LOAD_CHUNK = 250_000
# Tables are read in chunks of 8, 16, 32 ... 1024 rows: a query needing n rows
# reads at most about n + 1024 of them.
SLACK = 1100


@pytest.fixture(scope="module")
def big():
    """A server of its own with test.big = {id: 0..999999}."""
    from rethinkdb import r

    r.set_loop_type(None)
    srv = temp_server(http=False)
    srv.start()
    conn = r.connect(host=srv.host, port=srv.port)
    r.table_create("big").run(conn)
    # Server-side generation, in large batches: no per-row client round trip.
    for start in range(0, ROWS, LOAD_CHUNK):
        rows = r.range(start, start + LOAD_CHUNK).map(lambda i: {"id": i})
        assert r.table("big").insert(rows, durability="soft")["inserted"].run(conn) == LOAD_CHUNK
    yield r, conn, r.table("big")
    conn.close()
    srv.stop()


def docs_read(profile: list) -> int:
    """Documents read according to a query profile (0 when none were)."""
    total = 0
    for event in profile:
        if event.get("description") == "Read documents.":
            total += event["n_samples"]
        total += docs_read(event.get("sub_tasks", []))
        for tasks in event.get("parallel_tasks", []):
            total += docs_read(tasks)
    return total


def profiled(query, conn) -> tuple[object, int]:
    """The value of ``query`` (a stream is read whole, in one response, so that
    the profile covers all of it) and the documents it read."""
    if query.type_of().run(conn) in ("STREAM", "SELECTION<STREAM>", "TABLE_SLICE"):
        query = query.coerce_to("array")
    result = query.run(conn, profile=True)
    return result["value"], docs_read(result["profile"])


def test_the_table_is_loaded(big):
    r, conn, tbl = big
    value, read = profiled(tbl.count(), conn)
    assert value == ROWS
    assert read == 0  # counting keys reads no documents
    value, read = profiled(tbl.between(1000, 600_000).count(), conn)
    assert (value, read) == (599_000, 0)


def test_filter_then_limit_reads_only_what_it_needs(big):
    r, conn, tbl = big
    rows, read = profiled(tbl.filter(lambda row: (row["id"] % 1000) == 7).limit(10), conn)
    assert [row["id"] for row in rows] == [7 + 1000 * k for k in range(10)]
    assert 9 * 1000 < read <= 10 * 1000 + SLACK


def test_limit_and_first_rows_read_a_first_chunk(big):
    r, conn, tbl = big
    for query, expected in (
        (tbl.limit(3)["id"], [0, 1, 2]),
        (tbl.map(lambda row: row["id"] * 2).limit(3), [0, 2, 4]),
        (tbl.concat_map(lambda row: [row["id"], row["id"]]).limit(4), [0, 0, 1, 1]),
        (tbl.pluck("id").limit(2), [{"id": 0}, {"id": 1}]),
        (tbl.union(tbl).limit(2)["id"], [0, 1]),
        (tbl.eq_join("id", tbl).zip().limit(2)["id"], [0, 1]),
        (tbl.order_by(index="id").limit(2)["id"], [0, 1]),
        (tbl.order_by(index=r.desc("id")).limit(2)["id"], [ROWS - 1, ROWS - 2]),
        (tbl.between(500_000, r.maxval).limit(2)["id"], [500_000, 500_001]),
        (tbl.offsets_of(lambda row: (row["id"] % 1000) == 3).limit(1), [3]),
    ):
        value, read = profiled(query, conn)
        assert value == expected
        assert read <= 64, query


@pytest.mark.parametrize(
    "make, expected, needed",
    [
        (lambda r, t: t.skip(5000).limit(2)["id"], [5000, 5001], 5002),
        (lambda r, t: t.slice(20_000, 20_003)["id"], [20_000, 20_001, 20_002], 20_003),
        (lambda r, t: t.nth(3000)["id"], 3000, 3001),
        (lambda r, t: t.contains(lambda row: row["id"] == 4000), True, 4001),
        (lambda r, t: t.filter(lambda row: (row["id"] % 1000) == 999).is_empty(), False, 1000),
        (lambda r, t: t.map(lambda row: row["id"]).limit(2000).count(), 2000, 2000),
    ],
)
def test_positions_read_up_to_the_position(big, make, expected, needed):
    r, conn, tbl = big
    value, read = profiled(make(r, tbl), conn)
    assert value == expected
    assert needed <= read <= needed + SLACK


def test_infinite_ranges_stay_lazy(big):
    r, conn, tbl = big
    assert list(r.range().filter(lambda x: x % 1000 == 0).limit(3).run(conn)) == [0, 1000, 2000]
    assert r.range().map(lambda x: x * x).nth(5).run(conn) == 25


def test_materialising_the_table_hits_the_array_limit(big):
    r, conn, tbl = big
    with pytest.raises(ReqlResourceLimitError) as info:
        tbl.order_by(lambda row: row["id"] % 1000).run(conn, array_limit=5000)
    assert info.value.message == (
        "Array over size limit `5000`.  To raise the number of allowed elements, modify the "
        "`array_limit` option to `.run` (not available in the Data Explorer), or use an index."
    )
    with pytest.raises(ReqlResourceLimitError):
        tbl.group(lambda row: row["id"] % 1000).run(conn, array_limit=10)
    # a terminal needs no array: the rows stream through it
    assert tbl.between(0, 20_000).filter(lambda row: (row["id"] % 1000) == 0).count().run(conn, array_limit=5) == 20
