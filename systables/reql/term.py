"""Compiling wire terms into evaluator objects, and the base classes of terms.

A query's term tree is compiled once into ``Term`` objects (one class per
TermType, registered with ``@term``).  Arity and optarg names are checked at
compile time (COMPILE_ERROR), as RethinkDB does.  Evaluation is
``await term.eval(env)``; ``env`` carries the query context and the bound
variables.
"""

from __future__ import annotations

import base64
from typing import Any, Callable, ClassVar

from . import datum as D
from .datum import norm_num, type_name
from .errors import (
    ReqlCompileError,
    ReqlError,
    ReqlNonExistenceError,
    ReqlQueryLogicError,
)
from .ql2 import TermType
from .values import FuncVal, SingleSelection, Val, not_a_datum

MAX_NESTING = 512  # deeper term trees are refused before evaluation can exhaust the stack

TERMS: dict[int, type["Term"]] = {}


def term(*term_types: int) -> Callable[[type["Term"]], type["Term"]]:
    def register(cls: type[Term]) -> type[Term]:
        for tt in term_types:
            TERMS[tt] = cls
        if term_types and "tt" not in cls.__dict__:
            cls.tt = term_types[0]
        return cls

    return register


def reql_name(tt: int) -> str:
    try:
        return TermType(tt).name.lower()
    except ValueError:
        return str(tt)


class Env:
    """Evaluation environment: the query context plus bound variables."""

    __slots__ = ("ctx", "vars", "implicit")

    def __init__(self, ctx: Any, vars: dict[int, Any] | None = None, implicit: Any = None) -> None:
        self.ctx = ctx
        self.vars = vars if vars is not None else {}
        self.implicit = implicit

    def bind(self, params: list[int], values: list[Any]) -> "Env":
        new_vars = dict(self.vars)
        for p, v in zip(params, values):
            new_vars[p] = v
        return Env(self.ctx, new_vars, values[0] if len(values) == 1 else self.implicit)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Term:
    """Base of all compiled terms."""

    __slots__ = ("args", "optargs", "parent", "frame")

    tt: ClassVar[int] = 0
    min_args: ClassVar[int] = 0
    max_args: ClassVar[int | None] = None  # None: unbounded
    opt_names: ClassVar[frozenset[str]] = frozenset()
    deterministic: ClassVar[bool] = True

    def __init__(self, args: list["Term"], optargs: dict[str, "Term"]) -> None:
        self.args = args
        self.optargs = optargs
        self.parent: Term | None = None
        self.frame: int | str | None = None

    @property
    def name(self) -> str:
        return reql_name(self.tt)

    # -- compile-time checks -------------------------------------------------
    def check(self) -> None:
        """Validate arity and optarg names (COMPILE_ERROR)."""
        check_arity(len(self.args), self.min_args, self.max_args)
        for k in self.optargs:
            if k not in self.opt_names:
                raise ReqlCompileError(f"Unrecognized optional argument `{k}`.", self)

    def is_deterministic(self) -> bool:
        if not self.deterministic:
            return False
        return all(a.is_deterministic() for a in self.args) and all(
            o.is_deterministic() for o in self.optargs.values()
        )

    # -- evaluation ----------------------------------------------------------
    async def eval(self, env: Env) -> Any:
        raise NotImplementedError(self.__class__.__name__)

    async def arg(self, env: Env, i: int) -> Any:
        return await self.args[i].eval(env)

    async def arg_datum(self, env: Env, i: int) -> Any:
        return as_datum(await self.args[i].eval(env), self.args[i])

    async def arg_num(self, env: Env, i: int) -> int | float:
        return as_num(await self.arg_datum(env, i), self.args[i])

    async def arg_int(self, env: Env, i: int) -> int:
        return as_int(await self.arg_datum(env, i), self.args[i])

    async def arg_str(self, env: Env, i: int) -> str:
        return as_str(await self.arg_datum(env, i), self.args[i])

    async def arg_bool(self, env: Env, i: int) -> bool:
        return as_bool(await self.arg_datum(env, i))

    async def arg_array(self, env: Env, i: int) -> list:
        return as_array(await self.arg_datum(env, i), self.args[i])

    async def arg_object(self, env: Env, i: int) -> dict:
        return as_object(await self.arg_datum(env, i), self.args[i])

    async def arg_func(self, env: Env, i: int) -> FuncVal:
        return as_func(await self.args[i].eval(env), self.args[i])

    def has_opt(self, env: Env, name: str) -> bool:
        return name in self.optargs or name in env.ctx.global_optargs

    async def opt(self, env: Env, name: str, default: Any = MISSING) -> Any:
        """Evaluate optarg ``name``, falling back to the global optarg of that name."""
        t = self.optargs.get(name)
        if t is not None:
            return await t.eval(env)
        g = env.ctx.global_optargs.get(name)
        if g is not None:
            return await g.eval(env)
        return default

    async def opt_datum(self, env: Env, name: str, default: Any = MISSING) -> Any:
        v = await self.opt(env, name, MISSING)
        if v is MISSING:
            return default
        return as_datum(v, self.optargs.get(name))


