"""A connection's outgoing responses, coalesced.

When a change reaches hundreds of feeds held on one connection, their
responses become ready in the same moment; sending each with a syscall of
its own was the largest single cost of fanning a change out.  The outbox
sends whatever frames are ready together: while other queries of the
connection are running, the first responder lets them run once (one
scheduling round, no timer) before it sends everything queued by then;
later responders wait for the send that carries their frame, so a response
has left (or failed) when ``put`` returns, as with a plain send.
"""

from __future__ import annotations

from typing import Awaitable, Callable

import trio


class Outbox:
    def __init__(self, send: Callable[[bytes], Awaitable[None]]) -> None:
        self._send = send
        self._frames: list[bytes] = []
        self._next_sent = trio.Event()  # set once the frames queued now have been sent
        self._sending = False
        self.broken = False  # a send failed: the connection is gone

    async def put(self, frame: bytes, gather: bool) -> None:
        """Send ``frame``; ``gather``: other responses may be ready too."""
        if self.broken:
            raise trio.ClosedResourceError("the connection is closed")
        self._frames.append(frame)
        if self._sending:
            sent = self._next_sent
            await sent.wait()
            if self.broken:
                raise trio.ClosedResourceError("the connection is closed")
            return
        self._sending = True
        try:
            if gather:
                await trio.lowlevel.cancel_shielded_checkpoint()
            while self._frames:
                await self._flush()
        finally:
            self._sending = False

    async def _flush(self) -> None:
        frames, self._frames = self._frames, []
        sent, self._next_sent = self._next_sent, trio.Event()
        try:
            await self._send(frames[0] if len(frames) == 1 else b"".join(frames))
        except BaseException:
            # A send that failed or was cancelled half way leaves the stream
            # unusable: every frame queued since must fail too, not wait for a
            # flush that will never come.
            self.broken = True
            self._frames.clear()
            self._next_sent.set()
            raise
        finally:
            sent.set()
