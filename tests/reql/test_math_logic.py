"""Arithmetic, comparison, logic, rounding, bitwise operations and r.random
through the official driver, with RethinkDB's results and errors."""

from __future__ import annotations

import pytest
from rethinkdb.errors import ReqlCompileError, ReqlNonExistenceError, ReqlQueryLogicError


def run(q, conn, **opts):
    return q.run(conn, **opts)


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda r: r.expr(1) + 2 + 3.5, 6.5),
        (lambda r: r.expr("ab") + "cd", "abcd"),
        (lambda r: r.expr([1]) + [2, 3], [1, 2, 3]),
        (lambda r: r.expr(10) - 4 - 1, 5),
        (lambda r: r.expr(3) * 2.5, 7.5),
        (lambda r: r.expr([1, 2]) * 2, [1, 2, 1, 2]),
        (lambda r: r.expr([1, 2]) * 0, []),
        (lambda r: r.expr(1) / 4, 0.25),
        (lambda r: r.expr(7) % 3, 1),
        (lambda r: r.expr(-7) % 3, -1),
        (lambda r: r.expr(7) % -3, 1),
        (lambda r: r.floor(-1.5), -2),
        (lambda r: r.ceil(1.2), 2),
        (lambda r: r.round(2.5), 3),
        (lambda r: r.round(-2.5), -3),
        (lambda r: r.round(-2.4), -2),
        (lambda r: r.expr(2).floor(), 2),
    ],
)
def test_arithmetic(r, conn, make, expected):
    assert run(make(r), conn) == expected


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda r: r.expr("a") + 1, ReqlQueryLogicError, "Expected type STRING but found NUMBER."),
        (lambda r: r.expr(1) + "a", ReqlQueryLogicError, "Expected type NUMBER but found STRING."),
        (lambda r: r.expr({}) + 1, ReqlQueryLogicError, "Expected type NUMBER but found OBJECT."),
        (lambda r: r.expr(1) + None, ReqlNonExistenceError, "Expected type NUMBER but found NULL."),
        (lambda r: r.expr(1) / 0, ReqlQueryLogicError, "Cannot divide by zero."),
        (lambda r: r.expr(1) % 0, ReqlQueryLogicError, "Cannot take a number modulo 0."),
        (lambda r: r.expr(7.5) % 2, ReqlQueryLogicError, "Number not an integer: 7.5"),
        (lambda r: r.expr([1]) * -1, ReqlQueryLogicError, "Cannot multiply an ARRAY by a negative number."),
        (lambda r: r.expr([1]) * 1.5, ReqlQueryLogicError, "Number not an integer: 1.5"),
        (lambda r: r.expr(1e308) * 10, ReqlQueryLogicError, "Non-finite number: inf"),
        (lambda r: r.floor("a"), ReqlQueryLogicError, "Expected type NUMBER but found STRING."),
    ],
)
def test_arithmetic_errors(r, conn, make, error, message):
    with pytest.raises(error) as e:
        run(make(r), conn)
    assert e.value.message == message


def test_mod_takes_exactly_two_arguments(r, conn):
    with pytest.raises(ReqlCompileError, match="Expected 2 arguments but found 3."):
        run(r.expr(1).mod(2, 3), conn)


def test_total_order_across_types(r, conn):
    ordered = [r.minval, [], False, None, -5, {}, r.binary(b"x"), r.epoch_time(0), "a", r.maxval]
    pairs = [r.lt(ordered[i], ordered[i + 1]) for i in range(len(ordered) - 1)]
    assert run(r.expr(pairs), conn) == [True] * (len(ordered) - 1)
    assert run(r.expr([1, 2]) < [1, 2, 0], conn) is True
    assert run(r.expr({"a": 1}) < {"a": 1, "b": 0}, conn) is True
    assert run(r.expr({"a": 2}) > {"b": 1}, conn) is False
    assert run(r.expr(1).eq(1.0, 1), conn) is True
    assert run(r.expr(1).ne(1, 2), conn) is True
    assert run(r.expr(1).lt(2, 3, 3), conn) is False
    assert run(r.expr(3).ge(3, 2, 2), conn) is True


