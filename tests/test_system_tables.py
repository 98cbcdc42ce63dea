"""The ``rethinkdb`` database and its tables, driven through the official
driver: schemas, writes with RethinkDB's per-row errors, the admin terms on
tables (config, status, reconfigure, rebalance, info) and identifier_format."""

from __future__ import annotations

import uuid

import pytest
from rethinkdb.errors import ReqlOpFailedError, ReqlQueryLogicError

SYSTEM_TABLES = [
    "cluster_config", "connections", "current_issues", "db_config", "job_history", "jobs", "logs", "permissions",
    "server_config", "server_status", "stats", "table_config", "table_status", "users",
]


def sys_table(r, name: str, **opts):  # type: ignore[no-untyped-def]
    return r.db("rethinkdb").table(name, **opts)


@pytest.fixture
def db(r, conn):  # type: ignore[no-untyped-def]
    name = "sys_" + uuid.uuid4().hex[:8]
    r.db_create(name).run(conn)
    yield name
    if name in r.db_list().run(conn):
        r.db_drop(name).run(conn)


def message_of(query, conn, error=ReqlOpFailedError) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(error) as e:
        query.run(conn)
    return e.value.message


def test_the_system_database(r, conn):
    assert "rethinkdb" in r.db_list().run(conn)
    assert r.db("rethinkdb").table_list().run(conn) == SYSTEM_TABLES
    assert r.db("rethinkdb").info().run(conn) == {"id": "b99b9572-8e53-5fef-9a2b-5e6aba3edf1c", "name": "rethinkdb", "type": "DB"}
    info = sys_table(r, "jobs").info().run(conn)
    assert info["id"] == "69be2167-342c-5d03-918c-730335195ed2"
    assert info["indexes"] == [] and info["primary_key"] == "id" and info["db"]["name"] == "rethinkdb"
    assert message_of(r.db("rethinkdb").table("nope"), conn) == "Table `rethinkdb.nope` does not exist."
    assert message_of(r.db_drop("rethinkdb"), conn) == "Database `rethinkdb` is special; you can't delete it."
    assert message_of(r.db("rethinkdb").table_create("x"), conn) == "Database `rethinkdb` is special; you can't create new tables in it."
    assert message_of(r.db("rethinkdb").config(), conn) == "Database `rethinkdb` is special; you can't configure it."
    special = "Database `rethinkdb` is special; you can't configure the tables in it."
    assert message_of(sys_table(r, "jobs").config(), conn) == special
    assert message_of(sys_table(r, "jobs").reconfigure(shards=1, replicas=1), conn) == special
    assert message_of(sys_table(r, "jobs").status(), conn) == (
        "Database `rethinkdb` is special; the system tables in it don't have meaningful status information."
    )
    assert message_of(sys_table(r, "jobs").rebalance(), conn) == "Database `rethinkdb` is special; you can't rebalance the tables in it."
    assert message_of(sys_table(r, "jobs").sync(), conn) == "Artificial tables don't support `sync()`."
    assert message_of(sys_table(r, "jobs", identifier_format="bogus"), conn, ReqlQueryLogicError) == (
        'Identifier format `bogus` unrecognized (options are "name" and "uuid").'
    )


def test_every_table_reads_and_refuses_writes_it_does_not_take(r, conn):
    for name in SYSTEM_TABLES:
        assert isinstance(list(sys_table(r, name).run(conn)), list)
    for name, noun in (("table_status", "table"), ("stats", "table"), ("current_issues", "table"), ("logs", "system table")):
        result = sys_table(r, name).insert({"id": "x"}).run(conn)
        assert result["errors"] == 1
        assert result["first_error"] == f"It's illegal to write to the `rethinkdb.{name}` {noun}."


def test_server_config_and_status(r, conn, server):
    row = sys_table(r, "server_config").get(server.server_id).run(conn)
    assert row == {"cache_size_mb": "auto", "id": server.server_id, "name": server.name, "tags": ["default"]}
    status = sys_table(r, "server_status").get(server.server_id).run(conn)
    assert status["name"] == server.name
    assert status["network"]["reql_port"] == server.port
    assert status["network"]["connected_to"] == {}
    assert status["process"]["version"].startswith("rethinkdb 2.4.")
    insert = sys_table(r, "server_config").insert({"id": str(uuid.uuid4()), "name": "x", "tags": [], "cache_size_mb": "auto"}).run(conn)
    assert insert["first_error"] == "It's illegal to insert new rows into the `rethinkdb.server_config` system table."
    bad = sys_table(r, "server_config").get(server.server_id).update({"cache_size_mb": -1}).run(conn)
    assert bad["first_error"] == (
        "The row you're trying to put into `rethinkdb.server_config` has the wrong format. "
        "In `cache_size_mb`: Cache size cannot be negative."
    )
    extra = sys_table(r, "server_config").get(server.server_id).update({"colour": "red"}).run(conn)
    assert extra["first_error"].endswith("Unexpected key(s): colour")
    tags = sys_table(r, "server_config").get(server.server_id).update({"tags": ["default", "ssd"]}).run(conn)
    assert tags["replaced"] == 1
    assert sys_table(r, "server_config").get(server.server_id)["tags"].run(conn) == ["default", "ssd"]
    sys_table(r, "server_config").get(server.server_id).update({"tags": ["default"]}).run(conn)


