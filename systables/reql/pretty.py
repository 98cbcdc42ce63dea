"""Render a ReQL wire term as JavaScript, after RethinkDB 2.4's ``src/pprint/js_pprint.cc``.

The text is what users see in ``rethinkdb.jobs`` (``info.query``) and in
``index_status`` (``query``), e.g. ``r.db("rethinkdb").table("jobs").filter({"type": "query"})``.

Rules kept from the reference printer:

* Terms whose first argument is a receiver print chained (``x.filter(...)``);
  constructors print as ``r.<name>(...)``.  Names are the TermType names in
  lowerCamelCase, with JavaScript's spellings where they differ (``js``, ``do``).
* ``r.table``/``r.tableCreate``/``r.tableDrop``/``r.tableList``/``r.grant`` are
  chained only when they carry a database argument.
* Datums in argument position print as literals; as a receiver or at the top
  they must be r-expressions: ``r.expr(1).add(2)``, ``r.expr([1, 2])`` and,
  for object literals, ``r.object("k", v)``.
* Optargs become a trailing ``{"camelCaseName": value}`` argument, the names
  converted as the JavaScript driver spells them.  Object-literal keys are data
  and stay verbatim.
* Numbers: integral values without a decimal point, others like C++
  ``std::to_string(double)`` (six decimals).  Strings are double-quoted and not
  escaped.
* Variables print as ``var<N>`` (driver ids) or ``_var<N>`` (negative,
  server-made ids); the implicit variable as ``r.row``.
* Terms nested deeper than 15 levels print as ``...``.
* A binary literal (``{"$reql_type$": "BINARY", "data": ...}``) prints as
  ``r.binary("<base64 data>")``.
* Layout is a group/break pretty printer at 89 columns: short queries stay on
  one line; a group that does not fit takes all of its line breaks (after
  ``(``/``[``/``{`` and after each comma; before each ``.method`` of a chain of
  three or more calls), indenting by four.  Where lines break in a long query
  is this module's choice, not a copy of the reference printer's.

Input is untrusted JSON, so nothing here raises: anything that is not a
well-formed term prints as the raw JSON it is.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Union

from ..datum.ql2 import TermType

__all__ = ["print_js", "print_index_query", "MAX_DEPTH", "LINE_WIDTH"]

MAX_DEPTH = 15
LINE_WIDTH = 89
INDENT = 4
MIN_BROKEN_CHAIN = 3  # method calls a chain needs before it breaks one per line
ELLIPSIS = "..."

# Guards str(int) against Python's limit on int-to-str digits; a double cannot
# exceed this anyway, so bigger integers are infinite for RethinkDB.
_MAX_INT_BITS = 1024
_INT64 = 2**63


# --- document algebra ---------------------------------------------------------


class Break:
    """A place where a broken group starts a new line; prints ``flat`` otherwise.

    A closing break returns to the group's own indentation (for a ``}`` that
    ends a function body) instead of the group's inner indentation.
    """

    __slots__ = ("flat", "closing")

    def __init__(self, flat: str, closing: bool = False) -> None:
        self.flat = flat
        self.closing = closing


class Group:
    """A sequence laid out flat if it fits, otherwise with every direct break taken.

    The flat text is computed once at construction, which makes both the
    everything-fits fast path and the fit test O(1).
    """

    __slots__ = ("flat", "parts")

    def __init__(self, parts: list[Doc], flat: str | None = None) -> None:
        self.parts = parts
        if flat is None:
            flat = "".join([part if type(part) is str else part.flat for part in parts])
        self.flat = flat


Doc = Union[str, Break, Group]

SOFT = Break("")
SPACE = Break(" ")
CLOSE_SPACE = Break(" ", closing=True)


def _flat(doc: Doc) -> str:
    return doc if type(doc) is str else doc.flat


def _bracketed(opening: str, items: list[Doc], closing: str) -> Doc:
    """``opening item, item closing``, breaking after ``opening`` and after each comma."""
    if not items:
        return opening + closing
    parts: list[Doc] = [opening, SOFT, items[0]]
    for item in items[1:]:
        parts += (",", SPACE, item)
    parts.append(closing)
    flat = opening + ", ".join([item if type(item) is str else item.flat for item in items]) + closing
    return Group(parts, flat)


def _width_to_break(group: Group) -> int | None:
    """Width of the group's text before its first possible line break, if it has one."""
    width = 0
    for part in group.parts:
        if type(part) is str:
            width += len(part)
        elif type(part) is Break:
            return width
        else:
            inner = _width_to_break(part)
            if inner is not None:
                return width + inner
            width += len(part.flat)
    return None


