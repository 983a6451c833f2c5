"""Issue 12, items 1–10: failures at night that nobody saw. Each test failed before its fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from daemon_fakes import FakeClock, FakeGroup, FakeRules, FakeWeChat, KeywordPredictor

from bot.cases import CaseBook, CasePolicy
from bot.pipeline import Pipeline
from bot.poller import Poller, PollSchedule
from bot.sender import Sender
from bot.store import Store

ROOT = Path(__file__).resolve().parents[2]


class World:
    """Poller → pipeline → sender over an in-memory platform, with a configurable duty group."""

    def __init__(self, store: Store, clock: FakeClock, *, duty: str = "duty",
                 groups: dict[str, FakeGroup] | None = None) -> None:
        self.store, self.clock = store, clock
        self.wechat = FakeWeChat()
        self.groups = groups if groups is not None else {"nanshan": FakeGroup(), duty: FakeGroup()}
        self.rules = FakeRules()
        self.poller = Poller(store, lambda a: self.wechat, clock=clock,
                             schedule=PollSchedule(fast_seconds=5))
        self.pipeline = Pipeline(store, KeywordPredictor(), lambda: self.rules, clock=clock,
                                 duty_group=duty)
        self.sender = Sender(store, wechat=lambda a: self.wechat, groups=self.groups.get,
                             clock=clock, duty_group=duty)
        self.book = CaseBook(store, CasePolicy(duty_group=duty))
        store.watch_article("main", "100", 0, title="深圳疫情通报")

    def cycle(self) -> None:
        self.poller.poll_due()
        while self.pipeline.process_pending():
            pass
        self.sender.drain()
        self.clock.advance(6)


# -- item 3: the sender uses the configured duty group ------------------------------------
def test_sender_falls_back_to_the_configured_duty_group(store: Store, clock: FakeClock) -> None:
    duty = FakeGroup()
    world = World(store, clock, duty="值班", groups={"值班": duty})  # no hook for "nanshan"
    world.wechat.add("100", 0, "o_a", "老婆要住院，真的挺急")
    world.cycle()
    assert len(duty.messages) == 1, "the route has no robot: the duty group gets it"
    rows = store.query("select status, last_error from outbox where kind = 'notify'")
    assert [r["status"] for r in rows] == ["sent"]


# -- item 7: a wrong path never makes an empty database -----------------------------------
def _cli(*args: str, input: str | None = None) -> Any:
    from click.testing import CliRunner

    from bot.cli import main

    return CliRunner().invoke(main, list(args), input=input)


@pytest.mark.parametrize("command", [
    ["cases", "list"], ["cases", "show", "1"], ["cases", "export", "--csv"],
    ["cases", "note", "1", "x"], ["users", "list"], ["users", "unlock", "a"],
    ["users", "remove", "a"],
])
def test_read_only_commands_need_an_existing_database(tmp_path: Path, command: list[str]) -> None:
    typo = tmp_path / "typo.db"
    out = _cli(*command, "--db", str(typo))
    assert out.exit_code == 1, out.output
    assert f"no database at {typo}; pass --config or set DIANHUA_DB" in out.output
    assert "Traceback" not in out.output
    assert list(tmp_path.iterdir()) == [], "no file is created"


def test_the_stand_alone_desk_needs_an_existing_database(tmp_path: Path) -> None:
    from bot.config import Config
    from bot.errors import StoreError
    from bot.web import create_desk_app

    with pytest.raises(StoreError, match="no database at .*typo.db; pass --config"):
        create_desk_app(Config(db=tmp_path / "typo.db", rules=ROOT / "rules.yaml", log_file=None))
    assert list(tmp_path.iterdir()) == []


def test_users_add_into_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "nonexistent" / "dir" / "x.db"
    out = _cli("users", "add", "小王", "--db", str(target), "--password-stdin",
               input="a-long-enough-password\n")
    assert out.exit_code == 1, out.output
    assert f"the folder {target.parent} does not exist" in out.output
    assert not (tmp_path / "nonexistent").exists()
    fine = _cli("users", "add", "小王", "--db", str(tmp_path / "new.db"), "--password-stdin",
                input="a-long-enough-password\n")
    assert fine.exit_code == 0, fine.output  # adding a user may create the file
