"""The history of finished jobs (``rethinkdb.job_history``, beyond RethinkDB:
the slow-query log its users asked for, #2238).

Every background job that finishes, and every query that ran for at least
``query_min_sec`` (or was killed), is recorded here by the subsystem that
ran it, with how it ended.  Entries are persisted (one metadata record
each, keyed by end time) and kept for a retention: at most ``max_rows``
entries, none older than ``max_age_sec``.  The settings are the ``jobs`` row
of ``rethinkdb.cluster_config``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, fields
from typing import Any, Callable, Iterator, Protocol

from ..datum.uuids import random_uuid

HISTORY_PREFIX = "jobhist/"
SETTINGS_KEY = "jobs/settings"

SUCCESS, ERROR, KILLED = "success", "error", "killed"


@dataclass(frozen=True)
class Outcome:
    """How a job ended: ``kind`` is success, error (``message`` says which) or
    killed (``message`` says why; ``killed_by`` names the user and connection
    that killed it, when one did).  ``forced`` marks a kill someone or
    something asked for (a deleted row, a time limit): such a query is
    recorded whatever its duration."""

    kind: str
    message: str | None = None
    killed_by: dict | None = None
    forced: bool = False


@dataclass
class HistorySettings:
    query_min_sec: float = 1.0  # shorter queries are not recorded (unless killed)
    max_rows: int = 10_000
    max_age_sec: float = 7 * 86400.0
    stalled_after_sec: float = 60.0  # a background job without progress this long is stalled
    # Off: nothing is recorded (what is kept stays readable) / query rows count
    # no documents or tables; for who would rather not pay for them.
    record_history: bool = True
    live_costs: bool = True


class MetaStore(Protocol):
    """The storage engine's metadata records (entries are written ``hard=False``:
    recording a finished job must not make the next answer wait for an fsync)."""

    def put_meta(self, key: str, value: Any, *, hard: bool = True) -> None: ...

    def get_meta(self, key: str) -> Any: ...

    def delete_meta(self, key: str, *, hard: bool = True) -> None: ...

    def iter_meta(self, prefix: str) -> Iterator[tuple[str, Any]]: ...


class JobHistory:
    def __init__(self, store: MetaStore) -> None:
        self._store = store
        stored = store.get_meta(SETTINGS_KEY) or {}
        known = {f.name for f in fields(HistorySettings)}
        self.settings = HistorySettings(**{k: v for k, v in stored.items() if k in known})
        self._entries: OrderedDict[str, dict] = OrderedDict()  # meta key -> entry, oldest first
        self._by_id: dict[str, str] = {}  # entry id -> meta key
        for key, entry in sorted(store.iter_meta(HISTORY_PREFIX)):
            self._remember(key, entry)
        self.on_change: list[Callable[[], None]] = []

    # -- recording -----------------------------------------------------------------
    def wants_query(self, duration: float, outcome: Outcome) -> bool:
        return self.settings.record_history and (outcome.forced or duration >= self.settings.query_min_sec)

    def record(
        self, job_type: str, job_id: str, *, started_at: float, outcome: Outcome, info: dict,
        servers: list[str], user: str | None = None, ended_at: float | None = None,
    ) -> dict:
        ended = time.time() if ended_at is None else ended_at
        entry = {
            "id": random_uuid(),
            "job": [job_type, job_id],
            "type": job_type,
            "outcome": outcome.kind,
            "message": outcome.message,
            "killed_by": outcome.killed_by,
            "started_at": started_at,
            "ended_at": ended,
            "duration_sec": max(0.0, ended - started_at),
            "info": info,
            "servers": servers,
            "user": user,
        }
        key = f"{HISTORY_PREFIX}{int(ended * 1_000_000):017d}/{entry['id']}"
        self._store.put_meta(key, entry, hard=False)
        self._remember(key, entry)
        self.trim(ended)
        self._changed()
        return entry

    def record_job(self, job: Any, outcome: Outcome) -> None:
        """A background job of the registry finished (its ``on_finished``).
        RocksDB's own compactions come and go by the dozen under writes: like
        queries, the short ones are not recorded."""
        if not self.settings.record_history:
            return
        if job.type == "disk_compaction" and time.time() - job.start_time < self.settings.query_min_sec:
            return
        info = dict(job.info())
        if job.progress is not None:
            info["progress"] = 1.0 if outcome.kind == SUCCESS else min(1.0, max(0.0, float(job.progress())))
        info.pop("eta_sec", None)  # nothing remains
        if "phase" in info:
            info["phase"] = "done" if outcome.kind == SUCCESS else "stopped"
        self.record(job.type, job.id, started_at=job.start_time, outcome=outcome, info=info,
                    servers=list(job.server_ids), user=job.user)

    def _remember(self, key: str, entry: dict) -> None:
        self._entries[key] = entry
        self._by_id[entry["id"]] = key

    # -- reading and deleting --------------------------------------------------------
    def entries(self) -> list[dict]:
        self.trim(time.time())
        return list(self._entries.values())

    def get(self, entry_id: str) -> dict | None:
        key = self._by_id.get(entry_id)
        return None if key is None else self._entries.get(key)

    def delete(self, entry_id: str) -> bool:
        key = self._by_id.pop(entry_id, None)
        if key is None:
            return False
        self._entries.pop(key, None)
        self._store.delete_meta(key, hard=False)
        self._changed()
        return True

    # -- retention and settings --------------------------------------------------------
    def trim(self, now: float) -> None:
        """Drop the oldest entries beyond ``max_rows`` or ``max_age_sec``."""
        s = self.settings
        while self._entries:
            key, oldest = next(iter(self._entries.items()))
            if len(self._entries) <= s.max_rows and oldest["ended_at"] >= now - s.max_age_sec:
                return
            self._entries.popitem(last=False)
            self._by_id.pop(oldest["id"], None)
            self._store.delete_meta(key, hard=False)

    def configure(self, settings: HistorySettings) -> None:
        self.settings = settings
        self._store.put_meta(SETTINGS_KEY, asdict(settings))
        self.trim(time.time())
        self._changed()

    def _changed(self) -> None:
        for listener in self.on_change:
            listener()
