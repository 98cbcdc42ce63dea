"""Datums, literals, variables, functions and control flow."""

from __future__ import annotations

import uuid as _uuid
from typing import Any

from ... import datum as D
from ...datum.errors import (
    ReqlCompileError,
    ReqlError,
    ReqlNonExistenceError,
    ReqlQueryLogicError,
    ReqlUserError,
    array_over_limit,
)
from ...datum.ql2 import TermType as T
from ...timeslice import tick
from ..groups import map_groups
from ..stream import ArrayStream, RangeStream, SelectionArray
from ..term import (
    Env,
    Term,
    as_bool,
    as_datum,
    check_arity,
    check_pseudo,
    plural,
    term,
)
from ..values import FuncVal, GroupedData, GroupedStream, Ordering, SingleSelection, Val


class DatumOp(Term):
    """A term computed from its first argument's value.

    Like RethinkDB's op terms, it maps itself over grouped data in its first
    argument (a grouped stream is first gathered into arrays), so that
    ``group(...).count().add(1)`` gives one result per group.
    """

    min_args = 1

    async def eval(self, env: Env) -> Any:
        first = await self.args[0].eval(env)
        await tick()  # a chain of 100,000 terms takes a while without a loop over data
        if isinstance(first, (GroupedData, GroupedStream)):
            return await map_groups(env, first, lambda value: self.apply(env, value), self)
        return await self.apply(env, first)

    async def apply(self, env: Env, first: Any) -> Any:
        raise NotImplementedError


def datum_value(v: Any, at: Any = None) -> Any:
    """A value as a datum: selections give their documents, in-memory selections their rows."""
    if isinstance(v, ArrayStream) and not isinstance(v, SelectionArray):
        return v.items[v.pos:]
    return as_datum(v, at)


@term(T.DATUM)
class Datum(Term):
    __slots__ = ("value",)

    async def eval(self, env: Env) -> Any:
        return self.value

    def check(self) -> None:
        pass


class StaticDatum(Datum):
    """A folded literal holding arrays: MAKE_ARRAY's size limit applies at run time."""

    __slots__ = ("longest_array",)

    async def eval(self, env: Env) -> Any:
        if self.longest_array > env.ctx.array_limit:
            raise array_over_limit(env.ctx.array_limit, self)
        return self.value


@term(T.MAKE_ARRAY)
class MakeArray(Term):
    async def eval(self, env: Env) -> Any:
        if len(self.args) > env.ctx.array_limit:
            raise array_over_limit(env.ctx.array_limit, self)
        out = []
        for a in self.args:
            await tick()
            out.append(as_datum(await a.eval(env), a))
        return out


@term(T.MAKE_OBJ)
class MakeObject(Term):
    """An object literal: ``{k: term}`` (optargs hold the fields)."""

    def check(self) -> None:
        if self.args:
            raise ReqlCompileError("MAKE_OBJ term must not have any args.", self)

    async def eval(self, env: Env) -> Any:
        obj = {k: as_datum(await v.eval(env), v) for k, v in self.optargs.items()}
        return check_pseudo(obj) if D.REQL_TYPE in obj else obj


@term(T.ARGS)
class Args(Term):
    min_args = max_args = 1

    async def eval(self, env: Env) -> Any:
        """Where no term's arguments take it apart (the query itself, an optarg,
        an object field), ``r.args(array)`` is just that array."""
        arr = as_datum(await self.args[0].eval(env), self.args[0])
        if type(arr) is not list:
            raise ReqlQueryLogicError(f"Expected type ARRAY but found {D.type_name(arr)}.", self)
        return arr


class Spliced(Term):
    """A term with ``r.args`` among its arguments: arity is known only at run time.

    Only the ``r.args`` arrays are evaluated up front; the other arguments stay
    lazy, as in RethinkDB (``r.branch(r.args([true, 1]), r.error())`` is 1).
    """

    __slots__ = ("inner",)

    def is_deterministic(self, across_queries: bool = False) -> bool:
        return self.inner.is_deterministic(across_queries)

    async def eval(self, env: Env) -> Any:
        inner = self.inner
        if inner.tt == T.ORDER_BY:  # RethinkDB's own limit (union takes r.args)
            raise ReqlQueryLogicError("r.args is not supported in an order_by or union command yet.", self)
        inner.parent, inner.frame = self.parent, self.frame
        args: list[Term] = []
        for a in inner.args:
            if isinstance(a, Args):
                args.extend(await self._expand(env, a))
            else:
                args.append(a)
        try:
            check_arity(len(args), inner.min_args, inner.max_args)
        except ReqlCompileError as e:
            raise ReqlQueryLogicError(e.message, self)
        node = inner.__class__.__new__(inner.__class__)
        Term.__init__(node, args, inner.optargs)
        node.parent, node.frame = self.parent, self.frame
        if hasattr(node, "setup"):
            node.setup(None)
        return await node.eval(env)

    async def _expand(self, env: Env, a: Term) -> list["Const"]:
        arr = as_datum(await a.args[0].eval(env), a)
        if type(arr) is not list:
            raise ReqlQueryLogicError(f"Expected type ARRAY but found {D.type_name(arr)}.", a)
        det = a.is_deterministic(across_queries=True)
        out = []
        for v in arr:
            c = Const([], {})
            c.value, c.det = v, det
            c.parent, c.frame = a, 0
            out.append(c)
        return out


