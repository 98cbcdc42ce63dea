"""Decoding a query frame's JSON: ``[QueryType, term?, global_optargs?]``.

Every failure is a ``QueryParseError`` whose message is RethinkDB's; answer it
with ``response.client_error(error.message)`` and keep the connection open.

orjson is the parser (``datum.jsonparse`` splits large inputs into pieces
for it, so that parsing them in a worker thread never holds the GIL long).  Like RethinkDB's, it rejects ``NaN``/``Infinity`` and
numbers that overflow a double; all of these are reported as a buggy client.
Frames nested deeper than orjson's 1024 levels are parsed by
``jsonparse.loads_deep`` (an explicit stack: no depth exhausts a stack here);
the compiler caps the depth of what it accepts.  Values are returned as
parsed: integral numbers written with a fraction (``1.0``) stay floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from systables.datum import fmt_num, json_type_name, jsonparse
from systables.datum.ql2 import QueryType, TermType

DESERIALIZE_FAILED = "Client is buggy (failed to deserialize query)."
PARSE_PREFIX = "Server could not parse query: "

_QUERY_TYPES = {int(query_type): query_type for query_type in QueryType}


class QueryParseError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    type: QueryType
    term: Any | None
    global_optargs: dict[str, Any] | None

    @property
    def noreply(self) -> bool:
        """Whether the client wants no response at all (not even errors)."""
        return _static_flag(self.global_optargs, "noreply")

    @property
    def profile(self) -> bool:
        return _static_flag(self.global_optargs, "profile")


def _is_number(value: Any) -> bool:
    kind = type(value)
    return kind is int or kind is float


def _parse_error(detail: str) -> QueryParseError:
    return QueryParseError(PARSE_PREFIX + detail)


def parse_query(payload: bytes, deep: bool = True) -> ParsedQuery:
    """The query in ``payload``; with ``deep=False``, ``jsonparse.TooDeep`` for
    a frame nested deeper than orjson parses (to parse off the event loop)."""
    try:
        query = jsonparse.loads(payload, deep)
    except orjson.JSONDecodeError:
        raise QueryParseError(DESERIALIZE_FAILED) from None
    if type(query) is not list:
        raise _parse_error(f"Expected a query to be an array, but found {json_type_name(query)}.")
    if not 1 <= len(query) <= 3:
        raise _parse_error(f"Expected 1 to 3 elements in the top-level query, but found {len(query)}.")
    raw_type = query[0]
    if not _is_number(raw_type):
        raise _parse_error(f"Expected a query type as a number, but found {json_type_name(raw_type)}.")
    global_optargs = query[2] if len(query) == 3 else None
    if len(query) == 3 and type(global_optargs) is not dict:
        raise _parse_error(f"Expected global optargs as an object, but found {json_type_name(global_optargs)}.")
    query_type = _QUERY_TYPES.get(raw_type)  # 1.0 finds START too: the hashes agree
    if query_type is None:
        raise _parse_error(f"Unrecognized QueryType: {fmt_num(raw_type)}.")
    return ParsedQuery(query_type, query[1] if len(query) >= 2 else None, global_optargs)


def _static_flag(global_optargs: dict[str, Any] | None, name: str) -> bool:
    """Read ``noreply``/``profile`` before evaluation, as the reference server
    does: ``true`` or the datum term ``[1, true]``; anything else is false."""
    if global_optargs is None:
        return False
    value = global_optargs.get(name)
    if value is True:
        return True
    return (
        type(value) is list
        and len(value) == 2
        and type(value[0]) is int
        and value[0] == TermType.DATUM
        and value[1] is True
    )
