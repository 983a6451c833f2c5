"""Fixtures for the daemon tests; the fakes live in daemon_fakes.py."""

from __future__ import annotations

from typing import Any

import pytest
from daemon_fakes import FakeClock

from bot.store import Store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Any, clock: FakeClock) -> Store:
    s = Store(tmp_path / "t.db", clock=clock)
    yield s
    s.close()
