"""The platform side of the mock: the same paths, JSON shapes and errcodes as the real API.

Order of checks on a business call (as on the real platform): HTTP method (43002), access token
(41001 / 40001 / 42001), daily quota (45009), injected ``-1`` system errors, then the body
(47001 not JSON, 40033 ``\\uXXXX``-escaped non-ASCII, 40097 bad arguments) and the operation's own
codes (88001, 88005, 88007, 88008, 88009, 88010 ...). Errors are HTTP 200 with ``errcode`` and an
``errmsg`` ending in `` rid: ...``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from connectors.mock.state import MockApiError, MockState
from connectors.mock.wire import Faults, Request, Response, platform_error

OK: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
_ESCAPED = re.compile(rb"(?<!\\)((?:\\\\)*)\\u([0-9a-fA-F]{4})")
_DIGITS = re.compile(r"[0-9]{1,18}")

Handler = Callable[[dict[str, Any], Request], dict[str, Any]]


class Platform:
    """Answers ``/cgi-bin/...`` and ``/datacube/...`` requests."""

    def __init__(self, state: MockState, faults: Faults, *, appid: str, secret: str,
                 token_ttl: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.state = state
        self.faults = faults
        self.appid = appid
        self.secret = secret
        self.token_ttl = token_ttl
        self._sleep = sleep
        self._business: dict[str, Handler] = {
            "/cgi-bin/comment/open": self._open,
            "/cgi-bin/comment/close": self._close,
            "/cgi-bin/comment/list": self._list,
            "/cgi-bin/comment/markelect": lambda b, r: self._comment_op(b, "markelect"),
            "/cgi-bin/comment/unmarkelect": lambda b, r: self._comment_op(b, "unmarkelect"),
            "/cgi-bin/comment/delete": lambda b, r: self._comment_op(b, "delete"),
            "/cgi-bin/comment/reply/add": lambda b, r: self._comment_op(b, "reply/add"),
            "/cgi-bin/comment/reply/delete": lambda b, r: self._comment_op(b, "reply/delete"),
            "/cgi-bin/freepublish/batchget": self._batchget,
            "/datacube/getarticlesummary": self._summary,
            "/cgi-bin/message/custom/send": self._custom_send,
            "/cgi-bin/clear_quota": self._clear_quota,
            "/cgi-bin/openapi/quota/get": self._quota_get,
        }

    def handles(self, path: str) -> bool:
        return path.startswith(("/cgi-bin/", "/datacube/"))

    def handle(self, req: Request) -> Response:
        if self.faults.latency_ms:
            self._sleep(self.faults.latency_ms / 1000)
        try:
            if req.path == "/cgi-bin/token":
                return Response(200, self._token(req))
            if req.path == "/cgi-bin/stable_token":
                return Response(200, self._stable_token(req))
            if req.path == "/cgi-bin/webhook/send":
                return Response(200, self._webhook(req))
            handler = self._business.get(req.path)
            if handler is None:
                return Response(404, {"errcode": 404, "errmsg": f"no such API {req.path} (mock)"})
            if req.method != "POST":
                raise MockApiError(43002, "require POST method")
            self.state.check_token(req.query.get("access_token"))
            self.state.use_quota(req.path, self.faults.daily_quota)
            if self.faults.should_fail():
                raise MockApiError(-1, "system error")
            body = _body(req.body, check_escapes=self.faults.strict_charset)
            return Response(200, handler(body, req))
        except MockApiError as exc:
            return platform_error(exc.errcode, exc.errmsg)

    # ------------------------------------------------------------------ tokens
    def _token(self, req: Request) -> dict[str, Any]:
        if req.method != "GET":
            raise MockApiError(43001, "require GET method")
        q = req.query
        self._check_credentials(q.get("grant_type"), q.get("appid"), q.get("secret"))
        token, ttl = self.state.issue_token("token", self.token_ttl)
        return {"access_token": token, "expires_in": int(ttl)}

    def _stable_token(self, req: Request) -> dict[str, Any]:
        if req.method != "POST":
            raise MockApiError(43002, "require POST method")
        body = _body(req.body, check_escapes=False)
        force = body.get("force_refresh", False)
        if not isinstance(force, bool):
            raise MockApiError(40097, "invalid args")
        self._check_credentials(body.get("grant_type"), body.get("appid"), body.get("secret"))
        token, ttl = self.state.stable_token(self.token_ttl, force)
        return {"access_token": token, "expires_in": max(1, int(ttl))}

    def _check_credentials(self, grant: object, appid: object, secret: object) -> None:
        if not appid:
            raise MockApiError(41002, "appid missing")
        if not secret:
            raise MockApiError(41004, "appsecret missing")
        if grant != "client_credential":
            raise MockApiError(40002, "invalid grant_type")
        if appid != self.appid:
            raise MockApiError(40013, "invalid appid")
        if secret != self.secret:
            # Older docs say 40001 here; since ~2022 the platform answers 40125.
            raise MockApiError(40125, "invalid appsecret")

    # ------------------------------------------------------------------ comments
    def _open(self, body: dict[str, Any], req: Request) -> dict[str, Any]:
        self.state.set_comments_open(*_article(body), True)
        return OK

    def _close(self, body: dict[str, Any], req: Request) -> dict[str, Any]:
        self.state.set_comments_open(*_article(body), False)
        return OK

    def _list(self, body: dict[str, Any], req: Request) -> dict[str, Any]:
        msg_data_id, index = _article(body)
        count = _as_int(body.get("count"))
        if count is None or not 0 < count <= 50:  # count=50 is ambiguous in the docs; accepted
            raise MockApiError(88010, "count range error. cout <= 0 or count > 50")
        begin = _as_int(body.get("begin", 0))
        type_ = _as_int(body.get("type", 0))
        if begin is None or begin < 0 or type_ not in (0, 1, 2):
            raise MockApiError(40097, "invalid args")
        total, comments = self.state.list_comments(msg_data_id, index, begin, count, type_)
        return {"errcode": 0, "errmsg": "ok", "total": total, "comment": comments}

    def _comment_op(self, body: dict[str, Any], op: str) -> dict[str, Any]:
        msg_data_id, index = _article(body)
        cid = _as_int(body.get("user_comment_id"))
        if cid is None:
            raise MockApiError(40097, "invalid args")
        if op == "reply/add":
            content = body.get("content")
            if not isinstance(content, str):
                raise MockApiError(88007, "reply content beyond max len or content len is zero")
            self.state.add_reply(msg_data_id, index, cid, content)
        elif op == "reply/delete":
            self.state.delete_reply(msg_data_id, index, cid)
        elif op in ("markelect", "unmarkelect"):
            self.state.set_elected(msg_data_id, index, cid, op == "markelect")
        else:
            self.state.delete_comment(msg_data_id, index, cid)
        return OK

    # ------------------------------------------------------------------ discovery
    def _batchget(self, body: dict[str, Any], req: Request) -> dict[str, Any]:
        offset, count = _as_int(body.get("offset", 0)), _as_int(body.get("count"))
        no_content = body.get("no_content", 0)
        if (offset is None or offset < 0 or count is None or not 1 <= count <= 20
                or no_content not in (0, 1, True, False)):
            raise MockApiError(40097, "invalid args")
        groups = self.state.publish_groups()
        page = groups[offset:offset + count]
        items = []
        for msg_data_id, arts in page:
            news = []
            for art in arts:
                item: dict[str, Any] = {
                    "title": art["title"], "author": "", "digest": "",
                    "content_source_url": "", "thumb_media_id": "", "show_cover_pic": 0,
                    "need_open_comment": int(art["comments_open"]), "only_fans_can_comment": 0,
                    "url": f"http://mp.weixin.qq.com/s?__biz=MzAwMDAwMDAwMA==&mid={msg_data_id}"
                           f"&idx={art['index'] + 1}&sn=mock#rd",
                    "is_deleted": False}
                if not no_content:
                    item["content"] = f"<p>{art['title']}</p>"
                news.append(item)
            items.append({"article_id": f"mock_article_{msg_data_id}",
                          "content": {"news_item": news}, "update_time": arts[0]["created_at"]})
        return {"total_count": len(groups), "item_count": len(items), "item": items}

    def _summary(self, body: dict[str, Any], req: Request) -> dict[str, Any]:
        try:
            begin = date.fromisoformat(str(body.get("begin_date")))
            end = date.fromisoformat(str(body.get("end_date")))
        except ValueError:
            raise MockApiError(61500, "date format error") from None
        if end < begin:
            raise MockApiError(61501, "date range error")
        return {"list": self.state.summary_rows(begin, end)}

    # ------------------------------------------------------------------ messages and quota
    def _custom_send(self, body: dict[str, Any], req: Request) -> dict[str, Any]:
        touser, msgtype = body.get("touser"), body.get("msgtype")
        if not isinstance(touser, str) or not touser:
            raise MockApiError(40003, "invalid openid")
        if not isinstance(msgtype, str) or not isinstance(body.get(msgtype), dict):
            raise MockApiError(40008, "invalid message type")
        if msgtype == "text":
            content = body["text"].get("content")
            if not isinstance(content, str) or not content:
                raise MockApiError(44004, "empty content")
        self.state.check_window(touser)
        self.state.store_custom(touser, msgtype, body)
        return OK

    def _clear_quota(self, body: dict[str, Any], req: Request) -> dict[str, Any]:
        if body.get("appid") != self.appid:
            raise MockApiError(40013, "invalid appid")
        self.state.clear_quota()
        return OK

    def _quota_get(self, body: dict[str, Any], req: Request) -> dict[str, Any]:
        path = body.get("cgi_path")
        if not isinstance(path, str) or path not in self._business:
            raise MockApiError(76021, "cgi_path not found")
        used = self.state.quota_used(path)
        limit = self.faults.daily_quota
        return {"errcode": 0, "errmsg": "ok", "quota": {
            "daily_limit": limit if limit is not None else 1_000_000, "used": used,
            "remain": max(0, (limit if limit is not None else 1_000_000) - used)}}

    # ------------------------------------------------------------------ WeCom robot
    def _webhook(self, req: Request) -> dict[str, Any]:
        key = req.query.get("key", "")
        if req.method != "POST":
            raise MockApiError(43002, "require POST method")
        if not key:
            raise MockApiError(93000, f"invalid webhook url, hint: [{int(self.state.clock())}_mock],"
                                      f" from ip: {req.client}, more info at"
                                      " https://open.work.weixin.qq.com/devtool/query?e=93000")
        if self.faults.should_fail():
            raise MockApiError(-1, "system busy")
        limit = self.faults.webhook_per_minute
        if limit is not None and self.state.webhook_count_since(key, self.state.clock() - 60) >= limit:
            raise MockApiError(45009, "api freq out of limit")
        body = _body(req.body, check_escapes=False)
        msgtype = body.get("msgtype")
        part = body.get(msgtype) if isinstance(msgtype, str) else None
        if not isinstance(part, dict):
            raise MockApiError(40008, "invalid message type")
        if msgtype in ("text", "markdown"):
            content = part.get("content")
            if not isinstance(content, str) or not content:
                raise MockApiError(44004, f"{msgtype}.content is empty")
            limit_bytes = 2048 if msgtype == "text" else 4096
            if len(content.encode("utf-8")) > limit_bytes:
                raise MockApiError(40058, f"{msgtype}.content exceed max length {limit_bytes}."
                                          " invalid Request Parameter")
        self.state.store_webhook(key, body)
        return OK


def _body(raw: bytes, *, check_escapes: bool = False) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise MockApiError(47001, "data format error") from None
    if not isinstance(value, dict):
        raise MockApiError(47001, "data format error")
    if check_escapes and any(int(m.group(2), 16) >= 0x80 for m in _ESCAPED.finditer(raw)):
        raise MockApiError(40033, "invalid charset. please check your request, if include"
                                  " \\uxxxx will create fail!")
    return value


def _as_int(value: object) -> int | None:
    """A JSON integer or a string of digits (both are sent by real clients), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -(2**62) < value < 2**62 else None  # SQLite integers are 64-bit
    if isinstance(value, str) and _DIGITS.fullmatch(value) is not None:
        return int(value)
    return None


def _article(body: dict[str, Any]) -> tuple[int, int]:
    msg_data_id = body.get("msg_data_id")
    if msg_data_id is None or msg_data_id == "":
        raise MockApiError(40097, "invalid args")
    as_id = _as_int(msg_data_id)
    if as_id is None:
        raise MockApiError(88001, "msg_data is not exists")
    raw_index = body.get("index", 0)
    index = 0 if raw_index is None else _as_int(raw_index)
    if index is None or index < 0:
        raise MockApiError(40097, "invalid args")
    return as_id, index


__all__ = ["Platform"]
