"""Turning a query's value into responses: the root value as a datum or a
stream, batches of a stream within the batch limits, profiles, and JSON
encoding that yields between pieces of a large result."""

from __future__ import annotations

import time
from typing import Any, Iterable

import orjson
import trio

from ..datum import MinMaxVal
from ..datum.errors import ReqlQueryLogicError
from ..protocol import response
from ..reql.context import QueryContext
from ..reql.feeds import feed_roots, squash_feeds, wait_for_feeds
from ..reql.groups import materialize_groups
from ..reql.stream import Stream, collect
from ..reql.values import GroupedData, GroupedStream, SingleSelection, Val
from ..timeslice import tick
from .limits import BatchLimits

SMALL_NODES = 256  # a value with fewer nodes than this is encoded in one call
LONG_STRING = 1 << 16  # strings longer than this are encoded in pieces
STRING_PIECE = 1 << 18


async def resolve(value: Any, ctx: QueryContext) -> Any:
    """The root value as a datum or a stream to send."""
    if isinstance(value, Stream):
        if value.is_array_like():
            return await collect(value, ctx.array_limit)
        return value
    if isinstance(value, SingleSelection):
        return value.doc
    if isinstance(value, GroupedData):
        return value.to_datum()
    if isinstance(value, GroupedStream):
        return (await materialize_groups(ctx, value)).to_datum()
    if isinstance(value, Val):
        raise ReqlQueryLogicError(
            f"Query result must be of type DATUM, GROUPED_DATA, or STREAM (got {value.type_name})."
        )
    if isinstance(value, MinMaxVal):
        raise ReqlQueryLogicError(f"Cannot convert `{value!r}` to JSON.")
    return value


def profile_of(ctx: QueryContext, wanted: bool, seconds: float) -> Any:
    """The ``p`` of a response when the query asked for a profile."""
    if not wanted:
        return None
    return [{"description": "Evaluating query.", "duration(ms)": seconds * 1000, "sub_tasks": document_samples(ctx)}]


def document_samples(ctx: QueryContext) -> list[dict]:
    """Documents the query has read and written so far, as profile sample events
    (the mean is the query's time so far per document)."""
    elapsed_ms = (time.time() - ctx.start_time) * 1000
    events = []
    for description, n in (("Read documents.", ctx.docs_read), ("Write documents.", ctx.docs_written)):
        if n:
            events.append({"description": description, "mean_duration(ms)": elapsed_ms / n, "n_samples": n})
    return events


# ---------------------------------------------------------------------------
# Encoding.  orjson writes a small value in one call; a large one (many
# nodes, or long strings) is written piece by piece with a tick between
# pieces, so that encoding a 50 MB result does not stall every other client.

def is_small(value: Any, budget: int = SMALL_NODES) -> bool:
    """Whether ``value`` has fewer than ``budget`` nodes and no long string
    (walks at most ``budget`` nodes)."""
    stack = [value]
    while stack:
        v = stack.pop()
        budget -= 1
        if budget < 0:
            return False
        t = type(v)
        if t is dict:
            stack.extend(v.values())
        elif t is list:
            if len(v) > budget:
                return False
            stack.extend(v)
        elif t is str and len(v) > LONG_STRING:
            return False
    return True


async def encode(value: Any) -> bytes:
    """``response.encode_datum(value)``, yielding between pieces of a large value."""
    if is_small(value):
        return response.encode_datum(value)
    out: list[bytes] = []
    await _encode_into(value, out)
    return b"".join(out)


async def _encode_into(value: Any, out: list[bytes]) -> None:
    t = type(value)
    if t is list:
        out.append(b"[")
        lone = _lone_container(value)
        for i, item in enumerate(value):
            if i:
                out.append(b",")
            await (_encode_into(item, out) if item is lone else _encode_piece(item, out))
        out.append(b"]")
    elif t is dict:
        out.append(b"{")
        lone = _lone_container(value.values())
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(b",")
            await _encode_piece(key, out)
            out.append(b":")
            await (_encode_into(item, out) if item is lone else _encode_piece(item, out))
        out.append(b"}")
    elif t is str:
        await _encode_string(value, out)
    else:
        out.append(response.encode_datum(value))