def _push_broken(stack: list, group: Group, indent: int, trailing: int) -> None:
    """Queue a broken group's parts, each with its indentation and the width of the
    text that must share its line.  Only what follows the group's first line
    break is indented, so a group that merely concatenates adds no indentation."""
    parts = group.parts
    first_break = next((i for i, part in enumerate(parts) if type(part) is Break), len(parts))
    inner = indent + INDENT
    entries = []
    after = trailing
    for index in range(len(parts) - 1, -1, -1):
        part = parts[index]
        if type(part) is Break:
            entries.append((part, indent if part.closing else inner, 0))
            after = 0
            continue
        entries.append((part, inner if index > first_break else indent, after))
        if type(part) is str:
            after += len(part)
        else:
            head = _width_to_break(part)
            after = after + len(part.flat) if head is None else head
    stack.extend(entries)


def layout(doc: Doc, width: int = LINE_WIDTH) -> str:
    """Lay ``doc`` out in ``width`` columns (Wadler-style best fit, iterative)."""
    if type(doc) is not Group:
        return _flat(doc)
    if len(doc.flat) <= width:
        return doc.flat
    out: list[str] = []
    column = 0
    stack: list[tuple[Doc, int, int]] = [(doc, 0, 0)]
    while stack:
        item, indent, trailing = stack.pop()
        if type(item) is str:
            out.append(item)
            column += len(item)
        elif type(item) is Break:  # only reached inside a broken group
            out.append("\n" + " " * indent)
            column = indent
        elif column + len(item.flat) + trailing <= width:
            out.append(item.flat)
            column += len(item.flat)
        else:
            _push_broken(stack, item, indent, trailing)
    return "".join(out)


# --- names and term classes ---------------------------------------------------


def _lower_camel(snake: str) -> str:
    head, *rest = snake.lower().split("_")
    return head + "".join(word.capitalize() for word in rest)


_NAME_OVERRIDES = {
    TermType.JAVASCRIPT: "js",
    TermType.FUNCALL: "do",
    TermType.MAKE_ARRAY: "expr",
    TermType.MAKE_OBJ: "object",
    TermType.TO_ISO8601: "toISO8601",
    TermType.BETWEEN_DEPRECATED: "between",
}

# DATUM is absent: the JSON protocol sends datums as plain JSON, never as terms.
_NAMES: dict[int, str] = {
    int(t): _NAME_OVERRIDES.get(t, _lower_camel(t.name)) for t in TermType if t is not TermType.DATUM
}

# Constructors: always ``r.<name>(...)``, never chained off their first argument.
_PREFIX = frozenset(
    {
        TermType.JAVASCRIPT, TermType.ERROR, TermType.DB, TermType.DB_CREATE,
        TermType.DB_DROP, TermType.DB_LIST, TermType.BRANCH, TermType.ASC,
        TermType.DESC, TermType.JSON, TermType.ISO8601, TermType.EPOCH_TIME,
        TermType.NOW, TermType.TIME, TermType.LITERAL, TermType.OBJECT,
        TermType.RANDOM, TermType.HTTP, TermType.ARGS, TermType.BINARY,
        TermType.GEOJSON, TermType.POINT, TermType.LINE, TermType.POLYGON,
        TermType.CIRCLE, TermType.UUID, TermType.RANGE, TermType.FORMAT,
    }
)

# Constants that JavaScript spells as properties, without a call: ``r.minval``.
_PROPERTIES = frozenset(
    {TermType.MINVAL, TermType.MAXVAL, *range(TermType.MONDAY, TermType.DECEMBER + 1)}
)

