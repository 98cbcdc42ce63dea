"""Joins: inner_join, outer_join, eq_join, zip.

Each left row yields ``{"left": row, "right": match}`` objects (``{"left": row}``
for an unmatched row of an outer join).  Streams stay lazy; the right side of
inner/outer joins is evaluated afresh for every left row, as RethinkDB's
rewrite into nested ``concat_map`` does, so a right-hand table is scanned
instead of being held in memory.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from ... import datum as D
from ...datum.errors import ReqlNonExistenceError, ReqlQueryLogicError
from ...datum.ql2 import TermType as T
from ..seq import (
    as_stream,
    check_array_limit,
    check_sequence,
    eager_items,
    grouped,
    seq_of,
    to_list,
    value_fn,
)
from ..stream import BatchMapStream, MapStream, Stream
from ..bounds import Bounds
from ..tables import TableVal
from ..term import Env, Term, as_bool, as_datum, as_str, func_or_constant, term
from ..values import GroupedStream, Val
from .aggregation import apply_per_group
from .objects_core import merge_docs

RowsOf = Callable[[Any], Awaitable[list]]


async def join_rows(env: Env, term_: Term, src: Any, rows_of: RowsOf) -> Any:
    """Every row of ``src`` replaced by ``rows_of(row)``: a list for an array, a
    lazy stream for a stream, a step per group after ``group``."""
    if isinstance(src, GroupedStream):
        return src.with_step(rows_of)
    if grouped(src):
        return await apply_per_group(term_, env, src)
    seq = seq_of(src, term_.args[0])
    items = eager_items(seq)
    if items is not None:
        out: list = []
        for row in items:
            out.extend(await rows_of(row))
            check_array_limit(env, out, term_)
        return out

    async def each(batch: list) -> list:
        out: list = []
        for row in batch:
            out.extend(await rows_of(row))
        return out

    return BatchMapStream(seq, each)  # type: ignore[arg-type]


class NestedLoopJoin(Term):
    min_args = max_args = 3

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        seq_of(await self.args[1].eval(env), self.args[1])  # the right side is checked first
        f = func_or_constant(await self.args[2].eval(env))  # a constant predicate is allowed

        async def matches(left: Any) -> list:
            right = seq_of(await self.args[1].eval(env), self.args[1])
            out: list = []
            stream = as_stream(right)
            while (batch := await stream.next_batch()) is not None:
                for row in batch:
                    if as_bool(as_datum(await f(left, row), self.args[2])):
                        out.append({"left": left, "right": row})
                check_array_limit(env, out, self)
            return self.result(left, out)

        return await join_rows(env, self, src, matches)

    def result(self, left: Any, matches: list) -> list:
        return matches


@term(T.INNER_JOIN)
class InnerJoin(NestedLoopJoin):
    pass


@term(T.OUTER_JOIN)
class OuterJoin(NestedLoopJoin):
    def result(self, left: Any, matches: list) -> list:
        return matches or [{"left": left}]


@term(T.EQ_JOIN)
class EqJoin(Term):
    """Left rows joined with the rows of a table whose index (the primary key by
    default) equals a field or function of the left row; rows where that value
    is missing or null join nothing."""

    min_args = max_args = 3
    opt_names = frozenset({"index", "ordered"})

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        check_sequence(src, self)
        key_of = value_fn(await self.args[1].eval(env), self.args[1])
        table = await self.right_table(env)
        index = await self.opt_datum(env, "index", table.primary_key)
        index = as_str(index, self.optargs.get("index"))
        await self.opt_datum(env, "ordered", False)  # rows always come in the left order
        if index != table.primary_key:
            table.check_index_usable(index)

        async def matches(left: Any) -> list:
            try:
                key = await key_of(left)
            except ReqlNonExistenceError:
                return []
            if key is None:
                return []
            return [{"left": left, "right": row} for row in await lookup(env, table, index, key)]

        return await join_rows(env, self, src, matches)

    async def right_table(self, env: Env) -> TableVal:
        v = await self.args[2].eval(env)
        if isinstance(v, TableVal):
            return v
        found = v.type_name if isinstance(v, Val) else "DATUM"
        shown = v.describe() if isinstance(v, Val) else D.print_datum(v)
        raise ReqlQueryLogicError(f"Expected type TABLE but found {found}:\n{shown}", self.args[2])


async def lookup(env: Env, table: TableVal, index: str, key: Any) -> list:
    """The documents whose ``index`` value equals ``key`` (get_all)."""
    if index == table.primary_key:
        doc = table.get(key)
        return [] if doc is None else [doc]
    return await to_list(env, table.index_scan(index, Bounds.point(key)))


@term(T.ZIP)
class Zip(Term):
    min_args = max_args = 1

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)

        async def zipped(row: Any) -> list:
            return [zip_row(row, self)]

        if isinstance(src, Stream) and eager_items(src) is None:
            return MapStream(src, zip_one(self))
        return await join_rows(env, self, src, zipped)


def zip_one(at: Any) -> Callable[[Any], Awaitable[Any]]:
    async def call(row: Any) -> Any:
        return zip_row(row, at)

    call.refuses_changes = "zip"  # type: ignore[attr-defined]  # no changefeed after it, as in RethinkDB
    return call


def zip_row(row: Any, at: Any) -> Any:
    """``left`` merged with ``right`` (just ``left`` for an unmatched outer-join row)."""
    if type(row) is not dict:
        raise ReqlQueryLogicError(f"Expected type OBJECT but found {D.type_name(row)}.", at)
    if "left" not in row:
        raise ReqlQueryLogicError("ZIP can only be called on the result of a join.", at)
    if "right" not in row:
        return row["left"]
    return merge_docs(row["left"], row["right"])

