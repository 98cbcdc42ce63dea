"""Time terms through the official driver: construction, time zones, calendar
fields, arithmetic, comparison and RethinkDB's errors."""

from __future__ import annotations

import datetime

import pytest
from rethinkdb.errors import ReqlCompileError, ReqlQueryLogicError

RAW = {"time_format": "raw"}


def run(q, conn, **opts):
    return q.run(conn, **opts)


def test_epoch_time_keeps_milliseconds(r, conn):
    t = run(r.epoch_time(1.4444445), conn, **RAW)
    assert t == {"$reql_type$": "TIME", "epoch_time": 1.444, "timezone": "+00:00"}
    assert run(r.epoch_time(2.0585).to_epoch_time(), conn) == 2.059  # half away from zero


def test_driver_datetimes_round_trip(r, conn):
    tz = datetime.timezone(datetime.timedelta(hours=-7))
    dt = datetime.datetime(2013, 7, 29, 18, 21, 36, 680000, tzinfo=tz)
    assert run(r.expr(dt).to_iso8601(), conn) == "2013-07-29T18:21:36.680-07:00"
    assert run(r.expr(dt).timezone(), conn) == "-07:00"


@pytest.mark.parametrize(
    "field, expected",
    [
        ("year", 2013), ("month", 7), ("day", 30), ("day_of_week", 2), ("day_of_year", 211),
        ("hours", 1), ("minutes", 21), ("seconds", 36.681), ("time_of_day", 4896.681),
    ],
)
def test_calendar_fields(r, conn, field, expected):
    t = r.epoch_time(1375147296.6812)
    assert run(getattr(t, field)(), conn) == expected


def test_fields_follow_the_time_zone(r, conn):
    t = r.epoch_time(0).in_timezone("-01:30")
    assert run(r.expr([t.year(), t.month(), t.day(), t.hours(), t.minutes(), t.day_of_week()]), conn) == [
        1969, 12, 31, 22, 30, 3,
    ]
    assert run(t.date().to_iso8601(), conn) == "1969-12-31T00:00:00-01:30"


def test_time_constructor(r, conn):
    t = r.time(2013, r.july, 29, 23, 30, 0.1, "-07:00")
    assert run(t.to_epoch_time(), conn) == 1375165800.1
    assert run(r.time(2013, 7, 29, "Z").to_iso8601(), conn) == "2013-07-29T00:00:00+00:00"
    assert run(r.time(2012, 2, 29, "+0530").to_iso8601(), conn) == "2012-02-29T00:00:00+05:30"


TZ_FORMS = "Valid time zones are `+hh:mm`, `-hh:mm`, `+hhmm`, `-hhmm`, `+hh`, `-hh` and `Z`."


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda r: r.time(2013, 7, 29, 23, 30), "Got 5 arguments to TIME (expected 4 or 7)."),
        (lambda r: r.time(2013, 7, 29, 23), "Expected type STRING but found NUMBER."),
        (lambda r: r.time(2013, 2, 29, "Z"), "Error in time logic: Day of month is not valid for year."),
        (lambda r: r.time(2013, 13, 1, "Z"), "Error in time logic: Month number is out of range 1..12."),
        (lambda r: r.time(2013, 1, 32, "Z"), "Error in time logic: Day of month value is out of range 1..31."),
        (lambda r: r.time(1399, 1, 1, "Z"), "Error in time logic: Year is out of valid range: 1400..9999."),
        (lambda r: r.time(2013, 1.5, 1, "Z"), "Number not an integer: 1.5"),
        (lambda r: r.epoch_time(0).in_timezone("PST"), "Timezone `PST` does not start with `-` or `+`."),
        (lambda r: r.epoch_time(0).in_timezone("+7"), "Invalid time zone string `+7`. " + TZ_FORMS),
        (lambda r: r.epoch_time(0).in_timezone("+07:-1"), "Invalid date string `+07:-1` (got `-` but expected a digit)."),
        (lambda r: r.epoch_time(0).in_timezone("-00"), "`-00` is not a valid time offset."),
        (lambda r: r.epoch_time(0).in_timezone("+00:60"), "Minutes out of range in `+00:60`."),
        (lambda r: r.epoch_time(0).in_timezone("+25:00"), "Hours out of range in `+25:00`."),
        (lambda r: r.time(2020, 1, 1, "+24:00"), "Error in time logic: Offset out of range: 24:00:00."),
        (lambda r: r.expr(1).year(), "Not a TIME pseudotype: `1`."),
        (lambda r: r.epoch_time(253440000000).year(), "Error in time logic: Year is out of valid range: 1400..10000."),
        (lambda r: r.epoch_time(253430000000).to_iso8601(), "Year `10000` out of valid ISO 8601 range [0, 9999]."),
        (lambda r: r.iso8601("2013-07-30T20:56:05"),
         "ISO 8601 string has no time zone, and no default time zone was provided."),
    ],
)
def test_time_errors(r, conn, make, message):
    with pytest.raises(ReqlQueryLogicError) as e:
        run(make(r), conn)
    assert e.value.message == message


