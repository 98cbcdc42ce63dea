"""Geo indexes: build rate, get_intersecting and get_nearest on 1,000,000 points.

    python -m bench.geo_bench                                 # 1,000,000 points
    python -m bench.geo_bench --points 100000 --seconds 3     # quicker
    python -m bench.geo_bench --compare 127.0.0.1:28215       # and the same on another server
    python -m bench.geo_bench --json out.json

Starts a systables server on a fresh data directory (and uses the server of
``--compare`` as it is, in a database of its own), then on each:

1. loads the points, generated server side (``r.range().map()``), spread
   over the earth between latitudes -80 and 80 in a scrambled grid;
2. builds a geo index on them: points per second, from ``index_create``
   until ``index_wait`` returns;
3. runs ``get_intersecting`` with circles of ``--radius`` meters and
   ``get_nearest`` (``max_results`` 10 and 100) around pseudo-random centers,
   back to back on one connection for ``--seconds`` each: queries per
   second, results per query, and documents read per query (the
   ``Read documents.`` events of the query profile, on a sample of queries).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rethinkdb import RethinkDB  # noqa: E402

from bench.procstat import ProcessMeter  # noqa: E402
from bench.targets import Target, external_target, start_systables  # noqa: E402

DB = "geo_bench"
TABLE = "points"
LOAD_CHUNK = 100_000
PROFILED_QUERIES = 20  # queries per workload whose documents read are measured
# A scrambled grid: point i gets longitude and latitude from two coprime strides.
LON_STRIDE, LAT_STRIDE = 7919, 104729
LON_CELLS, LAT_CELLS = 36000, 16000


@dataclass
class Workload:
    name: str
    queries: int
    seconds: float
    queries_per_second: float
    results_per_query: float
    docs_read_per_query: float | None  # None: the server's profile does not report it


def point_of(r: RethinkDB, i: Any) -> Any:
    lon = i.mul(LON_STRIDE).mod(LON_CELLS).div(100).sub(180)
    lat = i.mul(LAT_STRIDE).mod(LAT_CELLS).div(100).sub(80)
    return r.point(lon, lat)


def load(r: RethinkDB, conn: Any, points: int) -> float:
    started = time.perf_counter()
    table = r.db(DB).table(TABLE)
    for start in range(0, points, LOAD_CHUNK):
        end = min(points, start + LOAD_CHUNK)
        rows = r.range(start, end).map(lambda i: {"id": i, "p": point_of(r, i)})
        table.insert(rows, durability="soft").run(conn)
    table.sync().run(conn)
    return time.perf_counter() - started


def build_index(r: RethinkDB, conn: Any, target: Target, points: int) -> dict:
    meter = ProcessMeter(target.pid) if target.pid else None
    cpu0 = meter.cpu_seconds() if meter else None
    started = time.perf_counter()
    table = r.db(DB).table(TABLE)
    table.index_create("p", geo=True).run(conn)
    table.index_wait("p").run(conn)
    seconds = time.perf_counter() - started
    cpu1 = meter.cpu_seconds() if meter else None
    cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    return {
        "seconds": round(seconds, 2),
        "points_per_second": round(points / seconds),
        "points_per_cpu_second": round(points / cpu) if cpu else None,
    }


def docs_read(profile: list) -> int | None:
    """Documents read by a query per its profile; None if it reports none."""
    found = None
    for event in profile:
        if event.get("description") == "Read documents.":
            found = (found or 0) + event["n_samples"]
        for tasks in [event.get("sub_tasks", [])] + list(event.get("parallel_tasks", [])):
            inner = docs_read(tasks)
            if inner is not None:
                found = (found or 0) + inner
    return found


def measure(name: str, conn: Any, make_query: Callable[[random.Random], Any], seconds: float,
            counts_reads: bool) -> Workload:
    """``counts_reads``: the server reports every document read (systables
    omits the event when there were none); others may not report them."""
    rng = random.Random(11)
    reads: int | None = 0 if counts_reads else None
    for _ in range(PROFILED_QUERIES):
        n = docs_read(make_query(rng).run(conn, profile=True)["profile"])
        if n is not None:
            reads = (reads or 0) + n
    results, queries = 0, 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        results += len(make_query(rng).run(conn))
        queries += 1
    elapsed = time.perf_counter() - started
    return Workload(name, queries, round(elapsed, 2), round(queries / elapsed, 1),
                    round(results / queries, 2), None if reads is None else round(reads / PROFILED_QUERIES, 1))


def center(r: RethinkDB, rng: random.Random) -> Any:
    return r.point(rng.uniform(-179, 179), rng.uniform(-79, 79))


def workloads(r: RethinkDB, radius: float) -> list[tuple[str, Callable[[random.Random], Any]]]:
    table = r.db(DB).table(TABLE)
    return [
        (f"get_intersecting(circle {radius:g} m)",
         lambda rng: table.get_intersecting(r.circle(center(r, rng), radius), index="p").coerce_to("array")),
        ("get_nearest(max_results=10)",
         lambda rng: table.get_nearest(center(r, rng), index="p", max_results=10, max_dist=1_000_000)),
        ("get_nearest(max_results=100)",
         lambda rng: table.get_nearest(center(r, rng), index="p", max_results=100, max_dist=1_000_000)),
    ]


def run_on(r: RethinkDB, target: Target, args: argparse.Namespace) -> dict:
    conn = r.connect(host=target.host, port=target.port)
    if DB in r.db_list().run(conn):
        r.db_drop(DB).run(conn)
    r.db_create(DB).run(conn)
    r.db(DB).table_create(TABLE, durability="soft").run(conn)
    report: dict[str, Any] = {"server": target.name, "points": args.points}
    report["load_seconds"] = round(load(r, conn, args.points), 1)
    log(f"{target.name}: loaded {args.points:,} points in {report['load_seconds']} s")
    report["index_build"] = build_index(r, conn, target, args.points)
    log(f"{target.name}: geo index built: {report['index_build']}")
    report["workloads"] = []
    for name, make_query in workloads(r, args.radius):
        w = measure(name, conn, make_query, args.seconds, target.kind == "systables")
        report["workloads"].append(asdict(w))
        log(f"{target.name}: {name}: {w.queries_per_second} q/s, {w.results_per_query} results, "
            f"{w.docs_read_per_query} docs read per query")
    r.db_drop(DB).run(conn)
    conn.close()
    return report


def log(text: str) -> None:
    print(text, flush=True)


def render(reports: list[dict]) -> str:
    lines = [f"{'':34}" + "".join(f"{rep['server']:>30}" for rep in reports)]
    lines.append(f"{'geo index build (points/s)':34}" + "".join(
        f"{rep['index_build']['points_per_second']:>30,}" for rep in reports))
    for i, w in enumerate(reports[0]["workloads"]):
        cells = [f"{rep['workloads'][i]['queries_per_second']:>8} q/s {_reads(rep['workloads'][i]):>8} read"
                 for rep in reports]
        lines.append(f"{w['name']:34}" + "".join(f"{c:>30}" for c in cells))
    return "\n".join(lines)


def _reads(w: dict) -> str:
    n = w["docs_read_per_query"]
    return "n/a" if n is None else f"{n:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per workload (default 5)")
    parser.add_argument("--radius", type=float, default=20_000, help="get_intersecting circle radius in meters")
    parser.add_argument("--compare", metavar="HOST:PORT", help="also run on this server (in a database of its own)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    r = RethinkDB()
    reports = []
    target = start_systables(None, [])
    try:
        reports.append(run_on(r, target, args))
    finally:
        target.stop()
    if args.compare:
        reports.append(run_on(r, external_target(args.compare, None, None), args))
    print(render(reports))
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2))


if __name__ == "__main__":
    main()
