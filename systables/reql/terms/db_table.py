"""Databases and tables: r.db, r.table, get, get_all, between, and the
db/table administration terms."""

from __future__ import annotations

from typing import Any

from ... import catalog as C
from .. import datum as D
from ..errors import ReqlOpFailedError, ReqlQueryLogicError
from ..ql2 import TermType as T
from ..stream import ChainStream, GeneratorStream, Stream
from ..tables import TableVal, check_identifier_format
from ..term import MISSING, Env, Term, as_datum, term
from ..values import DbVal, SingleSelection

READ_MODES = ("single", "majority", "outdated", "_debug_direct")


def server_of(env: Env) -> Any:
    return env.ctx.server


async def default_db(env: Env) -> DbVal:
    g = env.ctx.global_optargs.get("db")
    if g is None:
        return DbVal("test")
    v = await g.eval(env)
    if not isinstance(v, DbVal):
        raise ReqlQueryLogicError(f"Expected type DATABASE but found {D.type_name(v) if not hasattr(v, 'type_name') else v.type_name}.")
    return v


async def db_arg(term_: Term, env: Env, i: int) -> DbVal:
    v = await term_.args[i].eval(env)
    if not isinstance(v, DbVal):
        from ..values import Val

        found = v.type_name if isinstance(v, Val) else "DATUM"
        raise ReqlQueryLogicError(f"Expected type DATABASE but found {found}:\n{D.print_datum(v) if found == 'DATUM' else v.describe()}", term_.args[i])
    return v


def table_arg(v: Any, at: Any = None) -> TableVal:
    if isinstance(v, TableVal):
        return v
    from ..values import Val

    found = v.type_name if isinstance(v, Val) else "DATUM"
    shown = v.describe() if isinstance(v, Val) else D.print_datum(v)
    raise ReqlQueryLogicError(f"Expected type TABLE but found {found}:\n{shown}", at)


@term(T.DB)
class Db(Term):
    min_args = max_args = 1

    async def eval(self, env: Env) -> DbVal:
        name = await self.arg_str(env, 0)
        C.check_name("Database", name)
        if name == C.SYSTEM_DB:
            return DbVal(name, C.SYSTEM_DB_ID)
        db = server_of(env).catalog.require_db(name)
        return DbVal(name, db.id)


@term(T.TABLE)
class Table(Term):
    min_args, max_args = 1, 2
    opt_names = frozenset({"read_mode", "identifier_format", "use_outdated"})

    async def eval(self, env: Env) -> TableVal:
        if len(self.args) == 2:
            db = await db_arg(self, env, 0)
            name = await self.arg_str(env, 1)
        else:
            db = await default_db(env)
            name = await self.arg_str(env, 0)
        if "use_outdated" in self.optargs:
            raise ReqlQueryLogicError("The `use_outdated` optarg is no longer supported.  Use the `read_mode` optarg instead.", self)
        read_mode = await self.opt_datum(env, "read_mode", "single")
        if read_mode not in READ_MODES:
            raise ReqlQueryLogicError(
                f'Read mode `{read_mode if type(read_mode) is str else D.print_datum(read_mode)}` unrecognized (options are "majority", "single", and "outdated").',
                self,
            )
        ident = check_identifier_format(await self.opt_datum(env, "identifier_format", "name"))
        return open_table(env, db, name, ident, read_mode, self)


def open_table(env: Env, db: DbVal, name: str, ident: str = "name", read_mode: str = "single", at: Any = None) -> TableVal:
    server = server_of(env)
    C.check_name("Table", name)
    if db.name == C.SYSTEM_DB:
        backend = server.system.get(name)
        if backend is None:
            raise ReqlOpFailedError(f"Table `{C.SYSTEM_DB}.{name}` does not exist.", at)
        server.auth.require(env.ctx.user, "read", C.SYSTEM_DB_ID, backend.id)
        return TableVal(env.ctx, C.SYSTEM_DB, C.SYSTEM_DB_ID, name, system=backend, identifier_format=ident)
    db_id = db.id or server.catalog.require_db(db.name).id
    if db_id not in server.storage.dbs:
        raise ReqlOpFailedError(f"Database `{db.name}` does not exist.", at)
    meta = server.catalog.require_table(db.name, db_id, name)
    server.auth.require(env.ctx.user, "read", db_id, meta.id)
    return TableVal(env.ctx, db.name, db_id, name, store=server.storage.table(meta.id), identifier_format=ident, read_mode=read_mode)


@term(T.GET)
class Get(Term):
    min_args = max_args = 2

    async def eval(self, env: Env) -> SingleSelection:
        table = table_arg(await self.args[0].eval(env), self.args[0])
        key = await self.arg_datum(env, 1)
        if key is None:
            raise ReqlQueryLogicError("Cannot use `nu" + "ll` as a primary key.", self)  # never matches a row
        return SingleSelection(table, key, table.get(key))


