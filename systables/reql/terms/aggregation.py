"""Grouping and aggregation: ``group``/``ungroup`` and the terminals (count, sum,
avg, min, max, reduce, fold, distinct) on sequences and per group.

A terminal is a per-row *step* (filter, field extraction...) followed by an
*accumulator*.  On a sequence it consumes the rows once, lazily; on the output
of ``group`` it keeps one accumulator per group, created by the group's first
value, so a group whose rows all lack the field does not appear (as in
RethinkDB).  Other terms applied to grouped data run once per group
(``apply_per_group``).
"""

from __future__ import annotations

import copy
import itertools
from typing import Any, Awaitable, Callable

from ... import datum as D
from ...datum import norm_num
from ...datum.errors import (
    ReqlNonExistenceError,
    ReqlQueryLogicError,
)
from ...datum.ql2 import TermType as T
from ...timeslice import tick, yield_now
from ..groups import (
    GroupCount,
    as_grouped_data,
    feed,
    feed_groups,
    map_groups,
)
from ..seq import (
    check_sequence,
    check_array_limit,
    eager_items,
    field_fn,
    filter_predicate,
    func_of,
    grouped,
    seq_of,
    skip_missing,
    sort_key,
    to_list,
    value_fn,
)
from ..stream import ArrayStream, BatchMapStream, FoldStream, MapStream, Stream
from ..tables import TableScan, TableSlice, TableVal
from ..term import Env, Term, as_array, as_bool, as_datum, as_str, term
from ..values import FuncVal, GroupedData, GroupedStream, SingleSelection, Val
from .basic import Const

Step = Callable[[Any], Awaitable[list]]



async def apply_per_group(term_: Term, env: Env, src: Any) -> GroupedData:
    """Evaluate ``term_`` once per group, with the group's value as its first argument."""

    async def run(value: Any) -> Any:
        return await with_first_arg(term_, value).eval(env)

    return await map_groups(env, src, run, term_)


def with_first_arg(term_: Term, value: Any) -> Term:
    """A copy of ``term_`` whose first argument is the already-computed ``value``."""
    clone = copy.copy(term_)
    first = Const([], {})
    first.value = value
    first.parent, first.frame = clone, 0
    clone.args = [first] + term_.args[1:]
    return clone


# ---------------------------------------------------------------------------
# Accumulators.

class Accumulator:
    async def add(self, v: Any) -> None:
        raise NotImplementedError

    def result(self) -> Any:
        raise NotImplementedError


class CountAcc(Accumulator):
    def __init__(self) -> None:
        self.n = 0

    async def add(self, v: Any) -> None:
        self.n += 1

    def result(self) -> Any:
        return self.n


def number(v: Any, at: Any) -> int | float:
    t = type(v)
    if t is int or t is float:
        return v
    error = ReqlNonExistenceError if v is None else ReqlQueryLogicError
    raise error(f"Expected type NUMBER but found {D.type_name(v)}.", at)


class SumAcc(Accumulator):
    def __init__(self, at: Any) -> None:
        self.total: int | float = 0
        self.at = at

    async def add(self, v: Any) -> None:
        self.total = self.total + number(v, self.at)

    def result(self) -> Any:
        return norm_num(self.total)


def empty_error(name: str, shown: str, at: Any) -> ReqlNonExistenceError:
    return ReqlNonExistenceError(
        f"Cannot take the {name} of an empty stream.  (If you passed `{shown}` a field name, "
        "it may be that no elements of the stream had that field.)",
        at,
    )


class AvgAcc(SumAcc):
    def __init__(self, at: Any) -> None:
        super().__init__(at)
        self.n = 0

    async def add(self, v: Any) -> None:
        await super().add(v)
        self.n += 1

    def result(self) -> Any:
        if not self.n:
            raise empty_error("average", "avg", self.at)
        return norm_num(self.total / self.n)


