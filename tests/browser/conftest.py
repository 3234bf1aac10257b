"""Browser tests: Debian's headless Chromium driven by Playwright (fixtures `browser`, `server` and
helpers in test_inbox.py)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium per test process (starting one takes longer than most browser tests)."""
    from playwright.sync_api import sync_playwright
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def verify_persistence() -> bool:
    """As in tests/web: pages in the browser, over operations tests/engine checks commit by commit."""
    return False
