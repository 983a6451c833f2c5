"""message/custom/send is never repeated blindly: a timeout may hide a delivered message."""

from __future__ import annotations

import httpx
import pytest

from bot.errors import BadRequest, TransientError
from connectors.wechat import WeChatClient
from connectors.wechat.errors import maybe_delivered

PATH = "/cgi-bin/message/custom/send"


class Platform:
    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.sends = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/token":
            return httpx.Response(200, json={"access_token": "T", "expires_in": 7200})
        self.sends += 1
        answer = self.answers.pop(0) if self.answers else {"errcode": 0, "errmsg": "ok"}
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(200, json=answer)


def client(p: Platform) -> WeChatClient:
    return WeChatClient("wx", "secret", transport=httpx.MockTransport(p), sleep=lambda s: None)


def test_a_timeout_is_not_retried_and_may_have_delivered() -> None:
    p = Platform(httpx.ReadTimeout("slow"))
    with pytest.raises(TransientError) as info:
        client(p).send_custom_text("o_1", "您好")
    assert p.sends == 1 and maybe_delivered(info.value)


def test_a_refused_connection_or_system_busy_certainly_sent_nothing() -> None:
    p = Platform(httpx.ConnectError("refused"))
    with pytest.raises(TransientError) as info:
        client(p).send_custom_text("o_1", "您好")
    assert p.sends == 1 and not maybe_delivered(info.value)
    p = Platform({"errcode": -1, "errmsg": "system error"})
    with pytest.raises(TransientError) as info:
        client(p).send_custom_text("o_1", "您好")
    assert p.sends == 1 and not maybe_delivered(info.value)


def test_window_errors_are_bad_requests() -> None:
    for code in (45015, 45047):
        with pytest.raises(BadRequest) as info:
            client(Platform({"errcode": code, "errmsg": "x"})).send_custom_text("o_1", "您好")
        assert info.value.errcode == code and not maybe_delivered(info.value)


def test_comment_calls_still_retry_transient_errors() -> None:
    p = Platform(httpx.ReadTimeout("slow"), {"errcode": 0, "errmsg": "ok"})
    client(p).reply_comment(1, 0, 1, "电话发我")  # 88005 protects replies from doubles
    assert p.sends == 2
