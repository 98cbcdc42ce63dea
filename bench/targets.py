"""The servers a benchmark runs against: a systables server started on a fresh
data directory, the null server, and optionally another server (``--compare``)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from .procstat import ProcessMeter, listening_pid

REPO_ROOT = Path(__file__).resolve().parent.parent
LISTENING_RE = re.compile(r"client driver connections on (\S+):(\d+)")
READY_RE = re.compile(r"Server ready|Listening for client driver")
OUTPUT_KEEP = 200
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


class TargetError(RuntimeError):
    pass


@dataclass
class ChildServer:
    """A server process of ours, its output kept for error reports."""

    args: list[str]
    process: subprocess.Popen | None = None
    host: str = "127.0.0.1"
    port: int = 0
    output: deque = field(default_factory=lambda: deque(maxlen=OUTPUT_KEEP))

    def start(self, ready: re.Pattern = READY_RE) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            self.args, cwd=REPO_ROOT, env=env, text=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        self._wait_ready(ready)
        threading.Thread(target=self._drain, daemon=True).start()

    def _wait_ready(self, ready: re.Pattern) -> None:
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise TargetError("server exited during start:\n" + self.recent_output())
            self.output.append(line)
            if match := LISTENING_RE.search(line):
                self.host, self.port = match.group(1), int(match.group(2))
            if self.port and ready.search(line):
                return
        raise TargetError("server did not start in time:\n" + self.recent_output())

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    def recent_output(self, lines: int = 30) -> str:
        return "".join(list(self.output)[-lines:])

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@dataclass
class Target:
    """One server under test.  ``kind`` is "systables", "compare", "null" or "floor" (trio null)."""

    name: str
    kind: str
    host: str
    port: int
    pid: int | None = None
    child: ChildServer | None = None
    data_dir: str | None = None
    owns_data_dir: bool = False

    @property
    def meter(self) -> ProcessMeter:
        return ProcessMeter(self.pid)

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def holds_data(self) -> bool:
        return self.kind in ("systables", "compare")

    def crashed(self) -> str | None:
        """Why our server process is gone, if it is."""
        if self.child is None:
            return None
        code = self.child.exit_code()
        if code is None:
            return None
        return f"server exited with code {code}:\n{self.child.recent_output()}"

    def restart(self) -> None:
        """Start our server again on the same data directory."""
        assert self.child is not None
        self.child.stop()
        self.child.start()
        self.host, self.port, self.pid = self.child.host, self.child.port, self.child.pid

    def stop(self, keep_data: bool = False) -> None:
        if self.child is not None:
            self.child.stop()
        if self.owns_data_dir and self.data_dir and not keep_data:
            shutil.rmtree(Path(self.data_dir).parent, ignore_errors=True)


def start_systables(parent_dir: str | None, server_args: list[str]) -> Target:
    workdir = tempfile.mkdtemp(prefix="systables-bench-", dir=parent_dir)
    data_dir = str(Path(workdir) / "data")
    args = [sys.executable, "-m", "systables", "serve", "--driver-port", "0", "--cluster-port", "0", "--no-http-admin", "-d", data_dir]
    child = ChildServer(args + server_args)
    child.start()
    return Target("systables", "systables", child.host, child.port, child.pid, child, data_dir, owns_data_dir=True)


def start_null_server(trio_floor: bool = False) -> Target:
    """The null server; ``trio_floor`` starts its trio variant (kind "floor")."""
    child = ChildServer([sys.executable, "-m", "bench.nullserver", "--port", "0"] + (["--trio"] if trio_floor else []))
    child.start()
    if trio_floor:
        return Target("trio-null", "floor", child.host, child.port, child.pid, child)
    return Target("null", "null", child.host, child.port, child.pid, child)


def external_target(spec: str, name: str | None, pid: int | None) -> Target:
    """``HOST:PORT`` of another server; its CPU and memory are read when it is local."""
    host, sep, port_text = spec.rpartition(":")
    if not sep or not port_text.isdigit():
        raise TargetError(f"--compare expects HOST:PORT, got {spec!r}")
    host = host.strip("[]") or "127.0.0.1"
    port = int(port_text)
    return Target(name or f"{host}:{port}", "compare", host, port, pid or listening_pid(host, port))
