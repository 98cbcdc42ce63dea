"""A directory of wheels for the package tests: the build backend's
requirement (from ``pyproject.toml``) and every runtime dependency at exactly
the version installed in the environment running the tests.

Building the package and installing it into a fresh virtualenv then use
``pip --no-index`` on this directory alone, with pip's configuration files
ignored: they need no package index once it is filled (it is kept in the test
virtualenv, so filled once), and the fresh install runs the dependencies the
rest of the suite tested rather than whatever an index offers that day."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
WHEELHOUSE = Path(sys.prefix) / "systables-wheelhouse"
MANIFEST = "pins.txt"


def runtime_pins(package: str = "systables") -> list[str]:
    """``name==version`` of every distribution ``package`` needs (no extras),
    as installed here."""
    pins: dict[str, str] = {}
    pending = [package]
    while pending:
        dist = metadata.distribution(pending.pop())
        name = canonicalize_name(dist.metadata["Name"])
        if name in pins:
            continue
        pins[name] = dist.version
        for spec in dist.requires or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    del pins[canonicalize_name(package)]
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def build_pins() -> list[str]:
    """The build backend's requirements, pinned in ``pyproject.toml``."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        return list(tomllib.load(f)["build-system"]["requires"])


def ensure_wheelhouse(directory: Path = WHEELHOUSE) -> Path:
    """Fill ``directory`` with wheels of the pins unless it holds them already
    (only this step may need a package index)."""
    pins = "\n".join(build_pins() + runtime_pins()) + "\n"
    manifest = directory / MANIFEST
    if manifest.is_file() and manifest.read_text() == pins:
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    requirements = directory / "requirements.txt"
    requirements.write_text(pins)
    # `pip wheel` takes a published wheel as it is and builds one from an sdist.
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                           "--wheel-dir", str(directory), "-r", str(requirements)],
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError("could not fill the wheelhouse:\n" + done.stdout[-3000:] + done.stderr[-3000:])
    manifest.write_text(pins)  # last: an interrupted fill is redone
    return directory


def offline_pip_env(directory: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment in which every pip (also the isolated build's) installs
    from ``directory`` only."""
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if not k.startswith("PIP_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(directory),
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env
