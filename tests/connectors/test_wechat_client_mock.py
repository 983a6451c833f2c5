"""WeChatClient against the mock over real HTTP on a free port."""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.clock import SHANGHAI
from bot.errors import (
    AlreadyReplied,
    AuthError,
    BadRequest,
    NotFound,
    RateLimited,
    TransientError,
)
from connectors.mock import DEFAULT_APPID, DEFAULT_SECRET, MockServer
from connectors.wechat import WeChatClient

HTTP = httpx.Client(timeout=5)  # shared: building a client per call costs ~0.1 s of TLS setup


def test_paging_through_more_than_one_page(mock_server: MockServer, article: tuple[int, int],
                                           client: WeChatClient) -> None:
    mid, idx = article
    for i in range(120):
        mock_server.state.add_comment(mid, idx, f"o_{i}", f"第{i}条")
    page = client.list_comments(mid, idx, begin=0, count=49)
    assert page.total == 120 and len(page.comments) == 49
    got = list(client.iter_comments(mid, idx))
    assert [c.content for c in got] == [f"第{i}条" for i in range(120)]
    assert [c.user_comment_id for c in got] == list(range(1, 121))


def test_reply_once_then_already_replied_then_delete(mock_server: MockServer,
                                                     article: tuple[int, int],
                                                     client: WeChatClient) -> None:
    mid, idx = article
    cid = mock_server.state.add_comment(mid, idx, "o_1", "能不能优先安排，因为真的挺急")
    client.reply_comment(mid, idx, cid, "电话发我")
    with pytest.raises(AlreadyReplied):
        client.reply_comment(str(mid), idx, str(cid), "电话发我")
    [c] = client.list_comments(mid, idx).comments
    assert c.reply is not None and c.reply.content == "电话发我"
    client.delete_reply(mid, idx, cid)
    with pytest.raises(NotFound):
        client.delete_reply(mid, idx, cid)
    assert client.list_comments(mid, idx).comments[0].reply is None


def test_markelect_delete_and_type_filter(mock_server: MockServer, article: tuple[int, int],
                                          client: WeChatClient) -> None:
    mid, idx = article
    a = mock_server.state.add_comment(mid, idx, "o_1", "一")
    b = mock_server.state.add_comment(mid, idx, "o_2", "二")
    client.markelect(mid, idx, a)
    assert [c.user_comment_id for c in client.list_comments(mid, idx, type=2).comments] == [a]
    assert [c.user_comment_id for c in client.list_comments(mid, idx, type=1).comments] == [b]
    client.unmarkelect(mid, idx, a)
    client.delete_comment(mid, idx, b)
    assert [c.user_comment_id for c in client.list_comments(mid, idx).comments] == [a]
    with pytest.raises(NotFound):
        client.reply_comment(mid, idx, b, "x")


def test_unknown_article_and_comment(client: WeChatClient, article: tuple[int, int]) -> None:
    mid, idx = article
    with pytest.raises(NotFound) as art:
        client.list_comments(999, 0)
    assert art.value.errcode == 88001
    with pytest.raises(NotFound) as com:
        client.reply_comment(mid, idx, 42, "x")
    assert com.value.errcode == 88008


def test_index_is_zero_based(mock_server: MockServer, client: WeChatClient) -> None:
    mid, _ = mock_server.state.add_article("第一篇")
    _, second = mock_server.state.add_article("第二篇", msg_data_id=mid)
    assert second == 1
    mock_server.state.add_comment(mid, 1, "o_1", "在第二篇")
    assert client.list_comments(mid, 1).comments[0].content == "在第二篇"
    assert client.list_comments(mid, 0).comments == []


def test_open_close_comments(mock_server: MockServer, article: tuple[int, int],
                             client: WeChatClient) -> None:
    mid, idx = article
    client.close_comment(mid, idx)
    assert mock_server.state.articles()[0]["comments_open"] is False
    client.open_comment(mid, idx)
    assert mock_server.state.articles()[0]["comments_open"] is True
    with pytest.raises(NotFound):
        client.open_comment(12345)


def test_expired_token_is_refreshed(tmp_path: Path, fake_sleep: object) -> None:
    now = [1_700_000_000.0]
    with MockServer(tmp_path / "m.db", token_ttl=30, clock=lambda: now[0]) as srv:
        mid, idx = srv.state.add_article("t")
        with WeChatClient(DEFAULT_APPID, DEFAULT_SECRET, base_url=srv.url,
                          clock=lambda: 0.0) as c:  # the client believes its token is fresh
            c.list_comments(mid, idx)
            now[0] += 31
            c.list_comments(mid, idx)
            assert c.token_refreshes == 2
        assert srv.stats.snapshot()["errcodes"]["/cgi-bin/comment/list"] == {"42001": 1}


