"""Joins through the official driver: inner_join, outer_join, eq_join (primary
key, missing and null keys, ordered) and zip, on arrays and tables."""

from __future__ import annotations

import uuid

import pytest
from rethinkdb.errors import ReqlNonExistenceError, ReqlOpFailedError, ReqlQueryLogicError


@pytest.fixture(scope="module")
def tables(server):
    """people {id, name, team}, teams {id, title}, badges keyed by ``code``."""
    from rethinkdb import r

    conn = r.connect(host=server.host, port=server.port)
    db = "join_" + uuid.uuid4().hex[:8]
    r.db_create(db).run(conn)
    for name, pk in (("people", "id"), ("teams", "id"), ("badges", "code")):
        r.db(db).table_create(name, primary_key=pk).run(conn)
    r.db(db).table("people").insert([
        {"id": 1, "name": "ann", "team": "red"},
        {"id": 2, "name": "bob", "team": "blue"},
        {"id": 3, "name": "cy", "team": "green"},
        {"id": 4, "name": "di"},
    ]).run(conn)
    r.db(db).table("teams").insert([{"id": "red", "title": "Reds"}, {"id": "blue", "title": "Blues"}]).run(conn)
    r.db(db).table("badges").insert([{"code": 1, "badge": "gold"}, {"code": 3, "badge": "tin"}]).run(conn)
    r.db(db).table("people").index_create("team").run(conn)
    r.db(db).table("people").index_wait().run(conn)
    yield {"db": db, **{n: r.db(db).table(n) for n in ("people", "teams", "badges")}}
    r.db_drop(db).run(conn)
    conn.close()


def fails(query, conn, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        query.run(conn)
    assert info.value.message.split("\n")[0] == message


LEFT = [{"a": 1}, {"a": 2}, {"a": 3}]
RIGHT = [{"b": 2}, {"b": 3}, {"b": 3}]


def test_inner_join_on_arrays(r, conn):
    got = r.expr(LEFT).inner_join(RIGHT, lambda x, y: x["a"] == y["b"]).run(conn)
    assert got == [{"left": {"a": 2}, "right": {"b": 2}}, {"left": {"a": 3}, "right": {"b": 3}}, {"left": {"a": 3}, "right": {"b": 3}}]
    assert r.expr(LEFT).inner_join(RIGHT, lambda x, y: x["a"] == y["b"]).zip().run(conn) == [{"a": 2, "b": 2}, {"a": 3, "b": 3}, {"a": 3, "b": 3}]


def test_outer_join_keeps_unmatched_left_rows(r, conn):
    got = r.expr(LEFT).outer_join(RIGHT, lambda x, y: x["a"] == y["b"]).zip().run(conn)
    assert got == [{"a": 1}, {"a": 2, "b": 2}, {"a": 3, "b": 3}, {"a": 3, "b": 3}]


def test_join_predicates_are_not_shielded_from_missing_fields(r, conn, tables):
    with pytest.raises(ReqlNonExistenceError):
        tables["people"].inner_join(tables["teams"], lambda p, t: p["team"] == t["id"]).run(conn)


def test_joins_of_tables_are_lazy_streams(r, conn, tables):
    people, teams = tables["people"], tables["teams"]
    joined = people.inner_join(teams, lambda p, t: p["team"].default(None) == t["id"])
    assert joined.type_of().run(conn) == "STREAM"
    assert sorted(row["name"] for row in joined.zip().run(conn)) == ["ann", "bob"]
    outer = people.outer_join(teams, lambda p, t: p["team"].default(None) == t["id"]).zip()
    assert sorted((row["name"], row.get("title")) for row in outer.run(conn)) == [
        ("ann", "Reds"), ("bob", "Blues"), ("cy", None), ("di", None)]


def test_eq_join_on_the_primary_key(r, conn, tables):
    people, teams, badges = tables["people"], tables["teams"], tables["badges"]
    got = people.eq_join("team", teams).zip().order_by("name").run(conn)  # the right row's id wins
    assert [(p["name"], p["title"]) for p in got] == [("ann", "Reds"), ("bob", "Blues")]
    assert people.eq_join(lambda p: p["id"], badges).zip()["badge"].coerce_to("array").run(conn) == ["gold", "tin"]
    assert people.eq_join(r.row["missing"], teams).count().run(conn) == 0
    assert people.eq_join(lambda p: None, teams).count().run(conn) == 0
    ordered = people.order_by(r.desc("id")).eq_join("id", badges, ordered=True).zip()["id"]
    assert ordered.run(conn) == [3, 1]
    assert r.expr([{"t": "red"}]).eq_join("t", teams).zip().run(conn) == [{"t": "red", "id": "red", "title": "Reds"}]


def test_eq_join_on_a_secondary_index(r, conn, tables):
    got = tables["teams"].eq_join("id", tables["people"], index="team").zip()
    assert sorted((row["title"], row["name"]) for row in got.run(conn)) == [("Blues", "bob"), ("Reds", "ann")]


def test_eq_join_errors(r, conn, tables):
    fails(r.expr([{"a": 1}]).eq_join("a", [1]), conn, ReqlQueryLogicError, "Expected type TABLE but found DATUM:")
    fails(tables["people"].eq_join("team", tables["teams"], index="nope"), conn, ReqlOpFailedError,
          f"Index `nope` was not found on table `{tables['db']}.teams`.")


def test_zip_needs_the_result_of_a_join(r, conn):
    fails(r.expr([{"a": 1}]).zip(), conn, ReqlQueryLogicError, "ZIP can only be called on the result of a join.")
    assert r.expr([{"left": {"a": {"x": 1}}, "right": {"a": {"y": 2}}}]).zip().run(conn) == [{"a": {"x": 1, "y": 2}}]