# Terms whose receiver (a database) is optional: chained only with this many args.
_RECEIVER_ARITY = {
    TermType.TABLE: 2,
    TermType.TABLE_CREATE: 2,
    TermType.TABLE_DROP: 2,
    TermType.GRANT: 3,
}

_EMPTY_OPTARGS: dict = {}
_NO_ARGS: list = []

# Plain ints: comparing with enum members is several times slower on this hot path.
_BRACKET = int(TermType.BRACKET)
_MAKE_ARRAY = int(TermType.MAKE_ARRAY)

Parsed = tuple[int, list, dict]


def _parse(term: list) -> Parsed | None:
    """Split ``[type, args, optargs]``; None when it is not a well-formed term."""
    size = len(term)
    if size == 2:
        term_type, args = term
        optargs = _EMPTY_OPTARGS
    elif size == 3:
        term_type, args, optargs = term
    elif size == 1:
        term_type, args, optargs = term[0], _NO_ARGS, _EMPTY_OPTARGS
    else:
        return None
    if not _is_int(term_type) or term_type not in _NAMES:
        return None
    if type(args) is not list or type(optargs) is not dict:
        return None
    return term_type, args, optargs


def _is_int(value: Any) -> bool:
    """An integer, not a bool; server-built terms may use ``TermType`` members."""
    return type(value) is int or (isinstance(value, int) and not isinstance(value, bool))


def _is_chained(parsed: Parsed) -> bool:
    return len(parsed[1]) >= _CHAIN_MIN_ARGS[parsed[0]]


@functools.lru_cache(maxsize=1024)
def _optarg_name(name: str) -> str:
    # The JavaScript driver spells optargs in camelCase (returnChanges).
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


# --- scalars --------------------------------------------------------------------


def _number(value: int | float) -> str:
    if type(value) is int and -_INT64 < value < _INT64:
        return str(value)
    if not isinstance(value, float):
        if abs(value).bit_length() > _MAX_INT_BITS:
            return "-inf" if value < 0 else "inf"
        return str(int(value))
    if value.is_integer():
        return str(int(value))
    return "%f" % value  # std::to_string(double); also "inf"/"nan"


def _scalar(value: Any) -> str:
    """JSON scalar as literal text; a placeholder for non-JSON Python values."""
    if isinstance(value, str):
        return '"' + value + '"'
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return _number(value)
    return "<" + type(value).__name__ + ">"


# --- rendering ------------------------------------------------------------------


def _render(term: Any, depth: int, in_expr: bool) -> Doc:
    """Render ``term``; ``in_expr`` is False where a plain literal would not be ReQL
    (receivers and the top level), so literals there become r-expressions."""
    if depth > MAX_DEPTH:
        return ELLIPSIS
    kind = type(term)
    if kind is str and in_expr:  # the most common argument
        return '"' + term + '"'
    if kind is list or isinstance(term, list):
        parsed = _parse(term)
        if parsed is None:
            return _raw(term, depth)
        return _render_parsed(parsed, depth, in_expr)
    if kind is dict or isinstance(term, dict):
        return _render_object(term, depth, in_expr)
    text = _scalar(term)
    return text if in_expr else "r.expr(" + text + ")"


def _render_parsed(parsed: Parsed, depth: int, in_expr: bool) -> Doc:
    term_type = parsed[0]
    special = _SPECIAL.get(term_type)
    if special is not None:
        return special(parsed, depth, in_expr)
    if _is_chained(parsed):
        return _render_chain(parsed, depth)
    return _render_prefix(parsed, depth)


def _render_args(args: list, optargs: dict, child_depth: int) -> list[Doc]:
    """Arguments, then the optargs as one trailing object (its values are children
    of the term, at the same depth as the arguments)."""
    docs = [_render(arg, child_depth, True) for arg in args]
    if optargs:
        entries = [('"' + _optarg_name(str(key)) + '"', value) for key, value in optargs.items()]
        docs.append(_object_literal(entries, child_depth))
    return docs


