"""The WeChat official-account client (httpx, synchronous).

Every call goes through :meth:`WeChatClient._call`: token, one HTTP exchange, errcode check,
one refresh-and-retry on a stale token, capped exponential backoff for transient errors.
Wire errors become :mod:`bot.errors` exceptions in :meth:`_exchange` and nowhere else.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from types import TracebackType
from typing import Any

import httpx
from loguru import logger

from bot.errors import BadRequest, ProtocolError, TokenExpired, TransientError
from connectors.retry import backoff_delay
from connectors.tls import shared_ssl_context
from connectors.wechat.discovery import parse_batchget, parse_summary
from connectors.wechat.errors import (
    Context,
    http_status_error,
    mask,
    raise_for_errcode,
    transport_error,
)
from connectors.wechat.models import ArticleRef, Comment, CommentPage, parse_int
from connectors.wechat.token import TokenCache

MAX_PAGE = 49  # the docs contradict themselves about 50 (see notes §3.1); 49 is safe


class _MaskFilter(logging.Filter):
    """httpx logs full URLs at INFO; make sure a token or secret never reaches a log file."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.msg = mask(record.getMessage())
            record.args = None
        except Exception:  # never break logging
            pass
        return True


def _install_mask_filter() -> None:
    for name in ("httpx", "httpcore"):
        lg = logging.getLogger(name)
        if not any(isinstance(f, _MaskFilter) for f in lg.filters):
            lg.addFilter(_MaskFilter())


_install_mask_filter()

_Id = int | str


