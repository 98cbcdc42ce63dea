"""map, filter and concat_map over arrays, streams and grouped data."""

from __future__ import annotations

from typing import Any

from ...datum.errors import ReqlError, ReqlNonExistenceError, ReqlQueryLogicError
from ...datum.ql2 import TermType as T
from ..seq import (
    EMPTY_ERROR,
    as_stream,
    check_array_limit,
    check_sequence,
    eager_items,
    filter_predicate,
    func_of,
    grouped,
    rewrap_rows,
    row_fn,
    seq_of,
    to_list,
)
from ..stream import (
    ConcatMapStream,
    FilterStream,
    MapStream,
    MultiMapStream,
    Stream,
)
from ..term import Env, Term, as_bool, as_datum, plural, term
from ..values import FuncVal, GroupedStream
from .aggregation import apply_per_group


@term(T.MAP)
class Map(Term):
    min_args = 2

    async def eval(self, env: Env) -> Any:
        srcs = [await a.eval(env) for a in self.args[:-1]]
        fv = await self.args[-1].eval(env)
        if len(srcs) == 1 and grouped(srcs[0]):
            return await self.on_grouped(env, srcs[0], func_of(fv, self.args[-1]))
        seqs = [seq_of(s, a) for s, a in zip(srcs, self.args)]  # RethinkDB checks the sequences first
        f = func_of(fv, self.args[-1])
        if f.arity not in (0, len(seqs)):
            n = len(seqs)
            raise ReqlQueryLogicError(
                f"The function passed to `map` expects {plural(f.arity, 'argument')}, "
                f"but {plural(n, 'sequence')} {'was' if n == 1 else 'were'} found.",
                self,
            )
        if len(seqs) == 1:
            return await map_seq(env, seqs[0], f)
        return await self.zip_map(env, seqs, f)

    async def on_grouped(self, env: Env, src: Any, f: FuncVal) -> Any:
        if isinstance(src, GroupedStream):
            async def step(row: Any) -> list:
                return [as_datum(await f(row))]

            return src.with_step(step)
        return await apply_per_group(self, env, src)

    async def zip_map(self, env: Env, seqs: list, f: FuncVal) -> Any:
        async def call(*rows: Any) -> Any:
            return as_datum(await f(*rows))

        items = [eager_items(s) for s in seqs]
        if all(x is not None for x in items):
            return [await call(*rows) for rows in zip(*items)]  # type: ignore[arg-type]
        return MultiMapStream([as_stream(s) for s in seqs], call)


async def map_seq(env: Env, src: list | Stream, f: FuncVal) -> Any:
    items = eager_items(src)
    if items is not None:
        return [as_datum(await f(x)) for x in items]
    return MapStream(src, row_fn(f))  # type: ignore[arg-type]


@term(T.FILTER)
class Filter(Term):
    min_args = max_args = 2
    opt_names = frozenset({"default"})

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        pred = await self.predicate(env)
        if isinstance(src, GroupedStream):
            async def step(row: Any) -> list:
                return [row] if await pred(row) else []

            return src.with_step(step)
        if grouped(src):
            return await apply_per_group(self, env, src)
        seq = seq_of(src, self.args[0])
        items = eager_items(seq)
        if items is not None:
            return rewrap_rows(seq, [x for x in items if await pred(x)])
        return FilterStream(seq, pred)  # type: ignore[arg-type]

    async def predicate(self, env: Env) -> Any:
        pred_val = await self.args[1].eval(env)
        if not isinstance(pred_val, FuncVal):
            pred_val = as_datum(pred_val, self.args[1])
        default_term = self.optargs.get("default")
        if default_term is None:
            return filter_predicate(pred_val)

        async def on_missing(err: ReqlNonExistenceError) -> bool:
            """The default is evaluated only when a field is missing; ``r.error()``
            there re-raises the original error."""
            try:
                d = await default_term.eval(env)
                if isinstance(d, FuncVal):
                    d = await d(err.message)
                return as_bool(as_datum(d, default_term))
            except ReqlError as e:
                if getattr(e, "empty", False) or e.message == EMPTY_ERROR:
                    raise err from None
                raise

        return filter_predicate(pred_val, on_missing)


@term(T.CONCAT_MAP)
class ConcatMap(Term):
    min_args = max_args = 2

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        check_sequence(src, self)
        f = func_of(await self.args[1].eval(env), self.args[1])

        async def call(row: Any) -> Any:
            v = await f(row)
            if isinstance(v, Stream) or type(v) is list:
                return v
            try:
                return seq_of(as_datum(v, self.args[1]), self.args[1])
            except ReqlError as e:
                raise e.at(self.args[1])  # the function's result is not a sequence

        if isinstance(src, GroupedStream):
            async def step(row: Any) -> list:
                return await to_list(env, await call(row), self)

            return src.with_step(step)
        if grouped(src):
            return await apply_per_group(self, env, src)
        seq = seq_of(src, self.args[0])
        items = eager_items(seq)
        if items is None:
            return ConcatMapStream(seq, call, as_stream)  # type: ignore[arg-type]
        out: list = []
        for x in items:
            out.extend(await to_list(env, await call(x), self))
            check_array_limit(env, out, self)
        return out
