"""WeComWebhook: truncation, errors, retries, and the mock's robot receiver."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import AuthError, BadRequest, RateLimited, TransientError
from connectors.mock import MockServer
from connectors.wecom import MARKDOWN_LIMIT, TEXT_LIMIT, WeComWebhook, truncate_utf8

HTTP = httpx.Client(timeout=5)  # shared: building a client per call costs ~0.1 s of TLS setup

KEY = "robot-key-abc123"


def hook_for(handler: object, **kw: object) -> tuple[WeComWebhook, list[float]]:
    sleeps: list[float] = []
    hook = WeComWebhook(KEY, transport=httpx.MockTransport(handler), sleep=sleeps.append,  # type: ignore[arg-type]
                        clock=lambda: 1_700_000_000.0, **kw)  # type: ignore[arg-type]
    return hook, sleeps


@given(st.text(max_size=3000), st.integers(min_value=4, max_value=5000))
def test_truncate_utf8_never_exceeds_limit_and_keeps_prefix(text: str, limit: int) -> None:
    text = text.encode("utf-8", "ignore").decode("utf-8")  # no lone surrogates here
    out = truncate_utf8(text, limit)
    assert len(out.encode("utf-8")) <= limit
    if len(text.encode("utf-8")) <= limit:
        assert out == text
    else:
        assert out.endswith("…") and text.startswith(out[:-1])


def test_text_and_markdown_bodies_are_truncated() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["key"] == KEY
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    hook, _ = hook_for(handler)
    hook.send_text("电话" * 2000, mentioned_list=["@all"])
    hook.send_markdown("**急** " * 2000)
    text = seen[0]["text"]
    assert isinstance(text, dict) and text["mentioned_list"] == ["@all"]
    assert len(text["content"].encode()) <= TEXT_LIMIT
    md = seen[1]["markdown"]
    assert isinstance(md, dict) and len(md["content"].encode()) <= MARKDOWN_LIMIT


@pytest.mark.parametrize(("code", "cls"), [(93000, AuthError), (40058, BadRequest),
                                           (45009, RateLimited)])
def test_errors(code: int, cls: type[Exception]) -> None:
    hook, sleeps = hook_for(lambda r: httpx.Response(200, json={"errcode": code, "errmsg": "x"}))
    with pytest.raises(cls) as info:
        hook.send_text("hi")
    assert sleeps == []
    if code == 45009:  # the robot's limit is per minute, not per day
        assert info.value.retry_after == 40.0  # type: ignore[attr-defined]


def test_transient_retried_then_given_up_and_key_masked() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    hook, sleeps = hook_for(handler, max_retries=2)
    with pytest.raises(TransientError) as info:
        hook.send_text("hi")
    assert len(sleeps) == 2
    assert KEY not in str(info.value)


def test_mock_receiver_stores_messages_and_validates(mock_server: MockServer) -> None:
    with WeComWebhook(KEY, base_url=mock_server.url) as hook:
        hook.send_text("【P1】孕妇住院 电话 138****5678", mentioned_list=["@all"])
        hook.send_markdown("**新病例**")
    with WeComWebhook("", base_url=mock_server.url) as bad, pytest.raises(AuthError):
        bad.send_text("x")
    msgs = HTTP.get(mock_server.url + "/_mock/webhook/messages").json()["messages"]
    assert [m["msgtype"] for m in msgs] == ["text", "markdown"]
    assert msgs[0]["key"] == KEY and msgs[0]["body"]["text"]["mentioned_list"] == ["@all"]
    too_long = {"msgtype": "text", "text": {"content": "x" * 2049}}
    r = HTTP.post(mock_server.url + "/cgi-bin/webhook/send", params={"key": KEY}, json=too_long)
    assert r.status_code == 200 and r.json()["errcode"] == 40058


def test_mock_receiver_rate_limit(mock_server: MockServer) -> None:
    HTTP.post(mock_server.url + "/_mock/faults", json={"webhook_per_minute": 2})
    with WeComWebhook(KEY, base_url=mock_server.url) as hook:
        hook.send_text("1")
        hook.send_text("2")
        with pytest.raises(RateLimited):
            hook.send_text("3")
