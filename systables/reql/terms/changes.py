"""``changes``: a changefeed on what its argument selects (see
``reql/feeds.py`` for the kinds, ``feeds/`` for the machinery)."""

from __future__ import annotations

from typing import Any

from ... import datum as D
from ...datum.errors import ReqlQueryLogicError
from ...datum.ql2 import TermType as T
from ..feed_sources import DEFAULT_QUEUE_SIZE, LimitSource, RangeSource, source_of
from ..feeds import FeedOptions, FeedStream, subscribe
from ..tables import ASCENDING, DESCENDING, TableVal
from ..term import MISSING, Env, Term, as_bool, as_int, as_str, term
from ..values import SingleSelection
from .aggregation import MinMax
from .db_table import table_arg

DEBUG_DIRECT = "DEBUG_DIRECT is not a legal read mode for this operation (an up-to-date read mode is required)."


@term(T.CHANGES)
class Changes(Term):
    deterministic = False

    async def eval(self, env: Env) -> FeedStream:
        options = await self.options(env)
        arg = self.args[0]
        if isinstance(arg, MinMax) and "index" in arg.optargs:
            # min/max on an index follow the first row of its order: a limit feed of one.
            table = table_arg(await arg.args[0].eval(env), arg.args[0])
            index = as_str(await arg.opt_datum(env, "index"), arg)
            order = DESCENDING if arg.sign < 0 else ASCENDING
            return subscribe(env.ctx.feeds, LimitSource(RangeSource(table, index, sorting=order), 1), options, self)
        value = await arg.eval(env)
        source = source_of(value, self)
        table = _table_of(value)
        if table is not None and table.read_mode == "_debug_direct":
            raise ReqlQueryLogicError(DEBUG_DIRECT, self)
        return subscribe(env.ctx.feeds, source, options, self)

    async def options(self, env: Env) -> FeedOptions:
        return FeedOptions(
            squash=await self.squash(env),
            queue_size=await self.queue_size(env),
            include_initial=as_bool(await self.opt_datum(env, "include_initial", False)),
            include_states=as_bool(await self.opt_datum(env, "include_states", False)),
            include_offsets=as_bool(await self.opt_datum(env, "include_offsets", False)),
            include_types=as_bool(await self.opt_datum(env, "include_types", False)),
            include_resume_token=as_bool(await self.opt_datum(env, "include_resume_token", False)),
            resume_from=await self.opt_datum(env, "resume_from", None),
        )

    async def squash(self, env: Env) -> bool | float:
        v = await self.opt_datum(env, "squash", False)
        if type(v) is bool:
            return v
        if not D.is_number(v):
            raise ReqlQueryLogicError(f"Expected BOOL or NUMBER but found {D.type_name(v)}.", self.optargs.get("squash"))
        if v < 0:
            raise ReqlQueryLogicError(
                "Expected BOOL or a positive NUMBER but found a negative NUMBER.", self.optargs.get("squash")
            )
        return float(v) if v else True

    async def queue_size(self, env: Env) -> int:
        v = await self.opt_datum(env, "changefeed_queue_size", MISSING)
        if v is MISSING:
            return DEFAULT_QUEUE_SIZE
        n = as_int(v, self.optargs.get("changefeed_queue_size"))
        if n < 1:
            raise ReqlQueryLogicError(f"Illegal changefeed queue size `{n}`.  (Must be >= 1.)", self)
        return n


def _table_of(value: Any) -> TableVal | None:
    if isinstance(value, SingleSelection):
        return value.table
    table = getattr(value, "table", None)
    return table if isinstance(table, TableVal) else None

