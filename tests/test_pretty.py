"""Tests for the JavaScript rendering of ReQL terms (``rethinkdb.jobs`` ``info.query``)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rethinkdb import r
from rethinkdb.ast import RqlQuery

from systables.datum.ql2 import TermType
from systables.reql.pretty import LINE_WIDTH, MAX_DEPTH, print_index_query, print_js


def wire(query: RqlQuery) -> Any:
    """The term exactly as the Python driver puts it on the wire, JSON-decoded."""
    return json.loads(json.dumps(query.build(), default=lambda obj: obj.build()))


# --- examples required by the spec ----------------------------------------------


def test_js_with_timeout_prints_integral_float_without_decimal_point() -> None:
    assert print_js([11, ["while(true) {}"], {"timeout": 10.0}]) == 'r.js("while(true) {}", {"timeout": 10})'


def test_reading_the_jobs_table() -> None:
    assert print_js([15, [[14, ["rethinkdb"]], "jobs"]]) == 'r.db("rethinkdb").table("jobs")'


def test_filter_with_object_literal_argument() -> None:
    term = [39, [[15, [[14, ["rethinkdb"]], "jobs"]], {"type": "query"}]]
    assert print_js(term) == 'r.db("rethinkdb").table("jobs").filter({"type": "query"})'


def test_default_index_function_uses_server_variable() -> None:
    term = [69, [[2, [-19]], [31, [[10, [-19]], "x"]]]]
    assert print_js(term) == 'function(_var19) { return _var19.getField("x"); }'


# --- queries as the official Python driver sends them ---------------------------

DRIVER_QUERIES = [
    (
        lambda: r.table("t").filter(lambda x: x["a"] > 1).limit(10),
        'r.table("t").filter(function(var1) { return var1("a").gt(1); }).limit(10)',
    ),
    (lambda: r.js("while(true) {}", timeout=10), 'r.js("while(true) {}", {"timeout": 10})'),
    (
        lambda: r.db("rethinkdb").table("jobs").filter({"type": "query", "info": {"client_port": 5}}),
        'r.db("rethinkdb").table("jobs").filter({"type": "query", "info": {"client_port": 5}})',
    ),
    (
        lambda: r.table("t").insert([{"a": 1}, {"b": [1, 2]}], return_changes=True),
        'r.table("t").insert([{"a": 1}, {"b": [1, 2]}], {"returnChanges": true})',
    ),
    (lambda: r.expr(1) + 2, "r.expr(1).add(2)"),
    (lambda: r.expr([1, 2]).count(), "r.expr([1, 2]).count()"),
    (lambda: r.expr("x").match("^r\\.js"), 'r.expr("x").match("^r\\.js")'),
    (lambda: r.expr({"a": r.now()}), 'r.object("a", r.now())'),
    (lambda: r.do(1, 2, lambda a, b: a + b), "r.do(1, 2, function(var1, var2) { return var1.add(var2); })"),
    (lambda: r.expr(1).do(lambda x: x), "r.do(1, function(var1) { return var1; })"),
    (
        lambda: r.table("t").get_all(1, 2, index="x").pluck("a"),
        'r.table("t").getAll(1, 2, {"index": "x"}).pluck("a")',
    ),
    (lambda: r.table("t").order_by(r.desc("a")), 'r.table("t").orderBy(r.desc("a"))'),
    (lambda: r.branch(r.row["a"], 1, 2), 'r.branch(r.row("a"), 1, 2)'),
    (lambda: r.table("t").between(r.minval, 5), 'r.table("t").between(r.minval, 5)'),
    (lambda: r.table("t")["a"][0].default(3), 'r.table("t")("a")(0).default(3)'),
    (lambda: r.range(100), "r.range(100)"),
    (lambda: r.table_create("t"), 'r.tableCreate("t")'),
    (lambda: r.db("d").table_create("t"), 'r.db("d").tableCreate("t")'),
    (lambda: r.db_list(), "r.dbList()"),
    (lambda: r.grant("u", {"read": True}), 'r.grant("u", {"read": true})'),
    (lambda: r.db("d").grant("u", {"read": True}), 'r.db("d").grant("u", {"read": true})'),
    (lambda: r.table("t").changes(include_initial=True), 'r.table("t").changes({"includeInitial": true})'),
    (lambda: r.table("t").changes(squash=0.5), 'r.table("t").changes({"squash": 0.500000})'),
    (lambda: r.binary(b"hi"), 'r.binary("aGk=")'),
    (lambda: r.monday, "r.monday"),
    (lambda: r.uuid(), "r.uuid()"),
    (lambda: r.epoch_time(0).to_iso8601(), "r.epochTime(0).toISO8601()"),
    (
        lambda: r.table("t").index_create("y", lambda d: d["y"]),
        'r.table("t").indexCreate("y", function(var1) { return var1("y"); })',
    ),
    (
        lambda: r.table("t").filter(lambda x: x["servers"].contains("p")),
        'r.table("t").filter(function(var1) { return var1("servers").contains("p"); })',
    ),
    (
        lambda: r.table("t").filter(r.row["a"] == 1),
        'r.table("t").filter(function(var1) { return r.row("a").eq(1); })',
    ),
]


@pytest.mark.parametrize("build, expected", DRIVER_QUERIES)
def test_driver_queries_read_as_javascript(build: Any, expected: str) -> None:
    # Variable ids come from a process-wide counter in the driver; renumber from 1.
    text = print_js(wire(build()))
    renumbered: dict[str, str] = {}
    text = re.sub(r"\bvar\d+", lambda m: renumbered.setdefault(m.group(), f"var{len(renumbered) + 1}"), text)
    assert text == expected


# --- datums ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (10.0, "10"),
        (-0.0, "0"),
        (3, "3"),
        (1.5, "1.500000"),
        (-0.25, "-0.250000"),
        (1e-7, "0.000000"),
        (2**70, str(2**70)),
        (math.inf, "inf"),
        (None, "null"),
        (True, "true"),
        (False, "false"),
        ('say "hi"\n', '"say "hi"\n"'),
    ],
)
def test_scalars_in_argument_position(value: Any, expected: str) -> None:
    assert print_js([TermType.ADD, [[TermType.VAR, [1]], value]]) == f"var1.add({expected})"


def test_bare_datums_at_the_top_are_r_expressions() -> None:
    assert print_js(1) == "r.expr(1)"
    assert print_js("s") == 'r.expr("s")'
    assert print_js([2, [1, [2, []]]]) == "r.expr([1, []])"
    assert print_js({"a": 1}) == 'r.object("a", 1)'
    assert print_js({}) == "r.object()"


def test_object_literal_keys_stay_verbatim_but_optarg_names_are_camel_cased() -> None:
    term = [TermType.UPDATE, [[TermType.TABLE, ["t"]], {"snake_key": 1}], {"return_changes": "always"}]
    assert print_js(term) == 'r.table("t").update({"snake_key": 1}, {"returnChanges": "always"})'


def test_explicit_make_obj_term() -> None:
    assert print_js([TermType.MERGE, [[TermType.VAR, [1]], [3, [], {"a": 1}]]]) == 'var1.merge({"a": 1})'


def test_implicit_var_and_variables() -> None:
    assert print_js([TermType.IMPLICIT_VAR, []]) == "r.row"
    assert print_js([TermType.FUNC, [[2, []], 1]]) == "function() { return 1; }"
    function = [TermType.FUNC, [[2, [0, 3, -2]], [10, [3.0]]]]
    assert print_js(function) == "function(var0, var3, _var2) { return var3; }"


# --- index_status query ------------------------------------------------------------

DEFAULT_INDEX_FUNCTION = [69, [[2, [-19]], [31, [[10, [-19]], "x"]]]]


@pytest.mark.parametrize(
    "multi, geo, options",
    [
        (False, False, ""),
        (True, False, ", {multi: true}"),
        (False, True, ", {geo: true}"),
        (True, True, ", {multi: true, geo: true}"),
    ],
)
def test_index_query(multi: bool, geo: bool, options: str) -> None:
    expected = "indexCreate('x', function(_var19) { return _var19.getField(\"x\"); }" + options + ")"
    assert print_index_query("x", DEFAULT_INDEX_FUNCTION, multi, geo) == expected


# --- depth and malformed input -------------------------------------------------------


def nested_adds(count: int) -> list:
    term: Any = [TermType.VAR, [1]]
    for _ in range(count):
        term = [TermType.ADD, [term, 1]]
    return term


def without_layout(text: str) -> str:
    return "".join(text.split())


def test_depth_cap_elides_deep_receivers() -> None:
    # The root is level 1, so a chain of 14 calls puts its head at level 15.
    assert without_layout(print_js(nested_adds(MAX_DEPTH - 1))) == "var1" + ".add(1)" * (MAX_DEPTH - 1)
    # One call more: the head and the innermost call's argument are at level 16.
    elided = "....add(...)" + ".add(1)" * (MAX_DEPTH - 1)
    assert without_layout(print_js(nested_adds(MAX_DEPTH))) == elided
    assert without_layout(print_js(nested_adds(MAX_DEPTH + 5))) == elided


def test_depth_cap_in_arguments() -> None:
    term: Any = "deep"
    for _ in range(40):
        term = [TermType.MAKE_ARRAY, [term]]
    text = print_js(term)
    assert "deep" not in text and "..." in text


def test_very_deep_input_does_not_recurse_without_bound() -> None:
    chained: Any = [TermType.VAR, [1]]
    nested: Any = 0
    raw: Any = []
    for _ in range(50_000):
        chained = [TermType.ADD, [chained, 1]]
        nested = [TermType.ADD, [1, nested]]
        raw = [raw]
    for term in (chained, nested, raw, [TermType.ADD, [1, raw]]):
        assert "..." in print_js(term)


@pytest.mark.parametrize(
    "term, expected",
    [
        ([], "[]"),
        ([15, "t"], '[15, "t"]'),
        ([999, [1]], "[999, [1]]"),
        ([1, [1]], "[1, [1]]"),
        ([True, []], "[true, []]"),
        ([15, [1], {}, 4], "[15, [1], {}, 4]"),
        ([10, ["x"]], '[10, ["x"]]'),
        ([69, [1, 2]], "[69, [1, 2]]"),
        ([69, [[2, [True]], 2]], "[69, [[2, [true]], 2]]"),
    ],
)
def test_malformed_terms_print_as_raw_json(term: Any, expected: str) -> None:
    assert print_js(term) == expected


def test_lone_surrogates_do_not_make_the_result_unencodable() -> None:
    text = print_js(json.loads('[14, ["\\ud800"]]'))
    text.encode("utf-8")
    assert text.startswith("r.db(")


# --- layout ----------------------------------------------------------------------


def test_short_query_stays_on_one_line_up_to_the_width() -> None:
    name = "x" * (LINE_WIDTH - len('r.table("")'))
    assert print_js([TermType.TABLE, [name]]) == f'r.table("{name}")'
    assert "\n" in print_js([TermType.TABLE, [name + "x"]])


def test_long_query_wraps_within_the_width() -> None:
    docs = [{"id": i, "name": f"user number {i}", "tags": ["a", "b"]} for i in range(6)]
    term = wire(r.table("users").insert(docs, conflict="replace"))
    text = print_js(term)
    assert text.splitlines() == [
        'r.table("users").insert(',
        "    [",
        '        {"id": 0, "name": "user number 0", "tags": ["a", "b"]},',
        '        {"id": 1, "name": "user number 1", "tags": ["a", "b"]},',
        '        {"id": 2, "name": "user number 2", "tags": ["a", "b"]},',
        '        {"id": 3, "name": "user number 3", "tags": ["a", "b"]},',
        '        {"id": 4, "name": "user number 4", "tags": ["a", "b"]},',
        '        {"id": 5, "name": "user number 5", "tags": ["a", "b"]}],',
        '    {"conflict": "replace"})',
    ]


def test_long_chain_breaks_before_each_method() -> None:
    query = (
        r.db("rethinkdb")
        .table("jobs")
        .filter(lambda job: job["info"]["query"].match("^r\\.js"))
        .pluck("id", "type", "duration_sec")
        .order_by("duration_sec")
    )
    lines = print_js(wire(query)).splitlines()
    assert lines[0] == 'r.db("rethinkdb")'
    methods = [line.split("(")[0] for line in lines[1:]]
    assert methods == ["    .table", "    .filter", "    .pluck", "    .orderBy"]
    assert all(len(line) <= LINE_WIDTH for line in lines)


def test_long_function_body_breaks_inside_braces() -> None:
    query = r.table("t").filter(
        lambda d: (d["age"] > 18) & (d["country"] == "France") & d["email"].match("@example\\.com$")
    )
    lines = print_js(wire(query)).splitlines()
    assert lines[0] == 'r.table("t").filter('
    assert lines[1].startswith("    function(var") and lines[1].endswith(") {")
    assert lines[2].startswith("        return var")
    assert lines[-1] == "    })"


# --- robustness -------------------------------------------------------------------

TERM_TYPES = [int(t) for t in TermType] + [0, 9999, -1]


def term_trees(text: st.SearchStrategy[str]) -> st.SearchStrategy:
    """Random JSON trees, biased towards term-shaped lists, functions and variables."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), text)
    keys = text.filter(lambda key: len(key) <= 6)

    def extend(children: st.SearchStrategy) -> st.SearchStrategy:
        var_ids = st.lists(st.one_of(st.integers(-30, 30), scalars), max_size=3)
        return st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys, children, max_size=3),
            st.tuples(st.sampled_from(TERM_TYPES), st.lists(children, max_size=4)).map(list),
            st.tuples(
                st.sampled_from(TERM_TYPES),
                st.lists(children, max_size=4),
                st.dictionaries(keys, children, max_size=3),
            ).map(list),
            st.tuples(var_ids, children).map(lambda pair: [69, [[2, pair[0]], pair[1]]]),
            st.integers(-30, 30).map(lambda var_id: [10, [var_id]]),
            text.map(lambda data: {"$reql_type$": "BINARY", "data": data}),
        )

    return st.recursive(scalars, extend, max_leaves=60)


@settings(max_examples=500, deadline=None)
@given(term_trees(st.text(max_size=8)))
def test_random_term_trees_never_raise(term: Any) -> None:
    text = print_js(term)
    assert isinstance(text, str)
    text.encode("utf-8")
    assert isinstance(print_index_query("i", term, True, False), str)


@settings(max_examples=200, deadline=None)
@given(term_trees(st.text(st.characters(blacklist_characters="\n\r"), max_size=8)))
def test_output_that_fits_the_width_is_one_line(term: Any) -> None:
    text = print_js(term)
    # Each line break stands for at most one space of the one-line form.
    if len(re.sub(r"\n *", " ", text)) <= LINE_WIDTH:
        assert "\n" not in text
