"""Type and conversion terms: type_of, coerce_to, info, json, to_json_string,
binary and object."""

from __future__ import annotations

import re
from typing import Any

from ... import datum as D
from ...datum.errors import ReqlQueryLogicError, ReqlResourceLimitError
from ...datum.ql2 import TermType as T
from ...timeslice import tick
from ..jsontext import parse_json
from ..seq import eager_items
from ..stream import SelectionArray, Stream, check_finite, collect
from ..tables import TableSlice, TableVal
from ..term import (
    Env,
    Term,
    as_bool,
    as_datum,
    as_str,
    check_pseudo,
    datum_from_wire,
    query_root,
    term,
)
from ..values import DbVal, FuncVal, GroupedData, GroupedStream, SingleSelection, Val
from .basic import DatumOp, datum_value

# ---------------------------------------------------------------------------
# Type names.

def datum_kind(d: Any) -> str:
    """The name ``coerce_to`` uses for a datum (a time is an OBJECT, binary is BINARY)."""
    if type(d) is bytes:
        return "BINARY"
    if type(d) is D.MinMaxVal:
        return "MAXVAL" if d.is_max else "MINVAL"
    if type(d) is dict:
        return "OBJECT"
    return D.type_name(d)


def is_datum_like(v: Any) -> bool:
    """Values RethinkDB converts to a datum on demand (selections of one row or of an array)."""
    return not isinstance(v, Val) or isinstance(v, SingleSelection) or eager_items(v) is not None


def typeof_name(v: Any) -> str:
    if isinstance(v, Val):
        return v.typeof_name
    if type(v) is D.MinMaxVal:
        return datum_kind(v)
    return D.type_name(v)


@term(T.TYPE_OF)
class TypeOf(Term):
    async def eval(self, env: Env) -> Any:
        return typeof_name(await self.args[0].eval(env))


# ---------------------------------------------------------------------------
# coerce_to

# The type names coerce_to knows (RethinkDB knows no SEQUENCE, SELECTION,
# SINGLE_SELECTION or GROUPED_STREAM here: "Unknown Type").
COERCE_TARGETS = frozenset(
    """NULL BOOL NUMBER STRING ARRAY OBJECT BINARY DATUM MINVAL MAXVAL FUNCTION DB TABLE TABLE_SLICE
    STREAM GROUPED_DATA""".split()
)


@term(T.COERCE_TO)
class CoerceTo(DatumOp):
    async def apply(self, env: Env, first: Any) -> Any:
        target = (await self.arg_str(env, 1)).upper()
        if target not in COERCE_TARGETS:
            raise ReqlQueryLogicError(f"Unknown Type: {target}", self)
        # A value of a type that cannot become the target is its own error, as in RethinkDB.
        if isinstance(first, SelectionArray):
            first = first.items[first.pos:]  # an ordered selection coerces as its rows
        if is_datum_like(first):
            return coerce_datum(datum_value(first, self.args[0]), target, self, self.args[0])
        if first.type_name == target or (target == "STREAM" and isinstance(first, Stream)):
            return first
        if isinstance(first, Stream) and target == "OBJECT":
            return await stream_to_object(first, self)
        if isinstance(first, Stream) and target in ("ARRAY", "DATUM"):
            return await collect(first, env.ctx.array_limit, self.args[0], query_root(self))
        raise cannot_coerce(first.type_name, target, self.args[0])


async def stream_to_object(s: Stream, at: Term) -> dict:
    """The pairs of a stream as an object: read pair by pair, so the array
    limit does not apply (as in RethinkDB)."""
    check_finite(s, at.args[0])
    out: dict = {}
    while (batch := await s.next_batch()) is not None:
        for pair in batch:
            add_pair(out, pair, at)
            await tick()
    return check_pseudo(out) if D.REQL_TYPE in out else out


def cannot_coerce(start: str, target: str, at: Any) -> ReqlQueryLogicError:
    return ReqlQueryLogicError(f"Cannot coerce {start} to {target}.", at)


