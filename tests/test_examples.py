"""The example scripts a user copies run as documented against a real server."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_first_queries(server):
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "first_queries.py"), "--host", server.host, "--port", str(server.port)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "inserted: 3" in out
    assert "order 2: {'id': 2, 'customer': 'bob', 'total': 12, 'items': ['tea']}" in out
    assert "large orders: [1, 2]" in out
    assert "spent per customer: {'ann': 39.75, 'bob': 12}" in out
    assert "order 3 after the update: 16.5" in out
    assert "orders with tea: 2" in out
    assert "deleted: 1" in out


def test_connections_and_history(server):
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "connections_and_history.py"), "--host", server.host, "--port", str(server.port)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    limit = "Query terminated: it exceeded its time limit of 1 seconds."
    [running] = [line for line in out.splitlines() if line.startswith("running scan: ")]
    assert int(running.split()[2]) > 0 and "tables test.history_demo" in running
    assert f"the scan's client got: ReqlOpFailedError: {limit}" in out
    assert re.search(r"job_history: outcome killed after 1\.\d s, reason: " + re.escape(limit), out)
    assert "Deleted 1 row of rethinkdb.connections; its client's next query gets:\n  ReqlDriverError: Connection is closed." in out
