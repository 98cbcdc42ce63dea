"""``rethinkdb.job_history`` (beyond RethinkDB): finished jobs, from the job
history (``jobs/history.py``): every background job, and queries that ran
at least the ``jobs`` row's ``history_min_query_sec`` of
``rethinkdb.cluster_config`` (or were killed).

A row: ``id`` (the entry's), ``job`` (the job's ``[type, uuid]`` as it was in
``rethinkdb.jobs``), ``type``, ``outcome`` (``success``, ``error`` or
``killed``), ``error`` (the message, for errors), ``reason`` and ``killed_by``
(``{user, connection}`` when someone killed it) for kills, ``started_at``,
``ended_at``, ``duration_sec``, ``servers`` and the final ``info``.  Non-admin
users see their own queries only; only admins delete rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..auth import ADMIN
from ..datum.times import make_time
from ..jobs.history import ERROR, KILLED, JobHistory
from .base import RowChange, SystemTable

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..node import Node
    from ..reql.context import QueryContext
    from .jobs import JobsTable

ONLY_DELETIONS = "The `rethinkdb.job_history` system table only allows deletions, not inserts or updates."
ADMINS_DELETE = "Only the `admin` user can delete rows of `rethinkdb.job_history`."


class JobHistoryTable(SystemTable):
    name = "job_history"
    noun = "system table"

    def __init__(self, node: "Node", catalog: "Catalog", history: JobHistory, jobs_table: "JobsTable") -> None:
        super().__init__(node, catalog)
        self.history = history
        self.jobs_table = jobs_table  # renders ids in `info` as the jobs table does

    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]:
        return [self.render(e, identifier_format) for e in self.history.entries() if self.visible(ctx, e)]

    def get(self, ctx: "QueryContext", key: Any, identifier_format: str) -> dict | None:
        entry = self.history.get(key) if type(key) is str else None
        if entry is None or not self.visible(ctx, entry):
            return None
        return self.render(entry, identifier_format)

    @staticmethod
    def visible(ctx: "QueryContext", entry: dict) -> bool:
        return ctx.user == ADMIN or (entry["type"] == "query" and entry.get("user") == ctx.user)

    def render(self, entry: dict, fmt: str) -> dict:
        row: dict[str, Any] = {
            "duration_sec": entry["duration_sec"],
            "ended_at": make_time(entry["ended_at"]),
            "id": entry["id"],
            "info": self.info(entry, fmt),
            "job": list(entry["job"]),
            "outcome": entry["outcome"],
            "servers": [self.server_ref_of(s, fmt) or s for s in entry["servers"]],
            "started_at": make_time(entry["started_at"]),
            "type": entry["type"],
        }
        if entry["outcome"] == ERROR:
            row["error"] = entry["message"]
        elif entry["outcome"] == KILLED:
            row["reason"] = entry["message"]
            row["killed_by"] = entry["killed_by"]
        return row

    def info(self, entry: dict, fmt: str) -> dict:
        raw = dict(entry["info"])
        rendered = self.jobs_table.render_info(entry["type"], dict(raw), [], fmt)
        if rendered is None:  # it names a table dropped since: keep the ids
            return raw
        if "progress" in raw:
            rendered["progress"] = raw["progress"]
        return rendered

    async def write(self, row: RowChange) -> str | None:
        if row.new is not None:
            return ONLY_DELETIONS
        if row.ctx.user != ADMIN:
            return ADMINS_DELETE
        if type(row.key) is str:
            self.history.delete(row.key)
        return None
