"""Parsing JSON text as ``r.json`` does in RethinkDB (rapidjson's grammar).

Valid text is parsed by the standard library; when it fails (or may hold a
lone surrogate escape), ``diagnose`` re-reads the text the way rapidjson
does, to report rapidjson's error message.
"""

from __future__ import annotations

import json
from typing import Any

from .. import datum as D
from ..datum.errors import ReqlQueryLogicError

WHITESPACE = " \t\n\r"
ESCAPES = '"\\/bfnrt'
HEX_DIGITS = "0123456789abcdefABCDEF"
DIGITS = "0123456789"


class ParseError(Exception):
    pass


class _Rejected(Exception):
    """Raised by the stdlib hooks where rapidjson would have failed."""


def _reject_constant(name: str) -> Any:
    raise _Rejected(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Rejected(text)
    return value


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise ReqlQueryLogicError(f"Duplicate key {D.json_string(k)} in JSON.")
        out[k] = v
    return out


def parse_json(text: str) -> Any:
    """The JSON value of ``text`` (not yet a datum); ReqlQueryLogicError if invalid."""
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
        )
        failed = False
    except RecursionError:
        raise ReqlQueryLogicError("Nesting depth limit exceeded.") from None
    except (ValueError, _Rejected):
        value, failed = None, True
    problem = diagnose(text) if failed or "\\u" in text else None
    if problem is not None:
        raise ReqlQueryLogicError(f'Failed to parse "{text}" as JSON: {problem}')
    if failed:
        raise ReqlQueryLogicError(f'Failed to parse "{text}" as JSON: Invalid value.')
    return value


def diagnose(text: str) -> str | None:
    """rapidjson's message for the first error in ``text``, or None if it is valid."""
    try:
        _Reader(text).document()
    except ParseError as e:
        return str(e)
    except RecursionError:
        return None
    return None


class _Reader:
    """A recursive-descent reader that fails where and how rapidjson fails."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else "\0"

    def skip_ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in WHITESPACE:
            self.i += 1

    def document(self) -> None:
        self.skip_ws()
        if self.i >= len(self.s):
            raise ParseError("The document is empty.")
        self.value()
        self.skip_ws()
        if self.i < len(self.s):
            raise ParseError("The document root must not follow by other values.")

    def value(self) -> None:
        c = self.peek()
        if c == "n":
            self.literal("null")
        elif c == "t":
            self.literal("true")
        elif c == "f":
            self.literal("false")
        elif c == '"':
            self.string()
        elif c == "{":
            self.obj()
        elif c == "[":
            self.array()
        else:
            self.number()

    def literal(self, word: str) -> None:
        if not self.s.startswith(word, self.i):
            raise ParseError("Invalid value.")
        self.i += len(word)

    def obj(self) -> None:
        self.i += 1
        self.skip_ws()
        if self.peek() == "}":
            self.i += 1
            return
        while True:
            if self.peek() != '"':
                raise ParseError("Missing a name for object member.")
            self.string()
            self.skip_ws()
            if self.peek() != ":":
                raise ParseError("Missing a colon after a name of object member.")
            self.i += 1
            self.skip_ws()
            self.value()
            self.skip_ws()
            c = self.peek()
            self.i += 1
            if c == "}":
                return
            if c != ",":
                raise ParseError("Missing a comma or '}' after an object member.")
            self.skip_ws()

    def array(self) -> None:
        self.i += 1
        self.skip_ws()
        if self.peek() == "]":
            self.i += 1
            return
        while True:
            self.value()
            self.skip_ws()
            c = self.peek()
            self.i += 1
            if c == "]":
                return
            if c != ",":
                raise ParseError("Missing a comma or ']' after an array element.")
            self.skip_ws()

    def string(self) -> None:
        self.i += 1
        while True:
            if self.i >= len(self.s):
                raise ParseError("Missing a closing quotation mark in string.")
            c = self.s[self.i]
            self.i += 1
            if c == '"':
                return
            if c == "\\":
                self.escape()
            elif c < " ":
                raise ParseError("Invalid encoding in string.")

    def escape(self) -> None:
        c = self.peek()
        self.i += 1
        if c in ESCAPES:
            return
        if c != "u":
            raise ParseError("Invalid escape character in string.")
        code = self.hex4()
        if 0xD800 <= code <= 0xDBFF:
            if not self.s.startswith("\\u", self.i):
                raise ParseError("The surrogate pair in string is invalid.")
            self.i += 2
            if not 0xDC00 <= self.hex4() <= 0xDFFF:
                raise ParseError("The surrogate pair in string is invalid.")
        elif 0xDC00 <= code <= 0xDFFF:
            raise ParseError("The surrogate pair in string is invalid.")

    def hex4(self) -> int:
        digits = self.s[self.i:self.i + 4]
        if len(digits) < 4 or any(d not in HEX_DIGITS for d in digits):
            raise ParseError("Incorrect hex digit after \\u escape in string.")
        self.i += 4
        return int(digits, 16)

    def number(self) -> None:
        start = self.i
        if self.peek() == "-":
            self.i += 1
        if self.peek() == "0":
            self.i += 1
        elif self.peek() in DIGITS and self.peek() != "\0":
            self.digits()
        else:
            raise ParseError("Invalid value.")
        if self.peek() == ".":
            self.i += 1
            if self.peek() not in DIGITS or self.peek() == "\0":
                raise ParseError("Miss fraction part in number.")
            self.digits()
        if self.peek() in "eE" and self.peek() != "\0":
            self.i += 1
            if self.peek() in "+-" and self.peek() != "\0":
                self.i += 1
            if self.peek() not in DIGITS or self.peek() == "\0":
                raise ParseError("Miss exponent in number.")
            self.digits()
        if abs(float(self.s[start:self.i])) == float("inf"):
            raise ParseError("Number too big to be stored in double.")

    def digits(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in DIGITS:
            self.i += 1
