"""Object terms: pluck, without, merge, has_fields (on objects and sequences)."""

from __future__ import annotations

from typing import Any

from .. import datum as D
from ..errors import ReqlQueryLogicError
from ..ql2 import TermType as T
from ..seq import seq_of
from ..stream import FilterStream, MapStream, Stream
from ..term import Env, Term, as_datum, term
from ..values import FuncVal, GroupedStream, SingleSelection, Val
from . import objects_core as O


class ObjectOrSeqTerm(Term):
    """Applies ``on_object`` to an object, or to every object of a sequence."""

    min_args = 1

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if isinstance(src, GroupedStream):
            from .aggregation import apply_per_group

            return await apply_per_group(self, env, src)
        params = [await self.param(env, i) for i in range(1, len(self.args))]
        if isinstance(src, Stream) or type(src) is list:
            return await self.on_seq(env, src, params)
        obj = src.doc if isinstance(src, SingleSelection) else as_datum(src, self.args[0])
        return await self.on_object(env, obj, params, self.args[0])

    async def param(self, env: Env, i: int) -> Any:
        return await self.arg_datum(env, i)

    async def on_seq(self, env: Env, src: Any, params: list) -> Any:
        async def each(row: Any) -> Any:
            return await self.on_object(env, row, params, self.args[0])

        if type(src) is list:
            return [await each(row) for row in src]
        return MapStream(src, each)

    async def on_object(self, env: Env, obj: Any, params: list, at: Any) -> Any:
        raise NotImplementedError


def require_object(obj: Any, at: Any) -> dict:
    if type(obj) is not dict:
        raise ReqlQueryLogicError(f"Expected type OBJECT but found {D.type_name(obj)}.", at)
    return obj


@term(T.PLUCK)
class Pluck(ObjectOrSeqTerm):
    async def on_object(self, env: Env, obj: Any, params: list, at: Any) -> Any:
        return O.pluck(require_object(obj, at), params)


@term(T.WITHOUT)
class Without(ObjectOrSeqTerm):
    async def on_object(self, env: Env, obj: Any, params: list, at: Any) -> Any:
        return O.without(require_object(obj, at), params)


@term(T.MERGE)
class Merge(ObjectOrSeqTerm):
    async def param(self, env: Env, i: int) -> Any:
        v = await self.args[i].eval(env)
        return v if isinstance(v, FuncVal) else as_datum(v, self.args[i])

    async def on_object(self, env: Env, obj: Any, params: list, at: Any) -> Any:
        acc = obj
        for p in params:
            if isinstance(p, FuncVal):
                p = as_datum(await p(acc))
            acc = O.merge_docs(acc, p)
        return O.strip_literals(acc)


@term(T.HAS_FIELDS)
class HasFields(ObjectOrSeqTerm):
    async def on_seq(self, env: Env, src: Any, params: list) -> Any:
        async def keep(row: Any) -> bool:
            return O.has_fields(row, params)

        if type(src) is list:
            return [row for row in src if await keep(row)]
        return FilterStream(src, keep)

    async def on_object(self, env: Env, obj: Any, params: list, at: Any) -> Any:
        return O.has_fields(require_object(obj, at), params)


@term(T.LITERAL)
class Literal(Term):
    min_args, max_args = 0, 1

    async def eval(self, env: Env) -> Any:
        if not self.args:
            return {D.REQL_TYPE: O.LITERAL}
        return {D.REQL_TYPE: O.LITERAL, "value": await self.arg_datum(env, 0)}