def _lone_container(items: Iterable[Any]) -> Any:
    """The only array or object among the items of a large container, if there
    is one: it holds nearly all of the container, so it is large too, and
    asking ``is_small`` again at every level of a deeply nested value would
    make encoding it quadratic."""
    lone = None
    for item in items:
        if type(item) is list or type(item) is dict:
            if lone is not None:
                return None
            lone = item
    return lone


async def _encode_piece(value: Any, out: list[bytes]) -> None:
    await tick()
    if is_small(value):
        out.append(response.encode_datum(value))
    else:
        await _encode_into(value, out)


async def _encode_string(s: str, out: list[bytes]) -> None:
    """A long string as JSON, a piece at a time (escaping is per character,
    so the pieces join into the same JSON text)."""
    if len(s) <= LONG_STRING:
        out.append(orjson.dumps(s))
        return
    out.append(b'"')
    for start in range(0, len(s), STRING_PIECE):
        await tick()
        out.append(orjson.dumps(s[start : start + STRING_PIECE])[1:-1])
    out.append(b'"')


async def atom_response(value: Any, profile: Any) -> bytes:
    if is_small(value):
        return response.atom(value, profile)
    return response.encoded_atom(await encode(value), profile)


async def next_batch(stream: Stream, pending: list, limits: BatchLimits, first: bool) -> tuple[list[bytes], list, bool]:
    """The next batch of encoded rows within the limits (the first batch is
    scaled down); returns (rows, rows read but not sent, stream exhausted)."""
    scale = limits.scaledown if first else 1
    max_rows = max(1, limits.max_rows // scale) if limits.max_rows is not None else None
    max_bytes = max(1, limits.max_bytes // scale)
    deadline = time.monotonic() + limits.max_seconds / scale
    out: list[bytes] = []
    size = 0
    while True:
        if not pending:
            batch = await stream.next_batch()
            if batch is None:
                return out, [], True
            pending = batch
        i = 0
        for i, row in enumerate(pending, 1):
            await tick()
            encoded = await encode(row)
            out.append(encoded)
            size += len(encoded) + 1
            if (max_rows is not None and len(out) >= max_rows) or size >= max_bytes:
                break
        else:
            i = len(pending)
        pending = pending[i:]
        if len(out) >= limits.min_rows and (
            (max_rows is not None and len(out) >= max_rows) or size >= max_bytes or time.monotonic() >= deadline
        ):
            if not pending:
                # Peek so that an exhausted stream ends with SUCCESS_SEQUENCE.
                nxt = await stream.next_batch()
                if nxt is None:
                    return out, [], True
                pending = nxt
            return out, pending, False


async def next_feed_batch(
    stream: Stream, pending: list, limits: BatchLimits, first: bool, empty_after: float | None
) -> tuple[list[bytes], list, bool]:
    """The next batch of a changefeed: the first one at once, with whatever is
    there (often nothing); a later one once something arrives, or empty after
    ``empty_after`` seconds for clients that poll (HTTP).  Feeds never wait
    in ``next_batch``: the waiting is done here."""
    roots = feed_roots(stream)
    deadline = None if empty_after is None else trio.current_time() + empty_after
    if not first:
        await squash_feeds(roots)
    out: list[bytes] = []
    size = 0
    while True:
        if not pending:
            batch = await stream.next_batch()
            if batch is None:
                return out, [], True
            pending = batch
        taken = 0
        for row in pending:
            await tick()
            encoded = await encode(row)
            out.append(encoded)
            taken += 1
            size += len(encoded) + 1
            if (limits.max_rows is not None and len(out) >= limits.max_rows) or size >= limits.max_bytes:
                break
        pending = pending[taken:]
        if out and not pending:
            # Peek, so that a feed with a limit ends with the batch that completes it.
            nxt = await stream.next_batch()
            if nxt is None:
                return out, [], True
            pending = nxt
        if pending or out or first:
            return out, pending, False
        if not await _wait(roots, deadline):
            return out, pending, False


async def _wait(roots: list, deadline: float | None) -> bool:
    """Wait for the feeds to have something; False if ``deadline`` passed first."""
    if deadline is None:
        await wait_for_feeds(roots)
        return True
    with trio.move_on_at(deadline):
        await wait_for_feeds(roots)
        return True
    return False
