"""Non-datum ReQL values: databases, tables, selections, streams, functions,
grouped data.  Datums themselves are plain Python values (see datum.py).

Type names follow RethinkDB: ``type_name`` is what "Expected type X but found
Y" messages use, ``typeof_name`` is what ``type_of()`` returns.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from .. import datum as D
from ..datum.errors import ReqlQueryLogicError
from ..timeslice import tick

MinMaxVal = D.MinMaxVal
MINVAL = D.MINVAL
MAXVAL = D.MAXVAL


class Val:
    """Base of every value that is not a datum."""

    type_name = "VAL"
    typeof_name = "VAL"

    def describe(self) -> str:
        return self.typeof_name.lower()


class DbVal(Val):
    type_name = "DATABASE"
    typeof_name = "DB"

    def __init__(self, name: str, db_id: str | None = None) -> None:
        self.name = name
        self.id = db_id

    def describe(self) -> str:
        return f'db("{self.name}")'


class FuncVal(Val):
    """A compiled function closed over its environment."""

    type_name = "FUNCTION"
    typeof_name = "FUNCTION"

    def __init__(
        self,
        params: list[int],
        call: Callable[[list[Any]], Awaitable[Any]],
        *,
        deterministic: bool = True,
        term: Any = None,
    ) -> None:
        self.params = params
        self._call = call
        self.deterministic = deterministic
        self.term = term

    @property
    def arity(self) -> int:
        return len(self.params)

    async def __call__(self, *args: Any) -> Any:
        # Functions are where eager work over arrays spends its time (map,
        # filter, reduce, group...): each call is a point to yield.
        await tick()
        return await self._call(list(args))

    def describe(self) -> str:
        return "VALUE FUNCTION"

    @property
    def site(self) -> Any:
        """Where errors about this function point: RethinkDB's func_t carries
        its body's backtrace (a function made from a value has none)."""
        func = self.term
        if func is not None and len(getattr(func, "args", ())) == 2:
            return func.args[1]
        return func


class SingleSelection(Val):
    """One document of a table, updatable (``get``)."""

    type_name = "SINGLE_SELECTION"
    typeof_name = "SELECTION<OBJECT>"

    def __init__(self, table: Any, key: Any, doc: dict | None) -> None:
        self.table = table
        self.key = key
        self.doc = doc


class GroupedData(Val):
    """Result of an aggregation over ``group``: ordered mapping group → value."""

    type_name = "GROUPED_DATA"
    typeof_name = "GROUPED_DATA"

    def __init__(self, groups: dict[Any, tuple[Any, Any]] | None = None) -> None:
        # hashable(group) -> (group datum, value)
        self.groups: dict[Any, tuple[Any, Any]] = groups if groups is not None else {}

    def items_sorted(self) -> list[tuple[Any, Any]]:
        return sorted(self.groups.values(), key=lambda kv: D.sort_key(kv[0]))

    def to_datum(self) -> dict:
        return {D.REQL_TYPE: "GROUPED_DATA", "data": [[k, v] for k, v in self.items_sorted()]}


class GroupedStream(Val):
    """``group()`` before a terminal: a sequence read lazily, each row with its groups.

    ``keys_of(row)`` returns ``(group keys, row)``; ``steps`` are per-row
    transformations (map, filter, concat_map...) applied within every group,
    each turning a row into a list of rows.  Nothing is read until a terminal
    (count, sum, reduce...) or a materialisation consumes it, once.
    """

    type_name = "GROUPED_STREAM"
    typeof_name = "GROUPED_STREAM"

    def __init__(
        self,
        src: Any,
        keys_of: Callable[[Any], Awaitable[tuple[list, Any]]],
        steps: tuple[Callable[[Any], Awaitable[list]], ...] = (),
    ) -> None:
        self.src = src
        self.keys_of = keys_of
        self.steps = steps

    def with_step(self, step: Callable[[Any], Awaitable[list]]) -> "GroupedStream":
        return GroupedStream(self.src, self.keys_of, self.steps + (step,))


class Ordering(Val):
    """``r.asc(x)`` / ``r.desc(x)`` inside ``order_by``."""

    type_name = "ORDERING"
    typeof_name = "ORDERING"

    def __init__(self, key: Any, descending: bool) -> None:
        self.key = key
        self.descending = descending


def not_a_datum(v: Val) -> ReqlQueryLogicError:
    return ReqlQueryLogicError(f"Expected type DATUM but found {v.type_name}:\n{v.describe()}")
