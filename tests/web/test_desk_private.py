"""The case page's 私信回复: only inside the 48-hour window, through the outbox, number masked."""

from __future__ import annotations

import json

from desk_helpers import PHONE, FakeClock, Host, add_comment, csrf_of, open_urgent, sign_in
from starlette.testclient import TestClient

from bot.inbox import record_message
from connectors.wechat.push import PushMessage


def _reader_writes(host: Host, clock: FakeClock, msg_id: int = 1) -> None:
    msg = PushMessage("gh_x", "oWriter0001", int(clock().timestamp()), "text", msg_id, "在吗")
    record_message(host.store, "main", msg, host.store.now())


def _send(editor: TestClient, case_id: int, text: str) -> str:
    page = editor.get(f"/case/{case_id}")
    r = editor.post(f"/case/{case_id}", data={"csrf": csrf_of(page.text), "action": "message",
                                              "text": text})
    assert r.status_code == 200
    return r.text


def test_private_answer_form_follows_the_window(editor: TestClient, host: Host,
                                                clock: FakeClock) -> None:
    case_id = open_urgent(host.store, add_comment(host.store, 1, "孕妇急需核酸结果"))
    html = editor.get(f"/case/{case_id}").text
    assert "私信回复" in html and 'id="private-closed"' in html and "还没有给公众号发过私信" in html
    assert "还没有给公众号发过私信" in _send(editor, case_id, "您好")  # refused, told why

    _reader_writes(host, clock)
    html = editor.get(f"/case/{case_id}").text
    assert 'id="private-text"' in html and "窗口开放至" in html
    assert "私信 ·" in html and "在吗" in html  # the reader's message is in the thread
    html = _send(editor, case_id, f"您好，方便的话回拨 {PHONE}")
    assert "私信已排队发送" in html
    [row] = host.store.query("select * from outbox where kind = 'message'")
    params = json.loads(row["params"])
    assert params["openid"] == "oWriter0001" and PHONE not in row["params"]
    assert row["rule"] == "editor:小王" and row["status"] == "pending"

    clock.advance(48 * 3600 + 1)
    sign_in(editor)  # two days later: the idle session has ended (issue 17)
    html = editor.get(f"/case/{case_id}").text
    assert "私信窗口已关闭" in html and 'id="private-text"' not in html
