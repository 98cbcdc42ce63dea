"""What one client does per operation, with the official Python driver, the
way an application writes it.  Each factory gets a connection, the workload's
parameters and a seeded RNG, and returns the operation: a callable that runs
one query and returns how many documents it produced, wrote or counted."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from rethinkdb import r
from rethinkdb.net import Cursor

from .data import FILTER_BUCKET, new_document, prebuilt

Operation = Callable[[], int]
OpFactory = Callable[[Any, dict[str, Any], random.Random], Operation]
JOBS = r.db("rethinkdb").table("jobs")


def rows(result: Any) -> int:
    """Consume a query result (a cursor is read to its end); its row count."""
    if isinstance(result, Cursor):
        n = 0
        for _ in result:
            n += 1
        return n
    if isinstance(result, list):
        return len(result)
    return 1


def table(params: dict[str, Any]) -> Any:
    return r.db(params["db"]).table(params["table"])


def point_get(conn: Any, params: dict[str, Any], rng: random.Random) -> Operation:
    docs, count = table(params), params["rows"]

    def op() -> int:
        docs.get(rng.randrange(count)).run(conn)
        return 1

    return op


def point_get_general(conn: Any, params: dict[str, Any], rng: random.Random) -> Operation:
    """The same point read through the general query path (compiled, a
    ``query`` job while it runs): ``read_mode`` keeps it off the fast path."""
    docs, count = table(params), params["rows"]

    def op() -> int:
        docs.get(rng.randrange(count)).run(conn, read_mode="single")
        return 1

    return op


def insert_one(conn: Any, params: dict[str, Any], rng: random.Random) -> Operation:
    target, durability = table(params), params["durability"]

    def op() -> int:
        target.insert(new_document(rng), durability=durability).run(conn)
        return 1

    return op


def insert_batch(conn: Any, params: dict[str, Any], rng: random.Random) -> Operation:
    target, size = table(params), params["batch"]

    def op() -> int:
        result = target.insert([new_document(rng) for _ in range(size)]).run(conn)
        return result.get("inserted", size)

    return op


def filter_unindexed(conn: Any, params: dict[str, Any], rng: random.Random) -> Operation:
    query = table(params).filter(lambda doc: doc["bucket"] == FILTER_BUCKET)
    return lambda: rows(query.run(conn))


def get_all(conn: Any, params: dict[str, Any], rng: random.Random) -> Operation:
    docs, keys = table(params), params["keys"]
    return lambda: rows(docs.get_all(rng.randrange(keys), index="k").run(conn))


def between(conn: Any, params: dict[str, Any], rng: random.Random) -> Operation:
    docs, keys, width = table(params), params["keys"], params["width"]

    def op() -> int:
        low = rng.randrange(max(1, keys - width))
        return rows(docs.between(low, low + width, index="k").run(conn))

    return op


def order_by_limit(conn: Any, params: dict[str, Any], rng: random.Random) -> Operation:
    query = table(params).order_by(index="k").limit(params["limit"])
    return lambda: rows(query.run(conn))


def count(conn: Any, params: dict[str, Any], rng: random.Random) -> Operation:
    query, expected = table(params).count(), params["rows"]

    def op() -> int:
        result = query.run(conn)
        return result if type(result) is int else expected  # the null server answers a document

    return op


def count_range(conn: Any, params: dict[str, Any], rng: random.Random) -> Operation:
    query, expected = table(params).between(r.minval, r.maxval).count(), params["rows"]

    def op() -> int:
        result = query.run(conn)
        return result if type(result) is int else expected

    return op


def read_jobs(conn: Any, params: dict[str, Any], rng: random.Random) -> Operation:
    return lambda: rows(JOBS.run(conn))


OPS: dict[str, OpFactory] = {
    "point_get": point_get,
    "point_get_general": point_get_general,
    "insert_one": insert_one,
    "insert_batch": insert_batch,
    "filter_unindexed": filter_unindexed,
    "get_all": get_all,
    "between": between,
    "order_by_limit": order_by_limit,
    "count": count,
    "count_range": count_range,
    "read_jobs": read_jobs,
}


# -- setup tasks, run in the client processes to spread the client-side cost

def load_range(conn: Any, db: str, name: str, low: int, high: int, batch: int) -> int:
    from .data import document

    target = r.db(db).table(name)
    loaded = 0
    for start in range(low, high, batch):
        docs = [document(i) for i in range(start, min(high, start + batch))]
        result = target.insert(prebuilt(docs), durability="soft").run(conn)
        if result.get("errors"):
            raise RuntimeError(f"loading {db}.{name}: {result.get('first_error')}")
        loaded += result["inserted"]
    return loaded


TASKS: dict[str, Callable[..., Any]] = {"load_range": load_range}