class BestAcc(Accumulator):
    """min/max: the first row whose key is strictly the smallest (largest)."""

    def __init__(self, name: str, sign: int, at: Any) -> None:
        self.name = name
        self.sign = sign
        self.at = at
        self.best: tuple[Any, Any] | None = None

    async def add(self, v: Any) -> None:
        if self.best is None or D.cmp(v[0], self.best[0]) * self.sign < 0:
            self.best = v

    def result(self) -> Any:
        if self.best is None:
            raise empty_error(self.name, self.name, self.at)
        return self.best[1]


class ReduceAcc(Accumulator):
    def __init__(self, f: FuncVal, at: Any) -> None:
        self.f = f
        self.at = at
        self.acc: Any = None
        self.seen = False

    async def add(self, v: Any) -> None:
        if self.seen:
            self.acc = as_datum(await self.f(self.acc, v), self.at)
        else:
            self.acc, self.seen = v, True

    def result(self) -> Any:
        if not self.seen:
            raise ReqlNonExistenceError("Cannot reduce over an empty stream.", self.f.site or self.at)
        return self.acc


class FoldAcc(Accumulator):
    def __init__(self, base: Any, f: FuncVal, at: Any) -> None:
        self.acc = base
        self.f = f
        self.at = at

    async def add(self, v: Any) -> None:
        self.acc = as_datum(await self.f(self.acc, v), self.at)

    def result(self) -> Any:
        return self.acc


class DistinctAcc(Accumulator):
    def __init__(self) -> None:
        self.seen: dict[Any, Any] = {}

    async def add(self, v: Any) -> None:
        self.seen.setdefault(D.hashable(v), v)

    def result(self) -> Any:
        return sorted(self.seen.values(), key=sort_key)


class Terminal:
    """A per-row step (None: the row itself) feeding one accumulator per result."""

    def __init__(self, make_acc: Callable[[], Accumulator], step: Step | None = None) -> None:
        self.make_acc = make_acc
        self.step = step


async def run_terminal(env: Env, src: Any, terminal: Terminal, at: Any) -> Any:
    """The terminal's result on a sequence, or per group (GROUPED_DATA)."""
    if isinstance(src, GroupedStream):
        return await run_grouped(src, terminal, at, env.ctx.array_limit)
    if isinstance(src, GroupedData):
        out = {}
        for h, (key, value) in src.groups.items():
            out[h] = (key, await run_terminal(env, seq_of(value, at), terminal, at))
        return GroupedData(out)
    acc = terminal.make_acc()
    step = terminal.step

    async def on_batch(batch: list) -> None:
        for row in batch:
            await tick()
            for v in (await step(row)) if step is not None else (row,):
                await acc.add(v)

    await feed(seq_of(src, at), on_batch, at)
    return acc.result()


async def run_grouped(gs: GroupedStream, terminal: Terminal, at: Any, limit: int | None = None) -> GroupedData:
    """The terminal per group; at most ``limit`` groups (the array limit)."""
    accs: dict[Any, tuple[Any, Accumulator]] = {}
    step = terminal.step
    count = None if limit is None else GroupCount(limit, gs, at)

    async def add(key: Any, row: Any) -> None:
        values = (await step(row)) if step is not None else (row,)
        if not values:
            return
        h = D.hashable(key)
        entry = accs.get(h)
        if entry is None:
            if count is not None:
                count.check_new(len(accs))
            entry = accs[h] = (key, terminal.make_acc())
        for v in values:
            await entry[1].add(v)

    await feed_groups(gs, add, at)
    return GroupedData({h: (key, acc.result()) for h, (key, acc) in accs.items()})


# ---------------------------------------------------------------------------
# group / ungroup

GROUP_OF_GROUP = "Cannot call `group` on the output of `group` (did you mean to `ungroup`?)."


