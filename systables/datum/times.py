"""TIME pseudo-type: ``{"$reql_type$": "TIME", "epoch_time": n, "timezone": "+00:00"}``.

RethinkDB keeps times to the millisecond (epoch seconds rounded half away
from zero), with a fixed UTC offset as the time zone, and computes calendar
fields with Boost's Gregorian calendar, whose valid years are 1400..10000.
Calendar arithmetic here is done on integer milliseconds so that fields such
as ``seconds()`` come out exactly as RethinkDB prints them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from .. import datum as D
from .errors import ReqlInternalError, ReqlQueryLogicError

TIME = "TIME"
UTC = "+00:00"
MS_PER_DAY = 86_400_000
MIN_YEAR, MAX_YEAR = 1400, 10000


def is_time(v: Any) -> bool:
    return type(v) is dict and v.get(D.REQL_TYPE) == TIME


def sanitize_epoch(seconds: float) -> float:
    """Round to milliseconds, half away from zero, as RethinkDB stores times."""
    scaled = seconds * 1000
    rounded = math.floor(abs(scaled) + 0.5)
    return math.copysign(rounded, scaled) / 1000


def make_time(epoch: float, tz: str = UTC) -> dict:
    return {D.REQL_TYPE: TIME, "epoch_time": D.norm_num(sanitize_epoch(epoch)), "timezone": tz}


# ---------------------------------------------------------------------------
# Time zones: "Z", "[+-]HH", "[+-]HHMM" or "[+-]HH:MM", stored as "[+-]HH:MM".

TZ_FORMS = "Valid time zones are `+hh:mm`, `-hh:mm`, `+hhmm`, `-hhmm`, `+hh`, `-hh` and `Z`."


def malformed(part: str, at: Any = None) -> ReqlQueryLogicError:
    """A part of a date, time or time zone of the wrong length: RethinkDB words
    all of them as a time zone problem."""
    return ReqlQueryLogicError(f"Invalid time zone string `{part}`. {TZ_FORMS}", at)


def not_a_digit(part: str, ch: str, at: Any = None) -> ReqlQueryLogicError:
    return ReqlQueryLogicError(f"Invalid date string `{part}` (got `{ch}` but expected a digit).", at)


def garbage(rest: str, kind: str, part: str, at: Any = None) -> ReqlQueryLogicError:
    return ReqlQueryLogicError(f"Garbage characters `{rest}` at end of {kind} string `{part}`.", at)


def check_digits(part: str, positions: range | tuple, at: Any = None) -> None:
    for i in positions:
        if i < len(part) and not ("0" <= part[i] <= "9"):
            raise not_a_digit(part, part[i], at)


def sanitize_tz(tz: str, at: Any = None) -> str:
    """``Z``, ``[+-]hh``, ``[+-]hhmm`` or ``[+-]hh:mm`` as ``[+-]hh:mm``, checked
    in RethinkDB's order: sign, digits, trailing characters, length, range."""
    if tz == "Z":
        return UTC
    if not tz or tz[0] not in "+-":
        raise ReqlQueryLogicError(f"Timezone `{tz}` does not start with `-` or `+`.", at)
    extended = len(tz) > 3 and tz[3] == ":"
    longest = 6 if extended else 5
    check_digits(tz, (1, 2, 4, 5) if extended else (1, 2, 3, 4), at)
    if len(tz) > longest:
        raise garbage(tz[longest:], "timezone", tz, at)
    if len(tz) not in ((6,) if extended else (3, 5)):
        raise malformed(tz, at)
    hh, mm = tz[1:3], (tz[4:6] if extended else tz[3:5] or "00")
    if int(hh) > 24:
        raise ReqlQueryLogicError(f"Hours out of range in `{tz}`.", at)
    if int(mm) > 59:
        raise ReqlQueryLogicError(f"Minutes out of range in `{tz}`.", at)
    out = f"{tz[0]}{hh}:{mm}"
    if out == "-00:00":
        raise ReqlQueryLogicError(f"`{tz}` is not a valid time offset.", at)
    return out


def loose_tz(tz: str, at: Any = None) -> str:
    """``iso8601``'s ``default_timezone``: RethinkDB hands it to its date library
    without the checks of ``sanitize_tz`` (``-00`` passes; a bad offset fails
    later, when the time is built)."""
    m = re.fullmatch(r"([+-])(\d\d)(?::?(\d\d))?", tz)
    if tz == "Z" or m is None:
        if tz == "Z":
            return UTC
        raise ReqlQueryLogicError(f"Invalid ISO 8601 timezone: `{tz}+00`.", at)
    out = f"{m[1]}{m[2]}:{m[3] or '00'}"
    return UTC if out == "-00:00" else out


def tz_offset_ms(tz: str) -> int:
    """Offset of a sanitized time zone from UTC, in milliseconds."""
    sign = -1 if tz[0] == "-" else 1
    return sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60) * 1000


# ---------------------------------------------------------------------------
# Validation of time objects built by clients or by r.object / merge.

