"""Helpers for the rules engine tests: contexts, histories and small rules files. No real model."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import SHANGHAI
from bot.rules import CommentContext, RuleSet, Writer, load_rules_text
from classifiers.prediction import Prediction

REPO = Path(__file__).resolve().parents[2]
# A Wednesday, 10:00 in Beijing.
WED_10 = datetime(2022, 1, 12, 10, 0, tzinfo=SHANGHAI)

HEADER = """\
groups:
  duty:
    label: 值班组
    mention: ["@all"]
  nanshan: 南山区卫健局
  pku_sz:
    label: 北大深圳医院
routes:
  fallback: duty
  table:
    - names: [北大深圳医院, 北京大学深圳医院]
      group: pku_sz
    - names: [南山区, 粤海街道]
      group: nanshan
"""


def fake_prediction(band: str = "below", score: float | None = None, category: str = "其他") -> Prediction:
    default = {"auto": 0.95, "review": 0.7, "below": 0.05}[band]
    return Prediction(score=default if score is None else score, band=band,  # type: ignore[arg-type]
                      category=category, category_score=0.9, model_version="fake")


@dataclass
class FakeHistory:
    """Replies already sent per article; records the questions asked."""

    count: int = 0
    calls: list[tuple[str, str, int, datetime]] = field(default_factory=list)
    fail: bool = False

    def replies_on_article_since(self, account: str, msg_data_id: str, index: int, since: datetime) -> int:
        self.calls.append((account, msg_data_id, index, since))
        if self.fail:
            raise RuntimeError("store is down")
        return self.count


def make_ctx(
    text: str = "你好",
    *,
    band: str = "below",
    score: float | None = None,
    category: str = "其他",
    now: datetime = WED_10,
    previous_comments: int = 0,
    open_case_id: int | None = None,
    open_case_route: str | None = None,
    last_reply_at: datetime | None = None,
    openid: str | None = "writer-1",
    account: str = "gh_test",
    msg_data_id: str = "2247487033_1",
    article_title: str = "",
) -> CommentContext:
    return CommentContext(
        comment_id=f"{account}:{msg_data_id}:0:1",
        account=account,
        msg_data_id=msg_data_id,
        index=0,
        user_comment_id=1,
        text=text,
        created_at=now,
        now=now,
        prediction=fake_prediction(band, score, category),
        writer=Writer(openid, previous_comments, open_case_id, last_reply_at, open_case_route),
        article_title=article_title,
    )


def build(rules: str, settings: str = "", examples: str = "") -> RuleSet:
    """A rule set from a ``rules:`` body (dedented), with the shared groups and routes."""
    text = ""
    if settings:
        text += "settings:\n" + textwrap.indent(textwrap.dedent(settings).strip("\n"), "  ") + "\n"
    text += HEADER + "rules:\n" + textwrap.indent(textwrap.dedent(rules).strip("\n"), "  ") + "\n"
    if examples:
        text += "examples:\n" + textwrap.indent(textwrap.dedent(examples).strip("\n"), "  ") + "\n"
    return load_rules_text(text)


def kinds(decision: Any) -> list[str]:
    return [a.kind for a in decision.actions]


def later(minutes: float) -> datetime:
    return WED_10 + timedelta(minutes=minutes)


def fake_predict(text: str) -> Prediction:
    """A stand-in classifier: 急 → auto, 可能 → review, else below."""
    if "急" in text:
        return fake_prediction("auto", 0.93, "核酸检测")
    if "可能" in text:
        return fake_prediction("review", 0.6)
    return fake_prediction("below", 0.1)
