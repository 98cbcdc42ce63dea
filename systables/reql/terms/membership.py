"""offsets_of, contains and sample."""

from __future__ import annotations

import random
from typing import Any

from ... import datum as D
from ...datum.errors import ReqlQueryLogicError
from ...datum.ql2 import TermType as T
from ..groups import feed
from ..seq import (
    as_stream,
    check_array_limit,
    eager_items,
    filter_predicate,
    grouped,
    keep_selection,
    rewrap_rows,
    seq_of,
)
from ..stream import (
    BatchMapStream,
    Stream,
)
from ..term import Env, as_datum, term
from ..values import FuncVal
from .sequence import SeqTerm


def row_test(v: Any, at: Any) -> Any:
    """A predicate (function) or a value to compare rows with."""
    if isinstance(v, FuncVal):
        return filter_predicate(v)
    value = as_datum(v, at)

    async def equal(row: Any) -> bool:
        return D.eq(row, value)

    return equal


@term(T.OFFSETS_OF)
class OffsetsOf(SeqTerm):
    min_args = max_args = 2

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        test = row_test(await self.args[1].eval(env), self.args[1])
        items = eager_items(src)
        if items is not None:
            return [i for i, row in enumerate(items) if await test(row)]
        offset = [0]

        async def offsets(batch: list) -> list:
            start = offset[0]
            offset[0] += len(batch)
            return [start + i for i, row in enumerate(batch) if await test(row)]

        return BatchMapStream(src, offsets)  # type: ignore[arg-type]


@term(T.CONTAINS)
class Contains(SeqTerm):
    min_args = 1

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        pending = [row_test(await self.args[i].eval(env), self.args[i]) for i in range(1, len(self.args))]
        if not pending:
            return True
        stream = as_stream(src)  # read until every value is found (even an infinite stream)
        while (batch := await stream.next_batch()) is not None:
            for row in batch:
                pending = [t for t in pending if not await t(row)]
                if not pending:
                    stream.close()
                    return True
        return False


@term(T.SAMPLE)
class Sample(SeqTerm):
    min_args = max_args = 2
    deterministic = False

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if grouped(src):
            return await self.on_grouped(env, src)
        n = await self.size(env)  # RethinkDB reads the size before it checks the sequence
        return await self.sample(env, seq_of(src, self.args[0]), n)

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        return await self.sample(env, src, await self.size(env))

    async def size(self, env: Env) -> int:
        n = await self.arg_int(env, 1)
        if n < 0:
            raise ReqlQueryLogicError(f"Number of items to sample must be non-negative, got `{n}`.", self)
        return n

    async def sample(self, env: Env, src: list | Stream, n: int) -> Any:
        items = eager_items(src)
        if items is not None:
            return rewrap_rows(src, random.sample(items, min(n, len(items))))
        return keep_selection(src, check_array_limit(env, await reservoir(src, n, self), self))


async def reservoir(src: Stream, n: int, at: Any) -> list:
    """A uniform sample of ``n`` rows of a stream of unknown length, read once."""
    kept: list = []
    seen = [0]

    async def on_batch(batch: list) -> None:
        for row in batch:
            seen[0] += 1
            if len(kept) < n:
                kept.append(row)
            else:
                j = random.randrange(seen[0])
                if j < n:
                    kept[j] = row

    await feed(src, on_batch, at)
    random.shuffle(kept)
    return kept
