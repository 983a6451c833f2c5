"""Fixtures for the daemon tests; the fakes live in daemon_fakes.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daemon_fakes import FakeClock

from bot.store import Store
from connectors.mock import MockServer


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(db_target: str, clock: FakeClock) -> Iterator[Store]:
    """The store, once on SQLite and once on PostgreSQL (see ``db_target``)."""
    s = Store(db_target, clock=clock)
    yield s
    s.close()


@pytest.fixture(scope="module")
def model() -> Any:
    """The bundled classifier, loaded once per test module (the end-to-end tests)."""
    from classifiers import load_model

    return load_model()


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[MockServer]:
    """The local platform mock, a real HTTP server on a free port."""
    server = MockServer(tmp_path / "mock.db").start()
    yield server
    server.stop()