@term(T.GROUP)
class Group(Term):
    min_args = 1
    opt_names = frozenset({"index", "multi"})

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if grouped(src):
            raise ReqlQueryLogicError(GROUP_OF_GROUP, self.args[0])  # the grouped argument is marked
        funcs = [value_fn(await a.eval(env), a) for a in self.args[1:]]
        multi = as_bool(await self.opt_datum(env, "multi", False))
        index = await self.opt_datum(env, "index", None)
        by_index_value = False
        if index is not None:
            src, by_index_value = self.index_source(src, index, funcs)
        if not funcs and not by_index_value:
            raise ReqlQueryLogicError("Cannot group by nothing.", self)
        return GroupedStream(seq_of(src, self.args[0]), group_keys(funcs, multi, by_index_value))

    def index_source(self, src: Any, index: Any, funcs: list) -> tuple[Any, bool]:
        """Rows in index order; the index value is the last group key (the primary
        key is read from the document)."""
        table = require_table(src, self.args[0])
        index = as_str(index, self.optargs["index"])
        if index == table.primary_key:
            funcs.append(field_fn(index))
            return table.scan(typeof_name="TABLE_SLICE"), False
        scan = table.index_scan(index)
        scan.with_values = True  # type: ignore[attr-defined]
        return scan, True


def require_table(v: Any, at: Any) -> TableVal:
    if isinstance(v, TableVal):
        return v
    found = v.type_name if isinstance(v, Val) else "DATUM"
    shown = v.describe() if isinstance(v, Val) else D.print_datum(v)
    raise ReqlQueryLogicError(f"Expected type TABLE but found {found}:\n{shown}", at)


def group_keys(funcs: list, multi: bool, by_index_value: bool) -> Callable[[Any], Awaitable[tuple[list, Any]]]:
    """The group keys of a row: one value per function (a missing field groups
    under null; with ``multi`` an array puts the row in each element's group),
    plus the index value; several values make an array key."""

    async def keys_of(raw: Any) -> tuple[list, Any]:
        row = raw[1] if by_index_value else raw
        choices = []
        for fn in funcs:
            try:
                v = await fn(row)
            except ReqlNonExistenceError:
                v = None
            choices.append((v or [None]) if multi and type(v) is list else [v])
        if by_index_value:
            choices.append([raw[0]])
        if len(choices) == 1:
            return choices[0], row
        return [list(combo) for combo in itertools.product(*choices)], row

    return keys_of


@term(T.UNGROUP)
class Ungroup(Term):
    min_args = max_args = 1

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if not grouped(src):
            found = src.type_name if isinstance(src, Val) else "DATUM"
            shown = src.describe() if isinstance(src, Val) else D.print_datum(src)
            raise ReqlQueryLogicError(f"Expected type GROUPED_DATA but found {found}:\n{shown}", self.args[0])
        data = await as_grouped_data(env, src, self)
        return [{"group": k, "reduction": v} for k, v in data.items_sorted()]


# ---------------------------------------------------------------------------
# Terminals

class TerminalTerm(Term):
    """A term whose first argument is a sequence reduced to one value (per group)."""

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        check_sequence(src, self)
        return await run_terminal(env, src, await self.terminal(env), self)

    async def terminal(self, env: Env) -> Terminal:
        raise NotImplementedError


@term(T.COUNT)
class Count(TerminalTerm):
    min_args, max_args = 1, 2

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if isinstance(src, GroupedData):
            return await apply_per_group(self, env, src)  # a group's value may be a string or an object
        if len(self.args) == 1:
            if isinstance(src, TableVal):
                return await src.count()
            if isinstance(src, TableScan) and src._scan is None:
                return await count_primary_range(src)
            if type(src) in (str, bytes, dict):  # a time counts its fields too, as in RethinkDB
                return len(src)
            if isinstance(src, SingleSelection) and src.doc is not None:
                return len(src.doc)
        return await run_terminal(env, src, await self.terminal(env), self)

    async def terminal(self, env: Env) -> Terminal:
        if len(self.args) == 1:
            return Terminal(CountAcc)
        pred_val = await self.args[1].eval(env)
        if isinstance(pred_val, FuncVal):
            pred = filter_predicate(pred_val)
        else:
            value = as_datum(pred_val, self.args[1])

            async def pred(row: Any) -> bool:
                return D.eq(row, value)

        async def step(row: Any) -> list:
            return [row] if await pred(row) else []

        return Terminal(CountAcc, step)


