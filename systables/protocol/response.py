"""Response bodies, encoded as JSON bytes (wrap them with ``encode_frame``).

Keys follow the reference server's rules: ``e`` only on RUNTIME_ERROR, ``n``
only (and always) on SUCCESS_SEQUENCE / SUCCESS_PARTIAL, ``b`` on every error,
``p`` only when a profile is given.

Datums are written as plain JSON except ``bytes``, which becomes the BINARY
pseudo-type, and ``r.minval``/``r.maxval``, which cannot be written (RethinkDB's
QUERY_LOGIC error).  No per-value walk is made: datums already hold integral
numbers as ``int`` (see ``systables.datum``), and orjson calls
``_encode_special`` only for values it cannot write natively.

Batches are built from rows encoded one by one (``encode_datum``), because
the session measures a batch's size in bytes as it fills it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson

from systables.datum import MinMaxVal, binary_object
from systables.datum.errors import ReqlError, ReqlQueryLogicError
from systables.datum.ql2 import ErrorType, ResponseType

_ATOM = int(ResponseType.SUCCESS_ATOM)
_SEQUENCE = int(ResponseType.SUCCESS_SEQUENCE)
_PARTIAL = int(ResponseType.SUCCESS_PARTIAL)
_SERVER_INFO = int(ResponseType.SERVER_INFO)
_CLIENT_ERROR = int(ResponseType.CLIENT_ERROR)
_COMPILE_ERROR = int(ResponseType.COMPILE_ERROR)
_RUNTIME_ERROR = int(ResponseType.RUNTIME_ERROR)

_WAIT_COMPLETE = orjson.dumps({"t": int(ResponseType.WAIT_COMPLETE), "r": []})
EMPTY_SEQUENCE = orjson.dumps({"t": _SEQUENCE, "r": [], "n": []})

Profile = list[Any]
Rows = list[Any] | tuple[Any, ...]


def _encode_special(value: Any) -> dict[str, str]:
    if type(value) is bytes:
        return binary_object(value)
    if type(value) is MinMaxVal:
        raise ReqlQueryLogicError(f"Cannot convert `{value!r}` to JSON.")
    raise TypeError(f"not a datum: {type(value).__name__}")


def _dumps(value: Any) -> bytes:
    """JSON of a response or a datum; a datum that cannot be written raises its
    ReQL error (the caller answers with it), anything else TypeError."""
    try:
        return orjson.dumps(value, default=_encode_special)
    except orjson.JSONEncodeError as e:
        cause = e.__cause__ or e.__context__
        if isinstance(cause, ReqlError):
            raise cause from None
        if str(e) == "Recursion limit reached":
            return _dumps_deep(value)
        raise TypeError(str(e)) from None


def _dumps_deep(value: Any) -> bytes:
    """A value nested deeper than orjson writes (254 levels): the standard
    library's encoder, recursive in C, which the event loop's large stack and
    recursion limit allow for (see ``cli.LOOP_STACK_BYTES``)."""
    try:
        text = json.dumps(value, default=_encode_special, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode()
    except (ValueError, RecursionError) as e:  # ValueError: a lone surrogate
        raise TypeError(str(e)) from None


encode_datum = _dumps


def _with_profile(response: dict[str, Any], profile: Profile | None) -> dict[str, Any]:
    if profile is not None:
        response["p"] = profile
    return response


def atom(value: Any, profile: Profile | None = None) -> bytes:
    return _dumps(_with_profile({"t": _ATOM, "r": [value]}, profile))


def encoded_atom(encoded: bytes, profile: Profile | None = None) -> bytes:
    """SUCCESS_ATOM around a datum already encoded with ``encode_datum``."""
    tail = b"]" if profile is None else b'],"p":' + _dumps(profile)
    return b'{"t":%d,"r":[' % _ATOM + encoded + tail + b"}"


def sequence(rows: Rows, profile: Profile | None = None, notes: Iterable[int] = ()) -> bytes:
    """Final batch of a stream (SUCCESS_SEQUENCE)."""
    if not rows and profile is None and not notes:
        return EMPTY_SEQUENCE
    return _batch(_SEQUENCE, rows, notes, profile)


def partial(rows: Rows, notes: Iterable[int] = (), profile: Profile | None = None) -> bytes:
    """A batch with more to come (SUCCESS_PARTIAL)."""
    return _batch(_PARTIAL, rows, notes, profile)


def _batch(response_type: int, rows: Rows, notes: Iterable[int], profile: Profile | None) -> bytes:
    response = _with_profile({"t": response_type, "r": rows}, profile)
    response["n"] = [int(note) for note in notes]
    return _dumps(response)


def encoded_batch(rows: list[bytes], *, final: bool, notes: Iterable[int] = (), profile: Profile | None = None) -> bytes:
    """A batch of rows already encoded with ``encode_datum``: SUCCESS_SEQUENCE
    when ``final``, else SUCCESS_PARTIAL."""
    head = b'{"t":%d,"r":[' % (_SEQUENCE if final else _PARTIAL)
    tail = b'],"n":' + orjson.dumps([int(note) for note in notes])
    if profile is not None:
        tail += b',"p":' + _dumps(profile)
    return head + b",".join(rows) + tail + b"}"


def wait_complete() -> bytes:
    return _WAIT_COMPLETE


def server_info(info: dict[str, Any]) -> bytes:
    return _dumps({"t": _SERVER_INFO, "r": [info]})


def client_error(message: str) -> bytes:
    return _dumps({"t": _CLIENT_ERROR, "r": [message], "b": []})


def compile_error(message: str, backtrace: list[int | str], profile: Profile | None = None) -> bytes:
    return _dumps(_with_profile({"t": _COMPILE_ERROR, "r": [message], "b": backtrace}, profile))


def runtime_error(
    error_type: ErrorType | None,
    message: str,
    backtrace: list[int | str],
    profile: Profile | None = None,
) -> bytes:
    """RUNTIME_ERROR; ``error_type=None`` omits ``e`` (drivers then raise their base runtime error)."""
    response: dict[str, Any] = {"t": _RUNTIME_ERROR}
    if error_type is not None:
        response["e"] = int(error_type)
    response["r"] = [message]
    response["b"] = backtrace
    return _dumps(_with_profile(response, profile))


def interrupted(message: str) -> bytes:
    """A query interrupted (killed, closed, shut down): OP_INDETERMINATE, no location."""
    return runtime_error(ErrorType.OP_INDETERMINATE, message, [])


def time_limit_exceeded(message: str) -> bytes:
    """A query killed by its own time limit: OP_FAILED (the limit it was given
    did fail it, unlike a kill from outside), no location."""
    return runtime_error(ErrorType.OP_FAILED, message, [])


def error(exc: ReqlError, profile: Profile | None = None) -> bytes:
    """The response for a raised ``ReqlError`` of any kind."""
    if exc.response_type == ResponseType.CLIENT_ERROR:
        return client_error(exc.message)
    if exc.response_type == ResponseType.COMPILE_ERROR:
        return compile_error(exc.message, exc.backtrace(), profile)
    return runtime_error(exc.error_type, exc.message, exc.backtrace(), profile)
