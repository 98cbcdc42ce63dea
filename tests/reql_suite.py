"""Run RethinkDB's own polyglot ReQL test suite against a fresh systables server.

The suite and its runner live outside the repository (``../shared/reql-tests``
next to the checkout, or ``$REQL_TESTS``).  ``python tests/reql_suite.py
--update`` rewrites the committed baseline (``tests/reql_baseline.json``);
``tests/test_reql_suite.py`` fails if the total passed falls below it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from serverproc import temp_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "tests" / "reql_baseline.json"
ARTIFACTS = ROOT / "test-artifacts"


def suite_dir() -> Path | None:
    candidates = [os.environ.get("REQL_TESTS"), ROOT.parent / "shared" / "reql-tests"]
    for c in candidates:
        if c and (Path(c) / "run_polyglot.py").exists():
            return Path(c)
    return None


def run_suite(paths: list[str] | None = None, verbose: bool = False, name: str = "reql-suite") -> dict:
    """Run the suite (or some of its files); the full report goes to test-artifacts/<name>.json."""
    tests = suite_dir()
    if tests is None:
        raise FileNotFoundError("RethinkDB's ReQL test suite (../shared/reql-tests) is not present")
    ARTIFACTS.mkdir(exist_ok=True)
    out = ARTIFACTS / f"{name}.json"
    with temp_server(http=False) as srv:
        cmd = [
            sys.executable, str(tests / "run_polyglot.py"),
            "--host", srv.host, "--port", str(srv.port),
            "--root", str(tests / "suite"), "--json-out", str(out), "--exit-zero",
        ]
        if verbose:
            cmd.append("-v")
        cmd += paths or [str(tests / "suite")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    (ARTIFACTS / f"{name}.txt").write_text(proc.stdout + proc.stderr)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"suite runner failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return summarize(json.loads(out.read_text()))


def summarize(report: dict) -> dict:
    files = report.get("files", report)
    per_file: dict[str, dict[str, int]] = {}
    items = files.items() if isinstance(files, dict) else ((f.get("file") or f.get("name"), f) for f in files)
    for name, f in items:
        per_file[name] = {k: int(f.get(k, 0)) for k in ("passed", "failed", "skipped")}
    total = {k: sum(v[k] for v in per_file.values()) for k in ("passed", "failed", "skipped")}
    return {"total": total, "files": dict(sorted(per_file.items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--update", action="store_true", help="write the result as the new baseline")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each failure (in test-artifacts/<name>.txt)")
    parser.add_argument("--name", default=f"reql-suite-{os.getpid()}", help="report file name in test-artifacts/")
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args()
    summary = run_suite(args.paths or None, args.verbose, args.name)
    for name, c in summary["files"].items():
        print(f"{name:50} {c['passed']:4} passed {c['failed']:4} failed {c['skipped']:3} skipped")
    t = summary["total"]
    print(f"TOTAL {t['passed']} passed, {t['failed']} failed, {t['skipped']} skipped")
    if args.update:
        BASELINE.write_text(json.dumps(summary, indent=1) + "\n")
        print(f"baseline written to {BASELINE}")


if __name__ == "__main__":
    main()
