"""Object terms: pluck, without, merge, has_fields, with_fields (on objects and on
every object of a sequence), keys, values and literal."""

from __future__ import annotations

from typing import Any

from ... import datum as D
from ...datum.errors import ReqlQueryLogicError
from ...datum.ql2 import TermType as T
from ..seq import eager_items, grouped, not_an_object, rewrap_rows, seq_of
from ..stream import BatchMapStream, Stream
from ..term import Env, Term, as_datum, term
from ..values import FuncVal, GroupedStream, SingleSelection
from . import objects_core as O
from .aggregation import apply_per_group


class ObjectOrSeqTerm(Term):
    """Applies ``on_object`` to an object, or to every object of a sequence (lazily
    on streams, as a per-row step on the output of ``group``)."""

    min_args = 1

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if grouped(src) and not isinstance(src, GroupedStream):
            return await apply_per_group(self, env, src)
        params = [await self.param(env, i) for i in range(1, len(self.args))]
        if isinstance(src, (Stream, GroupedStream)) or type(src) is list:
            return await self.on_seq(env, src, params)
        obj = src.doc if isinstance(src, SingleSelection) else as_datum(src, self.args[0])
        if not O.is_plain_object(obj):
            raise not_an_object(self.error_name, obj, self.args[0])
        return await self.on_object(env, obj, params)

    @property
    def error_name(self) -> str:
        """The term named in type errors."""
        return self.name

    async def param(self, env: Env, i: int) -> Any:
        return await self.arg_datum(env, i)

    async def row_result(self, env: Env, row: Any, params: list) -> list:
        """What a row of a sequence becomes: ``[value]`` (or ``[]`` to drop it)."""
        return [await self.on_object(env, self.element(row), params)]

    def element(self, row: Any) -> dict:
        if type(row) is list:
            raise ReqlQueryLogicError(f"Cannot perform {self.error_name} on a sequence of sequences.", self)
        if not O.is_plain_object(row):
            raise not_an_object(self.error_name, row, self)
        return row

    async def on_seq(self, env: Env, src: Any, params: list) -> Any:
        async def step(row: Any) -> list:
            return await self.row_result(env, row, params)

        if isinstance(src, GroupedStream):
            return src.with_step(step)
        items = eager_items(src)
        if items is not None:
            out: list = []
            for row in items:
                out.extend(await step(row))
            return rewrap_rows(src, out) if self.keeps_rows else out

        async def each(batch: list) -> list:
            out: list = []
            for row in batch:
                out.extend(await step(row))
            return out

        stream = BatchMapStream(src, each)
        if self.keeps_rows and src.table is not None:
            stream.table, stream.type_name, stream.typeof_name = src.table, "SELECTION", "SELECTION<STREAM>"
        return stream

    keeps_rows = False  # rows pass unchanged (a filter): a selection stays a selection

    async def on_object(self, env: Env, obj: dict, params: list) -> Any:
        raise NotImplementedError


@term(T.PLUCK)
class Pluck(ObjectOrSeqTerm):
    async def on_object(self, env: Env, obj: dict, params: list) -> Any:
        return O.pluck(obj, params)


@term(T.WITHOUT)
class Without(ObjectOrSeqTerm):
    async def on_object(self, env: Env, obj: dict, params: list) -> Any:
        return O.without(obj, params)


@term(T.MERGE)
class Merge(ObjectOrSeqTerm):
    async def param(self, env: Env, i: int) -> Any:
        v = await self.args[i].eval(env)
        if isinstance(v, FuncVal):
            return v
        return self.mergeable(as_datum(v, self.args[i]), self.args[i])

    async def on_object(self, env: Env, obj: dict, params: list) -> Any:
        acc: Any = obj
        for p, at in zip(params, self.args[1:]):
            if isinstance(p, FuncVal):
                p = self.mergeable(as_datum(await p(acc)), at)
            acc = O.merge_docs(acc, p)
        return acc

    @staticmethod
    def mergeable(v: Any, at: Term) -> Any:
        """A pseudo-type cannot be merged into an object (r.literal can)."""
        if type(v) is dict and D.REQL_TYPE in v and not O.is_literal(v):
            raise ReqlQueryLogicError(f"Cannot merge objects of type `{D.type_name(v)}`.", at)
        return v