def check_arity(n: int, lo: int, hi: int | None) -> None:
    if hi is not None and lo == hi and n != lo:
        raise ReqlCompileError(f"Expected {plural(lo, 'argument')} but found {n}.")
    if n < lo or (hi is not None and n > hi):
        if hi is None:
            raise ReqlCompileError(f"Expected {lo} or more arguments but found {n}.")
        raise ReqlCompileError(f"Expected between {lo} and {hi} arguments but found {n}.")


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ---------------------------------------------------------------------------
# Type coercions with RethinkDB's messages.

def as_datum(v: Any, at: Any = None) -> Any:
    if isinstance(v, Val):
        if isinstance(v, SingleSelection):
            return v.doc
        from .stream import Stream

        if isinstance(v, Stream) and v.is_array_like():
            raise ReqlQueryLogicError("Expected type DATUM but found SEQUENCE:\n<stream>", at)
        raise not_a_datum(v).at(at)
    return v


def type_error(expected: str, v: Any, at: Any = None) -> ReqlQueryLogicError:
    return ReqlQueryLogicError(f"Expected type {expected} but found {type_name(v)}.", at)


def as_num(v: Any, at: Any = None) -> int | float:
    t = type(v)
    if t is int or t is float:
        return v
    raise type_error("NUMBER", v, at)


def as_int(v: Any, at: Any = None) -> int:
    n = as_num(v, at)
    if type(n) is int:
        return n
    raise ReqlQueryLogicError(f"Number not an integer: {D.fmt_num(n)}", at)


def as_str(v: Any, at: Any = None) -> str:
    if type(v) is str:
        return v
    raise type_error("STRING", v, at)


def as_bool(v: Any) -> bool:
    return v is not None and v is not False


def as_array(v: Any, at: Any = None) -> list:
    if type(v) is list:
        return v
    raise type_error("ARRAY", v, at)


def as_object(v: Any, at: Any = None) -> dict:
    if type(v) is dict and D.REQL_TYPE not in v:
        return v
    raise type_error("OBJECT", v, at)


def as_func(v: Any, at: Any = None) -> FuncVal:
    if isinstance(v, FuncVal):
        return v
    if isinstance(v, Val):
        raise ReqlQueryLogicError(f"Expected type FUNCTION but found {v.type_name}:\n{v.describe()}", at)
    raise ReqlQueryLogicError(f"Expected type FUNCTION but found DATUM:\n{D.print_datum(v)}", at)


def constant_func(value: Any) -> FuncVal:
    async def call(args: list[Any]) -> Any:
        return value

    return FuncVal([], call)


def func_or_constant(v: Any) -> FuncVal:
    return v if isinstance(v, FuncVal) else constant_func(v)


# ---------------------------------------------------------------------------
# Datums arriving from the wire.

def datum_from_wire(v: Any, depth: int = 0) -> Any:
    """Normalise a JSON value into a datum: numbers, binary and time pseudo-types."""
    t = type(v)
    if t is int or t is float:
        return norm_num(v)
    if t is str or t is bool or v is None:
        return v
    if depth > MAX_NESTING:
        raise ReqlQueryLogicError("Nesting depth limit exceeded.")
    if t is list:
        return [datum_from_wire(x, depth + 1) for x in v]
    if t is dict:
        out = {k: datum_from_wire(x, depth + 1) for k, x in v.items()}
        return check_pseudo(out) if D.REQL_TYPE in out else out
    raise ReqlQueryLogicError(f"Unexpected value {v!r}")


def check_pseudo(obj: dict) -> Any:
    """Validate / convert an object carrying ``$reql_type$``."""
    rt = obj[D.REQL_TYPE]
    if rt == "BINARY":
        if "data" not in obj:
            raise ReqlQueryLogicError("Invalid binary pseudotype: lacking `data` key.")
        extra = [k for k in obj if k not in (D.REQL_TYPE, "data")]
        if extra:
            raise ReqlQueryLogicError(f"Invalid binary pseudotype: illegal `{extra[0]}` key.")
        data = obj["data"]
        if type(data) is not str:
            raise type_error("STRING", data)
        try:
            return base64.b64decode(data.encode(), validate=True)
        except Exception:
            raise ReqlQueryLogicError("Invalid base64 format, data found after padding character '='.")
    if rt == "TIME":
        from .times import check_time_pseudo

        return check_time_pseudo(obj)
    if rt == "GEOMETRY" or rt == "GROUPED_DATA":
        return obj
    if type(rt) is not str:
        raise ReqlQueryLogicError(f"Expected type STRING but found {type_name(rt)}.")
    raise ReqlQueryLogicError(f"Unknown $reql_type$ `{rt}`.")


