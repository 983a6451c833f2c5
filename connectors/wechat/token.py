"""The access-token cache: one refresher at a time, refreshed shortly before expiry.

The platform invalidates the previous token when a new one is fetched from ``/cgi-bin/token``
(after a ~5-minute overlap), so a single central refresher matters. ``fetch`` is the function that
really asks the platform; it returns ``(token, expires_in)``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Fetch = Callable[[], tuple[str, float]]


class TokenCache:
    """Caches one access token; thread-safe; never logs the token."""

    def __init__(self, fetch: Fetch, *, clock: Callable[[], float]) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        self.refreshes = 0

    def get(self) -> str:
        """The current token, fetching a new one if there is none or it is about to expire."""
        token = self._token
        if token is not None and self._clock() < self._refresh_at:
            return token
        with self._lock:
            # Another thread may have refreshed while we waited for the lock.
            if self._token is not None and self._clock() < self._refresh_at:
                return self._token
            return self._refresh_locked()

    def invalidate(self, stale: str) -> None:
        """Forget ``stale`` (the platform said it is invalid); a no-op if already replaced."""
        with self._lock:
            if self._token == stale:
                self._token = None
                self._refresh_at = 0.0

    def _refresh_locked(self) -> str:
        token, expires_in = self._fetch()
        # Refresh a little early: 10% of the lifetime, at most 5 minutes (the platform's overlap).
        margin = min(300.0, max(0.0, expires_in) * 0.1)
        self._token = token
        self._refresh_at = self._clock() + max(0.0, expires_in) - margin
        self.refreshes += 1
        return token

    def __repr__(self) -> str:  # never show the token
        return f"TokenCache(cached={self._token is not None}, refreshes={self.refreshes})"


__all__ = ["TokenCache"]