def test_db_config_creates_renames_and_drops_databases(r, conn):
    name = "dbc_" + uuid.uuid4().hex[:8]
    created = sys_table(r, "db_config").insert({"name": name}).run(conn)
    assert created["inserted"] == 1
    db_id = created["generated_keys"][0]
    assert r.db(name).info()["id"].run(conn) == db_id
    assert r.db(name).config().run(conn) == {"id": db_id, "name": name}
    explicit = sys_table(r, "db_config").insert({"id": str(uuid.uuid4()), "name": "other"}).run(conn)
    assert explicit["first_error"] == (
        "If you want to create a new table by inserting into `rethinkdb.db_config`, you must use an auto-generated primary key."
    )
    dup = sys_table(r, "db_config").insert({"name": name}).run(conn)
    assert dup["first_error"] == f"Database `{name}` already exists."
    renamed = r.db(name).config().update({"name": name + "_b"}).run(conn)
    assert renamed["replaced"] == 1
    assert name + "_b" in r.db_list().run(conn)
    clash = sys_table(r, "db_config").get(db_id).update({"name": "rethinkdb"}).run(conn)
    assert clash["first_error"] == f"Cannot rename database `{name}_b` to `rethinkdb` because database `rethinkdb` already exists."
    assert sys_table(r, "db_config").get(db_id).delete().run(conn)["deleted"] == 1
    assert name + "_b" not in r.db_list().run(conn)
    assert "rethinkdb" not in [row["name"] for row in sys_table(r, "db_config").run(conn)]


def test_table_config_and_the_config_selection(r, conn, db, server):
    r.db(db).table_create("a", primary_key="k").run(conn)
    config = r.db(db).table("a").config().run(conn)
    assert config["name"] == "a" and config["db"] == db and config["primary_key"] == "k"
    assert config["shards"] == [{"nonvoting_replicas": [], "primary_replica": server.name, "replicas": [server.name]}]
    assert config["write_acks"] == "majority" and config["durability"] == "hard" and config["write_hook"] is None
    row = sys_table(r, "table_config").get(config["id"]).run(conn)
    assert row == config
    assert sys_table(r, "table_config", identifier_format="uuid").get(config["id"])["db"].run(conn) == r.db(db).info()["id"].run(conn)
    assert r.db(db).table("a").config().update({"name": "b", "durability": "soft"}).run(conn)["replaced"] == 1
    assert r.db(db).table_list().run(conn) == ["b"]
    assert r.db(db).table("b").config()["durability"].run(conn) == "soft"
    refused = r.db(db).table("b").config().update({"primary_key": "id"}).run(conn)
    assert refused["first_error"] == "It's illegal to change a table's primary key"
    refused = r.db(db).table("b").config().update({"indexes": ["x"]}).run(conn)
    assert refused["first_error"] == "The `indexes` field is read-only and can't be used to create or drop indexes."
    created = sys_table(r, "table_config").insert({"name": "c", "db": db}).run(conn)
    assert created["inserted"] == 1
    assert sorted(r.db(db).table_list().run(conn)) == ["b", "c"]
    assert r.db(db).table("c").info()["id"].run(conn) == created["generated_keys"][0]
    clash = r.db(db).table("c").config().update({"name": "b"}).run(conn)
    assert clash["first_error"] == f"Can't rename table `{db}.c` to `{db}.b` because table `{db}.b` already exists."
    explicit = sys_table(r, "table_config").insert({"id": str(uuid.uuid4()), "name": "d", "db": db}).run(conn)
    assert explicit["first_error"].startswith("There is no existing table with the given ID.")
    assert sys_table(r, "table_config").filter({"db": db, "name": "c"}).delete().run(conn)["deleted"] == 1
    assert r.db(db).table_list().run(conn) == ["b"]


