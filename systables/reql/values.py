"""Non-datum ReQL values: databases, tables, selections, streams, functions,
grouped data.  Datums themselves are plain Python values (see datum.py).

Type names follow RethinkDB: ``type_name`` is what "Expected type X but found
Y" messages use, ``typeof_name`` is what ``type_of()`` returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable

from . import datum as D
from .errors import ReqlQueryLogicError

if TYPE_CHECKING:
    from .stream import Stream


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
        return await self._call(list(args))

    def describe(self) -> str:
        return "function"


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
        return sorted(self.groups.values(), key=lambda kv: D.SortKey(kv[0]))

    def to_datum(self) -> dict:
        return {D.REQL_TYPE: "GROUPED_DATA", "data": [[k, v] for k, v in self.items_sorted()]}


class GroupedStream(Val):
    """``group()`` before an aggregation: group → stream of rows (materialised)."""

    type_name = "GROUPED_STREAM"
    typeof_name = "GROUPED_STREAM"

    def __init__(self, groups: dict[Any, tuple[Any, list]]) -> None:
        self.groups = groups

    def items_sorted(self) -> list[tuple[Any, list]]:
        return sorted(self.groups.values(), key=lambda kv: D.SortKey(kv[0]))


class Ordering(Val):
    """``r.asc(x)`` / ``r.desc(x)`` inside ``order_by``."""

    type_name = "ORDERING"
    typeof_name = "ORDERING"

    def __init__(self, key: Any, descending: bool) -> None:
        self.key = key
        self.descending = descending


def is_datum(v: Any) -> bool:
    return not isinstance(v, Val)


def val_type_name(v: Any) -> str:
    """The name used in "Expected type X but found Y" for any value."""
    if isinstance(v, Val):
        return v.type_name
    if isinstance(v, MinMaxVal):
        return "DATUM"
    return "DATUM"


def not_a_datum(v: Val) -> ReqlQueryLogicError:
    return ReqlQueryLogicError(f"Expected type DATUM but found {v.type_name}:\n{v.describe()}")
