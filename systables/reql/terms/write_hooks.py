"""Write hooks: ``set_write_hook``, ``get_write_hook`` and the hook's part in
every insert, update, replace and delete, as in RethinkDB 2.4.

A table's hook is a function ``(context, old_val, new_val) -> new value``
called for each document a write changes, after the write computed its new
value; ``context`` is ``{"primary_key": key, "timestamp": <the query's
r.now()>}``.  Its result is what is stored, checked as any new value is, and
it may not turn a deletion into an insert or replacement, nor the reverse.
An error in the hook fails that document only (``Error in write hook: ...``).
Writes with ``ignore_write_hook=True`` bypass it (``rethinkdb restore`` does).

The hook is kept with the table's configuration (``table_config``'s
``write_hook``, shown with the function as a binary and its JavaScript text)
and survives restarts; ``get_write_hook()["function"]`` is a binary that
``set_write_hook`` accepts, so ``rethinkdb dump``/``restore`` carry hooks over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ... import datum as D
from ...datum.errors import ReqlError, ReqlInternalError, ReqlInterrupted, ReqlOpFailedError, ReqlQueryLogicError
from ...datum.ql2 import TermType as T
from ..tables import TableVal
from ..term import Env, Term, as_datum, term
from ..values import FuncVal
from .db_table import AdminTerm, table_arg
from .geo import check_index_function

FUNCTION_PREFIX = b"$reql_write_hook_function$"
DEFINITION_VERSION = 1
SPECIAL_TABLE = "Database `rethinkdb` is special; you can't set a write hook on the tables in it."
NOT_A_HOOK_BINARY = (
    "Cannot create a write hook except from a reql_write_hook_function returned from `get_write_hook`."
)
WRONG_ARITY = "Write hook functions must expect 3 arguments."
NOT_DETERMINISTIC = "Could not prove function deterministic.  Write hook functions must be deterministic."
DELETE_TO_WRITE = "A write hook function must not turn a deletion into a replace/insert."
WRITE_TO_DELETE = "A write hook function must not turn a replace/insert into a deletion."


@dataclass(frozen=True)
class HookDefinition:
    """A stored hook: its function in wire form and the text ``get_write_hook`` shows."""

    function: Any
    query: str

    def binary(self) -> bytes:
        payload = {"v": DEFINITION_VERSION, "func": self.function}
        return FUNCTION_PREFIX + json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()

    def row(self) -> dict:
        """``get_write_hook()`` and ``table_config``'s ``write_hook``."""
        return {"function": self.binary(), "query": self.query}

    def stored(self) -> dict:
        return {"func": self.function, "query": self.query}

    @classmethod
    def from_stored(cls, value: dict) -> "HookDefinition":
        return cls(value["func"], value["query"])

    @classmethod
    def from_function(cls, function_wire: Any) -> "HookDefinition":
        from ..compiler import compile_query
        from ..pretty import print_write_hook_query

        compile_query(function_wire)  # a definition that does not compile is refused now
        return cls(function_wire, print_write_hook_query(function_wire))


def parse_binary(blob: bytes) -> HookDefinition:
    if not blob.startswith(FUNCTION_PREFIX):
        raise ReqlQueryLogicError(NOT_A_HOOK_BINARY)
    try:
        payload = json.loads(blob[len(FUNCTION_PREFIX):].decode())
        func = payload["func"]
        if payload.get("v") != DEFINITION_VERSION or type(func) is not list or not func or func[0] != T.FUNC:
            raise ValueError("not a write hook definition")
        return HookDefinition.from_function(func)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ReqlQueryLogicError(NOT_A_HOOK_BINARY) from None


# ---------------------------------------------------------------------------
# Where hooks are kept: with the table's configuration, by table id.

HOOK_META = "write_hook/"


class HookStore:
    """The hooks of a server's tables, read once from storage and cached."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage
        self.cache: dict[str, HookDefinition | None] = {}

    def get(self, table_id: str) -> HookDefinition | None:
        if table_id not in self.cache:
            stored = self.storage.get_meta(HOOK_META + table_id)
            self.cache[table_id] = None if stored is None else HookDefinition.from_stored(stored)
        return self.cache[table_id]

    def set(self, table_id: str, hook: HookDefinition | None) -> None:
        if hook is None:
            self.storage.delete_meta(HOOK_META + table_id)
        else:
            self.storage.put_meta(HOOK_META + table_id, hook.stored())
        self.cache[table_id] = hook


def hooks_of(catalog: Any) -> HookStore:
    """The hooks of the catalog's tables (kept beside it, one store per storage)."""
    store = getattr(catalog, "_write_hooks", None)
    if store is None or store.storage is not catalog.storage:
        store = HookStore(catalog.storage)
        catalog._write_hooks = store
    return store


def hook_row(catalog: Any, table_id: str) -> dict | None:
    hook = hooks_of(catalog).get(table_id)
    return None if hook is None else hook.row()


# ---------------------------------------------------------------------------
# Terms

