"""Fixtures shared by the console login tests: a server whose admin has a
password, an admin connection to it, and a fresh user."""

from __future__ import annotations

import uuid
from typing import Any, Iterator

import pytest
from rethinkdb import r as R
from serverproc import ServerProcess, temp_server

ADMIN_PASSWORD = "adm1n pw"
USERS = R.db("rethinkdb").table("users")


@pytest.fixture(scope="module")
def locked() -> Iterator[ServerProcess]:
    """A server whose admin has a password: its console asks for a login."""
    srv = temp_server(extra_args=["--initial-password", ADMIN_PASSWORD])
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def admin(locked: ServerProcess) -> Iterator[Any]:
    conn = R.connect(locked.host, locked.port, password=ADMIN_PASSWORD)
    yield conn
    conn.close()


@pytest.fixture
def bob(admin: Any) -> Iterator[str]:
    name = "bob_" + uuid.uuid4().hex[:8]
    USERS.insert({"id": name, "password": "b0b"}).run(admin)
    yield name
    USERS.get(name).delete().run(admin)
