"""The job registry: every piece of work running on this server, reported by
the subsystem doing it (query pipeline, compactor, index builder, backfiller).

Background work reports itself with ``add``/``remove``.  Queries are not
pushed: the query pipeline is a *source* (``add_source``) the registry asks
at read time, so a query costs nothing here unless someone looks.  The
``rethinkdb.jobs`` table only reads this registry; nothing here is stored.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable, Iterator, Protocol

from .counters import RateCounter
from .history import Outcome

# Namespaces RethinkDB uses to derive stable job ids (uuid5).
DISK_COMPACTION_NS = uuid.UUID("b8766ece-d15c-4f96-bee5-c0edacf10c9c")
INDEX_CONSTRUCTION_NS = uuid.UUID("74d855a5-0c40-4930-a451-d1ce508ef2d2")
BACKFILL_NS = uuid.UUID("a5e1b38d-c712-42d7-ab4c-f177a3fb0d20")


def disk_compaction_id(server_id: str) -> str:
    return str(uuid.uuid5(DISK_COMPACTION_NS, server_id))


def index_construction_id(table_id: str, index: str) -> str:
    return str(uuid.uuid5(INDEX_CONSTRUCTION_NS, table_id + index))


def backfill_id(destination_server: str, table_id: str, source_server: str) -> str:
    return str(uuid.uuid5(BACKFILL_NS, destination_server + table_id + source_server))


class JobNotInterruptible(Exception):
    pass


@dataclass(eq=False)
class Job:
    """One running job (or one server's/shard's report of it).

    ``info`` returns the type-specific ``info`` object with ids, which the jobs
    table renders as names or uuids (``identifier_format``):

    * query: ``client_address``, ``client_port``, ``query``, ``user``
      (rendered as is);
    * index_construction: ``db`` and ``table`` (ids), ``index`` (name);
    * backfill: ``db``, ``table``, ``source_server``, ``destination_server`` (ids);
    * disk_compaction: ``{}``.

    ``progress`` is 0..1 for index construction and backfill.  ``on_kill``
    interrupts the job (query jobs) on behalf of a user and connection, and
    ``ended`` waits until it has stopped; ``on_update`` applies a row update,
    returning an error message or None.  ``stalled`` is set by the stall
    watcher while the job's progress does not move.
    """

    type: str
    id: str
    start_time: float = field(default_factory=time.time)
    user: str | None = None  # owner, for query jobs
    server_ids: list[str] = field(default_factory=list)
    info: Callable[[], dict[str, Any]] = dict
    progress: Callable[[], float] | None = None
    duration_known: bool = True
    on_kill: Callable[[str, str | None], None] | None = None
    ended: Callable[[], Awaitable[None]] | None = None
    on_update: Callable[[dict[str, Any]], str | None] | None = None
    cancelled: bool = False
    stalled: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.type, self.id)

    def duration_sec(self, now: float | None = None) -> float | None:
        if not self.duration_known:
            return None
        return max(0.0, (now if now is not None else time.time()) - self.start_time)


class JobSource(Protocol):
    """A subsystem whose jobs are read from it when the registry is read."""

    def jobs(self) -> Iterable[Job]: ...

    def find(self, job_id: str) -> Job | None: ...


class JobRegistry:
    """Running jobs by ``(type, id)``.

    Several reports may share one key (e.g. one per shard of an index being
    built, or per server in a cluster); the jobs table merges them into one row.
    """

    def __init__(self) -> None:
        self._jobs: dict[tuple[str, str], list[Job]] = {}
        self._sources: dict[str, JobSource] = {}  # job type -> where its jobs live
        self.queries_started = RateCounter()
        # Called when a job starts or ends (changefeeds on `rethinkdb.jobs` follow them).
        self.on_change: list[Callable[[], None]] = []
        # Called with a background job that ended and how (the job history).
        self.on_finished: list[Callable[[Job, Outcome], None]] = []

    def changed(self) -> None:
        for listener in self.on_change:
            listener()

    def add_source(self, job_type: str, source: JobSource) -> None:
        self._sources[job_type] = source

    def add(self, job: Job) -> Job:
        self._jobs.setdefault(job.key, []).append(job)
        self.changed()
        return job

    def remove(self, job: Job, outcome: Outcome | None = None) -> None:
        """The job ended (``outcome`` says how; None when it is only
        re-registered, e.g. under a new name, and has not ended)."""
        reports = self._jobs.get(job.key)
        if reports is None or not any(report is job for report in reports):
            return
        reports.remove(job)
        if not reports:
            del self._jobs[job.key]
        if outcome is not None:
            for listener in self.on_finished:
                listener(job, outcome)
        self.changed()

    def background(self) -> Iterator[Job]:
        """Every report of a job that is not a query (those come from sources)."""
        for reports in list(self._jobs.values()):
            yield from [j for j in reports if not j.cancelled]

    def reports(self, job_type: str, job_id: str) -> list[Job]:
        """Every live report of one job (empty when there is none)."""
        source = self._sources.get(job_type)
        if source is not None:
            job = source.find(job_id)
            return [job] if job is not None else []
        return [j for j in self._jobs.get((job_type, job_id), ()) if not j.cancelled]

    def get(self, job_type: str, job_id: str) -> Job | None:
        reports = self.reports(job_type, job_id)
        return reports[0] if reports else None

    def groups(self) -> Iterator[list[Job]]:
        """The live reports of each job, one list per ``(type, id)``."""
        for source in list(self._sources.values()):
            for job in list(source.jobs()):
                yield [job]
        for reports in list(self._jobs.values()):
            live = [j for j in reports if not j.cancelled]
            if live:
                yield live

    def __iter__(self) -> Iterator[Job]:
        return iter([job for reports in self.groups() for job in reports])

    def __len__(self) -> int:
        return sum(1 for _ in self.groups())

    async def kill(self, job_type: str, job_id: str, by_user: str, is_admin: bool,
                   by_connection: str | None = None) -> bool:
        """Interrupt a job on behalf of ``by_user`` (on connection
        ``by_connection``) and wait until it has stopped, so that a kill
        reported done did happen.

        Returns whether a job was interrupted.  Raises JobNotInterruptible for
        job types that cannot be killed.  Unknown ids and other users' jobs
        (for non-admins) are silently ignored.
        """
        if job_type != "query":
            raise JobNotInterruptible(f"Jobs of type `{job_type}` cannot be interrupted.")
        victims = [
            job for job in self.reports(job_type, job_id)
            if job.on_kill is not None and (is_admin or job.user == by_user)
        ]
        for job in victims:
            job.on_kill(by_user, by_connection)  # type: ignore[misc]
        for job in victims:
            if job.ended is not None:
                await job.ended()
        return bool(victims)
