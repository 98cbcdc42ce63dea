"""Sequence terms: map, filter, concat_map, limit, skip, slice, nth, is_empty,
order_by, union, offsets_of, contains, sample, and field access on sequences.

Datum arrays give datum arrays (eagerly); streams give lazy streams; the
documents of a table stay a selection through filter/limit/skip/slice/nth and
order_by.  On the output of ``group``, map/filter/concat_map/get_field become
per-row steps of the grouped stream; other terms run once per group.
"""

from __future__ import annotations

import random
from typing import Any

from .. import datum as D
from ..errors import ReqlError, ReqlNonExistenceError, ReqlQueryLogicError
from ..ql2 import TermType as T
from ..seq import (
    EMPTY_ERROR,
    as_stream,
    check_array_limit,
    compare_keys,
    eager_items,
    field_fn,
    filter_predicate,
    func_of,
    grouped,
    key_or_missing,
    keep_selection,
    rewrap_rows,
    row_fn,
    seq_of,
    sort_rows,
    not_an_object,
    to_list,
)
from ..stream import (
    BatchMapStream,
    ChainStream,
    ConcatMapStream,
    FilterStream,
    MapStream,
    MergeStream,
    MultiMapStream,
    RunSortStream,
    SliceStream,
    Stream,
)
from ..tables import ASCENDING, DESCENDING, UNORDERED, TableSlice, TableVal
from ..term import Env, Term, as_bool, as_datum, as_int, as_str, plural, term
from ..values import FuncVal, GroupedStream, Ordering, SingleSelection, Val
from .aggregation import apply_per_group, feed
from .basic import Const, MakeArray

ARGS_UNSUPPORTED = "r.args is not supported in an order_by or union command yet."


class SeqTerm(Term):
    """A term whose first argument is a sequence; run once per group on grouped input."""

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if grouped(src):
            return await self.on_grouped(env, src)
        return await self.on_seq(env, seq_of(src, self.args[0]))

    async def on_grouped(self, env: Env, src: Any) -> Any:
        return await apply_per_group(self, env, src)

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        raise NotImplementedError


# ---------------------------------------------------------------------------
# map / filter / concat_map

@term(T.MAP)
class Map(Term):
    min_args = 2

    async def eval(self, env: Env) -> Any:
        srcs = [await a.eval(env) for a in self.args[:-1]]
        f = func_of(await self.args[-1].eval(env), self.args[-1])
        if len(srcs) == 1 and grouped(srcs[0]):
            return await self.on_grouped(env, srcs[0], f)
        seqs = [seq_of(s, a) for s, a in zip(srcs, self.args)]
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
        f = func_of(await self.args[1].eval(env), self.args[1])

        async def call(row: Any) -> Any:
            v = await f(row)
            if isinstance(v, Stream) or type(v) is list:
                return v
            return seq_of(as_datum(v), self)

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


# ---------------------------------------------------------------------------
# limit / skip / slice / nth / is_empty

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


@term(T.SKIP)
class Skip(SeqTerm):
    min_args = max_args = 2

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        n = index_arg(await self.arg_datum(env, 1), self.args[1])
        return slice_seq(src, n, None, False, False, self)


@term(T.SLICE)
class Slice(Term):
    min_args, max_args = 2, 3
    opt_names = frozenset({"left_bound", "right_bound"})

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if grouped(src):
            return await apply_per_group(self, env, src)
        start = index_arg(await self.arg_datum(env, 1), self.args[1])
        stop = index_arg(await self.arg_datum(env, 2), self.args[2]) if len(self.args) > 2 else None
        left_open = await self.bound(env, "left_bound", "closed") == "open"
        right_closed = await self.bound(env, "right_bound", "open") == "closed"
        if isinstance(src, SingleSelection):
            src = src.doc
        if type(src) in (str, bytes):
            return src[slice(*array_bounds(len(src), start, stop, left_open, right_closed))]
        return slice_seq(seq_of(src, self.args[0]), start, stop, left_open, right_closed, self)

    async def bound(self, env: Env, name: str, default: str) -> str:
        v = await self.opt_datum(env, name, default)
        if v not in ("open", "closed"):
            shown = v if type(v) is str else D.print_datum(v)
            raise ReqlQueryLogicError(f"Expected `open` or `closed` for optarg `{name}` (got `{shown}`).", self)
        return v


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


