from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from serverproc import ServerProcess, temp_server

# Property tests must not fail because a busy machine generates inputs slowly.
settings.register_profile("systables", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("systables")


@pytest.fixture(scope="session")
def server() -> ServerProcess:
    """One server process shared by the tests that only need a live server."""
    srv = temp_server()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def fresh_server() -> ServerProcess:
    """A server of its own, for tests that restart, kill or reconfigure it."""
    srv = temp_server()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def r():
    from rethinkdb import r as driver_r

    driver_r.set_loop_type(None)
    return driver_r


@pytest.fixture
def conn(server, r):
    c = r.connect(host=server.host, port=server.port)
    yield c
    c.close()

