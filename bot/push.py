"""``/wechat/<account>``: the URL an account enters on the platform's 服务器配置 page.

``GET`` is the platform's handshake (answer ``echostr`` when the signature matches the token).
``POST`` carries one message: checked and opened by :func:`connectors.wechat.push.decode_push`
(signature, timestamp within 5 minutes, safe-mode AES, appid, safe XML, size), then handed to
:class:`bot.inbox.Inbox` and answered ``success``. A push seen before (same timestamp, nonce and
signature, or the same ``MsgId``) is answered ``success`` and not stored again: that is what the
platform's retries look like, and what a replay looks like.

Refusals answer 403 (signature, timestamp), 400 (XML, key, mode), 413 (size) or 404 (an account
without push settings), with a short English reason and a warning in the log; the message's
text never reaches a log.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from loguru import logger

from bot.clock import Clock, utcnow
from bot.errors import PushRejected, StoreError
from bot.inbox import Inbox
from connectors.wechat.push import MAX_BODY, MAX_SKEW, PushSettings, decode_push, verify_url

if TYPE_CHECKING:
    from starlette.routing import Route

SUCCESS = "success"


class PushEndpoint:
    """The push handling of every account, independent of the web framework."""

    def __init__(
        self,
        settings: Mapping[str, PushSettings],
        inbox: Inbox,
        *,
        clock: Clock = utcnow,
        max_skew: float = MAX_SKEW,
        on_result: Callable[[str, str], None] | None = None,
    ) -> None:
        self.settings = dict(settings)
        self.inbox = inbox
        self.clock = clock
        self.max_skew = max_skew
        self.on_result = on_result
        self._seen: dict[tuple[str, str, str, str], float] = {}
        self._lock = threading.Lock()

    def handle(self, method: str, account: str, query: Mapping[str, str],
               body: bytes) -> tuple[int, str]:
        """(HTTP status, body text) for one request."""
        started = self.clock()
        now = started.timestamp()
        settings = self.settings.get(account)
        if settings is None:
            return self._done(account, "unknown_account", 404,
                              "no push settings for this account (push_token in the config)")
        try:
            if method == "GET":
                return self._done(account, "handshake", 200, verify_url(
                    settings, query, now=now, max_skew=self.max_skew))
            if method != "POST":
                return self._done(account, "method", 405, "use GET or POST")
            msg = decode_push(settings, query, body, now=now, max_skew=self.max_skew)
        except PushRejected as exc:
            logger.warning("push for account {} refused ({}): {}", account, exc.reason, exc)
            return self._done(account, exc.reason, exc.status, f"refused: {exc.reason}")
        seen = (account, query.get("timestamp", ""), query.get("nonce", ""),
                query.get("msg_signature") or query.get("signature", ""))
        with self._lock:
            self._forget_old(now)
            if seen in self._seen:
                return self._done(account, "replay", 200, SUCCESS)
        try:
            result = self.inbox.accept(account, msg, started=started)
        except StoreError as exc:
            logger.error("push for account {} not stored ({}); answered 503 so the platform "
                         "retries", account, exc)
            return self._done(account, "store_error", 503, "not stored, try again")
        with self._lock:
            self._seen[seen] = now
        logger.debug("push for account {}: {} {} {}", account, msg.msg_type, msg.dedupe_key,
                     result)
        return self._done(account, result, 200, SUCCESS)

    def _forget_old(self, now: float) -> None:
        if len(self._seen) < 1024:
            return
        horizon = now - 2 * self.max_skew
        for key in [k for k, at in self._seen.items() if at < horizon]:
            del self._seen[key]

    def _done(self, account: str, result: str, status: int, text: str) -> tuple[int, str]:
        if self.on_result:
            self.on_result(account, result)
        return status, text


def push_routes(endpoint: PushEndpoint | None) -> list[Route]:
    """The Starlette route for ``/wechat/{account}`` (none when push is not set up)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    if endpoint is None:
        return []

    async def wechat(request: Request) -> Response:
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_BODY:
            return PlainTextResponse("refused: too_large", status_code=413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return PlainTextResponse("refused: too_large", status_code=413)
        status, text = await run_in_threadpool(
            endpoint.handle, request.method, request.path_params["account"],
            dict(request.query_params), body)
        return PlainTextResponse(text, status_code=status)

    return [Route("/wechat/{account}", wechat, methods=["GET", "POST"])]


__all__ = ["SUCCESS", "PushEndpoint", "push_routes"]