# ---------------------------------------------------------------------------
# get_field / bracket

@term(T.GET_FIELD)
class GetField(Term):
    min_args = max_args = 2

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        name = await self.arg_str(env, 1)
        return await get_field_of(env, self, src, name)


async def get_field_of(env: Env, term_: Term, src: Any, name: str) -> Any:
    """A field of an object, or of every object of a sequence (rows without it are skipped)."""
    if isinstance(src, GroupedStream):
        return src.with_step(pick_present(name))
    if grouped(src):
        return await apply_per_group(term_, env, src)
    if isinstance(src, Stream) or type(src) is list:
        items = eager_items(src)
        if items is not None:
            out = []
            for row in items:
                out.extend(await pick_present(name)(row))
            return out
        return BatchMapStream(src, pick_batch(name))  # type: ignore[arg-type]
    obj = src.doc if isinstance(src, SingleSelection) else as_datum(src, term_.args[0])
    if type(obj) is not dict:
        raise not_an_object(term_.name, obj, term_.args[0])
    try:
        return obj[name]
    except KeyError:
        raise ReqlNonExistenceError(f"No attribute `{name}` in object:\n{D.print_datum(obj)}", term_) from None


def pick_present(name: str) -> Any:
    async def pick(row: Any) -> list:
        if type(row) is not dict:
            raise not_an_object("get_field", row)
        return [row[name]] if name in row else []

    return pick


def pick_batch(name: str) -> Any:
    pick = pick_present(name)

    async def each(batch: list) -> list:
        out: list = []
        for row in batch:
            out.extend(await pick(row))
        return out

    return each


@term(T.BRACKET)
class Bracket(Term):
    min_args = max_args = 2

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        key = await self.arg_datum(env, 1)
        if type(key) is str:
            if type(src) is list or isinstance(src, (Stream, SingleSelection)) or grouped(src):
                return await get_field_of(env, self, src, key)
            obj = as_datum(src, self.args[0])
            if type(obj) is not dict:
                raise not_an_object("bracket", obj, self.args[0])
            return await get_field_of(env, self, obj, key)
        if type(key) in (int, float):
            i = as_int(key, self.args[1])
            if grouped(src):
                return await apply_per_group(self, env, src)
            if isinstance(src, SingleSelection) or (not isinstance(src, Val) and type(src) is not list):
                obj = as_datum(src, self.args[0])
                raise not_an_object("bracket", obj, self.args[0], kind="non-array")
            return await nth(env, seq_of(src, self.args[0]), i, self)
        raise ReqlQueryLogicError(
            f"Expected NUMBER or STRING as second argument to `bracket` but found {D.type_name(key)}.", self.args[1]
        )


# ---------------------------------------------------------------------------
# order_by

def uses_args(term_: Term) -> bool:
    """Arguments spliced in by ``r.args`` arrive already evaluated."""
    return any(type(a) is Const for a in term_.args[1:])


async def ordering(env: Env, v: Any, at: Any) -> tuple[Any, bool]:
    """(key function, descending) of an order_by / union argument."""
    desc = False
    if isinstance(v, Ordering):
        v, desc = v.key, v.descending
    if isinstance(v, FuncVal):
        return key_or_missing(row_fn(v)), desc
    field = as_datum(v, at)
    field = as_str(field, at)
    return key_or_missing(field_fn(field)), desc


def selection_stream(src: Stream) -> Stream:
    """The rows of a table slice as a plain selection (no longer a slice)."""

    async def keep(row: Any) -> bool:
        return True

    return FilterStream(src, keep)


INDEXED_ORDER_ONLY = (
    "Indexed order_by can only be performed on a TABLE or TABLE_SLICE. "
    "Make sure order_by comes before any transformations (such as map) or filters."
)


