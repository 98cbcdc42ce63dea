"""Datums: the JSON-like values of ReQL, as plain Python values.

Representation (chosen so that documents pass between the wire, the evaluator
and the store without conversion):

* null → ``None``; bool → ``bool``; string → ``str``; array → ``list``;
  object → ``dict``; binary → ``bytes``.
* number → ``int`` when integral and at most 2**53 in magnitude (so it is
  written as a JSON integer, as RethinkDB writes such doubles), else
  ``float`` (RethinkDB writes larger integral doubles as ``1.15e+18``).
  ``norm_num`` keeps that invariant.
* pseudo-types other than binary (TIME, GEOMETRY) stay objects with a
  ``$reql_type$`` key, exactly as RethinkDB keeps them internally.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from .errors import ReqlQueryLogicError
from .grisu import grisu2

REQL_TYPE = "$reql_type$"
MAX_SAFE = 2**53
INT64_LIMIT = 2**63

Datum = Any  # None | bool | int | float | str | bytes | list | dict


class MinMaxVal:
    """``r.minval`` / ``r.maxval``: below / above every datum; only valid as bounds."""

    __slots__ = ("is_max",)

    def __init__(self, is_max: bool) -> None:
        self.is_max = is_max

    def __repr__(self) -> str:
        return "r.maxval" if self.is_max else "r.minval"


MINVAL = MinMaxVal(False)
MAXVAL = MinMaxVal(True)


def norm_num(x: int | float) -> int | float:
    """Return ``x`` as RethinkDB would store it: a double, kept as int when integral."""
    if type(x) is int:
        if -MAX_SAFE <= x <= MAX_SAFE:
            return x
        return float(x)  # round like a double would
    if x != x or x in (math.inf, -math.inf):
        raise ReqlQueryLogicError(f"Non-finite number: {fmt_num(x)}")
    if x.is_integer() and -MAX_SAFE <= x <= MAX_SAFE and not is_negative_zero(x):
        return int(x)
    return x


def fmt_num(x: int | float) -> str:
    """Format a number the way RethinkDB prints it in error messages."""
    if type(x) is int:
        return str(x)
    if x != x:
        return "nan"
    if x in (math.inf, -math.inf):
        return "inf" if x > 0 else "-inf"
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x)) if not is_negative_zero(x) else "-0"
    return repr(x).replace("e+", "e+")


def is_number(v: Any) -> bool:
    t = type(v)
    return t is int or t is float


def json_type_name(value: Any) -> str:
    """RethinkDB's name for a JSON value's type in parse errors."""
    if value is None:
        return "NULL"
    kind = type(value)
    if kind is bool:
        return "BOOL"
    if kind is dict:
        return "OBJECT"
    if kind is list:
        return "ARRAY"
    if kind is str:
        return "STRING"
    return "NUMBER"


def type_name(v: Datum) -> str:
    """RethinkDB's ``get_type_name()`` of a datum (used in messages and ordering)."""
    t = type(v)
    if t is str:
        return "STRING"
    if t is int or t is float:
        return "NUMBER"
    if t is dict:
        rt = v.get(REQL_TYPE)
        if rt is not None:
            return f"PTYPE<{rt}>"
        return "OBJECT"
    if t is list:
        return "ARRAY"
    if t is bool:
        return "BOOL"
    if v is None:
        return "NULL"
    if t is bytes:
        return "PTYPE<BINARY>"
    if t is MinMaxVal:  # in messages: `Expected type NUMBER but found MINVAL.`
        return "MAXVAL" if v.is_max else "MINVAL"
    raise TypeError(f"not a datum: {v!r}")


# ---------------------------------------------------------------------------
# Ordering (datum_t::cmp): first by type name, then within the type.

