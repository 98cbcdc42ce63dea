"""The ``rethinkdb`` system database: one backend per table behind one interface."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..server import Server


class SystemTables:
    def __init__(self, server: "Server") -> None:
        self.server = server
        self.backends: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        return self.backends.get(name)

    def visible_names(self) -> list[str]:
        return sorted(n for n in self.backends if not n.startswith("_"))