@term(T.GET_WRITE_HOOK)
class GetWriteHook(AdminTerm):
    async def eval(self, env: Env) -> Any:
        table = table_arg(await self.args[0].eval(env), self.args[0])
        if table.system is not None:
            return None
        require_config(env, table, self)
        return hook_row(env.ctx.catalog, table.id)


@term(T.SET_WRITE_HOOK)
class SetWriteHook(AdminTerm):
    async def eval(self, env: Env) -> dict:
        table = table_arg(await self.args[0].eval(env), self.args[0])
        if table.system is not None:
            raise ReqlOpFailedError(SPECIAL_TABLE, self)
        value = await self.args[1].eval(env)
        hook = None if value is None else self.definition(value)
        require_config(env, table, self)
        store = hooks_of(env.ctx.catalog)
        old = store.get(table.id)
        store.set(table.id, hook)
        if hook is None:
            return {"deleted": 1}  # RethinkDB says so whether there was a hook or not
        return {"created": 1} if old is None else {"replaced": 1}

    def definition(self, value: Any) -> HookDefinition:
        """A function of three arguments that is deterministic, or a binary
        from ``get_write_hook``."""
        if type(value) is bytes:
            try:
                return parse_binary(value)
            except ReqlError as e:
                raise e.at(self)
        if not isinstance(value, FuncVal):
            from ..term import as_func

            as_func(value, self.args[1])  # raises RethinkDB's "Expected type FUNCTION"
        func = value.term
        if func is None or func.tt != T.FUNC:
            raise ReqlQueryLogicError(NOT_DETERMINISTIC, self.args[1])
        if value.arity != 3:
            raise ReqlQueryLogicError(WRONG_ARITY, self)
        if not func.args[1].is_deterministic(across_queries=True) or not check_index_function(func):
            raise ReqlQueryLogicError(NOT_DETERMINISTIC, func.args[1])
        from .indexes import term_to_wire

        return HookDefinition.from_function(term_to_wire(func))


def may_ignore_hooks(env: Env, table: TableVal, at: Term) -> None:
    """Ignoring a hook takes the `config` permission; RethinkDB reports its
    absence as an unexpected (internal) error."""
    try:
        env.ctx.auth.require(env.ctx.user, "config", table.db_id, table.id)
    except ReqlError as e:
        raise ReqlInternalError(f"Unexpected exception: {e.message}", at) from None


def require_config(env: Env, table: TableVal, at: Term) -> None:
    try:
        env.ctx.auth.require(env.ctx.user, "config", table.db_id, table.id)
    except ReqlError as e:
        raise e.at(at)


# ---------------------------------------------------------------------------
# The hook in writes

class ActiveHook:
    """A table's hook as one write query runs it (compiled once per query)."""

    def __init__(self, env: Env, table: TableVal, definition: HookDefinition) -> None:
        self.env = env
        self.primary_key = table.primary_key
        self.definition = definition
        self.function: FuncVal | None = None

    async def apply(self, key: Any, old: dict | None, new: Any) -> Any:
        """The value the hook makes of ``new`` (None: a deletion); raises the
        error that fails this document."""
        try:
            result = as_datum(await (await self.compiled())(self.context(key), old, new))
        except ReqlInterrupted:
            raise
        except ReqlError as e:
            raise type(e)(f"Error in write hook: {e.message}") from None
        if new is None and result is not None:
            raise ReqlQueryLogicError(DELETE_TO_WRITE)
        if new is not None and result is None:
            raise ReqlQueryLogicError(WRITE_TO_DELETE)
        if result is not None:
            self.check(key, old, result)
        return result

    def context(self, key: Any) -> dict:
        return {"primary_key": key, "timestamp": self.env.ctx.now()}

    def check(self, key: Any, old: dict | None, value: Any) -> None:
        """The checks on the hook's result RethinkDB makes (an insert names its
        missing old value as null, in a message of its own)."""
        from .writes import replacement_error

        pk = self.primary_key
        if old is None and type(value) is dict and pk in value and not D.eq(value[pk], key):
            raise ReqlQueryLogicError(f"Primary key `{pk}` cannot be changed (null -> {D.print_datum(value)})")
        error = replacement_error(pk, key, old, value)
        if error is not None:
            raise ReqlQueryLogicError(error)

    async def compiled(self) -> FuncVal:
        if self.function is None:
            from ..compiler import compile_query

            func = await compile_query(self.definition.function).eval(Env(self.env.ctx))
            self.function = func  # type: ignore[assignment]
        return self.function  # type: ignore[return-value]


async def hook_for(t: Term, env: Env, table: TableVal) -> ActiveHook | None:
    """The hook a write term runs on ``table``: none for system tables, nor
    with ``ignore_write_hook=True``."""
    ignore = await t.opt_datum(env, "ignore_write_hook", False)
    if table.system is not None or table.store is None:
        return None
    if ignore is not None and ignore is not False:
        may_ignore_hooks(env, table, t)
        return None
    definition = hooks_of(env.ctx.catalog).get(table.id)
    return None if definition is None else ActiveHook(env, table, definition)
