"""``rethinkdb.cluster_config``: cluster-wide settings: ``heartbeat`` (how
long a silent server counts as connected) and, beyond RethinkDB, ``jobs``
(what ``rethinkdb.job_history`` keeps and when a job counts as stalled)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .. import datum as D
from ..jobs.history import HistorySettings, JobHistory
from .base import FormatError, RowChange, RowReader, SystemTable, wrong_format

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..node import Node
    from ..reql.context import QueryContext
    from ..storage import Storage

HEARTBEAT_META = "cluster/heartbeat_timeout_secs"
DEFAULT_HEARTBEAT = 10
# The `jobs` row's fields and the settings they set, with their smallest values.
JOBS_FIELDS = {
    "history_min_query_sec": ("query_min_sec", 0),
    "history_max_rows": ("max_rows", 0),
    "history_max_age_sec": ("max_age_sec", 0),
    "stalled_after_sec": ("stalled_after_sec", 0.1),
}
# Its switches: recording finished jobs, counting documents and tables in query rows.
JOBS_SWITCHES = ("record_history", "live_costs")


class ClusterConfigTable(SystemTable):
    name = "cluster_config"

    def __init__(self, node: "Node", catalog: "Catalog", storage: "Storage", history: JobHistory) -> None:
        super().__init__(node, catalog)
        self.storage = storage
        self.history = history

    def heartbeat(self) -> int | float:
        stored = self.storage.get_meta(HEARTBEAT_META)
        return DEFAULT_HEARTBEAT if stored is None else stored

    def rows(self, ctx: "QueryContext", identifier_format: str) -> list[dict]:
        return [{"heartbeat_timeout_secs": self.heartbeat(), "id": "heartbeat"}, self.jobs_row()]

    def jobs_row(self) -> dict:
        settings = self.history.settings
        row: dict[str, Any] = {"id": "jobs"}
        for name, (attr, _) in JOBS_FIELDS.items():
            row[name] = D.norm_num(getattr(settings, attr))
        for name in JOBS_SWITCHES:
            row[name] = getattr(settings, name)
        return row

    async def write(self, row: RowChange) -> str | None:
        old, new = row.old, row.new
        if old is None:
            return self.no_inserts()
        if new is None:
            return self.no_deletes()
        if row.key == "jobs":
            return self.write_jobs(new)
        try:
            reader = RowReader(new)
            reader.get("id")
            timeout = reader.get("heartbeat_timeout_secs")
            reader.finish()
        except FormatError as e:
            return wrong_format(self.qualified_name, str(e), change=False)
        if not D.is_number(timeout):
            return f"Expected a number; got {D.print_datum(timeout)}"
        if timeout < 2:
            return "The heartbeat timeout must be at least two seconds"
        self.storage.put_meta(HEARTBEAT_META, D.norm_num(timeout))
        return None

    def write_jobs(self, new: dict) -> str | None:
        try:
            reader = RowReader(new)
            reader.get("id")
            values = {name: reader.get(name) for name in (*JOBS_FIELDS, *JOBS_SWITCHES)}
            reader.finish()
        except FormatError as e:
            return wrong_format(self.qualified_name, str(e), change=False)
        changes = jobs_changes(values)
        if isinstance(changes, str):
            return changes
        settings: HistorySettings = replace(self.history.settings, **changes)
        self.history.configure(settings)
        return None


def jobs_changes(values: dict[str, Any]) -> dict[str, Any] | str:
    """The `jobs` row's fields as HistorySettings changes, or the refusal of one."""
    changes: dict[str, Any] = {}
    for name in JOBS_SWITCHES:
        if type(values[name]) is not bool:
            return f"Expected a boolean for `{name}`; got {D.print_datum(values[name])}"
        changes[name] = values[name]
    for name, (attr, least) in JOBS_FIELDS.items():
        value = values[name]
        if not D.is_number(value):
            return f"Expected a number for `{name}`; got {D.print_datum(value)}"
        if value < least:
            return f"`{name}` must be at least {least}"
        changes[attr] = int(value) if attr == "max_rows" else float(value)
    return changes
