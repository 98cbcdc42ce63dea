"""A connection's responses that are ready together leave in one send."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from systables.pipeline.outbox import Outbox


async def test_responses_ready_together_share_a_send_and_each_put_returns_once_sent():
    sends: list[bytes] = []

    async def send(data: bytes) -> None:
        await trio.sleep(0)
        sends.append(data)

    outbox = Outbox(send)
    returned: list[int] = []

    async def respond(i: int) -> None:
        await outbox.put(b"%d;" % i, gather=True)
        assert b"%d;" % i in b"".join(sends)  # gone when put returns
        returned.append(i)

    async with trio.open_nursery() as nursery:
        for i in range(50):
            nursery.start_soon(respond, i)
    assert sorted(returned) == list(range(50))
    assert len(sends) < 5
    assert sorted(b"".join(sends).split(b";")[:-1], key=int) == [b"%d" % i for i in range(50)]


async def test_a_lone_response_is_sent_at_once():
    sends: list[bytes] = []

    async def send(data: bytes) -> None:
        sends.append(data)

    outbox = Outbox(send)
    await outbox.put(b"x", gather=False)
    assert sends == [b"x"]


async def test_a_failed_send_fails_every_response_waiting_for_it():
    async def send(data: bytes) -> None:
        await trio.sleep(0)
        raise trio.BrokenResourceError("peer gone")

    outbox = Outbox(send)
    failures: list[type] = []

    async def respond(i: int) -> None:
        try:
            await outbox.put(b"x", gather=True)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as e:
            failures.append(type(e))

    async with trio.open_nursery() as nursery:
        for i in range(5):
            nursery.start_soon(respond, i)
    assert len(failures) == 5
    with pytest.raises(trio.ClosedResourceError):
        await outbox.put(b"y", gather=False)


async def test_a_cancelled_send_fails_the_responses_queued_behind_it_instead_of_leaving_them_waiting():
    sending = trio.Event()

    async def send(data: bytes) -> None:
        sending.set()
        await trio.sleep_forever()

    outbox = Outbox(send)
    outcome: list[str] = []

    async def flusher(scope_box: list[trio.CancelScope]) -> None:
        with trio.CancelScope() as scope:
            scope_box.append(scope)
            await outbox.put(b"first", gather=False)

    async def queued() -> None:
        try:
            await outbox.put(b"second", gather=True)
            outcome.append("sent")
        except trio.ClosedResourceError:
            outcome.append("closed")

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            box: list[trio.CancelScope] = []
            nursery.start_soon(flusher, box)
            await sending.wait()
            nursery.start_soon(queued)
            await trio.testing.wait_all_tasks_blocked()
            box[0].cancel()
    assert outcome == ["closed"]
