"""Short form of bench/crash_test.py: SIGKILL a writer 20 times, verify every
acknowledged hard write on reopen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "crash_test.py"


def test_acknowledged_writes_survive_sigkill() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--trials", "20", "--min-run", "0.2", "--max-run", "0.8", "--time-limit", "45"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("OK")
