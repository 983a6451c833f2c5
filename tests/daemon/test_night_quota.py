"""Issue 12 item 8: one 45009 no longer stops polling for a day (over real HTTP, the mock)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from daemon_fakes import FakeClock

from bot.cli import main
from bot.config import AccountConfig, Config, GroupConfig, store_target
from bot.daemon import Daemon
from bot.poller import PollSchedule
from connectors.mock import MockServer

ROOT = Path(__file__).resolve().parents[2]
STORY = "我老婆怀孕了，医院让马上住院，但要核酸结果，已经超过12小时了还没出，能不能优先安排，因为真的挺急"


class Night:
    def __init__(self, tmp: Path, mock: MockServer, model: Any, db_url: str = "") -> None:
        self.mock = mock
        self.clock = FakeClock(datetime(2022, 1, 8, 2, 0, tzinfo=UTC))  # 10:00 in Beijing
        self.article = mock.state.add_article("关于核酸检测安排的通知")
        self.config = Config(
            accounts=(AccountConfig(name="main", base_url=mock.url),),
            db=tmp / "dianhua.db", db_url=db_url, rules=ROOT / "rules.yaml",
            polling=PollSchedule(fast_seconds=1, normal_seconds=1, slow_seconds=1),
            wecom_base_url=mock.url, http_enabled=False, log_file=None,
            groups={g: GroupConfig(key=f"k-{g}") for g in ("duty", "nanshan")},
            quota_probe_minutes=5,
        )
        self.daemon = Daemon(self.config, clock=self.clock, model=model, sleep=lambda s: None)
        self.daemon.discover()

    def tick(self, seconds: float = 2) -> None:
        self.daemon.tick()
        self.clock.advance(seconds)

    def comment(self, text: str) -> int:
        return int(self.mock.state.add_comment(*self.article, "o_story", text))

    def reply_of(self, cid: int) -> str | None:
        for c in self.mock.state.all_comments(*self.article):
            if int(c["user_comment_id"]) == cid:
                return c["reply"]["content"] if c.get("reply") else None
        raise AssertionError(cid)

    def duty_messages(self) -> list[str]:
        messages = httpx.get(f"{self.mock.url}/_mock/webhook/messages").json()["messages"]
        return [str(m) for m in messages if "k-duty" in str(m)]

    def quota(self, limit: int | None) -> None:
        self.mock.faults.update({"daily_quota": limit})


@pytest.fixture
def night(tmp_path: Path, mock: MockServer, model: Any, db_target: str) -> Iterator[Night]:
    """The night shift's daemon, once on SQLite and once on PostgreSQL."""
    n = Night(tmp_path, mock, model, db_target if db_target.startswith("postgresql") else "")
    yield n
    n.daemon.shutdown()


def test_a_quota_pause_shows_at_once_is_probed_and_resumes_when_the_platform_answers(
    night: Night,
) -> None:
    night.tick()
    night.quota(0)  # the daily quota is used up
    cid = night.comment(STORY)
    night.tick()
    health = night.daemon.health()
    assert health["status"] == "degraded", "the pause shows at once, not after the lag limit"
    assert "main" in health["paused_accounts"]
    assert any("polling paused (daily API quota used up (errcode 45009))" in p
               for p in health["problems"])
    assert any("【监控暂停】" in m and "main" in m for m in night.duty_messages())
    for _ in range(3):  # a minute later: still paused, not yet probed
        night.tick(20)
    assert night.reply_of(cid) is None
    night.quota(None)  # the quota is back (or cleared)
    night.clock.advance(5 * 60)
    for _ in range(3):
        night.tick()
    assert night.reply_of(cid) == "电话发我", "answered without a restart"
    health = night.daemon.health()
    assert health["paused_accounts"] == {} and health["status"] == "ok", health["problems"]
    assert any("【监控恢复】" in m for m in night.duty_messages())


def test_an_operator_resumes_a_paused_account_by_command(night: Night) -> None:
    night.tick()
    night.quota(0)
    cid = night.comment(STORY)
    night.tick()
    assert "main" in night.daemon.health()["paused_accounts"]
    listed = CliRunner().invoke(main, ["accounts", "list", "--db", store_target(night.config)])
    assert "main" in listed.output and "PAUSED" in listed.output and "45009" in listed.output
    night.quota(None)  # the operator ran clear_quota
    out = CliRunner().invoke(main, ["accounts", "resume", "main", "--db", store_target(night.config)])
    assert out.exit_code == 0, out.output
    night.tick()
    night.tick()
    assert night.reply_of(cid) == "电话发我"
    again = CliRunner().invoke(main, ["accounts", "resume", "main", "--db", store_target(night.config)])
    assert again.exit_code == 1 and "is not paused" in again.output


def test_the_status_page_of_a_stand_alone_desk_shows_the_pause(night: Night) -> None:
    from bot.web.queries import polling

    night.tick()
    night.quota(0)
    night.comment(STORY)
    night.tick()
    rows = {r["account"]: r for r in polling(night.daemon.store, night.clock(), None)}
    assert rows["main"]["paused"]["reason"] == "daily API quota used up (errcode 45009)"

    import re

    from starlette.testclient import TestClient

    from bot.http import create_app
    from bot.web.users import UserBook

    UserBook(night.daemon.store).add("小王", "long-enough-pw")
    with TestClient(create_app(night.daemon)) as c:
        page = c.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        c.post("/login", data={"name": "小王", "password": "long-enough-pw",
                               "csrf": csrf.group(1)})
        html = c.get("/status").text
        assert "已暂停轮询：daily API quota used up (errcode 45009)" in html
        assert "dianhua accounts resume main" in html
