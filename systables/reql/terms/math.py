"""Comparison, arithmetic, rounding, bitwise operations and r.random."""

from __future__ import annotations

import math
import random
from typing import Any

from ... import datum as D
from ...datum import norm_num
from ...datum import times as TM
from ...datum.errors import ReqlQueryLogicError, array_over_limit
from ...datum.ql2 import TermType as T
from ..term import Env, Term, as_bool, term, type_error
from .basic import DatumOp, datum_value

# ---------------------------------------------------------------------------
# Comparisons: RethinkDB's total order over datums (datum.cmp).

class Compare(DatumOp):
    def test(self, c: int) -> bool:
        raise NotImplementedError

    async def apply(self, env: Env, first: Any) -> Any:
        prev = datum_value(first, self.args[0])
        ok = True
        for a in self.args[1:]:
            cur = datum_value(await a.eval(env), a)
            if ok and not self.test(D.cmp(prev, cur)):
                ok = False
            prev = cur
        return ok


@term(T.EQ)
class Eq(Compare):
    async def apply(self, env: Env, first: Any) -> Any:
        return await all_equal(env, self, datum_value(first, self.args[0]))


@term(T.NE)
class Ne(Compare):
    async def apply(self, env: Env, first: Any) -> Any:
        return not await all_equal(env, self, datum_value(first, self.args[0]))


async def all_equal(env: Env, t: Term, first: Any) -> bool:
    ok = True
    for a in t.args[1:]:
        v = datum_value(await a.eval(env), a)
        if ok and not D.eq(first, v):
            ok = False
    return ok


@term(T.LT)
class Lt(Compare):
    def test(self, c: int) -> bool:
        return c < 0


@term(T.LE)
class Le(Compare):
    def test(self, c: int) -> bool:
        return c <= 0


@term(T.GT)
class Gt(Compare):
    def test(self, c: int) -> bool:
        return c > 0


@term(T.GE)
class Ge(Compare):
    def test(self, c: int) -> bool:
        return c >= 0


# ---------------------------------------------------------------------------
# Arithmetic, folded left to right over the arguments.

class Arith(DatumOp):
    """Arithmetic on datums: as in RethinkDB, a type error or an overflow is the
    arithmetic term's, whichever operand caused it; a single operand is returned
    as it is (``r.add(true)`` is true)."""

    def op2(self, a: Any, b: Any) -> Any:
        raise NotImplementedError

    def array_size(self, a: Any, b: Any) -> int | None:
        """The length of ``op2(a, b)`` when it is an array, known before it is built."""
        return None

    async def apply(self, env: Env, first: Any) -> Any:
        acc = datum_value(first, self.args[0])
        limit = env.ctx.array_limit
        for a in self.args[1:]:
            b = datum_value(await a.eval(env), a)
            size = self.array_size(acc, b)
            if size is not None and size > limit:  # refused before building it
                raise array_over_limit(limit, self)
            acc = self.op2(acc, b)
        return acc

    def num(self, v: Any) -> int | float:
        return check_num(v, self)

    def result(self, x: int | float) -> int | float:
        return checked(x, self)


def check_num(v: Any, at: Any) -> int | float:
    t = type(v)
    if t is int or t is float:
        return v
    raise type_error("NUMBER", v, at)


def checked(x: int | float, at: Any) -> int | float:
    try:
        return norm_num(x)
    except ReqlQueryLogicError as e:
        raise e.at(at)


@term(T.ADD)
class Add(Arith):
    def op2(self, a: Any, b: Any) -> Any:
        if TM.is_time(a):
            return TM.time_add(a, self.num(b))
        if TM.is_time(b):
            return TM.time_add(b, self.num(a))
        ta = type(a)
        if ta is str or ta is list:
            if type(b) is not ta:
                raise type_error("STRING" if ta is str else "ARRAY", b, self)
            return a + b
        return self.result(self.num(a) + self.num(b))

    def array_size(self, a: Any, b: Any) -> int | None:
        return len(a) + len(b) if type(a) is list and type(b) is list else None