async def count_primary_range(scan: TableScan) -> int:
    """``between(...).count()`` on the primary key counts keys without reading documents."""
    if scan._done:
        return 0
    counter = scan.table.store.count_keys(**scan.bounds.storage())
    n = 0
    try:
        while got := counter.next_chunk(65536):
            n += got
            await yield_now()
    finally:
        counter.close()
    return n


class FieldTerminal(TerminalTerm):
    """sum/avg/min/max: of the rows, or of a field / function of them, skipping
    rows where it is missing."""

    min_args, max_args = 1, 2

    async def value_step(self, env: Env) -> Step | None:
        if len(self.args) == 1:
            return None
        return skip_missing(value_fn(await self.args[1].eval(env), self.args[1]))


@term(T.SUM)
class Sum(FieldTerminal):
    async def terminal(self, env: Env) -> Terminal:
        return Terminal(lambda: SumAcc(self), await self.value_step(env))


@term(T.AVG)
class Avg(FieldTerminal):
    async def terminal(self, env: Env) -> Terminal:
        return Terminal(lambda: AvgAcc(self), await self.value_step(env))


class MinMax(FieldTerminal):
    opt_names = frozenset({"index"})
    sign = 1

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if "index" in self.optargs:
            return await self.by_index(env, src, await self.opt(env, "index"))
        if isinstance(src, TableVal) and len(self.args) == 1:
            return await self.by_index(env, src, src.primary_key)  # rows compare by primary key
        return await run_terminal(env, src, await self.terminal(env), self)

    async def terminal(self, env: Env) -> Terminal:
        step = await self.value_step(env)

        async def keyed(row: Any) -> list:
            return [(key, row) for key in await step(row)] if step is not None else [(row, row)]

        return Terminal(lambda: BestAcc(self.name, self.sign, self), keyed)

    async def by_index(self, env: Env, src: Any, index: Any) -> Any:
        """The first row of the index order (the last for max)."""
        table = require_table(src, self.args[0])
        index = as_datum(index, self.optargs.get("index"))
        index = as_str(index, self.optargs.get("index"))
        scan = table.index_scan(index, reverse=self.sign < 0)
        batch = await scan.next_batch()
        scan.close()
        if not batch:
            raise empty_error(self.name, self.name, self)
        return batch[0]


@term(T.MIN)
class Min(MinMax):
    sign = 1


@term(T.MAX)
class Max(MinMax):
    sign = -1


@term(T.REDUCE)
class Reduce(TerminalTerm):
    min_args = max_args = 2

    async def terminal(self, env: Env) -> Terminal:
        f = func_of(await self.args[1].eval(env), self.args[1])
        return Terminal(lambda: ReduceAcc(f, self))


