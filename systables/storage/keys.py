"""Order-preserving byte encoding of datums, primary-key rules, index entries.

Two encodings:

* ``encode_key(v)``: the *order key*.  ``encode_key(a) < encode_key(b)``
  (bytewise) exactly when ``datum.cmp(a, b) < 0``, and equal exactly when
  ``cmp`` says equal.  Used for primary keys, scan bounds and index entry
  keys.  A TIME contributes only its epoch, as in RethinkDB's key strings, so
  the same instant in two timezones is the same primary key.
* ``encode(v)``: the order key followed by the timezone of every TIME in
  ``v`` (in traversal order), so that ``decode(encode(v)) == v`` exactly.  Its
  order agrees with ``cmp`` whenever ``cmp`` is not 0 and breaks ties by the
  timezones.  (Writing each timezone right after its epoch would keep the round
  trip but put ``[t@+05:30, 1]`` after ``[t@+00:00, 2]``.)

Order key layout: one tag byte per value, tags ordered like RethinkDB's type
names (ARRAY < BOOL < NULL < NUMBER < OBJECT < PTYPE<BINARY> <
PTYPE<GEOMETRY> < PTYPE<TIME> < STRING), then:

* NUMBER: the IEEE double, sign bit flipped (and all bits for negatives) so
  that bytes sort like numbers; -0.0 is written as 0.0.
* STRING / BINARY: the bytes with 0x00 escaped as 00 FF, ended by 00 00, so a
  string sorts before its extensions and the encoding is self-delimiting.
* ARRAY: the elements, then 00 (every tag is above 00, so shorter arrays win).
* OBJECT / GEOMETRY: for each key in sorted order 01, key as a string body,
  value; then 00 (the same order as ``cmp``: key, value, then length).
* TIME: the epoch as a NUMBER body.

Both encodings are prefix-free: no value's encoding is a proper prefix of
another's.  Index entries and scan bounds rely on that.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from ..datum import MAXVAL, MINVAL, REQL_TYPE, type_name
from .errors import BadKeyType, KeyTooLong

# r.minval / r.maxval only occur inside scan bounds (``between([1, r.minval], ..)``),
# never in stored keys: below / above every type, but above an array's end marker,
# so that ``[1] < [1, r.minval]`` as in RethinkDB.
TAG_MINVAL = 0x08
TAG_ARRAY = 0x10
TAG_BOOL = 0x20
TAG_NULL = 0x30
TAG_NUMBER = 0x40
TAG_OBJECT = 0x50
TAG_BINARY = 0x60
TAG_GEOMETRY = 0x70
TAG_TIME = 0x80
TAG_STRING = 0x90
TAG_MAXVAL = 0xF0

_END = 0x00
_FIELD = 0x01
_STR_END = b"\x00\x00"
_SIGN = 1 << 63
_MASK = (1 << 64) - 1
_DOUBLE = struct.Struct(">d")
_U64 = struct.Struct(">Q")
_U16 = struct.Struct(">H")
_TRAILER = struct.Struct(">HH")  # duplicate tag, length of the primary-key encoding
_INT64_LIMIT = 2**63

# RethinkDB's limit on its internal primary-key string (type letter included).
MAX_PRIMARY_KEY_SIZE = 128
# Encoded index values longer than this are truncated in the entry key; the
# full encoding is then kept as the entry's value (see ``index_entry``).
MAX_INDEX_VALUE_BYTES = 256
MAX_INDEX_TAG = 0xFFFF
_ENTRY_TRAILER = 4  # u16 duplicate tag + u16 length of the primary key encoding


# ---------------------------------------------------------------------------
# Encoding


def encode_key(v: Any) -> bytes:
    """The order key of any datum (equal exactly when ``cmp`` says equal)."""
    t = type(v)
    if t is str:
        return b"\x90" + _escape(v.encode())
    if t is int or t is float:
        return b"\x40" + _number(v)
    out = bytearray()
    _encode_into(v, out, None)
    return bytes(out)


def encode(v: Any) -> bytes:
    """The order key plus timezones: round-trips exactly through ``decode``."""
    return encode_both(v)[1]


def encode_both(v: Any) -> tuple[bytes, bytes]:
    """(``encode_key(v)``, ``encode(v)``) in one pass."""
    t = type(v)
    if t is str or t is int or t is float:
        key = encode_key(v)
        return key, key
    out = bytearray()
    zones: list[str] = []
    _encode_into(v, out, zones)
    key = bytes(out)
    return key, key + b"".join(_escape(z.encode()) for z in zones)


def _escape(raw: bytes) -> bytes:
    return raw.replace(b"\x00", b"\x00\xff") + _STR_END


def _number(x: int | float) -> bytes:
    u = _U64.unpack(_DOUBLE.pack(float(x) + 0.0))[0]  # + 0.0 turns -0.0 into 0.0
    return _U64.pack(u ^ _MASK if u & _SIGN else u | _SIGN)


def _encode_into(v: Any, out: bytearray, zones: list[str] | None) -> None:
    t = type(v)
    if t is str:
        out.append(TAG_STRING)
        out += _escape(v.encode())
    elif t is int or t is float:
        out.append(TAG_NUMBER)
        out += _number(v)
    elif t is bool:
        out.append(TAG_BOOL)
        out.append(1 if v else 0)
    elif t is list:
        out.append(TAG_ARRAY)
        for item in v:
            _encode_into(item, out, zones)
        out.append(_END)
    elif t is bytes:
        out.append(TAG_BINARY)
        out += _escape(v)
    elif v is None:
        out.append(TAG_NULL)
    elif t is dict:
        _encode_dict(v, out, zones)
    elif v is MINVAL or v is MAXVAL:
        out.append(TAG_MINVAL if v is MINVAL else TAG_MAXVAL)
    else:
        raise TypeError(f"not a datum: {v!r}")


def _encode_dict(v: dict, out: bytearray, zones: list[str] | None) -> None:
    rt = v.get(REQL_TYPE)
    if rt == "TIME":
        out.append(TAG_TIME)
        out += _number(v["epoch_time"])
        if zones is not None:
            zones.append(v["timezone"])
        return
    if rt is None:
        out.append(TAG_OBJECT)
    elif rt == "GEOMETRY":
        out.append(TAG_GEOMETRY)
    else:
        raise TypeError(f"cannot encode pseudo-type {rt!r}")
    for key in sorted(v):
        out.append(_FIELD)
        out += _escape(key.encode())
        _encode_into(v[key], out, zones)
    out.append(_END)


# ---------------------------------------------------------------------------
# Decoding


DEFAULT_TIMEZONE = "+00:00"


def decode(data: bytes) -> Any:
    """Inverse of ``encode``; an order key alone decodes with times in UTC."""
    times: list[dict] = []
    value, pos = _decode_at(data, 0, times)
    if pos < len(data):  # the timezones follow the order key
        for time in times:
            zone, pos = _unescape(data, pos)
            time["timezone"] = zone.decode()
    if pos != len(data):
        raise ValueError("trailing bytes after encoded datum")
    return value


def order_key_of(encoded: bytes) -> bytes:
    """The order-key part of an ``encode`` result."""
    return encoded[: _decode_at(encoded, 0, [])[1]]


def _decode_at(data: bytes, pos: int, times: list[dict]) -> tuple[Any, int]:
    tag = data[pos]
    pos += 1
    if tag == TAG_STRING:
        raw, pos = _unescape(data, pos)
        return raw.decode(), pos
    if tag == TAG_NUMBER:
        return _read_number(data, pos), pos + 8
    if tag == TAG_ARRAY:
        items = []
        while data[pos] != _END:
            item, pos = _decode_at(data, pos, times)
            items.append(item)
        return items, pos + 1
    if tag == TAG_BOOL:
        return data[pos] == 1, pos + 1
    if tag == TAG_NULL:
        return None, pos
    if tag == TAG_BINARY:
        return _unescape(data, pos)
    if tag == TAG_TIME:
        time = {REQL_TYPE: "TIME", "epoch_time": _read_number(data, pos), "timezone": DEFAULT_TIMEZONE}
        times.append(time)
        return time, pos + 8
    if tag == TAG_OBJECT or tag == TAG_GEOMETRY:
        obj: dict[str, Any] = {}
        while data[pos] == _FIELD:
            key, pos = _unescape(data, pos + 1)
            obj[key.decode()], pos = _decode_at(data, pos, times)
        return obj, pos + 1
    raise ValueError(f"bad type tag {tag:#x} at {pos - 1}")


def _read_number(data: bytes, pos: int) -> int | float:
    u = _U64.unpack_from(data, pos)[0]
    u = u ^ _SIGN if u & _SIGN else u ^ _MASK
    f = _DOUBLE.unpack(_U64.pack(u))[0]
    # Same representation as datum.norm_num: integral doubles below 2**63 are ints.
    if f.is_integer() and -_INT64_LIMIT < f < _INT64_LIMIT:
        return int(f)
    return f


def _unescape(data: bytes, pos: int) -> tuple[bytes, int]:
    out = bytearray()
    while True:
        zero = data.index(0, pos)
        out += data[pos:zero]
        if data[zero + 1] == 0xFF:
            out.append(0)
            pos = zero + 2
        else:
            return bytes(out), zero + 2


# ---------------------------------------------------------------------------
# Primary keys


def encode_pk(key: Any) -> bytes:
    """Encode a primary key, enforcing RethinkDB's type and length rules."""
    t = type(key)
    if t is str:
        raw = key.encode()
        if len(raw) >= MAX_PRIMARY_KEY_SIZE:
            raise KeyTooLong(key, len(raw) + 1)
        return b"\x90" + _escape(raw)
    if t is int or t is float:
        if t is float and not math.isfinite(key):
            raise BadKeyType(key, "NUMBER")
        return b"\x40" + _number(key)
    check_pk(key)
    return encode_key(key)