def test_time_arity_is_checked_at_compile_time(r, conn):
    with pytest.raises(ReqlCompileError, match="Expected between 4 and 7 arguments but found 3."):
        run(r.time(2013, 7, 29), conn)


def test_out_of_range_epochs_keep_their_value(r, conn):
    assert run(r.epoch_time(253440000000).to_epoch_time(), conn) == 253440000000
    assert run(r.epoch_time(253430000000).year(), conn) == 10000
    assert run(r.epoch_time(-17980000000).year(), conn) == 1400


@pytest.mark.parametrize("date", ["2013", "2013-01", "2013-01-01", "20130101", "2013-001", "2013001"])
@pytest.mark.parametrize("time", ["13", "13:00", "1300", "13:00:00", "13:00:00.000000", "130000.000000"])
@pytest.mark.parametrize("tz", ["Z", "+00", "+0000", "+00:00"])
def test_iso8601_accepted_forms(r, conn, date, time, tz):
    assert run(r.iso8601(f"{date}T{time}{tz}").to_iso8601(), conn) == "2013-01-01T13:00:00+00:00"


@pytest.mark.parametrize(
    "text",
    ["201301T13Z", "2013-0101T13Z", "2a13T13Z", "2013-01-01.1T13Z", "2013T13:0000Z", "2013T13:00.00Z",
     "2013T130000.00000000aZ", "2013T13X", "2013T13-7", "2013T13+07+01", "2013T13PST", "2013T13Z+00",
     "2013-02-30T00Z"],
)
def test_iso8601_rejected_forms(r, conn, text):
    with pytest.raises(ReqlQueryLogicError):
        run(r.iso8601(text), conn)


@pytest.mark.parametrize(
    "text, opts, message",
    [
        ("2012-13-01", {}, "Error in time logic: Month number is out of range 1..12."),
        ("2012-02-30", {}, "Error in time logic: Day of month is not valid for year."),
        ("1300-12-01T10:00", {}, "Error in time logic: Year is out of valid range: 1400..9999."),
        ("2012-13-01", {"default_timezone": "bad"}, "Error in time logic: Month number is out of range 1..12."),
        ("2012-13-01T10:00:00+25:00", {}, "Hours out of range in `+25:00`."),
    ],
)
def test_iso8601_checks_the_date_before_the_default_time_zone(r, conn, text, opts, message):
    # RethinkDB reads a time zone in the text, then builds the date, then looks for a default
    with pytest.raises(ReqlQueryLogicError) as e:
        run(r.iso8601(text, **opts), conn)
    assert e.value.message == message


def test_iso8601_default_timezone_and_round_trip(r, conn):
    t = r.iso8601("2013-07-30T20:56:05", default_timezone="-07")
    assert run(t.to_iso8601(), conn) == "2013-07-30T20:56:05-07:00"
    assert run(r.iso8601("2013-07-30T20:56:05.123-07:00").to_epoch_time(), conn) == 1375242965.123
    assert run(r.epoch_time(1375242965).in_timezone("-07:00").to_iso8601(), conn) == "2013-07-30T20:56:05-07:00"


def test_arithmetic(r, conn):
    t1 = r.epoch_time(1375147296.681)
    assert run((t1 + 1000).to_epoch_time(), conn) == 1375148296.681
    assert run((1000 + t1).to_epoch_time(), conn) == 1375148296.681
    assert run((t1 - 1000).to_epoch_time(), conn) == 1375146296.681
    assert run(t1 - (t1 - 1000), conn) == 1000
    assert run((t1 + 1).timezone(), conn) == "+00:00"
    with pytest.raises(ReqlQueryLogicError, match="Expected type NUMBER but found PTYPE<TIME>."):
        run(t1 + t1, conn)
    with pytest.raises(ReqlQueryLogicError, match="Expected type NUMBER but found PTYPE<TIME>."):
        run(r.expr(1) - t1, conn)


def test_comparisons_ignore_the_time_zone(r, conn):
    a = r.epoch_time(10)
    b = r.epoch_time(10).in_timezone("+05:00")
    assert run(r.expr([a == b, a < r.epoch_time(11), a > 5, a < "a", a > r.binary(b"")]), conn) == [
        True, True, True, True, True,
    ]


