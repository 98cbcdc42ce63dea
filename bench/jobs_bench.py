"""Kill latency through ``rethinkdb.jobs`` and the cost of ``r.js`` calls,
measured against a real server process with the official driver.

    python bench/jobs_bench.py [--rows 1000000] [--kills 5] [--js-calls 20000]

* kill latency: a full-table scan (``filter(...).count()`` over ``--rows``
  rows) runs on one connection; another finds its row in ``rethinkdb.jobs``
  and deletes it.  Reported: time from sending the delete to the victim's
  error, and how long the deleter waited for its own answer.
* r.js: ``r.range(n).map(r.js('(function(x){ return x * 2; })')).count()``
  against the same query with a ReQL function (``map`` sends rows to the
  worker a batch at a time), and ``r.js('1')`` against ``r.expr(1)`` (one
  round trip to a worker process).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from rethinkdb import r  # noqa: E402
from rethinkdb.errors import ReqlOpIndeterminateError  # noqa: E402
from serverproc import temp_server  # noqa: E402

JOBS = r.db("rethinkdb").table("jobs")


def kill_once(host: str, port: int, table: str) -> tuple[float, float]:
    victim = r.connect(host, port)
    watcher = r.connect(host, port)
    died: dict[str, float] = {}

    def scan() -> None:
        try:
            r.table(table).filter(lambda doc: doc["id"] < 0).count().run(victim)
        except ReqlOpIndeterminateError:
            died["at"] = time.perf_counter()

    thread = threading.Thread(target=scan)
    thread.start()
    port_of_victim = victim.client_port()
    while True:
        rows = list(JOBS.filter({"type": "query", "info": {"client_port": port_of_victim}}).run(watcher))
        if rows:
            break
        if not thread.is_alive():
            raise SystemExit("the scan ended before it could be killed: use more --rows")
        time.sleep(0.005)
    time.sleep(0.2)  # let the scan get well into the table
    sent = time.perf_counter()
    result = JOBS.get(rows[0]["id"]).delete().run(watcher)
    answered = time.perf_counter()
    thread.join()
    victim.close()
    watcher.close()
    assert result["deleted"] == 1 and "at" in died, (result, died)
    return died["at"] - sent, answered - sent


def js_overhead(host: str, port: int, calls: int) -> tuple[float, float, float]:
    conn = r.connect(host, port)
    r.js("1").run(conn)  # spawn a worker first
    start = time.perf_counter()
    r.range(calls).map(r.js("(function(x){ return x * 2; })")).count().run(conn)
    js = time.perf_counter() - start
    start = time.perf_counter()
    r.range(calls).map(lambda x: x * 2).count().run(conn)
    reql = time.perf_counter() - start
    js_times, plain_times = [], []
    for _ in range(300):  # interleaved, medians: robust to a busy machine
        for query, times in ((r.js("1"), js_times), (r.expr(1), plain_times)):
            start = time.perf_counter()
            query.run(conn)
            times.append(time.perf_counter() - start)
    single = statistics.median(js_times) - statistics.median(plain_times)
    conn.close()
    return js / calls * 1e6, reql / calls * 1e6, single * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--js-calls", type=int, default=20_000)
    args = parser.parse_args()
    server = temp_server(http=False)
    server.start()
    try:
        conn = r.connect(server.host, server.port)
        r.db("test").table_create("scan").run(conn)
        start = time.perf_counter()
        r.table("scan").insert(r.range(args.rows).map(lambda i: {"id": i}), durability="soft").run(conn)
        print(f"loaded {args.rows} rows in {time.perf_counter() - start:.1f} s")
        kills = [kill_once(server.host, server.port, "scan") for _ in range(args.kills)]
        victim = [k[0] * 1000 for k in kills]
        deleter = [k[1] * 1000 for k in kills]
        print(f"kill mid-scan: victim error after {statistics.median(victim):.1f} ms median, "
              f"{max(victim):.1f} ms max; delete answered in {statistics.median(deleter):.1f} ms median")
        js_us, reql_us, single_us = js_overhead(server.host, server.port, args.js_calls)
        print(f"r.js in map: {js_us:.1f} us per row (ReQL function: {reql_us:.1f} us; rows go to the "
              f"worker in batches, ~{js_us - reql_us:.1f} us each); one r.js evaluation adds {single_us:.0f} us to a query")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
