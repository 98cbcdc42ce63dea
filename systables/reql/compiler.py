"""The compiler: a query's wire term tree becomes ``Term`` objects, once.

Arity and optarg names are checked here (COMPILE_ERROR), with RethinkDB's
compile-time rules on where writes and ``r.row`` may appear; documents sent as
literals fold into single datum nodes; and the compiler notes whether every
term of the query is one that never waits (``NEVER_WAITING_TERMS``), which
lets the server answer such queries without interruption machinery.
"""

from __future__ import annotations

from typing import Any

from .. import datum as D
from ..datum import norm_num
from ..datum.errors import ReqlCompileError
from ..datum.ql2 import TermType
from .term import (
    ARITY,
    MAX_NESTING,
    TERMS,
    Term,
    check_arity,
    check_pseudo,
    datum_from_wire,
)
# Importing the term families registers every term class (``@term``).
from . import terms  # noqa: F401
from .terms import basic

class Compiler:
    """Compiles one query's term tree (variables numbered by the driver)."""

    def __init__(self) -> None:
        self.writes_legal = True  # false inside the functions of stream operations
        self.implicit_depth = 0  # one-argument functions around the term being compiled
        self.never_waits = True  # every term compiled so far is in NEVER_WAITING_TERMS
        self.has_args_term = False  # r.args met: its parent's arity is known only at run time
        self.root: Any = None  # the whole tree, measured once compiling it goes deep

    def compile(self, raw: Any, parent: Term | None = None, frame: int | str | None = None, depth: int = 0) -> Term:
        if depth == 0:
            self.root = raw
        elif depth == MEASURE_AT and deeper_than(self.root, MAX_NESTING):
            raise NestedTooDeep()  # now, rather than with 100,000 frames to unwind and free
        if depth > MAX_NESTING:
            raise NestedTooDeep()
        t = type(raw)
        node: Term | None = None
        if t is str or t is bool or raw is None:  # the most common leaves
            node = datum_node(raw)
            node.parent = parent
            node.frame = frame
            return node
        if t is dict or (t is list and is_make_array(raw)):
            # Documents sent as literals become one datum node, not a term per value.
            longest = [0]
            value = static_value(raw, depth, longest)
            if value is not NOT_STATIC:
                node = datum_node(value, longest[0])
        if node is None:
            if t is list:
                node = self._compile_term(raw, depth, parent, frame)
            elif t is dict:
                node = self._compile_object(raw, depth, parent, frame)
            else:
                node = datum_node(datum_from_wire(raw))
        node.parent = parent
        node.frame = frame
        return node

    def _compile_term(self, raw: list, depth: int, parent: Term | None = None, frame: int | str | None = None) -> Term:
        if not raw or len(raw) > 3:
            raise ReqlCompileError(f"Expected an array of 1 to 3 elements, but found {len(raw)}.")
        tt = raw[0]
        if type(tt) is not int:
            raise ReqlCompileError(f"Expected a term type as a number, but found {D.json_type_name(tt)}.")
        args_raw = raw[1] if len(raw) > 1 else []
        opts_raw = raw[2] if len(raw) > 2 else {}
        if type(args_raw) is not list:
            raise ReqlCompileError(f"Expected arguments as an array, but found {D.json_type_name(args_raw)}.")
        if type(opts_raw) is not dict:
            raise ReqlCompileError(f"Expected optional arguments as an object, but found {D.json_type_name(opts_raw)}.")
        if tt == _DATUM:
            if len(args_raw) != 1:
                raise ReqlCompileError(f"Expected 1 argument but found {len(args_raw)}.")
            return datum_node(datum_from_wire(args_raw[0]))
        if tt not in NEVER_WAITING_TERMS:
            self.never_waits = False
            if tt == _ARGS:
                self.has_args_term = True
        cls = TERMS.get(tt)
        if cls is None:
            spec = ARITY.get(tt)
            if spec is not None and not any(is_args_term(a) for a in args_raw):
                check_arity(len(args_raw), spec[0], spec[1])
            raise ReqlCompileError(unsupported_term_message(tt))
        node = cls.__new__(cls)
        Term.__init__(node, [], {})
        node.parent, node.frame = parent, frame  # known now, so errors below can mark this term
        self._check_placement(tt, node)
        if tt in WRITE_FORBIDDING_TERMS or tt == _FUNC:
            node.args = [self._compile_arg(tt, args_raw, a, node, i, depth) for i, a in enumerate(args_raw)]
            node.optargs = {k: self._compile_arg(tt, args_raw, v, node, k, depth) for k, v in opts_raw.items()}
        else:  # the common case: children compile in this term's context
            compile_ = self.compile
            node.args = [compile_(a, node, i, depth + 1) for i, a in enumerate(args_raw)]
            node.optargs = {k: compile_(v, node, k, depth + 1) for k, v in opts_raw.items()} if opts_raw else {}
        if self.has_args_term and tt != _ARGS and tt != _FUNC:  # a function's body is not spliced
            if any(type(a) is basic.Args for a in node.args):
                node.check_optargs()  # the arity is known only once r.args is evaluated
                spliced = basic.Spliced([], {})
                spliced.inner = node
                for a in node.args:
                    a.parent = node
                return spliced
        try:
            node.check()
        except ReqlCompileError as e:
            raise e.at(node)  # an arity error marks the term itself
        setup = getattr(cls, "setup", None)
        if setup is not None:
            setup(node, self)
        return node

    def _check_placement(self, tt: int, node: Term) -> None:
        """RethinkDB's compile-time rules on where writes and r.row may appear."""
        if tt in WRITE_OR_META_TERMS and not self.writes_legal:
            raise ReqlCompileError("Cannot nest writes or meta ops in stream operations.  Use FOR_EACH instead.", node)
        if tt == _IMPLICIT_VAR and self.implicit_depth > 1:
            raise ReqlCompileError("Cannot use r.row in nested queries.  Use functions instead.", node)

    def _compile_arg(self, tt: int, args_raw: list, raw: Any, parent: Term, frame: int | str, depth: int) -> Term:
        saved = self.writes_legal, self.implicit_depth
        if frame != 0 and tt in WRITE_FORBIDDING_TERMS:
            self.writes_legal = False
        if tt == _FUNC and frame == 1 and func_param_count(args_raw[0]) == 1:
            self.implicit_depth += 1
        try:
            return self.compile(raw, parent, frame, depth + 1)
        finally:
            self.writes_legal, self.implicit_depth = saved

    def _compile_object(self, raw: dict, depth: int, parent: Term | None = None, frame: int | str | None = None) -> Term:
        node = basic.MakeObject([], {})
        node.parent, node.frame = parent, frame
        node.optargs = {k: self.compile(v, node, k, depth + 1) for k, v in raw.items()}
        if all(type(v) is basic.Datum for v in node.optargs.values()):
            value = {k: v.value for k, v in node.optargs.items()}
            if D.REQL_TYPE in value:
                value = check_pseudo(value)
            return datum_node(value)
        return node


