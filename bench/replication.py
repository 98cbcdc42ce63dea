"""Replication on three servers on this machine: how fast a backfill copies a
table to two new replicas, and what majority acks cost writes (one replica
against three).

    python -m bench.replication [--docs 50000] [--duration 5]

Starts three servers joined on loopback (etcd must be installed), loads
``--docs`` documents of 200 bytes, reconfigures the table to 3 replicas and
times it until ``table_status`` says every replica is ready; then runs
sequential single-document inserts and 100-document batch inserts for
``--duration`` seconds each on a 1-replica and a 3-replica table.
"""

from __future__ import annotations

import argparse
import socket
import time
from typing import Any

from rethinkdb import r

from .targets import start_systables

PAD = "x" * 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_three() -> list[Any]:
    ports = [free_port() for _ in range(3)]
    servers = []
    for i, port in enumerate(ports):
        args = ["-n", f"s{i}", "--cluster-port", str(port)] + (["--join", f"127.0.0.1:{ports[0]}"] if i else [])
        servers.append(start_systables(None, args))
    return servers


def wait_until(predicate: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the cluster did not get there")
        time.sleep(0.01)


def backfill_rate(conn: Any, docs: int) -> float:
    r.table_create("bf").run(conn)
    for start in range(0, docs, 5000):
        r.table("bf").insert([{"id": i, "pad": PAD} for i in range(start, min(docs, start + 5000))], durability="soft").run(conn)
    began = time.monotonic()
    r.table("bf").reconfigure(shards=1, replicas=3).run(conn)
    wait_until(lambda: r.table("bf").status()["status"]["all_replicas_ready"].run(conn))
    return docs / (time.monotonic() - began)


def write_rate(conn: Any, table: str, batch: int, duration: float) -> float:
    done, began = 0, time.monotonic()
    while time.monotonic() - began < duration:
        r.table(table).insert([{"pad": PAD} for _ in range(batch)]).run(conn)
        done += batch
    return done / (time.monotonic() - began)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    servers = start_three()
    try:
        conn = r.connect(servers[0].host, servers[0].port)
        wait_until(lambda: r.db("rethinkdb").table("server_status").count().run(conn) == 3)
        print(f"backfill to 2 replicas: {backfill_rate(conn, args.docs):,.0f} documents/s")
        r.table_create("one").run(conn)
        r.table_create("three", replicas=3).run(conn)
        wait_until(lambda: r.table("three").status()["status"]["all_replicas_ready"].run(conn))
        for batch in (1, 100):
            one = write_rate(conn, "one", batch, args.duration)
            three = write_rate(conn, "three", batch, args.duration)
            print(f"inserts of {batch} document(s), hard durability, majority acks: "
                  f"1 replica {one:,.0f} docs/s, 3 replicas {three:,.0f} docs/s")
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    main()
