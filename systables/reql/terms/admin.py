"""Administration terms on tables and databases: config, status, reconfigure,
rebalance and grant (``info`` is in datum_ops, write hooks in write_hooks).

``config()``/``status()`` are selections of the table's (database's) row in
``rethinkdb.table_config``/``table_status`` (``db_config``), so updating them
goes through the system table.  A single server holds one replica of every
table; ``reconfigure`` validates as RethinkDB does and records the shard
count, ``rebalance`` has nothing to move.
"""

from __future__ import annotations

from typing import Any

from ... import catalog as C
from ...auth import (
    ADMIN,
    PermissionsFormatError,
    Scope,
    parse_permissions,
    permissions_datum,
)
from ...datum.errors import ReqlError, ReqlOpFailedError, ReqlQueryLogicError
from ...datum.ql2 import TermType as T
from ..tables import SystemTableVal, TableVal
from ..term import MISSING, Env, Term, as_str, term
from ..values import DbVal, SingleSelection
from .db_table import AdminTerm, option_term, table_arg

SPECIAL_CONFIG = "Database `rethinkdb` is special; you can't configure it."
SPECIAL_TABLE_CONFIG = "Database `rethinkdb` is special; you can't configure the tables in it."
SPECIAL_STATUS = "Database `rethinkdb` is special; the system tables in it don't have meaningful status information."
SPECIAL_REBALANCE = "Database `rethinkdb` is special; you can't rebalance the tables in it."
REPAIR_MODES = ("unsafe_rollback", "unsafe_rollback_or_erase")


def system_table(env: Env, name: str, identifier_format: str = "name") -> TableVal:
    """A system table reached through an admin term (no read check: the term checks)."""
    backend = env.ctx.system.get(name)
    return SystemTableVal(env.ctx, name, backend, identifier_format=identifier_format)


def require(env: Env, perm: str, db_id: str | None = None, table_id: str | None = None, at: Any = None) -> None:
    try:
        env.ctx.auth.require(env.ctx.user, perm, db_id, table_id)
    except ReqlError as e:
        raise e.at(at)


async def table_or_db(t: Term, env: Env, name: str) -> TableVal | DbVal:
    if not t.args:
        raise ReqlQueryLogicError(f"`{name}` can only be called on a table or database.", t)
    v = await t.args[0].eval(env)
    if isinstance(v, DbVal):
        return v
    return table_arg(v, t.args[0])


def db_meta(env: Env, db: DbVal, at: Any) -> Any:
    try:
        return env.ctx.catalog.require_db(db.name)
    except ReqlError as e:
        raise e.at(at)


# ---------------------------------------------------------------------------
# config / status

@term(T.CONFIG)
class Config(AdminTerm):
    async def eval(self, env: Env) -> SingleSelection:
        target = await table_or_db(self, env, "config")
        if isinstance(target, DbVal):
            if target.name == C.SYSTEM_DB:
                raise ReqlOpFailedError(SPECIAL_CONFIG, self)
            db = db_meta(env, target, self)
            require(env, "config", db.id, at=self)
            return selection_of(system_table(env, "db_config"), db.id)
        target.stored(lambda: ReqlOpFailedError(SPECIAL_TABLE_CONFIG, self))
        require(env, "config", target.db_id, target.id, self)
        return selection_of(system_table(env, "table_config"), target.id)


@term(T.STATUS)
class Status(AdminTerm):
    async def eval(self, env: Env) -> SingleSelection:
        table = table_arg(await self.args[0].eval(env), self.args[0])
        table.stored(lambda: ReqlOpFailedError(SPECIAL_STATUS, self))
        return selection_of(system_table(env, "table_status"), table.id)


def selection_of(table: TableVal, key: str) -> SingleSelection:
    return SingleSelection(table, key, table.get(key))


# ---------------------------------------------------------------------------
# reconfigure / rebalance

