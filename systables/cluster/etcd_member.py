"""This server's own etcd member: a child process with its data in the
server's data directory, so that users still start one program.

A server that never joined or was joined runs no etcd (a cluster of one needs
no coordination).  The first time another server joins it, it bootstraps a
one-member etcd cluster; a joining server starts its member as a learner of
the existing cluster, and is promoted to a voter once it has caught up.  The
ports are chosen once (free ports on the cluster address) and kept in
``cluster.json``, because etcd's membership remembers peer URLs.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import orjson
import trio

from .etcd import Etcd, EtcdError

STATE_FILE = "cluster.json"
ETCD_DIR = "etcd"
START_TIMEOUT = 30.0
HEALTH_POLL = 0.05
STOP_GRACE = 2.0
RESTART_AFTER = 1.0
MAX_VOTERS = 5  # more etcd members cost more than they protect; others are clients only


class ClusterSetupError(Exception):
    """The cluster cannot be joined or its coordination cannot start."""


@dataclass
class ClusterState:
    """What this server keeps of its place in the cluster (``cluster.json``)."""

    host: str = "127.0.0.1"
    client_port: int = 0
    peer_port: int = 0
    member: bool = False  # runs an etcd member (else: a client of the others)
    endpoints: list[str] = field(default_factory=list)  # etcd client URLs known last

    @property
    def client_url(self) -> str:
        return f"http://{self.host}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.host}:{self.peer_port}"

    @property
    def joined(self) -> bool:
        return bool(self.endpoints)

    @classmethod
    def load(cls, directory: str, host: str) -> "ClusterState":
        path = os.path.join(directory, STATE_FILE)
        if os.path.exists(path):
            with open(path, "rb") as f:
                return cls(**orjson.loads(f.read()))
        return cls(host=host, client_port=free_port(host), peer_port=free_port(host))

    def save(self, directory: str) -> None:
        path = os.path.join(directory, STATE_FILE)
        with open(path + ".tmp", "wb") as f:
            f.write(orjson.dumps(asdict(self)))
            f.flush()
            os.fsync(f.fileno())
        os.replace(path + ".tmp", path)


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


PARENT_DEATH_SIGNAL = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []


def etcd_binary() -> str:
    found = shutil.which("etcd")
    if found is None:
        raise ClusterSetupError("etcd is not installed (Debian: apt-get install etcd-server); a cluster needs it")
    return found


class EtcdMember:
    """Starts, watches and stops the local etcd process."""

    def __init__(self, directory: str, state: ClusterState, name: str) -> None:
        self.directory = directory
        self.state = state
        self.name = name  # the etcd member's name: the server's id
        self.process: subprocess.Popen | None = None
        self.on_exit: Callable[[int], Any] = lambda status: None  # told when etcd exits on its own

    @property
    def data_dir(self) -> str:
        return os.path.join(self.directory, ETCD_DIR)

    def command(self, initial_cluster: str | None, existing: bool) -> list[str]:
        s = self.state
        args = [
            *PARENT_DEATH_SIGNAL,  # killed with the server, even by SIGKILL
            etcd_binary(), "--name", self.name, "--data-dir", self.data_dir,
            "--listen-client-urls", s.client_url, "--advertise-client-urls", s.client_url,
            "--listen-peer-urls", s.peer_url, "--initial-advertise-peer-urls", s.peer_url,
            "--heartbeat-interval", "100", "--election-timeout", "1000",
            "--logger", "zap", "--log-outputs", os.path.join(self.directory, "etcd.log"),
        ]
        if initial_cluster is not None and not os.path.isdir(os.path.join(self.data_dir, "member")):
            args += ["--initial-cluster", initial_cluster, "--initial-cluster-state", "existing" if existing else "new"]
        return args

    async def start(self, nursery: trio.Nursery, initial_cluster: str | None = None, existing: bool = False) -> None:
        """Start the process and return once its client port answers."""
        await nursery.start(self._run, self.command(initial_cluster, existing))
        await self._wait_listening()

    async def _run(self, command: list[str], task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run etcd until cancelled, starting it again if it exits."""
        while True:
            # Spawned from the event loop's own thread (not a worker thread, as
            # trio.run_process does): the parent-death signal fires when the
            # spawning thread ends, and this one lives as long as the server.
            process = self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            exited = os.pidfd_open(process.pid)
            task_status.started()
            task_status = trio.TASK_STATUS_IGNORED
            try:
                await trio.lowlevel.wait_readable(exited)
            finally:
                with trio.CancelScope(shield=True):
                    await _stop(process, exited)
                os.close(exited)
            self.on_exit(process.returncode)
            await trio.sleep(RESTART_AFTER)

    async def _wait_listening(self) -> None:
        """The client port accepts connections (a learner answers nothing else)."""
        with trio.move_on_after(START_TIMEOUT):
            while True:
                if self.process is not None and self.process.poll() is not None:
                    raise ClusterSetupError(f"etcd exited with status {self.process.returncode} (see etcd.log in the data directory)")
                try:
                    stream = await trio.open_tcp_stream(self.state.host, self.state.client_port)
                except OSError:
                    await trio.sleep(HEALTH_POLL)
                    continue
                await stream.aclose()
                return
        raise ClusterSetupError(f"etcd did not start listening on {self.state.client_url} within {START_TIMEOUT:.0f} s")


async def _stop(process: subprocess.Popen, exited: int) -> None:
    """SIGTERM, and SIGKILL if it lingers (etcd fsyncs its log before it
    acknowledges, so a kill loses nothing; a member that lost its quorum may
    otherwise take long to step down)."""
    if process.poll() is None:
        process.terminate()
        with trio.move_on_after(STOP_GRACE):
            await trio.lowlevel.wait_readable(exited)
        if process.poll() is None:
            process.kill()
            await trio.lowlevel.wait_readable(exited)
    process.wait()


async def wait_serving(etcd: Etcd, timeout: float = START_TIMEOUT) -> None:
    """Some endpoint of ``etcd`` answers requests (a leader is elected)."""
    with trio.move_on_after(timeout):
        while True:
            try:
                await etcd.members()
                return
            except EtcdError:
                await trio.sleep(HEALTH_POLL)
    raise ClusterSetupError(f"etcd at {', '.join(etcd.endpoints)} did not answer within {timeout:.0f} s")


async def promote_when_ready(etcd: Etcd, member_id: str, timeout: float = START_TIMEOUT) -> None:
    """Promote a learner once etcd accepts (it must have caught up first)."""
    with trio.move_on_after(timeout):
        while True:
            try:
                await etcd.promote_member(member_id)
                return
            except EtcdError as e:
                if "not a learner" in str(e):
                    return
                await trio.sleep(0.2)
    raise ClusterSetupError(f"the new etcd member {member_id} could not be promoted within {timeout:.0f} s")
