"""Databases and tables: r.db, r.table, get, get_all, between, and the
db/table administration terms."""

from __future__ import annotations

from typing import Any

from ... import catalog as C
from ... import datum as D
from ...admin import DEFAULT_DB
from ...datum.errors import ReqlError, ReqlNonExistenceError, ReqlOpFailedError, ReqlQueryLogicError
from ...datum.ql2 import TermType as T
from ...geo.pseudo import is_geometry
from ..stream import ChainStream, GeneratorStream, Stream
from ..bounds import Bounds
from ..tables import PRIMARY, SECONDARY, StoredTableVal, SystemTableVal, TableSlice, TableVal, check_identifier_format, contains_minmax, key_error
from ..term import MISSING, Env, Term, as_num, as_str, bound_is_open, term
from ..values import DbVal, SingleSelection, Val

GEO_GET_ALL = "Cannot use a geospatial index with `get_all`. Use `get_intersecting` instead."
READ_MODES = ("single", "majority", "outdated", "_debug_direct")


async def default_db(env: Env) -> DbVal:
    """The database of ``r.table(name)``: the `db` global optarg, else `test`."""
    g = env.ctx.global_optargs.get("db")
    if g is None:
        return DbVal(DEFAULT_DB)
    v = await g.eval(env)
    if not isinstance(v, DbVal):
        raise wrong_type("DATABASE", v)
    return v


async def db_arg(term_: Term, env: Env, i: int) -> DbVal:
    v = await term_.args[i].eval(env)
    if not isinstance(v, DbVal):
        raise wrong_type("DATABASE", v, term_.args[i])
    return v


def table_arg(v: Any, at: Any = None) -> TableVal:
    if isinstance(v, TableVal):
        return v
    raise wrong_type("TABLE", v, at)


def wrong_type(expected: str, v: Any, at: Any = None) -> ReqlQueryLogicError:
    """RethinkDB's "Expected type X but found Y:" followed by the value."""
    found = v.type_name if isinstance(v, Val) else "DATUM"
    shown = v.describe() if isinstance(v, Val) else D.print_datum(v)
    return ReqlQueryLogicError(f"Expected type {expected} but found {found}:\n{shown}", at)


def checked_name(kind: str, name: str, at: Term) -> str:
    """A database, table or index name; an invalid one marks the argument giving it."""
    try:
        return C.check_name(kind, name)
    except ReqlError as e:
        raise e.at(at)


@term(T.DB)
class Db(Term):
    async def eval(self, env: Env) -> DbVal:
        name = checked_name("Database", await self.arg_str(env, 0), self.args[0])
        if name == C.SYSTEM_DB:
            return DbVal(name, C.SYSTEM_DB_ID)
        db = env.ctx.catalog.require_db(name)
        return DbVal(name, db.id)


@term(T.TABLE)
class Table(Term):
    deterministic = False  # reads live data: writes need `non_atomic` to use it

    async def eval(self, env: Env) -> TableVal:
        if self.has_opt(env, "use_outdated"):
            raise ReqlQueryLogicError("The `use_outdated` optarg is no longer supported.  Use the `read_mode` optarg instead.", self)
        if len(self.args) == 2:
            db = await db_arg(self, env, 0)
            name = await self.arg_str(env, 1)
        else:
            db = await default_db(env)
            name = await self.arg_str(env, 0)
        # a value that is not a string marks the option; one not known marks the term (as RethinkDB)
        read_mode = as_str(await self.opt_datum(env, "read_mode", "single"), self.optargs.get("read_mode", self))
        if read_mode not in READ_MODES:
            raise ReqlQueryLogicError(
                f'Read mode `{read_mode}` unrecognized (options are "majority", "single", and "outdated").', self
            )
        ident_v = await self.opt_datum(env, "identifier_format", "name")
        ident = check_identifier_format(as_str(ident_v, self.optargs.get("identifier_format", self)))
        checked_name("Table", name, self.args[-1])
        return open_table(env, db, name, ident, read_mode, self)


