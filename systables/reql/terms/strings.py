"""String terms: match, split, upcase, downcase."""

from __future__ import annotations

from typing import Any, Iterator

import regex

from ...datum.errors import ReqlQueryLogicError, array_over_limit
from ...datum.ql2 import TermType as T
from ... import timeslice
from ..re2 import RE2Error, compile_re2_async
from ..term import Env, as_int, as_str, term
from .basic import DatumOp, datum_value

# Unicode's White_Space property (what RethinkDB splits on by default); unlike
# str.split(), U+001C..U+001F are not whitespace.
WHITESPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B)
)
MATCH_TIMEOUT_SECONDS = 1.0
# A match gets this long on the event loop; one that needs more starts again in
# a worker thread, with the GIL released (``concurrent``), so that a slow
# pattern or a long subject never holds the other clients up.
INLINE_MATCH_SECONDS = 0.002
_TO_UPPER = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}
_TO_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_GRAPHEME = regex.compile(r"\X")
_WORD = regex.compile("[^" + "".join(regex.escape(c) for c in sorted(WHITESPACE)) + "]+")


class StringOp(DatumOp):
    async def apply(self, env: Env, first: Any) -> Any:
        return await self.on_string(env, as_str(datum_value(first, self.args[0]), self.args[0]))

    async def on_string(self, env: Env, s: str) -> Any:
        raise NotImplementedError


@term(T.UPCASE)
class Upcase(StringOp):
    """Only ASCII letters change case, as in RethinkDB."""

    async def on_string(self, env: Env, s: str) -> Any:
        return s.translate(_TO_UPPER)


@term(T.DOWNCASE)
class Downcase(StringOp):
    async def on_string(self, env: Env, s: str) -> Any:
        return s.translate(_TO_LOWER)


# ---------------------------------------------------------------------------
# split

@term(T.SPLIT)
class Split(StringOp):
    """``s.split([delimiter[, max_splits]])``: Python's semantics; ``""`` splits into characters."""

    async def on_string(self, env: Env, s: str) -> Any:
        delimiter = None
        if len(self.args) > 1:
            d = datum_value(await self.args[1].eval(env), self.args[1])
            delimiter = None if d is None else as_str(d, self)  # a datum check: the term's error
        limit = -1
        if len(self.args) > 2:
            limit = as_int(datum_value(await self.args[2].eval(env), self.args[2]), self.args[2])
            top = env.ctx.array_limit - 1
            if not -1 <= limit <= top:
                raise ReqlQueryLogicError(f"Error: `split` size argument must be in range [-1, {top}].", self)
        return await collect_pieces(env, pieces(s, delimiter, limit), self)


def pieces(s: str, delimiter: str | None, limit: int) -> Iterator[str]:
    """The pieces of ``s``, one at a time, so that building them can stop at the array limit."""
    if delimiter is None:
        return split_whitespace(s, limit)
    if delimiter == "":
        return split_characters(s, limit)
    return split_delimited(s, delimiter, limit)


async def collect_pieces(env: Env, items: Iterator[str], at: Any) -> list[str]:
    """The pieces as a list, refused as soon as there are more than the array limit."""
    cap = env.ctx.array_limit
    out: list[str] = []
    for piece in items:
        if len(out) == cap:
            raise array_over_limit(cap, at)
        out.append(piece)
        await timeslice.tick()
    return out


def split_whitespace(s: str, limit: int) -> Iterator[str]:
    """str.split(None, limit) with Unicode's whitespace."""
    for n, m in enumerate(_WORD.finditer(s)):
        if n == limit:
            yield s[m.start():]
            return
        yield m.group()


def split_characters(s: str, limit: int) -> Iterator[str]:
    """One element per user-perceived character (grapheme cluster)."""
    for n, m in enumerate(_GRAPHEME.finditer(s)):
        if n == limit:
            yield s[m.start():]
            return
        yield m.group()


def split_delimited(s: str, delimiter: str, limit: int) -> Iterator[str]:
    """str.split(delimiter, limit), a piece at a time."""
    start, n = 0, 0
    while n != limit:
        end = s.find(delimiter, start)
        if end < 0:
            break
        yield s[start:end]
        start, n = end + len(delimiter), n + 1
    yield s[start:]


# ---------------------------------------------------------------------------
# match

@term(T.MATCH)
class Match(StringOp):
    """``s.match(re2)``: null, or ``{str, start, end, groups}`` with UTF-8 byte offsets."""

    async def on_string(self, env: Env, s: str) -> Any:
        pattern = await self.arg_str(env, 1)
        try:
            compiled = await compile_re2_async(pattern)
        except RE2Error as e:
            raise ReqlQueryLogicError(f"Error in regexp `{pattern}` (portion `{e.arg}`): {e}", self) from None
        try:
            m = await search(compiled, s)
        except TimeoutError:
            raise ReqlQueryLogicError(
                f"Regular expression `{pattern}` took too long to match (over {MATCH_TIMEOUT_SECONDS:g} s).", self
            ) from None
        if m is None:
            return None
        offset = byte_offsets(s)
        groups = [span_object(s, m.span(g), offset) if m.span(g) != (-1, -1) else None for g in range(1, compiled.groups + 1)]
        return {**span_object(s, m.span(), offset), "groups": groups}


async def search(compiled: "regex.Pattern[str]", s: str) -> "regex.Match[str] | None":
    try:
        return compiled.search(s, timeout=INLINE_MATCH_SECONDS)
    except TimeoutError:
        pass
    return await timeslice.offload(_search_released, compiled, s)


def _search_released(compiled: "regex.Pattern[str]", s: str) -> "regex.Match[str] | None":
    return compiled.search(s, timeout=MATCH_TIMEOUT_SECONDS, concurrent=True)


def byte_offsets(s: str) -> Any:
    """A function from character index to UTF-8 byte offset (RE2 reports bytes)."""
    if s.isascii():
        return lambda i: i
    return lambda i: len(s[:i].encode())


def span_object(s: str, span: tuple[int, int], offset: Any) -> dict:
    start, end = span
    return {"str": s[start:end], "start": offset(start), "end": offset(end)}

