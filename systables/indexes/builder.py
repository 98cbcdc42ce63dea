"""Background construction of secondary indexes.

``index_create`` only registers an index (the storage engine keeps its
entries up to date on every write from then on); an ``IndexBuild`` then walks
the table in chunks, marks the index ready, and reports itself as an
``index_construction`` job meanwhile, with operator controls (pause,
priority) through its jobs row.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import trio

from .. import datum as D
from ..jobs.history import ERROR, KILLED, SUCCESS, Outcome
from ..jobs.registry import Job, JobRegistry, index_construction_id
from ..storage import IndexMeta, StorageError, TableStore
from ..timeslice import SLICE_SECONDS

if TYPE_CHECKING:
    from ..logbook import LogBook
    from ..storage import Storage

# Pacing.  A build processes the table in chunks; each chunk is one
# synchronous storage call (read documents, write their entries), so no write
# interleaves with it and concurrent writes keep every entry right by
# themselves.  Three demands shape the chunks:
#
# * No query may wait long: a chunk is sized from the measured cost per row to
#   take about STEP_BUDGET (one time slice, 1 ms), and only one chunk runs at a time server-wide
#   (``IndexBuilds.turn``), so a query waits at most about one chunk.
# * Large builds must be fast: between chunks a normal-priority build only
#   yields (a checkpoint, no sleep), so when nothing else wants the CPU it
#   runs chunk after chunk (about 250k documents per CPU-second).  When
#   queries arrived during a chunk, other tasks are ready to run or worker
#   threads are busy (an fsync), it then sleeps as long as the chunk took:
#   a query needs several scheduling rounds, and a build that only yielded
#   would put a chunk in each of them; sleeping leaves the loop to queries
#   and caps the build at half the server while it is in use.
# * Progress must be worth watching: it advances in at least MIN_STEPS steps
#   (a chunk is at most a MIN_STEPS-th of the table).
#
# Low priority uses smaller chunks and sleeps LOW_PRIORITY_GAP times as long
# as each chunk took, so a build takes at most ~10% of the server.  A paused
# build does nothing until resumed.  Progress is documents indexed / documents
# in the table, never decreasing, and below 1 until the index is ready.

STEP_BUDGET = SLICE_SECONDS
LOW_PRIORITY_BUDGET = 0.001
LOW_PRIORITY_GAP = 9.0
BUSY_GAP = 1.0
MIN_STEPS = 20
FIRST_CHUNK_ROWS = 16  # before the cost per row is known (index functions can be slow)
MAX_CHUNK_ROWS = 20_000
PROGRESS_CAP = 0.999
GONE_CHECK_SECONDS = 1.0  # how often a paused build checks its table still exists
RETRY_SECONDS = 1.0  # before index_wait restarts a build that failed
PRIORITIES = ("normal", "low")
CONTROL_FIELDS = ("paused", "priority")
ROW_FIELDS = ("duration_sec", "id", "info", "servers", "type")
DROPPED = "The index or its table was dropped."
BAD_UPDATE = (
    "Index construction jobs accept updates of `paused` (true or false) and "
    '`priority` ("normal" or "low") only.'
)


class IndexBuild:
    """One index being built: position, pacing, operator controls, job row."""

    def __init__(self, builds: "IndexBuilds", store: TableStore, meta: IndexMeta) -> None:
        self.builds = builds
        self.store = store
        self.meta = meta  # the same object across renames
        self.table_id = store.meta.id
        self.done = trio.Event()  # set when ready, dropped or stopped
        self.cancel_scope = trio.CancelScope()
        self._resumed = trio.Event()
        self._rows_done = 0
        self._run_rows = 0  # indexed since this process started the build
        self._row_cost: float | None = None  # seconds per row, smoothed
        self._progress = meta.progress
        self._started = time.monotonic()
        self._paused_seconds = 0.0
        self._paused_since: float | None = None
        self._queries_seen = 0
        self.job = self._new_job(time.time())

    # -- identity ------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.meta.name

    def gone(self) -> bool:
        return self.store.dropped or self.store.meta.indexes.get(self.meta.name) is not self.meta

    # -- the job row -----------------------------------------------------------
    def _new_job(self, start_time: float) -> Job:
        return Job(
            type="index_construction",
            id=index_construction_id(self.table_id, self.name),
            start_time=start_time,
            server_ids=[self.builds.server_id],
            info=self.info,
            progress=self.progress,
            on_update=self.on_update,
        )

    def rename_job(self) -> None:
        """The job id derives from the index name: re-register under the new one."""
        jobs = self.builds.jobs
        jobs.remove(self.job)
        self.job = self._new_job(self.job.start_time)
        if not self.done.is_set():
            jobs.add(self.job)

    def info(self) -> dict[str, Any]:
        return {
            "db": self.store.meta.db_id,
            "table": self.table_id,
            "index": self.name,
            "phase": "paused" if self.meta.paused else "building",
            "priority": self.meta.priority,
            "eta_sec": self.eta_sec(),
        }

    def progress(self) -> float:
        return D.norm_num(self._progress)

    def eta_sec(self) -> float | None:
        """Remaining documents at the rate measured so far (unknown while paused)."""
        active = self._active_seconds()
        if self.meta.paused or self._run_rows == 0 or active <= 0:
            return None
        remaining = max(0, self.store.count() - self._rows_done) if not self.store.dropped else 0
        return D.norm_num(round(remaining * active / self._run_rows, 3))

    def _active_seconds(self) -> float:
        paused = self._paused_seconds
        if self._paused_since is not None:
            paused += time.monotonic() - self._paused_since
        return time.monotonic() - self._started - paused

    def on_update(self, row: dict) -> str | None:
        """``update({paused: bool})`` / ``update({priority: "low" | "normal"})`` on the row."""
        if type(row) is not dict or any(k not in ROW_FIELDS and k not in CONTROL_FIELDS for k in row):
            return BAD_UPDATE
        paused, priority = row.get("paused", self.meta.paused), row.get("priority", self.meta.priority)
        if type(paused) is not bool or priority not in PRIORITIES:
            return BAD_UPDATE
        if "paused" not in row and "priority" not in row:
            return BAD_UPDATE
        self.control(paused=paused, priority=priority)
        return None

    def control(self, *, paused: bool, priority: str) -> None:
        if self.gone():
            return
        self.store.set_index_control(self.name, paused=paused, priority=priority)
        if not paused:
            self._resumed.set()

    # -- the build -------------------------------------------------------------
    async def run(self) -> None:
        outcome: Outcome | None = None  # none when stopped by a shutdown: it resumes after the restart
        try:
            with self.cancel_scope:
                await self._build()
            outcome = Outcome(SUCCESS) if self.meta.ready else None
        except StorageError:
            pass  # the table or the index was dropped meanwhile
        except Exception as e:  # a bug: the index stays not ready, the server keeps serving
            self.builds.log.log_exception(e)
            outcome = Outcome(ERROR, f"Unexpected exception: {e!r}")
        finally:
            if outcome is None and self.gone():
                outcome = Outcome(KILLED, DROPPED)
            self.builds.jobs.remove(self.job, outcome)
            self.done.set()
            self.builds.forget(self)

    async def _build(self) -> None:
        # Start once the index is durable, sharing the fsync its creator waits
        # on: chunks written before it would only make that fsync longer.
        await self.builds.storage.sync_metadata()
        after = self.meta.build_after
        if after is not None:  # resumed after a restart
            self._rows_done = round(self._progress * self.store.count())
        while not self.gone():
            await self._wait_while_paused()
            if self.gone():
                return
            rows = self._chunk_rows()
            async with self.builds.turn:
                if self.gone():
                    return
                started = time.perf_counter()
                after, n = self.store.index_build_chunk(self.name, after, rows, self._next_progress(rows))
                work = time.perf_counter() - started
            self._account(n, work)
            if after is None:
                self.store.set_index_ready(self.name, True)
                return
            await self._pause_between_chunks(work)

    def _chunk_rows(self) -> int:
        """Rows for the next chunk: about a budget's worth of work, and at most
        a MIN_STEPS-th of the table."""
        budget = LOW_PRIORITY_BUDGET if self.meta.priority == "low" else STEP_BUDGET
        by_cost = FIRST_CHUNK_ROWS if self._row_cost is None else int(budget / max(self._row_cost, 1e-7))
        by_steps = math.ceil(self.store.count() / MIN_STEPS) or by_cost
        return max(1, min(by_cost, by_steps, MAX_CHUNK_ROWS))

    def _next_progress(self, rows: int) -> float:
        """Progress once this chunk is written, if it is a full one (else the
        build is finishing and the index becomes ready)."""
        return self._progress_for(self._rows_done + rows)

    def _progress_for(self, rows_done: int) -> float:
        fraction = rows_done / max(1, self.store.count())
        return max(self._progress, min(PROGRESS_CAP, fraction))

    def _account(self, n: int, work: float) -> None:
        self._rows_done += n
        self._run_rows += n
        self._progress = self._progress_for(self._rows_done)
        if n:
            cost = work / n
            self._row_cost = cost if self._row_cost is None else 0.7 * self._row_cost + 0.3 * cost

    async def _pause_between_chunks(self, work: float) -> None:
        gap = 0.0
        if self.meta.priority == "low":
            gap = max(gap, work * LOW_PRIORITY_GAP)
        elif self._server_in_use():
            gap = max(gap, work * BUSY_GAP)
        if gap > 0:
            await trio.sleep(gap)
        else:
            await trio.lowlevel.checkpoint()

    def _server_in_use(self) -> bool:
        """Whether queries started since the previous chunk, other tasks wait
        to run, or worker threads work for someone (an fsync a query waits
        on): the server is in use.  A build that only yielded would take a
        chunk's time from each scheduling round such a query still needs, and
        would hold the GIL a thread needs to finish (the loop never idles)."""
        started = self.builds.jobs.queries_started.total
        arrived = started != self._queries_seen
        self._queries_seen = started
        loop = trio.lowlevel.current_statistics()
        threads = trio.to_thread.current_default_thread_limiter().statistics().borrowed_tokens
        return arrived or threads > 0 or loop.tasks_runnable > 0 or loop.run_sync_soon_queue_size > 0

    async def _wait_while_paused(self) -> None:
        if not self.meta.paused:
            return
        self._paused_since = time.monotonic()
        try:
            while self.meta.paused and not self.gone():
                self._resumed = trio.Event()
                with trio.move_on_after(GONE_CHECK_SECONDS):
                    await self._resumed.wait()
        finally:
            self._paused_seconds += time.monotonic() - self._paused_since
            self._paused_since = None


class IndexBuilds:
    """Every build on this server, keyed by the index's keyspace (never reused)."""

    def __init__(self, storage: "Storage", jobs: JobRegistry, log: "LogBook") -> None:
        self.storage = storage
        self.jobs = jobs
        self.log = log
        self.server_id = storage.server_id
        self.turn = trio.Lock()  # one chunk at a time, server-wide
        self._builds: dict[int, IndexBuild] = {}
        self._nursery: trio.Nursery | None = None
        self._pending: list[IndexBuild] = []

    def start(self, store: TableStore, meta: IndexMeta) -> IndexBuild:
        build = self._builds.get(meta.keyspace)
        if build is not None:
            return build
        build = self._builds[meta.keyspace] = IndexBuild(self, store, meta)
        self.jobs.add(build.job)  # visible from the moment index_create returns
        if self._nursery is None:
            self._pending.append(build)
        else:
            self._nursery.start_soon(build.run)
        return build

    def get(self, meta: IndexMeta) -> IndexBuild | None:
        return self._builds.get(meta.keyspace)

    def stop(self, meta: IndexMeta) -> None:
        """Stop building ``meta`` (dropped or replaced); waiters wake up."""
        build = self._builds.pop(meta.keyspace, None)
        if build is None:
            return
        build.cancel_scope.cancel()
        self.jobs.remove(build.job, Outcome(KILLED, DROPPED))
        build.done.set()

    def renamed(self, meta: IndexMeta) -> None:
        build = self._builds.get(meta.keyspace)
        if build is not None:
            build.rename_job()

    def forget(self, build: IndexBuild) -> None:
        if self._builds.get(build.meta.keyspace) is build:
            del self._builds[build.meta.keyspace]

    def progress(self, meta: IndexMeta) -> float:
        build = self._builds.get(meta.keyspace)
        return build.progress() if build is not None else D.norm_num(meta.progress)

    async def wait_ready(self, store: TableStore, metas: list[IndexMeta]) -> None:
        """Until every index in ``metas`` is ready or no longer exists."""
        for meta in metas:
            while self._unfinished(store, meta):
                build = self._builds.get(meta.keyspace) or self.start(store, meta)
                await build.done.wait()
                if self._unfinished(store, meta):  # the build failed: retry, but not in a hot loop
                    await trio.sleep(RETRY_SECONDS)

    @staticmethod
    def _unfinished(store: TableStore, meta: IndexMeta) -> bool:
        return not meta.ready and store.meta.indexes.get(meta.name) is meta and not store.dropped

    async def run(self) -> None:
        """Build what a restart left unfinished, then whatever index_create starts."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for build in self._pending:
                nursery.start_soon(build.run)
            self._pending.clear()
            self.resume_unfinished()
            await trio.sleep_forever()

    def resume_unfinished(self) -> None:
        storage = self.storage
        for table_id in list(storage.tables):
            store = storage.table(table_id)
            for meta in list(store.meta.indexes.values()):
                if not meta.ready:
                    self.start(store, meta)
