"""The GEOMETRY pseudo-type's syntax check, for objects sent by a client.

A driver or a restore may send ``{"$reql_type$": "GEOMETRY", ...}`` as it is;
RethinkDB then only checks its shape (fields, and the types of ``type`` and
``coordinates``).  Whether the coordinates make a valid geometry is checked
when a geo term uses the value.  No S2 here: this runs on every literal.
"""

from __future__ import annotations

from ..datum import REQL_TYPE, type_name
from ..datum.errors import ReqlNonExistenceError, ReqlQueryLogicError

GEOMETRY = "GEOMETRY"
GEOMETRY_FIELDS = frozenset(("type", "coordinates", "crs", REQL_TYPE))


def check_geometry_syntax(obj: dict) -> dict:
    for key, value in obj.items():
        if key == "coordinates":
            if type(value) is not list:
                raise _type_error("ARRAY", value)
        elif key == "type":
            if type(value) is not str:
                raise _type_error("STRING", value)
        elif key not in GEOMETRY_FIELDS:
            raise ReqlQueryLogicError(f"Unrecognized field `{key}` found in geometry object.")
    for required in ("type", "coordinates"):
        if required not in obj:
            raise ReqlNonExistenceError(f"Field `{required}` not found in geometry object.")
    return obj


def is_geometry(v: object) -> bool:
    return type(v) is dict and v.get(REQL_TYPE) == GEOMETRY


def _type_error(expected: str, v: object) -> ReqlQueryLogicError:
    cls = ReqlNonExistenceError if v is None else ReqlQueryLogicError
    return cls(f"Expected type {expected} but found {type_name(v)}.")
