"""Headers on every response, CSRF tokens, and the session's signing key."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from loguru import logger
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode("ascii")),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)
CSRF_FIELD = "csrf"
SESSION_COOKIE = "dianhua_desk"


class SecurityHeaders:
    """ASGI middleware: the Content-Security-Policy (and friends) on every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", [])
                    if k.lower() not in {name for name, _ in SECURITY_HEADERS}
                ]
                headers.extend(SECURITY_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token (created on first use)."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str) or len(token) < 16:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def csrf_ok(session: dict[str, Any], submitted: Any) -> bool:
    """True when a form's token matches the session's (constant-time)."""
    expected = session.get(CSRF_FIELD)
    if not isinstance(expected, str) or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), submitted.encode("utf-8"))


def session_secret(configured: str) -> str:
    """The configured secret, or a random one for this process (sessions end on restart)."""
    if configured:
        return configured
    logger.warning(
        "web.secret_key is not set: using a random key, so desk sign-ins end when dianhua "
        "restarts (set [web] secret_key or DIANHUA_WEB_SECRET)"
    )
    return secrets.token_urlsafe(48)


__all__ = ["CSP", "CSRF_FIELD", "SESSION_COOKIE", "SecurityHeaders", "csrf_ok", "csrf_token",
           "session_secret"]
