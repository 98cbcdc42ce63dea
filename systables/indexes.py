"""Secondary indexes: definitions, compiled index functions, background builds.

An index is defined by a ReQL function (kept as its wire term), ``multi`` and
``geo``.  The storage engine keeps every index's entries up to date on every
write, ready or not, using a synchronous ``fn(doc) -> [index values]`` built
here.  ``index_create`` only registers the index; an ``IndexBuild`` then walks
the table in chunks in the background and marks the index ready, reporting
itself as an ``index_construction`` job meanwhile.
"""

from __future__ import annotations

import base64
import json
import math
import time
from typing import TYPE_CHECKING, Any, Callable, Coroutine

import outcome
import trio

# The traps a trio checkpoint yields (see run_sync); trio exports no names for them.
from trio._core._traps import CancelShieldedCheckpoint, WaitTaskRescheduled

from .jobs.registry import Job, index_construction_id
from . import datum as D
from .datum.errors import ReqlQueryLogicError
from .datum.ql2 import TermType as T
from .storage import IndexMeta, StorageError, TableMeta, TableStore

if TYPE_CHECKING:
    from .reql.term import Term
    from .server import Server

IndexFn = Callable[[dict], list]

FUNCTION_PREFIX = b"$reql_index_function$"
DEFAULT_VAR = -19  # RethinkDB's variable for the implicit r.row[name] index function
DEFINITION_VERSION = 1
NOT_AN_INDEX_FUNCTION = (
    "Cannot create an sindex except from a reql_index_function returned from `index_status` in the field `function`."
)
NOT_DETERMINISTIC = "Could not prove function deterministic.  Index functions must be deterministic."


# ---------------------------------------------------------------------------
# Definitions: the function's wire term, serialized for the catalog and for
# the BINARY that index_status returns and index_create accepts (dump/restore).


def default_function(field: str) -> list:
    """``r.row[field]`` as RethinkDB builds it: GET_FIELD(VAR(-19), field)."""
    var = [int(T.VAR), [DEFAULT_VAR]]
    return [int(T.FUNC), [[int(T.MAKE_ARRAY), [DEFAULT_VAR]], [int(T.GET_FIELD), [var, field]]]]


def constant_function(value_wire: Any) -> list:
    """A non-function argument, used as a constant (RethinkDB's CONSTANT_SHORTCUT)."""
    return [int(T.FUNC), [[int(T.MAKE_ARRAY), []], value_wire]]


def encode_definition(func: Any, multi: bool, geo: bool) -> bytes:
    payload = {"v": DEFINITION_VERSION, "func": func, "multi": multi, "geo": geo}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def decode_definition(raw: bytes) -> tuple[Any, bool, bool]:
    """(function wire term, multi, geo); ValueError if ``raw`` is not ours."""
    payload = json.loads(raw.decode())
    if type(payload) is not dict or payload.get("v") != DEFINITION_VERSION or "func" not in payload:
        raise ValueError("unknown index definition format")
    func = payload["func"]
    if type(func) is not list or not func or func[0] != T.FUNC:
        raise ValueError("the definition does not hold a function")
    return func, bool(payload.get("multi")), bool(payload.get("geo"))


def function_of(meta: IndexMeta) -> Any:
    return decode_definition(meta.function)[0]


def index_binary(meta: IndexMeta) -> bytes:
    """The ``function`` field of index_status (flags as they are now)."""
    return FUNCTION_PREFIX + encode_definition(function_of(meta), meta.multi, meta.geo)


def parse_index_binary(blob: bytes) -> tuple[Any, bool, bool]:
    if not blob.startswith(FUNCTION_PREFIX):
        raise ReqlQueryLogicError(NOT_AN_INDEX_FUNCTION)
    try:
        return decode_definition(blob[len(FUNCTION_PREFIX) :])
    except (ValueError, UnicodeDecodeError) as e:
        raise ReqlQueryLogicError(
            f"Binary blob passed to index create could not be interpreted as a reql_index_function ({e})."
        ) from None