def coerce_datum(d: Any, target: str, at: Any, value_at: Any = None) -> Any:
    start = datum_kind(d)
    if start == target or target in ("DATUM", "STREAM"):  # a datum is both, as in RethinkDB
        return d
    if target == "STRING":
        return binary_to_string(d, at) if start == "BINARY" else D.print_json(d)
    if target == "BINARY" and start == "STRING":
        return d.encode()
    if target == "BOOL":
        return as_bool(d)
    if target == "NUMBER" and start == "STRING":
        return parse_number(d, at)
    if start == "ARRAY" and target == "DATUM":
        return d
    if start == "ARRAY" and target == "OBJECT":
        return pairs_to_object(d, at)
    if start == "OBJECT" and target in ("ARRAY", "DATUM"):
        return [[k, v] for k, v in sorted(d.items())]
    raise cannot_coerce(start, target, value_at or at)


def binary_to_string(b: bytes, at: Any) -> str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ReqlQueryLogicError(utf8_error(b, e.start), at) from None


def utf8_error(b: bytes, position: int) -> str:
    """RethinkDB's message for bytes that are not UTF-8 at ``position``: the
    valid text before it (20 characters at most), and what was wrong."""
    first = b[position]
    if 0x80 <= first < 0xC0 or first >= 0xF8:
        problem = "Invalid initial byte seen"
    elif any(not 0x80 <= c < 0xC0 for c in b[position + 1:position + utf8_length(first)]):
        problem = "Expected continuation byte, saw something else"
    elif position + utf8_length(first) > len(b):
        problem = "Expected continuation byte, saw end of string"
    else:
        problem = "Invalid initial byte seen"  # an overlong form or a surrogate
    prefix = b[:position].decode("utf-8")[:20]
    return f"String `{prefix}` (truncated) is not a UTF-8 string; {problem} at position {position}."


def utf8_length(first: int) -> int:
    return 2 if first < 0xE0 else 3 if first < 0xF0 else 4


def pairs_to_object(pairs: list, at: Any) -> dict:
    out: dict = {}
    for pair in pairs:
        add_pair(out, pair, at)
    return check_pseudo(out) if D.REQL_TYPE in out else out


def add_pair(out: dict, pair: Any, at: Any) -> None:
    """One ``[key, value]`` pair of an array or stream coerced to an object."""
    if type(pair) is not list:
        raise ReqlQueryLogicError(f"Expected type ARRAY but found {D.type_name(pair)}.", at)
    if len(pair) != 2:
        raise ReqlQueryLogicError(f"Expected array of size 2, but got size {len(pair)}.", at)
    key, value = pair
    if type(key) is not str:
        raise ReqlQueryLogicError(f"Expected type STRING but found {D.type_name(key)}.", at)
    if key in out:
        raise ReqlQueryLogicError(
            f"Duplicate key {D.json_string(key)} in coerced object.  "
            f"(got {D.print_datum(out[key])} and {D.print_datum(value)} as values)",
            at,
        )
    out[key] = value


# C's strtod as used by RethinkDB (sscanf "%lf%c": leading space allowed, nothing after).
_C_SPACE = " \t\n\v\f\r"
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?")
_SPECIAL = re.compile(r"[+-]?(?:inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)", re.IGNORECASE)


def parse_number(s: str, at: Any) -> int | float:
    text = s.lstrip(_C_SPACE)
    if _DECIMAL.fullmatch(text):
        value = float(text)
    elif _HEX.fullmatch(text):
        value = float.fromhex(text)
    elif _SPECIAL.fullmatch(text):
        value = float(text.split("(")[0])
    else:
        raise ReqlQueryLogicError(f"Could not coerce `{s}` to NUMBER.", at)
    try:
        return D.norm_num(value)
    except ReqlQueryLogicError as e:
        raise e.at(at)


# ---------------------------------------------------------------------------
# info

@term(T.INFO)
class Info(Term):
    async def eval(self, env: Env) -> Any:
        return await info_of(await self.args[0].eval(env))