# ---------------------------------------------------------------------------
# The compiler.

class Compiler:
    """Compiles one query's term tree (variables numbered by the driver)."""

    def __init__(self) -> None:
        self.nondeterministic = False

    def compile(self, raw: Any, parent: Term | None = None, frame: int | str | None = None, depth: int = 0) -> Term:
        if depth > MAX_NESTING:
            raise ReqlCompileError(f"Query is nested too deeply (the limit is {MAX_NESTING} levels).")
        t = type(raw)
        if t is list:
            node = self._compile_term(raw, depth)
        elif t is dict:
            node = self._compile_object(raw, depth)
        else:
            from .terms.basic import Datum

            node = Datum([], {})
            node.value = datum_from_wire(raw)
        node.parent = parent
        node.frame = frame
        return node

    def _compile_term(self, raw: list, depth: int) -> Term:
        if not raw or len(raw) > 3:
            raise ReqlCompileError(f"Expected an array of 1 to 3 elements, but found {len(raw)}.")
        tt = raw[0]
        if type(tt) is not int:
            raise ReqlCompileError(f"Expected a term type as a number, but found {wire_type(tt)}.")
        args_raw = raw[1] if len(raw) > 1 else []
        opts_raw = raw[2] if len(raw) > 2 else {}
        if type(args_raw) is not list:
            raise ReqlCompileError(f"Expected arguments as an array, but found {wire_type(args_raw)}.")
        if type(opts_raw) is not dict:
            raise ReqlCompileError(f"Expected optional arguments as an object, but found {wire_type(opts_raw)}.")
        if tt == TermType.DATUM:
            from .terms.basic import Datum

            if len(args_raw) != 1:
                raise ReqlCompileError(f"Expected 1 argument but found {len(args_raw)}.")
            node = Datum([], {})
            node.value = datum_from_wire(args_raw[0])
            return node
        cls = TERMS.get(tt)
        if cls is None:
            raise ReqlCompileError(f"Unrecognized TermType: {tt}.")
        node = cls.__new__(cls)
        Term.__init__(node, [], {})
        node.args = [self.compile(a, node, i, depth + 1) for i, a in enumerate(args_raw)]
        node.optargs = {k: self.compile(v, node, k, depth + 1) for k, v in opts_raw.items()}
        from .terms.basic import Args, Spliced

        if any(isinstance(a, Args) for a in node.args) and cls is not Args:
            spliced = Spliced([], {})
            spliced.inner = node
            for a in node.args:
                a.parent = node
            return spliced
        node.check()
        node.setup(self) if hasattr(node, "setup") else None
        return node

    def _compile_object(self, raw: dict, depth: int) -> Term:
        from .terms.basic import Datum, MakeObject

        node = MakeObject([], {})
        node.optargs = {k: self.compile(v, node, k, depth + 1) for k, v in raw.items()}
        if all(type(v) is Datum for v in node.optargs.values()):
            value = {k: v.value for k, v in node.optargs.items()}
            if D.REQL_TYPE in value:
                value = check_pseudo(value)
            d = Datum([], {})
            d.value = value
            return d
        return node


def wire_type(v: Any) -> str:
    t = type(v)
    if v is None:
        return "NULL"
    if t is bool:
        return "BOOL"
    if t is dict:
        return "OBJECT"
    if t is list:
        return "ARRAY"
    if t is str:
        return "STRING"
    return "NUMBER"


def compile_query(raw: Any) -> Term:
    """Compile a START's term; raises ReqlCompileError / ReqlQueryLogicError."""
    from . import terms  # noqa: F401  (registers every term class)

    return Compiler().compile(raw)


def attach_term(err: ReqlError, term: Term) -> ReqlError:
    if err.term is None:
        err.term = term
    return err


__all__ = [
    "Env",
    "MISSING",
    "ReqlNonExistenceError",
    "Term",
    "TERMS",
    "as_array",
    "as_bool",
    "as_datum",
    "as_func",
    "as_int",
    "as_num",
    "as_object",
    "as_str",
    "compile_query",
    "term",
]
