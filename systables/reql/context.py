"""Per-query evaluation context."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .term import Term

if TYPE_CHECKING:
    from ..server import Server

DEFAULT_ARRAY_LIMIT = 100_000


class QueryContext:
    """What a running query knows about its world: server, user, optargs, limits."""

    def __init__(
        self,
        server: "Server",
        user: str,
        global_optargs: dict[str, Term],
        *,
        array_limit: int = DEFAULT_ARRAY_LIMIT,
    ) -> None:
        self.server = server
        self.user = user
        self.global_optargs = global_optargs
        self.array_limit = array_limit
        self.start_time = time.time()
        self._now: dict | None = None
        self.docs_read = 0
        self.docs_written = 0

    def now(self) -> dict:
        """``r.now()`` is the same instant for the whole query, as in RethinkDB."""
        if self._now is None:
            from ..datum.times import make_time

            self._now = make_time(self.start_time, "+00:00")
        return self._now

    @property
    def is_admin(self) -> bool:
        return self.user == "admin"