def check_pk(key: Any) -> None:
    """Raise BadKeyType / KeyTooLong unless ``key`` may be a primary key."""
    _check_pk_type(key, key)
    size = primary_key_size(key)
    if size > MAX_PRIMARY_KEY_SIZE:
        raise KeyTooLong(key, size)


def _check_pk_type(key: Any, whole: Any) -> None:
    t = type(key)
    if t is list:
        for item in key:
            _check_pk_type(item, whole)
    elif key is None or (t is dict and key.get(REQL_TYPE) != "TIME"):
        raise BadKeyType(whole, type_name(key))


def primary_key_size(key: Any) -> int:
    """Length of RethinkDB's internal key string for ``key`` (``print_primary``).

    Modelled on RethinkDB's layout so the 127-character limit bites where it
    does there: string ``S`` + UTF-8 bytes; number ``N`` + 16 hex digits +
    ``#`` + ``%.20g``; bool ``B`` + one letter; binary ``PBINARY:`` + bytes;
    time ``PTIME:`` + the number's string; array ``A`` + each element's string
    followed by a NUL byte.
    """
    t = type(key)
    if t is str:
        return 1 + len(key.encode())
    if t is int or t is float:
        return 18 + len("%.20g" % float(key))
    if t is bool:
        return 2
    if t is bytes:
        return 8 + len(key)
    if t is list:
        return 1 + sum(primary_key_size(item) + 1 for item in key)
    return 6 + primary_key_size(key["epoch_time"])  # TIME (the only dict allowed)


