"""Helpers shared by sequence terms: coercing values to sequences and functions,
materialising with the array limit, filter predicates and RethinkDB's ordering
of sort keys."""

from __future__ import annotations

import heapq
from typing import Any, Awaitable, Callable

from .. import datum as D
from ..datum.errors import (
    ReqlNonExistenceError,
    ReqlQueryLogicError,
    array_over_limit,
)
from ..datum.ql2 import TermType
from ..timeslice import release, tick
from .stream import ArrayStream, SelectionArray, Stream, collect
from .term import Env, as_bool, as_datum, as_func
from .terms.objects_core import get_field, is_literal
from .values import FuncVal, GroupedData, GroupedStream, SingleSelection, Val

RowFn = Callable[[Any], Awaitable[Any]]


def typed_error(value: Any, message: str, at: Any = None) -> ReqlQueryLogicError:
    """An error about ``value``: a missing value (NON_EXISTENCE, so ``default``
    catches it) when the value is null, a logic error otherwise."""
    return (ReqlNonExistenceError if value is None else ReqlQueryLogicError)(message, at)


def not_an_object(term_name: str, value: Any, at: Any = None) -> ReqlQueryLogicError:
    """``term_name`` met a value that is not an object; a pseudo-type (a time, a
    geometry) is an object that object terms may not look into."""
    if is_pseudo_type(value):
        return opaque_pseudo_type(term_name, value, at)
    return typed_error(value, f"Cannot perform {term_name} on a non-object non-sequence `{D.print_json(value)}`.", at)


def is_pseudo_type(value: Any) -> bool:
    return type(value) is dict and D.REQL_TYPE in value


def opaque_pseudo_type(term_name: str, value: Any, at: Any = None) -> ReqlQueryLogicError:
    return ReqlQueryLogicError(f"Cannot call `{term_name}` on objects of type `{D.type_name(value)}`.", at)


def seq_of(v: Any, at: Any = None) -> list | Stream:
    """A sequence value: a datum array (eager) or a stream (lazy).

    A value that is not a sequence at all is ``at``'s error; a datum that is not
    an array is the error of the term being evaluated (RethinkDB converts datums
    at the datum level, so the backtrace marks the term, not its argument)."""
    if type(v) is list or isinstance(v, Stream):
        return v
    if isinstance(v, Val):
        if isinstance(v, SingleSelection):
            raise ReqlQueryLogicError(f"Cannot convert {D.type_name(v.doc)} to SEQUENCE")
        raise ReqlQueryLogicError(f"Expected type SEQUENCE but found {v.type_name}:\n{v.describe()}", at)
    raise ReqlQueryLogicError(f"Cannot convert {D.type_name(v)} to SEQUENCE")


def check_sequence(src: Any, at: Any) -> None:
    """RethinkDB reads a term's sequence before its other arguments: a value that
    is not one is reported first (grouped data is run per group)."""
    if not grouped(src):
        seq_of(src, at)


def eager_items(src: Any) -> list | None:
    """The rows of an in-memory sequence (a datum array or a selection array), else None."""
    if type(src) is list:
        return src
    if isinstance(src, ArrayStream):
        return src.items[src.pos:]
    return None


def rewrap_rows(src: Any, rows: list) -> Any:
    """Rows taken from an in-memory sequence: a selection array stays one."""
    if isinstance(src, SelectionArray):
        return SelectionArray(rows, src.table)
    return rows


def as_stream(v: list | Stream) -> Stream:
    return ArrayStream(v) if type(v) is list else v  # type: ignore[return-value]


async def to_list(env: Env, v: list | Stream, at: Any = None) -> list:
    if type(v) is list:
        return v  # type: ignore[return-value]
    return await collect(v, env.ctx.array_limit, at)  # type: ignore[arg-type]


def check_array_limit(env: Env, items: list, at: Any = None) -> list:
    if len(items) > env.ctx.array_limit:
        raise array_over_limit(env.ctx.array_limit, at)
    return items


def keep_selection(src: Any, rows: list) -> Any:
    """Materialised rows of a selection stay a selection (updatable)."""
    if isinstance(src, Stream) and src.table is not None:
        return SelectionArray(rows, src.table)
    return rows


def func_of(v: Any, at: Any = None) -> FuncVal:
    return as_func(v, at)


def row_fn(f: FuncVal) -> RowFn:
    async def call(row: Any) -> Any:
        return as_datum(await f(row))

    many = getattr(f, "map_rows", None)
    if many is not None:
        call.many = many  # type: ignore[attr-defined]  # a whole batch in one call (r.js)
    call.deterministic = f.deterministic  # type: ignore[attr-defined]  # changefeeds ask
    return call


def field_fn(name: str, at: Any = None) -> RowFn:
    """The ``r.row(name)`` shortcut some terms accept instead of a function;
    its errors are those of the argument naming the field (``at``)."""
    async def call(row: Any) -> Any:
        await tick()
        try:
            return get_field(row, name)
        except ReqlQueryLogicError as e:
            raise e.at(at)

    return call


def value_fn(v: Any, at: Any = None) -> RowFn:
    """A function, or the field-name shortcut (group, sum, eq_join...).  Any other
    datum is a field name of the wrong type: each row fails (a missing field when
    it is null, so ``group(null)`` puts every row in the null group)."""
    if isinstance(v, FuncVal):
        return row_fn(v)
    v = as_datum(v, at)
    if type(v) is str:
        return field_fn(v, at)
    error = ReqlNonExistenceError if v is None else ReqlQueryLogicError
    message = f"Expected type STRING but found {D.type_name(v)}."

    async def bad_field(row: Any) -> Any:
        raise error(message, at)

    return bad_field


