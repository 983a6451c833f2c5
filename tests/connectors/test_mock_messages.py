"""The mock's private-message side: pushes like the platform (retries on timeout) and the
48-hour customer-service window (45015, 45047)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.errors import BadRequest
from connectors.mock import DEFAULT_APPID, DEFAULT_SECRET, MockServer
from connectors.wechat import WeChatClient
from connectors.wechat.push import PushSettings, decode_push

KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
PHONE = "13800000000"


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def __call__(self) -> float:
        return self.t


class Receiver:
    """The bot's push URL, as an httpx transport: records requests, times out when told to."""

    def __init__(self, timeouts: int = 0) -> None:
        self.timeouts = timeouts
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.timeouts > 0:
            self.timeouts -= 1
            raise httpx.ReadTimeout("no answer within 5 s", request=request)
        return httpx.Response(200, text="success")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def srv(tmp_path: Path, clock: Clock, receiver: Receiver) -> Iterator[MockServer]:
    with MockServer(tmp_path / "m.db", clock=clock,
                    push_transport=httpx.MockTransport(receiver)) as s:
        yield s


def configure(srv: MockServer, mode: str = "safe") -> None:
    r = httpx.post(srv.url + "/_mock/push", json={
        "url": "http://bot.test/wechat/main", "token": "tok123", "mode": mode,
        "encoding_aes_key": KEY if mode != "plaintext" else ""})
    assert r.status_code == 200, r.text
    assert r.json()["target"]["encoding_aes_key"] in ("***", "")


def test_push_is_signed_encrypted_and_readable_by_the_bot(srv: MockServer, receiver: Receiver,
                                                          clock: Clock) -> None:
    configure(srv, "safe")
    r = httpx.post(srv.url + "/_mock/messages", json={"openid": "o_r", "content": f"电话{PHONE}"})
    assert r.status_code == 200 and r.json()["delivered"] is True
    [req] = receiver.requests
    assert PHONE.encode() not in req.content
    q = dict(req.url.params)
    assert q["encrypt_type"] == "aes" and q["openid"] == "o_r"
    settings = PushSettings("tok123", DEFAULT_APPID, "safe", KEY)
    msg = decode_push(settings, q, req.content, now=clock.t)
    assert msg.content == f"电话{PHONE}" and msg.msg_id == r.json()["msg_id"]
    listed = httpx.get(srv.url + "/_mock/messages").json()["messages"]
    assert listed[0]["delivered"] is True and len(listed[0]["attempts"]) == 1


def test_push_is_retried_three_times_on_timeout(srv: MockServer, receiver: Receiver) -> None:
    configure(srv, "plaintext")
    receiver.timeouts = 2
    out = httpx.post(srv.url + "/_mock/messages", json={"openid": "o_r", "content": "你好"}).json()
    assert out["delivered"] is True
    assert [a.get("error") for a in out["attempts"]] == ["timeout", "timeout", None]
    assert len(receiver.requests) == 3
    assert len({r.content for r in receiver.requests}) == 1  # the same request each time

    receiver.requests.clear()
    receiver.timeouts = 5
    out = httpx.post(srv.url + "/_mock/messages", json={"openid": "o_r", "content": "在吗"}).json()
    assert out["delivered"] is False and len(out["attempts"]) == 3 == len(receiver.requests)


def test_push_needs_a_target_and_checks_its_settings(srv: MockServer) -> None:
    r = httpx.post(srv.url + "/_mock/messages", json={"openid": "o_r", "content": "x"})
    assert r.status_code == 409 and "/_mock/push" in r.json()["error"]
    for bad in [{"url": "ftp://x", "token": "t"}, {"url": "http://x", "token": ""},
                {"url": "http://x", "token": "t", "mode": "safe"},
                {"url": "http://x", "token": "t", "mode": "safe", "encoding_aes_key": "short"},
                {"url": "http://x", "token": "t", "mode": "sometimes"},
                {"url": "http://x", "token": "t", "colour": "red"}]:
        r = httpx.post(srv.url + "/_mock/push", json=bad)
        assert r.status_code == 400, bad
    configure(srv, "plaintext")
    for bad in [{"openid": "", "content": "x"}, {"openid": "o", "content": ""},
                {"openid": "o", "content": "x", "extra": 1}]:
        assert httpx.post(srv.url + "/_mock/messages", json=bad).status_code == 400


def test_custom_messages_only_inside_the_window(srv: MockServer, clock: Clock) -> None:
    with WeChatClient(DEFAULT_APPID, DEFAULT_SECRET, base_url=srv.url,
                      clock=clock, sleep=lambda s: None) as client:
        with pytest.raises(BadRequest) as info:
            client.send_custom_text("o_r", "您好")  # never wrote to us
        assert info.value.errcode == 45015
        srv.state.add_user_message("o_r", "你好")
        for _ in range(5):
            client.send_custom_text("o_r", "您好")
        with pytest.raises(BadRequest) as info:
            client.send_custom_text("o_r", "您好")
        assert info.value.errcode == 45047
        clock.t += 60
        srv.state.add_user_message("o_r", "还在吗")  # a new message opens a new window
        client.send_custom_text("o_r", "在的")
        clock.t += 48 * 3600 + 1
        with pytest.raises(BadRequest) as info:
            client.send_custom_text("o_r", "您好")
        assert info.value.errcode == 45015
    assert len(srv.state.custom_messages()) == 6
