"""JSON parsing that never holds the interpreter for long, for large inputs.

orjson parses a 50 MB document in one C call of 0.1-2 s, holding the GIL all
along: even in a worker thread, that freezes the event loop.  For inputs past
``CHUNK`` bytes, ``loads`` parses the document as pieces of about ``CHUNK``
bytes, one orjson call each: runs of consecutive members of an array or
object are parsed together, a member larger than that is split further, and
long strings are decoded in slices.  Between two pieces the interpreter can
switch threads, so run it in a worker thread.

Splitting needs the commas that separate members.  Brackets and commas only
mislead inside strings, so a first pass (regular-expression matches in C over
runs of plain text and plain strings, a few kilobytes each) lists the strings
that hold a bracket, a comma or an escape, and the long ones; the nesting
depth between two points is then a count of brackets outside them.

The result is the value orjson gives for the whole input, and a malformed
input raises ``orjson.JSONDecodeError`` (a ``ValueError``) as orjson does.

orjson refuses documents nested deeper than 1024 levels; RethinkDB accepts
queries and documents nested 100,000 deep, so those are parsed again by
``loads_deep``: an explicit stack for the brackets (no recursion, safe on any
thread's stack), orjson for every scalar.  It is about a microsecond per token,
so callers on the event loop pass ``deep=False`` and get ``TooDeep`` instead,
to parse such a document in a worker thread.
"""

from __future__ import annotations

import bisect
import codecs
import re
from typing import Any, Iterator

import orjson

CHUNK = 1 << 16
# Each level of splitting rescans the member it splits, so a document whose
# large members nest deeper than this goes to ``loads_deep`` instead (large
# documents with 32 levels of members over CHUNK bytes each are rare).
MAX_SPLIT_DEPTH = 32
STRING_SLICE = 1 << 20

# A run of text outside strings and of short strings without a bracket, comma
# or escape; bounded, so that one match never scans more than a few MB.  The
# quantifiers are possessive: no backtracking.
_PLAIN = re.compile(rb'(?:[^"]{1,4096}+|"[^"\\\[\]{},]{0,4096}+"){0,512}+', re.S)
_SPECIAL_CHAR = re.compile(rb'[\\\[\]{},]')
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.S)
_CONTROL = re.compile(rb"[\x00-\x1f]")
_WHITESPACE = b" \t\n\r"


class TooDeep(Exception):
    """Nested deeper than orjson parses, and ``loads`` was asked not to go on."""


def loads(data: bytes, deep: bool = True) -> Any:
    try:
        if len(data) <= CHUNK:
            return orjson.loads(data)
        if not _opens_deep(data):
            return _Document(data).parse()
    except orjson.JSONDecodeError as e:
        if not str(e).startswith("depth limit exceeded"):
            raise
    if not deep:
        raise TooDeep()
    return loads_deep(data)


def _opens_deep(data: bytes) -> bool:
    """Whether the first CHUNK bytes leave more than 1024 brackets open (strings
    aside, which rarely hold brackets): a chain of terms, which splitting would
    rescan at every level."""
    head = data[:CHUNK]
    return head.count(b"[") + head.count(b"{") - head.count(b"]") - head.count(b"}") > 1024


_TOKEN = re.compile(rb'[ \t\n\r]*+(?:([\[\]{},:])|("[^"\\]*+(?:\\.[^"\\]*+)*+")|([^ \t\n\r\[\]{},:"]++))', re.S)
_END = re.compile(rb"[ \t\n\r]*+")
# What the parser expects next.
_VALUE, _VALUE_OR_CLOSE, _KEY, _KEY_OR_CLOSE, _COLON, _COMMA_OR_CLOSE, _DONE = range(7)
_VALUES = (_VALUE, _VALUE_OR_CLOSE)


