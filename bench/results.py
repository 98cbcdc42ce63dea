"""One measured row of the benchmark, and what is derived from it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

OK = "ok"


@dataclass
class Row:
    workload: str
    title: str
    target: str
    kind: str  # "systables", "compare" or "null"
    status: str = OK  # "ok", "unavailable: <error>" or "failed: <error>"
    ops_per_s: float | None = None
    docs_per_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    cpu_us_per_op: float | None = None
    cpu_us_per_doc: float | None = None
    peak_rss_mb: float | None = None
    client_cpu_us_per_op: float | None = None
    samples: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def unavailable(row: Row, error: str) -> Row:
    row.status = f"unavailable: {error}"
    return row


def failed(row: Row, error: str) -> Row:
    row.status = f"failed: {error}"
    return row


def per(amount: float | None, count: float | None, scale: float = 1.0) -> float | None:
    """``amount / count * scale``, or None when either is unknown or count is 0."""
    if amount is None or not count:
        return None
    return amount / count * scale


def mebibytes(n: int | None) -> float | None:
    return n / (1 << 20) if n is not None else None
