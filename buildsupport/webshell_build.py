"""Builds the web shell (drivers/webshell) into the package (systables/web/shell)
from the committed npm lockfile, unless the bundle there was already built from
exactly the current sources.

The bundle is never committed: a source checkout builds it here (``make
webshell``, the build backend), and an sdist carries it, built, beside its
sources, so building a wheel from the sdist needs no Node.js.  Whether a
bundle is current is decided by a digest of its inputs written next to it,
not by file times (archives and checkouts do not keep them).

Standard library only: it runs inside pip's isolated build environment.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "drivers" / "webshell"
OUTPUT = ROOT / "systables" / "web" / "shell"
STAMP = "inputs.sha256"
# What the bundle is made from; node_modules is derived from the lockfile.
INPUT_FILES = ("package.json", "package-lock.json", "build.mjs", ".npmrc")
INPUT_DIRS = ("src", "shims")


class WebShellBuildError(RuntimeError):
    pass


def input_paths() -> list[Path]:
    files = [SOURCES / name for name in INPUT_FILES if (SOURCES / name).is_file()]
    for directory in INPUT_DIRS:
        files += [p for p in (SOURCES / directory).rglob("*") if p.is_file()]
    return sorted(files, key=lambda p: p.relative_to(SOURCES).as_posix())


def inputs_digest() -> str:
    digest = hashlib.sha256()
    for path in input_paths():
        digest.update(path.relative_to(SOURCES).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def is_current(output: Path = OUTPUT) -> bool:
    stamp = output / STAMP
    complete = (output / "index.html").is_file() and stamp.is_file()
    return complete and stamp.read_text().strip() == inputs_digest()


def run(command: list[str]) -> None:
    done = subprocess.run(command, cwd=SOURCES)
    if done.returncode != 0:
        raise WebShellBuildError(f"`{' '.join(command)}` failed in {SOURCES} (exit {done.returncode})")


def build(output: Path = OUTPUT) -> None:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise WebShellBuildError(
            "building systables from source builds its web shell, which needs Node.js and npm "
            "(install them, or install a systables wheel, which carries the built web shell)"
        )
    installed = SOURCES / "node_modules" / ".package-lock.json"
    lockfile = SOURCES / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lockfile.stat().st_mtime:
        run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"])
    (output / STAMP).unlink(missing_ok=True)  # a failed build must not look current
    run(["node", "build.mjs", str(output)])
    (output / STAMP).write_text(inputs_digest() + "\n")


def ensure_built(output: Path = OUTPUT) -> None:
    """Build the web shell unless it is current; an sdist without the front-end
    sources must carry a built shell."""
    if not (SOURCES / "package-lock.json").is_file():
        if not (output / "index.html").is_file():
            raise WebShellBuildError(f"no web shell in {output} and no sources to build it from")
        return
    if not is_current(output):
        build(output)


if __name__ == "__main__":
    try:
        ensure_built()
    except WebShellBuildError as error:
        sys.exit(f"error: {error}")
