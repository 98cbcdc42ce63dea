"""Resume tokens: where in a table's change log a notification came from.

A token is opaque to clients: ``changes(include_resume_token=True)`` hands
one out with every notification, ``changes(resume_from=TOKEN)`` starts after
it.  It holds the table's id and the change's log position, so that a token
given to another table's feed is refused rather than misread.
"""

from __future__ import annotations

import base64
import binascii
import struct

_POSITION = struct.Struct(">Q")
_VERSION = b"\x01"


def resume_token(table_id: str, position: int) -> str:
    raw = _VERSION + _POSITION.pack(position) + table_id.encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_resume_token(token: str) -> tuple[str, int]:
    """(table id, position); ValueError for anything that is not a token."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as e:
        raise ValueError(token) from e
    if len(raw) <= 1 + _POSITION.size or raw[:1] != _VERSION:
        raise ValueError(token)
    try:
        table_id = raw[1 + _POSITION.size :].decode()
    except UnicodeDecodeError as e:
        raise ValueError(token) from e
    return table_id, _POSITION.unpack_from(raw, 1)[0]