def loads_deep(data: bytes) -> Any:
    """``orjson.loads(data)`` for documents of any depth (see the module's notes)."""
    parser = _DeepParser()
    pos, size = 0, len(data)
    while pos < size:
        m = _TOKEN.match(data, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        parser.token(m.group(1), m.group(2), m.group(3))
    if parser.want != _DONE or _END.match(data, pos).end() != size:  # type: ignore[union-attr]
        raise _error()
    return parser.result


class _DeepParser:
    def __init__(self) -> None:
        self.open: list[Any] = []  # the arrays and objects being read, outermost first
        self.keys: list[Any] = []  # the key awaiting its value in each open object
        self.want = _VALUE
        self.result: Any = None

    def token(self, punct: bytes | None, string: bytes | None, scalar: bytes | None) -> None:
        want = self.want
        if punct is None:
            value = orjson.loads(string or scalar)  # type: ignore[arg-type]
            if string is not None and want in (_KEY, _KEY_OR_CLOSE):
                self.keys[-1] = value
                self.want = _COLON
            elif want in _VALUES:
                self.add(value)
            else:
                raise _error()
        elif punct in b"[{" and want in _VALUES:
            self.open.append([] if punct == b"[" else {})
            self.keys.append(None)
            self.want = _VALUE_OR_CLOSE if punct == b"[" else _KEY_OR_CLOSE
        elif punct in b"]}" and self.closes(punct, want):
            self.keys.pop()
            self.add(self.open.pop())
        elif punct == b"," and want == _COMMA_OR_CLOSE:
            self.want = _KEY if type(self.open[-1]) is dict else _VALUE
        elif punct == b":" and want == _COLON:
            self.want = _VALUE
        else:
            raise _error()

    def closes(self, punct: bytes, want: int) -> bool:
        if want == _COMMA_OR_CLOSE:
            return (type(self.open[-1]) is list) == (punct == b"]")
        return want == (_VALUE_OR_CLOSE if punct == b"]" else _KEY_OR_CLOSE)

    def add(self, value: Any) -> None:
        if not self.open:
            self.result, self.want = value, _DONE
            return
        top = self.open[-1]
        if type(top) is list:
            top.append(value)
        else:
            top[self.keys[-1]] = value
        self.want = _COMMA_OR_CLOSE


def _error() -> orjson.JSONDecodeError:
    return orjson.JSONDecodeError("malformed JSON", "", 0)


class _Document:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.depth = 0  # of the member being split
        self.starts: list[int] = []  # the strings that hold a bracket, comma or escape
        self.ends: list[int] = []
        pos, size = 0, len(data)
        while pos < size:
            pos = _PLAIN.match(data, pos).end()  # type: ignore[union-attr]
            if pos < size and data[pos] == 0x22:  # a string the plain runs do not take
                end = _string_end(data, pos)
                if end - pos > 4096 or _SPECIAL_CHAR.search(data, pos, end):
                    self.starts.append(pos)
                    self.ends.append(end)
                pos = end

    def parse(self) -> Any:
        return self._value(*_strip(self.data, 0, len(self.data)))

    # -- values -----------------------------------------------------------------
    def _value(self, i: int, j: int) -> Any:
        """The single value ``data[i:j]`` (without surrounding whitespace)."""
        data = self.data
        if j - i <= CHUNK:
            return orjson.loads(data[i:j])
        first, last = data[i], data[j - 1]
        if first == 0x22 and last == 0x22:
            return self._string(i, j)
        if first in b"[{" and last == first + 2:  # ] and } follow [ and { by two
            self.depth += 1
            if self.depth > MAX_SPLIT_DEPTH:
                raise orjson.JSONDecodeError("depth limit exceeded", "", i)
            value = self._array(i + 1, j - 1) if first == 0x5B else self._object(i + 1, j - 1)
            self.depth -= 1
            return value
        return orjson.loads(data[i:j])  # a number or literal, or malformed: orjson decides

    def _array(self, i: int, j: int) -> list:
        out: list = []
        for single, a, b in self._pieces(i, j):
            if single:
                out.append(self._value(a, b))
            else:
                out.extend(orjson.loads(b"[" + self.data[a:b] + b"]"))
        return out

    def _object(self, i: int, j: int) -> dict:
        out: dict = {}
        data = self.data
        for single, a, b in self._pieces(i, j):
            if not single:
                out.update(orjson.loads(b"{" + data[a:b] + b"}"))
                continue
            key = _STRING.match(data, a, b)
            if key is None:
                raise _error()
            colon = data.find(b":", key.end(), b)
            if colon == -1 or data[key.end() : colon].strip(_WHITESPACE):
                raise _error()
            out[orjson.loads(key.group())] = self._value(*_strip(data, colon + 1, b))
        return out

    def _string(self, i: int, j: int) -> str:
        """A long string: decoded in slices when it has no escapes."""
        data = self.data
        if data.find(b"\\", i, j) != -1 or data.find(b'"', i + 1, j - 1) != -1:
            return orjson.loads(data[i:j])
        decoder = codecs.getincrementaldecoder("utf-8")()
        pieces = []
        try:
            for start in range(i + 1, j - 1, STRING_SLICE):
                piece = data[start : min(start + STRING_SLICE, j - 1)]
                if _CONTROL.search(piece):
                    raise _error()
                pieces.append(decoder.decode(piece))
            pieces.append(decoder.decode(b"", final=True))
        except UnicodeDecodeError:
            raise _error() from None
        return "".join(pieces)

    # -- splitting a container ------------------------------------------------------
    def _pieces(self, i: int, j: int) -> Iterator[tuple[bool, int, int]]:
        """The members of the container whose inside is ``data[i:j]``, as
        ``(single, a, b)``: ``data[a:b]`` is one large member when ``single``,
        else a run of whole members of about CHUNK bytes."""
        data = self.data
        if not data[i:j].strip(_WHITESPACE):
            return  # empty container
        start = i
        while True:
            cut = self._next_comma(start, min(start + CHUNK, j), j)
            if cut - start <= 2 * CHUNK:
                yield False, *_nonempty(data, start, cut)
            else:  # a large member in there: member by member
                yield from self._one_by_one(start, cut)
            if cut >= j:
                return
            start = cut + 1

    def _one_by_one(self, start: int, end: int) -> Iterator[tuple[bool, int, int]]:
        data = self.data
        while True:
            comma = self._next_comma(start, start, end)
            a, b = _nonempty(data, start, comma)
            yield b - a > CHUNK, a, b
            if comma >= end:
                return
            start = comma + 1

    def _next_comma(self, start: int, p: int, end: int) -> int:
        """The first comma at or after ``p`` that separates members of the
        container being split, ``start`` being the beginning of one of its
        members; ``end`` if there is none."""
        data = self.data
        depth = self._depth(start, p)
        pos = p
        while True:
            comma = data.find(b",", pos, end)
            if comma == -1:
                return end
            inside = self._string_around(comma)
            if inside is not None:  # the comma is text
                depth += self._depth(pos, inside)
                pos = inside
                continue
            depth += self._depth(pos, comma)
            pos = comma + 1
            if depth == 0:
                return comma

    def _string_around(self, at: int) -> int | None:
        """The end of the listed string that contains ``at``, if any."""
        k = bisect.bisect_right(self.starts, at) - 1
        if k >= 0 and self.ends[k] > at:
            return self.ends[k]
        return None

    def _depth(self, i: int, j: int) -> int:
        """Brackets opened minus brackets closed in ``data[i:j]``, outside strings."""
        data, starts, ends = self.data, self.starts, self.ends
        if i < j:
            inside = self._string_around(i)
            if inside is not None:
                i = min(inside, j)
        total = 0
        k = bisect.bisect_left(starts, i)
        while i < j:
            stop = starts[k] if k < len(starts) and starts[k] < j else j
            total += data.count(b"[", i, stop) + data.count(b"{", i, stop)
            total -= data.count(b"]", i, stop) + data.count(b"}", i, stop)
            i = ends[k] if stop < j else j
            k += 1
        return total


def _string_end(data: bytes, start: int) -> int:
    """The end of the string whose opening quote is at ``start``."""
    i = start + 1
    while True:
        quote = data.find(b'"', i)
        if quote == -1:
            raise _error()
        backslashes = 0
        while data[quote - 1 - backslashes] == 0x5C:
            backslashes += 1
        if backslashes % 2 == 0:
            return quote + 1
        i = quote + 1


def _strip(data: bytes, i: int, j: int) -> tuple[int, int]:
    while i < j and data[i] in _WHITESPACE:
        i += 1
    while j > i and data[j - 1] in _WHITESPACE:
        j -= 1
    return i, j


def _nonempty(data: bytes, i: int, j: int) -> tuple[int, int]:
    """``data[i:j]`` stripped; an empty member (``[1,,2]``, ``[1,]``) is malformed."""
    i, j = _strip(data, i, j)
    if i == j:
        raise _error()
    return i, j