@term(T.GET_ALL)
class GetAll(Term):
    min_args = 1
    opt_names = frozenset({"index"})

    async def eval(self, env: Env) -> Stream:
        table = table_arg(await self.args[0].eval(env), self.args[0])
        keys = [await self.arg_datum(env, i) for i in range(1, len(self.args))]
        index = await self.opt_datum(env, "index", table.primary_key)
        if index == table.primary_key:
            return GeneratorStream(_get_all_pk(table, keys), table=table, typeof_name="SELECTION<STREAM>")
        table.check_index_usable(index)
        parts = [table.index_scan(index, k, k, hi_open=False, typeof_name="SELECTION<STREAM>") for k in _distinct(keys)]
        s = ChainStream(parts)
        s.table = table
        s.typeof_name = "SELECTION<STREAM>"
        s.type_name = "SELECTION"
        return s


def _distinct(keys: list) -> list:
    seen = set()
    out = []
    for k in keys:
        h = D.hashable(k)
        if h not in seen:
            seen.add(h)
            out.append(k)
    return out


async def _get_all_pk(table: TableVal, keys: list):  # type: ignore[no-untyped-def]
    rows = []
    for k in _distinct(keys):
        doc = table.get(k)
        if doc is not None:
            rows.append(doc)
    if rows:
        yield rows


@term(T.BETWEEN)
class Between(Term):
    min_args = max_args = 3
    opt_names = frozenset({"index", "left_bound", "right_bound"})

    async def eval(self, env: Env) -> Stream:
        src = await self.args[0].eval(env)
        lo = await self.arg_datum(env, 1)
        hi = await self.arg_datum(env, 2)
        if lo is None or hi is None:
            raise ReqlQueryLogicError("Cannot use `nu" + "ll` in BETWEEN, use `r.minval` or `r.maxval` to denote unboundedness.", self)
        left = await self.opt_datum(env, "left_bound", "closed")
        right = await self.opt_datum(env, "right_bound", "open")
        for name, b in (("left_bound", left), ("right_bound", right)):
            if b not in ("open", "closed"):
                raise ReqlQueryLogicError(f"Unrecognized bound `{b}` for {name}. (Expected `open` or `closed`.)", self)
        if not isinstance(src, TableVal):
            from ..values import Val

            found = src.type_name if isinstance(src, Val) else "DATUM"
            shown = src.describe() if isinstance(src, Val) else D.print_datum(src)
            raise ReqlQueryLogicError(f"Expected type TABLE_SLICE but found {found}:\n{shown}", self.args[0])
        index = await self.opt_datum(env, "index", src.primary_key)
        return src.index_scan(index, lo, hi, lo_open=left == "open", hi_open=right == "open")


@term(T.DB_CREATE)
class DbCreate(Term):
    min_args = max_args = 1

    async def eval(self, env: Env) -> dict:
        name = C.check_name("Database", await self.arg_str(env, 0))
        server = server_of(env)
        server.auth.require(env.ctx.user, "config")
        if name == C.SYSTEM_DB or server.catalog.db_by_name(name) is not None:
            raise ReqlOpFailedError(f"Database `{name}` already exists.", self)
        db = server.storage.create_db(name)
        return {"config_changes": [{"new_val": server.catalog.db_config_row(db), "old_val": None}], "dbs_created": 1}


@term(T.DB_DROP)
class DbDrop(Term):
    min_args = max_args = 1

    async def eval(self, env: Env) -> dict:
        name = C.check_name("Database", await self.arg_str(env, 0))
        server = server_of(env)
        if name == C.SYSTEM_DB:
            raise ReqlOpFailedError("Database `rethinkdb` is special; you can't delete it.", self)
        db = server.catalog.require_db(name)
        server.auth.require(env.ctx.user, "config", db.id)
        row = server.catalog.db_config_row(db)
        dropped = await server.drop_db(db.id)
        return {"config_changes": [{"new_val": None, "old_val": row}], "dbs_dropped": 1, "tables_dropped": dropped}


@term(T.DB_LIST)
class DbList(Term):
    min_args = max_args = 0

    async def eval(self, env: Env) -> list:
        return server_of(env).catalog.db_names()


TABLE_CREATE_OPTS = frozenset({"primary_key", "shards", "replicas", "primary_replica_tag", "nonvoting_replica_tags", "durability"})


