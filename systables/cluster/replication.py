"""Replicas of a table: backfill, then the primary's change stream.

A server named in a table's ``replicas`` but not its primary connects to the
primary's cluster port and asks to ``replicate`` the table (``wire.py``).  The
primary, in one synchronous step, starts following the table's change stream
(the one changefeeds consume), opens a point-in-time view of its rows and
reads the change-log position that view reflects; it then streams the rows in
key order, in chunks, with the changes committed after that position
interleaved in commit order, then ``done``, then the changes as they commit,
for as long as the connection lasts.

Ordering: the replica applies each chunk, then the changes for keys the copy
has already passed; a change for a key not reached yet is held until the
chunk holding that key has been applied (that chunk carries the snapshot's
older value), then applied, still in commit order.  Changes at or before the
snapshot's position are already in the snapshot and are not sent.  So each
key gets its snapshot value first and then every later change in order, and
no change is lost.

A replica that finished its copy is *live*: it acknowledges each batch once
applied (and fsynced for hard-durability tables), and the primary counts it
among the table's voters.  With ``write_acks: majority`` a write answers once
a majority of the voters (the primary and its live replicas) applied it.

The replica's ``backfill`` job is reported by the replica itself, in its job
registry; the other servers learn of it from the replica's published server
key (progress republished at most every ``REPORT_EVERY`` seconds) and show
the same row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import orjson
import trio

from .. import timeslice
from ..datum import norm_num
from ..datum.errors import ReqlOpFailedError, ReqlOpIndeterminateError, ReqlQueryLogicError
from ..jobs.history import Outcome
from ..jobs.registry import Job, backfill_id
from ..storage import StorageError
from . import handshake, wire
from .tables import TableConfig, TableDirectory, meta_fields, single_shard

if TYPE_CHECKING:
    from ..jobs.registry import JobRegistry
    from ..logbook import LogBook
    from ..node import Node
    from ..storage import Storage, TableMeta, TableStore
    from ..storage.changes import Change
    from .service import Cluster

CHUNK_ROWS = 250  # rows per backfill chunk: a chunk's apply stays near one time slice
REPORT_EVERY = 0.05  # seconds between republications of a backfill's progress
RECONNECT_EVERY = 0.5
CONNECT_TIMEOUT = 2.0
READY_META = "replica/ready/"  # tables whose local copy is complete
CAS_ATTEMPTS = 5


def _key_le(key: bytes, frontier: bytes | None, copied_all: bool) -> bool:
    return copied_all or (frontier is not None and key <= frontier)


# -- the primary's side ------------------------------------------------------------
@dataclass(eq=False)
class Outgoing:
    """One replica's stream on the primary."""

    destination: str
    queue: list[list[Any]] = field(default_factory=list)  # [position, key, document | None]
    wake: trio.Event = field(default_factory=trio.Event)
    after: int = 0  # changes at or before this position are in the snapshot
    live: bool = False
    acked: int = 0

    def changes(self, changes: list["Change"]) -> None:
        after = self.after
        self.queue += [[c.position, c.pk_enc, c.new_raw] for c in changes if c.position > after]
        self.wake.set()


# -- the replica's side --------------------------------------------------------------
@dataclass(eq=False)
class Backfill:
    """A copy being received: where it has reached, what waits for it."""

    table_id: str
    source: str
    started: float = field(default_factory=time.time)
    started_mono: float = field(default_factory=time.monotonic)
    frontier: bytes | None = None  # the last key copied (None: nothing yet)
    copied_all: bool = False
    held: list[list[Any]] = field(default_factory=list)
    progress: float = 0.0
    applied: int = 0  # the primary's position the replica has applied up to
    job: Job | None = None

    def eta_sec(self) -> float | None:
        if self.copied_all or self.progress <= 0:
            return None
        elapsed = time.monotonic() - self.started_mono
        return norm_num(round(elapsed * (1 - self.progress) / self.progress, 3))


