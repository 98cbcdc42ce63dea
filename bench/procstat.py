"""What the kernel accounts to a server process (Linux ``/proc``): CPU time of
all its threads and its resident memory, current and peak.

CPU time comes from ``/proc/<pid>/stat`` (utime + stime, in clock ticks), so it
is the server's own accounting and includes its storage engine's background
threads; wall time never stands in for it.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TCP_LISTEN = "0A"
RESET_PEAK_RSS = "5"  # /proc/<pid>/clear_refs: reset VmHWM to the current RSS


@dataclass(frozen=True)
class ProcessMeter:
    """Reads one process's counters; every reading is ``None`` when unknown."""

    pid: int | None

    def cpu_seconds(self) -> float | None:
        text = self._read("stat")
        if text is None:
            return None
        # Fields after the command name, which may itself contain spaces or parentheses.
        fields = text.rsplit(")", 1)[1].split()
        utime, stime = int(fields[11]), int(fields[12])
        return (utime + stime) / CLOCK_TICKS

    def rss_bytes(self) -> int | None:
        return self._status_kib("VmRSS")

    def peak_rss_bytes(self) -> int | None:
        return self._status_kib("VmHWM")

    def reset_peak(self) -> bool:
        """Start a new peak-memory interval; False when the kernel refuses."""
        if self.pid is None:
            return False
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text(RESET_PEAK_RSS)
        except OSError:
            return False
        return True

    def alive(self) -> bool:
        return self._read("stat") is not None

    def _status_kib(self, field: str) -> int | None:
        text = self._read("status")
        if text is None:
            return None
        for line in text.splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        return None

    def _read(self, name: str) -> str | None:
        if self.pid is None:
            return None
        try:
            return Path(f"/proc/{self.pid}/{name}").read_text()
        except OSError:
            return None


def machine_busy_seconds() -> float | None:
    """CPU time the whole machine spent busy (all cores, all processes), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def listening_pid(host: str, port: int) -> int | None:
    """The local process listening on ``host:port`` (for ``--compare``), if visible."""
    if not _is_local(host):
        return None
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in targets:
                    return int(proc.name)
        except OSError:
            continue
    return None


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == TCP_LISTEN:
                inodes.add(fields[9])
    return inodes


def directory_bytes(path: str) -> int:
    """Disk use of a data directory (apparent file sizes)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total
