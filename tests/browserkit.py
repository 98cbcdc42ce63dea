"""Headless Chromium for the browser tests: Debian's, driven by Playwright (no
browser download), and where the tests' screenshots go."""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
from helpers import wait_for  # noqa: F401  (browser tests import it from here)

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(tab: Any, name: str, prefix: str = "webshell") -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    safe = re.sub(r"[^\w.-]+", "_", name)
    path = ARTIFACTS / f"{prefix}-{safe}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path



@contextlib.contextmanager
def launched_chromium() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright; skips when it is not installed."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium not found (install Debian's chromium: make chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