def open_table(env: Env, db: DbVal, name: str, ident: str = "name", read_mode: str = "single", at: Any = None) -> TableVal:
    ctx = env.ctx
    C.check_name("Table", name)
    if db.name == C.SYSTEM_DB:
        backend = ctx.system.get(name)
        if backend is None:
            raise ReqlOpFailedError(f"Table `{C.SYSTEM_DB}.{name}` does not exist.", at)
        ctx.auth.require(env.ctx.user, "read", C.SYSTEM_DB_ID, backend.id)
        return SystemTableVal(env.ctx, name, backend, identifier_format=ident)
    db_id = db.id or ctx.catalog.require_db(db.name).id
    if db_id not in ctx.storage.dbs:
        raise ReqlOpFailedError(f"Database `{db.name}` does not exist.", at)
    meta = ctx.catalog.require_table(db.name, db_id, name)
    ctx.auth.require(env.ctx.user, "read", db_id, meta.id)
    return StoredTableVal(env.ctx, db.name, db_id, name, ctx.storage.table(meta.id), identifier_format=ident, read_mode=read_mode)


@term(T.GET)
class Get(Term):
    async def eval(self, env: Env) -> SingleSelection:
        table = table_arg(await self.args[0].eval(env), self.args[0])
        key = await self.arg_datum(env, 1)
        try:
            return SingleSelection(table, key, table.get(key))
        except ReqlError as e:
            raise e.at(self)


@term(T.GET_ALL)
class GetAll(Term):
    async def eval(self, env: Env) -> Stream:
        table = table_arg(await self.args[0].eval(env), self.args[0])
        keys = [await self.key_arg(env, i) for i in range(1, len(self.args))]
        for i, k in enumerate(keys, 1):
            if is_geometry(k):  # refused before any index is consulted
                raise ReqlQueryLogicError(GEO_GET_ALL, self.args[i])
        index = await index_opt(self, env, table.primary_key)
        kind = PRIMARY if index == table.primary_key else SECONDARY
        for k in keys:
            if table.validates_primary_keys or kind == SECONDARY:
                err = key_error(k, kind, self)
                if err is not None:
                    raise err
        keys = [k for k in keys if not contains_minmax(k)]  # r.minval / r.maxval match nothing
        if kind == PRIMARY:
            s = GeneratorStream(_get_all_pk(table, keys), table=table, typeof_name="SELECTION<STREAM>")
            s.feed_keys = (index, keys)  # type: ignore[attr-defined]  # what a changefeed follows
            return s
        if not keys:
            table.check_index_usable(index)
        # Each scan checks the index when first read, as RethinkDB does:
        # `get_all(1, index="x").do(...)` is a type error whether x exists or not.
        parts = [table.index_scan(index, Bounds.point(k), typeof_name="SELECTION<STREAM>") for k in _distinct(keys)]
        s = ChainStream(parts)
        s.table = table
        s.typeof_name = "SELECTION<STREAM>"
        s.type_name = "SELECTION"
        s.feed_keys = (index, keys)  # type: ignore[attr-defined]  # what a changefeed follows
        return s


    async def key_arg(self, env: Env, i: int) -> Any:
        key = await self.arg_datum(env, i)
        if key is None:
            raise ReqlNonExistenceError("Keys cannot be NULL.", self.args[i])
        return key


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


NULL_BOUND = "Cannot use `null` in BETWEEN, use `r.minval` or `r.maxval` to denote unboundedness."


async def index_opt(t: Term, env: Env, default: str) -> str:
    """The `index` optarg: a string, or the optarg's own type error."""
    return as_str(await t.opt_datum(env, "index", default), t.optargs.get("index", t))


