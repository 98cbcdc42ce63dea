"""Terms: the base class, the registry of term classes with RethinkDB's arity
table, the evaluation environment, type coercions with RethinkDB's messages,
and datums as they arrive from the wire.

One class per TermType is registered with ``@term``; ``compiler.py`` turns a
query's wire tree into instances of them, once.  Evaluation is
``await term.eval(env)``; ``env`` carries the query context and the bound
variables.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar

from .. import datum as D
from ..datum import norm_num, type_name
from ..datum.errors import (
    ReqlCompileError,
    array_over_limit,
    ReqlNonExistenceError,
    ReqlQueryLogicError,
)
from ..datum.ql2 import TermType
from ..datum.times import check_time_pseudo
from ..geo.pseudo import check_geometry_syntax
from .stream import SelectionArray, Stream
from .values import FuncVal, SingleSelection, Val, not_a_datum

# Deeper term trees and datums are refused: what the event loop's stack and
# recursion limit (cli.LOOP_STACK_BYTES, RECURSION_LIMIT) leave room for with a
# wide margin; RethinkDB 2.4 accepts a chain of 100,000 terms.
MAX_NESTING = 100_000

TERMS: dict[int, type["Term"]] = {}


def term(*term_types: int) -> Callable[[type["Term"]], type["Term"]]:
    def register(cls: type[Term]) -> type[Term]:
        for tt in term_types:
            TERMS[tt] = cls
        if term_types and "tt" not in cls.__dict__:
            cls.tt = term_types[0]
        if term_types:
            apply_arity(cls, term_types[0])
        return cls

    return register


def apply_arity(cls: type["Term"], tt: int) -> None:
    """Give ``cls`` RethinkDB's arity and optarg names unless it declares its own."""
    spec = ARITY.get(tt)
    if spec is None:
        return
    lo, hi, opts = spec
    if "min_args" not in cls.__dict__:
        cls.min_args = lo
    if "max_args" not in cls.__dict__:
        cls.max_args = hi
    if "opt_names" not in cls.__dict__:
        cls.opt_names = frozenset(opts)


def reql_name(tt: int) -> str:
    try:
        return TermType(tt).name.lower()
    except ValueError:
        return str(tt)


# ---------------------------------------------------------------------------
# RethinkDB's argspec/optargspec of every term (src/rdb_protocol/terms/*.cc):
# (min args, max args or None for unbounded, optional argument names).  A term
# class takes these unless it sets its own; terms not implemented yet are
# still checked against them, so arity errors never depend on implementation
# progress.