def _render_prefix(parsed: Parsed, depth: int) -> Doc:
    term_type, args, optargs = parsed
    name = "r." + _NAMES[term_type]
    if term_type in _PROPERTIES and not args and not optargs:
        return name
    return _bracketed(name + "(", _render_args(args, optargs, depth + 1), ")")


def _render_chain(parsed: Parsed, depth: int) -> Doc:
    """``receiver.a(...).b(...)``: walk down the receivers iteratively, then print
    the innermost first.  Each step down is one level of nesting."""
    links: list[tuple[Parsed, int]] = []
    method_count = 0
    while True:
        links.append((parsed, depth))
        method_count += parsed[0] != _BRACKET
        receiver = parsed[1][0]
        depth += 1
        next_parsed = _parse(receiver) if isinstance(receiver, list) and depth <= MAX_DEPTH else None
        if next_parsed is None:
            head = _render(receiver, depth, False)
            break
        if not _is_chained(next_parsed):
            head = _render_parsed(next_parsed, depth, False)
            break
        parsed = next_parsed
    # Short chains stay on their line and break inside the last call's arguments
    # instead; putting each of one or two calls on its own line only wastes width.
    dot_break = [SOFT] if method_count >= MIN_BROKEN_CHAIN else []
    parts: list[Doc] = [head]
    for (term_type, args, optargs), link_depth in reversed(links):
        arg_docs = _render_args(args[1:], optargs, link_depth + 1)
        if term_type == _BRACKET:
            parts.append(_bracketed("(", arg_docs, ")"))
        else:
            parts += dot_break
            parts.append(_bracketed("." + _NAMES[term_type] + "(", arg_docs, ")"))
    return Group(parts)


def _object_literal(entries: list[tuple[str, Any]], value_depth: int) -> Doc:
    """``{key: value, ...}`` from already-quoted keys and unrendered value terms."""
    items: list[Doc] = []
    for key_text, value in entries:
        value_doc = _render(value, value_depth, True)
        if type(value_doc) is Group:
            items.append(Group([key_text + ": ", value_doc]))
        else:
            items.append(key_text + ": " + value_doc)
    return _bracketed("{", items, "}")


def _render_object(obj: dict, depth: int, in_expr: bool) -> Doc:
    """A JSON object in term position: an object literal whose values are terms."""
    if _is_binary_literal(obj):
        return 'r.binary("' + obj["data"] + '")'
    if in_expr:
        return _object_literal([('"' + str(key) + '"', value) for key, value in obj.items()], depth + 1)
    items: list[Doc] = []
    for key, value in obj.items():
        items += ('"' + str(key) + '"', _render(value, depth + 1, True))
    return _bracketed("r.object(", items, ")")


def _is_binary_literal(obj: dict) -> bool:
    return len(obj) == 2 and obj.get("$reql_type$") == "BINARY" and isinstance(obj.get("data"), str)


def _raw(value: Any, depth: int) -> Doc:
    """Malformed input printed as the JSON it is (still depth-capped)."""
    if depth > MAX_DEPTH:
        return ELLIPSIS
    if isinstance(value, (list, tuple)):
        return _bracketed("[", [_raw(item, depth + 1) for item in value], "]")
    if isinstance(value, dict):
        items = [Group(['"' + str(key) + '": ', _raw(item, depth + 1)]) for key, item in value.items()]
        return _bracketed("{", items, "}")
    return _scalar(value)


def _raw_parsed(parsed: Parsed, depth: int) -> Doc:
    term_type, args, optargs = parsed
    return _raw([term_type, args, optargs] if optargs else [term_type, args], depth)


# --- terms with their own syntax ------------------------------------------------


def _render_make_array(parsed: Parsed, depth: int, in_expr: bool) -> Doc:
    array = _bracketed("[", [_render(item, depth + 1, True) for item in parsed[1]], "]")
    return array if in_expr else _bracketed("r.expr(", [array], ")")


def _render_make_obj(parsed: Parsed, depth: int, in_expr: bool) -> Doc:
    return _render_object(parsed[2], depth, in_expr)


