"""A client in a process of its own that sends ``r.expr(1)`` back to back and
reports its slowest answer: what another user sees while a query runs.

It is a separate process so that nothing the test process does (formatting a
huge error, decoding a huge response) holds the probe up.  Used as

    with LatencyProbe(host, port) as probe:
        with probe.measuring():
            ...  # the hostile query
        probe.slowest  # seconds
"""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator

# The probe loop: "start" on stdin begins a measurement, "stop" ends it and
# prints the slowest answer and the number of answers.
_SCRIPT = r"""
import os, sys, threading, time
from rethinkdb import r
conn = r.connect(sys.argv[1], int(sys.argv[2]), password=sys.argv[3])
state = {"on": False, "slowest": 0.0, "count": 0}
lock = threading.Lock()
def commands():
    for line in sys.stdin:
        with lock:
            if line.strip() == "start":
                state.update(on=True, slowest=0.0, count=0)
            elif line.strip() == "stop":
                state["on"] = False
                print(f"{state['slowest']} {state['count']}", flush=True)
            else:
                break
    os._exit(0)  # "quit", or the test process went away
threading.Thread(target=commands, daemon=True).start()
print("ready", flush=True)
while True:
    started = time.perf_counter()
    assert r.expr(1).run(conn) == 1
    took = time.perf_counter() - started
    with lock:
        if state["on"]:
            state["slowest"] = max(state["slowest"], took)
            state["count"] += 1
    if not state["on"]:
        time.sleep(0.001)
"""


class LatencyProbe:
    def __init__(self, host: str, port: int, password: str = "") -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _SCRIPT, host, str(port), password], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self._line() == "ready"
        self.slowest = 0.0
        self.answers = 0

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the probe client died")
        return line.strip()

    def _send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    @contextmanager
    def measuring(self) -> Iterator["LatencyProbe"]:
        self._send("start")
        try:
            yield self
        finally:
            self._send("stop")
            slowest, answers = self._line().split()
            self.slowest, self.answers = float(slowest), int(answers)

    def close(self) -> None:
        self._send("quit")
        self.proc.kill()
        self.proc.wait()

    def __enter__(self) -> "LatencyProbe":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
