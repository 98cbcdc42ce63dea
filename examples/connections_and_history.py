"""Beyond RethinkDB's jobs table, with nothing but ReQL: the open
connections, what a running query costs, a query stopped by its time limit,
the history of finished jobs, and closing a client's connection.

This script fills a small table, starts a slow scan on one connection with a
``time_limit`` of one second, watches its ``rethinkdb.jobs`` row count the
documents it reads, lists ``rethinkdb.connections``, reads the scan's entry
in ``rethinkdb.job_history`` once its limit stopped it, then closes an idle
connection by deleting its row and shows what its client sees.

    python examples/connections_and_history.py --host 127.0.0.1 --port 28015

The table ``history_demo`` in the chosen database is dropped at the end.
Other users than ``admin`` see (and close) only their own connections and
queries, and need ``read``/``write`` on these tables.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any, Callable

from rethinkdb import r
from rethinkdb.errors import ReqlDriverError, ReqlError

SYSTEM = r.db("rethinkdb")
TABLE = "history_demo"
DOCS = 2000


def slow_scan(table: Any) -> Any:
    """A scan that works a few milliseconds per document: it runs for seconds."""
    return table.filter(lambda doc: r.range(3000).sum().gt(doc["id"])).count()


def wait_until(fetch: Callable[[], Any], done: Callable[[Any], bool], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fetch()
        if done(value):
            return value
        time.sleep(0.02)
    raise SystemExit(f"{what} did not happen within {timeout:g} s")


def print_connections(conn: Any) -> None:
    print(f"{'connection':<38} {'user':<8} {'protocol':<8} {'client':<22} {'queries':>7} {'bytes in/out':>16}")
    for c in SYSTEM.table("connections").order_by("connected_at").run(conn):
        client = f"{c['client_address']}:{c['client_port']}"
        traffic = f"{c['bytes_in']}/{c['bytes_out']}"
        print(f"{c['id']:<38} {c['user']:<8} {c['protocol']:<8} {client:<22} {len(c['queries']):>7} {traffic:>16}")


def run_limited_scan(conn: Any, table: Any, outcome: dict[str, Any]) -> None:
    try:
        outcome["result"] = slow_scan(table).run(conn, time_limit=1)
    except ReqlError as e:
        outcome["error"] = e


def watch_costs(admin: Any, client_port: int) -> dict:
    """The scan's jobs row once it has read some documents."""
    mine = SYSTEM.table("jobs").filter({"type": "query", "info": {"client_port": client_port}})
    rows = wait_until(lambda: list(mine.run(admin)), lambda rows: rows and rows[0]["info"]["documents_read"] > 0,
                      "the scan reading documents")
    info = rows[0]["info"]
    tables = ", ".join(f"{t['db']}.{t['table']}" for t in info["tables"])
    print(f"running scan: {info['documents_read']} documents read, {info['documents_written']} written, "
          f"tables {tables}, on connection {info['connection']}")
    return rows[0]


def print_history_entry(admin: Any, job_id: list) -> None:
    history = SYSTEM.table("job_history")
    [entry] = wait_until(lambda: list(history.filter({"job": job_id}).run(admin)), lambda e: len(e) == 1,
                         "the scan's history entry")
    print(f"job_history: outcome {entry['outcome']} after {entry['duration_sec']:.1f} s, reason: {entry['reason']}")
    print(f"  it had read {entry['info']['documents_read']} documents")
    slow = history.filter(r.row["duration_sec"] > 0.5).count().run(admin)
    print(f"  queries and jobs in the history that took over 0.5 s: {slow}")


def close_connection(admin: Any, victim: Any) -> None:
    connections = SYSTEM.table("connections")
    [row] = list(connections.filter({"client_port": victim.client_port()}).run(admin))
    deleted = connections.get(row["id"]).delete().run(admin)["deleted"]
    print(f"\nDeleted {deleted} row of rethinkdb.connections; its client's next query gets:")
    try:
        r.expr(1).run(victim)
        print("  nothing: the connection is still open")
    except ReqlDriverError as e:
        print(f"  {type(e).__name__}: {e.message}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=28015)
    parser.add_argument("--db", default="test")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="")
    args = parser.parse_args()

    def connect() -> Any:
        return r.connect(host=args.host, port=args.port, user=args.user, password=args.password)

    admin, worker, idle = connect(), connect(), connect()
    if TABLE not in r.db(args.db).table_list().run(admin):
        r.db(args.db).table_create(TABLE).run(admin)
    table = r.db(args.db).table(TABLE)
    table.insert(r.range(DOCS).map(lambda i: {"id": i}), conflict="replace").run(admin)
    try:
        outcome: dict[str, Any] = {}
        scan = threading.Thread(target=run_limited_scan, args=(worker, table, outcome), daemon=True)
        scan.start()
        job = watch_costs(admin, worker.client_port())
        print()
        print_connections(admin)
        scan.join(timeout=20)
        if "error" not in outcome:
            print(f"The scan was not stopped by its time limit: {outcome}")
            return 1
        print(f"\nthe scan's client got: {type(outcome['error']).__name__}: {outcome['error'].message}")
        print_history_entry(admin, job["id"])
        close_connection(admin, idle)
    finally:
        r.db(args.db).table_drop(TABLE).run(admin)
        admin.close()
        worker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