@term(T.SUB)
class Sub(Arith):
    def op2(self, a: Any, b: Any) -> Any:
        if TM.is_time(a):
            return TM.time_sub(a, b, self)
        return self.result(self.num(a) - self.num(b))


@term(T.MUL)
class Mul(Arith):
    def op2(self, a: Any, b: Any) -> Any:
        if type(a) is list or type(b) is list:
            arr, n = (a, b) if type(a) is list else (b, a)
            copies = as_integer(n, self)
            if copies < 0:
                raise ReqlQueryLogicError("Cannot multiply an ARRAY by a negative number.", self)
            return arr * copies
        x, y = self.num(a), self.num(b)
        product = x * y
        if product == 0:
            product = float(x) * float(y)  # in doubles, as RethinkDB: 0 * -1 is -0.0
        return self.result(product)

    def array_size(self, a: Any, b: Any) -> int | None:
        if type(a) is list or type(b) is list:
            arr, n = (a, b) if type(a) is list else (b, a)
            return len(arr) * max(0, as_integer(n, self))
        return None


@term(T.DIV)
class Div(Arith):
    def op2(self, a: Any, b: Any) -> Any:
        a = self.num(a)
        if self.num(b) == 0:
            raise ReqlQueryLogicError("Cannot divide by zero.", self)
        return self.result(a / b)


def as_integer(v: Any, at: Any) -> int:
    """RethinkDB's ``as_int``: a number that is an integer no larger than 2**53 in magnitude."""
    n = check_num(v, at)
    if type(n) is int and -D.MAX_DBL_INT <= n <= D.MAX_DBL_INT:
        return n
    if type(n) is float and n.is_integer() and -D.MAX_DBL_INT <= n <= D.MAX_DBL_INT:
        return int(n)
    bound = " (>2^53)" if n > D.MAX_DBL_INT else " (<-2^53)" if n < -D.MAX_DBL_INT else ""
    raise ReqlQueryLogicError(f"Number not an integer{bound}: {D.fmt_double(n)}", at)


@term(T.MOD)
class Mod(DatumOp):
    async def apply(self, env: Env, first: Any) -> Any:
        a = as_integer(datum_value(first, self.args[0]), self.args[0])
        b = as_integer(datum_value(await self.args[1].eval(env), self.args[1]), self.args[1])
        if b == 0:
            raise ReqlQueryLogicError("Cannot take a number modulo 0.", self)
        remainder = abs(a) % abs(b)  # C's %: the sign of the dividend
        return -remainder if a < 0 else remainder


# ---------------------------------------------------------------------------
# floor, ceil, round

class Rounding(DatumOp):
    def fn(self, x: float) -> float:
        raise NotImplementedError

    async def apply(self, env: Env, first: Any) -> Any:
        x = check_num(datum_value(first, self.args[0]), self.args[0])
        return x if type(x) is int else norm_num(float(self.fn(x)))


@term(T.FLOOR)
class Floor(Rounding):
    def fn(self, x: float) -> float:
        return math.copysign(math.floor(x), x)  # std::floor keeps the sign of a zero: floor(-0.0) is -0.0


@term(T.CEIL)
class Ceil(Rounding):
    def fn(self, x: float) -> float:
        return math.copysign(math.ceil(x), x)  # std::ceil(-0.5) is -0.0


@term(T.ROUND)
class Round(Rounding):
    def fn(self, x: float) -> float:
        # std::round: halves away from zero.
        return math.copysign(math.floor(abs(x) + 0.5), x)


# ---------------------------------------------------------------------------
# Bitwise operations on 64-bit two's complement integers (results as numbers).