@term(T.BETWEEN)
class Between(Term):
    async def eval(self, env: Env) -> Stream:
        src = await self.args[0].eval(env)
        if not isinstance(src, (TableVal, TableSlice)):
            raise wrong_type("TABLE_SLICE", src, self.args[0])
        lo_open = await bound_is_open(self, env, "left_bound", False)
        hi_open = await bound_is_open(self, env, "right_bound", True)
        lo = await self.arg_datum(env, 1)
        hi = await self.arg_datum(env, 2)
        for bound, at in ((lo, self.args[1]), (hi, self.args[2])):
            if bound is None:
                raise ReqlQueryLogicError(NULL_BOUND, at)
        default_index = src.primary_key if isinstance(src, TableVal) else src.index
        index = await index_opt(self, env, default_index)
        bounds = Bounds(lo, hi, lo_open, hi_open)
        try:
            if isinstance(src, TableVal):
                return src.index_scan(index, bounds)
            return src.with_bounds(index, bounds)
        except ReqlError as e:
            raise e.at(self)


class AdminTerm(Term):
    """Terms that read or change the cluster's configuration (meta_op_term_t)."""

    deterministic = False


@term(T.DB_CREATE)
class DbCreate(AdminTerm):
    async def eval(self, env: Env) -> dict:
        name = checked_name("Database", await self.arg_str(env, 0), self.args[0])
        ctx = env.ctx
        ctx.auth.require(env.ctx.user, "config")
        try:
            db = ctx.admin.create_db(name)
        except ReqlError as e:
            raise e.at(self)
        return {"config_changes": [{"new_val": ctx.catalog.db_config_row(db), "old_val": None}], "dbs_created": 1}


@term(T.DB_DROP)
class DbDrop(AdminTerm):
    async def eval(self, env: Env) -> dict:
        name = checked_name("Database", await self.arg_str(env, 0), self.args[0])
        ctx = env.ctx
        if name == C.SYSTEM_DB:
            raise ReqlOpFailedError("Database `rethinkdb` is special; you can't delete it.", self)
        db = ctx.catalog.require_db(name)
        ctx.auth.require(env.ctx.user, "config", db.id)
        row = ctx.catalog.db_config_row(db)
        dropped = ctx.admin.drop_db(db.id)
        return {"config_changes": [{"new_val": None, "old_val": row}], "dbs_dropped": 1, "tables_dropped": dropped}


@term(T.DB_LIST)
class DbList(AdminTerm):
    async def eval(self, env: Env) -> list:
        return env.ctx.catalog.db_names()


async def db_and_name(t: Term, env: Env) -> tuple[DbVal, str]:
    """``db.table_x(name)`` or ``r.table_x(name)`` (the default database)."""
    if len(t.args) == 2:
        return await db_arg(t, env, 0), await t.arg_str(env, 1)
    return await default_db(env), await t.arg_str(env, 0)


@term(T.TABLE_CREATE)
class TableCreate(AdminTerm):
    async def eval(self, env: Env) -> dict:
        db, name = await db_and_name(self, env)
        ctx = env.ctx
        if db.name == C.SYSTEM_DB:
            raise ReqlOpFailedError("Database `rethinkdb` is special; you can't create new tables in it.", self)
        checked_name("Table", name, self.args[-1])
        pk = as_str(await self.opt_datum(env, "primary_key", "id"), self)
        durability = await self.opt_datum(env, "durability", "hard")
        if durability not in ("hard", "soft"):
            raise ReqlQueryLogicError(f'Durability option `{show(durability)}` unrecognized (options are "hard" and "soft").', self)
        shards, per_tag = await self.check_replication(env)
        dbm = ctx.catalog.require_db(db.name)
        ctx.auth.require(env.ctx.user, "config", dbm.id)
        try:
            if ctx.replication.active:
                ctx.replication.check_placeable(shards, per_tag)
            meta = ctx.admin.create_table(dbm.id, name, primary_key=pk, durability=durability, shards=shards)
            if ctx.replication.active:  # in a cluster: its configuration in etcd, replicas placed
                await ctx.replication.place_new(meta, shards, per_tag)
        except ReqlError as e:
            raise e.at(self)
        return {
            "config_changes": [{"new_val": ctx.catalog.table_config_row(meta), "old_val": None}],
            "tables_created": 1,
        }

    async def check_replication(self, env: Env) -> tuple[int, dict[str, int]]:
        """Validate the sharding and replication optargs; returns the shard
        count and the replicas per server tag."""
        opts = {k: await self.opt_datum(env, k, MISSING) for k in C.REPLICATION_OPTS}
        given = {k: (None if v is MISSING else v) for k, v in opts.items()}
        replication = env.ctx.replication
        try:
            per_tag = C.check_replication(**given, server_tags=replication.server_tags() if replication.active else None)
        except ReqlError as e:
            raise e.at(option_term(self, e))
        return 1 if given["shards"] is None else given["shards"], per_tag


