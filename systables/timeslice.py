"""Fair sharing of the event loop: every evaluation yields at least every
``SLICE_SECONDS`` of work.

The server is one trio event loop.  A query that computes for long without
reaching a checkpoint freezes every other client, and a kill (a cancelled
scope) can only land at a checkpoint.  So evaluation code that loops over
data calls ``await tick()`` once per element: it costs a clock read while the
running task is within its slice, and a checkpoint once the slice is used up.

The start of the running task's slice is when trio last resumed it, which
the ``SliceClock`` instrument records (a public trio API); our own checkpoints
record it too, so ``tick`` stays correct without the instrument.

``synchronous()`` turns ticks into no-ops for code that must run to the end
without yielding (index functions, evaluated inside a storage write batch),
so that such code can be driven by ``run_to_completion`` with no event loop.
A hook (``on_first_yield``) lets the pipeline learn that a query it runs
inline is about to yield, so it can make it visible and killable first.
"""

from __future__ import annotations

from contextlib import contextmanager
from time import perf_counter
from typing import Any, Callable, Coroutine, Iterator

import trio

SLICE_SECONDS = 0.001


class _Slice:
    __slots__ = ("started", "synchronous", "before_yield")

    def __init__(self) -> None:
        self.started = 0.0
        self.synchronous = 0  # nesting depth of synchronous() sections
        # Called once just before the running task yields from a tick (see
        # ``yielding_hook``); None most of the time.
        self.before_yield: Callable[[], None] | None = None


_slice = _Slice()


class SliceClock(trio.abc.Instrument):
    """Notes when trio resumes a task: the start of that task's slice."""

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        _slice.started = perf_counter()


def install() -> None:
    """Add the instrument to the running trio loop (once per loop)."""
    trio.lowlevel.add_instrument(SliceClock())


def overdue() -> bool:
    """Whether the running task has used up its slice."""
    return perf_counter() - _slice.started > SLICE_SECONDS and not _slice.synchronous


async def tick() -> None:
    """Yield if the running task has used up its slice; else return at once."""
    if perf_counter() - _slice.started > SLICE_SECONDS and not _slice.synchronous:
        await _yield()


async def yield_now() -> None:
    """Always yield (between chunks of a stream), except in synchronous code."""
    if not _slice.synchronous:
        await _yield()


async def _yield() -> None:
    hook = _slice.before_yield
    if hook is not None:
        _slice.before_yield = None
        hook()
    await trio.lowlevel.checkpoint()
    _slice.started = perf_counter()


@contextmanager
def yielding_hook(hook: Callable[[], None]) -> Iterator[None]:
    """Call ``hook`` if the code run inside yields through ``tick``/``yield_now``.

    The hook is cleared on the way out, so it never fires for someone else."""
    _slice.before_yield = hook
    try:
        yield
    finally:
        if _slice.before_yield is hook:
            _slice.before_yield = None


@contextmanager
def synchronous() -> Iterator[None]:
    """Ticks are no-ops inside (for code that must not yield)."""
    _slice.synchronous += 1
    try:
        yield
    finally:
        _slice.synchronous -= 1


async def offload(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a worker thread (the GIL switch interval lets the loop
    run beside it), or inline in synchronous code, which has no loop to wait
    on.  A kill abandons the thread: ``fn`` must be bounded on its own."""
    if _slice.synchronous:
        return fn(*args)
    result = await trio.to_thread.run_sync(fn, *args, abandon_on_cancel=True)
    _slice.started = perf_counter()
    return result


RELEASE_CHUNK = 1024


async def release(items: list) -> None:
    """Empty a large list a piece at a time: freeing 100,000 objects at once
    (when the last reference goes) costs tens of milliseconds."""
    while items:
        del items[-RELEASE_CHUNK:]
        await tick()


class WouldBlock(Exception):
    """Code run with ``run_to_completion`` tried to wait for something."""


def run_to_completion(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never waits (pure evaluation) without an event loop.

    Inside ``synchronous()`` evaluation never yields; a coroutine that still
    suspends is waiting for something real (a lock, a worker, a timer), which
    synchronous code cannot do: it is closed and ``WouldBlock`` raised."""
    with synchronous():
        try:
            coro.send(None)
        except StopIteration as done:
            return done.value
    coro.close()
    raise WouldBlock()
