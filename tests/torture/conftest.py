"""Torture-test fixtures.

The suite-wide ``_clean_environ`` fixture (tests/conftest.py) deletes every ``DIANHUA_*``
variable before each test, which would silently turn the long, by-hand torture runs
(``DIANHUA_TORTURE_KILLS=50 ...``) into the short CI ones. The values are captured here at
import time, before any fixture runs, and put back for the torture tests only.
"""

from __future__ import annotations

import os

import pytest

_TORTURE_ENV = {k: v for k, v in os.environ.items() if k.startswith("DIANHUA_TORTURE_")}


@pytest.fixture(autouse=True)
def _torture_environ(_clean_environ: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Restore the ``DIANHUA_TORTURE_*`` knobs after the suite-wide clean-up."""
    for key, value in _TORTURE_ENV.items():
        monkeypatch.setenv(key, value)
