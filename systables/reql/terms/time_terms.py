"""Time terms: now, time, epoch_time, iso8601, to_iso8601, to_epoch_time,
in_timezone, timezone, during, date, time_of_day, the calendar fields, and
the r.monday..r.sunday / r.january..r.december constants."""

from __future__ import annotations

from typing import Any

from ... import datum as D
from ...datum import times as TM
from ...datum.errors import ReqlQueryLogicError
from ...datum.ql2 import TermType as T
from ..term import Env, Term, as_str, bound_is_open, term
from .basic import DatumOp, datum_value


def as_time(v: Any, at: Any = None) -> dict:
    d = datum_value(v, at)
    if TM.is_time(d):
        return d
    try:
        shown = D.print_datum(d)
    except ReqlQueryLogicError as e:  # r.minval cannot be shown: that error is the value's
        raise e.at(at)
    raise ReqlQueryLogicError(f"Not a TIME pseudotype: `{shown}`.", at)


class TimeOp(DatumOp):
    """A term whose first argument must be a time."""

    async def apply(self, env: Env, first: Any) -> Any:
        return await self.on_time(env, as_time(first, self.args[0]))

    async def on_time(self, env: Env, t: dict) -> Any:
        raise NotImplementedError


@term(T.NOW)
class Now(Term):
    min_args = max_args = 0
    varies_across_queries = True

    async def eval(self, env: Env) -> Any:
        return env.ctx.now()


@term(T.EPOCH_TIME)
class EpochTime(Term):
    min_args = max_args = 1

    async def eval(self, env: Env) -> Any:
        return TM.make_time(await self.arg_num(env, 0))


@term(T.TIME)
class Time(Term):
    """``r.time(year, month, day[, hours, minutes, seconds], timezone)``."""

    min_args, max_args = 4, 7

    async def eval(self, env: Env) -> Any:
        n = len(self.args)
        if n not in (4, 7):
            raise ReqlQueryLogicError(f"Got {n} arguments to TIME (expected 4 or 7).", self)
        year, month, day = [await self.arg_int(env, i) for i in range(3)]
        hours = minutes = 0
        seconds: int | float = 0
        if n == 7:
            hours, minutes = await self.arg_int(env, 3), await self.arg_int(env, 4)
            seconds = await self.arg_num(env, 5)
        tz = TM.sanitize_tz(await self.arg_str(env, n - 1), self)
        return TM.time_from_fields(year, month, day, hours, minutes, seconds, tz, self)


@term(T.ISO8601)
class Iso8601(Term):
    min_args = max_args = 1
    opt_names = frozenset({"default_timezone"})

    async def eval(self, env: Env) -> Any:
        text = await self.arg_str(env, 0)
        default = await self.opt_datum(env, "default_timezone", None)
        default_tz = None if default is None else as_str(default, self)
        return TM.parse_iso8601(text, default_tz, self.args[0])  # RethinkDB marks the text


@term(T.TO_ISO8601)
class ToIso8601(TimeOp):
    max_args = 1

    async def on_time(self, env: Env, t: dict) -> Any:
        return TM.to_iso8601(t, self)


@term(T.TO_EPOCH_TIME)
class ToEpochTime(TimeOp):
    max_args = 1

    async def on_time(self, env: Env, t: dict) -> Any:
        return t["epoch_time"]


@term(T.IN_TIMEZONE)
class InTimezone(TimeOp):
    min_args = max_args = 2

    async def on_time(self, env: Env, t: dict) -> Any:
        tz = TM.sanitize_tz(as_str(await self.arg_datum(env, 1), self), self)
        return TM.make_time(t["epoch_time"], tz)


@term(T.TIMEZONE)
class Timezone(TimeOp):
    max_args = 1

    async def on_time(self, env: Env, t: dict) -> Any:
        return t["timezone"]


@term(T.DURING)
class During(TimeOp):
    """``t.during(start, end)``: start <= t < end by default; bounds can be open or closed."""

    min_args = max_args = 3
    opt_names = frozenset({"left_bound", "right_bound"})

    async def on_time(self, env: Env, t: dict) -> Any:
        start = as_time(await self.args[1].eval(env), self.args[1])
        end = as_time(await self.args[2].eval(env), self.args[2])
        left_open = await bound_is_open(self, env, "left_bound", False)
        right_open = await bound_is_open(self, env, "right_bound", True)
        lo = D.cmp(start, t)
        hi = D.cmp(t, end)
        return not (lo > 0 or (lo == 0 and left_open) or hi > 0 or (hi == 0 and right_open))



@term(T.DATE)
class Date(TimeOp):
    max_args = 1

    async def on_time(self, env: Env, t: dict) -> Any:
        f = TM.fields_of(t, self)
        return TM.make_time(t["epoch_time"] - f.ms_of_day / 1000, t["timezone"])


@term(T.TIME_OF_DAY)
class TimeOfDay(TimeOp):
    max_args = 1

    async def on_time(self, env: Env, t: dict) -> Any:
        return TM.ms_to_seconds(TM.fields_of(t, self).ms_of_day)


class CalendarField(TimeOp):
    """One calendar field of a time, in its own time zone."""

    max_args = 1
    field = ""

    async def on_time(self, env: Env, t: dict) -> Any:
        return getattr(TM.fields_of(t, self), self.field)


def calendar_field(tt: int, name: str) -> None:
    term(tt)(type(name.title().replace("_", ""), (CalendarField,), {"field": name, "__slots__": ()}))


for _tt, _name in (
    (T.YEAR, "year"),
    (T.MONTH, "month"),
    (T.DAY, "day"),
    (T.DAY_OF_WEEK, "day_of_week"),
    (T.DAY_OF_YEAR, "day_of_year"),
    (T.HOURS, "hours"),
    (T.MINUTES, "minutes"),
):
    calendar_field(_tt, _name)


@term(T.SECONDS)
class Seconds(TimeOp):
    max_args = 1

    async def on_time(self, env: Env, t: dict) -> Any:
        return TM.ms_to_seconds(TM.fields_of(t, self).ms_of_minute)


class Constant(Term):
    """``r.monday`` .. ``r.sunday`` (1..7) and ``r.january`` .. ``r.december`` (1..12)."""

    min_args = max_args = 0
    value = 0

    async def eval(self, env: Env) -> Any:
        return self.value


def constant(tt: int, value: int) -> None:
    term(tt)(type(T(tt).name.title(), (Constant,), {"value": value, "__slots__": ()}))


for _i in range(7):
    constant(T.MONDAY + _i, _i + 1)
for _i in range(12):
    constant(T.JANUARY + _i, _i + 1)
