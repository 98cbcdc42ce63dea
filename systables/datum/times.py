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
from .errors import ReqlQueryLogicError

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

def _hours_valid(s: str) -> bool:
    return len(s) == 2 and s.isdigit() and s.isascii() and int(s) <= 24


def _minutes_valid(s: str) -> bool:
    return len(s) == 2 and s.isdigit() and s.isascii() and int(s) <= 60


def sanitize_tz(tz: str, at: Any = None) -> str:
    if tz == "Z":
        return UTC
    if not tz or tz[0] not in "+-":
        raise ReqlQueryLogicError(f"Timezone `{tz}` does not start with `-` or `+`.", at)
    body = tz[1:]
    if len(body) == 2 and _hours_valid(body):
        hh, mm = body, "00"
    elif len(body) == 4 and _hours_valid(body[:2]) and _minutes_valid(body[2:]):
        hh, mm = body[:2], body[2:]
    elif len(body) == 5 and body[2] == ":" and _hours_valid(body[:2]) and _minutes_valid(body[3:]):
        hh, mm = body[:2], body[3:]
    else:
        raise ReqlQueryLogicError(f"`{tz}` is not a valid time offset.", at)
    out = f"{tz[0]}{hh}:{mm}"
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
    tz = sanitize_tz(obj["timezone"])
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
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise time_logic_error("Year is out of valid range: 1400..10000", at)


def check_date(year: int, month: int, day: int, at: Any = None) -> None:
    """Boost's checks, in Boost's order, with Boost's messages."""
    check_year(year, at)
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
    local = days_from_civil(year, month, day) * 86400 + hours * 3600 + minutes * 60 + seconds
    return make_time(local - tz_offset_ms(tz) / 1000, tz)


def to_iso8601(t: dict, at: Any = None) -> str:
    f = fields_of(t, at)
    if f.year > 9999:
        raise ReqlQueryLogicError(f"Year `{f.year}` out of valid ISO 8601 range [0, 9999].", at)
    secs, ms = divmod(f.ms_of_minute, 1000)
    frac = f".{ms:03d}" if ms else ""
    return (
        f"{f.year:04d}-{f.month:02d}-{f.day:02d}T{f.hours:02d}:{f.minutes:02d}:{secs:02d}{frac}{t['timezone']}"
    )


_DATE_FORMS = [
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"),
    re.compile(r"(?P<y>\d{4})-(?P<yd>\d{3})"),
    re.compile(r"(?P<y>\d{4})(?P<yd>\d{3})"),
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})"),
    re.compile(r"(?P<y>\d{4})"),
]
_TIME_FORMS = [
    re.compile(r"(?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2}(?:\.\d+)?)"),
    re.compile(r"(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2}(?:\.\d+)?)"),
    re.compile(r"(?P<h>\d{2}):(?P<mi>\d{2})"),
    re.compile(r"(?P<h>\d{2})(?P<mi>\d{2})"),
    re.compile(r"(?P<h>\d{2})"),
]
_TZ_RE = re.compile(r"Z|[+-]\d{2}(?::?\d{2})?")


def _full_match(forms: list[re.Pattern[str]], text: str) -> re.Match[str] | None:
    for form in forms:
        m = form.fullmatch(text)
        if m:
            return m
    return None


def _split_iso(s: str) -> tuple[str, str, str | None]:
    """Split ``date[Ttime[tz]]`` into its three parts (tz None when absent)."""
    date, sep, rest = s.partition("T")
    if not sep:
        return date, "", None
    m = re.search(r"[Z+-]", rest)
    if m is None:
        return date, rest, None
    return date, rest[: m.start()], rest[m.start():]


def parse_iso8601(s: str, default_tz: str | None, at: Any = None) -> dict:
    if not s.isascii():
        raise _bad_iso(s, at)
    date_s, time_s, tz_s = _split_iso(s)
    date_m = _full_match(_DATE_FORMS, date_s)
    time_m = _full_match(_TIME_FORMS, time_s) if time_s else None
    if date_m is None or (time_s and time_m is None) or (tz_s is not None and not _TZ_RE.fullmatch(tz_s)):
        raise _bad_iso(s, at)
    if tz_s is None:
        if default_tz is None:
            raise ReqlQueryLogicError("ISO 8601 string has no time zone, and no default time zone was provided.", at)
        tz = default_tz
    else:
        tz = sanitize_tz(tz_s, at)
    year, month, day = _date_of(date_m, at)
    hours, minutes, seconds = _time_of(time_m, at)
    return time_from_fields(year, month, day, hours, minutes, seconds, tz, at)


def _date_of(m: re.Match[str], at: Any) -> tuple[int, int, int]:
    year = int(m["y"])
    parts = m.groupdict()
    if parts.get("yd") is not None:
        check_year(year, at)
        day_of_year = int(parts["yd"])
        if not 1 <= day_of_year <= (366 if is_leap(year) else 365):
            raise time_logic_error("Day of year value is out of range 1..366", at)
        return civil_from_days(days_from_civil(year, 1, 1) + day_of_year - 1)
    month = int(parts["m"]) if parts.get("m") else 1
    day = int(parts["d"]) if parts.get("d") else 1
    return year, month, day


def _time_of(m: re.Match[str] | None, at: Any) -> tuple[int, int, float]:
    if m is None:
        return 0, 0, 0
    parts = m.groupdict()
    hours = int(parts["h"])
    minutes = int(parts["mi"]) if parts.get("mi") else 0
    seconds = float(parts["s"]) if parts.get("s") else 0
    if hours > 23 or minutes > 59 or seconds >= 61:
        raise time_logic_error("Time of day is out of range", at)
    return hours, minutes, seconds


def _bad_iso(s: str, at: Any) -> ReqlQueryLogicError:
    return ReqlQueryLogicError(f"Invalid date string `{s}` (expected an ISO 8601 date and time).", at)
