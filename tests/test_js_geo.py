"""Geospatial queries through the official JavaScript driver (rethinkdb@2.4.2, under Node)."""

from __future__ import annotations

import json
import shutil
import subprocess

from helpers import missing_tool
from test_js_driver import COMPAT


def test_node_driver_geo(server, r, conn):
    if shutil.which("node") is None:
        missing_tool("Node.js", "apt-get install nodejs npm")
    if not (COMPAT / "node_modules" / "rethinkdb").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=COMPAT, check=True)
    proc = subprocess.run(
        ["node", "geo.js", server.host, str(server.port)], cwd=COMPAT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    ring = [[0, -9.04369477050382e-06], [-7.779638566553426e-06, 4.5218473852518965e-06],
            [7.779638566553426e-06, 4.5218473852518965e-06], [0, -9.04369477050382e-06]]
    # (0, 0) lies 100.19 km away: beyond the default max_dist, 100 km whatever the unit.
    near = r.distance(r.point(0.9, 0), r.point(1, 0), unit="km").run(conn)
    assert out == {
        "point": {"$reql_type$": "GEOMETRY", "coordinates": [-122.423246, 37.779388], "type": "Point"},
        "distance": "89011.26253835332",
        "circle": {"$reql_type$": "GEOMETRY", "coordinates": [ring], "type": "Polygon"},
        "includes": True,
        "geojson": {"coordinates": [1, 2], "type": "Point"},
        "intersecting": [1, 2],
        "nearest": [[2, near]],
    }
