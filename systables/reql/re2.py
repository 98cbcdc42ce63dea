"""RE2 regular expressions (what ``match`` takes in RethinkDB) on top of ``regex``.

A pattern is translated token by token into an equivalent ``regex`` pattern:
RE2's ASCII-only ``\\d \\s \\w \\b``, ``$`` as end of text, ``\\z``, octal and
``\\x{...}`` escapes, ``\\Q...\\E``, POSIX classes and the ``i m s U`` flags
(scoped to the enclosing group) are rewritten; what RE2 rejects
(backreferences, lookaround, possessive or doubled repetition, repetition
counts over 1000...) is rejected with RE2's error text and the offending
portion, as RethinkDB reports them.

RE2's size limits are kept too, because a backtracking engine would otherwise
build (and a match would walk) a program of any size: nested repetition counts
multiply to at most 1000 (RE2's RepetitionWalker), and the whole program holds
at most 100,000 instructions (estimated here as RE2 counts them).  RE2
itself allows about 700,000, but the regex module compiles a program that
large in one C call of up to 1.5 s holding the GIL (even in a worker thread);
at 100,000 that call stays under about 60 ms.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace

import regex

from systables import timeslice

MAX_REPEAT = 1000
# RE2's compiled-program cap as RethinkDB 2.4 configures it is 698,995
# ('a' * 698,992 compiles, 'a{1000}' * 699 does not); ours is lower (see above).
MAX_PROGRAM = 100_000
WORD = "0-9A-Za-z_"
NOT_WORD = r"\x00-/:-@\[-\^`{-\U0010ffff"
DIGIT = "0-9"
NOT_DIGIT = r"\x00-/:-\U0010ffff"
SPACE = r"\t\n\f\r "
NOT_SPACE = r"\x00-\x08\x0b\x0e-\x1f!-\U0010ffff"
PERL_CLASSES = {"d": DIGIT, "D": NOT_DIGIT, "s": SPACE, "S": NOT_SPACE, "w": WORD, "W": NOT_WORD}
POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": r"\x00-\x7f",
    "blank": r"\t ",
    "cntrl": r"\x00-\x1f\x7f",
    "digit": "0-9",
    "graph": r"!-~",
    "lower": "a-z",
    "print": r" -~",
    "punct": r"!-/:-@\[-`{-~",
    "space": r"\t\n\v\f\r ",
    "upper": "A-Z",
    "word": WORD,
    "xdigit": "0-9A-Fa-f",
}
WORD_BOUNDARY = rf"(?:(?<=[{WORD}])(?![{WORD}])|(?<![{WORD}])(?=[{WORD}]))"
NOT_WORD_BOUNDARY = rf"(?:(?<=[{WORD}])(?=[{WORD}])|(?<![{WORD}])(?![{WORD}]))"
SIMPLE_ESCAPES = {"a": "\a", "f": "\f", "t": "\t", "n": "\n", "r": "\r", "v": "\v"}
REPEAT_RE = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")
NAME_RE = re.compile(r"[A-Za-z0-9_]+")
OCTAL = "01234567"
HEX = "0123456789abcdefABCDEF"


class RE2Error(Exception):
    """A pattern RE2 rejects: ``code`` is RE2's error text, ``arg`` the offending portion."""

    def __init__(self, code: str, arg: str) -> None:
        super().__init__(f"{code}: {arg}" if arg else code)
        self.code = code
        self.arg = arg


@dataclass(frozen=True)
class Flags:
    i: bool = False
    m: bool = False
    s: bool = False
    U: bool = False


@dataclass
class Scope:
    flags: Flags
    closing: str  # what to emit when the group closes
    size: int = 0  # estimated RE2 instructions of what the group holds so far
    product: int = 1  # the largest product of nested repetition counts inside
    captures: bool = False  # a capturing group costs RE2 two instructions more


@dataclass(frozen=True)
class Piece:
    """The last atom or group read: what a repetition operator would copy."""

    size: int
    product: int


# Patterns longer than this are compiled in a worker thread: a pattern near
# RE2's size cap takes the regex module a few hundred milliseconds.
LONG_PATTERN = 2_000


@functools.lru_cache(maxsize=512)
def compile_re2(pattern: str) -> "regex.Pattern[str]":
    """The compiled equivalent of an RE2 pattern; RE2Error if RE2 would reject it."""
    return regex.compile(Translator(pattern).translate())


