"""Create a secondary index and watch it being built, with nothing but ReQL.

``index_create`` returns at once; the server builds the index in the
background and shows the build as an ``index_construction`` row of
``rethinkdb.jobs`` until the index is ready.  This script fills a table,
creates an index on it, prints the row's progress (with the build's phase and
estimated time remaining) until it disappears, then uses the index.

    python examples/index_build_progress.py --host 127.0.0.1 --port 28015
    python examples/index_build_progress.py --docs 200000 --pause-at 0.3

``--pause-at`` pauses the build through its jobs row once it passes that
fraction, waits a second, then resumes it (an update of ``paused`` on the
row; ``priority: "low"`` throttles a build the same way).  The table
``index_progress_demo`` in the chosen database is dropped at the end.
"""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any

from rethinkdb import r

JOBS = r.db("rethinkdb").table("jobs")
TABLE = "index_progress_demo"
INDEX_CONSTRUCTION_NS = uuid.UUID("74d855a5-0c40-4930-a451-d1ce508ef2d2")
BATCH = 5000


def fill(conn: Any, table: Any, docs: int) -> None:
    for start in range(0, docs, BATCH):
        stop = min(docs, start + BATCH)
        table.insert(r.range(start, stop).map(lambda i: {"id": i, "score": i.mod(997)}), durability="soft").run(conn)
    # index_create answers once the new index is durable, and one fsync makes
    # everything written before durable too: flush the load now, so the build
    # is watched from its start rather than from the end of that fsync.
    table.sync().run(conn)


def job_id(conn: Any, table: Any, index: str) -> list:
    """The row's id: RethinkDB derives it from the table's id and the index name."""
    table_id = table.info()["id"].run(conn)
    return ["index_construction", str(uuid.uuid5(INDEX_CONSTRUCTION_NS, table_id + index))]


def describe(row: dict) -> str:
    info = row["info"]
    eta = "?" if info.get("eta_sec") is None else f"{info['eta_sec']:.2f} s"
    return (
        f"{info['db']}.{info['table']}.{info['index']}: {info['progress']:6.1%}  "
        f"phase {info.get('phase', '-'):<8}  priority {info.get('priority', '-'):<6}  "
        f"running {row['duration_sec']:.2f} s  eta {eta}"
    )


def watch(conn: Any, job: list, pause_at: float | None) -> int:
    """Print the row until it disappears; returns how many polls saw it."""
    seen = 0
    paused = False
    while (row := JOBS.get(job).run(conn)) is not None:
        seen += 1
        print(describe(row), flush=True)
        if pause_at is not None and not paused and row["info"]["progress"] >= pause_at:
            JOBS.get(job).update({"paused": True}).run(conn)
            paused = True
            print(describe(JOBS.get(job).run(conn)), flush=True)
            time.sleep(1.0)
            JOBS.get(job).update({"paused": False}).run(conn)
        time.sleep(0.02)
    return seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=28015)
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="")
    parser.add_argument("--db", default="test")
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--pause-at", type=float, help="pause the build once past this fraction, for a second")
    args = parser.parse_args()

    conn = r.connect(host=args.host, port=args.port, user=args.user, password=args.password)
    r.db(args.db).table_create(TABLE).run(conn)
    table = r.db(args.db).table(TABLE)
    try:
        fill(conn, table, args.docs)
        print(f"{args.docs} documents in {args.db}.{TABLE}; creating index `score`")
        print(table.index_create("score").run(conn))
        seen = watch(conn, job_id(conn, table, "score"), args.pause_at)
        status = table.index_wait("score").run(conn)[0]
        print(f"index `score` ready: {status['ready']} (its build was seen {seen} times)")
        print(f"documents with score 42: {table.get_all(42, index='score').count().run(conn)}")
        top = table.order_by(index=r.desc("score")).limit(3)["id"].run(conn)
        print(f"three highest scores: ids {list(top)}")
    finally:
        r.db(args.db).table_drop(TABLE).run(conn)
        conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
