"""A small pool of JavaScript worker processes (``worker.py``).

Workers are spawned on first use, reused, and killed (then replaced on demand)
when a call overruns its time limit, when the query waiting for it is
interrupted (a kill through ``rethinkdb.jobs``, STOP, a closed connection), or
when the engine fails.  Killing a process is the only way to stop QuickJS from
outside, and it takes effect at once.

A function returned by ``r.js`` is identified by its source: each worker
compiles a source the first time it is called there and keeps it, so calls
from ``map``/``filter`` cost one pipe round trip each.

A script can change its worker's globals (``Date = null``,
``Array.prototype.map = ...``), and those changes last in that worker.  So
that one user's scripts never see, or tamper with, another's, a worker keeps
the user it last ran for, a call prefers an idle worker of its own user, and
a worker passing to another user starts over from a fresh JavaScript context
(about 0.35 ms) with no compiled functions.
"""

from __future__ import annotations

import contextlib
import json
import re
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import orjson
import trio

from ..datum import binary_object
from .worker import REPLY_HEADER, REQUEST_HEADER

WORKER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
DEFAULT_SIZE = max(2, min(8, os.cpu_count() or 2))  # workers kept when idle
# The pool grows on demand to MAX_WORKERS processes (RethinkDB starts more as
# needed), and one user holds at most USER_SHARE of them at once: two endless
# r.js loops by one user leave the others their JavaScript.
MAX_WORKERS = 32
USER_SHARE = 4
WALL_GRACE = 0.25  # seconds the server waits past the time limit before killing
MAX_KEPT_FUNCTIONS = 1000  # per worker, then its table is cleared
RESET_LIMIT = 5.0  # seconds a worker may take to start a fresh context
READ_SIZE = 1 << 16
SURROGATE = re.compile("[\ud800-\udfff]")


class JsError(Exception):
    """The script threw, or its result cannot be converted (message is RethinkDB's)."""


class JsTimeout(Exception):
    pass


class WorkerDied(JsError):
    def __init__(self) -> None:
        super().__init__("JavaScript worker exited unexpectedly.")


@dataclass
class Evaluated:
    """What ``r.js(source)`` evaluated to: a datum, or a function."""

    value: Any = None
    is_function: bool = False


def _json_default(v: Any) -> Any:
    if type(v) is bytes:
        return binary_object(v)
    raise TypeError(f"cannot send {type(v).__name__} to JavaScript")


@dataclass(eq=False)
class Worker:
    process: trio.Process
    functions: dict[str, int] = field(default_factory=dict)
    next_fid: int = 1
    buffer: bytearray = field(default_factory=bytearray)
    user: str | None = None  # whose scripts its JavaScript context has run

    def function_id(self, source: str) -> tuple[int, str | None]:
        """The id of ``source`` here, and the source if the worker must compile it."""
        fid = self.functions.get(source)
        if fid is not None:
            return fid, None
        fid = self.next_fid
        self.next_fid += 1
        self.functions[source] = fid
        return fid, source

    async def roundtrip(self, request: list, timeout: float) -> dict:
        payload = orjson.dumps(request, default=_json_default)
        stdin = self.process.stdin
        assert stdin is not None
        try:
            await stdin.send_all(REQUEST_HEADER.pack(len(payload), timeout) + payload)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise WorkerDied() from None
        return parse_reply(await self._read_reply())

    async def _read_reply(self) -> bytes:
        size = REPLY_HEADER.size
        while True:
            buf = self.buffer
            if len(buf) >= size:
                (length,) = REPLY_HEADER.unpack_from(buf)
                if len(buf) >= size + length:
                    reply = bytes(buf[size:size + length])
                    del buf[:size + length]
                    return reply
            stdout = self.process.stdout
            assert stdout is not None
            chunk = await stdout.receive_some(READ_SIZE)
            if not chunk:
                raise WorkerDied()
            buf += chunk


def parse_reply(reply: bytes) -> dict:
    try:
        return orjson.loads(reply)
    except orjson.JSONDecodeError:
        # JavaScript strings may hold lone surrogates, which UTF-8 cannot:
        # they become U+FFFD, as in any conversion of such a string to UTF-8.
        return without_surrogates(json.loads(reply))


def without_surrogates(v: Any) -> Any:
    if type(v) is str:
        return SURROGATE.sub("\ufffd", v)
    if type(v) is list:
        return [without_surrogates(x) for x in v]
    if type(v) is dict:
        return {without_surrogates(k): without_surrogates(x) for k, x in v.items()}
    return v