async def compile_re2_async(pattern: str) -> "regex.Pattern[str]":
    """``compile_re2``, off the event loop for long patterns."""
    if len(pattern) <= LONG_PATTERN:
        return compile_re2(pattern)
    return await timeslice.offload(compile_re2, pattern)


class Translator:
    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0
        self.out: list[str] = []
        self.scopes = [Scope(Flags(), "")]
        self.names: set[str] = set()
        self.can_repeat = False  # an atom precedes: a repetition operator may follow
        self.last_repeat_start = -1  # start of the operator just read, if the last token was one
        self.last = Piece(0, 1)

    @property
    def flags(self) -> Flags:
        return self.scopes[-1].flags

    def translate(self) -> str:
        while self.i < len(self.p):
            self.token()
        if len(self.scopes) > 1:
            raise RE2Error("missing )", self.p)
        if self.scopes[0].size > MAX_PROGRAM:
            raise RE2Error("pattern too large - compile failed", "")
        return "".join(self.out)

    def add_piece(self, piece: Piece) -> None:
        scope = self.scopes[-1]
        scope.size += piece.size
        scope.product = max(scope.product, piece.product)
        self.last = piece

    # -- tokens ----------------------------------------------------------------
    def token(self) -> None:
        c = self.p[self.i]
        if c in "*+?{" and self.repetition():
            return
        self.last_repeat_start = -1
        if c == "(":
            self.open_group()
        elif c == ")":
            self.close_group()
        elif c == "|":
            self.i += 1
            self.out.append("|")
            self.scopes[-1].size += 1
            self.can_repeat = False
        elif c == "[":
            self.atom(self.char_class())
        elif c == "\\":
            self.escape()
        elif c == ".":
            self.i += 1
            self.atom(r"(?s:.)" if self.flags.s else r"[^\n]")
        elif c == "^":
            self.i += 1
            self.assertion(r"(?m:^)" if self.flags.m else r"\A")
        elif c == "$":
            self.i += 1
            self.assertion(r"(?m:$)" if self.flags.m else r"\Z")
        else:
            self.i += 1
            self.atom(regex.escape(c))

    def atom(self, text: str, case_sensitive: bool = False) -> None:
        self.out.append(f"(?i:{text})" if self.flags.i and not case_sensitive else text)
        self.add_piece(Piece(1, 1))
        self.can_repeat = True

    def assertion(self, text: str) -> None:
        self.out.append(text)
        self.add_piece(Piece(1, 1))
        self.can_repeat = True

    # -- repetition ------------------------------------------------------------
    def repetition(self) -> bool:
        """Read ``* + ? {n,m}`` (and a lazy ``?``); False if ``{`` is a literal."""
        start = self.i
        c = self.p[start]
        if c == "{":
            m = REPEAT_RE.match(self.p, start)
            if m is None:
                return False
            lo, hi = self.check_repeat_size(m)
            op = m.group(0)
        else:
            op = c
            lo, hi = (1, -1) if c == "+" else (0, -1 if c == "*" else 1)
        end = start + len(op)
        if self.last_repeat_start >= 0:
            raise RE2Error("bad repetition operator", self.p[self.last_repeat_start:end])
        if not self.can_repeat:
            raise RE2Error("no argument for repetition operator", op)
        lazy = end < len(self.p) and self.p[end] == "?"
        if lazy:
            end += 1
        if self.flags.U:
            lazy = not lazy
        self.out.append(op + ("?" if lazy else ""))
        self.i = end
        self.last_repeat_start = start
        self.repeat_last(lo, hi, op)
        return True

    def check_repeat_size(self, m: re.Match[str]) -> tuple[int, int]:
        lo = int(m.group(1))
        hi = lo if m.group(2) is None else (int(m.group(3)) if m.group(3) else -1)
        if lo > MAX_REPEAT or hi > MAX_REPEAT or (hi >= 0 and hi < lo):
            raise RE2Error("invalid repetition size", m.group(0))
        return lo, hi

    def repeat_last(self, lo: int, hi: int, op: str) -> None:
        """Account for the copies a repetition makes of the last piece; RE2
        refuses nested counts whose product passes 1000 (its integer division
        of 1000 by each count, outermost first, reaching 0)."""
        piece = self.last
        product = piece.product
        if lo >= 2 or hi >= 2:
            product *= hi if hi >= 0 else max(lo, 1)
            if product > MAX_REPEAT:
                raise RE2Error("invalid repetition size", op)
        copies = max(hi, lo, 1)
        extra = piece.size * (copies - 1) + (hi - lo if hi >= 0 else 1)
        self.scopes[-1].size -= piece.size
        self.add_piece(Piece(piece.size + extra, product))

    # -- groups ----------------------------------------------------------------
    def open_group(self) -> None:
        if self.p.startswith("(?", self.i):
            self.perl_group()
            return
        self.i += 1
        self.push("(", self.flags)

    def push(self, opening: str, flags: Flags) -> None:
        self.out.append(opening)
        self.scopes.append(Scope(flags, ")", captures=opening != "(?:"))
        self.can_repeat = False

    def close_group(self) -> None:
        if len(self.scopes) == 1:
            raise RE2Error("missing )", self.p)
        self.i += 1
        scope = self.scopes.pop()
        self.out.append(scope.closing)
        self.add_piece(Piece(scope.size + 2 * scope.captures, scope.product))
        self.can_repeat = True

    def perl_group(self) -> None:
        start = self.i
        rest = self.p[start:]
        # The RE2 of RethinkDB 2.4 knows only (?P<name>...): (?<name>...) is an invalid operator there.
        if rest.startswith("(?P"):
            self.named_group(start)
            return
        self.i += 2
        flags = self.flags
        negated = saw_flag = False
        while True:
            if self.i >= len(self.p):
                raise RE2Error("missing )", self.p)
            c = self.p[self.i]
            self.i += 1
            if c in "imsU":
                flags = replace(flags, **{c: not negated})
                saw_flag = True
            elif c == "-" and not negated:
                negated, saw_flag = True, False
            elif c in ":)" and not (negated and not saw_flag):
                break
            else:
                raise RE2Error("invalid perl operator", self.p[start:self.i])
        if c == ":":
            self.push("(?:", flags)
        else:
            self.scopes[-1].flags = flags

    def named_group(self, start: int) -> None:
        end = self.p.find(">", start)
        if end < 0:
            raise RE2Error("invalid named capture group", self.p[start:])
        capture = self.p[start:end + 1]
        prefix = "(?P<" if capture.startswith("(?P<") else "(?<"
        name = capture[len(prefix):-1]
        if not capture.startswith(prefix) or not NAME_RE.fullmatch(name) or name in self.names:
            raise RE2Error("invalid named capture group", capture)
        self.names.add(name)
        self.i = end + 1
        self.push(f"(?P<{name}>", self.flags)

    # -- escapes ---------------------------------------------------------------
    def escape(self) -> None:
        start = self.i
        if start + 1 >= len(self.p):
            raise RE2Error("trailing \\", "")
        c = self.p[start + 1]
        self.i = start + 2
        if c in PERL_CLASSES:
            self.atom(f"[{PERL_CLASSES[c]}]", case_sensitive=True)
        elif c == "b":
            self.assertion(WORD_BOUNDARY)
        elif c == "B":
            self.assertion(NOT_WORD_BOUNDARY)
        elif c == "A":
            self.assertion(r"\A")
        elif c == "z":
            self.assertion(r"\Z")
        elif c in "pP":
            self.atom(self.unicode_class(start), case_sensitive=True)
        elif c == "Q":
            self.quoted()
        elif c == "C":
            self.atom(r"(?s:.)")
        else:
            self.atom(regex.escape(self.escaped_char(start)))

    def escaped_char(self, start: int) -> str:
        """The character of a single-character escape whose letter is at ``start + 1``."""
        c = self.p[start + 1]
        if c in SIMPLE_ESCAPES:
            return SIMPLE_ESCAPES[c]
        if c in OCTAL:
            return self.octal(start)
        if c == "x":
            return self.hex_escape(start)
        if c.isascii() and not c.isalnum():
            return c
        raise RE2Error("invalid escape sequence", self.p[start:start + 2])

    def octal(self, start: int) -> str:
        c = self.p[start + 1]
        nxt = self.p[self.i] if self.i < len(self.p) else ""
        if c != "0" and (not nxt or nxt not in OCTAL):
            raise RE2Error("invalid escape sequence", self.p[start:start + 2])  # a backreference
        digits = c
        while len(digits) < 3 and self.i < len(self.p) and self.p[self.i] in OCTAL:
            digits += self.p[self.i]
            self.i += 1
        return chr(int(digits, 8))

    def hex_escape(self, start: int) -> str:
        if self.p.startswith("{", self.i):
            end = self.p.find("}", self.i)
            digits = self.p[self.i + 1:end] if end > 0 else ""
            if end < 0 or not digits or any(d not in HEX for d in digits) or int(digits, 16) > 0x10FFFF:
                raise RE2Error("invalid escape sequence", self.p[start:end + 1 if end > 0 else len(self.p)])
            self.i = end + 1
            return chr(int(digits, 16))
        digits = self.p[self.i:self.i + 2]
        if len(digits) < 2 or any(d not in HEX for d in digits):
            raise RE2Error("invalid escape sequence", self.p[start:self.i + len(digits)])
        self.i += 2
        return chr(int(digits, 16))

    def unicode_class(self, start: int) -> str:
        if self.p.startswith("{", self.i):
            end = self.p.find("}", self.i)
            if end < 0:
                raise RE2Error("invalid character class range", self.p[start:])
            self.i = end + 1
        else:
            self.i += 1
        text = self.p[start:self.i]
        try:
            regex.compile(text)
        except regex.error:
            raise RE2Error("invalid character class range", text) from None
        return text

    def quoted(self) -> None:
        end = self.p.find("\\E", self.i)
        literal = self.p[self.i:] if end < 0 else self.p[self.i:end]
        self.i = len(self.p) if end < 0 else end + 2
        for ch in literal:
            self.atom(regex.escape(ch))

    # -- character classes -----------------------------------------------------
    def char_class(self) -> str:
        start = self.i
        self.i += 1
        negated = self.p.startswith("^", self.i)
        if negated:
            self.i += 1
        items: list[str] = []
        first = True
        while True:
            if self.i >= len(self.p):
                raise RE2Error("missing ]", self.p[start:])
            c = self.p[self.i]
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            items.append(self.class_item())
        return "[" + ("^" if negated else "") + "".join(items) + "]"

    def class_item(self) -> str:
        start = self.i
        if self.p.startswith("[:", start):
            end = self.p.find(":]", start + 2)
            if end >= 0:
                return self.posix_class(start, end)
        if self.p.startswith("\\", start) and start + 1 < len(self.p):
            c = self.p[start + 1]
            if c in PERL_CLASSES:
                self.i = start + 2
                return PERL_CLASSES[c]
            if c in "pP":
                self.i = start + 2
                return self.unicode_class(start)
        lo = self.class_char()
        if self.p.startswith("-", self.i) and self.i + 1 < len(self.p) and self.p[self.i + 1] != "]":
            self.i += 1
            hi = self.class_char()
            if hi < lo:
                raise RE2Error("invalid character class range", self.p[start:self.i])
            return class_escape(lo) + "-" + class_escape(hi)
        return class_escape(lo)

    def posix_class(self, start: int, end: int) -> str:
        name = self.p[start + 2:end]
        negated = name.startswith("^")
        ranges = POSIX_CLASSES.get(name.lstrip("^"))
        if ranges is None:
            raise RE2Error("invalid character class range", self.p[start:end + 2])
        self.i = end + 2
        if negated:
            return complement(ranges)
        return ranges

    def class_char(self) -> str:
        start = self.i
        c = self.p[start]
        if c != "\\":
            self.i += 1
            return c
        if start + 1 >= len(self.p):
            raise RE2Error("missing ]", self.p[start:])
        self.i = start + 2
        return self.escaped_char(start)


def class_escape(ch: str) -> str:
    return "\\" + ch if ch in "\\]^-[" else (regex.escape(ch) if not ch.isprintable() else ch)


def complement(ranges: str) -> str:
    """The complement of a set of ASCII ranges, as class items."""
    members = set()
    for m in re.finditer(r"(\\x[0-9a-f]{2}|\\.|.)(?:-(\\x[0-9a-f]{2}|\\.|.))?", ranges):
        lo, hi = _class_point(m.group(1)), _class_point(m.group(2) or m.group(1))
        members.update(range(lo, hi + 1))
    items = []
    run_start = None
    for cp in range(0x81):
        inside = cp < 0x80 and cp not in members
        if inside and run_start is None:
            run_start = cp
        elif not inside and run_start is not None:
            items.append(class_escape(chr(run_start)) + "-" + class_escape(chr(cp - 1)))
            run_start = None
    items.append(r"\x80-\U0010ffff")
    return "".join(items)


def _class_point(item: str) -> int:
    if item.startswith("\\x"):
        return int(item[2:], 16)
    if item.startswith("\\"):
        return ord(SIMPLE_ESCAPES.get(item[1], item[1]))
    return ord(item)
