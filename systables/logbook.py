"""The server's log: the last lines in memory (``rethinkdb.logs``) and every
line in ``log_file`` in the data directory, in RethinkDB's format."""

from __future__ import annotations

import os
import time
import traceback
from collections import deque
from dataclasses import dataclass
from typing import IO, Callable

LOG_KEEP = 1000


@dataclass
class LogEntry:
    timestamp: float
    uptime: float
    level: str
    message: str


def log_timestamp(epoch: float) -> str:
    """UTC with nanoseconds, RethinkDB's format for log lines and log row ids."""
    nanos = round(epoch * 1e9)
    seconds, fraction = divmod(nanos, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}"


class LogBook:
    def __init__(self, directory: str, started: float) -> None:
        self.started = started
        self.entries: deque[LogEntry] = deque(maxlen=LOG_KEEP)
        self.on_line: list[Callable[[], None]] = []  # called after each line (feeds on `logs`)
        self._file: IO[str] | None = open(os.path.join(directory, "log_file"), "a", buffering=1, encoding="utf-8")

    def log(self, level: str, message: str) -> None:
        now = time.time()
        uptime = now - self.started
        self.entries.append(LogEntry(now, uptime, level, message))
        if self._file is not None:
            self._file.write(f"{log_timestamp(now)} {uptime:.6f}s {level}: {message}\n")
        for listener in self.on_line:
            listener()

    def log_exception(self, exc: BaseException) -> None:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.log("error", f"Unexpected exception: {text}")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