def skip_missing(fn: RowFn) -> Callable[[Any], Awaitable[list]]:
    """``fn`` as a step that drops rows where it hits a missing field (sum, avg, min, max)."""

    async def step(row: Any) -> list:
        try:
            return [await fn(row)]
        except ReqlNonExistenceError:
            return []

    return step


# -- filter ---------------------------------------------------------------

EMPTY_ERROR = "Empty ERROR term outside a default block."


def filter_predicate(v: Any, on_missing: Callable[[ReqlNonExistenceError], Awaitable[bool]] | None = None) -> RowFn:
    """filter's predicate: a function or a value.  An object is matched against the
    row when it is the value itself or literally the function's body; any other
    object result is just truthy (as RethinkDB's ``filter_call``).  Where a field is
    missing the row fails, unless ``on_missing`` (filter's ``default``) decides."""
    f = v if isinstance(v, FuncVal) else None
    const = None if f is not None else as_datum(v)
    match_objects = f is None or body_is_literal_object(f)

    async def base(row: Any) -> bool:
        result = as_datum(await f(row)) if f is not None else const
        if match_objects and type(result) is dict:
            return filter_match(result, row)
        return as_bool(result)

    async def predicate(row: Any) -> bool:
        try:
            return await base(row)
        except ReqlNonExistenceError as e:
            return await on_missing(e) if on_missing is not None else False

    predicate.deterministic = f is None or f.deterministic  # type: ignore[attr-defined]  # changefeeds ask
    return predicate


def body_is_literal_object(f: FuncVal) -> bool:
    """Whether a function's body is an object literal (MAKE_OBJ, or a datum)."""
    func = f.term
    if func is None or len(func.args) < 2:
        return False
    return func.args[1].tt in (TermType.MAKE_OBJ, TermType.DATUM)


def filter_match(pattern: Any, value: Any) -> bool:
    """An object returned by a filter predicate matches when every field is present
    and matches (recursively); ``r.literal`` asks for plain equality."""
    if is_literal(pattern):
        return D.eq(pattern.get("value"), value)
    if type(pattern) is dict and D.REQL_TYPE not in pattern:
        if type(value) is not dict:
            raise typed_error(value, f"Expected type OBJECT but found {D.type_name(value)}.")
        for k, sub in pattern.items():
            if k not in value:
                raise ReqlNonExistenceError(f"No attribute `{k}` in object.")
            if not filter_match(sub, value[k]):
                return False
        return True
    return D.eq(pattern, value)


# -- ordering -------------------------------------------------------------

class _MissingKey:
    def __repr__(self) -> str:
        return "MISSING_KEY"


MISSING_KEY: Any = _MissingKey()  # a sort key whose field is absent: before every value


def compare_keys(a: list, b: list, descending: list[bool]) -> int:
    """order_by's comparison of key lists; a missing key sorts first (last if descending)."""
    for x, y, desc in zip(a, b, descending):
        if x is MISSING_KEY:
            if y is MISSING_KEY:
                continue
            c = -1
        elif y is MISSING_KEY:
            c = 1
        else:
            c = D.cmp(x, y)
        if c:
            return -c if desc else c
    return 0


def key_or_missing(fn: RowFn) -> RowFn:
    async def key(row: Any) -> Any:
        try:
            return await fn(row)
        except ReqlNonExistenceError:
            return MISSING_KEY

    return key


def sort_key(v: Any) -> tuple:
    """``datum.sort_key``, with a missing key sorting before everything."""
    return ("",) if v is MISSING_KEY else D.sort_key(v)


SORT_RUN = 2048  # rows sorted by one call of ``sorted`` (well within a time slice)
MERGE_STEP = 256  # rows merged between two ticks


async def sort_rows(rows: list, keys: list[RowFn], descending: list[bool]) -> list:
    """Stable sort of ``rows`` by the key functions (RethinkDB's order; a missing
    key first, or last when descending).

    RethinkDB computes keys as its sort compares rows, so a single row needs no
    key and the first rows compared are the second and the first: keys are
    computed in that order, so that a failing key fails on the same row."""
    if len(rows) < 2:
        return list(rows)
    decorated: list = [None] * len(rows)
    for i in (1, 0, *range(2, len(rows))):
        await tick()
        decorated[i] = ([sort_key(await k(rows[i])) for k in keys], rows[i])
    for i in range(len(keys) - 1, -1, -1):
        decorated = await stable_sort(decorated, lambda kr, i=i: kr[0][i], descending[i])
    out = []
    for start in range(0, len(decorated), MERGE_STEP):
        await tick()
        out.extend(row for _, row in decorated[start : start + MERGE_STEP])
    await release(decorated)
    return out


async def stable_sort(items: list, key: Callable[[Any], Any], reverse: bool) -> list:
    """``sorted(items, key=key, reverse=reverse)``, yielding as it goes: runs of
    SORT_RUN items are sorted in one call each, then merged (``heapq.merge``
    is stable: on ties the earlier run comes first)."""
    if len(items) <= SORT_RUN:
        return sorted(items, key=key, reverse=reverse)
    runs = []
    for start in range(0, len(items), SORT_RUN):
        await tick()
        runs.append(sorted(items[start : start + SORT_RUN], key=key, reverse=reverse))
    out = []
    for n, item in enumerate(heapq.merge(*runs, key=key, reverse=reverse)):
        if n % MERGE_STEP == 0:
            await tick()
        out.append(item)
    for run in runs:
        await release(run)
    return out


def grouped(v: Any) -> bool:
    return isinstance(v, (GroupedData, GroupedStream))
