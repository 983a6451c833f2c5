"""Torture-test fixtures.

The suite-wide ``_clean_environ`` fixture (tests/conftest.py) deletes every ``DIANHUA_*``
variable before each test, which would silently turn the long, by-hand torture runs
(``DIANHUA_TORTURE_KILLS=50 ...``) into the short CI ones. The values are captured here at
import time, before any fixture runs, and put back for the torture tests only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from pg_server import PgServer, why_not

_TORTURE_ENV = {k: v for k, v in os.environ.items() if k.startswith("DIANHUA_TORTURE_")}
_REQUIRE_PG = os.environ.get("DIANHUA_REQUIRE_PG", "") == "1"


@pytest.fixture(autouse=True)
def _torture_environ(_clean_environ: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Restore the ``DIANHUA_TORTURE_*`` knobs after the suite-wide clean-up."""
    for key, value in _TORTURE_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def restartable_pg() -> Iterator[PgServer]:
    """A PostgreSQL server of this test's own, which it may crash and start again. Skipped
    (with the reason) where PostgreSQL cannot be started, except under DIANHUA_REQUIRE_PG=1
    (``make test``, CI), where that is a failure."""
    problem = why_not()
    if problem:
        if _REQUIRE_PG:
            pytest.fail(f"PostgreSQL torture cannot run: {problem} — DIANHUA_REQUIRE_PG=1 "
                        "forbids skipping it", pytrace=False)
        pytest.skip(f"PostgreSQL torture skipped: {problem}")
    server = PgServer()
    try:
        yield server
    finally:
        server.close()
