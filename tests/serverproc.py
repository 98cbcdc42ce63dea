"""Start a real systables server process on free ports for tests and examples."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

DRIVER_RE = re.compile(r"client driver connections on (\S+):(\d+)")
HTTP_RE = re.compile(r"administrative HTTP connections on http://(\S+):(\d+)/")
READY_RE = re.compile(r'Server ready, "([^"]+)" (\S+)')
CLUSTER_RE = re.compile(r"intracluster connections on port (\d+)")


@dataclass
class ServerProcess:
    directory: str
    extra_args: list[str] = field(default_factory=list)
    http: bool = True
    # How to run `systables` (the source tree's by default; an installed one's script),
    # and the environment and working directory to run it in (default: this process's).
    command: list[str] = field(default_factory=lambda: [sys.executable, "-m", "systables"])
    env: dict[str, str] | None = None
    cwd: str | None = None
    proc: subprocess.Popen | None = None
    host: str = "127.0.0.1"
    port: int = 0
    http_port: int = 0
    cluster_port: int = 0
    name: str = ""
    server_id: str = ""
    output: list[str] = field(default_factory=list)

    def start(self, timeout: float = 60.0) -> "ServerProcess":
        args = [*self.command, "serve", "--driver-port", "0", "--cluster-port", "0", "-d", self.directory]
        args += ["--http-port", "0"] if self.http else ["--no-http-admin"]
        args += self.extra_args
        env = dict(os.environ if self.env is None else self.env, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                     cwd=self.cwd)
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("server exited during start:\n" + "".join(self.output))
            self.output.append(line)
            if m := DRIVER_RE.search(line):
                self.host, self.port = m.group(1), int(m.group(2))
            elif m := HTTP_RE.search(line):
                self.http_port = int(m.group(2))
            elif m := CLUSTER_RE.search(line):
                self.cluster_port = int(m.group(1))
            elif m := READY_RE.search(line):
                self.name, self.server_id = m.group(1), m.group(2)
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        raise RuntimeError("server did not start in time:\n" + "".join(self.output))

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def temp_server(**kwargs: object) -> ServerProcess:
    directory = tempfile.mkdtemp(prefix="systables-test-")
    return ServerProcess(directory=str(Path(directory) / "data"), **kwargs)  # type: ignore[arg-type]
