"""Logins of both transports: the failed-login throttle per client address
(driver handshakes and console logins count together), and the console's
password check."""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from ..auth import Auth

WRONG_PASSWORD = "Wrong password"  # what a failed console login counts as (the driver port's words)


class LoginThrottle:
    """Failed logins per client address: past ``FREE_FAILURES`` in a window,
    each new login (handshake or console login) from that address waits for a slot ``SPACING`` seconds
    after the previous one's, so guesses (in parallel or not) come at most two a
    second.  Only that address's connections wait (``trio.sleep_until``)."""

    FREE_FAILURES = 10
    WINDOW = 60.0
    SPACING = 0.5

    def __init__(self) -> None:
        self.failures: dict[str, list[float]] = {}  # address → [count, window start]
        self.next_slot: dict[str, float] = {}

    async def wait_turn(self, host: str) -> None:
        now = trio.current_time()
        record = self.failures.get(host)
        if record is None or now - record[1] > self.WINDOW:
            return
        if record[0] >= self.FREE_FAILURES:
            slot = max(now, self.next_slot.get(host, now))
            self.next_slot[host] = slot + self.SPACING
            await trio.sleep_until(slot)

    async def failed(self, host: str, message: str) -> None:
        if "password" not in message.lower() and "authorization key" not in message.lower():
            return  # a malformed handshake, not a guess
        now = trio.current_time()
        record = self.failures.get(host)
        if record is None or now - record[1] > self.WINDOW:
            if len(self.failures) > 100_000:  # bounded: forget every address rather than grow
                self.failures.clear()
                self.next_slot.clear()
            self.failures[host] = [1, now]
        else:
            record[0] += 1


async def check_login(auth: "Auth", throttle: LoginThrottle, host: str, user: str, password: str) -> bool:
    """Whether ``password`` is ``user``'s, for a login from ``host``: waits its
    turn when that address has failed too often, runs PBKDF2 in a worker thread
    (the stored SCRAM credential's, or a decoy's for an unknown user, so that
    neither the answer nor its time tells whether the user exists), and counts
    a failure."""
    await throttle.wait_turn(host)  # before any verdict: a throttled address guesses no faster
    ok = await trio.to_thread.run_sync(auth.check_password, user, password, abandon_on_cancel=True)
    if not ok:
        await throttle.failed(host, WRONG_PASSWORD)
    return ok
