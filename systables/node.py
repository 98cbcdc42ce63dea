"""This server as the rest of the system sees it: its identity (id and name,
kept in the data directory), its version, when it started, how it was started
and where it listens.  System tables and the pipeline read it; only the
composition root and ``server_config`` change it."""

from __future__ import annotations

import random
import re
import socket
import string
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:
    from .storage import Storage

RETHINKDB_VERSION = "2.4.4"
VERSION = f"{RETHINKDB_VERSION}-systables-{__version__}"
NAME_META = "server/name"


@dataclass
class ServerOptions:
    bind: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    driver_port: int = 28015
    http_port: int = 8080
    cluster_port: int = 29015
    join: list[tuple[str, int]] = field(default_factory=list)
    server_tags: list[str] | None = None
    canonical_addresses: list[str] = field(default_factory=list)
    port_offset: int = 0
    directory: str = "systables_data"
    server_name: str | None = None
    initial_password: str | None = None
    http_admin: bool = True
    cache_size_mb: int | str = "auto"
    argv: list[str] = field(default_factory=lambda: list(sys.argv))


def default_server_name() -> str:
    host = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())
    suffix = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(3))
    return f"{host}_{suffix}"


class Node:
    """Identity and runtime facts of this server."""

    version = VERSION

    def __init__(self, options: ServerOptions, storage: "Storage") -> None:
        self.options = options
        self._storage = storage
        self.server_id = storage.server_id
        self.name = self._load_name()
        self.started = time.time()
        self.driver_addresses: list[tuple[str, int]] = []
        self.http_addresses: list[tuple[str, int]] = []
        self.cluster_port = 0  # the port listened on, once listening
        self.peers: dict[str, str] = {}  # the other servers of the cluster: id -> name (kept by the cluster)

    def _load_name(self) -> str:
        stored = self._storage.get_meta(NAME_META)
        name = self.options.server_name or stored or default_server_name()
        if name != stored:
            self._storage.put_meta(NAME_META, name)
        return name

    def rename(self, name: str) -> None:
        self.name = name
        self._storage.put_meta(NAME_META, name)

    def ref(self, identifier_format: str) -> str:
        """How system tables name this server: its name, or its id with ``uuid``."""
        return self.server_id if identifier_format == "uuid" else self.name

    def ref_of(self, server_id: str, identifier_format: str) -> str | None:
        """A server by id, rendered; None when it is not connected (unknown)."""
        if server_id == self.server_id:
            return self.ref(identifier_format)
        name = self.peers.get(server_id)
        if name is None:
            return None
        return server_id if identifier_format == "uuid" else name

    def info(self) -> dict:
        """The answer to a SERVER_INFO query."""
        return {"id": self.server_id, "name": self.name, "proxy": False}

    def port(self, configured: int) -> int:
        """A listening port as configured (0 keeps 0: pick a free one)."""
        return configured + self.options.port_offset if configured else 0
