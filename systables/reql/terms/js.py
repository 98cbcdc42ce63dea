"""r.js: JavaScript evaluated by QuickJS in a worker process (systables/js/).

The result is converted as RethinkDB converts it; a function result becomes a
ReQL function (usable in ``map``, ``filter``, ``do``...) that runs in a worker
too.  ``timeout`` (default 5 s) bounds the evaluation and every call of the
returned function.  Waiting for a worker is an ordinary trio wait, so a kill
through ``rethinkdb.jobs`` lands at once (and the worker is killed with it).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from ...datum.errors import ReqlQueryLogicError, ReqlResourceLimitError
from ...datum.ql2 import TermType as T
from ...js import JsError, JsPool, JsTimeout
from ..term import Env, Term, as_datum, as_num, as_str, datum_from_wire, term
from ..values import FuncVal

DEFAULT_TIMEOUT = 5.0


@term(T.JAVASCRIPT)
class Javascript(Term):
    deterministic = False

    async def eval(self, env: Env) -> Any:
        source = as_str(await self.arg_datum(env, 0), self)  # a datum check: the term's error
        timeout = await self.timeout(env)
        pool = env.ctx.js
        try:
            result = await pool.evaluate(source, timeout, env.ctx.user)
        except (JsError, JsTimeout) as e:
            raise self.failure(e, source, timeout) from None
        if result.is_function:
            return self.function(pool, source, timeout, env.ctx.array_limit, env.ctx.user)
        return self.to_datum(result.value, env.ctx.array_limit)

    async def timeout(self, env: Env) -> float:
        t = self.optargs.get("timeout")  # a term optarg only: no global fallback
        if t is None:
            return DEFAULT_TIMEOUT
        return float(as_num(as_datum(await t.eval(env), t), t))

    def function(self, pool: JsPool, source: str, timeout: float, array_limit: int, user: str) -> "JsFunction":
        async def call(args: list[Any]) -> Any:
            datums = [as_datum(a) for a in args]
            try:
                value = await pool.call(source, datums, timeout, user)
            except (JsError, JsTimeout) as e:
                raise self.failure(e, source, timeout) from None
            return self.to_datum(value, array_limit)

        async def map_rows(rows: list[Any]) -> list[Any]:
            try:
                values = await pool.map(source, [as_datum(row) for row in rows], timeout, user)
            except (JsError, JsTimeout) as e:
                raise self.failure(e, source, timeout) from None
            return [self.to_datum(v, array_limit) for v in values]

        return JsFunction(call, map_rows, term=self)

    def to_datum(self, value: Any, array_limit: int) -> Any:
        try:
            return datum_from_wire(value, array_limit=array_limit)
        except ReqlResourceLimitError as e:  # RethinkDB reports a long JS array as a logic error
            raise ReqlQueryLogicError(e.message, self) from None
        except ReqlQueryLogicError as e:
            raise e.at(self)

    def failure(self, e: Exception, source: str, timeout: float) -> ReqlQueryLogicError:
        if isinstance(e, JsTimeout):
            return ReqlQueryLogicError(f"JavaScript query `{source}` timed out after {timeout:.3f} seconds.", self)
        return ReqlQueryLogicError(str(e), self)


class JsFunction(FuncVal):
    """A function returned by ``r.js``.  It has no parameter list (a JavaScript
    function accepts any number of arguments), and ``map_rows`` applies it to a
    whole batch of rows in one round trip to the worker (``map`` uses it)."""

    def __init__(self, call: Callable[[list[Any]], Awaitable[Any]], map_rows: Callable[[list[Any]], Awaitable[list[Any]]], term: Term) -> None:
        super().__init__([], call, deterministic=False, term=term)
        self.map_rows = map_rows
