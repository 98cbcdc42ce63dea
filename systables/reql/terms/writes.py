"""insert, update, replace, delete: per-document results in RethinkDB's write summary."""

from __future__ import annotations

import uuid
from typing import Any, Awaitable, Callable

from .. import datum as D
from ..errors import ReqlError, ReqlNonExistenceError, ReqlQueryLogicError
from ..ql2 import TermType as T
from ..stream import Stream
from ..tables import TableVal
from ..term import MISSING, Env, Term, as_datum, term
from ..values import FuncVal, SingleSelection, Val
from .db_table import table_arg
from .objects_core import merge_docs

WRITE_CHUNK = 1000


class WriteResult:
    """Accumulates RethinkDB's write summary."""

    def __init__(self, return_changes: Any) -> None:
        self.counts = {"deleted": 0, "errors": 0, "inserted": 0, "replaced": 0, "skipped": 0, "unchanged": 0}
        self.first_error: str | None = None
        self.generated_keys: list[str] = []
        self.changes: list[dict] = []
        self.warnings: list[str] = []
        self.return_changes = return_changes

    def add(self, kind: str, old: Any = None, new: Any = None) -> None:
        self.counts[kind] += 1
        rc = self.return_changes
        if rc is True and kind in ("inserted", "replaced", "deleted"):
            self.changes.append({"new_val": new, "old_val": old})
        elif rc == "always" and kind != "errors":
            self.changes.append({"new_val": new, "old_val": old})

    def error(self, message: str, old: Any = None, new: Any = None) -> None:
        self.counts["errors"] += 1
        if self.first_error is None:
            self.first_error = message
        if self.return_changes == "always":
            self.changes.append({"error": message, "new_val": new, "old_val": old})

    def to_datum(self) -> dict:
        out: dict[str, Any] = dict(self.counts)
        if self.first_error is not None:
            out["first_error"] = self.first_error
        if self.generated_keys:
            out["generated_keys"] = self.generated_keys
        if self.return_changes:
            out["changes"] = self.changes
        if self.warnings:
            out["warnings"] = self.warnings
        return out


async def durability_of(t: Term, env: Env, table: TableVal) -> str:
    d = await t.opt_datum(env, "durability", MISSING)
    if d is MISSING:
        return table.store.meta.durability if table.store is not None else "soft"
    if d not in ("hard", "soft"):
        shown = d if type(d) is str else D.print_datum(d)
        raise ReqlQueryLogicError(f'Durability option `{shown}` unrecognized (options are "hard" and "soft").', t)
    return d


async def return_changes_of(t: Term, env: Env) -> Any:
    rc = await t.opt_datum(env, "return_changes", False)
    if rc == "always":
        return rc
    if type(rc) is not bool:
        raise ReqlQueryLogicError(f"Expected type BOOL but found {D.type_name(rc)}.", t)
    return rc


def pk_error(key: Any) -> str | None:
    """RethinkDB's checks on a primary key value; returns the message or None."""
    t = D.type_name(key)
    if t in ("NULL", "OBJECT") or (t.startswith("PTYPE<") and t not in ("PTYPE<TIME>", "PTYPE<BINARY>")):
        return f"Primary keys must be either a number, string, bool, pseudotype or array (got type {t}):\n{D.print_datum(key)}"
    from ...storage import BadKeyType, KeyTooLong
    from ...storage.keys import check_pk

    try:
        check_pk(key)
    except KeyTooLong:
        return f"Primary key too long (max 127 characters): {D.print_datum(key)}"
    except BadKeyType as e:
        return str(e) or f"Primary key `{D.print_datum(key)}` is invalid."
    return None