class Replication:
    """This server's replicas: copies it receives, streams it sends, acks."""

    def __init__(
        self, storage: "Storage", node: "Node", cluster: "Cluster", directory: TableDirectory,
        jobs: "JobRegistry", log: "LogBook",
    ) -> None:
        self.storage = storage
        self.node = node
        self.cluster = cluster
        self.directory = directory
        self.jobs = jobs
        self.log = log
        self.ready: set[str] = {key[len(READY_META):] for key, _ in storage.iter_meta(READY_META)}
        self._incoming: dict[str, trio.CancelScope] = {}  # table -> the task following its primary
        self._backfills: dict[str, Backfill] = {}
        self._outgoing: dict[str, dict[str, Outgoing]] = {}  # table -> destination -> stream
        self._voters: dict[str, set[str]] = {}  # table -> replicas that went live
        self._acks = trio.Event()  # set (and replaced) whenever an ack or a disconnection arrives
        self._mirrors: dict[str, Job] = {}  # other servers' backfill jobs
        self._last_report = 0.0
        self._nursery: trio.Nursery | None = None

    @property
    def active(self) -> bool:
        return self.directory.active

    # -- running -------------------------------------------------------------------
    async def run(self, etcd: Any) -> None:
        """Follow configurations until cancelled (``etcd`` is the directory's)."""
        self.storage.add_change_listener(self._committed)
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self.directory.on_change.append(self.reconcile)
            self.cluster.on_change.append(self._peers_changed)
            self.reconcile()
            await trio.sleep_forever()

    def reconcile(self) -> None:
        """Start following the primary of every table this server should
        replicate; stop sending to servers no longer replicas."""
        if self._nursery is None:
            return
        me = self.node.server_id
        configs = self.directory.configs
        for table_id in [t for t in self._incoming if t not in configs or t not in self.storage.tables]:
            self._stop_following(table_id)  # dropped
        for table_id in [t for t in self._outgoing if t not in configs]:
            for out in self._outgoing[table_id].values():
                out.queue.append([-1, b"", None])  # dropped: the streams end
                out.wake.set()
        for table_id, config in list(configs.items()):
            if table_id not in self.storage.tables:
                continue
            if config.primary == me:
                self._mark_ready(table_id, True)
            elif me in config.replicas:
                if table_id not in self._incoming:
                    scope = self._incoming[table_id] = trio.CancelScope()
                    self._nursery.start_soon(self._follow_primary, table_id, scope)
            else:
                self._stop_following(table_id)
                self._mark_ready(table_id, False)
            for destination, out in list(self._outgoing.get(table_id, {}).items()):
                if destination not in config.replicas:
                    out.queue.append([-1, b"", None])  # the sender sees it and ends the stream
                    out.wake.set()

    def _stop_following(self, table_id: str) -> None:
        scope = self._incoming.pop(table_id, None)
        if scope is not None:
            scope.cancel()

    def _mark_ready(self, table_id: str, ready: bool) -> None:
        if ready == (table_id in self.ready):
            return
        if ready:
            self.ready.add(table_id)
            self.storage.put_meta(READY_META + table_id, True)
        else:
            self.ready.discard(table_id)
            self.storage.delete_meta(READY_META + table_id)
        self.cluster.changed()

    # -- what this server publishes, and what it learns of the others ---------------------
    def describe(self) -> dict[str, Any]:
        """The part of this server's key other servers read."""
        tables = {t: "ready" for t in self.ready}
        tables |= {t: "backfilling" for t in self._backfills}
        backfills = [self._report(b) for b in self._backfills.values() if b.job is not None]
        return {"replication": {"tables": tables, "backfills": backfills}}

    def _report(self, b: Backfill) -> dict[str, Any]:
        assert b.job is not None
        return {"id": b.job.id, "info": b.job.info(), "progress": b.progress, "start_time": b.started,
                "servers": b.job.server_ids}

    def _peers_changed(self) -> None:
        """Show the backfills other servers report; start or stop following."""
        reports = {}
        for body in self.cluster.peers.values():
            for report in body.get("replication", {}).get("backfills", []):
                reports[report["id"]] = report
        for job_id in [j for j in self._mirrors if j not in reports]:
            self.jobs.remove(self._mirrors.pop(job_id))
        for job_id, report in reports.items():
            self._mirror(job_id, report)
        self.reconcile()

    def _mirror(self, job_id: str, report: dict[str, Any]) -> None:
        job = self._mirrors.get(job_id)
        if job is None:
            latest = {"report": report}
            job = Job(
                type="backfill", id=job_id, start_time=report["start_time"], server_ids=list(report["servers"]),
                info=lambda: dict(latest["report"]["info"]), progress=lambda: latest["report"]["progress"],
            )
            job.latest = latest  # type: ignore[attr-defined]
            self._mirrors[job_id] = self.jobs.add(job)
        job.latest["report"] = report  # type: ignore[attr-defined]

    def shards(self, table_id: str) -> list[dict[str, Any]] | None:
        return self.directory.shards(table_id)

    def replica_state(self, table_id: str, server_id: str) -> str:
        """A replica's ``table_status`` state."""
        if server_id == self.node.server_id:
            if table_id in self._backfills:
                return "backfilling"
            return "ready" if table_id in self.ready else "transitioning"
        body = self.cluster.peers.get(server_id)
        if body is None:
            return "disconnected"
        return body.get("replication", {}).get("tables", {}).get(table_id, "transitioning")

    def primary_connected(self, table_id: str) -> bool:
        config = self.directory.configs.get(table_id)
        return config is not None and (config.primary == self.node.server_id or config.primary in self.cluster.peers)

    def server_tags(self) -> dict[str, int]:
        """Connected servers per tag."""
        counts: dict[str, int] = {}
        for tags in self._tags().values():
            for tag in tags:
                counts[tag] = counts.get(tag, 0) + 1
        return counts

    def _tags(self) -> dict[str, list[str]]:
        tags = {self.node.server_id: ["default"] + list(self.node.options.server_tags or [])}
        for server_id, body in self.cluster.peers.items():
            tags[server_id] = list(body.get("config", {}).get("tags", ["default"]))
        return tags

    # -- the primary's side --------------------------------------------------------------
    def _committed(self, table_id: str, changes: list["Change"]) -> None:
        for out in self._outgoing.get(table_id, {}).values():
            out.changes(changes)

    async def serve_replica(self, stream: trio.SocketStream, header: dict[str, Any]) -> None:
        """A replica asks for a table: copy it, then stream its changes."""
        table_id, destination = header.get("table"), header.get("server")
        config = self.directory.configs.get(table_id) if type(table_id) is str else None
        if config is None or config.primary != self.node.server_id or destination not in config.replicas:
            return  # not (or no longer) this server's to give: the replica asks again later
        try:
            store = self.storage.table(table_id)
        except StorageError:
            return  # dropped meanwhile
        out = Outgoing(str(destination))
        self._outgoing.setdefault(table_id, {})[out.destination] = out
        store.followers += 1
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._receive_acks, stream, table_id, out, nursery.cancel_scope)
                await self._send(stream, store, out)
                nursery.cancel_scope.cancel()
        except (StorageError, trio.BrokenResourceError):
            pass  # the table was dropped, or the replica went away: it asks again if it still should
        finally:
            store.followers -= 1
            self._outgoing.get(table_id, {}).pop(out.destination, None)
            self._wake_waiters()

    async def _send(self, stream: trio.SocketStream, store: "TableStore", out: Outgoing) -> None:
        # One synchronous step: the snapshot, its position, its first rows.
        chunks = store.stream_range(chunk_rows=CHUNK_ROWS)
        out.after = store.log.last
        first = next(chunks, None)
        await stream.send_all(wire.encode({"t": "start", "position": out.after, "total": store.count()}))
        chunk = first
        while chunk is not None:
            message = {"t": "chunk", "items": chunk.items, "last": chunk.last_key, "progress": chunk.progress}
            await stream.send_all(wire.encode(message))
            if not await self._send_changes(stream, out):
                return
            await timeslice.tick()
            chunk = next(chunks, None)
        await stream.send_all(wire.encode({"t": "done"}))
        out.live = True
        self._voters.setdefault(store.meta.id, set()).add(out.destination)
        while await self._send_changes(stream, out):
            await out.wake.wait()

    @staticmethod
    async def _send_changes(stream: trio.SocketStream, out: Outgoing) -> bool:
        """Send what is queued; False once the replica was removed."""
        out.wake = trio.Event()
        if not out.queue:
            return True
        items, out.queue = out.queue, []
        ended = any(item[0] == -1 for item in items)
        items = [item for item in items if item[0] != -1]
        if items:
            await stream.send_all(wire.encode({"t": "changes", "items": items}))
        return not ended

    async def _receive_acks(self, stream: trio.SocketStream, table_id: str, out: Outgoing, scope: trio.CancelScope) -> None:
        decoder = wire.Decoder()
        try:
            while data := await stream.receive_some(65536):
                for message in decoder.feed(data):
                    if message["t"] == "ack":
                        out.acked = max(out.acked, int(message["position"]))
                        self._wake_waiters()
        except (trio.BrokenResourceError, wire.FrameError):
            pass
        scope.cancel()  # the replica went away: the stream ends

    def _wake_waiters(self) -> None:
        self._acks.set()
        self._acks = trio.Event()

    # -- the replica's side ----------------------------------------------------------------
    async def _follow_primary(self, table_id: str, scope: trio.CancelScope) -> None:
        with scope:
            while True:
                config = self.directory.configs.get(table_id)
                if config is not None and config.primary in self.cluster.peers:
                    try:
                        await self._replicate(table_id, config.primary)
                    except StorageError:
                        pass  # the table was dropped meanwhile: reconcile stops this task
                    except (OSError, trio.BrokenResourceError, trio.TooSlowError, wire.FrameError) as e:
                        self.log.log("warn", f"Replication of table {table_id} from {config.primary} stopped: {e}")
                    except Exception as e:  # a bug: logged, and the replica asks again
                        self.log.log_exception(e)
                    finally:
                        self._end_backfill(table_id, "error")
                await trio.sleep(RECONNECT_EVERY)

    def _address_of(self, server_id: str) -> tuple[str, int]:
        network = self.cluster.peers[server_id]["status"]["network"]
        address = network["canonical_addresses"][0]
        return address["host"], int(address["port"])

    async def _replicate(self, table_id: str, primary: str) -> None:
        host, port = self._address_of(primary)
        with trio.fail_after(CONNECT_TIMEOUT):
            stream = await trio.open_tcp_stream(host, port)
        async with stream:
            header = {"systables_cluster": handshake.PROTOCOL, "op": "replicate", "table": table_id, "server": self.node.server_id}
            await stream.send_all(orjson.dumps(header) + b"\n")
            decoder = wire.Decoder()
            backfill = Backfill(table_id, primary)
            while data := await stream.receive_some(1 << 20):
                acked = backfill.applied
                for message in decoder.feed(data):
                    await self._handle(backfill, message)
                    await timeslice.tick()
                if backfill.copied_all and backfill.applied > acked:
                    await self.storage.table(table_id).commit(self.storage.tables[table_id].durability)
                    await stream.send_all(wire.encode({"t": "ack", "position": backfill.applied}))

    async def _handle(self, b: Backfill, message: dict[str, Any]) -> None:
        store = self.storage.table(b.table_id)
        kind = message["t"]
        if kind == "start":
            self._mark_ready(b.table_id, False)
            await _wipe(store)
            b.applied = int(message["position"])
            self._start_backfill(b)
        elif kind == "chunk":
            store.ingest_chunk([(k, v) for k, v in message["items"]])
            b.frontier, b.progress = message["last"], float(message["progress"])
            b.copied_all = message["last"] is None
            self._apply_held(store, b)
            self._progressed()
        elif kind == "changes":
            self._apply_changes(store, b, message["items"])
        elif kind == "done":
            b.copied_all = True
            self._apply_held(store, b)
            self._end_backfill(b.table_id, "success")
            self._mark_ready(b.table_id, True)

    def _apply_changes(self, store: "TableStore", b: Backfill, items: list[list[Any]]) -> None:
        now: list[tuple[bytes, bytes | None]] = []
        for position, key, doc in items:
            if _key_le(key, b.frontier, b.copied_all):
                now.append((key, doc))
            else:
                b.held.append([position, key, doc])
            b.applied = max(b.applied, int(position))
        if now:
            store.ingest_chunk(now)  # type: ignore[arg-type]  (None deletes)

    def _apply_held(self, store: "TableStore", b: Backfill) -> None:
        """Changes for keys the copy has now passed, in commit order."""
        if not b.held:
            return
        passed = [(k, d) for _, k, d in b.held if _key_le(k, b.frontier, b.copied_all)]
        b.held = [item for item in b.held if not _key_le(item[1], b.frontier, b.copied_all)]
        if passed:
            store.ingest_chunk(passed)  # type: ignore[arg-type]

    def _start_backfill(self, b: Backfill) -> None:
        me, table_id = self.node.server_id, b.table_id
        meta = self.storage.tables[table_id]
        job = Job(
            type="backfill", id=backfill_id(me, table_id, b.source), start_time=b.started,
            server_ids=sorted({me, b.source}),
            info=lambda: {
                "db": meta.db_id, "table": table_id, "source_server": b.source, "destination_server": me,
                "phase": "copying", "eta_sec": b.eta_sec(),
            },
            progress=lambda: norm_num(b.progress),
        )
        b.job = self.jobs.add(job)
        self._backfills[table_id] = b
        self.cluster.changed()

    def _progressed(self) -> None:
        now = time.monotonic()
        if now - self._last_report >= REPORT_EVERY:
            self._last_report = now
            self.cluster.changed()

    def _end_backfill(self, table_id: str, how: str) -> None:
        b = self._backfills.pop(table_id, None)
        if b is None or b.job is None:
            return
        self.jobs.remove(b.job, Outcome(how))
        self.cluster.changed()

    # -- what queries ask ------------------------------------------------------------------
    def serves_locally(self, table_id: str) -> bool:
        """Whether a plain (``single``) read of the table may be answered here."""
        if not self.directory.active:
            return True
        config = self.directory.configs.get(table_id)
        return config is None or config.primary == self.node.server_id

    def check_read(self, table_id: str, read_mode: str, qualified: str) -> None:
        if self.serves_locally(table_id) or read_mode == "_debug_direct":
            return
        if read_mode == "outdated" and table_id in self.ready:
            return
        raise ReqlOpFailedError(f"Cannot perform read: {self._elsewhere(table_id, qualified)}")

    def check_write(self, table_id: str, qualified: str) -> None:
        if self.serves_locally(table_id):
            if table_id in self._voters:
                voters, needed = self._quorum(table_id)
                outs = self._outgoing.get(table_id, {})
                if 1 + sum(1 for v in voters if v in outs) < needed:
                    raise ReqlOpFailedError(
                        "Cannot perform write: The primary replica isn't connected to a quorum of replicas. "
                        "The write was not performed."
                    )
            return
        raise ReqlOpFailedError(f"Cannot perform write: {self._elsewhere(table_id, qualified)}")

    def _elsewhere(self, table_id: str, qualified: str) -> str:
        primary = self.directory.configs[table_id].primary
        name = self.node.ref_of(primary, "name") or primary
        return (
            f"The primary replica of table `{qualified}` is on server `{name}`, and this server does not "
            f"forward queries to other servers yet. Connect to `{name}`, or use `read_mode=\"outdated\"` "
            "to read this server's replica."
        )

    def _quorum(self, table_id: str) -> tuple[set[str], int]:
        """The live replicas counted as voters besides the primary, and how
        many of all voters make a majority."""
        config = self.directory.configs.get(table_id)
        voters = self._voters.get(table_id, set()) & set(config.replicas if config is not None else ())
        return voters, (1 + len(voters)) // 2 + 1

    async def acknowledged(self, table_id: str, position: int) -> None:
        """Wait until a majority of the table's voters applied ``position``."""
        if not self.directory.active or table_id not in self._voters:
            return
        meta = self.storage.tables.get(table_id)
        if meta is None or meta.write_acks == "single":
            return
        while True:
            voters, needed = self._quorum(table_id)
            outs = self._outgoing.get(table_id, {})
            acked = 1 + sum(1 for v in voters if v in outs and outs[v].acked >= position)
            if acked >= needed:
                return
            if 1 + sum(1 for v in voters if v in outs) < needed:
                raise ReqlOpIndeterminateError(
                    "Cannot perform write: The primary replica lost contact with the secondary replicas. "
                    "The write may or may not have been performed."
                )
            await self._acks.wait()

    # -- reconfiguration ---------------------------------------------------------------------
    async def place_new(self, meta: "TableMeta", shards: int, replicas: dict[str, int]) -> None:
        """A table just created here: its configuration in etcd at once (its
        primary is this server), then its other replicas placed."""
        table_id = meta.id
        if table_id not in self.directory.configs:
            me = self.node.server_id
            if not await self.directory.swap(TableConfig(table_id, meta_fields(meta), single_shard(me, [me])), 0):
                await self.directory.refresh(table_id)  # the directory's own publication came first
        if replicas != {"default": 1} or shards != 1:
            await self.reconfigure(table_id, shards, replicas, False)

    async def reconfigure(self, table_id: str, shards: int, replicas: dict[str, int], dry_run: bool) -> TableConfig:
        """Place the table's replicas as RethinkDB would; returns the new configuration."""
        self.check_placeable(shards, replicas)
        for _ in range(CAS_ATTEMPTS):
            config = self.directory.configs[table_id]
            new = TableConfig(config.id, config.fields, self._place(config, replicas["default"]), config.revision)
            if dry_run or new.shards == config.shards:
                return new
            if await self.directory.swap(new, config.revision):
                return self.directory.configs[table_id]
            await self.directory.refresh(table_id)
        raise ReqlOpFailedError(
            "The table's configuration was changed by another server meanwhile. The table was not reconfigured."
        )

    @staticmethod
    def check_placeable(shards: int, replicas: dict[str, int]) -> None:
        """What this version cannot place across servers yet."""
        if shards != 1:
            raise ReqlOpFailedError("A table spread over several servers has one shard in this version; use `shards=1`.")
        if set(replicas) != {"default"}:
            raise ReqlQueryLogicError("Replicas by server tag are not supported across servers yet.")

    def _place(self, config: TableConfig, count: int) -> list[dict[str, Any]]:
        """Keep the primary and the replicas that hold the data; add the least
        loaded servers (10 per primary role, 8 per replica role elsewhere)."""
        tags = self._tags()
        candidates = [s for s, t in tags.items() if "default" in t]
        load = {s: 0 for s in candidates}
        for other in self.directory.configs.values():
            if other.id == config.id:
                continue
            for s in other.replicas:
                if s in load:
                    load[s] += 10 if s == other.primary else 8
        current = set(config.replicas)
        primary = config.primary if config.primary in load else min(candidates, key=lambda s: (load[s], s))
        others = sorted((s for s in candidates if s != primary), key=lambda s: (s not in current, load[s], s))
        return single_shard(primary, [primary] + others[: count - 1])


async def _wipe(store: "TableStore") -> None:
    """Empty a local copy before a full backfill replaces it."""
    if store.count() == 0:
        return
    for chunk in store.stream_range(chunk_rows=CHUNK_ROWS):
        store.ingest_chunk([(k, None) for k, _ in chunk.items])  # type: ignore[misc]
        await timeslice.tick()


Placement = Callable[[str], list[dict[str, Any]] | None]
