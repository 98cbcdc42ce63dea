"""Batching limits and the array limit, read from a query's global optargs
(RethinkDB's defaults and messages)."""

from __future__ import annotations

from dataclasses import dataclass

from ..datum import fmt_num
from ..datum.errors import ReqlQueryLogicError
from ..reql.context import QueryContext
from ..reql.term import Env, Term, as_datum, as_int, as_num


@dataclass
class BatchLimits:
    min_rows: int = 1
    max_rows: int | None = None
    max_bytes: int = 1 << 20
    max_seconds: float = 0.5
    scaledown: int = 4


DEFAULT_LIMITS = BatchLimits()

LIMIT_OPTARGS = frozenset(
    {"array_limit", "min_batch_rows", "max_batch_rows", "max_batch_bytes", "first_batch_scaledown_factor", "max_batch_seconds"}
)
COUNT_LIMITS = {
    "min_batch_rows": "min_rows",
    "max_batch_rows": "max_rows",
    "max_batch_bytes": "max_bytes",
    "first_batch_scaledown_factor": "scaledown",
}


async def read_limits(ctx: QueryContext, optargs: dict[str, Term]) -> BatchLimits:
    """The query's batch limits; also sets ``ctx.array_limit``."""
    if LIMIT_OPTARGS.isdisjoint(optargs):
        return DEFAULT_LIMITS
    env = Env(ctx)

    async def value(name: str) -> object:
        t = optargs.get(name)
        return None if t is None else as_datum(await t.eval(env))

    limit = await value("array_limit")
    if limit is not None:
        if not isinstance(limit, (int, float)) or isinstance(limit, bool) or limit < 1:
            raise ReqlQueryLogicError(f"Illegal array size limit `{limit}`.  (Must be >= 1.)")
        ctx.array_limit = int(limit)
    limits = BatchLimits()
    for name, field in COUNT_LIMITS.items():
        v = await value(name)
        if v is not None:
            setattr(limits, field, max(1, as_int(v)))
    seconds = await value("max_batch_seconds")
    if seconds is not None:
        s = as_num(seconds)
        if s < 0:
            raise ReqlQueryLogicError(f"max_batch_seconds must be positive (got `{fmt_num(s)}`).")
        if s >= 86400:
            raise ReqlQueryLogicError(f"max_batch_seconds is too large (got `{fmt_num(s)}`, must be less than 86400).")
        limits.max_seconds = s
    return limits


async def read_time_limit(ctx: QueryContext, optargs: dict[str, Term], default: float | None) -> float | None:
    """The query's ``time_limit`` in seconds (its user's ``default`` without the optarg)."""
    t = optargs.get("time_limit")
    if t is None:
        return default
    value = as_datum(await t.eval(Env(ctx)))
    if value is None:
        return None  # `time_limit=None` lifts the user's default
    seconds = as_num(value)
    if not seconds > 0:
        raise ReqlQueryLogicError(f"time_limit must be positive (got `{fmt_num(seconds)}`).")
    if seconds >= 31_536_000:
        raise ReqlQueryLogicError(f"time_limit is too large (got `{fmt_num(seconds)}`, must be less than 31536000).")
    return float(seconds)
