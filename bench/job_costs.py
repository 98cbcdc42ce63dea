"""What the job history and the live costs of query rows cost: point-get
throughput and server CPU per query with them on and off, on one server.

    python -m bench.job_costs [--docs 10000] [--clients 2] [--duration 5] [--rounds 5]

Both are switched in the ``jobs`` row of ``rethinkdb.cluster_config``
(``record_history``, ``live_costs``), so every mode runs on the same warm
server; rounds alternate the order of the modes and the medians are kept,
which evens out a busy machine.  Modes:

* ``off``: neither (what a server without them would do per query);
* ``on``: both, with the default settings (queries under 1 s are not recorded);
* ``on, every query``: both, recording every query (``history_min_query_sec: 0``),
  for scale: one history entry written per query.

Workloads: a plain point get (``r.table(t).get(k)``, the fast path, which no
job row sees) and the same read through the general path (``read_mode``
keeps it off the fast path: compiled, a ``query`` job while it runs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from rethinkdb import r

from .clients import ClientPool
from .report import machine_info
from .results import Row
from .targets import REPO_ROOT, Target, start_systables
from .workloads import ClosedLoop, Settings, Sizes, Window, connect, create_tables, load, measure_closed_loop

MODES: dict[str, dict[str, Any]] = {
    "off": {"record_history": False, "live_costs": False, "history_min_query_sec": 1},
    "on": {"record_history": True, "live_costs": True, "history_min_query_sec": 1},
    "on, every query": {"record_history": True, "live_costs": True, "history_min_query_sec": 0},
}
WORKLOADS = [
    ClosedLoop("get", "point get (fast path)", "point_get", "docs", lambda s: {"rows": s.docs}),
    ClosedLoop("get_general", "point get (general path)", "point_get_general", "docs", lambda s: {"rows": s.docs}),
]
JOBS_CONFIG = r.db("rethinkdb").table("cluster_config").get("jobs")


def set_mode(conn: Any, mode: str) -> None:
    JOBS_CONFIG.update(MODES[mode]).run(conn)
    r.db("rethinkdb").table("job_history").delete().run(conn)  # every mode starts from an empty history


def measure(target: Target, pool: ClientPool, settings: Settings, rounds: int) -> dict[str, dict[str, list[Row]]]:
    """Every workload in every mode, ``rounds`` times, modes in alternating order."""
    conn = connect(target)
    runs: dict[str, dict[str, list[Row]]] = {w.key: {m: [] for m in MODES} for w in WORKLOADS}
    for i in range(rounds):
        for workload in WORKLOADS:
            order = list(MODES) if i % 2 == 0 else list(reversed(MODES))
            for mode in order:
                set_mode(conn, mode)
                window = Window(target, clients=pool.pids)
                row = measure_closed_loop(workload, target, pool, settings, window, seed=i)
                if not row.ok:
                    raise SystemExit(f"{workload.key}, {mode}: {row.status}")
                runs[workload.key][mode].append(row)
    conn.close()
    return runs


def median(rows: list[Row], attr: str) -> float | None:
    values = [getattr(row, attr) for row in rows if getattr(row, attr) is not None]
    return statistics.median(values) if values else None


def summary(runs: dict[str, dict[str, list[Row]]]) -> list[dict[str, Any]]:
    lines = []
    for workload in WORKLOADS:
        by_mode = runs[workload.key]
        base_ops, base_cpu = median(by_mode["off"], "ops_per_s"), median(by_mode["off"], "cpu_us_per_op")
        for mode, rows in by_mode.items():
            ops, cpu = median(rows, "ops_per_s"), median(rows, "cpu_us_per_op")
            lines.append({
                "workload": workload.title, "mode": mode, "ops_per_s": ops, "cpu_us_per_op": cpu,
                "ops_vs_off_pct": pct(ops, base_ops), "cpu_vs_off_pct": pct(cpu, base_cpu),
                "rounds": [[row.ops_per_s, row.cpu_us_per_op] for row in rows],
            })
    return lines


def pct(value: float | None, base: float | None) -> float | None:
    return None if value is None or not base else (value / base - 1) * 100


def render(lines: list[dict[str, Any]]) -> str:
    def num(v: float | None, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    out = [f"{'workload':<26} {'mode':<16} {'ops/s':>9} {'vs off':>8} {'CPU us/op':>10} {'vs off':>8}"]
    for line in lines:
        out.append(f"{line['workload']:<26} {line['mode']:<16} {num(line['ops_per_s'], ',.0f'):>9} "
                   f"{num(line['ops_vs_off_pct'], '+.1f'):>7}% {num(line['cpu_us_per_op'], '.1f'):>10} "
                   f"{num(line['cpu_vs_off_pct'], '+.1f'):>7}%")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.job_costs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=10_000, help="documents in the table read (default 10,000)")
    parser.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per run (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds before each run (default 1)")
    parser.add_argument("--rounds", type=int, default=5, help="runs per workload and mode; medians kept (default 5)")
    parser.add_argument("--json", type=Path, help="where to write the figures (default bench/results/job-costs-<time>.json)")
    args = parser.parse_args(argv)
    settings = Settings(Sizes(docs=args.docs, big=args.docs, cursors=1), args.clients, args.duration, args.warmup, 1)
    started = time.time()
    target = start_systables(None, [])
    pool = ClientPool(args.clients)
    try:
        conn = connect(target)
        create_tables(conn, ["docs"])
        conn.close()
        load(pool, target, "docs", args.docs)
        lines = summary(measure(target, pool, settings, args.rounds))
    finally:
        pool.close()
        target.stop(keep_data=False)
    print(render(lines))
    report = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)), "machine": machine_info(),
              "settings": vars(args) | {"json": None}, "lines": lines}
    path = args.json or REPO_ROOT / "bench" / "results" / f"job-costs-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(started))}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    print(f"\nJSON report: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
