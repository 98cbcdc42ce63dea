"""TIME pseudo-type helpers: ``{"$reql_type$": "TIME", "epoch_time": n, "timezone": "+00:00"}``."""

from __future__ import annotations

import re
from typing import Any

from . import datum as D
from .errors import ReqlQueryLogicError

TZ_RE = re.compile(r"^[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]$")


def make_time(epoch: float, tz: str = "+00:00") -> dict:
    # RethinkDB keeps millisecond precision in times.
    epoch = round(epoch, 3)
    return {D.REQL_TYPE: "TIME", "epoch_time": D.norm_num(epoch), "timezone": tz}


def check_time_pseudo(obj: dict) -> dict:
    if "epoch_time" not in obj:
        raise ReqlQueryLogicError("Invalid time object constructed (no field `epoch_time`):\n" + D.print_datum(obj))
    if "timezone" not in obj:
        raise ReqlQueryLogicError("Invalid time object constructed (no field `timezone`):\n" + D.print_datum(obj))
    extra = [k for k in obj if k not in (D.REQL_TYPE, "epoch_time", "timezone")]
    if extra:
        raise ReqlQueryLogicError(f"Invalid time object constructed (unrecognized field `{extra[0]}`):\n" + D.print_datum(obj))
    if not D.is_number(obj["epoch_time"]):
        raise ReqlQueryLogicError(f"Expected type NUMBER but found {D.type_name(obj['epoch_time'])}.")
    tz = obj["timezone"]
    if type(tz) is not str:
        raise ReqlQueryLogicError(f"Expected type STRING but found {D.type_name(tz)}.")
    return obj


def time_add(t: dict, seconds: Any) -> dict:
    return make_time(t["epoch_time"] + seconds, t["timezone"])


def time_sub(t: dict, other: Any, at: Any = None) -> Any:
    if type(other) is dict and other.get(D.REQL_TYPE) == "TIME":
        return D.norm_num(round(t["epoch_time"] - other["epoch_time"], 3))
    if not D.is_number(other):
        raise ReqlQueryLogicError(f"Expected type NUMBER but found {D.type_name(other)}.", at)
    return make_time(t["epoch_time"] - other, t["timezone"])
