"""Reading sequences and grouped streams batch by batch, and applying a
function to every group: what the aggregation terms and the terms that map
themselves over grouped data (``r.do``, arithmetic...) share."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from .. import datum as D
from ..datum.errors import ReqlQueryLogicError, ReqlResourceLimitError, array_over_limit
from .seq import eager_items, grouped, to_list
from .stream import Stream, check_finite, reads_a_table
from .term import Env, Term, query_root
from .values import GroupedData, GroupedStream, SingleSelection

Step = Callable[[Any], Awaitable[list]]



async def feed(src: Any, sink: Callable[[list], Awaitable[None]], at: Any = None) -> None:
    """Hand every batch of the sequence ``src`` to ``sink``."""
    items = eager_items(src)
    if items is not None:
        if items:
            await sink(items)
        return
    check_finite(src, at)
    while (batch := await src.next_batch()) is not None:
        await sink(batch)


async def apply_steps(steps: tuple[Step, ...], row: Any) -> list:
    rows = [row]
    for step in steps:
        out: list = []
        for r in rows:
            out.extend(await step(r))
        rows = out
    return rows


async def feed_groups(gs: GroupedStream, sink: Callable[[Any, Any], Awaitable[None]], at: Any = None) -> None:
    """Hand ``(group key, row)`` to ``sink`` for every row of every group."""

    async def on_batch(batch: list) -> None:
        for raw in batch:
            keys, row = await gs.keys_of(raw)
            rows = await apply_steps(gs.steps, row)
            for key in keys:
                for r in rows:
                    await sink(key, r)

    await feed(gs.src, on_batch, at)


GROUPED_OVER_LIMIT = "Grouped data over size limit `{}`.  Try putting a reduction (like `.reduce` or `.count`) on the end."


def too_many_groups(limit: int, at: Any) -> ReqlResourceLimitError:
    return ReqlResourceLimitError(f"Too many groups (> {limit}).", whole_query(at))


def whole_query(at: Any) -> Any:
    """Group limits are checked at the top level in RethinkDB: their errors
    underline the whole query."""
    return query_root(at) if isinstance(at, Term) else at


class GroupCount:
    """RethinkDB's limit on the number of groups, which depends on where the
    groups are made: a sequence read where the query runs may not reach the
    array limit ("Too many groups"); a table read is grouped on its shards and
    may not exceed it once they are put together ("Array over size limit")."""

    def __init__(self, limit: int, gs: GroupedStream, at: Any) -> None:
        self.limit = limit
        self.on_shards = reads_a_table(gs.src)
        self.at = at

    def check_new(self, count: int) -> None:
        """Before a group is added to ``count`` others."""
        if self.on_shards:
            if count >= self.limit:  # the result is over the limit whatever follows
                raise array_over_limit(self.limit, whole_query(self.at))
        elif count + 1 >= self.limit:
            raise too_many_groups(self.limit, self.at)


async def materialize_groups(ctx: Any, gs: GroupedStream, at: Any = None) -> GroupedData:
    """Every group's rows as an array: RethinkDB holds them to the array limit
    all together, and the number of groups too."""
    groups: dict[Any, tuple[Any, list]] = {}
    limit = ctx.array_limit
    count = GroupCount(limit, gs, at)
    total = 0

    async def add(key: Any, row: Any) -> None:
        nonlocal total
        h = D.hashable(key)
        entry = groups.get(h)
        if entry is None:
            count.check_new(len(groups))
            entry = groups[h] = (key, [])
        entry[1].append(row)
        total += 1
        if total > limit:
            raise ReqlResourceLimitError(GROUPED_OVER_LIMIT.format(limit), whole_query(at))

    await feed_groups(gs, add, at)
    return GroupedData(dict(groups))


async def as_grouped_data(env: Env, v: Any, at: Any = None) -> GroupedData:
    return await materialize_groups(env.ctx, v, at) if isinstance(v, GroupedStream) else v


def group_result(v: Any) -> Any:
    """A per-group result as stored in GROUPED_DATA."""
    if isinstance(v, SingleSelection):
        return v.doc
    if grouped(v):
        raise ReqlQueryLogicError("Cannot nest grouped data.")
    return v


async def map_groups(env: Env, src: Any, fn: Callable[[Any], Awaitable[Any]], at: Any = None) -> GroupedData:
    """``fn`` applied to the value of every group (e.g. ``r.do`` on grouped data)."""
    data = await as_grouped_data(env, src, at)
    out: dict[Any, tuple[Any, Any]] = {}
    for h, (key, value) in data.groups.items():
        v = await fn(value)
        if isinstance(v, Stream):
            v = await to_list(env, v, at)
        out[h] = (key, group_result(v))
    return GroupedData(out)
