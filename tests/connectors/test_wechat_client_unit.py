"""WeChatClient against httpx.MockTransport: paging, tokens, every error class, retries."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import httpx
import pytest

from bot.errors import (
    AlreadyReplied,
    ApiError,
    AuthError,
    BadRequest,
    NotFound,
    ProtocolError,
    RateLimited,
    TokenExpired,
    TransientError,
)
from connectors.wechat import ArticleRef, Comment, Reply, WeChatClient

SECRET = "s3cr3t-VALUE-xyz"


class Platform:
    """A scripted platform: per-path queues of answers, plus a default token endpoint."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.scripts: dict[str, list[Callable[[httpx.Request], httpx.Response]]] = {}
        self.tokens_issued = 0

    def script(self, path: str, *answers: object) -> None:
        self.scripts.setdefault(path, []).extend(_as_responder(a) for a in answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.scripts.get(request.url.path)
        if queue:
            return queue.pop(0)(request)
        if request.url.path == "/cgi-bin/token":
            self.tokens_issued += 1
            return httpx.Response(200, json={"access_token": f"TOKEN{self.tokens_issued}",
                                             "expires_in": 7200})
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    def bodies(self, path: str) -> list[dict[str, object]]:
        return [json.loads(r.content) for r in self.requests if r.url.path == path]


def _as_responder(answer: object) -> Callable[[httpx.Request], httpx.Response]:
    if callable(answer):
        return answer  # type: ignore[return-value]
    if isinstance(answer, httpx.Response):
        return lambda r: answer
    return lambda r: httpx.Response(200, json=answer)


def make(platform: Platform, sleeps: list[float] | None = None, *, now: float = 1_700_000_000.0,
         **kw: object) -> WeChatClient:
    sleeps = sleeps if sleeps is not None else []
    return WeChatClient("wxAPPID", SECRET, transport=httpx.MockTransport(platform),
                        sleep=sleeps.append, clock=lambda: now, **kw)  # type: ignore[arg-type]


def err(code: int, msg: str = "boom") -> dict[str, object]:
    return {"errcode": code, "errmsg": f"{msg} rid: 61a9e588-4a6e5666-37bdd2ca"}


def comment_json(cid: int, **extra: object) -> dict[str, object]:
    return {"user_comment_id": cid, "openid": f"o_{cid}", "create_time": 1000 + cid,
            "content": f"c{cid}", "comment_type": 0, **extra}


# ---------------------------------------------------------------- paging and models

def test_list_comments_parses_page_and_sends_documented_body() -> None:
    p = Platform()
    p.script("/cgi-bin/comment/list", {
        "errcode": 0, "errmsg": "ok", "total": 2,
        "comment": [comment_json(1, reply={"content": "电话发我", "create_time": 1200}),
                    {"user_comment_id": "2", "create_time": 1002, "content": "无 openid"}]})
    page = make(p).list_comments("2247480001")
    assert page.total == 2
    assert page.comments[0] == Comment(1, "o_1", 1001, "c1", 0, Reply("电话发我", 1200))
    assert page.comments[1].openid is None and page.comments[1].user_comment_id == 2
    body = p.bodies("/cgi-bin/comment/list")[0]
    assert body == {"msg_data_id": 2247480001, "index": 0, "begin": 0, "count": 49, "type": 0}


def test_iter_comments_pages_until_short_page_and_dedupes() -> None:
    p = Platform()
    p.script("/cgi-bin/comment/list",
             {"errcode": 0, "total": 5, "comment": [comment_json(i) for i in (1, 2)]},
             {"errcode": 0, "total": 5, "comment": [comment_json(i) for i in (2, 3)]},
             {"errcode": 0, "total": 5, "comment": [comment_json(5)]})
    got = [c.user_comment_id for c in make(p).iter_comments(7, page_size=2)]
    assert got == [1, 2, 3, 5]
    assert [b["begin"] for b in p.bodies("/cgi-bin/comment/list")] == [0, 2, 4]


def test_iter_comments_stops_on_empty_page() -> None:
    p = Platform()
    p.script("/cgi-bin/comment/list", {"errcode": 0, "total": 0, "comment": []})
    assert list(make(p).iter_comments(7)) == []


def test_count_above_49_is_refused_before_any_call() -> None:
    p = Platform()
    with pytest.raises(BadRequest):
        make(p).list_comments(1, count=50)
    assert p.requests == []


def test_ids_accepted_as_numbers_or_strings() -> None:
    p = Platform()
    c = make(p)
    c.reply_comment("11", 1, "8", "好的")
    c.markelect(11, 0, 8)
    bodies = p.bodies("/cgi-bin/comment/reply/add") + p.bodies("/cgi-bin/comment/markelect")
    assert bodies[0] == {"msg_data_id": 11, "index": 1, "user_comment_id": 8, "content": "好的"}
    assert bodies[1]["user_comment_id"] == 8


def test_body_is_utf8_not_escaped() -> None:
    p = Platform()
    make(p).reply_comment(1, 0, 1, "电话发我")
    raw = [r.content for r in p.requests if r.url.path.endswith("reply/add")][0]
    assert "电话发我".encode() in raw and b"\\u" not in raw


def test_every_action_endpoint_path() -> None:
    p = Platform()
    c = make(p)
    c.delete_reply(1, 0, 2)
    c.unmarkelect(1, 0, 2)
    c.delete_comment(1, 0, 2)
    c.open_comment(1)
    c.close_comment(1, 1)
    c.send_custom_text("o_1", "您好")
    paths = [r.url.path for r in p.requests if r.url.path != "/cgi-bin/token"]
    assert paths == ["/cgi-bin/comment/reply/delete", "/cgi-bin/comment/unmarkelect",
                     "/cgi-bin/comment/delete", "/cgi-bin/comment/open", "/cgi-bin/comment/close",
                     "/cgi-bin/message/custom/send"]
    assert p.bodies("/cgi-bin/message/custom/send")[0] == {
        "touser": "o_1", "msgtype": "text", "text": {"content": "您好"}}


# ---------------------------------------------------------------- discovery

def test_article_summary_converts_1_based_msgid_and_asks_day_by_day() -> None:
    p = Platform()
    p.script("/datacube/getarticlesummary",
             {"list": [{"ref_date": "2024-01-01", "msgid": "10000050_1", "title": "甲"},
                       {"ref_date": "2024-01-01", "msgid": "10000050_3", "title": "丙"},
                       {"ref_date": "2024-01-01", "msgid": "garbage", "title": "x"}]},
             {"list": [{"ref_date": "2024-01-02", "msgid": "10000050_1", "title": "甲"}]})
    refs = make(p).article_summary(date(2024, 1, 1), date(2024, 1, 2))
    assert refs == [ArticleRef("10000050", 0, "甲", None, "datacube"),
                    ArticleRef("10000050", 2, "丙", None, "datacube")]
    assert [b["begin_date"] for b in p.bodies("/datacube/getarticlesummary")] == [
        "2024-01-01", "2024-01-02"]


def test_published_articles_reads_mid_idx_from_url_or_falls_back_to_article_id() -> None:
    p = Platform()
    p.script("/cgi-bin/freepublish/batchget", {"total_count": 2, "item_count": 2, "item": [
        {"article_id": "ART1", "update_time": 1700000000, "content": {"news_item": [
            {"title": "一", "url": "http://mp.weixin.qq.com/s?__biz=X&mid=2247487033&idx=2&sn=y"},
            {"title": "二", "url": "https://mp.weixin.qq.com/s/short"},
            {"title": "删", "url": "", "is_deleted": True}]}},
    ]})
    refs = make(p).published_articles()
    assert refs == [ArticleRef("2247487033", 1, "一", 1700000000, "freepublish"),
                    ArticleRef("ART1", 1, "二", 1700000000, "freepublish")]
    assert p.bodies("/cgi-bin/freepublish/batchget")[0]["count"] == 20


# ---------------------------------------------------------------- tokens

def test_token_cached_across_calls() -> None:
    p = Platform()
    c = make(p)
    c.open_comment(1)
    c.open_comment(1)
    assert p.tokens_issued == 1
    assert all(r.url.params.get("access_token") == "TOKEN1" for r in p.requests[1:])


@pytest.mark.parametrize("code", [40001, 40014, 42001])
def test_stale_token_refreshes_once_and_retries(code: int) -> None:
    p = Platform()
    p.script("/cgi-bin/comment/open", err(code))
    c = make(p)
    c.open_comment(1)
    opens = [r for r in p.requests if r.url.path == "/cgi-bin/comment/open"]
    assert [r.url.params["access_token"] for r in opens] == ["TOKEN1", "TOKEN2"]
    assert c.token_refreshes == 2


def test_stale_token_twice_gives_up_with_token_expired() -> None:
    p = Platform()
    p.script("/cgi-bin/comment/open", err(42001), err(42001), err(42001))
    with pytest.raises(TokenExpired):
        make(p).open_comment(1)
    assert p.tokens_issued == 2


def test_token_refreshed_shortly_before_expiry() -> None:
    p = Platform()
    now = [1000.0]
    c = WeChatClient("wx", SECRET, transport=httpx.MockTransport(p), clock=lambda: now[0])
    c.open_comment(1)
    now[0] += 7200 - 300 - 1
    c.open_comment(1)
    assert p.tokens_issued == 1
    now[0] += 2  # inside the 5-minute margin
    c.open_comment(1)
    assert p.tokens_issued == 2


def test_stable_token_is_posted_with_secret_in_body() -> None:
    p = Platform()
    p.script("/cgi-bin/stable_token", {"access_token": "STABLE", "expires_in": 7200})
    make(p, use_stable_token=True).open_comment(1)
    first = p.requests[0]
    assert first.method == "POST" and first.url.path == "/cgi-bin/stable_token"
    assert json.loads(first.content)["force_refresh"] is False
    assert p.requests[1].url.params["access_token"] == "STABLE"


@pytest.mark.parametrize("code", [40001, 40013, 40125, 40164, 41004])
def test_bad_credentials_on_token_endpoint_are_auth_errors(code: int) -> None:
    p = Platform()
    p.script("/cgi-bin/token", err(code))
    with pytest.raises(AuthError) as info:
        make(p).open_comment(1)
    assert info.value.errcode == code


def test_token_answer_without_access_token_is_protocol_error() -> None:
    p = Platform()
    p.script("/cgi-bin/token", {"expires_in": 7200})
    with pytest.raises(ProtocolError):
        make(p, max_retries=0).open_comment(1)


# ---------------------------------------------------------------- error classes

@pytest.mark.parametrize(("code", "cls"), [
    (88001, NotFound), (88008, NotFound), (88009, NotFound), (87009, NotFound),
    (88005, AlreadyReplied), (47001, BadRequest), (88007, BadRequest), (88010, BadRequest),
    (40097, BadRequest), (48001, AuthError), (88000, AuthError), (45009, RateLimited),
    (45011, RateLimited), (99999, BadRequest),
])
def test_errcode_maps_to_class(code: int, cls: type[ApiError]) -> None:
    p = Platform()
    p.script("/cgi-bin/comment/reply/add", err(code))
    with pytest.raises(cls) as info:
        make(p).reply_comment(1, 0, 1, "x")
    assert info.value.errcode == code
    assert info.value.endpoint == "comment/reply/add"


def test_errmsg_text_is_never_used_for_matching() -> None:
    p = Platform()
    p.script("/cgi-bin/comment/reply/add", {"errcode": 88008, "errmsg": "already reply"})
    with pytest.raises(NotFound):
        make(p).reply_comment(1, 0, 1, "x")


def test_rate_limited_retry_after() -> None:
    # 2023-11-14 22:13:20 UTC = 2023-11-15 06:13:20 Asia/Shanghai
    now = 1_700_000_000.0
    p = Platform()
    p.script("/cgi-bin/comment/list", err(45011), err(45009))
    c = make(p, now=now)
    with pytest.raises(RateLimited) as minute:
        c.list_comments(1)
    assert minute.value.retry_after == 40.0
    with pytest.raises(RateLimited) as day:
        c.list_comments(1)
    assert day.value.retry_after == (24 - 6) * 3600 - 13 * 60 - 20


# ---------------------------------------------------------------- retries

def test_transient_errors_retry_with_capped_backoff_then_succeed() -> None:
    p = Platform()
    p.script("/cgi-bin/comment/open", err(-1), httpx.Response(502), httpx.Response(200, content=b"<html>"))
    sleeps: list[float] = []
    make(p, sleeps, backoff_base=1.0, backoff_cap=1.5).open_comment(1)
    assert len(sleeps) == 3
    assert 0.5 <= sleeps[0] <= 1.0 and all(s <= 1.5 for s in sleeps)


def test_transient_errors_give_up_after_max_retries() -> None:
    p = Platform()
    p.script("/cgi-bin/comment/open", *[err(-1)] * 10)
    sleeps: list[float] = []
    with pytest.raises(TransientError) as info:
        make(p, sleeps, max_retries=2).open_comment(1)
    assert info.value.errcode == -1
    assert len(sleeps) == 2


def test_connection_errors_become_transient_with_cause() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    p = Platform()
    p.script("/cgi-bin/token", boom, boom)
    with pytest.raises(TransientError) as info:
        make(p, max_retries=1).open_comment(1)
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_timeouts_become_transient() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    p = Platform()
    p.script("/cgi-bin/comment/open", slow)
    with pytest.raises(TransientError):
        make(p, max_retries=0).open_comment(1)


def test_non_transient_errors_are_not_retried() -> None:
    p = Platform()
    p.script("/cgi-bin/comment/reply/add", err(88005))
    sleeps: list[float] = []
    with pytest.raises(AlreadyReplied):
        make(p, sleeps).reply_comment(1, 0, 1, "x")
    assert sleeps == []


def test_http_4xx_is_bad_request() -> None:
    p = Platform()
    p.script("/cgi-bin/comment/open", httpx.Response(404, text="not here"))
    with pytest.raises(BadRequest):
        make(p).open_comment(1)


@pytest.mark.parametrize("answer", [
    b"not json", b"[1, 2]", b'"x"', b'{"errcode": "abc"}', b"\xff\xfe",
    b'{"errcode": 0, "total": 1, "comment": [{"user_comment_id": 1}]}',
    b'{"errcode": 0, "comment": {"a": 1}}', b'{"errcode": 0}',
    b'{"errcode": 0, "comment": [{"user_comment_id": true, "content": "x"}]}',
])
def test_malformed_answers_are_protocol_errors(answer: bytes) -> None:
    p = Platform()
    p.script("/cgi-bin/comment/list", httpx.Response(200, content=answer))
    with pytest.raises(ProtocolError):
        make(p, max_retries=0).list_comments(1)


# ---------------------------------------------------------------- secrets

def test_secret_and_token_never_in_error_text_or_repr() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"failed for {request.url}", request=request)

    p = Platform()
    p.script("/cgi-bin/token", boom)
    c = make(p, max_retries=0)
    with pytest.raises(TransientError) as info:
        c.open_comment(1)
    assert SECRET not in str(info.value) and SECRET not in repr(c)

    p2 = Platform()
    p2.script("/cgi-bin/comment/open", lambda r: (_ for _ in ()).throw(
        httpx.ReadError(f"reset on {r.url}", request=r)))
    with pytest.raises(TransientError) as info2:
        make(p2, max_retries=0).open_comment(1)
    assert "TOKEN1" not in str(info2.value)
    assert "access_token=***" in str(info2.value)