def _var_name(var_id: Any) -> str | None:
    if type(var_id) is float and var_id.is_integer():
        var_id = int(var_id)
    if not _is_int(var_id):
        return None
    return "var" + _number(var_id) if var_id >= 0 else "_var" + _number(-var_id)


def _render_var(parsed: Parsed, depth: int, in_expr: bool) -> Doc:
    args = parsed[1]
    name = _var_name(args[0]) if len(args) == 1 else None
    return name if name is not None else _raw_parsed(parsed, depth)


def _func_var_names(params: Any) -> list[str] | None:
    """Variable names from a FUNC's ``[MAKE_ARRAY, [ids...]]`` parameter list."""
    if not (isinstance(params, list) and len(params) == 2 and params[0] == _MAKE_ARRAY):
        return None
    ids = params[1]
    if not isinstance(ids, list):
        return None
    names = [_var_name(var_id) for var_id in ids]
    return None if None in names else names


def _render_func(parsed: Parsed, depth: int, in_expr: bool) -> Doc:
    args = parsed[1]
    names = _func_var_names(args[0]) if len(args) == 2 else None
    if names is None:
        return _raw_parsed(parsed, depth)
    body = _render(args[1], depth + 1, True)
    opening = "function(" + ", ".join(names) + ") {"
    return Group([opening, SPACE, "return ", body, ";", CLOSE_SPACE, "}"])


def _render_implicit_var(parsed: Parsed, depth: int, in_expr: bool) -> Doc:
    return "r.row"


def _render_funcall(parsed: Parsed, depth: int, in_expr: bool) -> Doc:
    """``r.do(arg..., func)``: the wire puts the function first, JavaScript last."""
    _, args, optargs = parsed
    reordered = args[1:] + args[:1]
    return _bracketed("r.do(", _render_args(reordered, optargs, depth + 1), ")")


def _render_bracket(parsed: Parsed, depth: int, in_expr: bool) -> Doc:
    if parsed[1]:
        return _render_chain(parsed, depth)
    return _render_prefix(parsed, depth)


_SPECIAL = {
    TermType.MAKE_ARRAY: _render_make_array,
    TermType.MAKE_OBJ: _render_make_obj,
    TermType.VAR: _render_var,
    TermType.FUNC: _render_func,
    TermType.IMPLICIT_VAR: _render_implicit_var,
    TermType.FUNCALL: _render_funcall,
    TermType.BRACKET: _render_bracket,
}

_NEVER = 1 << 62  # more arguments than any term has
# Fewest arguments with which each term prints chained off its first argument.
_CHAIN_MIN_ARGS: dict[int, int] = {
    term_type: _NEVER if term_type in _PREFIX or term_type in _SPECIAL else _RECEIVER_ARITY.get(term_type, 1)
    for term_type in _NAMES
}
_CHAIN_MIN_ARGS[_BRACKET] = 1


# --- public API -----------------------------------------------------------------


def _utf8_safe(text: str) -> str:
    # JSON input can carry lone surrogates ("\ud800"); keep the result encodable.
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def print_js(term: Any) -> str:
    """The JavaScript text RethinkDB shows for a query's root term (``info.query``)."""
    return _utf8_safe(layout(_render(term, 1, False)))


def print_index_query(name: str, function_term: Any, multi: bool, geo: bool) -> str:
    """The ``query`` field of an ``index_status`` row, e.g.
    ``indexCreate('x', function(_var19) { return _var19.getField("x"); })``."""
    options = [option for option, on in (("multi: true", multi), ("geo: true", geo)) if on]
    suffix = ", {" + ", ".join(options) + "}" if options else ""
    function_js = layout(_render(function_term, 1, False))
    return _utf8_safe("indexCreate('" + str(name) + "', " + function_js + suffix + ")")


def print_write_hook_query(function_term: Any) -> str:
    """The ``query`` field of ``get_write_hook()``, e.g.
    ``setWriteHook(function(var1, var2, var3) { return var3; })``."""
    return _utf8_safe("setWriteHook(" + layout(_render(function_term, 1, False)) + ")")