def term_to_wire(term: "Term") -> Any:
    """A compiled term back in wire form (the compiled tree mirrors the wire one)."""
    from .reql.terms.basic import Const, Datum, MakeObject, Spliced

    if isinstance(term, (Datum, Const)):
        return datum_to_wire(term.value)
    if isinstance(term, Spliced):
        return term_to_wire(term.inner)
    if isinstance(term, MakeObject):
        return {k: term_to_wire(v) for k, v in term.optargs.items()}
    wire: list = [int(term.tt), [term_to_wire(a) for a in term.args]]
    if term.optargs:
        wire.append({k: term_to_wire(v) for k, v in term.optargs.items()})
    return wire


def datum_to_wire(v: Any) -> Any:
    t = type(v)
    if t is list:
        return [int(T.MAKE_ARRAY), [datum_to_wire(x) for x in v]]
    if t is dict:
        return {k: datum_to_wire(x) for k, x in v.items()}
    if t is bytes:
        return {D.REQL_TYPE: "BINARY", "data": base64.b64encode(v).decode()}
    if isinstance(v, D.MinMaxVal):
        return [int(T.MAXVAL if v is D.MAXVAL else T.MINVAL), []]
    return v


# ---------------------------------------------------------------------------
# Index values: what RethinkDB can turn into secondary keys.


def valid_key(v: Any) -> bool:
    """Numbers, strings, bools, binary, times, and arrays of these (no null,
    objects, geometry or r.minval/r.maxval), as ``datum_t::print_secondary``."""
    t = type(v)
    if t is str or t is int or t is float or t is bool or t is bytes:
        return True
    if t is list:
        return all(valid_key(x) for x in v)
    return t is dict and v.get(D.REQL_TYPE) == "TIME"


def valid_geo_key(v: Any) -> bool:
    return type(v) is dict and v.get(D.REQL_TYPE) == "GEOMETRY"


def index_values(value: Any, multi: bool, geo: bool) -> list:
    """The entries a function result gives: a multi index indexes each element
    of an array (skipping the ones that cannot be keys); invalid keys give none."""
    ok = valid_geo_key if geo else valid_key
    if multi and type(value) is list:
        return [x for x in value if ok(x)]
    return [value] if ok(value) else []


# ---------------------------------------------------------------------------
# Compiled index functions.


class IndexFunctionBlocked(Exception):
    """An index function tried to wait for something (it cannot: see run_sync)."""


