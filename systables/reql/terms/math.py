"""Comparison and arithmetic."""

from __future__ import annotations

import math
from typing import Any

from .. import datum as D
from ..datum import norm_num, type_name
from ..errors import ReqlQueryLogicError
from ..ql2 import TermType as T
from ..term import Env, Term, as_datum, as_num, term, type_error


class Compare(Term):
    min_args = 1

    def test(self, c: int) -> bool:
        raise NotImplementedError

    async def eval(self, env: Env) -> bool:
        args = self.args
        prev = as_datum(await args[0].eval(env), args[0])
        check_comparable(prev, args[0])
        ok = True
        for a in args[1:]:
            cur = as_datum(await a.eval(env), a)
            check_comparable(cur, a)
            if ok and not self.test(D.cmp(prev, cur)):
                ok = False
            prev = cur
        return ok


def check_comparable(v: Any, at: Any) -> None:
    # r.minval/r.maxval compare fine; nothing else to check for datums.
    return None


@term(T.EQ)
class Eq(Compare):
    async def eval(self, env: Env) -> bool:
        args = self.args
        first = as_datum(await args[0].eval(env), args[0])
        ok = True
        for a in args[1:]:
            v = as_datum(await a.eval(env), a)
            if ok and not D.eq(first, v):
                ok = False
        return ok


@term(T.NE)
class Ne(Compare):
    async def eval(self, env: Env) -> bool:
        args = self.args
        first = as_datum(await args[0].eval(env), args[0])
        all_eq = True
        for a in args[1:]:
            v = as_datum(await a.eval(env), a)
            if all_eq and not D.eq(first, v):
                all_eq = False
        return not all_eq


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


class Arith(Term):
    min_args = 1

    def op2(self, a: Any, b: Any, at: Any) -> Any:
        raise NotImplementedError

    async def eval(self, env: Env) -> Any:
        args = self.args
        acc = as_datum(await args[0].eval(env), args[0])
        if len(args) == 1:
            self.check_single(acc, args[0])
        for a in args[1:]:
            acc = self.op2(acc, as_datum(await a.eval(env), a), a)
        return acc

    def check_single(self, v: Any, at: Any) -> None:
        as_num(v, at)


def _num2(a: Any, b: Any, at: Any) -> tuple[Any, Any]:
    ta, tb = type(a), type(b)
    if not (ta is int or ta is float):
        raise type_error("NUMBER", a)
    if not (tb is int or tb is float):
        raise type_error("NUMBER", b, at)
    return a, b


@term(T.ADD)
class Add(Arith):
    def check_single(self, v: Any, at: Any) -> None:
        if type(v) not in (int, float, str, list) and not is_time(v):
            raise type_error("NUMBER", v, at)

    def op2(self, a: Any, b: Any, at: Any) -> Any:
        ta = type(a)
        if ta is str:
            if type(b) is not str:
                raise type_error("STRING", b, at)
            return a + b
        if ta is list:
            if type(b) is not list:
                raise type_error("ARRAY", b, at)
            return a + b
        if is_time(a):
            from ..times import time_add

            return time_add(a, as_num(b, at))
        if is_time(b) and ta in (int, float):
            from ..times import time_add

            return time_add(b, a)
        a, b = _num2(a, b, at)
        return norm_num(a + b)


def is_time(v: Any) -> bool:
    return type(v) is dict and v.get(D.REQL_TYPE) == "TIME"


@term(T.SUB)
class Sub(Arith):
    def check_single(self, v: Any, at: Any) -> None:
        if not is_time(v):
            as_num(v, at)

    def op2(self, a: Any, b: Any, at: Any) -> Any:
        if is_time(a):
            from ..times import time_sub

            return time_sub(a, b, at)
        a, b = _num2(a, b, at)
        return norm_num(a - b)


@term(T.MUL)
class Mul(Arith):
    def check_single(self, v: Any, at: Any) -> None:
        if type(v) is not list:
            as_num(v, at)

    def op2(self, a: Any, b: Any, at: Any) -> Any:
        if type(a) is list or type(b) is list:
            arr, n = (a, b) if type(a) is list else (b, a)
            n = as_num(n, at)
            if type(n) is not int:
                raise ReqlQueryLogicError(f"Number not an integer: {D.fmt_num(n)}", at)
            return arr * max(0, n)
        a, b = _num2(a, b, at)
        return norm_num(a * b)


@term(T.DIV)
class Div(Arith):
    def op2(self, a: Any, b: Any, at: Any) -> Any:
        a, b = _num2(a, b, at)
        if b == 0:
            raise ReqlQueryLogicError("Cannot divide by zero.", at)
        return norm_num(a / b)


@term(T.MOD)
class Mod(Arith):
    def op2(self, a: Any, b: Any, at: Any) -> Any:
        a, b = _num2(a, b, at)
        if b == 0:
            raise ReqlQueryLogicError("Cannot divide by zero.", at)
        if type(a) is not int:
            raise ReqlQueryLogicError(f"Number not an integer: {D.fmt_num(a)}", self.args[0])
        if type(b) is not int:
            raise ReqlQueryLogicError(f"Number not an integer: {D.fmt_num(b)}", at)
        return norm_num(math.fmod(a, b)) if abs(a) < 2**53 else norm_num(int(math.fmod(a, b)))


class Rounding(Term):
    min_args = max_args = 1

    def fn(self, x: float) -> float:
        raise NotImplementedError

    async def eval(self, env: Env) -> Any:
        x = await self.arg_num(env, 0)
        return norm_num(float(self.fn(x)))


@term(T.FLOOR)
class Floor(Rounding):
    def fn(self, x: float) -> float:
        return math.floor(x)


@term(T.CEIL)
class Ceil(Rounding):
    def fn(self, x: float) -> float:
        return math.ceil(x)


@term(T.ROUND)
class Round(Rounding):
    def fn(self, x: float) -> float:
        # RethinkDB rounds half away from zero (std::round).
        return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)
