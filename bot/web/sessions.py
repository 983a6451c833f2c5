"""Server-side desk sessions, and the cookie that carries their id.

A sign-in creates a row in ``sessions`` (only the SHA-256 of a random id is stored); the
signed cookie carries the id. A session ends at sign-out, when the user's password, role or
departments change, with ``dianhua users revoke NAME``, after :attr:`Sessions.idle` without a
page load or form (the queue's background refresh does not count) and, in any case, after
:attr:`Sessions.absolute`. A copied cookie is worth nothing once its row is gone.

The cookie is ``HttpOnly``, ``SameSite=Strict`` and ``Secure`` whenever the request came over
HTTPS: directly, or through a proxy in ``[web] trusted_proxies`` that says
``X-Forwarded-Proto: https`` (``[web] secure_cookie = "auto"``, the default; ``"always"`` or
``"never"`` to force it).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.clock import Clock, iso, parse_iso
from bot.store import Store
from bot.store import sessions as session_store

IDLE_MINUTES = 120.0
ABSOLUTE_HOURS = 12.0
TOUCH_SECONDS = 60  # write last_seen_at at most once a minute per session
TRUSTED_PROXIES = ("127.0.0.1", "::1")
SECURE_CHOICES = ("auto", "always", "never")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Sessions:
    def __init__(self, store: Store, clock: Clock, *, idle_minutes: float = IDLE_MINUTES,
                 absolute_hours: float = ABSOLUTE_HOURS) -> None:
        self.store = store
        self.clock = clock
        self.idle = timedelta(minutes=idle_minutes)
        self.absolute = timedelta(hours=absolute_hours)

    def start(self, user: str, address: str = "") -> str:
        token = secrets.token_urlsafe(32)
        now = iso(self.clock())
        session_store.add(self.store, _hash(token), user, now, address[:64])
        return token

    def user(self, token: Any, *, touch: bool = True) -> str | None:
        """The user of a live session, or None (an expired session is deleted)."""
        if not isinstance(token, str) or not token:
            return None
        key = _hash(token)
        row = session_store.get(self.store, key)
        if row is None:
            return None
        now = self.clock()
        last = parse_iso(row["last_seen_at"])
        if now - parse_iso(row["created_at"]) >= self.absolute or now - last >= self.idle:
            self.end(token)
            return None
        if touch and (now - last).total_seconds() >= TOUCH_SECONDS:
            session_store.touch(self.store, key, iso(now))
        return str(row["user"])

    def end(self, token: Any) -> None:
        if isinstance(token, str) and token:
            session_store.remove(self.store, _hash(token))

    def revoke(self, user: str) -> int:
        """End every session of ``user``; returns how many there were."""
        return session_store.revoke(self.store, user)

    def purge_expired(self) -> int:
        now = self.clock()
        return session_store.purge(self.store, iso(now - self.absolute), iso(now - self.idle))


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def from_trusted_proxy(scope: Scope, trusted: tuple[str, ...]) -> bool:
    client = scope.get("client")
    return client is not None and str(client[0]) in trusted


def client_address(scope: Scope, trusted: tuple[str, ...] = TRUSTED_PROXIES) -> str:
    """The client's address: the peer, or the last hop a trusted proxy put in X-Forwarded-For."""
    client = scope.get("client")
    peer = str(client[0]) if client else ""
    if from_trusted_proxy(scope, trusted):
        forwarded = [a.strip() for a in _header(scope, b"x-forwarded-for").split(",") if a.strip()]
        if forwarded:
            return forwarded[-1][:64]
    return peer


def is_https(scope: Scope, trusted: tuple[str, ...] = TRUSTED_PROXIES) -> bool:
    if scope.get("scheme") == "https":
        return True
    return from_trusted_proxy(scope, trusted) and \
        _header(scope, b"x-forwarded-proto").split(",")[0].strip().lower() == "https"


class CookieSessions:
    """Starlette's signed-cookie sessions, with ``Secure`` decided per request."""

    def __init__(self, app: ASGIApp, *, secret_key: str, session_cookie: str, max_age: int,
                 secure: str = "auto", trusted_proxies: tuple[str, ...] = TRUSTED_PROXIES) -> None:
        opts: dict[str, Any] = {"secret_key": secret_key, "session_cookie": session_cookie,
                                "max_age": max_age, "same_site": "strict"}
        self.plain = SessionMiddleware(app, https_only=False, **opts)
        self.secure = SessionMiddleware(app, https_only=True, **opts)
        self.mode = secure
        self.trusted = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        use_secure = self.mode == "always" or (
            self.mode == "auto" and scope["type"] in ("http", "websocket")
            and is_https(scope, self.trusted))
        await (self.secure if use_secure else self.plain)(scope, receive, send)


__all__ = ["ABSOLUTE_HOURS", "IDLE_MINUTES", "SECURE_CHOICES", "CookieSessions", "Sessions",
           "client_address", "is_https"]
