"""The storage tests' clock and store: one Store per test on ``db_target`` (SQLite, and
PostgreSQL when a test server is there), driven by an injected clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from store_clock import Clock

from bot.store import Store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(db_target: str, clock: Clock) -> Iterator[Store]:
    s = Store(db_target, clock=clock)
    yield s
    s.close()