# Writes and meta operations may not run inside the functions of these terms
# (all their arguments but the sequence): RethinkDB's term_walker rules.
WRITE_OR_META_TERMS = frozenset({
    TermType.UPDATE, TermType.DELETE, TermType.INSERT, TermType.REPLACE, TermType.DB_CREATE,
    TermType.DB_DROP, TermType.TABLE_CREATE, TermType.TABLE_DROP, TermType.WAIT, TermType.RECONFIGURE,
    TermType.REBALANCE, TermType.SYNC, TermType.GRANT, TermType.INDEX_CREATE, TermType.INDEX_DROP,
    TermType.INDEX_WAIT, TermType.INDEX_RENAME, TermType.SET_WRITE_HOOK,
})
WRITE_FORBIDDING_TERMS = frozenset({
    TermType.REDUCE, TermType.MAP, TermType.FOLD, TermType.FILTER, TermType.CONCAT_MAP, TermType.GROUP,
    TermType.INNER_JOIN, TermType.OUTER_JOIN, TermType.EQ_JOIN, TermType.UPDATE, TermType.DELETE,
    TermType.REPLACE, TermType.INSERT, TermType.COUNT, TermType.SUM, TermType.AVG, TermType.MIN,
    TermType.MAX,
})


def func_param_count(raw_params: Any) -> int:
    """Parameters of a wire FUNC: ``[2, [ids]]`` or a datum list of ids."""
    if type(raw_params) is list and len(raw_params) == 2 and raw_params[0] == TermType.MAKE_ARRAY and type(raw_params[1]) is list:
        return len(raw_params[1])
    return len(raw_params) if type(raw_params) is list else -1


# ---------------------------------------------------------------------------
# Literal values: objects and MAKE_ARRAYs made only of datums fold into one
# datum at compile time (drivers send documents that way).

NOT_STATIC: Any = object()
MAX_SAFE_INT = D.MAX_SAFE


def is_make_array(raw: list) -> bool:
    return len(raw) == 2 and type(raw[0]) is int and raw[0] == TermType.MAKE_ARRAY and type(raw[1]) is list


def static_value(raw: Any, depth: int, longest: list[int]) -> Any:
    """The datum ``raw`` denotes if it holds no term but MAKE_ARRAY, else NOT_STATIC.
    ``longest[0]`` gets the longest array met (checked against the array limit)."""
    t = type(raw)
    if t is str or t is bool or raw is None:
        return raw
    if t is int or t is float:
        return norm_num(raw)
    if depth > MAX_NESTING:
        return NOT_STATIC  # the regular path reports it
    if t is dict:
        out = {}
        for k, v in raw.items():
            tv = type(v)
            # Plain strings, booleans, nulls and small integers need no work (most
            # fields of most documents): skip the call for them.
            if tv is str or tv is bool or v is None or (tv is int and -MAX_SAFE_INT <= v <= MAX_SAFE_INT):
                out[k] = v
                continue
            x = static_value(v, depth + 1, longest)
            if x is NOT_STATIC:
                return NOT_STATIC
            out[k] = x
        return check_pseudo(out) if D.REQL_TYPE in out else out
    if t is list and is_make_array(raw):
        items = []
        for v in raw[1]:
            x = static_value(v, depth + 1, longest)
            if x is NOT_STATIC:
                return NOT_STATIC
            items.append(x)
        if len(items) > longest[0]:
            longest[0] = len(items)
        return items
    return NOT_STATIC


