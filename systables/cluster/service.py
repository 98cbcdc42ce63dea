"""Membership: which servers form the cluster, kept in etcd.

Each server holds an etcd lease and, under it, one key ``/st/servers/<id>``
with what its own ``server_config`` and ``server_status`` rows say; it renews
the lease every second.  A server that stops or is cut off loses its lease
within ``LEASE_TTL`` and its key vanishes, so its rows vanish everywhere (as
in RethinkDB, a gone server has no row).  Every server watches the prefix and
keeps the others' rows in ``peers``.  While this server cannot reach etcd it
vouches for nobody but itself.

Joining happens on the cluster port (``handshake.py``): the joined server
bootstraps etcd if it ran none yet, adds the newcomer as a learner and tells it
where etcd is; the newcomer starts its member and has itself promoted.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable

import orjson
import trio

from . import handshake
from .etcd import Etcd, EtcdError, KeyValue, WatchEvent
from .etcd_member import MAX_VOTERS, ClusterSetupError, ClusterState, EtcdMember, promote_when_ready, wait_serving

if TYPE_CHECKING:
    from ..logbook import LogBook
    from ..node import Node

SERVERS = "/st/servers/"
LEASE_TTL = 5  # seconds until a silent server's rows vanish
RENEW_EVERY = 1.0
RETRY_EVERY = 0.5
ENDPOINTS_EVERY = 10.0  # how often the list of etcd members is re-read
JOIN_TIMEOUT = 30.0  # how long a new server tries to reach one it was told to join
JOIN_CONNECT_TIMEOUT = 2.0
LEAVE_TIMEOUT = 2.0


@dataclass
class ClusterOptions:
    directory: str
    bind: list[str]
    port: int
    join: list[tuple[str, int]] = field(default_factory=list)
    canonical_addresses: list[str] = field(default_factory=list)


def advertised_host(options: ClusterOptions) -> str:
    """The address other servers reach this one at."""
    if options.canonical_addresses:
        return options.canonical_addresses[0]
    concrete = [b for b in options.bind if b not in ("all", "0.0.0.0", "::")]
    if concrete:
        return concrete[0]
    try:  # every interface: the address this machine's name resolves to
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


class Cluster:
    """This server's membership, and its view of the others."""

    def __init__(self, options: ClusterOptions, node: "Node", log: "LogBook") -> None:
        self.options = options
        self.node = node
        self.log = log
        self.describe: Callable[[], dict[str, Any]] = lambda: {}  # this server's rows, set by the composition root
        self.peers: dict[str, dict[str, Any]] = {}  # other servers' published rows, by id
        self.on_change: list[Callable[[], Any]] = []  # told when a server comes, goes or changes
        # Run (with the etcd client) once coordination is up: the table directory, replication.
        self.coordinated: list[Callable[[Etcd], Awaitable[None]]] = []
        # Cluster-port conversations other than joins, by the header's `op`.
        self.handlers: dict[str, Callable[[trio.SocketStream, dict[str, Any]], Awaitable[None]]] = {}
        self.port = 0  # the cluster port listened on
        self.etcd: Etcd | None = None
        self._state = ClusterState.load(options.directory, advertised_host(options))
        self._member: EtcdMember | None = None
        self._join_lock = trio.Lock()
        self._republish = trio.Event()
        self._nursery: trio.Nursery | None = None
        self._lease = 0
        self._leaving = False
        self._last_contact = 0.0  # trio time of the last answer from etcd

    @property
    def clustered(self) -> bool:
        return self.etcd is not None

    def changed(self) -> None:
        """This server's rows changed (renamed, new tags): publish them again."""
        self._republish.set()

    # -- running -------------------------------------------------------------------
    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Listen on the cluster port; resume or join the cluster; report
        ready once coordination is up (at once for a cluster of one)."""
        listeners = await self._listen()
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for listener in listeners:
                nursery.start_soon(trio.serve_listeners, self._serve_peer, [listener])
            if self._state.joined:
                await self._resume()
            elif self.options.join:
                await self._join()
            task_status.started()

    async def _listen(self) -> list[trio.SocketListener]:
        hosts = ["0.0.0.0" if b == "all" else b for b in self.options.bind]
        listeners: list[trio.SocketListener] = []
        for host in hosts:
            port = self.port or self.options.port
            listeners += await trio.open_tcp_listeners(port, host=host)
            self.port = listeners[0].socket.getsockname()[1]
        return listeners

    async def _start_coordination(self, endpoints: list[str]) -> None:
        self.etcd = Etcd(endpoints)
        await wait_serving(self.etcd)
        self._start_coordinated()

    def _start_coordinated(self) -> None:
        assert self._nursery is not None and self.etcd is not None
        self._nursery.start_soon(self._membership)
        for run in self.coordinated:
            self._nursery.start_soon(run, self.etcd)

    def _new_member(self) -> EtcdMember:
        member = EtcdMember(self.options.directory, self._state, self.node.server_id)
        member.on_exit = lambda status: self.log.log("warn", f"etcd exited with status {status}; starting it again.")
        return member

    async def _resume(self) -> None:
        """Restarted after having joined: start the member again, if any."""
        state = self._state
        if state.member:
            self._member = self._new_member()
            assert self._nursery is not None
            await self._member.start(self._nursery)
        endpoints = list(dict.fromkeys(([state.client_url] if state.member else []) + state.endpoints))
        self.etcd = Etcd(endpoints)
        self._start_coordinated()  # they wait for a quorum by themselves

    async def _bootstrap(self) -> None:
        """The first join: this server becomes a one-member etcd cluster."""
        state = self._state
        self._member = self._new_member()
        assert self._nursery is not None
        await self._member.start(self._nursery, initial_cluster=f"{self.node.server_id}={state.peer_url}")
        state.member, state.endpoints = True, [state.client_url]
        await self._start_coordination([state.client_url])
        state.save(self.options.directory)
        self.log.log("notice", "Started cluster coordination (etcd).")

    async def _join(self) -> None:
        answer = await self._ask_to_join()
        state = self._state
        if answer.initial_cluster is not None:
            self._member = self._new_member()
            assert self._nursery is not None
            await self._member.start(self._nursery, initial_cluster=answer.initial_cluster, existing=True)
            etcd = Etcd(answer.endpoints)
            if answer.member_id:
                await promote_when_ready(etcd, answer.member_id)
            await etcd.aclose()
        state.member = answer.initial_cluster is not None
        state.endpoints = list(dict.fromkeys(answer.endpoints + ([state.client_url] if state.member else [])))
        await self._start_coordination(state.endpoints)
        state.save(self.options.directory)

    async def _ask_to_join(self) -> handshake.JoinAnswer:
        request = handshake.JoinRequest(self.node.server_id, self.node.name, self._state.peer_url)
        errors: list[str] = []
        with trio.move_on_after(JOIN_TIMEOUT):
            while True:
                for host, port in self.options.join:
                    try:
                        answer = await self._ask(host, port, request)
                    except (OSError, handshake.HandshakeError, trio.TooSlowError) as e:
                        errors.append(f"{host}:{port}: {e}")
                        continue
                    if answer.error is None:
                        return answer
                    errors.append(f"{host}:{port}: {answer.error}")
                await trio.sleep(RETRY_EVERY)
        raise ClusterSetupError(f"Could not join the cluster: {errors[-1] if errors else 'no answer'}")

    @staticmethod
    async def _ask(host: str, port: int, request: handshake.JoinRequest) -> handshake.JoinAnswer:
        with trio.fail_after(JOIN_CONNECT_TIMEOUT):
            stream = await trio.open_tcp_stream(host, port)
        async with stream:
            await stream.send_all(request.encode())
            with trio.fail_after(JOIN_TIMEOUT):
                return handshake.parse_answer(await _read_line(stream))

    # -- the cluster port ----------------------------------------------------------
    async def _serve_peer(self, stream: trio.SocketStream) -> None:
        try:
            async with stream:
                await self._answer_peer(stream)
        except Exception as e:  # a bug or a broken peer: logged, the server goes on
            self.log.log_exception(e)

    async def _answer_peer(self, stream: trio.SocketStream) -> None:
        try:
            with trio.fail_after(JOIN_CONNECT_TIMEOUT):
                header = handshake.parse_header(await _read_line(stream), ("join", *self.handlers))
        except (handshake.HandshakeError, trio.TooSlowError, trio.BrokenResourceError):
            self.log.log("warn", handshake.INVALID_HEADER.capitalize() + ".")
            return
        if header["op"] != "join":
            await self.handlers[header["op"]](stream, header)
            return
        try:
            request = handshake.join_request(header)
        except handshake.HandshakeError:
            self.log.log("warn", handshake.INVALID_HEADER.capitalize() + ".")
            return
        try:
            answer = await self._admit(request)
        except (EtcdError, ClusterSetupError) as e:
            answer = handshake.JoinAnswer([], None, None, error=str(e))
        try:
            await stream.send_all(answer.encode())
        except trio.BrokenResourceError:
            pass

    async def _admit(self, request: handshake.JoinRequest) -> handshake.JoinAnswer:
        async with self._join_lock:
            if self.etcd is None:
                await self._bootstrap()
            assert self.etcd is not None
            members = await self.etcd.members()
            endpoints = [url for m in members if not m.learner for url in m.client_urls] or list(self.etcd.endpoints)
            known = [m for m in members if request.peer_url in m.peer_urls]
            if known:  # it was added before but did not keep the answer
                return handshake.JoinAnswer(endpoints, _initial_cluster(members, request), known[0].id)
            if len(members) >= MAX_VOTERS:
                return handshake.JoinAnswer(endpoints, None, None)
            added, members = await self.etcd.add_member(request.peer_url, learner=True)
            self.log.log("notice", f"Server `{request.name}` ({request.server_id}) joins the cluster.")
            return handshake.JoinAnswer(endpoints, _initial_cluster(members, request), added.id)

    # -- membership ----------------------------------------------------------------
    async def _membership(self) -> None:
        while not self._leaving:
            try:
                await self._hold_membership()
            except* EtcdError:
                pass  # etcd unreachable or this server's lease lost
            except* Exception as group:  # a bug: logged, and membership starts over
                for e in group.exceptions:
                    self.log.log_exception(e)
            if trio.current_time() - self._last_contact > LEASE_TTL:
                self._set_peers([])  # out of touch: vouch for nobody but this server
            await trio.sleep(RETRY_EVERY)

    async def _hold_membership(self) -> None:
        """Publish this server under a fresh lease and follow the others,
        until etcd fails."""
        assert self.etcd is not None
        try:
            self._lease = await self.etcd.grant_lease(LEASE_TTL)
            await self._publish(self._lease)
            kvs, revision = await self.etcd.get_prefix(SERVERS)
            self._last_contact = trio.current_time()
            self._set_peers(kvs)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._renew, self._lease)
                nursery.start_soon(self._republish_on_change, self._lease)
                nursery.start_soon(self._follow, revision + 1)
                nursery.start_soon(self._refresh_endpoints)
        finally:
            self._lease = 0

    async def leave(self) -> None:
        """Stopping: drop this server's rows at once (not a lease TTL later),
        while its etcd member still runs."""
        self._leaving = True
        if self.etcd is None or not self._lease:
            return
        with trio.move_on_after(LEAVE_TIMEOUT):
            try:
                await self.etcd.revoke_lease(self._lease)
            except EtcdError:
                pass

    async def _publish(self, lease: int) -> None:
        assert self.etcd is not None
        body = {"id": self.node.server_id, **self.describe()}
        await self.etcd.put(SERVERS + self.node.server_id, orjson.dumps(body).decode(), lease)

    async def _renew(self, lease: int) -> None:
        assert self.etcd is not None
        while True:
            await trio.sleep(RENEW_EVERY)
            if not await self.etcd.keep_alive(lease):
                raise EtcdError("this server's lease expired")
            self._last_contact = trio.current_time()

    async def _republish_on_change(self, lease: int) -> None:
        while True:
            await self._republish.wait()
            self._republish = trio.Event()
            await self._publish(lease)

    async def _follow(self, revision: int) -> None:
        assert self.etcd is not None
        async for event in self.etcd.watch_prefix(SERVERS, revision):
            self._apply(event)

    async def _refresh_endpoints(self) -> None:
        """Learn the client URLs of every voting etcd member."""
        assert self.etcd is not None
        while True:
            members = await self.etcd.members()
            urls = [url for m in members if not m.learner for url in m.client_urls]
            if urls:
                self.etcd.endpoints = list(dict.fromkeys([e for e in self.etcd.endpoints if e in urls] + urls))
            await trio.sleep(ENDPOINTS_EVERY)

    def _set_peers(self, kvs: list[KeyValue]) -> None:
        peers = {}
        for kv in kvs:
            body = _decode(kv.value)
            if body is not None and body.get("id") != self.node.server_id:
                peers[body["id"]] = body
        for gone in set(self.peers) - set(peers):
            self._disconnected(gone)
        for new in set(peers) - set(self.peers):
            self.log.log("notice", f"Connected to server \"{_name(peers[new])}\" {new}")
        self.peers = peers
        self._names_changed()

    def _apply(self, event: WatchEvent) -> None:
        server_id = event.key[len(SERVERS):]
        if server_id == self.node.server_id:
            return
        if event.kind == "delete":
            if server_id in self.peers:
                self._disconnected(server_id)
                del self.peers[server_id]
        else:
            body = _decode(event.value or "")
            if body is None:
                return
            if server_id not in self.peers:
                self.log.log("notice", f"Connected to server \"{_name(body)}\" {server_id}")
            self.peers[server_id] = body
        self._names_changed()

    def _disconnected(self, server_id: str) -> None:
        self.log.log("notice", f"Disconnected from server \"{_name(self.peers[server_id])}\" {server_id}")

    def _names_changed(self) -> None:
        self.node.peers = {server_id: _name(body) for server_id, body in self.peers.items()}
        for callback in self.on_change:
            callback()


def _initial_cluster(members: list, request: handshake.JoinRequest) -> str:
    parts = []
    for m in members:
        name = m.name or (request.server_id if request.peer_url in m.peer_urls else "")
        if name:
            parts.extend(f"{name}={url}" for url in m.peer_urls)
    return ",".join(parts)


def _decode(value: str) -> dict | None:
    try:
        body = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return body if type(body) is dict and type(body.get("id")) is str else None


def _name(body: dict) -> str:
    return str(body.get("config", {}).get("name", body.get("id")))


async def _read_line(stream: trio.SocketStream) -> bytes:
    data = bytearray()
    while not data.endswith(b"\n") and len(data) <= handshake.MAX_LINE:
        chunk = await stream.receive_some(4096)
        if not chunk:
            break
        data += chunk
    return bytes(data)