def cmp(a: Datum, b: Datum) -> int:
    ta, tb = type(a), type(b)
    if ta is MinMaxVal or tb is MinMaxVal:
        return _cmp_minmax(a, b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        return -1 if a < b else (1 if a > b else 0)
    if ta is str and tb is str:
        return -1 if a < b else (1 if a > b else 0)
    na, nb = type_name(a), type_name(b)
    if na != nb:
        return -1 if na < nb else 1
    if ta is list:
        for x, y in zip(a, b):
            c = cmp(x, y)
            if c:
                return c
        return (len(a) > len(b)) - (len(a) < len(b))
    if ta is bool:
        return (a > b) - (a < b)
    if a is None:
        return 0
    if ta is bytes:
        return (a > b) - (a < b)
    # objects and pseudo-types
    rt = a.get(REQL_TYPE)
    if rt == "TIME":
        ea, eb = a.get("epoch_time"), b.get("epoch_time")
        return (ea > eb) - (ea < eb)
    ka, kb = sorted(a), sorted(b)
    for x, y in zip(ka, kb):
        if x != y:
            return -1 if x < y else 1
        c = cmp(a[x], b[y])
        if c:
            return c
    return (len(ka) > len(kb)) - (len(ka) < len(kb))


def _cmp_minmax(a: Datum, b: Datum) -> int:
    rank_a = (2 if a.is_max else 0) if type(a) is MinMaxVal else 1
    rank_b = (2 if b.is_max else 0) if type(b) is MinMaxVal else 1
    return (rank_a > rank_b) - (rank_a < rank_b)


def eq(a: Datum, b: Datum) -> bool:
    ta, tb = type(a), type(b)
    if ta is tb and ta in (str, int, float, type(None), bool, bytes):
        return a == b
    return cmp(a, b) == 0


class SortKey:
    """Wraps a datum so that Python's sort uses RethinkDB's order."""

    __slots__ = ("v",)

    def __init__(self, v: Datum) -> None:
        self.v = v

    def __lt__(self, other: "SortKey") -> bool:
        return cmp(self.v, other.v) < 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SortKey) and cmp(self.v, other.v) == 0


def sort_key(v: Any) -> tuple:
    """A key under which Python's sort orders datums as ``cmp`` does (type name
    first, then value), much faster than comparing pairwise."""
    t = type(v)
    if t is int or t is float:
        return ("NUMBER", v)
    if t is str:
        return ("STRING", v)
    if v is None:
        return ("NULL",)
    if t is bool:
        return ("BOOL", v)
    if t is list:
        return ("ARRAY", tuple(sort_key(x) for x in v))
    if t is bytes:
        return ("PTYPE<BINARY>", v)
    if t is dict:
        if v.get(REQL_TYPE) == "TIME":
            return ("PTYPE<TIME>", v.get("epoch_time"))
        return (type_name(v), tuple((k, sort_key(v[k])) for k in sorted(v)))
    if t is MinMaxVal:  # below and above every type name (an order_by key may be one)
        return ("\U0010ffff",) if v.is_max else ("",)
    raise TypeError(f"not a datum: {v!r}")


def hashable(v: Datum) -> Any:
    """A hashable key equal for equal datums (used by distinct, group, set ops)."""
    t = type(v)
    if t is float:
        return ("n", v)
    if t is int:
        return ("n", float(v)) if v == float(v) else ("n", v)
    if t is bool:
        return ("b", v)
    if t is str or v is None or t is bytes:
        return v
    if t is list:
        return ("a", tuple(hashable(x) for x in v))
    if t is dict:
        if v.get(REQL_TYPE) == "TIME":
            return ("t", float(v.get("epoch_time", 0)))
        return ("o", tuple(sorted((k, hashable(x)) for k, x in v.items())))
    if t is MinMaxVal:  # a group key or set element before it is refused as output
        return ("M",) if v.is_max else ("m",)
    raise TypeError(f"not a datum: {v!r}")


# ---------------------------------------------------------------------------
# Printing datums as RethinkDB does: compact JSON (``to_json_string``,
# ``coerce_to('string')``) and the pretty form of error messages and ``info``
# (one element per tab-indented line, ``"key":\tvalue``).  Keys are sorted,
# as RethinkDB stores objects; strings are escaped like rapidjson does.

MAX_DBL_INT = 2**53


def json_number(x: int | float) -> str:
    """A number as RethinkDB's JSON writer prints it."""
    if type(x) is int and -MAX_DBL_INT <= x <= MAX_DBL_INT:
        return str(x)
    x = float(x)
    # -0.0 is integral but not an integer: RethinkDB prints it as a double.
    if x.is_integer() and -MAX_DBL_INT <= x <= MAX_DBL_INT and not is_negative_zero(x):
        return str(int(x))
    return _rapidjson_double(x)


def is_negative_zero(x: int | float) -> bool:
    return x == 0 and type(x) is float and math.copysign(1, x) < 0


