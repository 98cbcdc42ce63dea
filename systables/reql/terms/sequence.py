"""Core sequence terms: map, filter, concat_map, count, limit, skip, slice,
nth, order_by, is_empty, and field access on sequences."""

from __future__ import annotations

from typing import Any

from .. import datum as D
from ..errors import ReqlNonExistenceError, ReqlQueryLogicError
from ..ql2 import TermType as T
from ..seq import (
    as_stream,
    filter_predicate,
    func_of,
    keep_selection,
    row_fn,
    seq_of,
    to_list,
)
from ..stream import ConcatMapStream, FilterStream, MapStream, SliceStream, Stream
from ..tables import TableVal
from ..term import MISSING, Env, Term, as_datum, as_int, term
from ..values import FuncVal, GroupedData, GroupedStream, Ordering, SingleSelection, Val
from .objects_core import get_field


class SeqTerm(Term):
    """A term whose first argument is a sequence; applied per group on grouped input."""

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if isinstance(src, GroupedStream):
            from .aggregation import apply_per_group

            return await apply_per_group(self, env, src)
        return await self.on_seq(env, seq_of(src, self.args[0]))

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        raise NotImplementedError


@term(T.MAP)
class Map(Term):
    min_args = 2

    async def eval(self, env: Env) -> Any:
        f = func_of(await self.args[-1].eval(env), self.args[-1])
        srcs = [await a.eval(env) for a in self.args[:-1]]
        if len(srcs) == 1 and isinstance(srcs[0], GroupedStream):
            from .aggregation import apply_per_group

            return await apply_per_group(self, env, srcs[0])
        seqs = [seq_of(s, a) for s, a in zip(srcs, self.args)]
        if f.arity not in (0, len(seqs)):
            from ..term import plural

            raise ReqlQueryLogicError(
                f"The function passed to `map` expects {plural(f.arity, 'argument')}, but {plural(len(seqs), 'sequence')} {'was' if len(seqs) == 1 else 'were'} found.",
                self,
            )
        if len(seqs) == 1:
            return await map_seq(env, seqs[0], f)
        lists = [await to_list(env, s, self) for s in seqs]
        n = min(len(x) for x in lists)
        return [as_datum(await f(*[x[i] for x in lists])) for i in range(n)]


async def map_seq(env: Env, src: list | Stream, f: FuncVal) -> Any:
    if type(src) is list:
        out = []
        for x in src:
            out.append(as_datum(await f(x)))
        return out
    return MapStream(src, row_fn(f))  # type: ignore[arg-type]


@term(T.FILTER)
class Filter(SeqTerm):
    min_args = max_args = 2
    opt_names = frozenset({"default"})

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        pred_val = await self.args[1].eval(env)
        if isinstance(pred_val, Val) and not isinstance(pred_val, FuncVal):
            pred_val = as_datum(pred_val, self.args[1])
        default = await self.opt(env, "default", None) if "default" in self.optargs else None
        if "default" in self.optargs and default is None:
            default = False
        pred = filter_predicate(pred_val, default)
        if type(src) is list:
            return [x for x in src if await pred(x)]
        return FilterStream(src, pred)  # type: ignore[arg-type]


@term(T.CONCAT_MAP)
class ConcatMap(SeqTerm):
    min_args = max_args = 2

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        f = func_of(await self.args[1].eval(env), self.args[1])

        async def call(row: Any) -> Any:
            v = await f(row)
            if isinstance(v, Stream) or type(v) is list:
                return v
            return seq_of(as_datum(v), self)

        if type(src) is list:
            out: list = []
            for x in src:
                v = await call(x)
                out.extend(v if type(v) is list else await to_list(env, v, self))
                if len(out) > env.ctx.array_limit:
                    from ..errors import ReqlResourceLimitError

                    raise ReqlResourceLimitError(f"Array over size limit `{env.ctx.array_limit}`.", self)
            return out
        return ConcatMapStream(src, call, as_stream)  # type: ignore[arg-type]