@term(T.RECONFIGURE)
class Reconfigure(AdminTerm):
    async def eval(self, env: Env) -> dict:
        target = await table_or_db(self, env, "reconfigure")
        if await self.opt_datum(env, "emergency_repair", None) is not None:
            return await self.emergency_repair(env, target)
        if (target.name if isinstance(target, DbVal) else target.db_name) == C.SYSTEM_DB:
            raise ReqlOpFailedError(SPECIAL_TABLE_CONFIG, self)
        shards = await self.required(env, "shards")
        options = {k: await self.opt_datum(env, k, None) for k in ("primary_replica_tag", "nonvoting_replica_tags")}
        replicas = await self.required(env, "replicas")
        replication = env.ctx.replication
        tags = replication.server_tags() if replication.active else None
        try:
            per_tag = C.check_replication(shards=shards, replicas=replicas, **options, server_tags=tags)
        except ReqlError as e:
            raise e.at(option_term(self, e))
        dry_run = await self.opt_datum(env, "dry_run", False)
        dry_run = dry_run is not None and dry_run is not False  # any other value is true, as in RethinkDB
        if replication.active:
            return await self.place(env, self.tables_of(env, target), shards, per_tag, dry_run)
        return self.apply(env, self.tables_of(env, target), shards, dry_run)

    async def place(self, env: Env, tables: list[Any], shards: int, per_tag: dict[str, int], dry_run: bool) -> dict:
        """In a cluster: choose the servers, change the configuration in etcd
        (the replicas' backfills start from there)."""
        catalog = env.ctx.catalog
        config_changes, status_changes = [], []
        for meta in tables:
            old_config, old_status = catalog.table_config_row(meta), catalog.table_status_row(meta)
            try:
                new = await env.ctx.replication.reconfigure(meta.id, shards, per_tag, dry_run)
            except ReqlError as e:
                raise e.at(self)
            if dry_run:
                shards_rows = dict(catalog.table_config_row(meta))
                new_config = shards_rows | {"shards": self.render_shards(env, new.shards)}
            else:
                new_config = catalog.table_config_row(meta)
                status_changes.append({"new_val": catalog.table_status_row(meta), "old_val": old_status})
            config_changes.append({"new_val": new_config, "old_val": old_config})
        return reconfigure_result(config_changes, status_changes, dry_run, len(tables))

    @staticmethod
    def render_shards(env: Env, shards: list[dict]) -> list[dict]:
        ref = lambda sid: env.ctx.node.ref_of(sid, "name") or sid  # noqa: E731
        return [
            {"nonvoting_replicas": [ref(s) for s in shard["nonvoting_replicas"]],
             "primary_replica": ref(shard["primary_replica"]), "replicas": [ref(s) for s in shard["replicas"]]}
            for shard in shards
        ]

    async def required(self, env: Env, name: str) -> Any:
        v = await self.opt_datum(env, name, MISSING)
        if v is MISSING:
            raise ReqlQueryLogicError(f"Missing required argument `{name}`.", self)
        return v

    async def emergency_repair(self, env: Env, target: TableVal | DbVal) -> dict:
        at = self.optargs.get("emergency_repair", self)  # RethinkDB marks the option's value, checked first
        mode = as_str(await self.opt_datum(env, "emergency_repair"), at)
        if mode not in REPAIR_MODES:
            raise ReqlQueryLogicError('`emergency_repair` should be "unsafe_rollback" or "unsafe_rollback_or_erase"', at)
        if isinstance(target, DbVal):
            raise ReqlQueryLogicError(
                "Can't emergency repair an entire database at once; instead you should run "
                "`reconfigure()` on each table individually.",
                self,
            )
        for name in ("shards", "replicas", "primary_replica_tag", "nonvoting_replica_tags"):
            if self.has_opt(env, name):
                raise ReqlQueryLogicError("In emergency repair mode, you can't specify shards, replicas, etc.", self)
        target.stored(lambda: ReqlOpFailedError(SPECIAL_TABLE_CONFIG, self))
        require(env, "config", target.db_id, target.id, self)
        # Every replica of a single server's table is here: nothing to repair.
        raise ReqlOpFailedError("This table doesn't need to be repaired.", self)

    def tables_of(self, env: Env, target: TableVal | DbVal) -> list[Any]:
        catalog = env.ctx.catalog
        if isinstance(target, DbVal):
            db = db_meta(env, target, self)
            require(env, "config", db.id, at=self)
            return catalog.tables_of(db.id)
        require(env, "config", target.db_id, target.id, self)
        return [env.ctx.storage.tables[target.id]]

    def apply(self, env: Env, tables: list[Any], shards: int, dry_run: bool) -> dict:
        catalog = env.ctx.catalog
        config_changes, status_changes = [], []
        for meta in tables:
            old_config, old_status = catalog.table_config_row(meta), catalog.table_status_row(meta)
            if dry_run:
                new_config = dict(old_config, shards=[dict(old_config["shards"][0]) for _ in range(shards)])
            else:
                catalog.set_shard_count(meta.id, shards)
                new_config = catalog.table_config_row(meta)
                status_changes.append({"new_val": catalog.table_status_row(meta), "old_val": old_status})
            config_changes.append({"new_val": new_config, "old_val": old_config})
        return reconfigure_result(config_changes, status_changes, dry_run, len(tables))


