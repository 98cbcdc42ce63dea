"""Secondary index terms: index_create, index_drop, index_list, index_rename,
index_status, index_wait.

``index_create`` registers the index and returns at once; the build runs in
the background (``systables.indexes``).  Errors raised by the cluster layer in
RethinkDB (already exists, does not exist, not found) are OP_FAILED without a
backtrace; argument errors are QUERY_LOGIC.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ... import datum as D
from ...datum.errors import ReqlOpFailedError, ReqlQueryLogicError
from ...datum.ql2 import TermType as T
from ...indexes.definition import (
    NOT_DETERMINISTIC,
    default_function,
    encode_definition,
    function_of,
    index_binary,
    parse_index_binary,
)
from ...storage import IndexMeta
from ..pretty import print_index_query
from ..tables import TableVal
from ..term import Env, Term, as_bool, as_func, term
from .basic import Const, Datum, MakeObject, Spliced
from .db_table import table_arg
from .geo import check_index_function

if TYPE_CHECKING:
    from ...storage.table import TableStore

SYSTEM_CREATE = "Database `rethinkdb` is special; you can't create secondary indexes on the tables in it."


def check_not_primary_key(name: str, table: TableVal) -> None:
    if name == table.primary_key:
        raise ReqlQueryLogicError(f"Index name conflict: `{name}` is the name of the primary key.")


def does_not_exist(name: str, table: TableVal) -> ReqlOpFailedError:
    return ReqlOpFailedError(f"Index `{name}` does not exist on table `{table.qualified_name}`.")


def not_found(name: str, table: TableVal) -> ReqlOpFailedError:
    return ReqlOpFailedError(f"Index `{name}` was not found on table `{table.qualified_name}`.")


class IndexTerm(Term):
    """Index administration: the table comes first; changes need `config`."""

    deterministic = False

    async def table(self, env: Env) -> TableVal:
        return table_arg(await self.args[0].eval(env), self.args[0])

    @staticmethod
    def require_config(env: Env, table: TableVal) -> None:
        env.ctx.auth.require(env.ctx.user, "config", table.db_id, table.id)

    async def names(self, env: Env) -> list[str]:
        return [await self.arg_str(env, i) for i in range(1, len(self.args))]


@term(T.INDEX_CREATE)
class IndexCreate(IndexTerm):
    async def eval(self, env: Env) -> dict:
        table = await self.table(env)
        name = await self.arg_str(env, 1)
        check_not_primary_key(name, table)
        func, multi, geo = await self.definition(env)
        store = table.stored(lambda: ReqlOpFailedError(SYSTEM_CREATE))
        self.require_config(env, table)
        if name in store.meta.indexes:
            raise ReqlOpFailedError(f"Index `{name}` already exists on table `{table.qualified_name}`.")
        fn = env.ctx.index_functions.compile(func, multi, geo)
        meta = store.create_index(IndexMeta(name, encode_definition(func, multi, geo), multi=multi, geo=geo), fn)
        env.ctx.indexes.start(store, meta)
        return {"created": 1}

    async def definition(self, env: Env) -> tuple[Any, bool, bool]:
        """(function wire term, multi, geo): a function, a BINARY from
        index_status (whose flags the optargs may override), or r.row[name]."""
        multi = geo = False
        if len(self.args) == 3:
            func, multi, geo = await self.function_arg(env)
        else:
            func = default_function(await self.arg_str(env, 1))
        multi = as_bool(await self.opt_datum(env, "multi", multi))
        geo = as_bool(await self.opt_datum(env, "geo", geo))
        return func, multi, geo

    async def function_arg(self, env: Env) -> tuple[Any, bool, bool]:
        """The third argument, evaluated as RethinkDB does: a BINARY is an
        index definition; anything else must be a deterministic function (a
        constant is a type error, as in RethinkDB)."""
        arg = self.args[2]
        value = await arg.eval(env)
        if type(value) is bytes:
            return parse_index_binary(value)
        func = as_func(value, arg).term
        if func is None or func.tt != T.FUNC:
            raise ReqlQueryLogicError(NOT_DETERMINISTIC, arg)
        body = func.args[1]
        if not body.is_deterministic(across_queries=True) or not check_index_function(func):
            raise ReqlQueryLogicError(NOT_DETERMINISTIC, body)
        return term_to_wire(func), False, False


@term(T.INDEX_DROP)
class IndexDrop(IndexTerm):
    async def eval(self, env: Env) -> dict:
        table = await self.table(env)
        name = await self.arg_str(env, 1)
        store = table.stored(lambda: does_not_exist(name, table))  # a system table has no index to drop
        self.require_config(env, table)
        meta = store.meta.indexes.get(name)
        if meta is None:
            raise does_not_exist(name, table)
        store.drop_index(name)
        env.ctx.indexes.stop(meta)
        return {"dropped": 1}


@term(T.INDEX_LIST)
class IndexList(IndexTerm):
    async def eval(self, env: Env) -> list:
        table = await self.table(env)
        return table.index_names()


@term(T.INDEX_RENAME)
class IndexRename(IndexTerm):
    async def eval(self, env: Env) -> dict:
        table = await self.table(env)
        old = await self.arg_str(env, 1)
        new = await self.arg_str(env, 2)
        overwrite = as_bool(await self.opt_datum(env, "overwrite", False))
        check_not_primary_key(old, table)
        check_not_primary_key(new, table)
        store = table.stored(lambda: does_not_exist(old, table))  # a system table has no index to rename
        self.require_config(env, table)
        indexes = table.index_metas()
        if not overwrite and (old not in indexes or (new in indexes and new != old)):
            # RethinkDB checks both at once without overwrite, and says so
            raise ReqlOpFailedError(
                f"Index `{old}` does not exist or index `{new}` already exists on table `{table.qualified_name}`."
            )
        if old not in indexes:
            raise does_not_exist(old, table)
        if old == new:
            return {"renamed": 0}
        self.rename(env, store, old, new)
        return {"renamed": 1}

    @staticmethod
    def rename(env: Env, store: "TableStore", old: str, new: str) -> None:
        builds = env.ctx.indexes
        replaced = store.meta.indexes.get(new)
        meta = store.meta.indexes[old]
        store.rename_index(old, new, overwrite=True)
        if replaced is not None:
            builds.stop(replaced)
        builds.renamed(meta)


class IndexStatusTerm(IndexTerm):
    """index_status / index_wait: one row per index, sorted by name."""

    async def selected(self, env: Env, table: TableVal) -> list[IndexMeta]:
        names = await self.names(env)
        indexes = table.index_metas()
        for name in sorted(names):  # RethinkDB names the first missing one in name order
            if name not in indexes:
                raise not_found(name, table)
        chosen = set(names) if names else set(indexes)
        return [indexes[n] for n in sorted(chosen)]

    @staticmethod
    def status(env: Env, meta: IndexMeta) -> dict:
        row = {
            "index": meta.name,
            "ready": meta.ready,
            "function": index_binary(meta),
            "multi": meta.multi,
            "geo": meta.geo,
            "outdated": False,
            "query": print_index_query(meta.name, function_of(meta), meta.multi, meta.geo),
        }
        if not meta.ready:
            row["progress"] = env.ctx.indexes.progress(meta)
        return row


@term(T.INDEX_STATUS)
class IndexStatus(IndexStatusTerm):
    async def eval(self, env: Env) -> list:
        table = await self.table(env)
        return [self.status(env, meta) for meta in await self.selected(env, table)]


@term(T.INDEX_WAIT)
class IndexWait(IndexStatusTerm):
    async def eval(self, env: Env) -> list:
        table = await self.table(env)
        while True:
            if table.dropped:
                raise ReqlOpFailedError(f"Table `{table.qualified_name}` does not exist.")
            metas = await self.selected(env, table)
            if all(meta.ready for meta in metas):
                return [self.status(env, meta) for meta in metas]
            # Only a stored table has indexes, hence indexes not ready.
            await env.ctx.indexes.wait_ready(table.stored(lambda: AssertionError("no index")), metas)


def term_to_wire(term: Term) -> Any:
    """A compiled term back in wire form (the compiled tree mirrors the wire one)."""
    if isinstance(term, (Datum, Const)):
        return datum_to_wire(term.value)
    if isinstance(term, Spliced):
        return term_to_wire(term.inner)
    if isinstance(term, MakeObject):
        return {k: term_to_wire(v) for k, v in term.optargs.items()}
    wire: list = [int(term.tt), [term_to_wire(a) for a in term.args]]
    if term.optargs:
        wire.append({k: term_to_wire(v) for k, v in term.optargs.items()})
    return wire


def datum_to_wire(v: Any) -> Any:
    """A datum as a wire term (arrays become MAKE_ARRAY, binary its pseudo-type)."""
    t = type(v)
    if t is list:
        return [int(T.MAKE_ARRAY), [datum_to_wire(x) for x in v]]
    if t is dict:
        return {k: datum_to_wire(x) for k, x in v.items()}
    if t is bytes:
        return D.binary_object(v)
    if isinstance(v, D.MinMaxVal):
        return [int(T.MAXVAL if v is D.MAXVAL else T.MINVAL), []]
    return v