class JsPool:
    def __init__(self, size: int = DEFAULT_SIZE, max_workers: int = MAX_WORKERS, user_share: int = USER_SHARE) -> None:
        self._keep_idle = size
        self._limiter = trio.CapacityLimiter(max_workers)
        self._user_share = user_share
        self._per_user: dict[str, trio.CapacityLimiter] = {}
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self.spawned = 0
        self.killed = 0

    async def evaluate(self, source: str, timeout: float, user: str = "") -> Evaluated:
        def request(worker: Worker) -> list:
            fid, _ = worker.function_id(source)
            return ["eval", source, fid]

        reply = await self._run(request, timeout, user)
        if "f" in reply:
            return Evaluated(is_function=True)
        return Evaluated(value=reply["v"])

    async def call(self, source: str, args: list, timeout: float, user: str = "") -> Any:
        def request(worker: Worker) -> list:
            fid, compile_source = worker.function_id(source)
            return ["call", fid, compile_source, args]

        return (await self._run(request, timeout, user))["v"]

    async def map(self, source: str, rows: list, timeout: float, user: str = "") -> list:
        """The function ``source`` applied to each row, in one round trip
        (each call keeps its own time limit inside the worker)."""
        def request(worker: Worker) -> list:
            fid, compile_source = worker.function_id(source)
            return ["map", fid, compile_source, rows]

        return (await self._run(request, timeout, user, wall_limit=timeout * len(rows)))["vs"]

    @property
    def workers(self) -> int:
        """Worker processes alive (idle or busy)."""
        return len(self._idle) + len(self._busy)

    def _share_of(self, user: str) -> trio.CapacityLimiter:
        limiter = self._per_user.get(user)
        if limiter is None:
            limiter = self._per_user[user] = trio.CapacityLimiter(self._user_share)
        return limiter

    async def _run(self, request: Any, timeout: float, user: str, wall_limit: float | None = None) -> dict:
        share = self._share_of(user)
        try:
            async with share, self._limiter:  # the user's share first: waiting, he holds no worker
                return await self._run_any(request, timeout, wall_limit, user)
        finally:
            if share.borrowed_tokens == 0 and share.statistics().tasks_waiting == 0:
                self._per_user.pop(user, None)  # forget users with nothing running

    async def _run_any(self, request: Any, timeout: float, wall_limit: float | None, user: str) -> dict:
        try:
            return await self._run_on(await self._worker(user), request, timeout, wall_limit)
        except WorkerDied:
            # A worker may die while idle (killed from outside, out of
            # memory): its state died with it, so a fresh one can redo the call.
            return await self._run_on(await self._spawn(user), request, timeout, wall_limit)

    async def _run_on(self, worker: Worker, request: Any, timeout: float, wall_limit: float | None) -> dict:
        self._busy.add(worker)
        keep = False
        try:
            limit = timeout if wall_limit is None else wall_limit
            with trio.move_on_after(max(limit, 0.0) + WALL_GRACE):
                reply = await worker.roundtrip(request(worker), timeout)
                keep = "x" not in reply
                return self._check(reply)
            raise JsTimeout()
        finally:
            self._busy.discard(worker)
            if keep:
                self._release(worker)
            else:
                self._kill(worker)

    async def _worker(self, user: str) -> Worker:
        while self._idle:
            worker = self._idle_worker_for(user)
            if worker.process.poll() is not None:
                self._kill(worker)  # died while idle: reap it, take another
                continue
            if worker.user != user:
                await self._hand_over(worker, user)
            return worker
        return await self._spawn(user)

    def _idle_worker_for(self, user: str) -> Worker:
        """The most recently used idle worker of ``user``, else the most recent one."""
        for i in range(len(self._idle) - 1, -1, -1):
            if self._idle[i].user == user:
                return self._idle.pop(i)
        return self._idle.pop()

    async def _hand_over(self, worker: Worker, user: str) -> None:
        """Give ``worker`` a fresh JavaScript context for ``user``'s scripts."""
        self._busy.add(worker)
        try:
            with trio.move_on_after(RESET_LIMIT):
                reply = await worker.roundtrip(["reset"], RESET_LIMIT)
                if "e" not in reply:
                    worker.functions.clear()
                    worker.user = user
                    return
            raise WorkerDied()
        except BaseException:
            self._kill(worker)
            raise
        finally:
            self._busy.discard(worker)

    @staticmethod
    def _check(reply: dict) -> dict:
        if "t" in reply:
            raise JsTimeout()
        if "e" in reply:
            raise JsError(reply["e"])
        return reply

    def _release(self, worker: Worker) -> None:
        if len(worker.functions) > MAX_KEPT_FUNCTIONS or len(self._idle) >= self._keep_idle:
            self._kill(worker)  # too much kept, or a worker the pool grew by for a busy moment
            return
        self._idle.append(worker)

    async def _spawn(self, user: str | None = None) -> Worker:
        process = await trio.lowlevel.open_process(
            [sys.executable, "-u", WORKER_SCRIPT, str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.spawned += 1
        return Worker(process, user=user)

    def _kill(self, worker: Worker) -> None:
        """Kill at once; the process is reaped in the background."""
        self.killed += 1
        worker.process.kill()
        trio.lowlevel.spawn_system_task(_reap, worker.process)

    def close(self) -> None:
        for worker in self._idle + list(self._busy):
            if worker.process.returncode is None:
                worker.process.kill()
        self._idle.clear()
        self._busy.clear()


async def _reap(process: trio.Process) -> None:
    """Wait for a killed worker and close its pipes.  A system task must never
    raise (it would bring the whole server down), hence the broad suppress."""
    with trio.CancelScope(shield=True), contextlib.suppress(Exception):
        await process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                await stream.aclose()