class Const(Term):
    """An already-evaluated value in argument position (used by ``Spliced``)."""

    __slots__ = ("value", "det")

    def is_deterministic(self, across_queries: bool = False) -> bool:
        return getattr(self, "det", True)

    async def eval(self, env: Env) -> Any:
        return self.value


@term(T.VAR)
class Var(Term):
    min_args = max_args = 1

    async def eval(self, env: Env) -> Any:
        var_id = self.args[0].value if isinstance(self.args[0], Datum) else None
        try:
            return env.vars[var_id]
        except KeyError:
            raise ReqlQueryLogicError("Variable name not found.", self) from None

    def check(self) -> None:
        # RethinkDB's own words for malformed variables (drivers never send them)
        if len(self.args) != 1:
            raise ReqlCompileError("A variable term has the wrong number of arguments.", self)
        name = self.args[0].value if isinstance(self.args[0], Datum) else None
        if type(name) not in (int, float):
            raise ReqlCompileError("A variable term has a non-numeric name datum.", self)
        if name != int(name):
            raise ReqlCompileError(f"Number not an integer: {D.print_datum(name)}", self)


@term(T.IMPLICIT_VAR)
class ImplicitVar(Term):
    min_args = max_args = 0

    def check(self) -> None:
        if self.args or self.optargs:
            raise ReqlCompileError("Expected no arguments or optional arguments on implicit variable term.", self)

    async def eval(self, env: Env) -> Any:
        # null is a legitimate row, so look for the enclosing one-argument function.
        if env.implicit is None and not self.inside_unary_function():
            raise ReqlCompileError("r.row is not defined in this context.", self)
        return env.implicit

    def inside_unary_function(self) -> bool:
        node = self.parent
        while node is not None:
            if isinstance(node, Func):
                return len(node.params) == 1
            node = node.parent
        return False


@term(T.FUNC)
class Func(Term):
    """``[69, [[2, [ids]], body]]``: evaluates to a closure over ``env``."""

    min_args = max_args = 2

    __slots__ = ("params",)

    def check(self) -> None:
        # RethinkDB's own words for malformed functions (drivers never send them)
        if len(self.args) != 2:
            raise ReqlCompileError(f"FUNC takes exactly two arguments (got {len(self.args)})", self)
        if self.optargs:
            raise ReqlCompileError("FUNC takes no optional arguments.", self)

    def setup(self, compiler: Any) -> None:
        spec = self.args[0]
        if isinstance(spec, MakeArray) and all(isinstance(a, Datum) for a in spec.args):
            params = [a.value for a in spec.args]
        elif isinstance(spec, Datum) and type(spec.value) is list:
            params = spec.value
        else:
            raise ReqlCompileError("CLIENT ERROR: FUNC variables must be a literal *array* of numbers.", self)
        if not all(type(p) in (int, float) for p in params):
            raise ReqlCompileError("CLIENT ERROR: FUNC variables must be a literal array of *numbers*.", self)
        self.params = params

    async def eval(self, env: Env) -> FuncVal:
        body = self.args[1]
        params = self.params
        n = len(params)

        async def call(args: list[Any]) -> Any:
            if len(args) != n and n != 0:
                raise ReqlQueryLogicError(
                    f"Expected function with {plural(len(args), 'argument')} but found function with {plural(n, 'argument')}.",
                    body,
                )
            return await body.eval(env.bind(params, args) if n else env)

        return FuncVal(params, call, deterministic=body.is_deterministic(), term=self)


@term(T.FUNCALL)
class Funcall(Term):
    """``r.do(args..., func)``: on the wire the function comes first.

    A value in place of the function is returned as is (RethinkDB's constant
    shortcut); a single grouped argument runs the function once per group.
    """

    min_args = 1

    async def eval(self, env: Env) -> Any:
        f = await self.args[0].eval(env)
        args = [await a.eval(env) for a in self.args[1:]]
        if not isinstance(f, FuncVal):
            return datum_value(f, self.args[0])
        if len(args) == 1 and isinstance(args[0], (GroupedData, GroupedStream)):
            return await map_groups(env, args[0], lambda v: self.call(f, [v]), self)
        return await self.call(f, [passable(v, a) for v, a in zip(args, self.args[1:])])

    async def call(self, f: FuncVal, args: list) -> Any:
        if f.arity != len(args) and f.arity != 0:
            raise ReqlQueryLogicError(
                f"Expected function with {plural(len(args), 'argument')} but found function with {plural(f.arity, 'argument')}.",
                f.site or self,
            )
        return await f(*args)


def passable(v: Any, at: Any) -> Any:
    """A function argument: a datum, or a single selection (which stays updatable)."""
    return v if isinstance(v, SingleSelection) else datum_value(v, at)


