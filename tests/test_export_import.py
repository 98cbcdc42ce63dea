"""The driver's own tools against systables: ``rethinkdb export`` and
``rethinkdb import`` in JSON and CSV (primary keys, ``--fields``, secondary
indexes) and ``rethinkdb index-rebuild``.  100,000 documents go out and back
in exactly, in both formats."""

from __future__ import annotations

import base64
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import missing_tool

TOOLS = Path(sys.executable).parent
ROUND_TRIP_DOCS = 100_000
INSERT_BATCH = 5_000


def tool(name: str, *args: str, cwd: Path, timeout: float = 600) -> str:
    path = TOOLS / f"rethinkdb-{name}"
    if not path.exists():
        missing_tool(f"rethinkdb-{name}", "make test-deps (the rethinkdb driver's tools)")
    done = subprocess.run([str(path), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def conn(r, fresh_server):
    c = r.connect(fresh_server.host, fresh_server.port)
    yield c
    c.close()


@pytest.fixture
def address(fresh_server) -> str:
    return f"{fresh_server.host}:{fresh_server.port}"


def insert(r, conn, db: str, table: str, docs) -> None:  # type: ignore[no-untyped-def]
    docs = list(docs)
    for start in range(0, len(docs), INSERT_BATCH):
        result = r.db(db).table(table).insert(docs[start:start + INSERT_BATCH]).run(conn)
        assert result["inserted"] == len(docs[start:start + INSERT_BATCH]), result


def everything(r, conn, db: str, table: str) -> list:  # type: ignore[no-untyped-def]
    key = r.db(db).table(table).info()["primary_key"].run(conn)
    return sorted(r.db(db).table(table).run(conn, time_format="raw", binary_format="raw"), key=lambda d: d[key])


def indexes(r, conn, db: str, table: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [{k: ix[k] for k in ("index", "multi", "geo", "function", "ready")}
            for ix in r.db(db).table(table).index_status().run(conn, binary_format="raw")]


def json_doc(i: int) -> dict:
    """Every JSON type, nesting, unicode, characters that need escaping, numbers
    that must keep their digits, and (in every tenth document) a time and a binary."""
    doc = {
        "id": i,
        "name": f"n{i} é ✓ \"quoted\", comma\nnewline",
        "price": i * 0.1,
        "big": 2 ** 53 - i,
        "flag": i % 2 == 0,
        "nothing": None,
        "tags": ["t", str(i % 7), i % 3],
        "nested": {"a": {"b": [i, {"c": -i / 3}]}},
    }
    if i % 10 == 0:
        doc["at"] = {"$reql_type$": "TIME", "epoch_time": 1_700_000_000 + i / 8, "timezone": "+02:00"}
        doc["blob"] = {"$reql_type$": "BINARY", "data": base64.b64encode(i.to_bytes(4, "big")).decode()}
    return doc


# About 35 s (the export 2 s, the import 6 s; the rest loads and compares).
@pytest.mark.slow
def test_json_round_trip_of_100000_documents_with_indexes(r, conn, address, tmp_path):
    r.db_create("shop").run(conn)
    r.db("shop").table_create("items").run(conn)
    insert(r, conn, "shop", "items", (json_doc(i) for i in range(ROUND_TRIP_DOCS)))
    r.db("shop").table("items").index_create("price").run(conn)
    r.db("shop").table("items").index_create("tags", multi=True).run(conn)
    r.db("shop").table("items").index_create("deep", r.row["nested"]["a"]["b"][0]).run(conn)
    r.db("shop").table("items").index_wait().run(conn)
    before, before_indexes = everything(r, conn, "shop", "items"), indexes(r, conn, "shop", "items")

    tool("export", "-c", address, "-e", "shop.items", "-d", "out", cwd=tmp_path)
    exported = json.loads((tmp_path / "out" / "shop" / "items.json").read_text())
    assert len(exported) == ROUND_TRIP_DOCS
    r.db_drop("shop").run(conn)
    tool("import", "-c", address, "-d", "out", cwd=tmp_path)

    assert indexes(r, conn, "shop", "items") == before_indexes
    assert everything(r, conn, "shop", "items") == before
    assert r.db("shop").table("items").get_all("3", index="tags").count().run(conn) == len(
        [i for i in range(ROUND_TRIP_DOCS) if i % 7 == 3])


def csv_doc(i: int) -> dict:
    """CSV carries strings: the import reads every field as a string (and an empty
    field as a missing one), so these documents hold non-empty strings only."""
    doc = {"id": f"k{i:06d}", "name": f"n{i}, \"q\" é", "city": ("Paris", "Zürich", "São Paulo")[i % 3],
           "note": f"line one\nline {i}"}
    if i % 5 == 0:
        del doc["note"]  # missing fields come back missing
    return doc


# About 11 s (the export 1 s, the import 2 s).
@pytest.mark.slow
def test_csv_round_trip_of_100000_documents(r, conn, address, tmp_path):
    r.db_create("crm").run(conn)
    r.db("crm").table_create("people").run(conn)
    insert(r, conn, "crm", "people", (csv_doc(i) for i in range(ROUND_TRIP_DOCS)))
    r.db("crm").table("people").index_create("city").run(conn)
    r.db("crm").table("people").index_wait().run(conn)
    before, before_indexes = everything(r, conn, "crm", "people"), indexes(r, conn, "crm", "people")

    tool("export", "-c", address, "-e", "crm.people", "--format", "csv", "--fields", "id,name,city,note",
         "-d", "out", cwd=tmp_path)
    with open(tmp_path / "out" / "crm" / "people.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["id", "name", "city", "note"] and len(rows) == ROUND_TRIP_DOCS + 1
    r.db_drop("crm").run(conn)
    tool("import", "-c", address, "-d", "out", cwd=tmp_path)

    assert indexes(r, conn, "crm", "people") == before_indexes
    assert everything(r, conn, "crm", "people") == before


def test_import_json_with_a_primary_key_and_fields(r, conn, address, tmp_path):
    people = [{"email": f"p{i}@example.org", "name": f"P{i}", "age": 20 + i, "secret": "x"} for i in range(50)]
    (tmp_path / "people.json").write_text(json.dumps(people))
    tool("import", "-c", address, "-f", "people.json", "--table", "crm.people", "--pkey", "email",
         "--fields", "email,name,age", cwd=tmp_path)
    assert r.db("crm").table("people").info()["primary_key"].run(conn) == "email"
    expected = [{k: p[k] for k in ("email", "name", "age")} for p in people]
    assert everything(r, conn, "crm", "people") == sorted(expected, key=lambda p: p["email"])


def test_import_csv_into_a_table_with_its_primary_key_and_fields(r, conn, address, tmp_path):
    # The tool creates a new table for a CSV file without passing --pkey on
    # (RethinkDB 2.4.4 gives the same error), so the table is created first.
    (tmp_path / "cities.csv").write_text("code,name,country,population\nPAR,Paris,FR,2100000\nZRH,Zürich,CH,420000\n")
    r.db_create("geo").run(conn)
    r.db("geo").table_create("cities", primary_key="code").run(conn)
    tool("import", "-c", address, "-f", "cities.csv", "--format", "csv", "--table", "geo.cities",
         "--pkey", "code", "--fields", "code,name,population", "--force", cwd=tmp_path)
    assert everything(r, conn, "geo", "cities") == [
        {"code": "PAR", "name": "Paris", "population": "2100000"},
        {"code": "ZRH", "name": "Zürich", "population": "420000"},
    ]


def test_export_json_with_fields_and_import_again(r, conn, address, tmp_path):
    r.db_create("shop").run(conn)
    r.db("shop").table_create("items").run(conn)
    insert(r, conn, "shop", "items", (json_doc(i) for i in range(300)))
    tool("export", "-c", address, "-e", "shop.items", "--fields", "id,name,nested", "-d", "out", cwd=tmp_path)
    exported = json.loads((tmp_path / "out" / "shop" / "items.json").read_text())
    assert all(set(doc) == {"id", "name", "nested"} for doc in exported)
    tool("import", "-c", address, "-f", "out/shop/items.json", "--table", "copy.items", cwd=tmp_path)
    assert everything(r, conn, "copy", "items") == [
        {"id": i, "name": json_doc(i)["name"], "nested": json_doc(i)["nested"]} for i in range(300)]


def test_import_refuses_to_overwrite_without_force(r, conn, address, tmp_path):
    r.db_create("shop").run(conn)
    r.db("shop").table_create("items").run(conn)
    insert(r, conn, "shop", "items", [{"id": 1}])
    (tmp_path / "items.json").write_text('[{"id": 2}]')
    path = TOOLS / "rethinkdb-import"
    done = subprocess.run([str(path), "-c", address, "-f", "items.json", "--table", "shop.items"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "already exist" in done.stdout + done.stderr
    tool("import", "-c", address, "-f", "items.json", "--table", "shop.items", "--force", cwd=tmp_path)
    assert everything(r, conn, "shop", "items") == [{"id": 1}, {"id": 2}]


def test_index_rebuild_rebuilds_every_index_in_place(r, conn, address, tmp_path):
    r.db_create("shop").run(conn)
    r.db("shop").table_create("items").run(conn)
    insert(r, conn, "shop", "items", (json_doc(i) for i in range(5000)))
    table = r.db("shop").table("items")
    table.index_create("price").run(conn)
    table.index_create("tags", multi=True).run(conn)
    table.index_create("pair", [r.row["flag"], r.row["id"]]).run(conn)
    table.index_wait().run(conn)
    before = indexes(r, conn, "shop", "items")

    out = tool("index-rebuild", "-c", address, "--force", "-r", "shop.items", "-n", "2", cwd=tmp_path)
    assert "Rebuilding 3 indexes" in out

    assert indexes(r, conn, "shop", "items") == before
    assert table.get_all("3", index="tags").count().run(conn) == len([i for i in range(5000) if i % 7 == 3])
    assert table.between([True, 10], [True, 20], index="pair").count().run(conn) == 5
    assert list(table.order_by(index=r.desc("price")).limit(1)["id"].run(conn)) == [4999]


def table_state(r, conn, db: str, table: str) -> dict:  # type: ignore[no-untyped-def]
    """What an export and an import must keep of a table."""
    handle = r.db(db).table(table)
    return {"primary_key": handle.info()["primary_key"].run(conn), "documents": everything(r, conn, db, table),
            "indexes": indexes(r, conn, db, table), "hook": handle.get_write_hook().run(conn, binary_format="raw")}


def test_whole_server_export_and_import_keep_geo_indexes_hooks_and_keys(r, conn, address, tmp_path):
    r.db_create("maps").run(conn)
    r.db("maps").table_create("places").run(conn)
    places = r.db("maps").table("places")
    # The hook is set first, so every document is stamped already: the import
    # tool sets the hook once its reader has queued the last batch, and its
    # writers may still be inserting then (against RethinkDB too), so a batch
    # may pass through the hook again, which must leave it as it was.
    places.set_write_hook(lambda context, old, new: new.merge({"stamped": True})).run(conn)
    insert(r, conn, "maps", "places", [{"id": i, "at": r.point(i % 180, (i % 90) / 2), "kind": f"k{i % 4}"}
                                       for i in range(500)])
    places.index_create("at", geo=True).run(conn)
    places.index_create("kind_id", [r.row["kind"], r.row["id"]]).run(conn)
    places.index_wait().run(conn)
    assert places.get(0)["stamped"].run(conn) is True
    r.db_create("crm").run(conn)
    r.db("crm").table_create("people", primary_key="email").run(conn)
    insert(r, conn, "crm", "people", [{"email": f"p{i}@example.org", "age": i} for i in range(20)])
    before = {name: table_state(r, conn, *name.split(".")) for name in ("maps.places", "crm.people")}

    tool("export", "-c", address, "-d", "out", cwd=tmp_path)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["crm", "maps"]  # not the system tables
    r.db_drop("maps").run(conn)
    r.db_drop("crm").run(conn)
    tool("import", "-c", address, "-d", "out", cwd=tmp_path)

    # The documents come back as exported, and the hook with them.
    assert {name: table_state(r, conn, *name.split(".")) for name in before} == before
    near = places.get_nearest(r.point(10, 5), index="at", max_results=1).nth(0)["doc"]["id"].run(conn)
    assert near == 10
    places.insert({"id": 1000}).run(conn)
    assert places.get(1000).run(conn) == {"id": 1000, "stamped": True}


def test_export_ndjson_and_csv_with_a_delimiter_then_import_one_table_without_its_indexes(r, conn, address, tmp_path):
    r.db_create("shop").run(conn)
    r.db("shop").table_create("items").run(conn)
    r.db("shop").table_create("other").run(conn)
    insert(r, conn, "shop", "items", (json_doc(i) for i in range(200)))
    insert(r, conn, "shop", "other", [{"id": 1}])
    r.db("shop").table("items").index_create("price").run(conn)
    r.db("shop").table("items").index_wait().run(conn)

    tool("export", "-c", address, "-e", "shop", "--format", "ndjson", "-d", "nd", cwd=tmp_path)
    lines = (tmp_path / "nd" / "shop" / "items.ndjson").read_text().splitlines()
    assert sorted((json.loads(line) for line in lines), key=lambda d: d["id"]) == everything(r, conn, "shop", "items")
    tool("export", "-c", address, "-e", "shop.items", "--format", "csv", "--fields", "id,flag",
         "--delimiter", ";", "-d", "semi", cwd=tmp_path)
    with open(tmp_path / "semi" / "shop" / "items.csv", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    # The tool writes what is not a string as Python prints it (so against RethinkDB too).
    assert rows[0] == ["id", "flag"] and sorted(rows[1:], key=lambda row: int(row[0]))[:2] == [
        ["0", "True"], ["1", "False"]]

    tool("export", "-c", address, "-e", "shop", "-d", "out", cwd=tmp_path)
    r.db_drop("shop").run(conn)
    tool("import", "-c", address, "-d", "out", "-i", "shop.items", "--no-secondary-indexes", cwd=tmp_path)
    assert r.db("shop").table_list().run(conn) == ["items"]
    assert r.db("shop").table("items").index_list().run(conn) == []
    assert r.db("shop").table("items").count().run(conn) == 200
