"""``rethinkdb-dump`` / ``rethinkdb-restore`` carry geometries and geo indexes:
the dump writes GEOMETRY objects as JSON, the restore sends them back as
client pseudo-types and re-creates the indexes from index_status's function."""

from __future__ import annotations

from test_dump_restore import run_tool, snapshot


def test_geometries_and_geo_indexes_survive_dump_and_restore(r, fresh_server, tmp_path):
    conn = r.connect(fresh_server.host, fresh_server.port)
    r.db_create("maps").run(conn)
    r.db("maps").table_create("places").run(conn)
    places = r.db("maps").table("places")
    places.insert([
        {"id": 1, "where": r.point(-122.423246, 37.779388), "area": r.circle([-122.42, 37.78], 500, num_vertices=8)},
        {"id": 2, "where": r.point(2.3522, 48.8566), "route": r.line([2.35, 48.85], [2.36, 48.86])},
        {"id": 3, "where": r.point(180, 0), "stops": [r.point(0, 0), r.point(1, 1)]},
    ]).run(conn)
    places.index_create("where", geo=True).run(conn)
    places.index_create("stops", geo=True, multi=True).run(conn)
    places.index_wait().run(conn)
    before = snapshot(r, conn, "maps")
    address = f"{fresh_server.host}:{fresh_server.port}"

    run_tool("rethinkdb-dump", "-c", address, "-e", "maps", "-f", "maps.tar.gz", cwd=tmp_path)
    r.db_drop("maps").run(conn)
    run_tool("rethinkdb-restore", "-c", address, "maps.tar.gz", cwd=tmp_path)

    places.index_wait().run(conn)
    assert snapshot(r, conn, "maps") == before
    assert before["places"]["indexes"] == [
        {"geo": True, "index": "stops", "multi": True},
        {"geo": True, "index": "where", "multi": False},
    ]
    paris = r.circle([2.35, 48.85], 5000)
    assert [row["id"] for row in places.get_intersecting(paris, index="where").run(conn)] == [2]
    nearest = places.get_nearest(r.point(-122.42, 37.78), index="where", max_dist=1000).run(conn)
    assert [hit["doc"]["id"] for hit in nearest] == [1]
    assert places.get_intersecting(r.point(1, 1), index="stops").count().run(conn) == 1
    conn.close()