def check_time_pseudo(obj: dict) -> dict:
    problem = _time_object_problem(obj)
    if problem:
        raise ReqlQueryLogicError(f"Invalid time object constructed ({problem}):\n{D.print_datum(obj)}")
    try:
        tz = sanitize_tz(obj["timezone"])
    except ReqlQueryLogicError:
        problem = f"invalid timezone string `{D.print_json(obj['timezone'])}`"
        raise ReqlQueryLogicError(f"Invalid time object constructed ({problem}):\n{D.print_datum(obj)}") from None
    epoch = D.norm_num(sanitize_epoch(obj["epoch_time"]))
    if tz == obj.get("timezone") and epoch == obj["epoch_time"] and type(epoch) is type(obj["epoch_time"]):
        return obj
    return {D.REQL_TYPE: TIME, "epoch_time": epoch, "timezone": tz}


def _time_object_problem(obj: dict) -> str:
    for key, value in obj.items():
        if key == D.REQL_TYPE:
            continue
        if key == "epoch_time":
            if not D.is_number(value):
                return _field_type_problem(key, value, "number")
        elif key == "timezone":
            if type(value) is not str:
                return _field_type_problem(key, value, "string")
        else:
            return f"unrecognized field `{key}`"
    for key in ("epoch_time", "timezone"):
        if key not in obj:
            return f"no field `{key}`"
    return ""


def _field_type_problem(key: str, value: Any, wanted: str) -> str:
    return f"field `{key}` must be a {wanted} (got `{D.print_datum(value)}` of type {D.type_name(value)})"


# ---------------------------------------------------------------------------
# Arithmetic (time + number, time - number, time - time).

def time_add(t: dict, seconds: Any) -> dict:
    return make_time(t["epoch_time"] + seconds, t["timezone"])


def time_sub(t: dict, other: Any, at: Any = None) -> Any:
    if is_time(other):
        return D.norm_num(sanitize_epoch(t["epoch_time"] - other["epoch_time"]))
    if not D.is_number(other):
        raise ReqlQueryLogicError(f"Expected type NUMBER but found {D.type_name(other)}.", at)
    return make_time(t["epoch_time"] - other, t["timezone"])


# ---------------------------------------------------------------------------
# Gregorian calendar on day numbers (days since 1970-01-01).

def days_from_civil(year: int, month: int, day: int) -> int:
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days: int) -> tuple[int, int, int]:
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (month <= 2), month, day


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def time_logic_error(what: str, at: Any = None) -> ReqlQueryLogicError:
    return ReqlQueryLogicError(f"Error in time logic: {what}.", at)


def check_year(year: int, at: Any = None) -> None:
    """The years a time's fields can be read in."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise time_logic_error("Year is out of valid range: 1400..10000", at)


def check_date(year: int, month: int, day: int, at: Any = None) -> None:
    """Boost's checks when a date is built, in Boost's order, with Boost's messages."""
    if not MIN_YEAR <= year <= MAX_YEAR - 1:
        raise time_logic_error("Year is out of valid range: 1400..9999", at)
    if not 1 <= month <= 12:
        raise time_logic_error("Month number is out of range 1..12", at)
    if not 1 <= day <= 31:
        raise time_logic_error("Day of month value is out of range 1..31", at)
    if day > days_in_month(year, month):
        raise time_logic_error("Day of month is not valid for year", at)


@dataclass(frozen=True)
class Fields:
    """Calendar fields of a time, in its own time zone."""

    year: int
    month: int
    day: int
    ms_of_day: int
    day_number: int  # days since 1970-01-01, local

    @property
    def hours(self) -> int:
        return self.ms_of_day // 3_600_000

    @property
    def minutes(self) -> int:
        return self.ms_of_day // 60_000 % 60

    @property
    def ms_of_minute(self) -> int:
        return self.ms_of_day % 60_000

    @property
    def day_of_week(self) -> int:
        """ISO weekday: Monday is 1, Sunday is 7 (1970-01-01 was a Thursday)."""
        return (self.day_number + 3) % 7 + 1

    @property
    def day_of_year(self) -> int:
        return self.day_number - days_from_civil(self.year, 1, 1) + 1


def epoch_ms(t: dict) -> int:
    return int(round(t["epoch_time"] * 1000))


def fields_of(t: dict, at: Any = None) -> Fields:
    local_ms = epoch_ms(t) + tz_offset_ms(t["timezone"])
    day_number, ms_of_day = divmod(local_ms, MS_PER_DAY)
    year, month, day = civil_from_days(day_number)
    check_year(year, at)
    return Fields(year, month, day, ms_of_day, day_number)


def ms_to_seconds(ms: int) -> int | float:
    return D.norm_num(ms / 1000)


# ---------------------------------------------------------------------------
# Construction from calendar fields and ISO 8601 text.

def time_from_fields(
    year: int, month: int, day: int, hours: int, minutes: int, seconds: float, tz: str, at: Any = None
) -> dict:
    check_date(year, month, day, at)
    offset_ms = tz_offset_ms(tz)
    if abs(offset_ms) >= MS_PER_DAY:
        raise time_logic_error(f"Offset out of range: {tz[1:]}:00", at)
    # Hours, minutes and seconds past their range carry over, as in Boost.
    local = days_from_civil(year, month, day) * 86400 + hours * 3600 + minutes * 60 + seconds
    return make_time(local - offset_ms / 1000, tz)


