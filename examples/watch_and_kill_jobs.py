"""Watch what a server is doing and stop a runaway query, with nothing but
ReQL: every running query is a row of ``rethinkdb.jobs``, and deleting the
row kills the query.

This script starts a deliberately endless query on one connection, finds it
in ``rethinkdb.jobs`` from another connection, prints the running jobs, then
deletes the query's row and shows the error the query's client receives.

    python examples/watch_and_kill_jobs.py --host 127.0.0.1 --port 28015

Reading and deleting rows of ``rethinkdb.jobs`` needs the ``admin`` user, or
``read``/``write`` permissions on that table (other users see and kill only
their own queries).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any

from rethinkdb import r
from rethinkdb.errors import ReqlError

JOBS = r.db("rethinkdb").table("jobs")


def long_query() -> Any:
    """Counts the negative numbers among the first trillion: runs for hours."""
    return r.range(10**12).filter(lambda x: x < 0).count()


def find_job(conn: Any, client_port: int, timeout: float = 10.0) -> dict:
    """The job row of the query running on the connection with ``client_port``."""
    deadline = time.monotonic() + timeout
    mine = JOBS.filter({"type": "query", "info": {"client_port": client_port}})
    while time.monotonic() < deadline:
        rows = list(mine.run(conn))
        if rows:
            return rows[0]
        time.sleep(0.05)
    raise SystemExit("the long query never showed up in rethinkdb.jobs")


def print_jobs(conn: Any) -> None:
    print(f"{'type':<20} {'running for':>12}  what")
    for job in JOBS.order_by("duration_sec").run(conn):
        seconds = job["duration_sec"]
        running = "-" if seconds is None else f"{seconds:.2f} s"
        what = job["info"].get("query") or ", ".join(f"{k}={v}" for k, v in job["info"].items())
        print(f"{job['type']:<20} {running:>12}  {what}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=28015)
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="")
    args = parser.parse_args()

    def connect() -> Any:
        return r.connect(host=args.host, port=args.port, user=args.user, password=args.password)

    watcher, worker = connect(), connect()
    outcome: dict[str, Any] = {}

    def run_long_query() -> None:
        try:
            outcome["result"] = long_query().run(worker)
        except ReqlError as e:
            outcome["error"] = e

    thread = threading.Thread(target=run_long_query, daemon=True)
    thread.start()
    job = find_job(watcher, worker.client_port())
    time.sleep(0.5)  # let it run a little
    print_jobs(watcher)

    print(f"\nKilling job {job['id'][1]} ...")
    started = time.perf_counter()
    deleted = JOBS.get(job["id"]).delete().run(watcher)
    thread.join(timeout=10)
    if "error" not in outcome:
        print(f"The query was not stopped (delete returned {deleted}).")
        return 1
    error = outcome["error"]
    print(f"Deleted {deleted['deleted']} row; the query's client got, "
          f"{(time.perf_counter() - started) * 1000:.0f} ms later:")
    print(f"  {type(error).__name__}: {error.message}")
    watcher.close()
    worker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
