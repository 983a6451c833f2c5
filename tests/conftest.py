"""Suite-wide fixtures. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

import os

import pytest

_ENV_PREFIXES = ("DIANHUA_",)


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's DIANHUA_* settings."""
    for key in list(os.environ):
        if key.startswith(_ENV_PREFIXES):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(autouse=True)
def _cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Desk passwords hash with N = 2^12 in tests (the real 2^17 costs 128 MiB and ~0.3 s per
    check); tests/web/test_desk_security.py checks the real parameters and the re-hash."""
    from bot.web import passwords

    monkeypatch.setattr(passwords, "N", 2**12)
