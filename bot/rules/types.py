"""The rules engine's contract with the rest of dianhua (inputs, outputs). Pure data, no I/O.

The daemon builds a :class:`CommentContext` for each new comment, calls
``RuleSet.evaluate(ctx, history)`` and writes the returned :class:`Decision` (trace + actions)
to the store in the same transaction as the classification. The sender performs the actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from classifiers.prediction import Prediction

ActionKind = Literal[
    "reply",  # params: text (rendered, no personal data), template
    "open_case",  # params: priority ("P1".."P3"), queue, route (group name), status ("awaiting_contact" | "review")
    "attach_case",  # params: status (e.g. "contact_received") or "" to only attach
    "notify",  # params: group, template, text (rendered with personal data masked)
    "feature",  # params: {}
    "unfeature",  # params: {}
    "tag",  # params: tags (list[str])
]


@dataclass(frozen=True)
class Writer:
    """What we know about the comment's writer, from the store, before this comment."""

    openid: str | None
    previous_comments: int = 0
    open_case_id: int | None = None
    last_reply_at: datetime | None = None  # last public reply the bot sent this writer
    open_case_route: str | None = None  # the group handling the open case (for notify group: route)


@dataclass(frozen=True)
class CommentContext:
    """Everything a rule may look at. Times are timezone-aware (UTC)."""

    comment_id: str  # the store's key: "<account>:<msg_data_id>:<index>:<user_comment_id>"
    account: str
    msg_data_id: str
    index: int
    user_comment_id: int
    text: str  # as written (rules match on the normalised form)
    created_at: datetime
    now: datetime
    prediction: Prediction
    writer: Writer = field(default_factory=lambda: Writer(openid=None))
    article_title: str = ""
    channel: str = "comment"  # "comment" under an article, or "message" (a private message)


class History(Protocol):
    """Read-only questions the guardrails ask the store."""

    def replies_on_article_since(
        self, account: str, msg_data_id: str, index: int, since: datetime
    ) -> int: ...


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    rule: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleTrace:
    """How one rule evaluated: each condition true/false, and why actions were held back."""

    rule: str
    conditions: tuple[tuple[str, bool], ...]
    matched: bool
    shadow: bool = False
    suppressed: tuple[str, ...] = ()  # e.g. ("cooldown",), ("rate_limit",), ("safety_net",)
    reached: bool = True  # False: an earlier rule stopped the run; conditions shown for information


@dataclass(frozen=True)
class Decision:
    rules_version: str
    actions: tuple[Action, ...]  # to perform, in order
    shadow_actions: tuple[Action, ...]  # what shadow rules would have done (recorded only)
    trace: tuple[RuleTrace, ...]
    matched_rules: tuple[str, ...]
    route: str | None = None  # group chosen from the routes table (or the fallback)
    tags: tuple[str, ...] = ()
    reason: str = ""  # why a case was opened, for editors (e.g. "安全网：产妇 + 住院 + 等着")


__all__ = [
    "Action",
    "ActionKind",
    "CommentContext",
    "Decision",
    "History",
    "RuleTrace",
    "Writer",
]
