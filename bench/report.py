"""The printed table, the targets check and the JSON report."""

from __future__ import annotations

import json
import operator
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .results import Row
from .targets import REPO_ROOT


# -- derived columns ------------------------------------------------------------

def find(rows: list[Row], workload: str, kind: str) -> Row | None:
    for row in rows:
        if row.workload == workload and row.kind == kind and row.ok:
            return row
    return None


def throughput(row: Row | None) -> float | None:
    if row is None:
        return None
    return row.ops_per_s if row.ops_per_s is not None else row.docs_per_s


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def of_ceiling(rows: list[Row], row: Row) -> float | None:
    """Throughput as a fraction of the null server's with the same clients."""
    if row.kind == "null" or row.ops_per_s is None:
        return None
    return ratio(row.ops_per_s, throughput(find(rows, row.workload, "null")))


def versus_compare(rows: list[Row], row: Row) -> tuple[float | None, float | None]:
    """(throughput ratio, CPU-per-op ratio) of systables over the compared server."""
    if row.kind != "systables":
        return None, None
    other = find(rows, row.workload, "compare")
    if other is None:
        return None, None
    if row.workload.startswith("kill"):
        return ratio(row.p99_ms, other.p99_ms), None
    cpu = row.cpu_us_per_doc if row.cpu_us_per_op is None else row.cpu_us_per_op
    other_cpu = other.cpu_us_per_doc if other.cpu_us_per_op is None else other.cpu_us_per_op
    return ratio(throughput(row), throughput(other)), ratio(cpu, other_cpu)


# -- targets ----------------------------------------------------------------------

@dataclass(frozen=True)
class Goal:
    text: str
    measure: Callable[[list[Row]], float | None]
    compare: Callable[[float, float], bool]
    threshold: float
    unit: str


def _value(workload: str, field: str) -> Callable[[list[Row]], float | None]:
    return lambda rows: getattr(find(rows, workload, "systables"), field, None)


def _get_of_ceiling(rows: list[Row]) -> float | None:
    row = find(rows, "get", "systables")
    return of_ceiling(rows, row) if row else None


def _slowest_stall(rows: list[Row]) -> float | None:
    stalls = [r.extra.get("max_ms") for r in rows if r.workload.startswith("stall") and r.kind == "systables" and r.ok]
    return max(stalls) if stalls else None


GOALS = [
    Goal("point get throughput >= 80 % of the null-server ceiling", _get_of_ceiling, operator.ge, 0.8, "x"),
    Goal("server CPU per point get <= 40 us", _value("get", "cpu_us_per_op"), operator.le, 40, "us"),
    Goal("server CPU per document, 1000-doc inserts <= 10 us", _value("insert_1000", "cpu_us_per_doc"), operator.le, 10, "us"),
    Goal("count() >= 2,000,000 docs/s", _value("count", "docs_per_s"), operator.ge, 2e6, "docs/s"),
    Goal("kill latency p99 <= 20 ms (r.range victim)", _value("kill", "p99_ms"), operator.le, 20, "ms"),
    Goal("kill latency p99 <= 20 ms (table-scan victim)", _value("kill_scan", "p99_ms"), operator.le, 20, "ms"),
    Goal("index build >= 200,000 docs/s", _value("index_build", "docs_per_s"), operator.ge, 2e5, "docs/s"),
    Goal("kill latency p99 <= 50 ms (heavy in-memory victim)", _value("kill_heavy", "p99_ms"), operator.le, 50, "ms"),
    Goal("slowest r.expr(1) while a heavy query runs <= 20 ms", _slowest_stall, operator.le, 20, "ms"),
]


def check_goals(rows: list[Row]) -> list[dict[str, Any]]:
    out = []
    for goal in GOALS:
        value = goal.measure(rows)
        met = None if value is None else bool(goal.compare(value, goal.threshold))
        out.append({"goal": goal.text, "value": value, "threshold": goal.threshold, "unit": goal.unit, "met": met})
    return out


# -- printing -------------------------------------------------------------------------

def number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def significant(value: float | None) -> str:
    """Small values with a few significant digits, large ones as integers."""
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


