"""The official JavaScript driver (rethinkdb@2.4.2, under Node) against a real server."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from helpers import missing_tool

COMPAT = Path(__file__).resolve().parents[1] / "drivers" / "compat"


def test_node_driver_round_trip(server):
    if shutil.which("node") is None:
        missing_tool("Node.js", "apt-get install nodejs npm")
    if not (COMPAT / "node_modules" / "rethinkdb").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=COMPAT, check=True)
    proc = subprocess.run(
        ["node", "roundtrip.js", server.host, str(server.port)], cwd=COMPAT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {
        "dbCreate": 1, "tableCreate": 1, "inserted": 1000, "get": {"id": 7, "even": False, "name": "n7"},
        "filtered": 500, "updated": 1, "afterUpdate": "seven", "deleted": 10, "count": 990, "first": 0, "server": True,
    }
