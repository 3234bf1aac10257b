"""Page, API and authorization tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def verify_persistence() -> bool:
    """Pages test what people see and may do, over engine operations whose persistence tests/engine
    checks commit by commit (the cold-load check costs about a third of a page test's time)."""
    return False
