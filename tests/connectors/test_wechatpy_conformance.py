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


# ---------------------------------------------------------------------------------------------
# Message push: our decoder against wechatpy's encryption, the mock's pushes against its parser.

PUSH_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
PUSH_TOKEN = "tok123"
NOW = 1_700_000_000


def _text_xml(content: str) -> str:
    return ("<xml><ToUserName><![CDATA[gh_0000000000mk]]></ToUserName>"
            "<FromUserName><![CDATA[o_reader]]></FromUserName>"
            f"<CreateTime>{NOW}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>1234567890123456</MsgId></xml>")


def test_push_decoder_opens_wechatpy_encrypted_messages() -> None:
    from wechatpy.crypto import WeChatCrypto

    from bot.errors import PushRejected
    from connectors.wechat.push import PushSettings, decode_push, sign

    envelope = WeChatCrypto(PUSH_TOKEN, PUSH_KEY, DEFAULT_APPID).encrypt_message(
        _text_xml("电话 13800000000"), "98765", str(NOW))
    import xmltodict

    fields = xmltodict.parse(envelope)["xml"]
    query = {"timestamp": str(NOW), "nonce": "98765", "encrypt_type": "aes",
             "msg_signature": fields["MsgSignature"], "signature": sign(PUSH_TOKEN, str(NOW), "98765")}
    settings = PushSettings(PUSH_TOKEN, DEFAULT_APPID, "safe", PUSH_KEY)
    msg = decode_push(settings, query, envelope.encode(), now=NOW)
    assert (msg.from_user, msg.content, msg.msg_id) == ("o_reader", "电话 13800000000",
                                                        1234567890123456)
    other = WeChatCrypto(PUSH_TOKEN, PUSH_KEY, "wx1111111111111111").encrypt_message(
        _text_xml("x"), "98765", str(NOW))
    query["msg_signature"] = xmltodict.parse(other)["xml"]["MsgSignature"]
    with pytest.raises(PushRejected) as info:  # another account's appid inside
        decode_push(settings, query, other.encode(), now=NOW)
    assert info.value.reason == "decrypt"


@pytest.mark.parametrize("mode", ["plaintext", "compatible", "safe"])
def test_mock_pushes_are_accepted_by_wechatpy(tmp_path: object, mode: str) -> None:
    from pathlib import Path

    from wechatpy import parse_message
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.utils import check_signature

    seen: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="success")

    with MockServer(Path(str(tmp_path)) / "m.db",
                    push_transport=httpx.MockTransport(receive)) as srv:
        httpx.post(srv.url + "/_mock/push", json={
            "url": "http://bot.test/wechat/main", "token": PUSH_TOKEN, "mode": mode,
            "encoding_aes_key": PUSH_KEY if mode != "plaintext" else ""}).raise_for_status()
        out = httpx.post(srv.url + "/_mock/messages",
                         json={"openid": "o_reader", "content": "我的电话 13800000000"}).json()
    [req] = seen
    q = dict(req.url.params)
    check_signature(PUSH_TOKEN, q["signature"], q["timestamp"], q["nonce"])  # raises if wrong
    xml = req.content.decode()
    if mode != "plaintext":
        xml = WeChatCrypto(PUSH_TOKEN, PUSH_KEY, DEFAULT_APPID).decrypt_message(
            xml, q["msg_signature"], q["timestamp"], q["nonce"])
    msg = parse_message(xml)
    assert msg.type == "text" and msg.source == "o_reader"
    assert msg.content == "我的电话 13800000000" and msg.id == out["msg_id"]
    assert msg.target == "gh_0000000000mk"
