"""Users, passwords and permissions with a second user, over real connections:
``rethinkdb.users``, ``grant``, ``rethinkdb.permissions`` and their
enforcement on reads, writes and administration."""

from __future__ import annotations

import uuid

import pytest
from rethinkdb.errors import ReqlAuthError, ReqlOpFailedError, ReqlPermissionError

SYSTEM_TABLES = [
    "cluster_config", "connections", "current_issues", "db_config", "job_history", "jobs", "logs", "permissions",
    "server_config", "server_status", "stats", "table_config", "table_status", "users",
]


def users(r):  # type: ignore[no-untyped-def]
    return r.db("rethinkdb").table("users")


def permissions(r):  # type: ignore[no-untyped-def]
    return r.db("rethinkdb").table("permissions")


@pytest.fixture
def user(r, conn):  # type: ignore[no-untyped-def]
    name = "u_" + uuid.uuid4().hex[:8]
    assert users(r).insert({"id": name, "password": "s3cret"}).run(conn)["inserted"] == 1
    yield name
    users(r).get(name).delete().run(conn)


@pytest.fixture
def db(r, conn):  # type: ignore[no-untyped-def]
    name = "p_" + uuid.uuid4().hex[:8]
    r.db_create(name).run(conn)
    r.db(name).table_create("t").run(conn)
    r.db(name).table("t").insert([{"id": 1}, {"id": 2}]).run(conn)
    yield name
    r.db_drop(name).run(conn)


def denied(query, conn, user: str, perm: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ReqlPermissionError) as e:
        query.run(conn)
    assert e.value.message == f"User `{user}` does not have the required `{perm}` permission."


def test_passwords_are_checked_and_can_change(r, conn, server, user):
    assert users(r).get(user).run(conn) == {"id": user, "password": True}
    r.connect(server.host, server.port, user=user, password="s3cret").close()
    with pytest.raises(ReqlAuthError):
        r.connect(server.host, server.port, user=user, password="wrong")
    assert users(r).get(user).update({"password": {"password": "n3w", "iterations": 2048}}).run(conn)["replaced"] == 1
    with pytest.raises(ReqlAuthError):
        r.connect(server.host, server.port, user=user, password="s3cret")
    r.connect(server.host, server.port, user=user, password="n3w").close()
    assert users(r).get(user).update({"password": False}).run(conn)["replaced"] == 1
    assert users(r).get(user)["password"].run(conn) is False
    r.connect(server.host, server.port, user=user).close()


def test_deleted_users_cannot_connect(r, conn, server):
    name = "gone_" + uuid.uuid4().hex[:8]
    users(r).insert({"id": name, "password": "pw"}).run(conn)
    assert users(r).get(name).delete().run(conn)["deleted"] == 1
    with pytest.raises(ReqlAuthError):
        r.connect(server.host, server.port, user=name, password="pw")


def test_users_table_refusals(r, conn, user):
    assert users(r).get("admin").delete().run(conn)["first_error"] == "The user `admin` can't be deleted."
    assert users(r).insert({"password": "x"}).run(conn)["first_error"].startswith("Expected a username as the primary key, got ")
    assert users(r).insert({"id": "x", "password": "y", "age": 3}).run(conn)["first_error"] == "Unexpected key(s) `age`."
    assert users(r).insert({"id": "x"}).run(conn)["first_error"] == "Expected a field named `password`."
    assert users(r).insert({"id": "y", "password": True}).run(conn)["first_error"] == (
        "Expected an object or string to set the password, or `false` to keep it unset, got true."
    )
    assert users(r).get(user).update({"password": True}).run(conn)["replaced"] == 0


def test_reads_and_writes_need_grants(r, conn, server, user, db):
    other = r.connect(server.host, server.port, user=user, password="s3cret")
    try:
        denied(r.db(db).table("t"), other, user, "read")
        granted = r.db(db).grant(user, {"read": True}).run(conn)
        assert granted == {"granted": 1, "permissions_changes": [{"new_val": {"read": True}, "old_val": None}]}
        assert sorted(row["id"] for row in r.db(db).table("t").run(other)) == [1, 2]
        denied(r.db(db).table("t").insert({"id": 3}), other, user, "write")
        r.db(db).grant(user, {"write": True}).run(conn)
        assert r.db(db).table("t").insert({"id": 3}).run(other)["inserted"] == 1
        # The most specific scope decides.
        r.db(db).table("t").grant(user, {"write": False}).run(conn)
        denied(r.db(db).table("t").insert({"id": 4}), other, user, "write")
        r.db(db).table("t").grant(user, {"write": None}).run(conn)
        assert r.db(db).table("t").insert({"id": 4}).run(other)["inserted"] == 1
        denied(r.db(db).table_create("u"), other, user, "config")
        r.db(db).grant(user, {"config": True}).run(conn)
        assert r.db(db).table_create("u").run(other)["tables_created"] == 1
    finally:
        other.close()