class Bitwise(DatumOp):
    """Bit operations on integers below 2**53 in magnitude: each operand must be
    an integer (that error is the operand's), one of 2**53 or more is too large
    for the term (RethinkDB's ``bit_op``)."""

    def combine(self, a: int, b: int) -> int | float:
        raise NotImplementedError

    async def apply(self, env: Env, first: Any) -> Any:
        acc: int | float = self.operand(datum_value(first, self.args[0]), self.args[0])
        for a in self.args[1:]:
            acc = self.combine(acc, self.operand(datum_value(await a.eval(env), a), a))  # type: ignore[arg-type]
        return checked(acc, self)

    def operand(self, v: Any, at: Any) -> int:
        n = as_integer(v, at)
        if n >= D.MAX_DBL_INT:
            raise ReqlQueryLogicError(f"Integer too large: {n}", self)
        return n


@term(T.BIT_AND)
class BitAnd(Bitwise):
    def combine(self, a: int, b: int) -> int:
        return a & b


@term(T.BIT_OR)
class BitOr(Bitwise):
    def combine(self, a: int, b: int) -> int:
        return a | b


@term(T.BIT_XOR)
class BitXor(Bitwise):
    def combine(self, a: int, b: int) -> int:
        return a ^ b


@term(T.BIT_NOT)
class BitNot(Bitwise):
    async def apply(self, env: Env, first: Any) -> Any:
        return norm_num(~self.operand(datum_value(first, self.args[0]), self.args[0]))


class Shift(Bitwise):
    async def apply(self, env: Env, first: Any) -> Any:
        a = self.operand(datum_value(first, self.args[0]), self.args[0])
        b = as_integer(datum_value(await self.args[1].eval(env), self.args[1]), self.args[1])
        if b < 0:
            raise ReqlQueryLogicError("Cannot bit-shift by a negative value.", self)
        return checked(self.shift(a, b), self)

    def shift(self, a: int, b: int) -> int | float:
        raise NotImplementedError


@term(T.BIT_SAL)
class BitSal(Shift):
    def shift(self, a: int, b: int) -> float:
        # RethinkDB shifts left in doubles: no wrap-around, and an overflow is infinite.
        try:
            return math.ldexp(float(a), b)
        except OverflowError:
            return math.inf


@term(T.BIT_SAR)
class BitSar(Shift):
    def shift(self, a: int, b: int) -> int:
        return a >> min(b, 64)


# ---------------------------------------------------------------------------
# r.random

@term(T.RANDOM)
class Random(Term):
    """``r.random()``: a float in [0, 1); with bounds, an integer unless ``float=True``."""

    deterministic = False

    async def eval(self, env: Env) -> Any:
        bounds = [check_num(datum_value(await a.eval(env), a), a) for a in self.args]
        use_float = await self.opt_datum(env, "float", None)
        if (not bounds) if use_float is None else as_bool(use_float):
            return random_float(*float_bounds(bounds))
        if not bounds:
            raise ReqlQueryLogicError("Generating a random integer requires one or two bounds.", self)
        lo = integer_bound(bounds[0], "Lower", self) if len(bounds) == 2 else 0
        hi = integer_bound(bounds[-1], "Upper", self)
        if lo >= hi:
            raise ReqlQueryLogicError(f"Lower bound ({lo}) is not less than upper bound ({hi}).", self)
        return random.randrange(lo, hi)


def float_bounds(bounds: list) -> tuple[float, float]:
    lo, hi = (0.0, 1.0) if not bounds else ((0.0, bounds[0]) if len(bounds) == 1 else tuple(bounds))
    return (lo, hi) if lo <= hi else (hi, lo)


def random_float(lo: float, hi: float) -> int | float:
    """Uniform in [lo, hi) (lo when they are equal), without overflowing on wide ranges."""
    r = random.random()
    x = lo * (1 - r) + hi * r
    if x >= hi > lo:
        x = math.nextafter(hi, lo)
    return norm_num(min(max(x, lo), hi))


def integer_bound(v: int | float, which: str, at: Any) -> int:
    if type(v) is int and abs(v) <= D.MAX_DBL_INT:
        return v
    if type(v) is float and v.is_integer() and abs(v) <= D.MAX_DBL_INT:
        return int(v)
    raise ReqlQueryLogicError(f"{which} bound ({D.fmt_double(v)}) could not be safely converted to an integer.", at)