class Writer:
    """Applies per-row changes to a table in chunks; one commit at the end."""

    def __init__(self, env: Env, table: TableVal, durability: str) -> None:
        self.env = env
        self.table = table
        self.durability = durability
        self.ops: list[tuple[Any, dict | None]] = []
        self.pending: dict[Any, dict | None] = {}
        self.wrote = False

    def current(self, key: Any) -> dict | None:
        h = D.hashable(key)
        if h in self.pending:
            return self.pending[h]
        return self.table.get(key)

    async def put(self, key: Any, old: Any, new: dict | None) -> str | None:
        """Queue a change; returns an error message for system tables that refuse it."""
        if self.table.system is not None:
            return await self.table.system.write(self.env.ctx, key, old, new, self.table.identifier_format)
        self.ops.append((key, new))
        self.pending[D.hashable(key)] = new
        if len(self.ops) >= WRITE_CHUNK:
            self.flush()
        return None

    def flush(self) -> None:
        if self.ops:
            self.table.store.apply(self.ops)
            self.env.ctx.docs_written += len(self.ops)
            self.ops = []
            self.pending = {}
            self.wrote = True

    async def finish(self) -> None:
        self.flush()
        if self.wrote and self.table.store is not None:
            await self.table.store.commit(self.durability)


def require_write(env: Env, table: TableVal) -> None:
    env.ctx.server.auth.require(env.ctx.user, "write", table.db_id, table.id)


@term(T.INSERT)
class Insert(Term):
    min_args = max_args = 2
    opt_names = frozenset({"conflict", "durability", "return_changes", "ignore_write_hook"})

    async def eval(self, env: Env) -> dict:
        table = table_arg(await self.args[0].eval(env), self.args[0])
        require_write(env, table)
        docs_val = await self.args[1].eval(env)
        conflict = await self.opt(env, "conflict", "error")
        if not isinstance(conflict, FuncVal) and conflict not in ("error", "replace", "update"):
            shown = conflict if type(conflict) is str else D.print_datum(conflict)
            raise ReqlQueryLogicError(f'Conflict option `{shown}` unrecognized (options are "error", "replace" and "update").', self)
        if isinstance(conflict, FuncVal):
            if conflict.arity != 3:
                raise ReqlQueryLogicError("The conflict function passed to `insert` should expect 3 arguments.", self)
            if not conflict.deterministic:
                raise ReqlQueryLogicError("The conflict function passed to `insert` must be deterministic.", self)
        result = WriteResult(await return_changes_of(self, env))
        writer = Writer(env, table, await durability_of(self, env, table))
        async for doc in iter_docs(docs_val, self.args[1], env):
            await self.insert_one(table, writer, result, doc, conflict)
        await writer.finish()
        return result.to_datum()

    async def insert_one(self, table: TableVal, writer: Writer, result: WriteResult, doc: Any, conflict: Any) -> None:
        pk = table.primary_key
        if type(doc) is not dict or D.REQL_TYPE in doc:
            raise ReqlQueryLogicError(f"Expected type OBJECT but found {D.type_name(doc)}.", self.args[1])
        if pk not in doc:
            key = str(uuid.uuid4())
            doc = {**doc, pk: key}
            result.generated_keys.append(key)
        key = doc[pk]
        err = pk_error(key)
        if err is not None:
            result.error(err, None, None)
            return
        old = writer.current(key)
        if old is None:
            new = doc
        elif conflict == "error":
            result.error(f"Duplicate primary key `{pk}`:\n{D.print_datum(old)}\n{D.print_datum(doc)}", old, old)
            return
        elif conflict == "replace":
            new = doc
        elif conflict == "update":
            new = merge_docs(old, doc)
        else:
            new = as_datum(await conflict(key, old, doc))
            if new is not None:
                if type(new) is not dict:
                    result.error(f"Expected type OBJECT but found {D.type_name(new)}.", old, None)
                    return
                if not D.eq(new.get(pk), key):
                    result.error(pk_changed(pk, old, new), old, old)
                    return
        await apply_change(writer, result, key, old, new)


def pk_changed(pk: str, old: Any, new: Any) -> str:
    return f"Primary key `{pk}` cannot be changed (`{D.print_datum(old)}` -> `{D.print_datum(new)}`)."


async def apply_change(writer: Writer, result: WriteResult, key: Any, old: Any, new: Any) -> None:
    if old is None and new is None:
        result.add("skipped", None, None)
        return
    if old is not None and new is not None and D.eq(old, new):
        result.add("unchanged", old, new)
        return
    err = await writer.put(key, old, new)
    if err is not None:
        result.error(err, old, new)
        return
    if old is None:
        result.add("inserted", None, new)
    elif new is None:
        result.add("deleted", old, None)
    else:
        result.add("replaced", old, new)


