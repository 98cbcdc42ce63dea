"""Per-query evaluation context, and the services evaluation uses.

The composition root (``server.py``) builds one ``Services`` and the pipeline
gives every query a ``QueryContext`` carrying those services as attributes:
terms use ``env.ctx.catalog``, ``env.ctx.auth``... and nothing else of the
server.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..datum.times import make_time

if TYPE_CHECKING:
    from ..admin import Admin
    from ..auth import Auth
    from ..catalog import Catalog
    from ..cluster import Replication
    from ..indexes.builder import IndexBuilds
    from ..jobs.counters import TableCounters
    from ..jobs.registry import JobRegistry
    from ..js import JsPool
    from ..logbook import LogBook
    from ..node import Node
    from ..storage import Storage
    from ..system import SystemTables
    from .feeds import Hubs
    from .index_functions import IndexFunctions
    from .term import Term

DEFAULT_ARRAY_LIMIT = 100_000


@dataclass(frozen=True)
class Services:
    """Everything a query may use, built once by the composition root."""

    node: "Node"
    log: "LogBook"
    storage: "Storage"
    catalog: "Catalog"
    admin: "Admin"
    auth: "Auth"
    jobs: "JobRegistry"
    indexes: "IndexBuilds"
    index_functions: "IndexFunctions"
    counters: "TableCounters"
    system: "SystemTables"
    js: "JsPool"
    feeds: "Hubs"
    replication: "Replication"


class QueryContext:
    """What a running query knows about its world: the services, its user,
    its global optargs and limits, and what it has read and written so far."""

    __slots__ = (
        "node", "log", "storage", "catalog", "admin", "auth", "jobs", "indexes", "index_functions", "counters",
        "system", "js", "feeds", "replication",
        "user", "global_optargs", "array_limit", "start_time", "_now", "docs_read", "docs_written", "query",
        "connection_id", "tables",
    )

    def __init__(
        self,
        services: Services,
        user: str,
        global_optargs: dict[str, "Term"],
        *,
        array_limit: int = DEFAULT_ARRAY_LIMIT,
    ) -> None:
        self.node = services.node
        self.log = services.log
        self.storage = services.storage
        self.catalog = services.catalog
        self.admin = services.admin
        self.auth = services.auth
        self.jobs = services.jobs
        self.indexes = services.indexes
        self.index_functions = services.index_functions
        self.counters = services.counters
        self.system = services.system
        self.js = services.js
        self.feeds = services.feeds
        self.replication = services.replication
        self.user = user
        self.global_optargs = global_optargs
        self.array_limit = array_limit
        self.start_time = time.time()
        self._now: dict | None = None
        self.docs_read = 0
        self.docs_written = 0
        # The running query this context evaluates (the pipeline's), if any:
        # commit points ask it whether a kill arrived.
        self.query: Any = None
        self.connection_id: str | None = None  # the client connection's id (`rethinkdb.connections`)
        # (db, table) names the query touched, for its jobs row; None: not tracked.
        self.tables: set[tuple[str, str]] | None = None

    def now(self) -> dict:
        """``r.now()`` is the same instant for the whole query, as in RethinkDB."""
        if self._now is None:
            self._now = make_time(self.start_time, "+00:00")
        return self._now

    @property
    def is_admin(self) -> bool:
        return self.user == "admin"
