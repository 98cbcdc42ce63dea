"""``rethinkdb.jobs``: every running job, generated live from the job registry.

Rows are built at read time: ``duration_sec`` is measured then, names are
resolved then (``identifier_format``), and reports of one job are merged
(servers united, longest duration, progress = sum of fractions / number of
unfinished reports).  Non-admin users only see their own queries.

Deleting a ``query`` row interrupts that query and answers once it has stopped; the
victim fails with "Query terminated by the `rethinkdb.jobs` table.".
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..auth import ADMIN
from ..jobs.registry import Job, JobNotInterruptible
from .. import datum as D
from .base import RowChange, SystemTable

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..jobs.registry import JobRegistry
    from ..logbook import LogBook
    from ..node import Node
    from ..reql.context import QueryContext
    from ..storage import Storage

ONLY_DELETIONS = "The `rethinkdb.jobs` system table only allows deletions, not inserts or updates."


class JobsTable(SystemTable):
    name = "jobs"
    moving_fields = ("duration_sec", "info.progress", "info.eta_sec")

    def __init__(
        self, node: "Node", catalog: "Catalog", jobs: "JobRegistry", storage: "Storage", log: "LogBook"
    ) -> None:
        super().__init__(node, catalog)
        self.jobs = jobs
        self.storage = storage
        self.log = log

    # -- reads -----------------------------------------------------------------
    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]:
        now = time.time()
        rows = []
        for reports in self.jobs.groups():
            if not self.visible(ctx, reports[0]):
                continue
            row = self.render(reports, identifier_format, now)
            if row is not None:
                rows.append(row)
        return rows

    def get(self, ctx: "QueryContext", key: Any, identifier_format: str) -> dict | None:
        parsed = parse_key(key)
        if parsed is None:
            return None
        reports = self.jobs.reports(*parsed)
        if not reports or not self.visible(ctx, reports[0]):
            return None
        return self.render(reports, identifier_format, time.time())

    @staticmethod
    def visible(ctx: "QueryContext", job: Job) -> bool:
        if ctx.user == ADMIN:
            return True
        return job.type == "query" and job.user == ctx.user

    def render(self, reports: list[Job], fmt: str, now: float) -> dict | None:
        first = reports[0]
        servers = self.servers(reports, fmt)
        if not servers:
            return None
        info = self.info(reports, fmt)
        if info is None:
            return None
        return {
            "duration_sec": merged_duration(reports, now),
            "id": [first.type, first.id],
            "info": info,
            "servers": servers,
            "type": first.type,
        }

    def servers(self, reports: list[Job], fmt: str) -> list[str]:
        ids = sorted({sid for job in reports for sid in job.server_ids})
        rendered = [self.server_ref_of(sid, fmt) for sid in ids]
        return [s for s in rendered if s is not None]

    def info(self, reports: list[Job], fmt: str) -> dict | None:
        first = reports[0]
        try:
            raw = dict(first.info())
        except Exception as e:  # a reporter's bug must not take the whole table down
            self.log.log_exception(e)
            return None
        if any(j.stalled for j in reports):  # the stall watcher's verdict (beyond RethinkDB)
            raw["phase"] = "stalled"
        return self.render_info(first.type, raw, reports, fmt)

    def render_info(self, job_type: str, raw: dict, reports: list[Job], fmt: str) -> dict | None:
        """A job's ``info`` with ids rendered (``identifier_format``); None
        when it names what no longer exists.  Also renders job_history's."""
        if job_type == "index_construction":
            return self.table_info(raw, reports, fmt)
        if job_type == "backfill":
            info = self.table_info(raw, reports, fmt)
            if info is None:
                return None
            for side in ("source_server", "destination_server"):
                rendered = self.server_ref_of(raw.get(side, ""), fmt)
                if rendered is None:
                    return None  # a server that cannot be named: the row is dropped
                info[side] = rendered
            return info
        return raw

    def table_info(self, raw: dict, reports: list[Job], fmt: str) -> dict | None:
        meta = self.storage.tables.get(raw.get("table"))
        if meta is None:
            return None  # the table was dropped meanwhile
        info = dict(raw)
        info["db"] = self.db_ref(meta.db_id, fmt)
        info["table"] = meta.id if fmt == "uuid" else meta.name
        info["progress"] = merged_progress(reports)
        return info

    # -- writes ----------------------------------------------------------------
    async def write(self, row: RowChange) -> str | None:
        ctx, key, new = row.ctx, row.key, row.new
        if new is not None:
            return self.update(key, new, ctx)
        parsed = parse_key(key)
        if parsed is None:
            return None  # RethinkDB accepts deleting a malformed key (nothing happens)
        try:
            await self.jobs.kill(parsed[0], parsed[1], ctx.user, ctx.user == ADMIN, ctx.connection_id)
        except JobNotInterruptible as e:
            return str(e)
        return None

    def update(self, key: Any, new: dict, ctx: "QueryContext") -> str | None:
        """Jobs that accept control (``on_update``) take it; others refuse.
        Controlling a job takes the rights of what it does: pausing or slowing
        an index build is configuring its table (ReqlPermissionError without)."""
        parsed = parse_key(key)
        reports = self.jobs.reports(*parsed) if parsed is not None else []
        if not reports or any(j.on_update is None for j in reports):
            return ONLY_DELETIONS
        for job in reports:
            self.require_config(ctx, job.info().get("table"))
        for job in reports:
            error = job.on_update(new)  # type: ignore[misc]
            if error is not None:
                return error
        return None


    def require_config(self, ctx: "QueryContext", table_id: Any) -> None:
        meta = self.storage.tables.get(table_id) if type(table_id) is str else None
        if meta is None:  # no table to name (dropped meanwhile): only a global grant covers it
            ctx.auth.require(ctx.user, "config")
        else:
            ctx.auth.require(ctx.user, "config", meta.db_id, meta.id)


def parse_key(key: Any) -> tuple[str, str] | None:
    """``[type, uuid]``, or None when the key cannot name a job."""
    if type(key) is not list or len(key) != 2:
        return None
    job_type, job_id = key
    if type(job_type) is not str or type(job_id) is not str:
        return None
    return job_type, job_id


def merged_duration(reports: list[Job], now: float) -> float | None:
    durations = [j.duration_sec(now) for j in reports]
    known = [d for d in durations if d is not None]
    if not known:
        return None
    return D.norm_num(max(known))


def merged_progress(reports: list[Job]) -> float:
    """Each unfinished report counts its fraction once (RethinkDB's merge)."""
    fractions = [min(1.0, max(0.0, float(j.progress()))) for j in reports if j.progress is not None]
    if not fractions:
        return 0
    return D.norm_num(sum(fractions) / len(fractions))

