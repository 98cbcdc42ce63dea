"""``rethinkdb.current_issues``: problems needing an operator (read-only).

The issues RethinkDB reports here are cluster conditions (server, database
or table name collisions, unreachable replicas, outdated indexes, log write
failures).  What can arise here so far: several connected servers with one
name (``server_name_collision``, in RethinkDB's words and shape).  Beyond
RethinkDB, a background job whose progress has not moved for the ``jobs``
row's ``stalled_after_sec`` of ``rethinkdb.cluster_config`` is an issue of
type ``job_stalled``, in RethinkDB's shape (``id``, ``type``, ``critical``,
``info``, ``description``), for as long as it stays stalled.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Callable

from .base import SystemTable

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..cluster import Cluster
    from ..jobs.registry import JobRegistry
    from ..node import Node
    from ..reql.context import QueryContext
    from .jobs import JobsTable

JOB_STALLED = "job_stalled"
# Issue ids derive from the job's (uuid5), so an issue keeps its id while it lasts.
JOB_STALLED_NS = uuid.UUID("0b7f6a52-8a4e-4a43-9d0e-3f2f5c9a7e61")

# Issue ids are derived from what the issue is about, so that a row keeps its
# id while the issue lasts (RethinkDB does the same with its own namespaces).
SERVER_NAME_COLLISION_NS = uuid.UUID("5a9d1f3e-8c2b-4e57-9a61-3f0c7b2d4e18")


class CurrentIssuesTable(SystemTable):
    name = "current_issues"

    def __init__(self, node: "Node", catalog: "Catalog", cluster: "Cluster", jobs: "JobRegistry",
                 jobs_table: "JobsTable", stalled_after: Callable[[], float]) -> None:
        super().__init__(node, catalog)
        self.cluster = cluster
        self.jobs = jobs
        self.jobs_table = jobs_table  # renders the stalled job's row
        self.stalled_after = stalled_after

    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]:
        return self.server_name_collisions() + self.stalled_jobs(identifier_format)

    def server_name_collisions(self) -> list[dict]:
        by_name: dict[str, list[str]] = {self.node.name: [self.node.server_id]}
        for server_id, name in self.node.peers.items():
            by_name.setdefault(name, []).append(server_id)
        return [server_name_collision(name, ids) for name, ids in sorted(by_name.items()) if len(ids) > 1]

    def stalled_jobs(self, identifier_format: str) -> list[dict]:
        rows = []
        for reports in self.jobs.groups():
            if any(j.stalled for j in reports):
                job_row = self.jobs_table.render(reports, identifier_format, 0.0)
                if job_row is not None:
                    rows.append(self.stalled_issue(job_row))
        return rows

    def stalled_issue(self, job_row: dict) -> dict:
        job_type, job_id = job_row["id"]
        info = job_row["info"]
        what = f" (index `{info['index']}` on table `{info['db']}.{info['table']}`)" if "index" in info else ""
        return {
            "critical": False,
            "description": (
                f"The `{job_type}` job `{job_id}`{what} has made no progress for at least "
                f"{self.stalled_after():g} seconds; its progress is {info.get('progress', 0):g}."
            ),
            "id": str(uuid.uuid5(JOB_STALLED_NS, f"{job_type}/{job_id}")),
            "info": {
                "job": [job_type, job_id],
                "servers": job_row["servers"],
                **{k: info[k] for k in ("db", "table", "index", "progress") if k in info},
            },
            "type": JOB_STALLED,
        }


def server_name_collision(name: str, ids: list[str]) -> dict:
    return {
        "critical": True,
        "description": (
            f"There are multiple servers named `{name}`. RethinkDB requires that every server have a unique "
            "name. Please update the `name` field of the conflicting servers' documents in the "
            "`rethinkdb.server_config` system table.\n\nThe UUIDs of the conflicting servers are as follows: "
            + ", ".join(ids)
        ),
        "id": str(uuid.uuid5(SERVER_NAME_COLLISION_NS, name)),
        "info": {"ids": ids, "name": name},
        "type": "server_name_collision",
    }
