"""Index functions: a definition's ReQL function compiled into the synchronous
``fn(doc) -> [index values]`` the storage engine calls inside a write batch.

A plain ``row[field]`` function is read without the evaluator (the hot path
of every write).  Any other function is evaluated with ticks turned off
(``timeslice.run_to_completion``): index functions are deterministic, so
they never wait, and they run inside one storage batch, so they must not
yield.  Evaluation uses a pristine context (default array limit, no global
optargs), as RethinkDB does; a row whose function errors gets no entry.
"""

from __future__ import annotations

from typing import Any

from ..datum.errors import ReqlError
from ..geo.index import GeoIndexFunction
from ..indexes.definition import function_of, simple_field
from ..indexes.values import IndexFn, field_index_fn, index_values
from ..storage import IndexMeta, TableMeta
from ..timeslice import WouldBlock, run_to_completion
from .compiler import compile_query
from .context import QueryContext, Services
from .term import Env, Term


class IndexFunctions:
    """Compiles index definitions; the composition root binds it to the
    services (its evaluation contexts need them) and hands ``for_index`` to
    the storage engine."""

    def __init__(self) -> None:
        self._services: Services | None = None

    def bind(self, services: Services) -> None:
        self._services = services

    def compile(self, func: Any, multi: bool, geo: bool) -> IndexFn:
        """The storage engine's ``fn(doc) -> [index values]`` for a definition;
        a geo index stores the S2 cells of the geometries instead."""
        values = self.compile_values(func, multi, geo)
        return GeoIndexFunction(values) if geo else values

    def function_term(self, func: Any) -> Term:
        """A stored function definition (an index's, a write hook's) compiled."""
        return compile_query(func)

    def compile_values(self, func: Any, multi: bool, geo: bool) -> IndexFn:
        """``fn(doc) -> [values of the index function]`` (multi-expanded, invalid keys dropped)."""
        field = simple_field(func)
        if field is not None:
            return field_index_fn(field, multi, geo)
        services = self._services
        assert services is not None, "IndexFunctions.bind was not called"
        env = Env(QueryContext(services, "admin", {}))
        compiled = run_to_completion(compile_query(func).eval(env))
        failures: list[BaseException] = []

        def fn(doc: dict) -> list:
            try:
                value = run_to_completion(compiled(doc))
            except Exception as e:  # RethinkDB skips rows whose index function fails
                _note_unexpected(services, e, failures)
                return []
            return index_values(value, multi, geo)

        return fn

    def for_index(self, table: TableMeta, index: IndexMeta) -> IndexFn:
        """``compile_index`` of the storage engine: re-creates functions after a restart."""
        return self.compile(function_of(index), index.multi, index.geo)


def _note_unexpected(services: Services, e: Exception, seen: list[BaseException]) -> None:
    """Log an evaluator bug (not a ReQL error) once per index function."""
    if isinstance(e, (ReqlError, WouldBlock)) or seen:
        return
    seen.append(e)
    services.log.log_exception(e)
