"""order_by (in memory and on indexes)."""

from __future__ import annotations

from typing import Any

from ... import datum as D
from ...datum.errors import ReqlQueryLogicError
from ...datum.ql2 import TermType as T
from ..seq import (
    eager_items,
    field_fn,
    grouped,
    keep_selection,
    key_or_missing,
    row_fn,
    seq_of,
    sort_rows,
    to_list,
)
from ..stream import (
    FilterStream,
    RunSortStream,
    Stream,
)
from ..tables import ASCENDING, DESCENDING, UNORDERED, TableSlice, TableVal
from ..term import Env, Term, as_datum, as_str, term
from ..values import FuncVal, Ordering
from .aggregation import apply_per_group
from .basic import Const
from .sequence import ARGS_UNSUPPORTED


def uses_args(term_: Term) -> bool:
    """Arguments spliced in by ``r.args`` arrive already evaluated."""
    return any(type(a) is Const for a in term_.args[1:])


async def ordering(env: Env, v: Any, at: Any) -> tuple[Any, bool]:
    """(key function, descending) of an order_by / union argument."""
    desc = False
    if isinstance(v, Ordering):
        v, desc = v.key, v.descending
        if at is not None and at.tt in (T.ASC, T.DESC):
            at = at.args[0]  # the field name inside r.asc / r.desc
    if isinstance(v, FuncVal):
        return key_or_missing(row_fn(v)), desc
    field = as_datum(v, at)
    field = as_str(field, at)
    return key_or_missing(field_fn(field, at)), desc


def selection_stream(src: Stream) -> Stream:
    """The rows of a table slice as a plain selection (no longer a slice)."""

    async def keep(row: Any) -> bool:
        return True

    return FilterStream(src, keep)


INDEXED_ORDER_ONLY = (
    "Indexed order_by can only be performed on a TABLE or TABLE_SLICE. "
    "Make sure order_by comes before any transformations (such as map) or filters."
)


@term(T.ORDER_BY)
class OrderBy(Term):
    min_args = 1
    opt_names = frozenset({"index"})

    async def eval(self, env: Env) -> Any:
        if uses_args(self):
            raise ReqlQueryLogicError(ARGS_UNSUPPORTED, self)
        src = await self.args[0].eval(env)
        if grouped(src):
            return await apply_per_group(self, env, src)
        if "index" in self.optargs:
            return await self.by_index(env, src)
        if len(self.args) == 1:
            raise ReqlQueryLogicError("Must specify something to order by.", self)
        seq = seq_of(src, self.args[0])  # RethinkDB checks the sequence before the keys
        keys = [await ordering(env, await a.eval(env), a) for a in self.args[1:]]
        items = eager_items(seq)
        rows = items if items is not None else await to_list(env, seq, self)
        return keep_selection(seq, await sort_rows(rows, [k for k, _ in keys], [d for _, d in keys]))

    async def by_index(self, env: Env, src: Any) -> Any:
        index_v = await self.opt(env, "index")
        desc = isinstance(index_v, Ordering) and index_v.descending
        at = self.optargs["index"]
        index = as_datum(index_v.key if isinstance(index_v, Ordering) else index_v, at)
        index = as_str(index, at)
        scan = self.index_ordered(src, index, desc)
        if len(self.args) == 1:
            return scan
        if index == scan.table.primary_key:
            return selection_stream(scan)  # unique keys: nothing more to sort
        keys = [await ordering(env, await a.eval(env), a) for a in self.args[1:]]

        async def sort_run(rows: list) -> list:
            return await sort_rows(rows, [k for k, _ in keys], [d for _, d in keys])

        scan.with_values = True  # type: ignore[attr-defined]
        return RunSortStream(scan, sort_run, lambda a, b: D.cmp(a, b) == 0)

    def index_ordered(self, src: Any, index: str, desc: bool) -> Stream:
        """The table (or the slice of it taken by ``between``) read in index order."""
        sorting = DESCENDING if desc else ASCENDING
        if isinstance(src, TableVal):
            return src.index_scan(index, reverse=desc, sorting=sorting)
        if isinstance(src, TableSlice):
            if src.sorting != UNORDERED:
                raise ReqlQueryLogicError("Cannot perform multiple indexed ORDER_BYs on the same table.", self)
            if src.index != index:
                raise ReqlQueryLogicError(
                    f"Cannot order by index `{index}` after calling BETWEEN on index `{src.index}`.", self
                )
            return src.table.index_scan(index, src.bounds, reverse=desc, sorting=sorting)
        raise ReqlQueryLogicError(INDEXED_ORDER_ONLY, self)
