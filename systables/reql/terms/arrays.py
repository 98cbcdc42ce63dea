"""Array terms: append, prepend, insert_at, splice_at, delete_at, change_at,
difference and the set operations (set_insert, set_union, set_intersection,
set_difference).  Each takes a datum array (per group on grouped data) and
returns a new one within the array limit.

As in RethinkDB, these work on datums: a wrong type, in any argument, is the
term's error (the backtrace marks the whole term, not the argument)."""

from __future__ import annotations

from typing import Any

from ... import datum as D
from ...datum.errors import ReqlNonExistenceError, ReqlQueryLogicError
from ...datum.ql2 import TermType as T
from ..seq import check_array_limit, grouped, to_list
from ..stream import SelectionArray, Stream
from ..term import Env, Term, as_array, as_datum, as_int, term
from ..values import SingleSelection
from .aggregation import apply_per_group


class ArrayTerm(Term):
    """A term whose first argument is an array."""

    min_args = max_args = 2

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if grouped(src):
            return await apply_per_group(self, env, src)
        arr = await self.array_of(env, src)
        return check_array_limit(env, await self.on_array(env, arr), self)

    async def array_of(self, env: Env, src: Any) -> list:
        if isinstance(src, SingleSelection):
            src = src.doc
        elif isinstance(src, Stream) and src.is_array_like() and not isinstance(src, SelectionArray):
            return await to_list(env, src, self.args[0])
        return as_array(as_datum(src, self.args[0]), self)

    async def on_array(self, env: Env, arr: list) -> list:
        raise NotImplementedError

    async def index_arg(self, env: Env, i: int) -> int:
        return as_int(await self.arg_datum(env, i), self)


def canonical(index: int, size: int, at: Any) -> int:
    """A negative index counts from the end; too negative is out of bounds."""
    if index >= 0:
        return index
    if index >= -size:
        return index + size
    raise ReqlNonExistenceError(f"Index out of bounds: {index}", at)


def check_index(index: int, limit: int, size: int, at: Any) -> None:
    if index > limit:
        raise ReqlNonExistenceError(f"Index `{index}` out of bounds for array of size: `{size}`.", at)


@term(T.APPEND)
class Append(ArrayTerm):
    async def on_array(self, env: Env, arr: list) -> list:
        return arr + [await self.arg_datum(env, 1)]


@term(T.PREPEND)
class Prepend(ArrayTerm):
    async def on_array(self, env: Env, arr: list) -> list:
        return [await self.arg_datum(env, 1)] + arr


@term(T.INSERT_AT)
class InsertAt(ArrayTerm):
    min_args = max_args = 3

    async def on_array(self, env: Env, arr: list) -> list:
        index = canonical(await self.index_arg(env, 1), len(arr) + 1, self)
        value = await self.arg_datum(env, 2)
        check_index(index, len(arr), len(arr), self)
        return arr[:index] + [value] + arr[index:]


@term(T.SPLICE_AT)
class SpliceAt(ArrayTerm):
    min_args = max_args = 3

    async def on_array(self, env: Env, arr: list) -> list:
        index = canonical(await self.index_arg(env, 1), len(arr) + 1, self)
        values = as_array(await self.arg_datum(env, 2), self)
        check_index(index, len(arr), len(arr), self)
        return arr[:index] + values + arr[index:]


@term(T.DELETE_AT)
class DeleteAt(ArrayTerm):
    min_args, max_args = 2, 3

    async def on_array(self, env: Env, arr: list) -> list:
        size = len(arr)
        start = canonical(await self.index_arg(env, 1), size, self)
        if len(self.args) == 2:
            check_index(start, size - 1, size, self)
            return arr[:start] + arr[start + 1:]
        end = canonical(await self.index_arg(env, 2), size, self)
        check_index(start, size, size, self)
        check_index(end, size, size, self)
        if start > end:
            raise ReqlQueryLogicError(f"Start index `{start}` is greater than end index `{end}`.", self)
        return arr[:start] + arr[end:]


@term(T.CHANGE_AT)
class ChangeAt(ArrayTerm):
    min_args = max_args = 3

    async def on_array(self, env: Env, arr: list) -> list:
        index = canonical(await self.index_arg(env, 1), len(arr), self)
        value = await self.arg_datum(env, 2)
        check_index(index, len(arr) - 1, len(arr), self)
        out = list(arr)
        out[index] = value
        return out


class SetTerm(ArrayTerm):
    """Set operations: the first array without its duplicates (first occurrences
    kept in order), combined with the second argument."""

    async def on_array(self, env: Env, arr: list) -> list:
        seen: dict = {}
        for x in arr:
            seen.setdefault(D.hashable(x), x)
        return self.combine(seen, await self.other(env))

    async def other(self, env: Env) -> list:
        return await self.array_of(env, await self.args[1].eval(env))

    def combine(self, seen: dict, other: list) -> list:
        raise NotImplementedError


@term(T.SET_INSERT)
class SetInsert(SetTerm):
    async def other(self, env: Env) -> list:
        return [await self.arg_datum(env, 1)]

    def combine(self, seen: dict, other: list) -> list:
        return set_union(seen, other)


def set_union(seen: dict, other: list) -> list:
    out = dict(seen)
    for x in other:
        out.setdefault(D.hashable(x), x)
    return list(out.values())


@term(T.SET_UNION)
class SetUnion(SetTerm):
    def combine(self, seen: dict, other: list) -> list:
        return set_union(seen, other)


@term(T.SET_INTERSECTION)
class SetIntersection(SetTerm):
    def combine(self, seen: dict, other: list) -> list:
        keep = {D.hashable(x) for x in other}
        return [x for h, x in seen.items() if h in keep]


@term(T.SET_DIFFERENCE)
class SetDifference(SetTerm):
    def combine(self, seen: dict, other: list) -> list:
        drop = {D.hashable(x) for x in other}
        return [x for h, x in seen.items() if h not in drop]


@term(T.DIFFERENCE)
class Difference(ArrayTerm):
    """The first array without any element equal to one of the second (duplicates stay)."""

    async def array_of(self, env: Env, src: Any) -> list:
        if isinstance(src, Stream):
            return await to_list(env, src, self.args[0])  # e.g. tbl.map(...).difference([...])
        value = as_datum(src.doc if isinstance(src, SingleSelection) else src, self.args[0])
        if type(value) is not list:
            raise ReqlQueryLogicError(f"Cannot convert {D.type_name(value)} to SEQUENCE", self)
        return value

    async def on_array(self, env: Env, arr: list) -> list:
        drop = {D.hashable(x) for x in await self.array_of(env, await self.args[1].eval(env))}
        return [x for x in arr if D.hashable(x) not in drop]
