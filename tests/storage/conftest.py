from __future__ import annotations

from typing import Any, Iterator

import pytest

from systables.jobs.registry import JobRegistry
from systables.storage import Storage


@pytest.fixture
def jobs() -> JobRegistry:
    return JobRegistry()


@pytest.fixture
def store(tmp_path: Any, jobs: JobRegistry) -> Iterator[Storage]:
    s = Storage.open(tmp_path / "db", jobs=jobs)
    yield s
    s.close()