def test_table_status_and_admin_terms(r, conn, db, server):
    r.db(db).table_create("t").run(conn)
    status = r.db(db).table("t").status().run(conn)
    assert status["status"] == {"all_replicas_ready": True, "ready_for_outdated_reads": True, "ready_for_reads": True, "ready_for_writes": True}
    assert status["shards"] == [{"primary_replicas": [server.name], "replicas": [{"server": server.name, "state": "ready"}]}]
    assert status == sys_table(r, "table_status").get(status["id"]).run(conn)
    assert r.db(db).table("t").wait().run(conn) == {"ready": 1}
    result = r.db(db).table("t").reconfigure(shards=2, replicas=1).run(conn)
    assert result["reconfigured"] == 1
    assert len(result["config_changes"][0]["new_val"]["shards"]) == 2
    assert len(result["status_changes"]) == 1
    assert len(r.db(db).table("t").config()["shards"].run(conn)) == 2
    dry = r.db(db).table("t").reconfigure(shards=1, replicas=1, dry_run=True).run(conn)
    assert dry["reconfigured"] == 0 and "status_changes" not in dry
    assert len(r.db(db).table("t").config()["shards"].run(conn)) == 2
    assert message_of(r.db(db).table("t").reconfigure(shards=1, replicas=2), conn) == (
        "Can't put 2 replicas on servers with the tag `default` because there are only 1 servers with the tag `default`. "
        "It's impossible to have more replicas of the data than there are servers."
    )
    assert message_of(r.db(db).table("t").reconfigure(replicas=1), conn, ReqlQueryLogicError) == "Missing required argument `shards`."
    assert message_of(r.db(db).table("t").reconfigure(emergency_repair="unsafe_rollback"), conn) == "This table doesn't need to be repaired."
    r.db(db).table("t").insert([{"id": i} for i in range(10)]).run(conn)
    assert r.db(db).table("t").rebalance().run(conn)["rebalanced"] == 1
    assert r.db(db).reconfigure(shards=1, replicas=1).run(conn)["reconfigured"] == 1
    info = r.db(db).table("t").info().run(conn)
    assert info["doc_count_estimates"] == [10] and info["type"] == "TABLE" and info["db"]["name"] == db


def test_cluster_config(r, conn):
    table = sys_table(r, "cluster_config")
    assert list(table.run(conn))[0] == {"heartbeat_timeout_secs": 10, "id": "heartbeat"}
    assert table.get("heartbeat").update({"heartbeat_timeout_secs": 1}).run(conn)["first_error"] == (
        "The heartbeat timeout must be at least two seconds"
    )
    assert table.get("heartbeat").update({"heartbeat_timeout_secs": "x"}).run(conn)["first_error"] == 'Expected a number; got "x"'
    assert table.insert({"id": "other"}).run(conn)["first_error"] == (
        "It's illegal to insert new rows into the `rethinkdb.cluster_config` table."
    )
    assert table.get("heartbeat").delete().run(conn)["first_error"] == (
        "It's illegal to delete rows from the `rethinkdb.cluster_config` table."
    )
    assert table.get("heartbeat").update({"heartbeat_timeout_secs": 15}).run(conn)["replaced"] == 1
    assert table.get("heartbeat")["heartbeat_timeout_secs"].run(conn) == 15
    table.get("heartbeat").update({"heartbeat_timeout_secs": 10}).run(conn)


def test_logs_hold_the_servers_own_lines(r, conn, server):
    rows = list(sys_table(r, "logs").run(conn))
    messages = [row["message"] for row in rows]
    assert any(m.startswith("Server ready") for m in messages)
    row = rows[0]
    assert row["id"][1] == server.server_id and len(row["id"][0]) == len("2015-01-09T02:11:55.190829899")
    assert row["server"] == server.name and row["level"] in ("debug", "info", "notice", "warn", "error")
    assert len({tuple(row["id"]) for row in rows}) == len(rows)


def test_stats_count_reads_and_writes(r, conn, db, server):
    r.db(db).table_create("s").run(conn)
    r.db(db).table("s").insert([{"id": i} for i in range(25)]).run(conn)
    assert len(list(r.db(db).table("s").run(conn))) == 25
    table_id = r.db(db).table("s").info()["id"].run(conn)
    row = sys_table(r, "stats").get(["table_server", table_id, server.server_id]).run(conn)
    assert row["db"] == db and row["table"] == "s" and row["server"] == server.name
    assert row["query_engine"]["written_docs_total"] == 25
    assert row["query_engine"]["read_docs_total"] >= 25
    server_row = sys_table(r, "stats").get(["server", server.server_id]).run(conn)
    assert server_row["query_engine"]["queries_total"] >= 3
    assert server_row["query_engine"]["client_connections"] >= 1
    cluster = sys_table(r, "stats").get(["cluster"]).run(conn)
    assert cluster["query_engine"]["queries_per_sec"] > 0

