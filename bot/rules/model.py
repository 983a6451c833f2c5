"""The parts of a loaded rules.yaml: settings, groups, routes, rules and examples (plain data)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from bot import pii
from bot.clock import SHANGHAI
from bot.rules.timewin import TimeWindow
from bot.rules.types import CommentContext, History
from classifiers.normalize import normalize

CATEGORIES = ("寻医买药", "核酸检测", "健康码", "疫情政策", "交通出行", "生活物资", "疫苗接种", "表扬感谢", "投诉建议", "其他")
ACTION_KINDS = ("reply", "open_case", "attach_case", "notify", "feature", "unfeature", "tag", "stop")
PRIORITIES = ("P1", "P2", "P3")
OPEN_STATUSES = ("awaiting_contact", "review")
ATTACH_STATUSES = ("contact_received", "awaiting_contact", "review", "")
# Traditional → simplified leaves 著 alone (it is also a simplified character, as in 著名), but in
# comments written in traditional characters it is mostly the particle 着 (等著 = 等着).
_FOLD = str.maketrans({"著": "着"})


def tidy(text: str) -> str:
    """The form rules match on: the shared normaliser (full-width, traditional → simplified,
    lower case; numbers kept), with 著 folded to 着. Words and comments get the same treatment."""
    return normalize(text, mask_pii=False).translate(_FOLD)


@dataclass(frozen=True)
class GroupInfo:
    """A department group (a WeCom group robot); its webhook lives in the daemon's config, not here."""

    name: str
    label: str
    mention: tuple[str, ...] = ()


@dataclass(frozen=True)
class RateLimit:
    count: int
    per: timedelta


@dataclass(frozen=True)
class Settings:
    """Guardrails that hold for every rule."""

    replies_enabled: bool = True
    reply_cooldown: timedelta = timedelta(0)  # per writer
    article_rate_limit: RateLimit | None = None  # replies per article per window
    quiet_hours: TimeWindow | None = None
    working_hours: TimeWindow | None = None
    replies_in_quiet_hours: bool = True


@dataclass(frozen=True)
class RouteEntry:
    group: str
    names: tuple[str, ...]  # normalised
    line: int = 0


@dataclass(frozen=True)
class RouteTable:
    """Hospital, district and street names → group; the first entry whose name is found wins."""

    entries: tuple[RouteEntry, ...]
    fallback: str

    def find(self, *texts: str) -> tuple[str, str | None]:
        """``(group, matched_name)`` for the first text that names a place; else the fallback."""
        for text in texts:
            if not text:
                continue
            for entry in self.entries:
                for name in entry.names:
                    if name and name in text:
                        return entry.group, name
        return self.fallback, None


class Facts:
    """What the conditions look at for one comment, computed once and lazily."""

    def __init__(self, ctx: CommentContext, history: History) -> None:
        self.ctx = ctx
        self.history = history
        self.route = ""  # the routes table's group for this comment; set by the engine
        self.route_place: str | None = None

    @cached_property
    def text(self) -> str:
        return tidy(self.ctx.text or "")

    @cached_property
    def title(self) -> str:
        return tidy(self.ctx.article_title or "")

    @cached_property
    def local_now(self) -> datetime:
        return self.ctx.now.astimezone(SHANGHAI)

    @cached_property
    def has_phone(self) -> bool:
        return pii.has_phone(self.ctx.text or "")

    @cached_property
    def has_id(self) -> bool:
        return pii.has_id(self.ctx.text or "")


@dataclass(frozen=True)
class Condition:
    key: str  # e.g. "keywords.any"
    label: str  # e.g. "keywords.any: 核酸, 结果"
    test: Callable[[Facts], bool]


@dataclass(frozen=True)
class ActionSpec:
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class Rule:
    name: str
    conditions: tuple[Condition, ...]
    actions: tuple[ActionSpec, ...]
    cont: bool = False
    shadow: bool = False
    enabled: bool = True
    description: str = ""
    line: int = 0

    @property
    def stops(self) -> bool:
        return any(a.kind == "stop" for a in self.actions)


@dataclass(frozen=True)
class WriterSpec:
    previous_comments: int = 0
    open_case_id: int | None = None
    open_case_route: str | None = None
    last_reply_ago: timedelta | None = None


@dataclass(frozen=True)
class Expectation:
    rules: tuple[str, ...] | None = None
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] = ()
    route: str | None = None
    tags: tuple[str, ...] | None = None
    reply_contains: str | None = None
    suppressed: tuple[str, ...] | None = None
    reason_contains: str | None = None  # the case's reason, e.g. "产妇 + 住院"


@dataclass(frozen=True)
class Example:
    """One ``examples:`` entry: a comment and what the rules must do with it."""

    text: str
    expect: Expectation
    name: str = ""
    band: str | None = None
    score: float | None = None
    category: str | None = None
    account: str = "example"
    article_title: str = ""
    msg_data_id: str = "example"
    time: datetime | None = None
    writer: WriterSpec = field(default_factory=WriterSpec)
    replies_on_article: int = 0
    line: int = 0
    path: str = ""
    channel: str = "comment"  # or "message": a private message to the account


__all__ = [
    "ACTION_KINDS",
    "ATTACH_STATUSES",
    "CATEGORIES",
    "OPEN_STATUSES",
    "PRIORITIES",
    "ActionSpec",
    "Condition",
    "Example",
    "Expectation",
    "Facts",
    "GroupInfo",
    "RateLimit",
    "RouteEntry",
    "RouteTable",
    "Rule",
    "Settings",
    "WriterSpec",
    "tidy",
]