def datum_node(value: Any, longest_array: int = 0) -> Term:
    if longest_array:
        node = basic.StaticDatum([], {})
        node.longest_array = longest_array
    else:
        node = _DATUM_CLASS.__new__(_DATUM_CLASS)
        node.args = _NO_ARGS
        node.optargs = _NO_OPTARGS
        node.parent = node.frame = None
    node.value = value
    return node


_DATUM_CLASS = basic.Datum
# Shared by every datum node: datum nodes never get arguments.
_NO_ARGS: list = []
_NO_OPTARGS: dict = {}


# Term types compared on every compiled term, as plain ints (enum lookups cost).
_DATUM, _ARGS, _FUNC, _IMPLICIT_VAR = int(TermType.DATUM), int(TermType.ARGS), int(TermType.FUNC), int(TermType.IMPLICIT_VAR)


def is_args_term(raw: Any) -> bool:
    return type(raw) is list and len(raw) > 0 and raw[0] == TermType.ARGS


def unsupported_term_message(tt: int) -> str:
    """A term of ql2.proto that this server does not implement (yet) is named;
    a number ql2.proto does not know is not."""
    try:
        name = TermType(tt).name.lower()
    except ValueError:
        return f"Unrecognized TermType: {tt}."
    return f"The `{name}` command is not supported by this server yet."


MEASURE_AT = 1000  # a tree this deep is measured before compiling goes on


def deeper_than(raw: Any, limit: int) -> bool:
    """Whether a raw term tree nests deeper than ``limit`` as ``Compiler.compile``
    counts (arguments, optional arguments and object values one level down);
    an explicit stack, so no depth is a problem here."""
    stack = [(raw, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if type(node) is dict:
            stack.extend((v, depth + 1) for v in node.values())
        elif type(node) is list and len(node) >= 2 and type(node[1]) is list:
            stack.extend((a, depth + 1) for a in node[1])
            if len(node) == 3 and type(node[2]) is dict:
                stack.extend((v, depth + 1) for v in node[2].values())
    return False


class NestedTooDeep(Exception):
    """Raised at the depth cap and turned into the query's error at the top:
    an error raised there would carry a traceback 100,000 frames long, which
    finding its term (``backtrace.locate``) would walk on the event loop."""


def nesting_error() -> ReqlCompileError:
    return ReqlCompileError(f"Query is nested too deeply (the limit is {MAX_NESTING} levels).")


def compile_query(raw: Any) -> Term:
    """Compile a START's term; raises ReqlCompileError / ReqlQueryLogicError."""
    try:
        return Compiler().compile(raw)
    except NestedTooDeep:
        raise nesting_error() from None


def compile_checked(raw: Any) -> tuple[Term, bool]:
    """Compile a term; also says whether it is made only of terms that never wait."""
    compiler = Compiler()
    try:
        term = compiler.compile(raw)
    except NestedTooDeep:
        raise nesting_error() from None
    return term, compiler.never_waits


# Terms whose evaluation never reaches a scheduling point (point reads and datum
# operations): a query made only of these cannot wait, so the server answers it
# without the machinery that makes waiting queries interruptible.
NEVER_WAITING_TERMS = frozenset(
    int(t)
    for t in (
        TermType.DATUM, TermType.MAKE_ARRAY, TermType.MAKE_OBJ, TermType.DB, TermType.TABLE, TermType.GET,
        TermType.GET_FIELD, TermType.BRACKET, TermType.PLUCK, TermType.WITHOUT, TermType.HAS_FIELDS,
        TermType.KEYS, TermType.VALUES, TermType.EQ, TermType.NE, TermType.LT, TermType.LE, TermType.GT,
        TermType.GE, TermType.NOT, TermType.AND, TermType.OR, TermType.ADD, TermType.SUB, TermType.MUL,
        TermType.DIV, TermType.MOD, TermType.FLOOR, TermType.CEIL, TermType.ROUND, TermType.BRANCH,
        TermType.TYPE_OF, TermType.NOW, TermType.EPOCH_TIME, TermType.APPEND, TermType.PREPEND,
        TermType.DB_LIST, TermType.TABLE_LIST, TermType.MINVAL, TermType.MAXVAL, TermType.UPCASE,
        TermType.DOWNCASE,
    )
)