class WeChatClient:
    """Talks to ``api.weixin.qq.com`` (or the mock) for one official account."""

    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        base_url: str = "https://api.weixin.qq.com",
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        use_stable_token: bool = False,
    ) -> None:
        self.appid = appid
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self.max_retries = max(0, max_retries)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._sleep = sleep
        self._clock = clock
        self.use_stable_token = use_stable_token
        self._rng = random.Random()
        self._http = httpx.Client(
            base_url=self.base_url, transport=transport, timeout=httpx.Timeout(timeout),
            headers={"User-Agent": "dianhua/0.1"}, verify=shared_ssl_context(),
        )
        self._tokens = TokenCache(self._fetch_token, clock=clock)

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WeChatClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:  # no secret, no token
        return f"WeChatClient(appid={self.appid!r}, base_url={self.base_url!r})"

    @property
    def token_refreshes(self) -> int:
        """How many times a token was fetched (for metrics and tests)."""
        return self._tokens.refreshes

    # ------------------------------------------------------------------ comments
    def list_comments(self, msg_data_id: _Id, index: int = 0, begin: int = 0, count: int = MAX_PAGE,
                      type: int = 0) -> CommentPage:
        """One page of comments. ``index`` is 0-based; ``count`` 1..49; ``type`` 0 all, 1 normal,
        2 featured."""
        if not 1 <= count <= MAX_PAGE:
            raise BadRequest(f"comment/list: count must be 1..{MAX_PAGE}, got {count}",
                             endpoint="comment/list")
        if begin < 0:
            raise BadRequest("comment/list: begin must be >= 0", endpoint="comment/list")
        data = self._call("cgi-bin/comment/list", {
            "msg_data_id": _id(msg_data_id), "index": index, "begin": begin, "count": count,
            "type": type,
        })
        return CommentPage.from_json(data, endpoint="comment/list")

    def iter_comments(self, msg_data_id: _Id, index: int = 0, begin: int = 0,
                      page_size: int = MAX_PAGE) -> Iterator[Comment]:
        """Every comment from ``begin`` on, page by page, until a short or empty page.

        A comment seen twice (the list moved under us) is yielded once.
        """
        seen: set[int] = set()
        while True:
            page = self.list_comments(msg_data_id, index, begin, page_size)
            for comment in page.comments:
                if comment.user_comment_id not in seen:
                    seen.add(comment.user_comment_id)
                    yield comment
            if len(page.comments) < page_size:
                return
            begin += len(page.comments)

    def reply_comment(self, msg_data_id: _Id, index: int, user_comment_id: _Id, content: str) -> None:
        """Post the account's public reply. Raises :class:`AlreadyReplied` (88005) on a second one."""
        self._action("comment/reply/add", msg_data_id, index, user_comment_id, content=content)

    def delete_reply(self, msg_data_id: _Id, index: int, user_comment_id: _Id) -> None:
        self._action("comment/reply/delete", msg_data_id, index, user_comment_id)

    def markelect(self, msg_data_id: _Id, index: int, user_comment_id: _Id) -> None:
        """Feature (精选) a comment."""
        self._action("comment/markelect", msg_data_id, index, user_comment_id)

    def unmarkelect(self, msg_data_id: _Id, index: int, user_comment_id: _Id) -> None:
        self._action("comment/unmarkelect", msg_data_id, index, user_comment_id)

    def delete_comment(self, msg_data_id: _Id, index: int, user_comment_id: _Id) -> None:
        self._action("comment/delete", msg_data_id, index, user_comment_id)

    def open_comment(self, msg_data_id: _Id, index: int = 0) -> None:
        self._call("cgi-bin/comment/open", {"msg_data_id": _id(msg_data_id), "index": index})

    def close_comment(self, msg_data_id: _Id, index: int = 0) -> None:
        self._call("cgi-bin/comment/close", {"msg_data_id": _id(msg_data_id), "index": index})

    def _action(self, op: str, msg_data_id: _Id, index: int, user_comment_id: _Id,
                **extra: Any) -> None:
        body = {"msg_data_id": _id(msg_data_id), "index": index,
                "user_comment_id": _id(user_comment_id), **extra}
        self._call(f"cgi-bin/{op}", body)

    # ------------------------------------------------------------------ discovery
    def article_summary(self, begin_date: date, end_date: date) -> list[ArticleRef]:
        """Articles from ``datacube/getarticlesummary``, one call per day (the API's span is one
        day). See :mod:`connectors.wechat.discovery` for the platform's limits."""
        if end_date < begin_date:
            raise BadRequest("datacube: end_date before begin_date", endpoint="datacube")
        refs: dict[tuple[str, int], ArticleRef] = {}
        day = begin_date
        while day <= end_date:
            iso = day.isoformat()
            data = self._call("datacube/getarticlesummary", {"begin_date": iso, "end_date": iso})
            for ref in parse_summary(data):
                refs.setdefault((ref.msg_data_id, ref.index), ref)
            day = date.fromordinal(day.toordinal() + 1)
        return list(refs.values())

    def published_articles(self, offset: int = 0, count: int = 20) -> list[ArticleRef]:
        """Articles from ``freepublish/batchget`` (count 1..20). Their ids may not be usable by the
        comment API: see :mod:`connectors.wechat.discovery`."""
        if not 1 <= count <= 20:
            raise BadRequest("freepublish/batchget: count must be 1..20", endpoint="freepublish/batchget")
        data = self._call("cgi-bin/freepublish/batchget",
                          {"offset": offset, "count": count, "no_content": 1})
        return parse_batchget(data)

    # ------------------------------------------------------------------ quota
    def quota_remaining(self, cgi_path: str = "/cgi-bin/comment/list") -> int:
        """Calls of ``cgi_path`` left today (``openapi/quota/get`` → ``quota.remain``).

        The cheap question to ask while paused on 45009: 0 means still exhausted.
        """
        endpoint = "openapi/quota/get"
        data = self._call("cgi-bin/openapi/quota/get", {"cgi_path": cgi_path})
        quota = data.get("quota")
        if not isinstance(quota, Mapping):
            raise ProtocolError(f"{endpoint}: 'quota' is not an object", endpoint=endpoint)
        remain = parse_int(quota.get("remain"), "quota.remain", endpoint)
        return max(0, remain)

    # ------------------------------------------------------------------ messages
    def send_custom_text(self, openid: str, content: str) -> None:
        """Customer-service text message (only within the platform's 48-hour window).

        Not retried after a transient failure: the platform cannot be asked whether a message
        arrived, so the caller decides (see :func:`connectors.wechat.errors.maybe_delivered`).
        """
        self._call("cgi-bin/message/custom/send",
                   {"touser": openid, "msgtype": "text", "text": {"content": content}},
                   retry_transient=False)

    # ------------------------------------------------------------------ machinery
    def _call(self, path: str, body: Mapping[str, object], *,
              retry_transient: bool = True) -> Mapping[str, object]:
        """POST a business call with the token; refresh once on a stale token; back off on
        transient errors; everything else propagates."""
        attempt = 0
        refreshed = False
        while True:
            token: str | None = None
            try:
                token = self._tokens.get()
                return self._exchange("POST", path, params={"access_token": token}, body=body,
                                      context="business")
            except TokenExpired:
                if refreshed or token is None:
                    raise
                refreshed = True
                logger.info("access token rejected on {}; refreshing once", path)
                self._tokens.invalidate(token)
            except TransientError as exc:
                if not retry_transient or attempt >= self.max_retries:
                    raise
                delay = backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_cap,
                                      rng=self._rng)
                logger.warning("{} failed ({}); retry {}/{} in {:.1f}s", path, type(exc).__name__,
                               attempt + 1, self.max_retries, delay)
                attempt += 1
                self._sleep(delay)

    def _fetch_token(self) -> tuple[str, float]:
        if self.use_stable_token:
            data = self._exchange("POST", "cgi-bin/stable_token", params={}, context="token", body={
                "grant_type": "client_credential", "appid": self.appid, "secret": self._secret,
                "force_refresh": False})
        else:
            data = self._exchange("GET", "cgi-bin/token", context="token", body=None, params={
                "grant_type": "client_credential", "appid": self.appid, "secret": self._secret})
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise ProtocolError("token: answer has no access_token", endpoint="token")
        expires_in = data.get("expires_in", 7200)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            expires_in = parse_int(expires_in, "expires_in", "token")
        return token, float(expires_in)

    def _exchange(self, method: str, path: str, *, params: Mapping[str, str],
                  body: Mapping[str, object] | None, context: Context) -> Mapping[str, object]:
        """One HTTP exchange: the single place where wire errors become dianhua errors."""
        endpoint = path.removeprefix("cgi-bin/")
        try:
            content = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates cannot travel as UTF-8
            raise BadRequest(f"{endpoint}: text is not valid Unicode", endpoint=endpoint) from exc
        headers = {} if body is None else {"Content-Type": "application/json; charset=utf-8"}
        try:
            response = self._http.request(method, "/" + path, params=dict(params), content=content,
                                          headers=headers)
            raw = response.read()
        except httpx.HTTPError as exc:
            raise transport_error(exc, endpoint=endpoint) from exc
        if response.status_code != 200:
            raise http_status_error(response.status_code, endpoint=endpoint)
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ProtocolError(f"{endpoint}: answer is not JSON", endpoint=endpoint) from exc
        return raise_for_errcode(payload, endpoint=endpoint, context=context, now=self._clock())


def _id(value: _Id) -> int | str:
    """Ids go out as numbers when they look like numbers (the documented type), else as given."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value


__all__ = ["MAX_PAGE", "WeChatClient"]
