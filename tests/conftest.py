from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def built_package(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``python -m build`` of this checkout, once per test session: the sdist, and
    the wheel built from it (``{"sdist": path, "wheel": path}``)."""
    out = tmp_path_factory.mktemp("package")
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    (sdist,) = out.glob("systables-*.tar.gz")
    (wheel,) = out.glob("systables-*.whl")
    return {"sdist": sdist, "wheel": wheel}
