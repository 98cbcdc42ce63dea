"""limit, skip, slice, nth and is_empty."""

from __future__ import annotations

from typing import Any

from ... import datum as D
from ...datum.errors import ReqlNonExistenceError, ReqlQueryLogicError
from ...datum.ql2 import TermType as T
from ..seq import (
    eager_items,
    grouped,
    rewrap_rows,
    seq_of,
)
from ..stream import (
    SliceStream,
    Stream,
)
from ..term import Env, Term, as_int, bound_is_open, term
from ..values import SingleSelection, Val
from .aggregation import apply_per_group
from .sequence import SeqTerm


def index_arg(v: Any, at: Any) -> int:
    """An integer argument; null is a missing value (a NON_EXISTENCE error)."""
    if v is None:
        raise ReqlNonExistenceError("Expected type NUMBER but found NULL.", at)
    return as_int(v, at)


@term(T.LIMIT)
class Limit(SeqTerm):
    min_args = max_args = 2

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        n = index_arg(await self.arg_datum(env, 1), self.args[1])
        if n < 0:
            raise ReqlQueryLogicError(f"LIMIT takes a non-negative argument (got {n})", self)
        items = eager_items(src)
        if items is not None:
            return rewrap_rows(src, items[:n])
        return SliceStream(src, 0, n)  # type: ignore[arg-type]


@term(T.SLICE)
class Slice(Term):
    min_args, max_args = 2, 3
    opt_names = frozenset({"left_bound", "right_bound"})

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if grouped(src):
            return await apply_per_group(self, env, src)
        start, stop, left_open, right_closed = await self.bounds(env)
        if isinstance(src, SingleSelection):
            src = src.doc
        if type(src) in (str, bytes):
            return src[slice(*array_bounds(len(src), start, stop, left_open, right_closed))]
        if not isinstance(src, (list, Val)):  # a datum that is not a sequence
            raise ReqlQueryLogicError(f"Expected ARRAY, BINARY, or STRING, but found {D.type_name(src)}.", self.args[0])
        if not isinstance(src, (list, Stream)):  # a database, a function
            raise ReqlQueryLogicError("Cannot slice non-sequences.", self.args[0])
        return slice_seq(seq_of(src, self.args[0]), start, stop, left_open, right_closed, self)

    async def bounds(self, env: Env) -> tuple[int, int | None, bool, bool]:
        """(start, stop or None, left bound open, right bound closed)."""
        start = index_arg(await self.arg_datum(env, 1), self.args[1])
        stop = index_arg(await self.arg_datum(env, 2), self.args[2]) if len(self.args) > 2 else None
        left_open = await bound_is_open(self, env, "left_bound", False)
        right_closed = not await bound_is_open(self, env, "right_bound", True)
        return start, stop, left_open, right_closed


@term(T.SKIP)
class Skip(Slice):
    """``skip(n)`` is ``slice(n)`` in RethinkDB: strings and binaries too."""

    min_args = max_args = 2
    opt_names = frozenset()

    async def bounds(self, env: Env) -> tuple[int, int | None, bool, bool]:
        return index_arg(await self.arg_datum(env, 1), self.args[1]), None, False, False


def array_bounds(size: int, start: int, stop: int | None, left_open: bool, right_closed: bool) -> tuple[int, int]:
    """Python slice bounds of RethinkDB's slice on an in-memory sequence."""
    lo = start + size if start < 0 else start
    lo += left_open
    if stop is None:
        hi = size
    else:
        hi = (stop + size if stop < 0 else stop) + right_closed
    lo = min(max(lo, 0), size)
    hi = min(max(hi, 0), size)
    return lo, max(lo, hi)


def slice_seq(src: Any, start: int, stop: int | None, left_open: bool, right_closed: bool, at: Any) -> Any:
    items = eager_items(src)
    if items is not None:
        lo, hi = array_bounds(len(items), start, stop, left_open, right_closed)
        return rewrap_rows(src, items[lo:hi])
    if start < 0:
        raise ReqlQueryLogicError("Cannot use a negative left index on a stream.", at)
    if stop is not None:
        if stop < -1:
            raise ReqlQueryLogicError("Cannot use a right index < -1 on a stream.", at)
        if stop == -1:
            if not right_closed:
                raise ReqlQueryLogicError("Cannot slice to an open right index of -1 on a stream.", at)
            stop = None
        else:
            stop += right_closed
    return SliceStream(src, start + left_open, stop)


@term(T.NTH)
class Nth(SeqTerm):
    min_args = max_args = 2

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        i = await self.arg_int(env, 1)
        return await nth(env, src, i, self)


async def nth(env: Env, src: list | Stream, i: int, at: Any) -> Any:
    items = eager_items(src)
    if items is not None:
        if i >= len(items) or i < -len(items):
            raise ReqlNonExistenceError(f"Index out of bounds: {i}", at)
        return selection_row(src, items[i])
    stream: Stream = src  # type: ignore[assignment]
    if i < -1:
        raise ReqlQueryLogicError(f"Cannot use an index < -1 ({i}) on a stream.", at)
    seen = 0
    last: list = []
    while (batch := await stream.next_batch()) is not None:
        if i >= 0 and i < seen + len(batch):
            stream.close()
            return selection_row(stream, batch[i - seen])
        seen += len(batch)
        last = batch[-1:]
    if i == -1 and last:
        return selection_row(stream, last[0])
    raise ReqlNonExistenceError(f"Index out of bounds: {i}", at)


def selection_row(src: Any, row: Any) -> Any:
    """A row of a table's selection is a single selection (updatable)."""
    table = getattr(src, "table", None)
    if table is not None and type(row) is dict:
        return SingleSelection(table, row.get(table.primary_key), row)
    return row


@term(T.IS_EMPTY)
class IsEmpty(SeqTerm):
    min_args = max_args = 1

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        items = eager_items(src)
        if items is not None:
            return not items
        batch = await src.next_batch()  # type: ignore[union-attr]
        src.close()  # type: ignore[union-attr]
        return batch is None
