"""Fixtures for the rules engine tests (helpers live in rules_helpers.py)."""

from __future__ import annotations

import pytest
from rules_helpers import FakeHistory


@pytest.fixture
def history() -> FakeHistory:
    return FakeHistory()