@term(T.FOLD)
class Fold(Term):
    min_args = max_args = 3
    opt_names = frozenset({"emit", "final_emit"})

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        check_sequence(src, self)
        base = await self.arg_datum(env, 1)
        f = func_of(await self.args[2].eval(env), self.args[2])
        if f.arity not in (0, 2):
            raise ReqlQueryLogicError("The accumulator function passed to `fold` should expect 2 arguments.", self)
        emit = await self.opt(env, "emit", None)
        final_emit = await self.opt(env, "final_emit", None)
        if emit is None:
            if final_emit is not None:
                raise ReqlQueryLogicError("`final_emit` can only be used together with `emit`.", self)
            return await run_terminal(env, src, Terminal(lambda: FoldAcc(base, f, self)), self)
        if grouped(src):
            return await apply_per_group(self, env, src)
        return await self.emitting(env, seq_of(src, self.args[0]), base, f, emit, final_emit)

    async def emitting(self, env: Env, src: Any, base: Any, f: FuncVal, emit: Any, final_emit: Any) -> Any:
        emit_f = func_of(emit, self.optargs["emit"])
        final_f = func_of(final_emit, self.optargs["final_emit"]) if final_emit is not None else None

        async def step(acc: Any, row: Any) -> Any:
            return as_datum(await f(acc, row), self.args[2])

        async def emit_rows(old: Any, row: Any, new: Any) -> list:
            return as_array(as_datum(await emit_f(old, row, new), self.optargs["emit"]), self)

        async def final_rows(acc: Any) -> list:
            assert final_f is not None
            return as_array(as_datum(await final_f(acc), self.optargs["final_emit"]), self)

        rows = ArrayStream(src) if type(src) is list else src
        stream = FoldStream(rows, base, step, emit_rows, final_rows if final_f else None)
        if eager_items(src) is not None:
            return await to_list(env, stream, self)
        return stream


def distinct_rows_of_table(src: Any) -> Stream | None:
    """A table's rows are distinct already: RethinkDB streams a table, or a
    slice of it on its primary key, in primary key order (the slice's own
    order if it has one), with no array limit.  None for other sequences."""
    if isinstance(src, TableVal) and not src.computed_rows:
        src = src.index_scan(src.primary_key)
    if isinstance(src, TableSlice) and src.index == src.table.primary_key:
        return BatchMapStream(src, same_rows)  # a plain STREAM, no longer a selection, as in RethinkDB
    return None


async def same_rows(rows: list) -> list:
    return rows


@term(T.DISTINCT)
class Distinct(Term):
    min_args = max_args = 1
    opt_names = frozenset({"index"})

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if "index" in self.optargs:
            return await self.by_index(env, src)
        rows = distinct_rows_of_table(src)
        if rows is not None:
            return rows
        result = await run_terminal(env, src, Terminal(DistinctAcc), self)
        if type(result) is list:
            check_array_limit(env, result, self)
        return result  # an array, as RethinkDB makes of any other sequence

    async def by_index(self, env: Env, src: Any) -> Any:
        if not isinstance(src, (TableVal, TableSlice)):  # refused before the index name is read
            raise ReqlQueryLogicError("Can only perform an indexed distinct on a TABLE.", self)
        index = as_datum(await self.opt(env, "index"), self.optargs["index"])
        index = as_str(index, self.optargs["index"])
        if isinstance(src, TableVal):
            return distinct_index_values(src.index_scan(index), index)
        if isinstance(src, TableSlice):
            if src.index == index:
                scan = src.table.index_scan(index, src.bounds)
                return distinct_index_values(scan, index)
        return ArrayStream(await distinct_computed(env, src, index, self))


def distinct_index_values(scan: Stream, index: str) -> Stream:
    """The distinct values of an index, in index order, read lazily."""
    table = scan.table
    pk = table.primary_key
    if index == pk:
        return MapStream(scan, _field_of(pk))
    scan.with_values = True  # type: ignore[attr-defined]
    last: list = []

    async def pick(batch: list) -> list:
        out = []
        for value, _ in batch:
            if not last or D.cmp(last[0], value) != 0:
                last[:] = [value]
                out.append(value)
        return out

    return BatchMapStream(scan, pick)


def _field_of(name: str) -> Callable[[Any], Awaitable[Any]]:
    async def pick(doc: Any) -> Any:
        return doc[name]

    return pick


async def distinct_computed(env: Env, src: Stream, index: str, at: Any) -> list:
    """Distinct index values of the rows of a slice taken on another index."""
    table = src.table
    fn = None
    if index != table.primary_key:
        fn = table.index_function(table.check_index_usable(index))
    acc = DistinctAcc()
    for doc in await to_list(env, src, at):
        for v in ([doc[index]] if fn is None else fn(doc)):
            await acc.add(v)
    return acc.result()
