"""Issue 12, items 1–10: failures at night that nobody saw. Each test failed before its fix."""

from __future__ import annotations

from typing import Any

from daemon_fakes import FakeClock, FakeGroup, FakeRules, FakeWeChat, KeywordPredictor

from bot.cases import CaseBook, CasePolicy
from bot.pipeline import Pipeline
from bot.poller import Poller, PollSchedule
from bot.sender import Sender
from bot.store import Store


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


def _unused(_: Any) -> None:  # keeps Any imported for later tests
    pass