@term(T.BRANCH)
class Branch(Term):
    min_args = 3

    def check(self) -> None:
        super().check()

    async def eval(self, env: Env) -> Any:
        args = self.args
        if len(args) % 2 == 0:
            raise ReqlQueryLogicError("Cannot call `branch` term with an even number of arguments.", self)
        for i in range(0, len(args) - 1, 2):
            if as_bool(as_datum(await args[i].eval(env), args[i])):
                return await args[i + 1].eval(env)
        return await args[-1].eval(env)


@term(T.OR)
class Or(Term):
    async def eval(self, env: Env) -> Any:
        v: Any = False
        for a in self.args:
            v = as_datum(await a.eval(env), a)
            if as_bool(v):
                return v
        return v


@term(T.AND)
class And(Term):
    async def eval(self, env: Env) -> Any:
        v: Any = True
        for a in self.args:
            v = as_datum(await a.eval(env), a)
            if not as_bool(v):
                return v
        return v


@term(T.NOT)
class Not(Term):
    min_args = max_args = 1

    async def eval(self, env: Env) -> Any:
        return not as_bool(await self.arg_datum(env, 0))


@term(T.DEFAULT)
class Default(Term):
    """``x.default(v)``: ``v`` (or ``v(message)``) when ``x`` is null or does not exist.

    Only non-existence errors are caught; ``r.error()`` without a message in the
    handler re-raises the original error.
    """

    min_args = max_args = 2

    async def eval(self, env: Env) -> Any:
        err: ReqlError | None = None
        try:
            v = await self.args[0].eval(env)
            value = v.doc if isinstance(v, SingleSelection) else v
            if isinstance(value, Val) or value is not None:
                return v
        except ReqlNonExistenceError as e:
            err = e
        try:
            handler = await self.args[1].eval(env)
            if isinstance(handler, FuncVal):
                return await handler(err.message if err is not None else None)
            return handler
        except ReqlQueryLogicError as e:
            if getattr(e, "empty", False) and err is not None:
                raise err from None
            raise


@term(T.ERROR)
class Error(Term):
    min_args, max_args = 0, 1

    async def eval(self, env: Env) -> Any:
        if not self.args:
            # RethinkDB's EMPTY_USER error: reported as a logic error unless a default catches it.
            e = ReqlQueryLogicError("Empty ERROR term outside a default block.", self)
            e.empty = True  # type: ignore[attr-defined]
            raise e
        msg = await self.arg_datum(env, 0)
        if type(msg) is not str:
            raise ReqlQueryLogicError(f"Expected type STRING but found {D.type_name(msg)}.", self.args[0])
        raise ReqlUserError(msg, self)


@term(T.UUID)
class Uuid(Term):
    min_args, max_args = 0, 1

    @property
    def deterministic(self) -> bool:  # type: ignore[override]
        return bool(self.args)

    def is_deterministic(self, across_queries: bool = False) -> bool:
        return bool(self.args) and self.args[0].is_deterministic(across_queries)

    async def eval(self, env: Env) -> Any:
        if self.args:
            name = await self.arg_str(env, 0)
            return str(_uuid.uuid5(_uuid.UUID("91461c99-f89d-49d2-af96-d8e2e14e9b58"), name))
        return str(_uuid.uuid4())


@term(T.MINVAL)
class MinVal(Term):
    min_args = max_args = 0

    async def eval(self, env: Env) -> Any:
        return D.MINVAL


@term(T.MAXVAL)
class MaxVal(Term):
    min_args = max_args = 0

    async def eval(self, env: Env) -> Any:
        return D.MAXVAL


@term(T.ASC)
class AscDesc(Term):
    min_args = max_args = 1

    def check(self) -> None:
        # where it stands is checked before its arity, as RethinkDB does
        if not ordering_allowed(self):
            raise ReqlCompileError(f"{self.name.upper()} may only be used as an argument to ORDER_BY or UNION.", self)
        super().check()

    async def eval(self, env: Env) -> Any:
        return Ordering(await self.args[0].eval(env), self.tt == T.DESC)


def ordering_allowed(t: Term) -> bool:
    """r.asc/r.desc are arguments of order_by or union (in union's array of orderings)."""
    parent = t.parent
    if parent is not None and parent.tt == T.MAKE_ARRAY:
        parent = parent.parent
        return parent is not None and parent.tt == T.UNION
    return parent is not None and parent.tt in (T.ORDER_BY, T.UNION)


@term(T.DESC)
class Desc(AscDesc):
    """A class of its own, so that ``tt`` tells r.desc from r.asc."""


@term(T.RANGE)
class Range(Term):
    min_args, max_args = 0, 2

    async def eval(self, env: Env) -> Any:
        if not self.args:
            return RangeStream(0, None)
        if len(self.args) == 1:
            return RangeStream(0, await self.arg_int(env, 0))
        return RangeStream(await self.arg_int(env, 0), await self.arg_int(env, 1))