def test_during(r, conn):
    t = r.epoch_time(10)
    lo, hi = r.epoch_time(10), r.epoch_time(20)
    assert run(t.during(lo, hi), conn) is True
    assert run(t.during(lo, hi, left_bound="open"), conn) is False
    assert run(hi.during(lo, hi), conn) is False
    assert run(hi.during(lo, hi, right_bound="closed"), conn) is True
    with pytest.raises(ReqlQueryLogicError, match="Expected `open` or `closed` for optarg `left_bound`"):
        run(t.during(lo, hi, left_bound="half"), conn)


def test_now_is_one_instant_per_query(r, conn):
    assert run(r.now() - r.now(), conn) == 0
    assert run(r.now().type_of(), conn) == "PTYPE<TIME>"
    assert run(r.expr([1, 2]).order_by(lambda x: r.now()), conn) == [1, 2]


def test_weekday_and_month_constants(r, conn):
    days = [r.monday, r.tuesday, r.wednesday, r.thursday, r.friday, r.saturday, r.sunday]
    assert run(r.expr(days), conn) == [1, 2, 3, 4, 5, 6, 7]
    assert run(r.expr([r.january, r.june, r.december]), conn) == [1, 6, 12]


def test_time_objects_from_clients_are_validated(r, conn):
    obj = {"$reql_type$": "TIME", "epoch_time": 1.23456, "timezone": "+01"}
    assert run(r.expr(obj), conn, **RAW) == {"$reql_type$": "TIME", "epoch_time": 1.235, "timezone": "+01:00"}
    with pytest.raises(ReqlQueryLogicError, match=r"Invalid time object constructed \(no field `timezone`\)"):
        run(r.expr({"$reql_type$": "TIME", "epoch_time": 1}), conn)
    with pytest.raises(ReqlQueryLogicError, match=r"unrecognized field `extra`"):
        run(r.expr({"$reql_type$": "TIME", "epoch_time": 1, "timezone": "Z", "extra": 1}), conn)


@pytest.mark.parametrize("text, message", [
    ("x", "Invalid date string `x` (got `x` but expected a digit)."),
    ("abcd-01-01T10:00:00Z", "Invalid date string `abcd-01-01` (got `a` but expected a digit)."),
    ("20201", "Invalid time zone string `20201`. " + TZ_FORMS),
    ("", "Invalid time zone string ``. " + TZ_FORMS),
    ("2020-01-01x", "Garbage characters `x` at end of date string `2020-01-01x`."),
    ("2020-0101T10Z", "Date string `2020-0101` must have 0 or 2 hyphens."),
    ("2020-W01", "Due to limitations in the boost time library we use for parsing, we cannot support ISO week "
                 "dates right now.  Sorry about that!  Please use years, calendar dates, or ordinal dates instead."),
    ("2020-01-01T", "Invalid time zone string ``. " + TZ_FORMS),
    ("2020-01-01T10:0000Z", "Time string `10:0000` must have 0 or 2 colons."),
    ("2020-01-01T10:00:00Q", "Garbage characters `Q` at end of time string `10:00:00Q`."),
    ("2020-01-01T10:00:00.x", "Invalid date string `10:00:00.x` (got `x` but expected a digit)."),
    ("2020-01-01T10:00:00Zabc", "Timezone `Zabc` does not start with `-` or `+`."),
    ("2020-01-01T10:00:00+01:00:00", "Garbage characters `:00` at end of timezone string `+01:00:00`."),
    ("2020-01-01T10:00:00+25:00", "Hours out of range in `+25:00`."),
    ("2020-01-01T10:00:00-00", "`-00` is not a valid time offset."),
    ("1399-01-01T10Z", "Error in time logic: Year is out of valid range: 1400..9999."),
])
def test_iso8601_parse_errors_are_rethinkdbs(r, conn, text, message):
    with pytest.raises(ReqlQueryLogicError) as e:
        r.iso8601(text).run(conn)
    assert e.value.message == message
    assert "^" * len(repr(text)) in str(e.value)  # the text is marked, not the whole r.iso8601


def test_iso8601_fields_past_their_range_carry_over(r, conn):
    assert r.iso8601("2020-01-01T25:00:00Z").to_iso8601().run(conn) == "2020-01-02T01:00:00+00:00"
    assert r.iso8601("2021-366T00Z").to_iso8601().run(conn) == "2022-01-01T00:00:00+00:00"
    assert r.iso8601("2020-01-01T10:00Z").to_iso8601().run(conn) == "2020-01-01T10:00:00+00:00"
    assert r.iso8601("2020-01-01T10:00:00", default_timezone="-00").run(conn).utcoffset().total_seconds() == 0
    # the default time zone is looked at only when the text has none
    assert r.iso8601("2020-01-01T10:00:00Z", default_timezone="x").to_epoch_time().run(conn) == 1577872800
