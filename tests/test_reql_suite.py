"""RethinkDB's own ReQL test suite must never pass fewer tests than the committed baseline."""

from __future__ import annotations

import json

import pytest

import reql_suite


@pytest.mark.slow
def test_reql_suite_does_not_regress():
    if reql_suite.suite_dir() is None:
        pytest.skip("RethinkDB's ReQL suite (../shared/reql-tests) is not present; conformance not measured")
    summary = reql_suite.run_suite()
    baseline = json.loads(reql_suite.BASELINE.read_text())
    passed, expected = summary["total"]["passed"], baseline["total"]["passed"]
    regressed = {
        name: (counts["passed"], summary["files"].get(name, {}).get("passed", 0))
        for name, counts in baseline["files"].items()
        if summary["files"].get(name, {}).get("passed", 0) < counts["passed"]
    }
    assert passed >= expected, f"{passed} passed, baseline {expected}; files that lost tests (baseline, now): {regressed}"