@term(T.ORDER_BY)
class OrderBy(Term):
    min_args = 1
    opt_names = frozenset({"index"})

    async def eval(self, env: Env) -> Any:
        if uses_args(self):
            raise ReqlQueryLogicError(ARGS_UNSUPPORTED, self)
        src = await self.args[0].eval(env)
        if grouped(src):
            return await apply_per_group(self, env, src)
        if "index" in self.optargs:
            return await self.by_index(env, src)
        if len(self.args) == 1:
            raise ReqlQueryLogicError("Must specify something to order by.", self)
        keys = [await ordering(env, await a.eval(env), a) for a in self.args[1:]]
        seq = seq_of(src, self.args[0])
        items = eager_items(seq)
        rows = items if items is not None else await to_list(env, seq, self)
        return keep_selection(seq, await sort_rows(rows, [k for k, _ in keys], [d for _, d in keys]))

    async def by_index(self, env: Env, src: Any) -> Any:
        index_v = await self.opt(env, "index")
        desc = isinstance(index_v, Ordering) and index_v.descending
        at = self.optargs["index"]
        index = as_datum(index_v.key if isinstance(index_v, Ordering) else index_v, at)
        index = as_str(index, at)
        scan = self.index_ordered(src, index, desc)
        if len(self.args) == 1:
            return scan
        if index == scan.table.primary_key:
            return selection_stream(scan)  # unique keys: nothing more to sort
        keys = [await ordering(env, await a.eval(env), a) for a in self.args[1:]]

        async def sort_run(rows: list) -> list:
            return await sort_rows(rows, [k for k, _ in keys], [d for _, d in keys])

        scan.with_values = True  # type: ignore[attr-defined]
        return RunSortStream(scan, sort_run, lambda a, b: D.cmp(a, b) == 0)

    def index_ordered(self, src: Any, index: str, desc: bool) -> Stream:
        """The table (or the slice of it taken by ``between``) read in index order."""
        sorting = DESCENDING if desc else ASCENDING
        if isinstance(src, TableVal):
            return src.index_scan(index, reverse=desc, sorting=sorting)
        if isinstance(src, TableSlice):
            if src.sorting != UNORDERED:
                raise ReqlQueryLogicError("Cannot perform multiple indexed ORDER_BYs on the same table.", self)
            if src.index != index:
                raise ReqlQueryLogicError(
                    f"Cannot order by index `{index}` after calling BETWEEN on index `{src.index}`.", self
                )
            return src.table.index_scan(
                index, src.lo, src.hi, lo_open=src.lo_open, hi_open=src.hi_open, reverse=desc, sorting=sorting
            )
        raise ReqlQueryLogicError(INDEXED_ORDER_ONLY, self)


# ---------------------------------------------------------------------------
# union

@term(T.UNION)
class Union(Term):
    opt_names = frozenset({"interleave"})

    async def eval(self, env: Env) -> Any:
        if uses_args(self):
            raise ReqlQueryLogicError(ARGS_UNSUPPORTED, self)
        seqs = []
        for a in self.args:
            v = await a.eval(env)
            if grouped(v):
                raise ReqlQueryLogicError(f"Expected type SEQUENCE but found {v.type_name}:\n{v.describe()}", a)
            seqs.append(seq_of(v, a))
        interleave = await self.interleave(env)
        eager = [eager_items(s) for s in seqs]
        if interleave is True or interleave is False:
            if all(x is not None for x in eager):
                return check_array_limit(env, [row for rows in eager for row in rows], self)  # type: ignore[union-attr]
            return ChainStream([as_stream(s) for s in seqs])
        merged = await self.merge(env, seqs, interleave)
        if all(x is not None for x in eager):
            return await to_list(env, merged, self)
        return merged

    async def interleave(self, env: Env) -> Any:
        """True / False, or the ordering to merge by: a field, a function, r.asc/r.desc
        of those, or an array of them."""
        t = self.optargs.get("interleave")
        if t is None:
            return True
        if isinstance(t, MakeArray):
            return [await a.eval(env) for a in t.args]
        v = await t.eval(env)
        if v is True or v is False or type(v) is list:
            return v
        return [v]

    async def merge(self, env: Env, seqs: list, spec: list) -> Stream:
        at = self.optargs["interleave"]
        keys = [await ordering(env, v, at) for v in spec]
        fns = [k for k, _ in keys]
        desc = [d for _, d in keys]

        async def key_of(row: Any) -> list:
            return [await fn(row) for fn in fns]

        def out_of_order() -> Exception:
            return ReqlQueryLogicError("The streams given as arguments are not ordered by given ordering.", self)

        return MergeStream([as_stream(s) for s in seqs], key_of, lambda a, b: compare_keys(a, b, desc), out_of_order)


# ---------------------------------------------------------------------------
# offsets_of / contains / sample

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

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        n = await self.arg_int(env, 1)
        if n < 0:
            raise ReqlQueryLogicError(f"Number of items to sample must be non-negative, got `{n}`.", self)
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