def test_system_tables_stay_closed_to_users_with_full_rights_elsewhere(r, conn, server, user, db):
    r.db(db).grant(user, {"read": True, "write": True, "config": True}).run(conn)
    r.grant(user, {"read": True, "write": True, "config": True}).run(conn)
    other = r.connect(server.host, server.port, user=user, password="s3cret")
    try:
        for name in SYSTEM_TABLES:
            denied(r.db("rethinkdb").table(name), other, user, "read")
            denied(r.db("rethinkdb").table(name).insert({}), other, user, "read")
        r.db("rethinkdb").table("table_config").grant(user, {"read": True}).run(conn)
        assert db in [row["db"] for row in r.db("rethinkdb").table("table_config").run(other)]
        denied(r.db("rethinkdb").table("table_config").insert({"name": "x", "db": db}), other, user, "write")
    finally:
        other.close()
        r.grant(user, {"read": None, "write": None, "config": None}).run(conn)


def test_grant_errors(r, conn, user, db):
    with pytest.raises(ReqlOpFailedError) as e:
        r.grant("admin", {"read": False}).run(conn)
    assert e.value.message == "The permissions of the user `admin` can't be modified."
    with pytest.raises(ReqlOpFailedError) as e:
        r.grant("nobody_" + uuid.uuid4().hex[:6], {"read": True}).run(conn)
    assert e.value.message.startswith("User `nobody_") and e.value.message.endswith("` not found.")
    with pytest.raises(ReqlOpFailedError) as e:
        r.db(db).grant(user, {"connect": True}).run(conn)
    assert e.value.message == "The `connect` permission is only valid at the global scope."
    with pytest.raises(ReqlOpFailedError) as e:
        r.grant(user, {"fly": True}).run(conn)
    assert e.value.message == "Unexpected key(s) `fly`."
    with pytest.raises(ReqlOpFailedError) as e:
        r.grant(user, {"read": 1}).run(conn)
    assert e.value.message == "Expected a boolean or null for `read`, got 1."


def test_permissions_table_shows_and_sets_grants(r, conn, server, user, db):
    rows = list(permissions(r).run(conn))
    assert {"id": ["admin"], "permissions": {"config": True, "connect": True, "read": True, "write": True}, "user": "admin"} in rows
    r.db(db).table("t").grant(user, {"read": True}).run(conn)
    db_id = r.db(db).info()["id"].run(conn)
    table_id = r.db(db).table("t").info()["id"].run(conn)
    row = permissions(r).get([user, db_id, table_id]).run(conn)
    assert row == {"database": db, "id": [user, db_id, table_id], "permissions": {"read": True}, "table": "t", "user": user}
    uuid_row = r.db("rethinkdb").table("permissions", identifier_format="uuid").get([user, db_id, table_id]).run(conn)
    assert uuid_row["database"] == db_id and uuid_row["table"] == table_id
    written = permissions(r).insert({"id": [user, db_id], "permissions": {"write": True}}).run(conn)
    assert written["inserted"] == 1
    other = r.connect(server.host, server.port, user=user, password="s3cret")
    try:
        assert r.db(db).table("t").insert({"id": 9}).run(other)["inserted"] == 1
    finally:
        other.close()
    assert permissions(r).get([user, db_id]).delete().run(conn)["deleted"] == 1
    assert permissions(r).get([user, db_id]).run(conn) is None
    assert permissions(r).get(["admin"]).update({"permissions": {"read": False}}).run(conn)["first_error"] == (
        "The permissions of the user `admin` can't be modified."
    )
    assert permissions(r).insert({"permissions": {"read": True}}).run(conn)["first_error"] == "You must specify a primary key."