def option_term(t: Term, error: Exception) -> Term:
    """The optarg an error is about (see ``catalog.OptionError``), else ``t``."""
    return t.optargs.get(getattr(error, "option", ""), t)


def show(v: Any) -> str:
    return v if type(v) is str else D.print_datum(v)


@term(T.TABLE_DROP)
class TableDrop(AdminTerm):
    async def eval(self, env: Env) -> dict:
        db, name = await db_and_name(self, env)
        ctx = env.ctx
        if db.name == C.SYSTEM_DB:
            raise ReqlOpFailedError("Database `rethinkdb` is special; you can't drop tables in it.", self)
        checked_name("Table", name, self.args[-1])
        dbm = ctx.catalog.require_db(db.name)
        meta = ctx.catalog.require_table(db.name, dbm.id, name)
        ctx.auth.require(env.ctx.user, "config", dbm.id, meta.id)
        row = ctx.catalog.table_config_row(meta)
        ctx.admin.drop_table(meta.id)
        return {"config_changes": [{"new_val": None, "old_val": row}], "tables_dropped": 1}


@term(T.TABLE_LIST)
class TableList(AdminTerm):
    async def eval(self, env: Env) -> list:
        db = await db_arg(self, env, 0) if self.args else await default_db(env)
        ctx = env.ctx
        if db.name == C.SYSTEM_DB:
            return ctx.system.visible_names()
        dbm = ctx.catalog.require_db(db.name)
        return [t.name for t in ctx.catalog.tables_of(dbm.id)]


@term(T.SYNC)
class Sync(AdminTerm):
    async def eval(self, env: Env) -> dict:
        v = await self.args[0].eval(env)
        table = table_arg(v, self.args[0])
        store = table.stored(lambda: ReqlOpFailedError("Artificial tables don't support `sync()`.", self))
        await store.commit("hard")
        return {"synced": 1}


WAIT_STATES = ("ready_for_outdated_reads", "ready_for_reads", "ready_for_writes", "all_replicas_ready")


@term(T.WAIT)
class Wait(AdminTerm):
    """A single server's tables are always ready: report how many were waited on."""

    async def eval(self, env: Env) -> dict:
        if not self.args:
            raise ReqlQueryLogicError("`wait` can only be called on a table or database.", self)
        wait_for_at = self.optargs.get("wait_for", self)
        wait_for = as_str(await self.opt_datum(env, "wait_for", "all_replicas_ready"), wait_for_at)
        if wait_for not in WAIT_STATES:
            raise ReqlQueryLogicError(
                f"Unknown table readiness state: '{wait_for}', must be one of 'ready_for_outdated_reads', "
                "'ready_for_reads', 'ready_for_writes', or 'all_replicas_ready'",
                wait_for_at,
            )
        timeout = await self.opt_datum(env, "timeout", None)
        if timeout is not None:
            as_num(timeout, self.optargs.get("timeout", self))
        target = await self.args[0].eval(env)
        special = "Database `rethinkdb` is special; the system tables in it are always available and don't need to be waited on."
        if isinstance(target, DbVal):
            if target.name == C.SYSTEM_DB:
                raise ReqlOpFailedError(special, self)
            dbm = env.ctx.catalog.require_db(target.name)
            return {"ready": len(env.ctx.catalog.tables_of(dbm.id))}
        table = table_arg(target, self.args[0])
        table.stored(lambda: ReqlOpFailedError(special, self))
        return {"ready": 1}
