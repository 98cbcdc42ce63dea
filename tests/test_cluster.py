"""Several servers as one cluster, coordinated through etcd: joining, every
server's rows in ``server_config`` and ``server_status`` on every server, a
server's rows vanishing when it stops or is killed and coming back when it
restarts, renames seen everywhere, and a standalone server that runs no etcd."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
from helpers import missing_tool, wait_for
from serverproc import ServerProcess


@pytest.fixture
def cluster_dir() -> Iterator[Path]:
    if shutil.which("etcd") is None:
        missing_tool("etcd", "apt-get install etcd-server (make test does it)")
    directory = Path(tempfile.mkdtemp(prefix="systables-cluster-"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def servers(cluster_dir: Path) -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


def start(servers: list[ServerProcess], cluster_dir: Path, name: str, *extra: str, join: ServerProcess | None = None) -> ServerProcess:
    args = ["-n", name, *extra]
    if join is not None:
        args += ["--join", f"127.0.0.1:{join.cluster_port}"]
    server = ServerProcess(directory=str(cluster_dir / name), extra_args=args, http=False).start()
    servers.append(server)
    return server


def connect(r, server: ServerProcess):
    return r.connect(host=server.host, port=server.port)


def names_in(r, server: ServerProcess, table: str) -> list[str]:
    with connect(r, server) as conn:
        return sorted(row["name"] for row in r.db("rethinkdb").table(table).run(conn))


def everyone_sees(r, members: list[ServerProcess], names: list[str]) -> bool:
    return all(names_in(r, s, "server_status") == names and names_in(r, s, "server_config") == names for s in members)


def etcd_pids_of(directory: str) -> list[int]:
    """etcd processes whose data directory is under ``directory``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.endswith(b"/etcd") for arg in cmdline[:4]) and any(arg.startswith(directory.encode()) for arg in cmdline):
            pids.append(int(entry))
    return pids


def test_three_servers_see_each_other(r, servers, cluster_dir):
    a = start(servers, cluster_dir, "a")
    b = start(servers, cluster_dir, "b", join=a)
    c = start(servers, cluster_dir, "c", "--server-tag", "fast", join=b)  # through a server that joined itself
    wait_for(lambda: everyone_sees(r, [a, b, c], ["a", "b", "c"]), timeout=30)
    with connect(r, a) as conn:
        status = {row["name"]: row for row in r.db("rethinkdb").table("server_status").run(conn)}
        config = {row["name"]: row for row in r.db("rethinkdb").table("server_config").run(conn)}
        assert status["a"]["network"]["connected_to"] == {"b": True, "c": True}
        assert status["c"]["network"]["connected_to"] == {"a": True, "b": True}
        assert status["b"]["network"]["reql_port"] == b.port and status["b"]["network"]["cluster_port"] == b.cluster_port
        assert status["c"]["id"] == c.server_id and status["c"]["process"]["pid"] == c.proc.pid
        assert config["c"]["tags"] == ["default", "fast"] and config["a"]["tags"] == ["default"]
        messages = [row["message"] for row in r.db("rethinkdb").table("logs").run(conn)]
        assert f'Connected to server "b" {b.server_id}' in messages and f'Connected to server "c" {c.server_id}' in messages
        assert r.db("rethinkdb").table("server_status").get(c.server_id)["name"].run(conn) == "c"
        assert r.db("rethinkdb").table("server_config").get(b.server_id).run(conn)["name"] == "b"


def test_a_killed_server_vanishes_and_comes_back(r, servers, cluster_dir):
    a = start(servers, cluster_dir, "a")
    b = start(servers, cluster_dir, "b", join=a)
    c = start(servers, cluster_dir, "c", join=a)
    wait_for(lambda: everyone_sees(r, [a, b, c], ["a", "b", "c"]), timeout=30)
    assert etcd_pids_of(c.directory)
    c.kill()
    wait_for(lambda: not etcd_pids_of(c.directory), timeout=10)  # its etcd member dies with it
    wait_for(lambda: everyone_sees(r, [a, b], ["a", "b"]), timeout=15)  # the lease ran out
    with connect(r, a) as conn:
        assert r.db("rethinkdb").table("server_status").get(a.server_id)["network"]["connected_to"].run(conn) == {"b": True}
        messages = [row["message"] for row in r.db("rethinkdb").table("logs").run(conn)]
        assert f'Disconnected from server "c" {c.server_id}' in messages
    c.start()  # it resumes from what it kept (its --join is not used again)
    wait_for(lambda: everyone_sees(r, [a, b, c], ["a", "b", "c"]), timeout=30)
    assert names_in(r, c, "server_status") == ["a", "b", "c"]


