"""Object operations shared by several terms: merge (with r.literal), pluck,
without, field access."""

from __future__ import annotations

from typing import Any

from ... import datum as D
from ...datum.errors import ReqlNonExistenceError, ReqlQueryLogicError
from ..term import STRAY_LITERAL

LITERAL = "LITERAL"



def is_literal(v: Any) -> bool:
    return type(v) is dict and v.get(D.REQL_TYPE) == LITERAL


def is_plain_object(v: Any) -> bool:
    return type(v) is dict and D.REQL_TYPE not in v


def merge_docs(old: Any, patch: Any) -> Any:
    """RethinkDB's merge: objects merge recursively, anything else replaces;
    ``r.literal(v)`` inside the patch replaces (``r.literal()`` removes the field)."""
    if is_literal(patch):
        raise ReqlQueryLogicError(STRAY_LITERAL)
    if not is_plain_object(patch):
        return strip_literals(patch)
    out = dict(old) if is_plain_object(old) else {}
    for k, v in patch.items():
        if is_literal(v):
            if "value" in v:
                out[k] = v["value"]
            else:
                out.pop(k, None)
        elif is_plain_object(v):
            out[k] = merge_docs(out.get(k), v)
        else:
            out[k] = strip_literals(v)
    return out


def strip_literals(v: Any) -> Any:
    """A value outside a merge patch: any r.literal left in it is stray."""
    t = type(v)
    if t is dict:
        if v.get(D.REQL_TYPE) == LITERAL:
            raise ReqlQueryLogicError(STRAY_LITERAL)
        for x in v.values():
            strip_literals(x)
    elif t is list:
        for x in v:
            strip_literals(x)
    return v


def get_field(obj: Any, field: str) -> Any:
    if type(obj) is not dict:
        error = ReqlNonExistenceError if obj is None else ReqlQueryLogicError
        raise error(f"Cannot perform get_field on a non-object non-sequence `{D.print_datum(obj)}`.")
    try:
        return obj[field]
    except KeyError:
        raise ReqlNonExistenceError(f"No attribute `{field}` in object:\n{D.print_datum(obj)}") from None


# -- pluck / without / has_fields paths ---------------------------------------
# A selector is a string, an array of selectors, or an object {field: selector | true}.

def pluck(obj: dict, selectors: list) -> dict:
    out: dict = {}
    for sel in selectors:
        _pluck_into(obj, sel, out)
    return out


def _pluck_into(obj: dict, sel: Any, out: dict) -> None:
    t = type(sel)
    if t is str:
        if sel in obj:
            out[sel] = obj[sel]
    elif t is list:
        for s in sel:
            _pluck_into(obj, s, out)
    elif t is dict:
        for k, sub in sel.items():
            if k not in obj:
                continue
            if sub is True:
                out[k] = obj[k]
            elif sub is False:
                continue
            else:
                v = obj[k]
                if type(v) is dict:
                    inner = out.get(k) if type(out.get(k)) is dict else {}
                    _pluck_into(v, sub, inner)
                    out[k] = inner
                elif type(v) is list:
                    out[k] = [pluck(x, [sub]) for x in v if type(x) is dict]
    else:
        raise ReqlQueryLogicError(f"Invalid path argument `{D.print_datum(sel)}`.")


def without(obj: dict, selectors: list) -> dict:
    out = dict(obj)
    for sel in selectors:
        _without_from(out, sel)
    return out


def _without_from(obj: dict, sel: Any) -> None:
    t = type(sel)
    if t is str:
        obj.pop(sel, None)
    elif t is list:
        for s in sel:
            _without_from(obj, s)
    elif t is dict:
        for k, sub in sel.items():
            if k not in obj:
                continue
            if sub is True:
                obj.pop(k, None)
            elif sub is False:
                continue
            else:
                v = obj[k]
                if type(v) is dict:
                    v = dict(v)
                    _without_from(v, sub)
                    obj[k] = v
                elif type(v) is list:
                    obj[k] = [without(x, [sub]) if type(x) is dict else x for x in v]
    else:
        raise ReqlQueryLogicError(f"Invalid path argument `{D.print_datum(sel)}`.")


def has_fields(obj: Any, sel: Any) -> bool:
    t = type(sel)
    if t is str:
        return type(obj) is dict and obj.get(sel) is not None
    if t is list:
        return all(has_fields(obj, s) for s in sel)
    if t is dict:
        if type(obj) is not dict:
            return False
        for k, sub in sel.items():
            if obj.get(k) is None:
                return False
            if sub is True:
                continue
            v = obj[k]
            if type(v) is list:
                if not all(has_fields(x, sub) for x in v):
                    return False
            elif not has_fields(v, sub):
                return False
        return True
    raise ReqlQueryLogicError(f"Invalid path argument `{D.print_datum(sel)}`.")
