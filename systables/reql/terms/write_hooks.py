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

from typing import Any

from ... import datum as D
from ...catalog import write_hook_function
from ...datum.errors import ReqlError, ReqlInternalError, ReqlInterrupted, ReqlOpFailedError, ReqlQueryLogicError
from ...datum.ql2 import TermType as T
from ..pretty import print_write_hook_query
from ..tables import TableVal
from ..term import Env, Term, as_datum, as_func, term
from ..values import FuncVal
from .db_table import AdminTerm, table_arg
from .geo import check_index_function
from .indexes import term_to_wire

SPECIAL_TABLE = "Database `rethinkdb` is special; you can't set a write hook on the tables in it."
NOT_A_HOOK_BINARY = (
    "Cannot create a write hook except from a reql_write_hook_function returned from `get_write_hook`."
)
WRONG_ARITY = "Write hook functions must expect 3 arguments."
NOT_DETERMINISTIC = "Could not prove function deterministic.  Write hook functions must be deterministic."
DELETE_TO_WRITE = "A write hook function must not turn a deletion into a replace/insert."
WRITE_TO_DELETE = "A write hook function must not turn a replace/insert into a deletion."


def stored_hook(env: Env, function_wire: Any) -> dict:
    """What the catalog keeps of a hook: its function (refused now if it does
    not compile) and the text ``get_write_hook`` shows."""
    env.ctx.index_functions.function_term(function_wire)
    return {"func": function_wire, "query": print_write_hook_query(function_wire)}


# ---------------------------------------------------------------------------
# Terms

@term(T.GET_WRITE_HOOK)
class GetWriteHook(AdminTerm):
    async def eval(self, env: Env) -> Any:
        table = table_arg(await self.args[0].eval(env), self.args[0])
        if not table.has_write_hooks:
            return None
        require_config(env, table, self)
        return env.ctx.catalog.write_hooks.row(table.id)


@term(T.SET_WRITE_HOOK)
class SetWriteHook(AdminTerm):
    async def eval(self, env: Env) -> dict:
        table = table_arg(await self.args[0].eval(env), self.args[0])
        table.stored(lambda: ReqlOpFailedError(SPECIAL_TABLE, self))
        value = await self.args[1].eval(env)
        hook = None if value is None else stored_hook(env, self.function_wire(value))
        require_config(env, table, self)
        hooks = env.ctx.catalog.write_hooks
        old = hooks.get(table.id)
        hooks.set(table.id, hook)
        if hook is None:
            return {"deleted": 1}  # RethinkDB says so whether there was a hook or not
        return {"created": 1} if old is None else {"replaced": 1}

    def function_wire(self, value: Any) -> Any:
        """A function of three arguments that is deterministic, or a binary
        from ``get_write_hook``: the function in wire form."""
        if type(value) is bytes:
            try:
                return write_hook_function(value)
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                raise ReqlQueryLogicError(NOT_A_HOOK_BINARY, self) from None
        func = as_func(value, self.args[1]).term  # anything else must be a function
        if func is None or func.tt != T.FUNC:
            raise ReqlQueryLogicError(NOT_DETERMINISTIC, self.args[1])
        if value.arity != 3:
            raise ReqlQueryLogicError(WRONG_ARITY, self)
        if not func.args[1].is_deterministic(across_queries=True) or not check_index_function(func):
            raise ReqlQueryLogicError(NOT_DETERMINISTIC, func.args[1])
        return term_to_wire(func)


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
    """A table's hook as one write query runs it (compiled once per query).
    The writer checks its result as any new value (``writes.replacement_error``)."""

    def __init__(self, env: Env, table: TableVal, stored: dict) -> None:
        self.env = env
        self.primary_key = table.primary_key
        self.stored = stored
        self.function: Any = None

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
        pk = self.primary_key
        if old is None and type(result) is dict and pk in result and not D.eq(result[pk], key):
            # an insert names its missing old value as null, in a message of its own
            raise ReqlQueryLogicError(f"Primary key `{pk}` cannot be changed (null -> {D.print_datum(result)})")
        return result

    def context(self, key: Any) -> dict:
        return {"primary_key": key, "timestamp": self.env.ctx.now()}

    async def compiled(self) -> FuncVal:
        if self.function is None:
            term_ = self.env.ctx.index_functions.function_term(self.stored["func"])
            self.function = await term_.eval(Env(self.env.ctx))
        return self.function


async def hook_for(t: Term, env: Env, table: TableVal) -> ActiveHook | None:
    """The hook a write term runs on ``table``: none for system tables, nor
    with ``ignore_write_hook=True``."""
    ignore = await t.opt_datum(env, "ignore_write_hook", False)
    if not table.has_write_hooks:
        return None
    if ignore is not None and ignore is not False:
        may_ignore_hooks(env, table, t)
        return None
    stored = env.ctx.catalog.write_hooks.get(table.id)
    return None if stored is None else ActiveHook(env, table, stored)