def _rapidjson_double(x: float) -> str:
    """rapidjson's formatting: Grisu2 digits (``grisu.py``), then Prettify."""
    if x == 0:
        return "-0.0" if math.copysign(1, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    digits, k = grisu2(abs(x))
    # value = 0.digits * 10**kk, i.e. digits * 10**(kk - len(digits))
    kk = len(digits) + k
    n = len(digits)
    if n <= kk <= 21:
        body = digits + "0" * (kk - n) + ".0"
    elif 0 < kk <= 21:
        body = digits[:kk] + "." + digits[kk:]
    elif -6 < kk <= 0:
        body = "0." + "0" * -kk + digits
    elif n == 1:
        body = f"{digits}e{kk - 1}"
    else:
        body = f"{digits[0]}.{digits[1:]}e{kk - 1}"
    return sign + body


def fmt_double(x: int | float) -> str:
    """``%.20g``: how RethinkDB prints a double it wants to be reconstructable."""
    if type(x) is int:
        return str(x)
    text = "%.20g" % x
    return text


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def json_string(s: str) -> str:
    out = []
    for ch in s:
        esc = _ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch < " ":
            out.append("\\u%04X" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def binary_object(v: bytes) -> dict:
    """The BINARY pseudo-type as JSON carries it."""
    return {REQL_TYPE: "BINARY", "data": base64.b64encode(v).decode("ascii")}


def print_json(v: Datum) -> str:
    """Compact JSON, as ``to_json_string`` and ``coerce_to('string')`` give it
    (pieces joined once: linear in the output even for deeply nested values)."""
    t = type(v)
    if t is list or t is dict:
        out: list[str] = []
        _print_json(v, out)
        return "".join(out)
    return _json_scalar(v)


def _print_json(v: Datum, out: list[str]) -> None:
    t = type(v)
    if t is list:
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            _print_json(x, out)
        out.append("]")
    elif t is dict:
        out.append("{")
        for i, (k, x) in enumerate(sorted(v.items())):
            out.append(("," if i else "") + json_string(k) + ":")
            _print_json(x, out)
        out.append("}")
    else:
        out.append(_json_scalar(v))


def _json_scalar(v: Datum) -> str:
    t = type(v)
    if v is None:
        return "null"
    if t is bool:
        return "true" if v else "false"
    if t is int or t is float:
        return json_number(v)
    if t is str:
        return json_string(v)
    if t is bytes:
        return print_json(binary_object(v))
    if t is MinMaxVal:
        raise ReqlQueryLogicError(f"Cannot convert `{v!r}` to JSON.")
    raise TypeError(f"not a datum: {v!r}")


def print_datum(v: Datum) -> str:
    """The pretty form RethinkDB uses in error messages and ``info()``.

    Written into one list of pieces joined once: building each level's text
    from its children's made printing a value nested n deep cost O(n³)."""
    out: list[str] = []
    _print(v, 0, out)
    return "".join(out)


def _print(v: Datum, depth: int, out: list[str]) -> None:
    t = type(v)
    # RethinkDB writes a binary as raw compact JSON: without the line break and
    # indentation (or the tab after a key) that precede other values.
    if t is list:
        if not v:
            out.append("[]")
            return
        lead = "\n" + "\t" * (depth + 1)
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            if type(x) is not bytes:
                out.append(lead)
            _print(x, depth + 1, out)
        out.append("\n" + "\t" * depth + "]")
    elif t is dict:
        if not v:
            out.append("{}")
            return
        lead = "\n" + "\t" * (depth + 1)
        out.append("{")
        for i, (k, x) in enumerate(sorted(v.items())):
            if i:
                out.append(",")
            out.append(lead + json_string(k) + (":" if type(x) is bytes else ":\t"))
            _print(x, depth + 1, out)
        out.append("\n" + "\t" * depth + "}")
    else:
        out.append(print_json(v))  # r.minval / r.maxval cannot be printed, even in a message (as in RethinkDB)


# ---------------------------------------------------------------------------
# Base64 of the BINARY pseudo-type, with RethinkDB's decoding errors.

_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_SKIPPED = " \t\r\n"


def decode_base64(data: str) -> bytes:
    """Decode RFC 4648 base64 (padding optional, whitespace ignored)."""
    chars = [c for c in data if c not in _B64_SKIPPED]
    if "=" in chars:
        first_pad = chars.index("=")
        if any(c != "=" for c in chars[first_pad:]):
            raise ReqlQueryLogicError("Invalid base64 format, data found after padding character '='.")
        chars = chars[:first_pad]
    for c in chars:
        if c not in _B64_ALPHABET:
            raise ReqlQueryLogicError(f"Invalid base64 character found: '{c}'.")
    if len(chars) % 4 == 1:
        raise ReqlQueryLogicError("Invalid base64 length: 1 character remaining, cannot decode a full byte.")
    text = "".join(chars)
    return base64.b64decode(text + "=" * (-len(text) % 4))
