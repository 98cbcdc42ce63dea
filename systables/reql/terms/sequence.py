"""The base of sequence terms (``SeqTerm``: run once per group on grouped
input).  The sequence term families are split by concern: ``transforms``
(map, filter, concat_map), ``slicing`` (limit, skip, slice, nth, is_empty),
``fields`` (get_field and bracket on sequences), ``ordering`` (order_by,
union) and ``membership`` (offsets_of, contains, sample).

Datum arrays give datum arrays (eagerly); streams give lazy streams; the
documents of a table stay a selection through filter/limit/skip/slice/nth and
order_by.  On the output of ``group``, map/filter/concat_map/get_field become
per-row steps of the grouped stream; other terms run once per group.
"""

from __future__ import annotations

from typing import Any

from ..seq import (
    grouped,
    seq_of,
)
from ..stream import (
    Stream,
)
from ..term import Env, Term
from .aggregation import apply_per_group

ARGS_UNSUPPORTED = "r.args is not supported in an order_by or union command yet."


class SeqTerm(Term):
    """A term whose first argument is a sequence; run once per group on grouped input."""

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        if grouped(src):
            return await self.on_grouped(env, src)
        return await self.on_seq(env, seq_of(src, self.args[0]))

    async def on_grouped(self, env: Env, src: Any) -> Any:
        return await apply_per_group(self, env, src)

    async def on_seq(self, env: Env, src: list | Stream) -> Any:
        raise NotImplementedError
