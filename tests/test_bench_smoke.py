"""The benchmark harness keeps working: a tiny-scale run of every workload,
compared against a second systables server, plus its null server and its
window arithmetic on their own."""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from serverproc import temp_server

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.clients import ClientReport, percentile, summarize  # noqa: E402
from bench.data import document  # noqa: E402
from bench.targets import start_null_server  # noqa: E402
from bench.workloads import ALL_KEYS  # noqa: E402

# Workloads that must have figures today; the others may report "unavailable"
# while the feature they exercise is missing, but never fail.
ALWAYS_MEASURED = {"get", "insert_soft", "insert_hard", "insert_1000", "filter", "count", "count_range", "memory"}


def run_bench(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_every_workload_runs_at_tiny_scale_against_a_second_server(tmp_path):
    other = temp_server(http=False)
    other.start()
    try:
        out = tmp_path / "report.json"
        done = run_bench(
            "--scale", "0.001", "--clients", "2", "--duration", "0.3", "--warmup", "0.02",
            "--kill-samples", "3", "--compare", f"{other.host}:{other.port}", "--compare-name", "other",
            "--trio-floor", "--json", str(out),
        )
    finally:
        other.stop()
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    # The stall workload gives one row per heavy query ("stall: <query>").
    rows = {(row["workload"].split(":")[0], row["target"]): row for row in report["rows"]}
    for key in ALL_KEYS:
        for target in ("systables", "other"):
            row = rows[(key, target)]
            assert row["status"] == "ok" or row["status"].startswith("unavailable: "), (key, target, row["status"])
            if key in ALWAYS_MEASURED:
                assert row["status"] == "ok", (key, target, row["status"])
    get = rows[("get", "systables")]
    assert get["ops_per_s"] > 0 and get["p50_ms"] > 0 and get["p99_ms"] >= get["p50_ms"]
    assert get["cpu_us_per_op"] > 0  # read from the server's own /proc accounting
    assert rows[("get", "other")]["cpu_us_per_op"] > 0  # the compared server's pid was found by its port
    assert rows[("get", "null")]["ops_per_s"] > 0
    assert rows[("get", "trio-null")]["cpu_us_per_op"] > 0
    assert rows[("insert_1000", "systables")]["docs_per_s"] > rows[("insert_1000", "systables")]["ops_per_s"]
    assert rows[("memory", "systables")]["extra"]["documents"] == 1000
    assert {goal["goal"] for goal in report["goals"]} and report["machine"]["cores"] >= 1
    assert "of ceiling" in done.stdout and "thr vs" in done.stdout and "Targets (systables)" in done.stdout


def test_unknown_workload_is_refused_with_the_list():
    done = run_bench("--only", "get,nonsense", timeout=60)
    assert done.returncode == 2
    assert "unknown workload(s): nonsense" in done.stderr and "index_build" in done.stderr


def test_null_server_answers_every_query_with_its_fixed_atom(r):
    null = start_null_server()
    try:
        conn = r.connect(host=null.host, port=null.port)
        assert r.db("any").table("thing").get(1).run(conn) == document(1)
        assert r.expr([1, 2, 3]).run(conn) == document(1)
        assert conn.server()["name"] == "null"
        conn.noreply_wait()
        conn.close()
    finally:
        null.stop()


def test_server_survives_a_client_that_resets_its_connection(server, r):
    """The bench closes connections with responses still unread (open cursors):
    the kernel then resets the connection, which must not stop the server."""
    conn = r.connect(host=server.host, port=server.port)
    r.range(10**9).run(conn, max_batch_rows=1)  # the driver asks for the next batch at once
    sock = conn._instance._socket._socket
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    again = r.connect(host=server.host, port=server.port)
    assert r.expr(1).run(again) == 1
    again.close()


def report_of(*spans: tuple[float, float, int]) -> ClientReport:
    report = ClientReport()
    for begin, end, docs in spans:
        report.starts.append(begin)
        report.ends.append(end)
        report.docs.append(docs)
    return report


def test_operations_count_for_the_part_inside_the_window():
    # Window [10, 20): one op wholly inside, one half inside, one before it.
    measured = summarize([report_of((11, 12, 1), (19, 21, 100), (5, 9, 7))], 10, 20)
    assert measured.ops == pytest.approx(1.5)
    assert measured.docs == pytest.approx(51)
    assert measured.latencies == [1]  # only operations wholly inside give latencies
    assert measured.ops_per_second == pytest.approx(0.15)


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile([3.0], 0.99) == 3
    assert percentile([], 0.5) is None


@pytest.mark.slow
def test_job_costs_bench_measures_every_mode(tmp_path):
    out = tmp_path / "costs.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.job_costs", "--docs", "200", "--duration", "0.3", "--warmup", "0.05",
         "--rounds", "1", "--json", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = json.loads(out.read_text())["lines"]
    assert [(line["workload"], line["mode"]) for line in lines] == [
        (workload, mode) for workload in ("point get (fast path)", "point get (general path)")
        for mode in ("off", "on", "on, every query")
    ]
    assert all(line["ops_per_s"] > 0 for line in lines)