# ---------------------------------------------------------------------------
# Secondary index entries
#
# Entry key body: order key of the value (truncated to MAX_INDEX_VALUE_BYTES)
# + primary-key encoding + u16 duplicate tag + u16 length of the primary-key
# encoding.  Both encodings are prefix-free, so entries sort by (index value,
# primary key, tag) in ``cmp`` order.  The entry's stored value is empty when
# the key holds the whole value; otherwise (truncated, or times whose zones
# the order key drops) it is ``encode(value)``.  Truncated entries sharing a
# prefix are contiguous, and the scan layer re-sorts each such run by the full
# order keys and applies bounds to them.


def index_entry(order_key: bytes, exact: bytes, pk_enc: bytes, tag: int) -> tuple[bytes, bytes]:
    """(key body, stored value) of one index entry; see ``encode_both``."""
    trailer = _TRAILER.pack(tag, len(pk_enc))
    if len(order_key) > MAX_INDEX_VALUE_BYTES:
        return order_key[:MAX_INDEX_VALUE_BYTES] + pk_enc + trailer, exact
    return order_key + pk_enc + trailer, b"" if exact == order_key else exact


def split_index_entry(body: bytes) -> tuple[bytes, bytes]:
    """(order key as stored in the entry key, primary-key encoding) of a key body."""
    pk_len = _U16.unpack_from(body, len(body) - 2)[0]
    value_end = len(body) - _ENTRY_TRAILER - pk_len
    return body[:value_end], body[value_end:-_ENTRY_TRAILER]


def truncated_value(order_key: bytes) -> bytes:
    return order_key[:MAX_INDEX_VALUE_BYTES]
