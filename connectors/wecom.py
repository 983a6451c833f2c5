"""The WeCom (企业微信) group-robot webhook: department notifications.

``POST {base_url}/cgi-bin/webhook/send?key=KEY`` with ``text`` (≤ 2048 UTF-8 bytes, mention lists)
or ``markdown`` (≤ 4096 bytes). The robot takes 20 messages a minute; over that it answers 45009,
raised as :class:`bot.errors.RateLimited` with ``retry_after`` = seconds to the next minute.
The key is a secret: it never appears in logs or exception text.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from types import TracebackType

import httpx
from loguru import logger

from bot.errors import BadRequest, ProtocolError, TransientError
from connectors.retry import backoff_delay
from connectors.tls import shared_ssl_context
from connectors.wechat.errors import http_status_error, raise_for_errcode, transport_error

TEXT_LIMIT = 2048
MARKDOWN_LIMIT = 4096
_ELLIPSIS = "…"


def truncate_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes on a character boundary, marked with "…"."""
    data = text.encode("utf-8", errors="surrogatepass")
    if len(data) <= limit:
        return text
    room = limit - len(_ELLIPSIS.encode("utf-8"))
    cut = data[:max(0, room)].decode("utf-8", errors="ignore")
    return cut + _ELLIPSIS


class WeComWebhook:
    """Sends messages to one WeCom group robot."""

    def __init__(
        self,
        key: str,
        *,
        base_url: str = "https://qyapi.weixin.qq.com",
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        max_retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.max_retries = max(0, max_retries)
        self._sleep = sleep
        self._clock = clock
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._rng = random.Random()
        self._http = httpx.Client(base_url=self.base_url, transport=transport,
                                  timeout=httpx.Timeout(timeout), verify=shared_ssl_context())

    def send_text(self, content: str, mentioned_list: list[str] | None = None) -> None:
        """A text message, cut safely to 2048 bytes; ``mentioned_list`` holds userids or ``@all``."""
        text: dict[str, object] = {"content": truncate_utf8(content, TEXT_LIMIT)}
        if mentioned_list:
            text["mentioned_list"] = list(mentioned_list)
        self._send({"msgtype": "text", "text": text})

    def send_markdown(self, content: str) -> None:
        """A markdown message, cut safely to 4096 bytes (mention with ``<@userid>`` inside)."""
        self._send({"msgtype": "markdown",
                    "markdown": {"content": truncate_utf8(content, MARKDOWN_LIMIT)}})

    def _send(self, body: Mapping[str, object]) -> None:
        attempt = 0
        while True:
            try:
                self._exchange(body)
                return
            except TransientError as exc:
                if attempt >= self.max_retries:
                    raise
                delay = backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_cap,
                                      rng=self._rng)
                logger.warning("webhook/send failed ({}); retry {}/{} in {:.1f}s",
                               type(exc).__name__, attempt + 1, self.max_retries, delay)
                attempt += 1
                self._sleep(delay)

    def _exchange(self, body: Mapping[str, object]) -> None:
        endpoint = "webhook/send"
        try:
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates cannot travel as UTF-8
            raise BadRequest(f"{endpoint}: text is not valid Unicode", endpoint=endpoint) from exc
        try:
            response = self._http.post("/cgi-bin/webhook/send", params={"key": self._key},
                                       content=content,
                                       headers={"Content-Type": "application/json; charset=utf-8"})
            raw = response.read()
        except httpx.HTTPError as exc:
            raise transport_error(exc, endpoint=endpoint) from exc
        if response.status_code != 200:
            raise http_status_error(response.status_code, endpoint=endpoint)
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ProtocolError(f"{endpoint}: answer is not JSON", endpoint=endpoint) from exc
        raise_for_errcode(payload, endpoint=endpoint, context="wecom", now=self._clock())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WeComWebhook:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"WeComWebhook(base_url={self.base_url!r})"


__all__ = ["MARKDOWN_LIMIT", "TEXT_LIMIT", "WeComWebhook", "truncate_utf8"]
