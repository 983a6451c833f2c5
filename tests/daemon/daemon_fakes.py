"""Fakes for the daemon's parts: a clock, a predictor, a rules set, platform clients."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import pii
from bot.rules.types import Action, CommentContext, Decision, RuleTrace
from classifiers.prediction import Prediction, band_for


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2022, 1, 8, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class KeywordPredictor:
    """Scores by keywords: '急' → auto band, '帮' → review, else below."""

    def predict_many(self, texts: Sequence[str], batch_size: int = 256) -> list[Prediction]:
        out = []
        for t in texts:
            score = 0.95 if "急" in t else 0.6 if "帮" in t else 0.05
            out.append(Prediction(score=score, band=band_for(score, review=0.5, auto=0.9),
                                  category="寻医买药", category_score=0.8,
                                  top_terms=(("急", 1.0),), model_version="fake"))
        return out


@dataclass
class FakeRules:
    """The shipped flow in miniature: auto → reply + P1 case + notify; review → case;
    follow-up with a phone from a writer with an open case → attach + unfeature + notify."""

    version: str = "fake1"
    replies_enabled: bool = True
    settings: Any = field(default=None)
    full_number: bool = False  # the follow-up notify opts in to the full number

    def __post_init__(self) -> None:
        self.settings = self

    def evaluate(self, ctx: CommentContext, history: Any) -> Decision:
        actions: list[Action] = []
        matched: list[str] = []
        if ctx.writer.open_case_id and pii.has_phone(ctx.text):
            matched.append("follow_up")
            actions += [Action("attach_case", "follow_up", {"status": "contact_received"}),
                        Action("unfeature", "follow_up", {}),
                        Action("notify", "follow_up", {"group": "route",
                                                        "template": "案件 #{case_id} 电话 {phone}",
                                                        "text": "案件 电话 " + pii.mask(ctx.text),
                                                        "full_number": self.full_number})]
        elif ctx.prediction.band == "auto":
            matched.append("urgent")
            if self.replies_enabled:
                actions.append(Action("reply", "urgent", {"text": "电话发我", "template": "电话发我"}))
            actions += [Action("open_case", "urgent", {"priority": "P1", "route": "auto",
                                                       "status": "awaiting_contact"}),
                        Action("notify", "urgent", {"group": "route", "template": "新案件 #{case_id}",
                                                    "text": "新案件"})]
        elif ctx.prediction.band == "review":
            matched.append("review")
            actions.append(Action("open_case", "review", {"priority": "P2", "status": "review"}))
        trace = tuple(RuleTrace(r, (("band", True),), True) for r in matched)
        return Decision(self.version, tuple(actions), (), trace, tuple(matched), route="nanshan")


@dataclass
class FakeReply:
    content: str
    create_time: int = 0


@dataclass
class FakeComment:
    user_comment_id: int
    openid: str | None
    create_time: int
    content: str
    comment_type: int = 0
    reply: Any = None


@dataclass
class FakePage:
    total: int
    comments: list[FakeComment]


class FakeWeChat:
    """An in-memory platform: comments per article, one reply each (88005 on a second)."""

    def __init__(self) -> None:
        self.comments: dict[tuple[str, int], list[FakeComment]] = {}
        self.replies: list[tuple[str, int, int, str]] = []
        self.featured: set[int] = set()
        self.fail_next: list[Exception] = []
        self.list_calls = 0

    def add(self, msg_data_id: str, index: int, openid: str, content: str, t: int = 1641607200) -> int:
        lst = self.comments.setdefault((str(msg_data_id), index), [])
        cid = sum(len(v) for v in self.comments.values()) + 1
        lst.append(FakeComment(cid, openid, t, content))
        return cid

    def _pop_fault(self) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)

    def list_comments(self, msg_data_id: Any, index: int = 0, begin: int = 0, count: int = 49,
                      type: int = 0) -> FakePage:
        self.list_calls += 1
        self._pop_fault()
        lst = self.comments.get((str(msg_data_id), index), [])
        return FakePage(len(lst), lst[begin:begin + count])

    def reply_comment(self, msg_data_id: Any, index: int, user_comment_id: int, content: str) -> None:
        from bot.errors import AlreadyReplied

        self._pop_fault()
        for c in self.comments.get((str(msg_data_id), index), []):
            if c.user_comment_id == user_comment_id:
                if c.reply is not None:
                    raise AlreadyReplied("already reply", errcode=88005)
                c.reply = FakeReply(content)
                self.replies.append((str(msg_data_id), index, user_comment_id, content))
                return

    def markelect(self, msg_data_id: Any, index: int, user_comment_id: int) -> None:
        self.featured.add(user_comment_id)

    def unmarkelect(self, msg_data_id: Any, index: int, user_comment_id: int) -> None:
        self.featured.discard(user_comment_id)


class FakeGroup:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def send_text(self, content: str, mentioned_list: list[str] | None = None) -> None:
        self.messages.append(content)




class PipelineWorld:
    """Poller → pipeline → sender over an in-memory platform: the daemon's parts without the
    scheduler. ``rules`` defaults to :class:`FakeRules`; ``duty`` is ``[cases] duty_group``."""

    def __init__(self, store: Any, clock: FakeClock, *, rules: Any = None, duty: str = "duty",
                 groups: dict[str, FakeGroup] | None = None, wechat: FakeWeChat | None = None,
                 title: str = "深圳疫情通报") -> None:
        from bot.cases import CaseBook, CasePolicy
        from bot.pipeline import Pipeline
        from bot.poller import Poller, PollSchedule
        from bot.sender import Sender

        self.store, self.clock = store, clock
        self.wechat = wechat if wechat is not None else FakeWeChat()
        self.groups = groups if groups is not None else {"nanshan": FakeGroup(), duty: FakeGroup()}
        self.rules = rules if rules is not None else FakeRules()
        self.poller = Poller(store, lambda a: self.wechat, clock=clock,
                             schedule=PollSchedule(fast_seconds=5))
        self.pipeline = Pipeline(store, KeywordPredictor(), lambda: self.rules, clock=clock,
                                 duty_group=duty)
        self.sender = Sender(store, wechat=lambda a: self.wechat, groups=self.groups.get,
                             clock=clock, duty_group=duty, replies_enabled=self._replies_enabled)
        self.book = CaseBook(store, CasePolicy(duty_group=duty))
        store.watch_article("main", "100", 0, title=title)

    def _replies_enabled(self) -> bool:
        settings = getattr(self.rules, "settings", self.rules)  # a loaded rules file, or FakeRules
        return bool(getattr(settings, "replies_enabled", True))

    def cycle(self) -> None:
        """One round: poll, process everything pending, drain the outbox, 6 s pass."""
        self.poller.poll_due()
        while self.pipeline.process_pending():
            pass
        self.sender.drain()
        self.clock.advance(6)