def to_iso8601(t: dict, at: Any = None) -> str:
    f = fields_of(t, at)
    if f.year > 9999:
        raise ReqlQueryLogicError(f"Year `{f.year}` out of valid ISO 8601 range [0, 9999].", at)
    secs, ms = divmod(f.ms_of_minute, 1000)
    frac = f".{ms:03d}" if ms else ""
    return (
        f"{f.year:04d}-{f.month:02d}-{f.day:02d}T{f.hours:02d}:{f.minutes:02d}:{secs:02d}{frac}{t['timezone']}"
    )


WEEK_DATES = (
    "Due to limitations in the boost time library we use for parsing, we cannot support ISO week dates "
    "right now.  Sorry about that!  Please use years, calendar dates, or ordinal dates instead."
)


def parse_iso8601(s: str, default_tz: str | None, at: Any = None) -> dict:
    """``date[Ttime[tz]]``, parsed as RethinkDB parses it, with its messages."""
    date_s, sep, rest = s.partition("T")
    year, month, day, day_of_year = _parse_date(date_s, at)
    seconds: int | float = 0
    tz_s = None
    if sep:
        m = re.search(r"[-+Z]", rest)
        time_s, tz_s = (rest, None) if m is None else (rest[: m.start()], rest[m.start():])
        seconds = _parse_time(time_s, at)
    # RethinkDB reads a time zone in the text, then builds the date, and only
    # then looks for a default time zone: the errors come in that order.
    tz = None if tz_s is None else sanitize_tz(tz_s, at)
    if day_of_year is not None:
        check_date(year, 1, 1, at)
        if not 1 <= day_of_year <= 366:
            raise ReqlInternalError("Unexpected exception: Day of year value is out of range 1..366")
        # day 366 of a common year is the next January 1st, as in Boost
        year, month, day = civil_from_days(days_from_civil(year, 1, 1) + day_of_year - 1)
    check_date(year, month, day, at)
    if tz is None and default_tz is not None:
        tz = loose_tz(default_tz, at)  # looked at only when the text has no time zone
    if tz is None:
        raise ReqlQueryLogicError("ISO 8601 string has no time zone, and no default time zone was provided.", at)
    return time_from_fields(year, month, day, 0, 0, seconds, tz, at)


def _parse_date(d: str, at: Any) -> tuple[int, int, int, int | None]:
    """(year, month, day, day of year or None) of ``YYYY``, ``YYYY-MM``,
    ``YYYY-MM-DD``, ``YYYYMMDD``, ``YYYY-DDD`` or ``YYYYDDD``."""
    if "W" in d:
        raise ReqlQueryLogicError(WEEK_DATES, at)
    extended = len(d) > 4 and d[4] == "-"
    longest = 10 if extended else 8
    for i, ch in enumerate(d[:longest]):
        if extended and i == 4:
            continue
        if extended and i == 7 and len(d) > 8:
            if ch != "-":
                raise ReqlQueryLogicError(f"Date string `{d}` must have 0 or 2 hyphens.", at)
            continue
        if not "0" <= ch <= "9":
            raise not_a_digit(d, ch, at)
    if len(d) > longest:
        raise garbage(d[longest:], "date", d, at)
    digits = d.replace("-", "")
    year = int(digits[:4]) if len(digits) >= 4 else 0
    if len(d) == 4:
        return year, 1, 1, None
    if len(d) == (7 if extended else 8) or (extended and len(d) == 10):
        month = int(digits[4:6])
        return year, month, int(digits[6:8]) if len(digits) >= 8 else 1, None
    if len(d) == (8 if extended else 7):
        return year, 1, 1, int(digits[4:7])
    raise malformed(d, at)


def _parse_time(t: str, at: Any) -> int | float:
    """Seconds into the day of ``hh``, ``hhmm``, ``hhmmss``, ``hh:mm`` or
    ``hh:mm:ss`` (seconds may have a fraction); no range check, as in Boost."""
    extended = len(t) > 2 and t[2] == ":"
    positions = (0, 1, 3, 4, 6, 7) if extended else (0, 1, 2, 3, 4, 5)
    longest = 8 if extended else 6
    for i, ch in enumerate(t[:longest]):
        if extended and i == 2:
            continue
        if extended and i == 5:
            if ch != ":":
                raise ReqlQueryLogicError(f"Time string `{t}` must have 0 or 2 colons.", at)
            continue
        if i in positions and not "0" <= ch <= "9":
            raise not_a_digit(t, ch, at)
    fraction = ""
    if len(t) > longest:
        if t[longest] != ".":
            raise garbage(t[longest:], "time", t, at)
        fraction = t[longest + 1:]
        check_digits(t, range(longest + 1, len(t)), at)
    elif len(t) not in ((5, 8) if extended else (2, 4, 6)):
        raise malformed(t, at)
    digits = t[:longest].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    seconds: int | float = int(digits[4:6] or 0)
    if fraction:
        seconds = D.norm_num(seconds + float("0." + fraction))
    return hours * 3600 + minutes * 60 + seconds
