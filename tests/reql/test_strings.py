"""String terms through the official driver: match (RE2 syntax and errors),
split, upcase and downcase."""

from __future__ import annotations

import pytest
from rethinkdb.errors import ReqlQueryLogicError


def run(q, conn, **opts):
    return q.run(conn, **opts)


def test_match_result_shape(r, conn):
    assert run(r.expr("hello world").match("o (w)(x)?"), conn) == {
        "str": "o w", "start": 4, "end": 7,
        "groups": [{"str": "w", "start": 6, "end": 7}, None],
    }
    assert run(r.expr("abc").match("x"), conn) is None
    assert run(r.expr("abc").match(""), conn) == {"str": "", "start": 0, "end": 0, "groups": []}


def test_match_offsets_are_utf8_bytes(r, conn):
    assert run(r.expr("héllo").match("l+"), conn) == {"str": "ll", "start": 3, "end": 5, "groups": []}


@pytest.mark.parametrize(
    "text, pattern, found",
    [
        ("a\nb", "^b", None),  # ^ and $ are text anchors without (?m)
        ("a\nb", "(?m)^b", "b"),
        ("ab\n", "b$", None),  # $ does not match before a final newline
        ("ABC", "(?i)b", "B"),
        ("aXbxc", "(?i:x)c", "xc"),
        ("x\ny", "x.y", None),
        ("x\ny", "(?s)x.y", "x\ny"),
        ("aaa", "(?U)a+", "a"),
        ("aaa", "(?U)a+?", "aaa"),
        ("٣3", r"\d", "3"),  # \d, \w, \s are ASCII in RE2
        ("é_", r"\w", "_"),
        ("a\vb", r"\s", None),
        ("foo.bar", r"\bbar", "bar"),
        ("a.b", r"\Qa.b\E", "a.b"),
        ("A", r"\x{41}", "A"),
        ("\n", r"\012", "\n"),
        ("ab1", "[[:digit:]]", "1"),
        ("ab1", "[[:^alpha:]]", "1"),
        ("ab1", r"[^\d]+", "ab"),
        ("Ωa", r"\pL", "Ω"),
        ("aa", "a{2}", "aa"),
        ("a{,2}", "a{,2}", "a{,2}"),
        ("ab", "(?P<first>a)b", "ab"),
        ("xyz", "abc|y", "y"),
    ],
)
def test_match_re2_syntax(r, conn, text, pattern, found):
    m = run(r.expr(text).match(pattern), conn)
    assert (m and m["str"]) == found


@pytest.mark.parametrize(
    "pattern, message",
    [
        ("(", "Error in regexp `(` (portion `(`): missing ): ("),
        ("a)", "Error in regexp `a)` (portion `a)`): missing ): a)"),
        ("[a", "Error in regexp `[a` (portion `[a`): missing ]: [a"),
        ("a**", "Error in regexp `a**` (portion `**`): bad repetition operator: **"),
        ("*a", "Error in regexp `*a` (portion `*`): no argument for repetition operator: *"),
        ("x{1001}", "Error in regexp `x{1001}` (portion `{1001}`): invalid repetition size: {1001}"),
        (r"(a)\1", r"Error in regexp `(a)\1` (portion `\1`): invalid escape sequence: \1"),
        ("(?=a)", "Error in regexp `(?=a)` (portion `(?=`): invalid perl operator: (?="),
        ("[z-a]", "Error in regexp `[z-a]` (portion `z-a`): invalid character class range: z-a"),
        ("a\\", "Error in regexp `a\\` (portion ``): trailing \\"),
        ("(?P<n>a)(?P<n>b)", "Error in regexp `(?P<n>a)(?P<n>b)` (portion `(?P<n>`): invalid named capture group: (?P<n>"),
    ],
)
def test_match_rejects_what_re2_rejects(r, conn, pattern, message):
    with pytest.raises(ReqlQueryLogicError) as e:
        run(r.expr("abc").match(pattern), conn)
    assert e.value.message == message


def test_match_needs_strings(r, conn):
    with pytest.raises(ReqlQueryLogicError, match="Expected type STRING but found NUMBER."):
        run(r.expr(1).match("1"), conn)


@pytest.mark.parametrize(
    "args, expected",
    [
        ((), ["aaaa", "bbbb", "cccc"]),
        ((None,), ["aaaa", "bbbb", "cccc"]),
        ((" ",), ["", "aaaa", "bbbb", "", "cccc", ""]),
        (("bb",), [" aaaa ", "", "  cccc "]),
        (("",), [" ", "a", "a", "a", "a", " ", "b", "b", "b", "b", " ", " ", "c", "c", "c", "c", " "]),
        ((None, 1), ["aaaa", "bbbb  cccc "]),
        ((" ", 2), ["", "aaaa", "bbbb  cccc "]),
        (("", 2), [" ", "a", "aaa bbbb  cccc "]),
        (("b", 0), [" aaaa bbbb  cccc "]),
    ],
)
def test_split(r, conn, args, expected):
    assert run(r.expr(" aaaa bbbb  cccc ").split(*args), conn) == expected


def test_split_edge_cases(r, conn):
    assert run(r.expr("").split(), conn) == []
    assert run(r.expr("").split(" "), conn) == [""]
    assert run(r.expr("").split(""), conn) == []
    # Unicode whitespace, but not the zero-width characters
    assert run(r.expr("a\u00a0b\u2028c\u200bd\x1ce").split(), conn) == ["a", "b", "c\u200bd\x1ce"]
    # characters are user-perceived characters
    assert run(r.expr("fe\u0301e").split(""), conn) == ["f", "e\u0301", "e"]


def test_split_errors(r, conn):
    with pytest.raises(ReqlQueryLogicError, match="Expected type STRING but found NUMBER."):
        run(r.expr("a").split(1), conn)
    with pytest.raises(ReqlQueryLogicError, match="`split` size argument must be in range"):
        run(r.expr("a").split(" ", -2), conn)


def test_case_changes_only_touch_ascii(r, conn):
    assert run(r.expr("abc-dÉf").upcase(), conn) == "ABC-DÉF"
    assert run(r.expr("ABC-DéF").downcase(), conn) == "abc-déf"
    with pytest.raises(ReqlQueryLogicError, match="Expected type STRING but found ARRAY."):
        run(r.expr([]).upcase(), conn)
