"""The package as a user installs it: ``python -m build`` makes an sdist and a
wheel that both carry the built web shell; the wheel, installed into a fresh
virtualenv with no Node.js on the PATH and run away from the source tree,
serves the whole console, which runs a query in headless Chromium.  pip
installs from a wheelhouse of the pinned dependencies only (tests/wheelhouse.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Iterator

import pytest
from packaging.utils import canonicalize_name

import systables
from browserkit import CHROMIUM_ARGS, ROOT, chromium_path, screenshot
from helpers import missing_tool
from serverproc import ServerProcess
from wheelhouse import ensure_wheelhouse, offline_pip_env, runtime_pins

sys.path.insert(0, str(ROOT / "buildsupport"))
from webshell_build import STAMP, inputs_digest, is_current  # noqa: E402

SHELL_FILES = {"index.html", "shell.js", "shell.css", STAMP}
# Building and installing the package takes about 15 s (a minute when the
# wheelhouse is filled first).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pip_env() -> dict[str, str]:
    """An environment whose pip installs from the wheelhouse alone."""
    return offline_pip_env(ensure_wheelhouse())


@pytest.fixture(scope="module")
def built_package(pip_env, tmp_path_factory) -> dict[str, Path]:
    """``python -m build`` of this checkout (its isolated build environment
    installed from the wheelhouse): the sdist, and the wheel built from it.
    The build backend reuses the web shell already built if it is current."""
    out = tmp_path_factory.mktemp("package")
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, env=pip_env, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    (sdist,) = out.glob("systables-*.tar.gz")
    (wheel,) = out.glob("systables-*.whl")
    return {"sdist": sdist, "wheel": wheel}


def shell_files(names: list[str], prefix: str) -> set[str]:
    return {name[len(prefix):] for name in names if name.startswith(prefix)}


def test_wheel_carries_the_built_shell_and_no_sources(built_package):
    with zipfile.ZipFile(built_package["wheel"]) as wheel:
        names = wheel.namelist()
        assert SHELL_FILES <= shell_files(names, "systables/web/shell/")
        assert wheel.read(f"systables/web/shell/{STAMP}").decode().strip() == inputs_digest()
        assert b"rethinkdb" in wheel.read("systables/web/shell/shell.js")
    assert not [n for n in names if n.startswith(("drivers/", "buildsupport/", "tests/")) or "node_modules" in n]


def test_sdist_carries_the_shell_and_its_sources(built_package):
    with tarfile.open(built_package["sdist"]) as sdist:
        names = [name.split("/", 1)[1] for name in sdist.getnames() if "/" in name]
    assert SHELL_FILES <= shell_files(names, "systables/web/shell/")
    assert {"drivers/webshell/package-lock.json", "drivers/webshell/src/main.js",
            "buildsupport/webshell_build.py", "MANIFEST.in"} <= set(names)
    assert not [n for n in names if "node_modules" in n]


def test_a_bundle_is_current_only_for_the_digest_of_its_sources(tmp_path):
    assert not is_current(tmp_path)  # nothing built
    (tmp_path / "index.html").write_text("<!doctype html>")
    assert not is_current(tmp_path)  # no record of its sources
    (tmp_path / STAMP).write_text(inputs_digest() + "\n")
    assert is_current(tmp_path)
    (tmp_path / STAMP).write_text("0" * 64 + "\n")  # built from other sources
    assert not is_current(tmp_path)


def test_a_wheel_builds_from_the_sdist_without_node(built_package, pip_env, tmp_path):
    with tarfile.open(built_package["sdist"]) as sdist:
        sdist.extractall(tmp_path, filter="data")
    (source,) = tmp_path.glob("systables-*")
    env = dict(pip_env, PATH=str(Path(sys.executable).parent))  # this interpreter's directory: no node, no npm
    done = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "out"), str(source)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    (wheel,) = (tmp_path / "out").glob("systables-*.whl")
    with zipfile.ZipFile(wheel) as built, zipfile.ZipFile(built_package["wheel"]) as reference:
        assert built.read("systables/web/shell/shell.js") == reference.read("systables/web/shell/shell.js")


@pytest.fixture(scope="module")
def installed(built_package, pip_env, tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel installed; pip resolves its dependencies
    from the wheelhouse, with no index."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                           str(built_package["wheel"])],
                          capture_output=True, text=True, env=pip_env, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return venv


def no_node_env(venv: Path) -> dict[str, str]:
    """The venv's scripts and nothing else on the PATH: no node, no npm."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = str(venv / "bin")
    for tool in ("node", "npm"):
        assert not (venv / "bin" / tool).exists()
    return env


def test_installed_command_reports_its_version(installed):
    done = subprocess.run([str(installed / "bin" / "systables"), "--version"], capture_output=True, text=True,
                          env=no_node_env(installed), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"systables {systables.__version__} (RethinkDB 2.4.4 protocol and ReQL)"


def test_installed_dependencies_are_the_ones_tested(installed):
    """The fresh virtualenv runs the dependency versions the rest of the suite ran."""
    done = subprocess.run([str(installed / "bin" / "python"), "-m", "pip", "freeze", "--all"],
                          capture_output=True, text=True, env=no_node_env(installed), timeout=60, check=True)
    frozen = {canonical_pin(line) for line in done.stdout.split()}
    assert set(runtime_pins()) <= frozen, sorted(set(runtime_pins()) - frozen)


def canonical_pin(line: str) -> str:
    name, _, version = line.partition("==")
    return f"{canonicalize_name(name)}=={version}"


@pytest.fixture
def installed_server(installed, tmp_path) -> Iterator[ServerProcess]:
    env = no_node_env(installed)
    located = subprocess.run([str(installed / "bin" / "python"), "-c", "import systables; print(systables.__file__)"],
                             capture_output=True, text=True, env=env, cwd=tmp_path, check=True)
    assert located.stdout.startswith(str(installed)), located.stdout  # not the source tree
    srv = ServerProcess(directory=str(tmp_path / "data"), command=[str(installed / "bin" / "systables")],
                        env=env, cwd=str(tmp_path))
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.browser
def test_installed_wheel_serves_the_console_and_runs_a_query(installed_server):
    executable = chromium_path()
    if executable is None:
        missing_tool("Chromium", "make chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 800})
            tab.set_default_timeout(15_000)
            tab.goto(f"http://127.0.0.1:{installed_server.http_port}/#dataexplorer")
            tab.wait_for_selector("#server-status[data-state=ok]")
            tab.click(".cm-content")
            tab.keyboard.press("Control+a")
            tab.keyboard.type("r.expr([1, 2, 3]).map(function (x) { return x.mul(7); })")
            tab.keyboard.press("Escape")
            tab.keyboard.press("Shift+Enter")
            tab.wait_for_selector(".result-range:text-is('3 rows')")
            assert "21" in tab.inner_text(".tree")
            screenshot(tab, "installed-wheel", prefix="package")
        finally:
            browser.close()