async def iter_docs(v: Any, at: Any, env: Env):  # type: ignore[no-untyped-def]
    if isinstance(v, Stream):
        async for row in v:
            yield row
    elif isinstance(v, SingleSelection):
        yield v.doc
    elif isinstance(v, Val):
        raise ReqlQueryLogicError(f"Expected type DATUM but found {v.type_name}:\n{v.describe()}", at)
    elif type(v) is list:
        for row in v:
            yield row
    else:
        yield v


def selection_arg(v: Any, at: Any) -> tuple[TableVal, Any]:
    """The table and rows (stream, list or single document) of a selection."""
    if isinstance(v, SingleSelection):
        return v.table, v
    if isinstance(v, Stream) and v.table is not None:
        return v.table, v
    found = v.type_name if isinstance(v, Val) else "DATUM"
    shown = v.describe() if isinstance(v, Val) else D.print_datum(v)
    raise ReqlQueryLogicError(f"Expected type SELECTION but found {found}:\n{shown}", at)


class RowWrite(Term):
    """update / replace / delete over a selection."""

    min_args = max_args = 2
    opt_names = frozenset({"durability", "return_changes", "non_atomic", "ignore_write_hook"})

    async def compute(self, env: Env, old: dict, fn: Any) -> Any:
        raise NotImplementedError

    async def get_fn(self, env: Env) -> Any:
        return await self.args[1].eval(env)

    async def eval(self, env: Env) -> dict:
        table, rows = selection_arg(await self.args[0].eval(env), self.args[0])
        require_write(env, table)
        fn = await self.get_fn(env)
        if isinstance(fn, FuncVal) and not fn.deterministic and not as_datum(await self.opt(env, "non_atomic", False)):
            raise ReqlQueryLogicError("Could not prove argument deterministic.  Maybe you want to use the non_atomic flag?", self.args[1])
        result = WriteResult(await return_changes_of(self, env))
        writer = Writer(env, table, await durability_of(self, env, table))
        pk = table.primary_key
        if isinstance(rows, SingleSelection):
            await self.write_one(env, writer, result, pk, rows.key, fn, single=True)
        else:
            async for doc in rows:
                await self.write_one(env, writer, result, pk, doc[pk], fn)
        await writer.finish()
        return result.to_datum()

    async def write_one(self, env: Env, writer: Writer, result: WriteResult, pk: str, key: Any, fn: Any, single: bool = False) -> None:
        old = writer.current(key)
        if old is None and not isinstance(self, Replace):
            result.add("skipped")
            return
        try:
            new = await self.compute(env, old, fn)
        except ReqlError as e:
            if isinstance(e, ReqlQueryLogicError) or type(e).__name__ in ("ReqlUserError",):
                result.error(e.message, old, old)
                return
            raise
        if new is not None and (type(new) is not dict or D.REQL_TYPE in new):
            result.error(f"Expected type OBJECT but found {D.type_name(new)}.", old, old)
            return
        if new is not None:
            if pk not in new:
                result.error(f"Inserted object must have primary key `{pk}`:\n{D.print_datum(new)}", old, old)
                return
            if old is not None and not D.eq(new[pk], old[pk]):
                result.error(pk_changed(pk, old, new), old, old)
                return
            if old is None:
                err = pk_error(new[pk])
                if err is not None:
                    result.error(err, old, old)
                    return
                if not D.eq(new[pk], key):
                    result.error(pk_changed(pk, old, new), old, old)
                    return
        await apply_change(writer, result, key, old, new)


@term(T.UPDATE)
class Update(RowWrite):
    async def compute(self, env: Env, old: dict, fn: Any) -> Any:
        patch = as_datum(await fn(old)) if isinstance(fn, FuncVal) else fn
        if patch is None:
            return old
        if type(patch) is not dict:
            raise ReqlQueryLogicError(f"Expected type OBJECT but found {D.type_name(patch)}.")
        return merge_docs(old, patch)


@term(T.REPLACE)
class Replace(RowWrite):
    async def compute(self, env: Env, old: Any, fn: Any) -> Any:
        return as_datum(await fn(old)) if isinstance(fn, FuncVal) else fn


@term(T.DELETE)
class Delete(RowWrite):
    min_args = max_args = 1

    async def get_fn(self, env: Env) -> Any:
        return None

    async def compute(self, env: Env, old: Any, fn: Any) -> Any:
        return None
