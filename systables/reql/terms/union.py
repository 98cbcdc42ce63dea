"""union of sequences, with interleave and ordered merges."""

from __future__ import annotations

from typing import Any

from ...datum.errors import ReqlQueryLogicError
from ...datum.ql2 import TermType as T
from ..seq import (
    as_stream,
    check_array_limit,
    compare_keys,
    eager_items,
    grouped,
    seq_of,
    to_list,
)
from ..stream import (
    ChainStream,
    MergeStream,
    Stream,
)
from ..term import Env, Term, term
from .basic import MakeArray
from .ordering import ordering


@term(T.UNION)
class Union(Term):
    opt_names = frozenset({"interleave"})

    async def eval(self, env: Env) -> Any:
        seqs = []
        for a in self.args:
            v = await a.eval(env)
            if grouped(v):
                raise ReqlQueryLogicError(f"Expected type SEQUENCE but found {v.type_name}:\n{v.describe()}", a)
            seqs.append(seq_of(v, a))
        interleave = await self.interleave(env)
        eager = [eager_items(s) for s in seqs]
        if interleave is True or interleave is False:
            if all(x is not None for x in eager):
                return check_array_limit(env, [row for rows in eager for row in rows], self)  # type: ignore[union-attr]
            chain = ChainStream([as_stream(s) for s in seqs])
            chain.is_union = True  # type: ignore[attr-defined]  # a changefeed on it follows every part
            return chain
        merged = await self.merge(env, seqs, interleave)
        if all(x is not None for x in eager):
            return await to_list(env, merged, self)
        return merged

    async def interleave(self, env: Env) -> Any:
        """True / False, or the ordering to merge by: a field, a function, r.asc/r.desc
        of those, or an array of them."""
        t = self.optargs.get("interleave")
        if t is None:
            return True
        if isinstance(t, MakeArray):
            return [await a.eval(env) for a in t.args]
        v = await t.eval(env)
        if v is True or v is False or type(v) is list:
            return v
        return [v]

    async def merge(self, env: Env, seqs: list, spec: list) -> Stream:
        at = self.optargs["interleave"]
        keys = [await ordering(env, v, at) for v in spec]
        fns = [k for k, _ in keys]
        desc = [d for _, d in keys]

        async def key_of(row: Any) -> list:
            return [await fn(row) for fn in fns]

        def out_of_order() -> Exception:
            return ReqlQueryLogicError("The streams given as arguments are not ordered by given ordering.", self)

        return MergeStream([as_stream(s) for s in seqs], key_of, lambda a, b: compare_keys(a, b, desc), out_of_order)
