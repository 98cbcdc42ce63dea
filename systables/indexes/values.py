"""Index values: what RethinkDB can turn into secondary keys, and the
``fn(doc) -> [values]`` the storage engine calls on every write for an index
that is a plain field (the common case, without the evaluator)."""

from __future__ import annotations

from typing import Any, Callable

from .. import datum as D

IndexFn = Callable[[dict], list]


def valid_key(v: Any) -> bool:
    """Numbers, strings, bools, binary, times, and arrays of these (no null,
    objects, geometry or r.minval/r.maxval), as ``datum_t::print_secondary``."""
    t = type(v)
    if t is str or t is int or t is float or t is bool or t is bytes:
        return True
    if t is list:
        return all(valid_key(x) for x in v)
    return t is dict and v.get(D.REQL_TYPE) == "TIME"


def valid_geo_key(v: Any) -> bool:
    return type(v) is dict and v.get(D.REQL_TYPE) == "GEOMETRY"


def index_values(value: Any, multi: bool, geo: bool) -> list:
    """The entries a function result gives: a multi index indexes each element
    of an array (skipping the ones that cannot be keys); invalid keys give none."""
    ok = valid_geo_key if geo else valid_key
    if multi and type(value) is list:
        return [x for x in value if ok(x)]
    return [value] if ok(value) else []



def field_index_fn(field: str, multi: bool, geo: bool) -> IndexFn:
    """``row[field]`` without the evaluator: the hot path of every write."""
    if not multi and not geo:

        def fn(doc: dict) -> list:
            v = doc.get(field)
            return [v] if valid_key(v) else []

        return fn

    def fn_general(doc: dict) -> list:
        if field not in doc:
            return []
        return index_values(doc[field], multi, geo)

    return fn_general