async def info_of(v: Any) -> dict:
    if isinstance(v, DbVal):
        return db_info(v.name, v.id)
    if isinstance(v, TableVal):
        return await table_info(v)
    if isinstance(v, SingleSelection):
        return {"type": v.typeof_name, "table": await table_info(v.table)}
    if isinstance(v, FuncVal):
        return {"type": "FUNCTION"}
    if isinstance(v, (GroupedData, GroupedStream)):
        return {"type": v.typeof_name}
    if isinstance(v, Stream):
        return await stream_info(v)
    return datum_info(v)


def db_info(name: str, db_id: Any) -> dict:
    return {"type": "DB", "name": name, "id": db_id}


async def table_info(t: TableVal) -> dict:
    indexes = t.index_names()
    return {
        "type": "TABLE",
        "name": t.name,
        "id": t.id,
        "db": db_info(t.db_name, t.db_id),
        "primary_key": t.primary_key,
        "indexes": indexes,
        "doc_count_estimates": [await t.count()],
    }


async def stream_info(s: Stream) -> dict:
    out: dict = {"type": s.typeof_name}
    table = s.table
    if table is None:
        return out
    out["table"] = await table_info(table)
    if s.typeof_name == "TABLE_SLICE" and isinstance(s, TableSlice):
        out.update(slice_bounds(s, table))
    return out


def slice_bounds(s: TableSlice, table: TableVal) -> dict:
    """Index, bounds and ordering of a table slice (``between``, ``order_by(index=)``)."""
    b = s.bounds
    out: dict = {"index": s.index, "sorting": s.sorting}
    if b.unachievable():
        out["left_bound_type"] = out["right_bound_type"] = "unachievable"
        return out
    for side, bound, is_open in (("left", b.lo, b.lo_open), ("right", b.hi, b.hi_open)):
        if bound is None or type(bound) is D.MinMaxVal:
            out[f"{side}_bound_type"] = "unbounded"
        else:
            out[f"{side}_bound"] = bound
            out[f"{side}_bound_type"] = "open" if is_open else "closed"
    return out


def datum_info(d: Any) -> dict:
    out: dict = {"type": typeof_name(d)}
    if d is None or type(d) is D.MinMaxVal:
        return out
    if type(d) is bytes:
        out["count"] = len(d)
    out["value"] = D.print_datum(d)
    return out


# ---------------------------------------------------------------------------
# JSON text in and out.

@term(T.JSON)
class Json(DatumOp):
    async def apply(self, env: Env, first: Any) -> Any:
        text = as_str(datum_value(first, self.args[0]), self.args[0])
        try:
            # as RethinkDB, r.json takes r.literal objects
            return datum_from_wire(parse_json(text), literal_ok=True, array_limit=env.ctx.array_limit)
        except (ReqlQueryLogicError, ReqlResourceLimitError) as e:
            raise e.at(self)


@term(T.TO_JSON_STRING)
class ToJsonString(DatumOp):
    async def apply(self, env: Env, first: Any) -> Any:
        return D.print_json(datum_value(first, self.args[0]))


# ---------------------------------------------------------------------------
# r.binary and r.object

@term(T.BINARY)
class Binary(DatumOp):
    async def apply(self, env: Env, first: Any) -> Any:
        d = datum_value(first, self.args[0])
        if type(d) is bytes:
            return d
        return as_str(d, self).encode()


@term(T.OBJECT)
class MakeObjectFromPairs(Term):
    """``r.object(key, value, ...)``."""

    async def eval(self, env: Env) -> Any:
        n = len(self.args)
        if n % 2:
            raise ReqlQueryLogicError(f"OBJECT expects an even number of arguments (but found {n}).", self)
        out: dict = {}
        for i in range(0, n, 2):
            key = await self.arg_str(env, i)
            value = as_datum(await self.args[i + 1].eval(env), self.args[i + 1])
            if key in out:
                raise ReqlQueryLogicError(
                    f"Duplicate key {D.json_string(key)} in object.  "
                    f"(got {D.print_datum(out[key])} and {D.print_datum(value)} as values)",
                    self,
                )
            out[key] = value
        return check_pseudo(out) if D.REQL_TYPE in out else out
