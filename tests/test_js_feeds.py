"""Changefeeds through the official JavaScript driver (rethinkdb@2.4.2, under
Node, over the driver port): a table feed with its initial row and states that
sees 1,000 inserts from another connection in commit order, and a point feed."""

from __future__ import annotations

import json
import shutil
import subprocess

from helpers import missing_tool
from test_js_driver import COMPAT


def test_node_driver_feeds(server):
    if shutil.which("node") is None:
        missing_tool("Node.js", "apt-get install nodejs npm")
    if not (COMPAT / "node_modules" / "rethinkdb").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=COMPAT, check=True)
    proc = subprocess.run(
        ["node", "feeds.js", server.host, str(server.port)], cwd=COMPAT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["head"] == [
        {"state": "initializing"},
        {"new_val": {"id": -1, "v": "before"}},
        {"state": "ready"},
    ]
    assert out["inserted"] == list(range(1000)) and out["all_new"] is True
    assert out["point"] == [  # a point feed without include_initial: the changes only
        {"new_val": {"id": 5, "v": "five"}, "old_val": {"id": 5, "v": 5}},
        {"new_val": None, "old_val": {"id": 5, "v": "five"}},
    ]