def test_a_stopped_server_leaves_at_once_and_restarted_servers_find_each_other(r, servers, cluster_dir):
    a = start(servers, cluster_dir, "a")
    b = start(servers, cluster_dir, "b", join=a)
    c = start(servers, cluster_dir, "c", join=a)
    wait_for(lambda: everyone_sees(r, [a, b, c], ["a", "b", "c"]), timeout=30)
    assert b.stop() == 0
    # SIGTERM revokes the lease: gone well before the 5 s a lease lasts.
    wait_for(lambda: everyone_sees(r, [a, c], ["a", "c"]), timeout=4)
    for server in (a, c):
        server.stop()
    for server in (a, b, c):
        server.start()
    wait_for(lambda: everyone_sees(r, [a, b, c], ["a", "b", "c"]), timeout=30)


def test_a_rename_is_seen_by_every_server(r, servers, cluster_dir):
    a = start(servers, cluster_dir, "a")
    b = start(servers, cluster_dir, "b", join=a)
    wait_for(lambda: everyone_sees(r, [a, b], ["a", "b"]), timeout=30)
    with connect(r, b) as conn:
        feed = r.db("rethinkdb").table("server_config").changes().run(conn)
        with connect(r, a) as conn_a:
            result = r.db("rethinkdb").table("server_config").get(a.server_id).update({"name": "alpha"}).run(conn_a)
            assert result["replaced"] == 1
            refused = r.db("rethinkdb").table("server_config").get(b.server_id).update({"name": "beta"}).run(conn_a)
            assert refused["errors"] == 1 and "only through a connection to it" in refused["first_error"]
        change = next(feed)
        assert change["old_val"]["name"] == "a" and change["new_val"]["name"] == "alpha"
        feed.close()
    wait_for(lambda: everyone_sees(r, [a, b], ["alpha", "b"]), timeout=10)


def test_a_standalone_server_runs_no_etcd_and_refuses_strangers(r, server):
    assert not (Path(server.directory) / "cluster.json").exists() and not etcd_pids_of(server.directory)
    with r.connect(host=server.host, port=server.port) as conn:
        rows = list(r.db("rethinkdb").table("server_status").run(conn))
        assert len(rows) == 1 and rows[0]["network"]["connected_to"] == {}
        assert rows[0]["network"]["cluster_port"] == server.cluster_port
        with socket.create_connection((server.host, server.cluster_port)) as stranger:
            stranger.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            stranger.settimeout(10)
            assert stranger.recv(100) == b""  # closed, nothing said
        wait_for(lambda: "Received invalid clustering header." in [row["message"] for row in r.db("rethinkdb").table("logs").run(conn)])
        assert r.expr(1).run(conn) == 1


def test_an_etcd_member_that_dies_is_started_again(r, servers, cluster_dir):
    a = start(servers, cluster_dir, "a")
    b = start(servers, cluster_dir, "b", join=a)
    c = start(servers, cluster_dir, "c", join=a)
    wait_for(lambda: everyone_sees(r, [a, b, c], ["a", "b", "c"]), timeout=30)
    [old] = etcd_pids_of(b.directory)
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: (pids := etcd_pids_of(b.directory)) and pids != [old], timeout=15)
    with connect(r, b) as conn:
        wait_for(lambda: "etcd exited with status -9; starting it again." in [row["message"] for row in r.db("rethinkdb").table("logs").run(conn)])
    assert everyone_sees(r, [a, b, c], ["a", "b", "c"])


def test_servers_with_one_name_are_an_issue_until_one_is_renamed(r, servers, cluster_dir):
    a = start(servers, cluster_dir, "a")
    twin = ServerProcess(directory=str(cluster_dir / "twin"), extra_args=["-n", "a", "--join", f"127.0.0.1:{a.cluster_port}"], http=False).start()
    servers.append(twin)
    wait_for(lambda: names_in(r, a, "server_status") == ["a", "a"], timeout=30)
    with connect(r, a) as conn:
        [issue] = list(r.db("rethinkdb").table("current_issues").run(conn))
        assert issue["type"] == "server_name_collision" and issue["critical"] is True
        assert issue["info"]["name"] == "a" and sorted(issue["info"]["ids"]) == sorted([a.server_id, twin.server_id])
        assert issue["description"].startswith("There are multiple servers named `a`. RethinkDB requires that every server have a unique name.")
    with connect(r, twin) as conn:
        config = r.db("rethinkdb").table("server_config")
        assert config.get(twin.server_id).update({"name": "b"}).run(conn)["replaced"] == 1
        refused = config.get(twin.server_id).update({"name": "a"}).run(conn)
        assert refused["first_error"] == "Cannot rename server `b` to `a` because server `a` already exists."
    with connect(r, a) as conn:
        wait_for(lambda: list(r.db("rethinkdb").table("current_issues").run(conn)) == [])
    assert everyone_sees(r, [a, twin], ["a", "b"])