@term(T.REBALANCE)
class Rebalance(AdminTerm):
    async def eval(self, env: Env) -> dict:
        target = await table_or_db(self, env, "rebalance")
        ctx = env.ctx
        if isinstance(target, DbVal):
            if target.name == C.SYSTEM_DB:
                raise ReqlOpFailedError(SPECIAL_REBALANCE, self)
            db = db_meta(env, target, self)
            require(env, "config", db.id, at=self)
            tables = ctx.catalog.tables_of(db.id)
        else:
            target.stored(lambda: ReqlOpFailedError(SPECIAL_REBALANCE, self))
            require(env, "config", target.db_id, target.id, self)
            tables = [ctx.storage.tables[target.id]]
        # One store per table: shards are already balanced.  RethinkDB reports
        # a table as rebalanced once it holds enough data to place split points.
        rebalanced = [t for t in tables if ctx.storage.table(t.id).estimate_count() > 0 or ctx.catalog.shard_count(t.id) == 1]
        status = [ctx.catalog.table_status_row(t) for t in rebalanced]
        return {"rebalanced": len(rebalanced), "status_changes": [{"new_val": s, "old_val": s} for s in status]}


# ---------------------------------------------------------------------------
# grant

@term(T.GRANT)
class Grant(AdminTerm):
    async def eval(self, env: Env) -> dict:
        scope, at = await self.scope(env)
        user = await self.arg_str(env, len(self.args) - 2)
        perms = await self.arg_datum(env, len(self.args) - 1)
        require(env, "config", *scope, at=self)  # type: ignore[arg-type]
        auth = env.ctx.auth
        if user == ADMIN:
            raise ReqlOpFailedError("The permissions of the user `admin` can't be modified.", self)
        if not auth.exists(user):
            raise ReqlOpFailedError(f"User `{user}` not found.", self)
        try:
            changes = parse_permissions(perms, global_scope=not scope)
        except PermissionsFormatError as e:
            raise ReqlOpFailedError(str(e), self)
        old, new = auth.update_grants(user, scope, changes)
        return {
            "granted": 1,
            "permissions_changes": [{"new_val": permissions_datum(new), "old_val": permissions_datum(old)}],
        }

    async def scope(self, env: Env) -> tuple[Scope, Any]:
        if len(self.args) == 2:
            return (), self
        target = await self.args[0].eval(env)
        if isinstance(target, DbVal):
            if target.name == C.SYSTEM_DB:
                return (C.SYSTEM_DB_ID,), self
            return (db_meta(env, target, self).id,), self
        table = table_arg(target, self.args[0])
        return (table.db_id, table.id), self


def reconfigure_result(config_changes: list, status_changes: list, dry_run: bool, tables: int) -> dict:
    """RethinkDB's answer to ``reconfigure``: a dry run changes nothing, so it
    reports no table reconfigured and no status change."""
    result: dict[str, Any] = {"config_changes": config_changes, "reconfigured": 0 if dry_run else tables}
    if not dry_run:
        result["status_changes"] = status_changes
    return result
