"""Index definitions: the function's wire term with ``multi`` and ``geo``,
serialized for the catalog and for the BINARY that ``index_status`` returns
and ``index_create`` accepts (so ``rethinkdb dump``/``restore`` recreate
indexes)."""

from __future__ import annotations

import json
from typing import Any

from ..datum.errors import ReqlQueryLogicError
from ..datum.ql2 import TermType as T
from ..storage import IndexMeta

FUNCTION_PREFIX = b"$reql_index_function$"
DEFAULT_VAR = -19  # RethinkDB's variable for the implicit r.row[name] index function
DEFINITION_VERSION = 1
NOT_AN_INDEX_FUNCTION = (
    "Cannot create an sindex except from a reql_index_function returned from `index_status` in the field `function`."
)
NOT_DETERMINISTIC = "Could not prove function deterministic.  Index functions must be deterministic."


def default_function(field: str) -> list:
    """``r.row[field]`` as RethinkDB builds it: GET_FIELD(VAR(-19), field)."""
    var = [int(T.VAR), [DEFAULT_VAR]]
    return [int(T.FUNC), [[int(T.MAKE_ARRAY), [DEFAULT_VAR]], [int(T.GET_FIELD), [var, field]]]]


def constant_function(value_wire: Any) -> list:
    """A non-function argument, used as a constant (RethinkDB's CONSTANT_SHORTCUT)."""
    return [int(T.FUNC), [[int(T.MAKE_ARRAY), []], value_wire]]


def encode_definition(func: Any, multi: bool, geo: bool) -> bytes:
    payload = {"v": DEFINITION_VERSION, "func": func, "multi": multi, "geo": geo}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def decode_definition(raw: bytes) -> tuple[Any, bool, bool]:
    """(function wire term, multi, geo); ValueError if ``raw`` is not ours."""
    payload = json.loads(raw.decode())
    if type(payload) is not dict or payload.get("v") != DEFINITION_VERSION or "func" not in payload:
        raise ValueError("unknown index definition format")
    func = payload["func"]
    if type(func) is not list or not func or func[0] != T.FUNC:
        raise ValueError("the definition does not hold a function")
    return func, bool(payload.get("multi")), bool(payload.get("geo"))


def function_of(meta: IndexMeta) -> Any:
    return decode_definition(meta.function)[0]


def index_binary(meta: IndexMeta) -> bytes:
    """The ``function`` field of index_status (flags as they are now)."""
    return FUNCTION_PREFIX + encode_definition(function_of(meta), meta.multi, meta.geo)


def parse_index_binary(blob: bytes) -> tuple[Any, bool, bool]:
    if not blob.startswith(FUNCTION_PREFIX):
        raise ReqlQueryLogicError(NOT_AN_INDEX_FUNCTION)
    try:
        return decode_definition(blob[len(FUNCTION_PREFIX) :])
    except (ValueError, UnicodeDecodeError) as e:
        raise ReqlQueryLogicError(
            f"Binary blob passed to index create could not be interpreted as a reql_index_function ({e})."
        ) from None


def simple_field(func: Any) -> str | None:
    """The field name if ``func`` is just ``row[field]`` (the usual index), else None."""
    try:
        tt, (params, body), *_ = func
        ptt, param_ids, *_ = params
        btt, (target, field), *_ = body
    except (TypeError, ValueError):
        return None
    if tt != T.FUNC or ptt != T.MAKE_ARRAY or btt not in (T.GET_FIELD, T.BRACKET) or type(field) is not str:
        return None
    if type(target) is not list or not target:
        return None
    if target[0] == T.IMPLICIT_VAR:
        return field if len(param_ids) == 1 else None
    if target[0] == T.VAR and len(target) >= 2 and target[1] == param_ids and len(param_ids) == 1:
        return field
    return None