def test_logic(r, conn):
    assert run(r.and_(), conn) is True
    assert run(r.or_(), conn) is False
    assert run(r.and_(1, "a"), conn) == "a"
    assert run(r.or_(None, False, 0), conn) == 0
    assert run(r.not_(None), conn) is True
    assert run(r.expr(0).not_(), conn) is False
    # and/or stop at the first deciding argument
    assert run(r.or_(True, r.error("not reached")), conn) is True
    assert run(r.and_(False, r.error("not reached")), conn) is False


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda r: r.expr(12).bit_and(10), 8),
        (lambda r: r.expr(12).bit_and(10, 4), 0),
        (lambda r: r.expr(12).bit_or(10), 14),
        (lambda r: r.expr(12).bit_xor(10), 6),
        (lambda r: r.expr(5).bit_not(), -6),
        (lambda r: r.expr(5).bit_sal(2), 20),
        (lambda r: r.expr(-20).bit_sar(2), -5),
        (lambda r: r.expr(-1).bit_and(255), 255),
    ],
)
def test_bit_operations(r, conn, make, expected):
    assert run(make(r), conn) == expected


def test_bit_operations_need_integers(r, conn):
    with pytest.raises(ReqlQueryLogicError, match="Number not an integer: 1.5"):
        run(r.expr(1.5).bit_and(1), conn)
    with pytest.raises(ReqlQueryLogicError, match="Expected type NUMBER but found STRING."):
        run(r.expr(1).bit_or("a"), conn)
    with pytest.raises(ReqlQueryLogicError, match="negative"):
        run(r.expr(1).bit_sal(-1), conn)


def test_random_ranges(r, conn):
    values = list(run(r.range(200).map(lambda _: r.random(3, 6)), conn))
    assert set(values) <= {3, 4, 5} and len(set(values)) > 1
    floats = list(run(r.range(50).map(lambda _: r.random(-1.5, 2.5, float=True)), conn))
    assert all(-1.5 <= x < 2.5 for x in floats)
    assert all(0 <= x < 1 for x in run(r.range(50).map(lambda _: r.random()), conn))
    assert run(r.random(5, 5, float=True), conn) == 5
    assert all(0 <= x < 2 for x in run(r.range(20).map(lambda _: r.random(2, 0, float=True)), conn))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda r: r.random(0.5), "Upper bound (0.5) could not be safely converted to an integer."),
        (lambda r: r.random(-6.5, 8), "Lower bound (-6.5) could not be safely converted to an integer."),
        (lambda r: r.random(float=False), "Generating a random integer requires one or two bounds."),
        (lambda r: r.random(0), "Lower bound (0) is not less than upper bound (0)."),
        (lambda r: r.random(20, 2), "Lower bound (20) is not less than upper bound (2)."),
    ],
)
def test_random_errors(r, conn, make, message):
    with pytest.raises(ReqlQueryLogicError) as e:
        run(make(r), conn)
    assert e.value.message == message


def test_arithmetic_on_grouped_data_runs_per_group(r, conn):
    grouped = r.expr([{"k": 1}, {"k": 1}, {"k": 2}]).group("k").count()
    assert run((grouped + 10).ungroup(), conn) == [{"group": 1, "reduction": 12}, {"group": 2, "reduction": 11}]


def test_arithmetic_gives_negative_zero_as_doubles_do(r, conn):
    for query in (r.expr(0).mul(-1), r.expr(-1).mul(0), r.expr(0.0).mul(-1), r.expr(-0.0).floor(),
                  r.expr(-0.5).ceil(), r.expr(-0.0).ceil()):
        value = query.run(conn)
        assert value == 0 and str(value) == "-0.0"
    assert str(r.expr(0).mul(0).run(conn)) == "0"
    assert r.expr(0).mul(-1).coerce_to("string").run(conn) == "-0.0"
    assert r.expr(-1.5).floor().run(conn) == -2 and r.expr(0.5).floor().run(conn) == 0
