"""get_field and bracket on objects, sequences and grouped data."""

from __future__ import annotations

from typing import Any

from ... import datum as D
from ...datum.errors import ReqlNonExistenceError
from ...datum.ql2 import TermType as T
from ..seq import (
    eager_items,
    grouped,
    not_an_object,
    seq_of,
    typed_error,
)
from ..stream import (
    BatchMapStream,
    Stream,
)
from ..term import Env, Term, as_datum, as_int, as_str, term
from ..values import GroupedStream, SingleSelection, Val
from .aggregation import apply_per_group
from .slicing import nth


@term(T.GET_FIELD)
class GetField(Term):
    min_args = max_args = 2

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        name_v = await self.arg_datum(env, 1)
        if not isinstance(src, (list, Val)):
            check_object(self, as_datum(src, self.args[0]))  # RethinkDB checks the object before the name
        return await get_field_of(env, self, src, as_str(name_v, self.args[1]))


async def get_field_of(env: Env, term_: Term, src: Any, name: str) -> Any:
    """A field of an object, or of every object of a sequence (rows without it are skipped)."""
    if isinstance(src, GroupedStream):
        return src.with_step(pick_present(name, term_))
    if grouped(src):
        return await apply_per_group(term_, env, src)
    if isinstance(src, Stream) or type(src) is list:
        items = eager_items(src)
        if items is not None:
            out = []
            pick = pick_present(name, term_)
            for row in items:
                out.extend(await pick(row))
            return out
        return BatchMapStream(src, pick_batch(name, term_))  # type: ignore[arg-type]
    obj = src.doc if isinstance(src, SingleSelection) else as_datum(src, term_.args[0])
    check_object(term_, obj)
    try:
        return obj[name]
    except KeyError:
        raise ReqlNonExistenceError(f"No attribute `{name}` in object:\n{D.print_datum(obj)}", term_) from None


def check_object(term_: Term, obj: Any) -> None:
    if type(obj) is not dict or D.REQL_TYPE in obj:
        raise not_an_object(term_.name, obj, term_.args[0])


def pick_present(name: str, term_: Term) -> Any:
    """The field of a row of a sequence; a row that is not an object is the term's error."""

    async def pick(row: Any) -> list:
        if row is None:
            return []  # a missing value has no field: skipped, as a row without it
        if type(row) is not dict or D.REQL_TYPE in row:
            raise not_an_object(term_.name, row, term_)
        return [row[name]] if name in row else []

    return pick


def pick_batch(name: str, term_: Term) -> Any:
    pick = pick_present(name, term_)

    async def each(batch: list) -> list:
        out: list = []
        for row in batch:
            out.extend(await pick(row))
        return out

    return each


@term(T.BRACKET)
class Bracket(Term):
    min_args = max_args = 2

    async def eval(self, env: Env) -> Any:
        src = await self.args[0].eval(env)
        key = await self.arg_datum(env, 1)
        if type(key) is str:
            if type(src) is list or isinstance(src, (Stream, SingleSelection)) or grouped(src):
                return await get_field_of(env, self, src, key)
            return await get_field_of(env, self, as_datum(src, self.args[0]), key)
        if type(key) in (int, float):
            if grouped(src):
                return await apply_per_group(self, env, src)
            if isinstance(src, SingleSelection) or (not isinstance(src, Val) and type(src) is not list):
                obj = as_datum(src, self.args[0])
                # a datum is made a sequence first: that fails for anything but an array
                raise typed_error(obj, f"Cannot convert {D.type_name(obj)} to SEQUENCE", self)
            return await nth(env, seq_of(src, self.args[0]), as_int(key, self.args[1]), self)
        raise typed_error(
            key, f"Expected NUMBER or STRING as second argument to `bracket` but found {D.type_name(key)}.", self
        )