def test_errmsg_echoing_the_secret_is_masked() -> None:
    p = Platform()
    p.script("/cgi-bin/token", err(40125, f"invalid appsecret secret={SECRET}"))
    with pytest.raises(AuthError) as info:
        make(p).open_comment(1)
    assert SECRET not in str(info.value) and SECRET not in info.value.errmsg


def test_lone_surrogate_content_is_bad_request() -> None:
    p = Platform()
    with pytest.raises(BadRequest):
        make(p).reply_comment(1, 0, 1, "bad \ud800 text")


def test_one_refresher_at_a_time() -> None:
    import threading

    from connectors.wechat.token import TokenCache

    calls: list[int] = []
    gate = threading.Event()

    def fetch() -> tuple[str, float]:
        calls.append(1)
        gate.wait(5)
        return "TOKEN-XYZ", 7200.0

    cache = TokenCache(fetch, clock=lambda: 0.0)
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get())) for _ in range(8)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(5)
    assert got == ["TOKEN-XYZ"] * 8 and len(calls) == 1
    cache.invalidate("OLD")  # a stale token someone else already replaced: no effect
    assert cache.get() == "TOKEN-XYZ" and len(calls) == 1
    assert "TOKEN-XYZ" not in repr(cache)


@pytest.mark.parametrize("module", ["connectors.wechat", "connectors.mock"])
def test_public_surface_is_real(module: str) -> None:
    import importlib

    mod = importlib.import_module(module)
    assert len(set(mod.__all__)) == len(mod.__all__)
    assert all(hasattr(mod, name) for name in mod.__all__)
