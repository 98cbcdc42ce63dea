"""Order-preserving byte encoding of datums, primary-key rules, index entries.

``encode(a) < encode(b)`` (bytewise) exactly when ``datum.cmp(a, b) < 0``, with
one documented refinement: a TIME is encoded as its epoch followed by its
timezone, so that ``decode`` gives the timezone back.  Two times at the same
instant in different timezones therefore encode differently (ordered by the
timezone text) although ``cmp`` calls them equal.

Layout: one tag byte per value, tags ordered like RethinkDB's type names
(ARRAY < BOOL < NULL < NUMBER < OBJECT < PTYPE<BINARY> < PTYPE<GEOMETRY> <
PTYPE<TIME> < STRING), then:

* NUMBER: the IEEE double, sign bit flipped (and all bits for negatives) so
  that bytes sort like numbers; -0.0 is written as 0.0.
* STRING / BINARY: the bytes with 0x00 escaped as 00 FF, ended by 00 00, so a
  string sorts before its extensions and the encoding is self-delimiting.
* ARRAY: the elements, then 00 (every tag is above 00, so shorter arrays win).
* OBJECT / GEOMETRY: for each key in sorted order 01, key as a string body,
  value; then 00 (the same order as ``cmp``: key, value, then length).
* TIME: epoch as NUMBER (no tag), timezone as a string body.

Every encoding is prefix-free: no value's encoding is a proper prefix of
another's.  Index entries rely on that.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from ..reql.datum import REQL_TYPE, type_name
from .errors import BadKeyType, KeyTooLong

TAG_ARRAY = 0x10
TAG_BOOL = 0x20
TAG_NULL = 0x30
TAG_NUMBER = 0x40
TAG_OBJECT = 0x50
TAG_BINARY = 0x60
TAG_GEOMETRY = 0x70
TAG_TIME = 0x80
TAG_STRING = 0x90

_END = 0x00
_FIELD = 0x01
_STR_END = b"\x00\x00"
_SIGN = 1 << 63
_MASK = (1 << 64) - 1
_DOUBLE = struct.Struct(">d")
_U64 = struct.Struct(">Q")
_U16 = struct.Struct(">H")
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


def encode(v: Any) -> bytes:
    """Order-preserving encoding of any datum (index values, scan bounds)."""
    t = type(v)
    if t is str:
        return b"\x90" + _escape(v.encode())
    if t is int or t is float:
        return b"\x40" + _number(v)
    out = bytearray()
    _encode_into(v, out)
    return bytes(out)


def _escape(raw: bytes) -> bytes:
    return raw.replace(b"\x00", b"\x00\xff") + _STR_END


def _number(x: int | float) -> bytes:
    u = _U64.unpack(_DOUBLE.pack(float(x) + 0.0))[0]  # + 0.0 turns -0.0 into 0.0
    return _U64.pack(u ^ _MASK if u & _SIGN else u | _SIGN)


def _encode_into(v: Any, out: bytearray) -> None:
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
            _encode_into(item, out)
        out.append(_END)
    elif t is bytes:
        out.append(TAG_BINARY)
        out += _escape(v)
    elif v is None:
        out.append(TAG_NULL)
    elif t is dict:
        _encode_dict(v, out)
    else:
        raise TypeError(f"not a datum: {v!r}")


def _encode_dict(v: dict, out: bytearray) -> None:
    rt = v.get(REQL_TYPE)
    if rt == "TIME":
        out.append(TAG_TIME)
        out += _number(v["epoch_time"])
        out += _escape(v["timezone"].encode())
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
        _encode_into(v[key], out)
    out.append(_END)


# ---------------------------------------------------------------------------
# Decoding


def decode(data: bytes) -> Any:
    value, pos = _decode_at(data, 0)
    if pos != len(data):
        raise ValueError("trailing bytes after encoded datum")
    return value


def _decode_at(data: bytes, pos: int) -> tuple[Any, int]:
    tag = data[pos]
    pos += 1
    if tag == TAG_STRING:
        raw, pos = _unescape(data, pos)
        return raw.decode(), pos
    if tag == TAG_NUMBER:
        return _read_number(data, pos), pos + 8
    if tag == TAG_ARRAY:
        return _decode_array(data, pos)
    if tag == TAG_BOOL:
        return data[pos] == 1, pos + 1
    if tag == TAG_NULL:
        return None, pos
    if tag == TAG_BINARY:
        return _unescape(data, pos)
    if tag == TAG_TIME:
        epoch = _read_number(data, pos)
        tz, pos = _unescape(data, pos + 8)
        return {REQL_TYPE: "TIME", "epoch_time": epoch, "timezone": tz.decode()}, pos
    if tag == TAG_OBJECT or tag == TAG_GEOMETRY:
        return _decode_fields(data, pos)
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


def _decode_array(data: bytes, pos: int) -> tuple[list, int]:
    items = []
    while data[pos] != _END:
        item, pos = _decode_at(data, pos)
        items.append(item)
    return items, pos + 1


def _decode_fields(data: bytes, pos: int) -> tuple[dict, int]:
    obj: dict[str, Any] = {}
    while data[pos] == _FIELD:
        key, pos = _unescape(data, pos + 1)
        obj[key.decode()], pos = _decode_at(data, pos)
    return obj, pos + 1


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
    return encode(key)


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
# Entry key body: value encoding (truncated to MAX_INDEX_VALUE_BYTES) +
# primary-key encoding + u16 duplicate tag + u16 length of the primary-key
# encoding.  Both encodings are prefix-free, so entries sort by (index value,
# primary key, tag).  When the value was truncated, the entry's stored value is
# the full value encoding; otherwise it is empty.  Truncated entries sharing a
# prefix are contiguous, and the scan layer re-sorts each such run by the full
# values (and applies bounds to the full values).


def index_entry(value_enc: bytes, pk_enc: bytes, tag: int) -> tuple[bytes, bytes]:
    """(key body, stored value) of one index entry."""
    trailer = _U16.pack(tag) + _U16.pack(len(pk_enc))
    if len(value_enc) > MAX_INDEX_VALUE_BYTES:
        return value_enc[:MAX_INDEX_VALUE_BYTES] + pk_enc + trailer, value_enc
    return value_enc + pk_enc + trailer, b""


def split_index_entry(body: bytes) -> tuple[bytes, bytes]:
    """(value encoding as stored in the key, primary-key encoding) of an entry key body."""
    pk_len = _U16.unpack_from(body, len(body) - 2)[0]
    value_end = len(body) - _ENTRY_TRAILER - pk_len
    return body[:value_end], body[value_end:-_ENTRY_TRAILER]


def truncated_value(value_enc: bytes) -> bytes:
    return value_enc[:MAX_INDEX_VALUE_BYTES]


def is_truncated(value_enc: bytes) -> bool:
    return len(value_enc) > MAX_INDEX_VALUE_BYTES