_WRITE_OPTS = ("durability", "return_changes", "ignore_write_hook")
_BOUNDS = ("left_bound", "right_bound")
_TIME_PARTS = (
    TermType.DATE, TermType.TIME_OF_DAY, TermType.TIMEZONE, TermType.YEAR, TermType.MONTH,
    TermType.DAY, TermType.DAY_OF_WEEK, TermType.DAY_OF_YEAR, TermType.HOURS, TermType.MINUTES,
    TermType.SECONDS,
)
_CONSTANTS = tuple(TermType(tt) for tt in range(TermType.MONDAY, TermType.DECEMBER + 1)) + (
    TermType.MINVAL, TermType.MAXVAL, TermType.NOW, TermType.IMPLICIT_VAR, TermType.DB_LIST,
)
_ONE_ARG = _TIME_PARTS + (
    TermType.VAR, TermType.DB, TermType.DB_CREATE, TermType.DB_DROP, TermType.NOT, TermType.ZIP,
    TermType.ASC, TermType.DESC, TermType.INDEX_LIST, TermType.INFO, TermType.IS_EMPTY, TermType.KEYS,
    TermType.VALUES, TermType.JSON, TermType.TO_JSON_STRING, TermType.TO_ISO8601, TermType.EPOCH_TIME,
    TermType.TO_EPOCH_TIME, TermType.TYPE_OF, TermType.SYNC, TermType.UPCASE, TermType.DOWNCASE,
    TermType.UNGROUP, TermType.ARGS, TermType.BINARY, TermType.GEOJSON, TermType.TO_GEOJSON,
    TermType.FILL, TermType.CONFIG, TermType.STATUS, TermType.FLOOR, TermType.CEIL, TermType.ROUND,
    TermType.GET_WRITE_HOOK, TermType.BIT_NOT,
)
_TWO_ARGS = (
    TermType.GET, TermType.MOD, TermType.APPEND, TermType.PREPEND, TermType.GET_FIELD, TermType.BRACKET,
    TermType.REDUCE, TermType.CONCAT_MAP, TermType.NTH, TermType.COERCE_TO, TermType.FOR_EACH,
    TermType.FUNC, TermType.SKIP, TermType.LIMIT, TermType.INDEX_DROP, TermType.SAMPLE,
    TermType.OFFSETS_OF, TermType.SET_INSERT, TermType.SET_INTERSECTION, TermType.SET_UNION,
    TermType.SET_DIFFERENCE, TermType.DEFAULT, TermType.DIFFERENCE, TermType.MATCH,
    TermType.IN_TIMEZONE, TermType.POINT, TermType.INTERSECTS, TermType.INCLUDES, TermType.POLYGON_SUB,
    TermType.SET_WRITE_HOOK, TermType.BIT_SAL, TermType.BIT_SAR,
)
_COMPARISONS = (TermType.EQ, TermType.NE, TermType.LT, TermType.LE, TermType.GT, TermType.GE)
_VARIADIC_1 = (
    TermType.ADD,
    TermType.SUB, TermType.MUL, TermType.DIV, TermType.HAS_FIELDS, TermType.PLUCK, TermType.WITHOUT,
    TermType.MERGE, TermType.FUNCALL, TermType.CONTAINS, TermType.WITH_FIELDS,
    TermType.INDEX_STATUS, TermType.INDEX_WAIT, TermType.BIT_AND, TermType.BIT_OR, TermType.BIT_XOR,
)

