"""End to end: a reader comments, gets "电话发我", sends the number privately (pushed by the
mock in safe mode through the daemon's real ASGI app), and the case gets the contact."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from daemon_fakes import FakeClock

from bot.config import AccountConfig, Config, GroupConfig
from bot.daemon import Daemon
from bot.http import create_app
from bot.poller import PollSchedule
from bot.private import queue_answer
from connectors.mock import MockServer

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
PHONE = "13800000000"
KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
STORY = "我老婆怀孕了，南山区医院让马上住院，但要核酸结果，已经超过12小时了还没出，能不能优先安排，因为真的挺急"


class Bridge:
    """The mock's outgoing push, delivered into the daemon's ASGI app (no sockets, no sleeps)."""

    def __init__(self) -> None:
        self.client: TestClient | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert self.client is not None
        r = self.client.request(request.method, request.url.path, params=dict(request.url.params),
                                content=request.content, headers=dict(request.headers))
        return httpx.Response(r.status_code, content=r.content)


@pytest.fixture
def env(tmp_path: Path, db_target: str) -> Iterator[dict[str, Any]]:
    """The daemon and its push endpoint, once on SQLite and once on PostgreSQL."""
    from classifiers import load_model

    clock = FakeClock()
    bridge = Bridge()
    mock = MockServer(tmp_path / "mock.db", clock=lambda: clock().timestamp(),
                      push_transport=httpx.MockTransport(bridge)).start()
    rules = tmp_path / "rules.yaml"
    shutil.copy(ROOT / "rules.yaml", rules)
    article = mock.state.add_article("关于核酸检测安排的通知")
    groups = {g: GroupConfig(key=f"k-{g}") for g in ("duty", "nanshan", "futian", "baoan",
                                                      "pku_sz", "sz_people")}
    config = Config(
        accounts=(AccountConfig(name="main", base_url=mock.url, push_token="tok123",
                                encoding_aes_key=KEY, message_mode="safe"),),
        db=tmp_path / "dianhua.db", rules=rules,
        db_url=db_target if db_target.startswith("postgresql") else "",
        polling=PollSchedule(fast_seconds=1, normal_seconds=1, slow_seconds=1),
        wecom_base_url=mock.url, groups=groups, http_enabled=False, log_file=None,
        web_secret="test-secret-not-for-production",
    )
    daemon = Daemon(config, clock=clock, model=load_model(), sleep=lambda s: None)
    daemon.discover()
    with TestClient(create_app(daemon)) as client:
        bridge.client = client
        httpx.post(mock.url + "/_mock/push", json={
            "url": "http://bot.test/wechat/main", "token": "tok123", "mode": "safe",
            "encoding_aes_key": KEY}).raise_for_status()
        yield {"mock": mock, "daemon": daemon, "clock": clock, "article": article}
    daemon.shutdown()
    mock.stop()


def run(env: dict[str, Any], rounds: int = 3) -> None:
    for _ in range(rounds):
        env["daemon"].tick()
        env["clock"].advance(2)


def test_comment_then_number_by_private_message(env: dict[str, Any]) -> None:
    mock, daemon = env["mock"], env["daemon"]
    mock.state.add_comment(*env["article"], "o_story", STORY)
    run(env)
    [c] = mock.state.all_comments(*env["article"])
    assert c["reply"]["content"] == "电话发我"
    [case] = daemon.store.query("select * from cases")
    assert case["status"] == "awaiting_contact"

    out = httpx.post(mock.url + "/_mock/messages",
                     json={"openid": "o_story", "content": f"我的电话 {PHONE}"}).json()
    assert out["delivered"] is True and out["attempts"] == [{"status": 200, "answer": "success"}]
    daemon.inbox.close(wait=True)  # the write is done (it was done before the answer anyway)
    assert 'dianhua_pushes_total{account="main",result="stored"} 1.0' in \
        daemon.metrics.render().decode()
    run(env)
    [case] = daemon.store.query("select * from cases")
    assert case["status"] == "contact_received" and case["contact_phone"] == PHONE
    robot = httpx.get(mock.url + "/_mock/webhook/messages").json()["messages"]
    assert any(f"#{case['id']}" in m["body"]["text"]["content"] and "已留电话" in
               m["body"]["text"]["content"] for m in robot)
    # the public thread never shows the number; nothing was featured
    assert all(PHONE not in (x["reply"] or {}).get("content", "")
               for x in mock.state.all_comments(*env["article"]))

    # an editor answers privately, inside the window: the mock receives it once
    queue_answer(daemon.store, case["id"], "您好，医院的同事马上联系您", editor="小王",
                 now=env["clock"]())
    run(env)
    sent = mock.state.custom_messages()
    assert [m["touser"] for m in sent] == ["o_story"]
