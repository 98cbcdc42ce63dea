"""Grouping and aggregation."""

from __future__ import annotations

from typing import Any

from ..stream import Stream
from ..term import Env, Term
from ..values import GroupedData, GroupedStream


async def apply_per_group(term_: Term, env: Env, grouped: GroupedStream) -> Any:
    """Evaluate ``term_`` once per group, with the group's rows as its first argument."""
    from ..seq import to_list
    from .basic import Const

    out: dict[Any, tuple[Any, Any]] = {}
    all_seq = True
    for h, (key, rows) in grouped.groups.items():
        clone = term_.__class__.__new__(term_.__class__)
        Term.__init__(clone, list(term_.args), term_.optargs)
        for slot in getattr(term_.__class__, "__slots__", ()):
            if slot not in ("args", "optargs", "parent", "frame") and hasattr(term_, slot):
                setattr(clone, slot, getattr(term_, slot))
        clone.parent, clone.frame = term_.parent, term_.frame
        first = Const([], {})
        first.value = rows
        first.parent, first.frame = clone, 0
        clone.args[0] = first
        v = await clone.eval(env)
        if isinstance(v, Stream):
            v = await to_list(env, v, term_)
        if type(v) is not list:
            all_seq = False
        out[h] = (key, v)
    return GroupedStream(out) if all_seq else GroupedData(out)
