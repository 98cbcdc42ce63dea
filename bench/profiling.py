"""Sampling the server with py-spy while a workload runs (``--profile``), and
summarising the collapsed stacks: where the server's time goes, by function
(self time) and by call path (inclusive time).

    python -m bench.profiling FILE.txt      # summarise an earlier recording
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

SAMPLE_RATE = 250  # Hz: enough samples in a few seconds, little overhead
IDLE_FRAMES = ("EpollIOManager.get_events", "EpollIOManager._epoll_wait")


class Profiler:
    """Records the server process with py-spy between ``start`` and ``stop``."""

    def __init__(self, pid: int, output: Path) -> None:
        self.pid = pid
        self.output = output
        self.process: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("py-spy") is not None or (Path(sys.executable).parent / "py-spy").exists()

    def start(self) -> None:
        exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.output.parent.mkdir(parents=True, exist_ok=True)
        args = [exe, "record", "--pid", str(self.pid), "--rate", str(SAMPLE_RATE), "--format", "raw",
                "--nonblocking", "--output", str(self.output)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def stop(self) -> str | None:
        """Stop recording; returns an error text if py-spy failed."""
        if self.process is None:
            return "not started"
        self.process.send_signal(signal.SIGINT)
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return "py-spy did not stop"
        if not self.output.exists():
            return (err or "py-spy wrote nothing").strip().splitlines()[-1]
        return None


def read_stacks(path: Path) -> Counter[tuple[str, ...]]:
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[tuple(stack.split(";"))] += int(count)
    return stacks


def summarize(path: Path, top: int = 20) -> str:
    """Self and inclusive time per function, idle (waiting in epoll) excluded."""
    stacks = read_stacks(path)
    busy = {s: n for s, n in stacks.items() if not s[-1].startswith(IDLE_FRAMES)}
    total, idle = sum(busy.values()), sum(stacks.values()) - sum(busy.values())
    if not total:
        return f"{path}: no busy samples"
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for stack, n in busy.items():
        own[stack[-1]] += n
        for frame in set(stack):
            inclusive[frame] += n
    lines = [f"{path}: {total} busy samples ({idle} idle in epoll not counted)", "  self time:"]
    lines += [f"    {n / total:6.1%}  {frame}" for frame, n in own.most_common(top)]
    lines.append("  inclusive time:")
    lines += [f"    {n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(top * 2)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    for name in argv if argv is not None else sys.argv[1:]:
        print(summarize(Path(name)))


if __name__ == "__main__":
    main()