@term(T.TABLE_CREATE)
class TableCreate(Term):
    min_args, max_args = 1, 2
    opt_names = TABLE_CREATE_OPTS

    async def eval(self, env: Env) -> dict:
        if len(self.args) == 2:
            db = await db_arg(self, env, 0)
            name = await self.arg_str(env, 1)
        else:
            db = await default_db(env)
            name = await self.arg_str(env, 0)
        server = server_of(env)
        if db.name == C.SYSTEM_DB:
            raise ReqlOpFailedError("Database `rethinkdb` is special; you can't create new tables in it.", self)
        C.check_name("Table", name)
        pk = await self.opt_datum(env, "primary_key", "id")
        if type(pk) is not str:
            raise ReqlQueryLogicError(f"Expected type STRING but found {D.type_name(pk)}.", self)
        durability = await self.opt_datum(env, "durability", "hard")
        if durability not in ("hard", "soft"):
            raise ReqlQueryLogicError(f'Durability option `{durability}` unrecognized (options are "hard" and "soft").', self)
        await check_shards_and_replicas(self, env)
        dbm = server.catalog.require_db(db.name)
        server.auth.require(env.ctx.user, "config", dbm.id)
        if server.catalog.table_by_name(dbm.id, name) is not None:
            raise ReqlOpFailedError(f"Table `{db.name}.{name}` already exists.", self)
        meta = server.storage.create_table(dbm.id, name, primary_key=pk, durability=durability)
        return {
            "config_changes": [{"new_val": server.catalog.table_config_row(meta), "old_val": None}],
            "tables_created": 1,
        }


async def check_shards_and_replicas(t: Term, env: Env) -> None:
    """A single server holds every table in one shard with one replica."""
    shards = await t.opt_datum(env, "shards", 1)
    if type(shards) is not int or shards < 1:
        raise ReqlQueryLogicError("Every table must have at least one shard.", t)
    if shards > 64:
        raise ReqlQueryLogicError("Maximum number of shards is 64.", t)
    replicas = await t.opt_datum(env, "replicas", 1)
    if type(replicas) is dict:
        total = sum(v for v in replicas.values() if type(v) is int)
        tags = list(replicas)
    else:
        total = replicas
        tags = ["default"]
    if type(total) is int and total > 1:
        tag = tags[0] if tags else "default"
        raise ReqlOpFailedError(
            f"Can't put {total} replicas on servers with the tag `{tag}` because there are only 1 servers with the tag `{tag}`. "
            "It's impossible to have more replicas of the data than there are servers.",
            t,
        )


@term(T.TABLE_DROP)
class TableDrop(Term):
    min_args, max_args = 1, 2

    async def eval(self, env: Env) -> dict:
        if len(self.args) == 2:
            db = await db_arg(self, env, 0)
            name = await self.arg_str(env, 1)
        else:
            db = await default_db(env)
            name = await self.arg_str(env, 0)
        server = server_of(env)
        if db.name == C.SYSTEM_DB:
            raise ReqlOpFailedError("Database `rethinkdb` is special; you can't drop tables in it.", self)
        C.check_name("Table", name)
        dbm = server.catalog.require_db(db.name)
        meta = server.catalog.require_table(db.name, dbm.id, name)
        server.auth.require(env.ctx.user, "config", dbm.id, meta.id)
        row = server.catalog.table_config_row(meta)
        await server.drop_table(meta.id)
        return {"config_changes": [{"new_val": None, "old_val": row}], "tables_dropped": 1}


@term(T.TABLE_LIST)
class TableList(Term):
    min_args, max_args = 0, 1

    async def eval(self, env: Env) -> list:
        db = await db_arg(self, env, 0) if self.args else await default_db(env)
        server = server_of(env)
        if db.name == C.SYSTEM_DB:
            return server.system.visible_names()
        dbm = server.catalog.require_db(db.name)
        return [t.name for t in server.catalog.tables_of(dbm.id)]


@term(T.SYNC)
class Sync(Term):
    min_args = max_args = 1

    async def eval(self, env: Env) -> dict:
        v = await self.args[0].eval(env)
        table = table_arg(v, self.args[0])
        if table.system is not None:
            raise ReqlOpFailedError("Artificial tables don't support `sync()`.", self)
        await table.store.commit("hard")
        return {"synced": 1}


WAIT_STATES = ("ready_for_outdated_reads", "ready_for_reads", "ready_for_writes", "all_replicas_ready")


@term(T.WAIT)
class Wait(Term):
    """A single server's tables are always ready: report how many were waited on."""

    min_args, max_args = 0, 1
    opt_names = frozenset({"wait_for", "timeout"})

    async def eval(self, env: Env) -> dict:
        if not self.args:
            raise ReqlQueryLogicError("`wait` can only be called on a table or database.", self)
        wait_for = await self.opt_datum(env, "wait_for", "all_replicas_ready")
        if wait_for not in WAIT_STATES:
            raise ReqlQueryLogicError(
                f"Unknown table readiness state: '{wait_for}', must be one of 'ready_for_outdated_reads', "
                "'ready_for_reads', 'ready_for_writes', or 'all_replicas_ready'",
                self,
            )
        target = await self.args[0].eval(env)
        special = "Database `rethinkdb` is special; the system tables in it are always available and don't need to be waited on."
        if isinstance(target, DbVal):
            if target.name == C.SYSTEM_DB:
                raise ReqlOpFailedError(special, self)
            dbm = server_of(env).catalog.require_db(target.name)
            return {"ready": len(server_of(env).catalog.tables_of(dbm.id))}
        table = table_arg(target, self.args[0])
        if table.system is not None:
            raise ReqlOpFailedError(special, self)
        return {"ready": 1}