@term(T.COUNT)
class Count(SeqTerm):
    min_args, max_args = 1, 2

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if isinstance(src, GroupedStream):
            from .aggregation import apply_per_group

            return await apply_per_group(self, env, src)
        if not isinstance(src, Val) and type(src) is not list:
            if len(self.args) == 1 and type(src) is str:
                return len(src)
            if len(self.args) == 1 and type(src) is dict and D.REQL_TYPE not in src:
                return len(src)
            if len(self.args) == 1 and type(src) is bytes:
                return len(src)
        return await self.on_seq(env, seq_of(src, self.args[0]))

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        if len(self.args) == 2:
            pred_val = await self.args[1].eval(env)
            if isinstance(pred_val, FuncVal):
                pred = filter_predicate(pred_val, None)
            else:
                value = as_datum(pred_val, self.args[1])

                async def pred(row: Any) -> bool:
                    return D.eq(row, value)

            n = 0
            async for row in as_stream(src):
                if await pred(row):
                    n += 1
            return n
        if type(src) is list:
            return len(src)
        if isinstance(src, TableVal):
            return await src.count()
        if src.is_infinite():
            raise ReqlQueryLogicError(
                "Cannot use an infinite stream with an aggregation function (`reduce`, `count`, etc.) or coerce it to an array.",
                self,
            )
        n = 0
        while True:
            b = await src.next_batch()
            if b is None:
                return n
            n += len(b)


def check_non_negative(name: str, n: int, at: Any) -> None:
    if n < 0:
        raise ReqlQueryLogicError(f"{name} takes a non-negative argument (got {n})", at)


@term(T.LIMIT)
class Limit(SeqTerm):
    min_args = max_args = 2

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        n = await self.arg_int(env, 1)
        check_non_negative("LIMIT", n, self)
        if type(src) is list:
            return src[:n]
        return SliceStream(src, 0, n)  # type: ignore[arg-type]


@term(T.SKIP)
class Skip(SeqTerm):
    min_args = max_args = 2

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        n = await self.arg_int(env, 1)
        check_non_negative("SKIP", n, self)
        if type(src) is list:
            return src[n:]
        return SliceStream(src, n, None)  # type: ignore[arg-type]


@term(T.IS_EMPTY)
class IsEmpty(SeqTerm):
    min_args = max_args = 1

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        if type(src) is list:
            return not src
        b = await src.next_batch()  # type: ignore[union-attr]
        src.close()  # type: ignore[union-attr]
        return b is None


@term(T.NTH)
class Nth(SeqTerm):
    min_args = max_args = 2

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        i = await self.arg_int(env, 1)
        return await nth(env, src, i, self)


async def nth(env: Env, src: list | Stream, i: int, at: Any) -> Any:
    if type(src) is list:
        try:
            if i < -len(src):
                raise IndexError
            return src[i]
        except IndexError:
            raise ReqlNonExistenceError(f"Index out of bounds: {i}", at) from None
    stream: Stream = src  # type: ignore[assignment]
    if i < 0:
        rows = await to_list(env, stream, at)
        if i < -len(rows):
            raise ReqlNonExistenceError(f"Index out of bounds: {i}", at)
        return _selection_row(stream, rows[i])
    seen = 0
    while True:
        b = await stream.next_batch()
        if b is None:
            raise ReqlNonExistenceError(f"Index out of bounds: {i}", at)
        if i < seen + len(b):
            stream.close()
            return _selection_row(stream, b[i - seen])
        seen += len(b)


def _selection_row(stream: Stream, row: Any) -> Any:
    if stream.table is not None and type(row) is dict:
        pk = stream.table.primary_key
        return SingleSelection(stream.table, row.get(pk), row)
    return row


@term(T.GET_FIELD)
class GetField(Term):
    min_args = max_args = 2

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        name = await self.arg_str(env, 1)
        return await get_field_of(env, src, name, self)


async def get_field_of(env: Env, src: Any, name: str, at: Any) -> Any:
    if isinstance(src, GroupedStream):
        raise ReqlQueryLogicError("Cannot call get_field on grouped data.", at)
    if isinstance(src, Stream) or type(src) is list:
        async def pick(row: Any) -> Any:
            return get_field(row, name)

        if type(src) is list:
            out = []
            for row in src:
                try:
                    out.append(get_field(row, name))
                except ReqlNonExistenceError:
                    pass
            return out
        return FilterStream(MapStream(src, _skip_missing(name)), _not_missing)  # type: ignore[arg-type]
    obj = src.doc if isinstance(src, SingleSelection) else as_datum(src, at)
    if type(obj) is not dict:
        raise ReqlQueryLogicError(
            f"Cannot perform get_field on a non-object non-sequence `{D.print_datum(obj)}`.", at
        )
    try:
        return obj[name]
    except KeyError:
        raise ReqlNonExistenceError(f"No attribute `{name}` in object:\n{D.print_datum(obj)}", at) from None


_MISSING_ROW = object()


def _skip_missing(name: str):  # type: ignore[no-untyped-def]
    async def pick(row: Any) -> Any:
        if type(row) is not dict:
            raise ReqlQueryLogicError(f"Cannot perform get_field on a non-object non-sequence `{D.print_datum(row)}`.")
        return row.get(name, _MISSING_ROW)

    return pick


async def _not_missing(v: Any) -> bool:
    return v is not _MISSING_ROW