MAX_SYNC_YIELDS = 1_000_000


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine of pure evaluation to completion without the event loop.

    Index values are computed inside a write's synchronous batch, so they
    cannot wait.  Deterministic evaluation never waits for anything: all it
    yields are trio checkpoints (long arrays, r.range), and resuming those at
    once is what an uncontended checkpoint does anyway.  In a task that is
    being cancelled, a checkpoint's first trap is followed by a
    WaitTaskRescheduled; resuming that too leaves the cancellation to the
    task's next real checkpoint.  Anything else is a real wait: refused.
    """
    send: Any = None
    in_checkpoint = False
    try:
        for _ in range(MAX_SYNC_YIELDS):
            trap = coro.send(send)
            if trap is CancelShieldedCheckpoint:
                in_checkpoint = True
            elif in_checkpoint and isinstance(trap, WaitTaskRescheduled):
                in_checkpoint = False
            else:
                break
            send = outcome.Value(None)  # an outcome unwraps only once
    except StopIteration as done:
        return done.value
    coro.close()
    raise IndexFunctionBlocked()


def simple_field(func: Any) -> str | None:
    """The field name if ``func`` is just ``row[field]`` (the usual index), else None."""
    try:
        tt, (params, body), *_ = func
        ptt, param_ids, *_ = params
        btt, (target, field), *_ = body
    except (TypeError, ValueError):
        return None
    if tt != T.FUNC or ptt != T.MAKE_ARRAY or btt not in (T.GET_FIELD, T.BRACKET) or type(field) is not str:
        return None
    if type(target) is not list or not target:
        return None
    if target[0] == T.IMPLICIT_VAR:
        return field if len(param_ids) == 1 else None
    if target[0] == T.VAR and len(target) >= 2 and target[1] == param_ids and len(param_ids) == 1:
        return field
    return None


def field_index_fn(field: str, multi: bool, geo: bool) -> IndexFn:
    """``row[field]`` without the evaluator: the hot path of every write."""
    if not multi and not geo:

        def fn(doc: dict) -> list:
            v = doc.get(field)
            return [v] if valid_key(v) else []

        return fn

    def fn_general(doc: dict) -> list:
        if field not in doc:
            return []
        return index_values(doc[field], multi, geo)

    return fn_general


def compile_function(func: Any) -> "Term":
    from .reql import terms  # noqa: F401  (registers every term class)
    from .reql.compiler import Compiler

    return Compiler().compile(func)


def compile_index_fn(server: "Server", func: Any, multi: bool, geo: bool) -> IndexFn:
    """The storage engine's ``fn(doc) -> [index values]`` for a definition;
    a geo index stores the S2 cells of the geometries instead."""
    values = compile_values_fn(server, func, multi, geo)
    if geo:
        from .geo.index import GeoIndexFunction

        return GeoIndexFunction(values)
    return values


def compile_values_fn(server: "Server", func: Any, multi: bool, geo: bool) -> IndexFn:
    """``fn(doc) -> [values of the index function]`` (multi-expanded, invalid keys dropped).

    Evaluation uses a pristine context (default array limit, no global
    optargs), as RethinkDB does; a row whose function errors gets no entry."""
    field = simple_field(func)
    if field is not None:
        return field_index_fn(field, multi, geo)
    from .reql.context import QueryContext
    from .reql.term import Env

    env = Env(QueryContext(server, "admin", {}))
    compiled = run_sync(compile_function(func).eval(env))
    failures: list[BaseException] = []

    def fn(doc: dict) -> list:
        try:
            value = run_sync(compiled(doc))
        except Exception as e:  # RethinkDB skips rows whose index function fails
            _note_unexpected(server, e, failures)
            return []
        return index_values(value, multi, geo)

    return fn


def _note_unexpected(server: "Server", e: Exception, seen: list[BaseException]) -> None:
    """Log an evaluator bug (not a ReQL error) once per index function."""
    from .datum.errors import ReqlError

    if isinstance(e, (ReqlError, IndexFunctionBlocked)) or seen:
        return
    seen.append(e)
    server.log_exception(e)


def index_compiler(server: "Server") -> Callable[[TableMeta, IndexMeta], IndexFn]:
    """``compile_index`` for ``Storage.open``: re-creates functions after a restart."""

    def compile_index(table: TableMeta, index: IndexMeta) -> IndexFn:
        return compile_index_fn(server, function_of(index), index.multi, index.geo)

    return compile_index


# ---------------------------------------------------------------------------
# Background construction.
#
# Pacing.  A build processes the table in chunks; each chunk is one
# synchronous storage call (read documents, write their entries), so no write
# interleaves with it and concurrent writes keep every entry right by
# themselves.  Three demands shape the chunks:
#
# * No query may wait long: a chunk is sized from the measured cost per row to
#   take about STEP_BUDGET (2 ms), and only one chunk runs at a time server-wide
#   (``IndexBuilds.turn``), so a query waits at most about one chunk.
# * Large builds must be fast: between chunks a normal-priority build only
#   yields (a checkpoint, no sleep), so when nothing else wants the CPU it
#   runs chunk after chunk (about 250k documents per CPU-second).  When
#   queries arrived during a chunk, it then sleeps as long as the chunk took:
#   a query needs several scheduling rounds, and a build that only yielded
#   would put a chunk in each of them; sleeping leaves the loop to queries
#   and caps the build at half the server while it is in use.
# * Small builds must be observable, as with RethinkDB (its clients and web UI
#   poll index_status and the jobs table): progress advances in at least
#   MIN_STEPS steps, and a non-empty build is spread over at least
#   MIN_BUILD_SECONDS by sleeping between its chunks.  For a big table the
#   floor per step is far below a chunk's own cost and adds nothing.
#
# Low priority uses smaller chunks and sleeps LOW_PRIORITY_GAP times as long
# as each chunk took, so a build takes at most ~10% of the server.  A paused
# build does nothing until resumed.  Progress is documents indexed / documents
# in the table, never decreasing, and below 1 until the index is ready.

STEP_BUDGET = 0.002
LOW_PRIORITY_BUDGET = 0.001
LOW_PRIORITY_GAP = 9.0
BUSY_GAP = 1.0
MIN_STEPS = 20
MIN_BUILD_SECONDS = 0.1
FIRST_CHUNK_ROWS = 16  # before the cost per row is known (index functions can be slow)
MAX_CHUNK_ROWS = 20_000
PROGRESS_CAP = 0.999
GONE_CHECK_SECONDS = 1.0  # how often a paused build checks its table still exists
RETRY_SECONDS = 1.0  # before index_wait restarts a build that failed
PRIORITIES = ("normal", "low")
CONTROL_FIELDS = ("paused", "priority")
ROW_FIELDS = ("duration_sec", "id", "info", "servers", "type")
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
            server_ids=[self.builds.server.server_id],
            info=self.info,
            progress=self.progress,
            on_update=self.on_update,
        )

    def rename_job(self) -> None:
        """The job id derives from the index name: re-register under the new one."""
        jobs = self.builds.server.jobs
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
        try:
            with self.cancel_scope:
                await self._build()
        except StorageError:
            pass  # the table or the index was dropped meanwhile
        except Exception as e:  # a bug: the index stays not ready, the server keeps serving
            self.builds.server.log_exception(e)
        finally:
            self.builds.server.jobs.remove(self.job)
            self.done.set()
            self.builds.forget(self)

    async def _build(self) -> None:
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
            await self._pause_between_chunks(work, rows)

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

    async def _pause_between_chunks(self, work: float, rows: int) -> None:
        steps = max(MIN_STEPS, math.ceil(self.store.count() / rows))
        gap = max(0.0, MIN_BUILD_SECONDS / steps - work)
        if self.meta.priority == "low":
            gap = max(gap, work * LOW_PRIORITY_GAP)
        elif self._queries_arrived():
            gap = max(gap, work * BUSY_GAP)
        if gap > 0:
            await trio.sleep(gap)
        else:
            await trio.lowlevel.checkpoint()

    def _queries_arrived(self) -> bool:
        """Whether queries started since the previous chunk (the server is in use)."""
        started = self.builds.server.jobs.queries_started.total
        arrived = started != self._queries_seen
        self._queries_seen = started
        return arrived

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

    def __init__(self, server: "Server") -> None:
        self.server = server
        self.turn = trio.Lock()  # one chunk at a time, server-wide
        self._builds: dict[int, IndexBuild] = {}
        self._nursery: trio.Nursery | None = None
        self._pending: list[IndexBuild] = []

    def start(self, store: TableStore, meta: IndexMeta) -> IndexBuild:
        build = self._builds.get(meta.keyspace)
        if build is not None:
            return build
        build = self._builds[meta.keyspace] = IndexBuild(self, store, meta)
        self.server.jobs.add(build.job)  # visible from the moment index_create returns
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
        self.server.jobs.remove(build.job)
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
        storage = self.server.storage
        for table_id in list(storage.tables):
            store = storage.table(table_id)
            for meta in list(store.meta.indexes.values()):
                if not meta.ready:
                    self.start(store, meta)


def builds_of(server: "Server") -> IndexBuilds:
    builds = getattr(server, "index_builds", None)
    if builds is None:
        builds = server.index_builds = IndexBuilds(server)  # type: ignore[attr-defined]
    return builds


async def run_index_builders(server: "Server") -> None:
    await builds_of(server).run()
