"""``python -m bench``: start a systables server on a fresh data directory and
the null server, load data, run the workloads from several client processes
with the official Python driver, print the table and write the JSON report."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

from .clients import ClientPool
from .profiling import Profiler
from .report import check_goals, log, machine_info, render, write_json
from .runner import Runner
from .targets import REPO_ROOT, Target, TargetError, external_target, start_null_server, start_systables
from .workloads import ALL_KEYS, Settings, Sizes

RESULTS_DIR = REPO_ROOT / "bench" / "results"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="data size factor: 1 = 100,000 / 1,000,000 documents and 1,000 cursors (default 1)")
    parser.add_argument("--clients", type=int, default=4, help="client processes (default 4)")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per run (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds before each run (default 1)")
    parser.add_argument("--rounds", type=int, default=1, help="runs per workload and server; the median is kept (default 1)")
    parser.add_argument("--only", help=f"comma-separated workloads to run, from: {','.join(ALL_KEYS)}")
    parser.add_argument("--skip", help="comma-separated workloads to leave out")
    parser.add_argument("--compare", metavar="HOST:PORT", help="also run every workload against this server")
    parser.add_argument("--compare-name", help="label of the compared server in the table (default HOST:PORT)")
    parser.add_argument("--compare-pid", type=int,
                        help="process id of the compared server, for its CPU and memory (found automatically when local)")
    parser.add_argument("--no-null", action="store_true", help="do not measure the null-server ceiling")
    parser.add_argument("--trio-floor", action="store_true",
                        help="also measure the null server's trio variant: what systables' transport costs per query")
    parser.add_argument("--kill-samples", type=int, default=200, help="kills measured for the kill latency (default 200)")
    parser.add_argument("--profile", metavar="WORKLOADS",
                        help="record the systables server with py-spy during these workloads (comma-separated)")
    parser.add_argument("--json", type=Path, help="where to write the JSON report (default bench/results/bench-<time>.json)")
    parser.add_argument("--data-dir", help="parent directory of the fresh data directory (default: the system's temp)")
    parser.add_argument("--keep-data", action="store_true", help="keep the data directory afterwards")
    parser.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                        help="extra argument for `systables serve` (repeatable)")
    return parser


def selected_workloads(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[str]:
    def names(text: str | None) -> list[str]:
        chosen = [n.strip() for n in (text or "").split(",") if n.strip()]
        unknown = [n for n in chosen if n not in ALL_KEYS]
        if unknown:
            parser.error(f"unknown workload(s): {', '.join(unknown)}; choose from {', '.join(ALL_KEYS)}")
        return chosen

    only, skip = names(args.only), set(names(args.skip))
    return [key for key in (only or ALL_KEYS) if key not in skip]


def check_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if args.scale <= 0 or args.clients < 1 or args.duration <= 0 or args.warmup < 0 or args.rounds < 1:
        parser.error("--scale and --duration must be positive, --clients and --rounds at least 1, --warmup not negative")
    if args.kill_samples < 1:
        parser.error("--kill-samples must be at least 1")
    if args.profile and not Profiler.available():
        parser.error("--profile needs py-spy (pip install py-spy, or `make bench` installs it)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(args, parser)
    selected = selected_workloads(args, parser)
    settings = Settings(Sizes.at_scale(args.scale), args.clients, args.duration, args.warmup, args.kill_samples)
    started = time.time()
    servers: list[Target] = []
    answerers: list[Target] = []
    pool: ClientPool | None = None
    try:
        servers.append(start_systables(args.data_dir, args.server_arg))
        log(f"systables listening on {servers[0].host}:{servers[0].port} (pid {servers[0].pid}, data in {servers[0].data_dir})")
        if args.compare:
            servers.append(external_target(args.compare, args.compare_name, args.compare_pid))
            log(f"comparing with {servers[1].name} (pid {servers[1].pid or 'unknown: no CPU or memory figures'})")
        if not args.no_null:
            answerers.append(start_null_server())
        if args.trio_floor:
            answerers.append(start_null_server(trio_floor=True))
        pool = ClientPool(args.clients)
        runner = Runner(settings, pool, servers, answerers, selected, args.rounds,
                        set(filter(None, (args.profile or "").split(","))), RESULTS_DIR)
        rows = runner.run()
    except TargetError as exc:
        log(f"error: {exc}")
        return 1
    finally:
        if pool is not None:
            pool.close()
        for target in servers + answerers:
            target.stop(keep_data=args.keep_data)
    report = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "machine": machine_info(),
        "settings": {"scale": args.scale, "sizes": asdict(settings.sizes), "clients": args.clients,
                     "duration": args.duration, "warmup": args.warmup, "rounds": args.rounds,
                     "workloads": selected, "compare": args.compare},
        "goals": check_goals(rows),
        "rows": [row.to_json() for row in rows],
        "rounds": runner.runs,
        "profiles": runner.profiles,
        "notes": runner.notes,
    }
    print(render(report, rows))
    path = args.json or RESULTS_DIR / f"bench-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(started))}.json"
    write_json(report, path)
    print(f"\nJSON report: {path}  ({report['seconds']} s in all)")
    return 0


def run() -> None:
    sys.exit(main())