@term(T.HAS_FIELDS)
class HasFields(ObjectOrSeqTerm):
    keeps_rows = True

    async def row_result(self, env: Env, row: Any, params: list) -> list:
        if row is None:
            return []  # a missing value has no fields
        return [row] if O.has_fields(self.element(row), params) else []

    async def on_object(self, env: Env, obj: dict, params: list) -> Any:
        return O.has_fields(obj, params)


@term(T.WITH_FIELDS)
class WithFields(ObjectOrSeqTerm):
    """Rows having every field, plucked to those fields (sequences only).
    RethinkDB runs it as has_fields, and its errors say so."""

    error_name = "has_fields"  # type: ignore[assignment]

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if isinstance(src, SingleSelection) or (type(src) is not list and not isinstance(src, (Stream, GroupedStream))):
            if not grouped(src):
                value = src.doc if isinstance(src, SingleSelection) else as_datum(src, self.args[0])
                if not O.is_plain_object(value):
                    raise not_an_object(self.error_name, value, self.args[0])
                seq_of(value, self.args[0])  # raises: with_fields takes a sequence
        return await super().eval(env)

    async def row_result(self, env: Env, row: Any, params: list) -> list:
        obj = self.element(row)
        return [O.pluck(obj, params)] if O.has_fields(obj, params) else []

    async def on_object(self, env: Env, obj: dict, params: list) -> Any:
        return O.pluck(obj, params)


class ObjectTerm(Term):
    """A term taking one object (per group on grouped data)."""

    min_args = max_args = 1

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if grouped(src):
            return await apply_per_group(self, env, src)
        obj = src.doc if isinstance(src, SingleSelection) else as_datum(src, self.args[0])
        if not O.is_plain_object(obj):
            raise ReqlQueryLogicError(f"Cannot call `{self.name}` on objects of type `{D.type_name(obj)}`.", self.args[0])
        return self.on_object(obj)

    def on_object(self, obj: dict) -> Any:
        raise NotImplementedError


@term(T.KEYS)
class Keys(ObjectTerm):
    def on_object(self, obj: dict) -> Any:
        return sorted(obj)


@term(T.VALUES)
class Values(ObjectTerm):
    def on_object(self, obj: dict) -> Any:
        return [obj[k] for k in sorted(obj)]


# Terms whose argument (at these positions) may hold r.literal.
LITERAL_HOSTS = {T.MERGE: None, T.UPDATE: 1, T.FILTER: 1}


def literal_allowed(t: Term) -> bool:
    """r.literal is legal inside the objects given to merge, update or filter,
    and in functions returning them for merge and update; nowhere else."""
    node, parent = t, t.parent
    in_function = False
    while parent is not None and (
        parent.tt in (T.MAKE_OBJ, T.FUNC, T.ARGS)
        or (parent.tt == T.MAKE_ARRAY and parent.parent is not None and parent.parent.tt == T.ARGS)
    ):
        in_function = in_function or parent.tt == T.FUNC
        node, parent = parent, parent.parent
    if parent is None or parent.tt not in LITERAL_HOSTS or (in_function and parent.tt == T.FILTER):
        return False
    position = LITERAL_HOSTS[parent.tt]
    return node.frame == position if position is not None else node.frame != 0


@term(T.LITERAL)
class Literal(Term):
    min_args, max_args = 0, 1

    async def eval(self, env: Env) -> Any:
        if not literal_allowed(self):
            raise ReqlQueryLogicError(O.STRAY_LITERAL, self)
        if not self.args:
            return {D.REQL_TYPE: O.LITERAL}
        return {D.REQL_TYPE: O.LITERAL, "value": O.strip_literals(await self.arg_datum(env, 0))}