ARITY: dict[int, tuple[int, int | None, tuple[str, ...]]] = {
    **{tt: (0, 0, ()) for tt in _CONSTANTS},
    **{tt: (1, 1, ()) for tt in _ONE_ARG},
    **{tt: (2, 2, ()) for tt in _TWO_ARGS},
    **{tt: (1, None, ()) for tt in _VARIADIC_1},
    **{tt: (2, None, ()) for tt in _COMPARISONS},
    **{tt: (3, 3, ()) for tt in (TermType.INNER_JOIN, TermType.OUTER_JOIN, TermType.INSERT_AT,
                                 TermType.SPLICE_AT, TermType.CHANGE_AT)},
    TermType.MAKE_ARRAY: (0, None, ()),
    TermType.OBJECT: (0, None, ()),
    TermType.OR: (0, None, ()),
    TermType.AND: (0, None, ()),
    TermType.JAVASCRIPT: (1, 1, ("timeout",)),
    TermType.ERROR: (0, 1, ()),
    TermType.TABLE: (1, 2, ("read_mode", "use_outdated", "identifier_format")),
    TermType.SLICE: (2, 3, _BOUNDS),
    TermType.BETWEEN_DEPRECATED: (3, 3, ("index",) + _BOUNDS),
    TermType.BETWEEN: (3, 3, ("index",) + _BOUNDS),
    TermType.MAP: (2, None, ()),
    TermType.FILTER: (2, 2, ("default",)),
    TermType.ORDER_BY: (1, None, ("index",)),
    TermType.DISTINCT: (1, 1, ("index",)),
    TermType.COUNT: (1, 2, ()),
    TermType.UNION: (0, None, ("interleave",)),
    TermType.EQ_JOIN: (3, 3, ("index", "ordered")),
    TermType.UPDATE: (2, 2, ("non_atomic",) + _WRITE_OPTS),
    TermType.REPLACE: (2, 2, ("non_atomic",) + _WRITE_OPTS),
    TermType.DELETE: (1, 1, ("non_atomic",) + _WRITE_OPTS),  # rewritten to a replace
    TermType.INSERT: (2, 2, ("conflict",) + _WRITE_OPTS),
    TermType.TABLE_CREATE: (1, 2, ("primary_key", "shards", "replicas", "nonvoting_replica_tags",
                                   "primary_replica_tag", "durability")),
    TermType.TABLE_DROP: (1, 2, ()),
    TermType.TABLE_LIST: (0, 1, ()),
    TermType.BRANCH: (3, None, ()),
    TermType.INDEX_CREATE: (2, 3, ("multi", "geo")),
    TermType.INDEX_RENAME: (3, 3, ("overwrite",)),
    TermType.GET_ALL: (1, None, ("index",)),
    TermType.DELETE_AT: (2, 3, ()),
    TermType.ISO8601: (1, 1, ("default_timezone",)),
    TermType.DURING: (3, 3, _BOUNDS),
    TermType.TIME: (4, 7, ()),
    TermType.LITERAL: (0, 1, ()),
    TermType.GROUP: (1, None, ("index", "multi")),
    TermType.SUM: (1, 2, ()),
    TermType.AVG: (1, 2, ()),
    TermType.MIN: (1, 2, ("index",)),
    TermType.MAX: (1, 2, ("index",)),
    TermType.SPLIT: (1, 3, ()),
    TermType.RANDOM: (0, 2, ("float",)),
    TermType.CHANGES: (1, 1, ("squash", "changefeed_queue_size", "include_initial", "include_states",
                              "include_offsets", "include_types", "include_resume_token", "resume_from")),
    TermType.HTTP: (1, 1, ("data", "timeout", "method", "params", "header", "attempts", "redirects",
                           "verify", "page", "page_limit", "auth", "result_format")),
    TermType.LINE: (2, None, ()),
    TermType.POLYGON: (3, None, ()),
    TermType.DISTANCE: (2, 2, ("geo_system", "unit")),
    TermType.CIRCLE: (2, 2, ("num_vertices", "geo_system", "unit", "fill")),
    TermType.GET_INTERSECTING: (2, 2, ("index",)),
    TermType.GET_NEAREST: (2, 2, ("index", "max_results", "max_dist", "geo_system", "unit")),
    TermType.UUID: (0, 1, ()),
    TermType.RANGE: (0, 2, ()),
    TermType.RECONFIGURE: (0, 1, ("shards", "replicas", "nonvoting_replica_tags", "primary_replica_tag",
                                  "dry_run", "emergency_repair")),
    TermType.WAIT: (0, 1, ("wait_for", "timeout")),
    TermType.REBALANCE: (0, 1, ()),
    TermType.FOLD: (3, 3, ("emit", "final_emit")),
    TermType.GRANT: (2, 3, ()),
}


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
    # r.now() is fixed once per query: deterministic within a query (writes may
    # use it), but not across queries (index functions may not), as RethinkDB's
    # deterministic_t::constant_now.
    varies_across_queries: ClassVar[bool] = False

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
        self.check_optargs()

    def check_optargs(self) -> None:
        for k, value in self.optargs.items():
            if k not in self.opt_names:
                raise ReqlCompileError(f"Unrecognized optional argument `{k}`.", value)  # RethinkDB marks the value

    def is_deterministic(self, across_queries: bool = False) -> bool:
        if not self.deterministic or (across_queries and self.varies_across_queries):
            return False
        return all(a.is_deterministic(across_queries) for a in self.args) and all(
            o.is_deterministic(across_queries) for o in self.optargs.values()
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


def query_root(t: Term) -> Term:
    """The whole query ``t`` is part of: what RethinkDB's errors checked at the
    top level (``rcheck_toplevel``, e.g. a stream read into an array past the
    array limit, too many groups) underline, having no backtrace of their own."""
    while t.parent is not None:
        t = t.parent
    return t


async def bound_is_open(t: Term, env: Env, name: str, default_open: bool) -> bool:
    """``left_bound`` / ``right_bound`` (between, slice, during): a string that is
    "open" or "closed"; another type is the optarg's error."""
    v = await t.opt_datum(env, name, MISSING)
    if v is MISSING:
        return default_open
    as_str(v, t.optargs.get(name, t))
    if v == "open" or v == "closed":
        return v == "open"
    raise ReqlQueryLogicError(f"Expected `open` or `closed` for optarg `{name}` (got `{D.print_datum(v)}`).", t)


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
        # A datum array seen as a stream is an array; a selection, even one held
        # in memory (SELECTION<ARRAY>, from order_by), is not a datum.
        if isinstance(v, Stream) and v.is_array_like() and not isinstance(v, SelectionArray):
            return v.items[v.pos:]  # type: ignore[attr-defined]
        raise not_a_datum(v).at(at)
    return v


def type_error(expected: str, v: Any, at: Any = None) -> ReqlQueryLogicError:
    # RethinkDB reports a null where a value was required as NON_EXISTENCE.
    cls = ReqlNonExistenceError if v is None else ReqlQueryLogicError
    return cls(f"Expected type {expected} but found {type_name(v)}.", at)


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
    cls = ReqlNonExistenceError if v is None else ReqlQueryLogicError
    raise cls(f"Expected type FUNCTION but found DATUM:\n{D.print_datum(v)}", at)


def constant_func(value: Any) -> FuncVal:
    async def call(args: list[Any]) -> Any:
        return value

    return FuncVal([], call)


def func_or_constant(v: Any) -> FuncVal:
    return v if isinstance(v, FuncVal) else constant_func(v)


# ---------------------------------------------------------------------------
# Datums arriving from the wire.

def datum_from_wire(v: Any, depth: int = 0, literal_ok: bool = False, array_limit: int | None = None) -> Any:
    """Normalise a JSON value into a datum: numbers, binary and time pseudo-types
    (``literal_ok``: r.literal objects may appear, as ``r.json`` allows).  Values
    computed from text (``r.json``, ``r.js``) pass the query's ``array_limit``,
    which every array inside must respect, as in RethinkDB."""
    t = type(v)
    if t is int or t is float:
        return norm_num(v)
    if t is str or t is bool or v is None:
        return v
    if depth > MAX_NESTING:
        raise ReqlQueryLogicError("Nesting depth limit exceeded.")
    if t is list:
        if array_limit is not None and len(v) > array_limit:
            raise array_over_limit(array_limit)
        return [datum_from_wire(x, depth + 1, literal_ok, array_limit) for x in v]
    if t is dict:
        out = {k: datum_from_wire(x, depth + 1, literal_ok, array_limit) for k, x in v.items()}
        return check_pseudo(out, literal_ok) if D.REQL_TYPE in out else out
    raise ReqlQueryLogicError(f"Unexpected value {v!r}")


def check_pseudo(obj: dict, literal_ok: bool = False) -> Any:
    """Validate / convert an object carrying ``$reql_type$``: a binary becomes
    bytes, a time is checked; a literal is refused (stray) unless ``literal_ok``."""
    rt = obj[D.REQL_TYPE]
    if type(rt) is not str:
        raise ReqlQueryLogicError(
            f"Error: Field `$reql_type$` must be a string (got `{D.print_datum(rt)}` of type {type_name(rt)}):\n"
            f"{D.print_datum(obj)}"
        )
    if rt == "BINARY":
        if "data" not in obj:
            raise ReqlQueryLogicError("Invalid binary pseudotype: lacking `data` key.")
        extra = [k for k in obj if k not in (D.REQL_TYPE, "data")]
        if extra:
            raise ReqlQueryLogicError(f"Invalid binary pseudotype: illegal `{extra[0]}` key.")
        data = obj["data"]
        if type(data) is not str:
            raise type_error("STRING", data)
        return D.decode_base64(data)
    if rt == "TIME":
        return check_time_pseudo(obj)
    if rt == "GEOMETRY":
        return check_geometry_syntax(obj)
    if rt == "LITERAL":
        return check_literal(obj, literal_ok)
    raise ReqlQueryLogicError(f"Unknown $reql_type$ `PTYPE<{rt}>`.")


STRAY_LITERAL = (
    "Stray literal keyword found: literal is only legal inside of the object passed to merge or update "
    "and cannot nest inside other literals."
)


def check_literal(obj: dict, literal_ok: bool) -> dict:
    if not literal_ok:
        raise ReqlQueryLogicError(STRAY_LITERAL)
    for key in obj:
        if key not in (D.REQL_TYPE, "value"):
            raise ReqlQueryLogicError(f"Invalid literal term with illegal key `{key}`.")
    return obj


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
    "term",
]