HEADER = ["workload", "server", "ops/s", "docs/s", "p50 ms", "p99 ms", "max ms", "CPU us/op", "CPU us/doc",
          "peak MB", "of ceiling"]
COMPARE_HEADER = ["thr vs", "CPU vs"]


def table_lines(rows: list[Row], with_compare: bool) -> list[str]:
    header = HEADER + (COMPARE_HEADER if with_compare else [])
    body: list[list[str]] = []
    problems: list[str] = []
    previous = None
    for row in rows:
        title = row.title if row.title != previous else ""
        previous = row.title
        if not row.ok:
            body.append([title, row.target, row.status.split(":")[0]] + [""] * (len(header) - 3))
            problems.append(f"  {row.title} on {row.target}: {row.status}")
            continue
        cells = [title, row.target, significant(row.ops_per_s), number(row.docs_per_s), significant(row.p50_ms),
                 significant(row.p99_ms), significant(row.extra.get("max_ms")), significant(row.cpu_us_per_op), significant(row.cpu_us_per_doc),
                 number(row.peak_rss_mb), times(of_ceiling(rows, row))]
        if with_compare:
            thr, cpu = versus_compare(rows, row)
            cells += [times(thr), times(cpu)]
        body.append(cells)
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]
    render = lambda cells: "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    lines = [render(header), "  ".join("-" * w for w in widths)] + [render(cells) for cells in body]
    if problems:
        lines += ["", "Rows without figures:"] + problems
    return lines


def memory_lines(rows: list[Row]) -> list[str]:
    lines = []
    for row in rows:
        if row.workload == "memory" and row.ok:
            e = row.extra
            lines.append(
                f"  {row.target}: {e['documents']:,} docs; RSS {number(e['rss_before_mb'])} -> {number(e['rss_after_mb'])} MB "
                f"({significant(e['rss_bytes_per_doc'])} B/doc), peak {number(row.peak_rss_mb)} MB, "
                f"data directory {number(e['disk_mb'])} MB"
            )
    return ["", "Memory after loading the big table:"] + lines if lines else []


def goal_lines(goals: list[dict[str, Any]]) -> list[str]:
    lines = ["", "Targets (systables):"]
    for goal in goals:
        state = {True: "met", False: "MISSED", None: "not measured"}[goal["met"]]
        value = "-" if goal["value"] is None else significant(goal["value"])
        lines.append(f"  {state:<12} {goal['goal']}  (measured {value} {goal['unit']})")
    return lines


def render(report: dict[str, Any], rows: list[Row]) -> str:
    settings, machine = report["settings"], report["machine"]
    sizes = settings["sizes"]
    with_compare = any(row.kind == "compare" for row in rows)
    lines = [
        f"systables benchmark: scale {settings['scale']} ({sizes['docs']:,} / {sizes['big']:,} documents, "
        f"{sizes['cursors']:,} cursors), {settings['clients']} client processes, "
        f"{settings['duration']} s per run after {settings['warmup']} s warm-up",
        f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
        f"{machine['system']}, Python {machine['python']}",
        "",
    ]
    lines += table_lines(rows, with_compare)
    lines += memory_lines(rows)
    lines += goal_lines(report["goals"])
    for note in report.get("notes", []) + background_notes(rows):
        lines.append(f"note: {note}")
    return "\n".join(lines)


BUSY_MACHINE = 0.25  # cores used by other processes that make figures pessimistic


def background_notes(rows: list[Row]) -> list[str]:
    loads = [(row.extra.get("background_cores") or 0.0, row) for row in rows]
    busy = [(load, row) for load, row in loads if load > BUSY_MACHINE]
    if not busy:
        return []
    worst, row = max(busy, key=lambda pair: pair[0])
    return [f"other processes kept {len(busy)} of {len(rows)} runs company (up to {worst:.1f} cores, during "
            f"{row.title} on {row.target}): those figures understate what this machine can do"]


# -- machine and JSON ---------------------------------------------------------------------

def machine_info() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(_mem_total_kib() / (1 << 20), 1),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "driver": _driver_version(),
        "commit": _git_commit(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _mem_total_kib() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _driver_version() -> str:
    try:
        from importlib.metadata import version

        return version("rethinkdb")
    except Exception:
        return "unknown"


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