def test_expire_tokens_fault_forces_refresh(mock_server: MockServer, article: tuple[int, int],
                                            client: WeChatClient) -> None:
    client.list_comments(*article)
    r = HTTP.post(mock_server.url + "/_mock/faults", json={"expire_tokens": True})
    assert r.status_code == 200 and r.json()["expired_tokens"] == 1
    client.list_comments(*article)
    assert client.token_refreshes == 2


def test_wrong_secret_is_auth_error_without_secret_in_text(mock_server: MockServer) -> None:
    with WeChatClient(DEFAULT_APPID, "wrong-secret-123", base_url=mock_server.url) as c, \
            pytest.raises(AuthError) as info:
        c.list_comments(1)
    assert info.value.errcode == 40125
    assert "wrong-secret-123" not in str(info.value)


def test_daily_quota_gives_rate_limited_until_shanghai_midnight(tmp_path: Path) -> None:
    noon = datetime(2024, 3, 1, 12, 0, tzinfo=SHANGHAI).timestamp()
    with MockServer(tmp_path / "m.db", daily_quota=2, clock=lambda: noon) as srv:
        mid, idx = srv.state.add_article("t")
        with WeChatClient(DEFAULT_APPID, DEFAULT_SECRET, base_url=srv.url, clock=lambda: noon) as c:
            c.list_comments(mid, idx)
            c.list_comments(mid, idx)
            with pytest.raises(RateLimited) as info:
                c.list_comments(mid, idx)
        assert info.value.errcode == 45009
        assert info.value.retry_after == 12 * 3600


def test_error_rate_fault_retries_then_gives_up(mock_server: MockServer, article: tuple[int, int],
                                                fake_sleep: Any) -> None:
    HTTP.post(mock_server.url + "/_mock/faults", json={"error_rate": 1.0})
    with WeChatClient(DEFAULT_APPID, DEFAULT_SECRET, base_url=mock_server.url, max_retries=2,
                      sleep=fake_sleep) as c, pytest.raises(TransientError) as info:
        c.list_comments(*article)
    assert info.value.errcode == -1
    assert len(fake_sleep.calls) == 2
    HTTP.post(mock_server.url + "/_mock/faults", json={"error_rate": 0})


def test_server_down_is_transient(tmp_path: Path) -> None:
    srv = MockServer(tmp_path / "m.db").start()
    url = srv.url
    srv.stop()
    sleeps: list[float] = []
    with WeChatClient(DEFAULT_APPID, DEFAULT_SECRET, base_url=url, max_retries=1,
                      sleep=sleeps.append) as c, pytest.raises(TransientError) as info:
        c.list_comments(1)
    assert isinstance(info.value.__cause__, httpx.HTTPError)
    assert len(sleeps) == 1


def test_discovery_against_mock(mock_server: MockServer, client: WeChatClient) -> None:
    mid, _ = mock_server.state.add_article("甲")
    mock_server.state.add_article("乙", msg_data_id=mid)
    today = datetime.fromtimestamp(mock_server.state.clock(), SHANGHAI).date()
    refs = client.article_summary(today, today)
    assert {(r.msg_data_id, r.index, r.title) for r in refs} == {(str(mid), 0, "甲"), (str(mid), 1, "乙")}
    pub = client.published_articles()
    assert [(r.msg_data_id, r.index) for r in pub] == [(str(mid), 0), (str(mid), 1)]
    assert client.article_summary(date(2000, 1, 1), date(2000, 1, 1)) == []
    with pytest.raises(BadRequest):
        client.published_articles(count=21)


def test_custom_message_reaches_mock(mock_server: MockServer, client: WeChatClient) -> None:
    mock_server.state.add_user_message("o_demo_1", "你好")  # opens the 48-hour window
    client.send_custom_text("o_demo_1", "您好，我们已收到")
    msgs = HTTP.get(mock_server.url + "/_mock/custom/messages").json()["messages"]
    assert msgs[0]["touser"] == "o_demo_1"
    assert msgs[0]["body"]["text"]["content"] == "您好，我们已收到"
    with pytest.raises(BadRequest):
        client.send_custom_text("", "x")


def test_stable_token_against_mock(mock_server: MockServer, article: tuple[int, int]) -> None:
    with WeChatClient(DEFAULT_APPID, DEFAULT_SECRET, base_url=mock_server.url,
                      use_stable_token=True) as c:
        c.list_comments(*article)
    assert mock_server.stats.snapshot()["calls"]["/cgi-bin/stable_token"] == 1


def test_httpx_log_lines_do_not_carry_the_token(client: WeChatClient, article: tuple[int, int],
                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="httpx"):
        client.list_comments(*article)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "comment/list" in text
    assert "access_token=***" in text and DEFAULT_SECRET not in text
