"""A client written by others (wechatpy 1.8.18, test-only dependency) speaks to the mock."""

from __future__ import annotations

import httpx
import pytest

from connectors.mock import DEFAULT_APPID, DEFAULT_SECRET, MockServer

wechatpy = pytest.importorskip("wechatpy")
from wechatpy.exceptions import WeChatClientException  # noqa: E402


def _wechatpy_client(srv: MockServer) -> object:
    """wechatpy's ``fetch_access_token`` hard-codes api.weixin.qq.com, so the token is passed in;
    ``API_BASE_URL`` is an instance attribute pointing at the mock."""
    token = httpx.get(srv.url + "/cgi-bin/token", params={
        "grant_type": "client_credential", "appid": DEFAULT_APPID,
        "secret": DEFAULT_SECRET}).json()["access_token"]
    client = wechatpy.WeChatClient(DEFAULT_APPID, DEFAULT_SECRET, access_token=token, timeout=5)
    client.API_BASE_URL = srv.url + "/cgi-bin/"
    return client


def test_wechatpy_lists_comments_and_adds_a_reply(mock_server: MockServer) -> None:
    mid, idx = mock_server.state.add_article("孕产妇就医绿色通道指南")
    cid = mock_server.state.add_comment(mid, idx, "o_demo_1", "能不能优先安排，因为真的挺急")
    client = _wechatpy_client(mock_server)

    # index passed explicitly: wechatpy's default index=1 would mean the *second* article.
    listed = client.material.list_comment(mid, index=0, begin=0, count=49)  # type: ignore[attr-defined]
    assert listed["errcode"] == 0 and listed["total"] == 1
    assert listed["comment"][0]["content"] == "能不能优先安排，因为真的挺急"

    result = client.material.add_reply_comment(mid, 0, cid, "电话发我")  # type: ignore[attr-defined]
    assert result["errcode"] == 0
    [stored] = mock_server.state.all_comments(mid, idx)
    assert stored["reply"]["content"] == "电话发我"

    with pytest.raises(WeChatClientException) as info:
        client.material.add_reply_comment(mid, 0, cid, "电话发我")  # type: ignore[attr-defined]
    assert info.value.errcode == 88005


def test_wechatpy_default_index_hits_the_off_by_one(mock_server: MockServer) -> None:
    mid, _ = mock_server.state.add_article("单篇文章")
    client = _wechatpy_client(mock_server)
    with pytest.raises(WeChatClientException) as info:
        client.material.list_comment(mid)  # type: ignore[attr-defined]  # index=1, count=50
    assert info.value.errcode == 88001
