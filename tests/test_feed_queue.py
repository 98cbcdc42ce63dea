"""The buffer between a feed's subscriptions and its reader."""

from __future__ import annotations

from systables.feeds.queue import OVERFLOW, FeedQueue


def change(key: str, old: dict | None, new: dict | None, token: int | None = None) -> dict:
    element = {"old_val": old, "new_val": new}
    if token is not None:
        element["resume_token"] = str(token)
    return element


def test_squashing_keeps_the_first_old_value_and_the_last_new_one_in_place():
    q = FeedQueue(100, squash=True)
    q.push(change("a", None, {"id": "a"}), "a")
    q.push(change("b", None, {"id": "b"}), "b")
    q.push(change("a", {"id": "a"}, {"id": "a", "v": 1}), "a")
    assert q.take() == [change("a", None, {"id": "a", "v": 1}), change("b", None, {"id": "b"})]


def test_squashing_with_resume_tokens_keeps_them_in_commit_order():
    q = FeedQueue(100, squash=True)
    q.push(change("a", None, {"id": "a"}, 1), "a")
    q.push(change("b", None, {"id": "b"}, 2), "b")
    q.push(change("a", {"id": "a"}, {"id": "a", "v": 1}, 3), "a")
    taken = q.take()
    assert taken == [change("b", None, {"id": "b"}, 2), change("a", None, {"id": "a", "v": 1}, 3)]
    assert [int(c["resume_token"]) for c in taken] == sorted(int(c["resume_token"]) for c in taken)


def test_a_change_that_cancels_out_is_dropped():
    q = FeedQueue(100, squash=True)
    q.push(change("a", None, {"id": "a"}), "a")
    q.push(change("a", {"id": "a"}, None), "a")
    assert q.take() == [] and not q.ready


def test_overflow_drops_what_is_queued_and_says_how_much():
    q = FeedQueue(3, squash=False)
    for i in range(5):
        q.push(change(str(i), None, {"id": i}), str(i))
    assert q.take() == [{"error": OVERFLOW.format(4)}, change("4", None, {"id": 4})]