@term(T.BRACKET)
class Bracket(Term):
    min_args = max_args = 2

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        key = await self.arg_datum(env, 1)
        if type(key) is str:
            if type(src) is list or isinstance(src, Stream) or isinstance(src, SingleSelection):
                return await get_field_of(env, src, key, self)
            obj = as_datum(src, self.args[0])
            if type(obj) is not dict:
                raise ReqlQueryLogicError(
                    f"Cannot perform bracket on a non-object non-sequence `{D.print_datum(obj)}`.", self.args[0]
                )
            return await get_field_of(env, obj, key, self)
        if type(key) in (int, float):
            i = as_int(key, self.args[1])
            if isinstance(src, GroupedStream):
                from .aggregation import apply_per_group

                return await apply_per_group(self, env, src)
            if isinstance(src, SingleSelection) or (not isinstance(src, Val) and type(src) is not list):
                obj = as_datum(src, self.args[0])
                raise ReqlQueryLogicError(f"Cannot perform bracket on a non-array non-sequence `{D.print_datum(obj)}`.", self.args[0])
            return await nth(env, seq_of(src, self.args[0]), i, self)
        raise ReqlQueryLogicError(
            f"Expected NUMBER or STRING as second argument to `bracket` but found {D.type_name(key)}.", self.args[1]
        )


@term(T.ORDER_BY)
class OrderBy(SeqTerm):
    min_args = 1
    opt_names = frozenset({"index"})

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if isinstance(src, GroupedStream):
            from .aggregation import apply_per_group

            return await apply_per_group(self, env, src)
        if "index" in self.optargs:
            return await self.by_index(env, src)
        if len(self.args) == 1:
            raise ReqlQueryLogicError("Must specify something to order by.", self)
        return await self.on_seq(env, seq_of(src, self.args[0]))

    async def by_index(self, env: Env, src: Any) -> Any:
        index_v = await self.opt(env, "index")
        desc = isinstance(index_v, Ordering) and index_v.descending
        index = as_datum(index_v.key if isinstance(index_v, Ordering) else index_v, self.optargs["index"])
        if type(index) is not str:
            raise ReqlQueryLogicError(f"Expected type STRING but found {D.type_name(index)}.", self)
        if not isinstance(src, TableVal):
            from ..values import Val as _Val

            found = src.type_name if isinstance(src, _Val) else "DATUM"
            if found == "TABLE_SLICE" and getattr(src, "table", None) is not None:
                return await self.slice_by_index(env, src, index, desc)
            shown = src.describe() if isinstance(src, _Val) else D.print_datum(src)
            raise ReqlQueryLogicError(f"Expected type TABLE_SLICE but found {found}:\n{shown}", self.args[0])
        stream = src.index_scan(index, reverse=desc, typeof_name="TABLE_SLICE")
        if len(self.args) > 1:
            return await self.on_seq(env, stream)
        return stream

    async def slice_by_index(self, env: Env, src: Any, index: str, desc: bool) -> Any:
        from ..tables import IndexScan, TableScan

        table = src.table
        if isinstance(src, (TableScan, IndexScan)):
            lo, hi, lo_open, hi_open, _ = src._args
            src_index = src.index if isinstance(src, IndexScan) else table.primary_key
            if src_index == index:
                return table.index_scan(index, lo, hi, lo_open=lo_open, hi_open=hi_open, reverse=desc)
        raise ReqlQueryLogicError("Cannot order by an index on a sequence that was not produced by `between` on the same index.", self)

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        keys = []
        for a in self.args[1:]:
            v = await a.eval(env)
            desc = False
            if isinstance(v, Ordering):
                desc = v.descending
                v = v.key
            if isinstance(v, FuncVal):
                fn = row_fn(v)
            else:
                field = as_datum(v, a)
                if type(field) is not str:
                    raise ReqlQueryLogicError(f"Expected type STRING but found {D.type_name(field)}.", a)
                fn = _order_field(field)
            keys.append((fn, desc))
        rows = await to_list(env, src, self)
        decorated = []
        for row in rows:
            decorated.append(([await fn(row) for fn, _ in keys], row))
        for i in range(len(keys) - 1, -1, -1):
            desc = keys[i][1]
            decorated.sort(key=lambda kr: D.SortKey(kr[0][i]), reverse=desc)
        return keep_selection(src, [row for _, row in decorated])


def _order_field(field: str):  # type: ignore[no-untyped-def]
    async def key(row: Any) -> Any:
        if type(row) is dict:
            return row.get(field, None)
        raise ReqlQueryLogicError(f"Cannot perform get_field on a non-object non-sequence `{D.print_datum(row)}`.")

    return key
