"""Replay comments through a rule set without doing anything: for `rules test` and `rules diff`.

A comments file is JSON Lines, one comment per line. Only ``text`` is required::

    {"text": "核酸结果要多久", "band": "below"}
    {"id": "c7", "text": "...", "score": 0.91, "band": "auto", "category": "核酸检测",
     "openid": "w1", "created_at": "2022-01-08T03:10:00+08:00", "article_title": "..."}

Comments without ``band`` are scored by the classifier. A small in-memory stand-in for the
store remembers, per writer, the cases the rules opened and the replies they sent, so a later
comment from the same ``openid`` sees its open case (as in the daemon).

Each comment is replayed on its own article and at its own time, as the daemon would see it:
the article is ``msg_data_id`` (or ``article_id``/``article``) plus ``index``/``idx``, the time
``created_at`` (ISO 8601) or ``create_time`` (unix seconds). Comments are replayed in time
order. A comment without an article counts as the only comment on its article, so the
per-article rate limit only holds back replies among comments known to share an article.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot import pii
from bot.clock import parse_iso
from bot.rules.examples import BAND_SCORES, DEFAULT_TIME
from bot.rules.ruleset import RuleSet
from bot.rules.types import Action, CommentContext, Decision, Writer
from classifiers.prediction import BANDS, Prediction

Predict = Callable[[str], Prediction]


@dataclass(frozen=True)
class Comment:
    """One comment to replay, as read from a file or the command line."""

    number: int  # line number in the file (or 1 for --text)
    text: str
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return str(self.record.get("id") or f"line {self.number}")


class BadRecord(ValueError):
    """A line of the comments file cannot be used; the message names the line."""


def read_comments(path: str | Path) -> Iterator[Comment | BadRecord]:
    """Comments from a JSON Lines file; unusable lines come back as :class:`BadRecord`."""
    from bot.limits import lines, loads

    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        for number, line, problem in lines(fh, name=str(path)):
            if line is None:
                yield BadRecord(f"{path}:{number}: {problem}")
                continue
            if not line.strip():
                continue
            try:
                record = loads(line)
            except json.JSONDecodeError as exc:
                yield BadRecord(f"{path}:{number}: not JSON ({exc.msg})")
                continue
            except ValueError as exc:
                yield BadRecord(f"{path}:{number}: not usable JSON ({exc})")
                continue
            if not isinstance(record, dict):
                yield BadRecord(f"{path}:{number}: each line must be a JSON object")
                continue
            text = record.get("text", record.get("content"))
            if not isinstance(text, str):
                yield BadRecord(f"{path}:{number}: needs \"text\"")
                continue
            yield Comment(number, text, record)


def prediction_for(comment: Comment, predict: Predict | None) -> Prediction:
    """The comment's own ``band``/``score``/``category`` if given, else the classifier's."""
    rec = comment.record
    band, score, category = rec.get("band"), rec.get("score"), rec.get("category")
    if band is not None and band not in BANDS:
        raise BadRecord(f"line {comment.number}: band must be auto, review or below, got {band!r}")
    if score is not None and (not isinstance(score, int | float) or not 0 <= score <= 1):
        raise BadRecord(f"line {comment.number}: score must be a number between 0 and 1")
    if band is None:
        if predict is None:
            raise BadRecord(
                f"line {comment.number}: no \"band\" given and no classifier to score it; "
                "give a band (--band, or \"band\" in the file) or train a model (dianhua train)"
            )
        pred = predict(comment.text)
        if category:
            pred = Prediction(pred.score, pred.band, str(category), pred.category_score,
                              pred.top_terms, pred.model_version)
        return pred
    return Prediction(
        score=float(score) if score is not None else BAND_SCORES[band], band=band,
        category=str(category or "其他"), category_score=1.0, model_version="given",
    )  # fmt: skip


@dataclass
class _WriterState:
    comments: int = 0
    case_id: int | None = None
    case_route: str | None = None
    last_reply_at: datetime | None = None


class Replay:
    """The store's answers, simulated in memory, for one pass over a comments file."""

    def __init__(self) -> None:
        self._writers: dict[str, _WriterState] = {}
        self._replies: dict[tuple[str, str, int], list[datetime]] = {}
        self._next_case = 1

    def replies_on_article_since(self, account: str, msg_data_id: str, index: int, since: datetime) -> int:
        return sum(1 for at in self._replies.get((account, msg_data_id, index), []) if at >= since)

    def context(self, comment: Comment, prediction: Prediction) -> CommentContext:
        rec = comment.record
        created = created_at(comment)
        openid = rec.get("openid")
        openid = str(openid) if openid else None
        state = self._writers.get(openid or "", _WriterState()) if openid else _WriterState()
        account = str(rec.get("account") or "replay")
        msg, index = _article(comment)
        return CommentContext(
            comment_id=f"{account}:{msg}:{index}:{comment.number}", account=account,
            msg_data_id=msg, index=index, user_comment_id=comment.number, text=comment.text,
            created_at=created, now=created, prediction=prediction,
            writer=Writer(openid, state.comments, state.case_id, state.last_reply_at, state.case_route),
            article_title=str(rec.get("article_title") or ""),
        )  # fmt: skip

    def record(self, ctx: CommentContext, decision: Decision) -> None:
        """Remember what the decision would have done, for later comments."""
        openid = ctx.writer.openid
        state = self._writers.setdefault(openid, _WriterState()) if openid else _WriterState()
        state.comments += 1
        for action in decision.actions:
            if action.kind == "open_case" and state.case_id is None:
                state.case_id, self._next_case = self._next_case, self._next_case + 1
                state.case_route = str(action.params.get("route") or "")
            if action.kind == "reply":
                state.last_reply_at = ctx.now
                self._replies.setdefault((ctx.account, ctx.msg_data_id, ctx.index), []).append(ctx.now)


def _article(comment: Comment) -> tuple[str, int]:
    """(msg_data_id, index) of the comment's article; its own article when the file has none."""
    rec = comment.record
    msg = rec.get("msg_data_id") or rec.get("article_id") or rec.get("article")
    raw_index = rec.get("index", rec.get("idx", 0))
    index = int(raw_index) if str(raw_index).isdigit() else 0
    if msg is None or str(msg) == "":
        return f"(line {comment.number})", 0
    return str(msg), index


def created_at(comment: Comment) -> datetime:
    """When the comment was written: ``created_at``, ``create_time``, or its line's order."""
    rec = comment.record
    value = rec.get("created_at")
    if value is None or value == "":
        value = rec.get("create_time")
    return _when(value, comment.number)


def _when(value: Any, number: int) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, DEFAULT_TIME.tzinfo)
    if isinstance(value, str) and value:
        try:
            return parse_iso(value)
        except ValueError:
            raise BadRecord(f"line {number}: created_at must be ISO 8601 or a unix time") from None
    return DEFAULT_TIME + timedelta(seconds=number)


def summarize(action: Action) -> str:
    """One line per action, personal data masked: ``open_case P1 urgent → pku_sz (awaiting_contact)``."""
    p = action.params
    if action.kind == "reply":
        return f"reply: {pii.mask(str(p.get('text', '')))}"
    if action.kind == "open_case":
        reason = f" {pii.mask(str(p['reason']))}" if p.get("reason") else ""
        return f"open_case {p.get('priority')} {p.get('queue')} → {p.get('route')} ({p.get('status')}){reason}"
    if action.kind == "attach_case":
        status = p.get("status") or "unchanged"
        return f"attach_case #{p.get('case_id') or '?'} (status {status})"
    if action.kind == "notify":
        return f"notify {p.get('group')}: {pii.mask(str(p.get('text', '')))}"
    if action.kind == "tag":
        return "tag " + ", ".join(str(t) for t in p.get("tags", ()))
    return action.kind


def outcome(decision: Decision) -> tuple[str, ...]:
    """What a decision does, as comparable lines (for `rules diff`)."""
    lines = [f"{summarize(a)}  [{a.rule}]" for a in decision.actions]
    held = sorted({f"{r} [{t.rule}]" for t in decision.trace for r in t.suppressed if not t.shadow})
    lines += [f"reply held back: {h}" for h in held]
    return tuple(lines) or ("nothing",)


def rate_limited(decision: Decision) -> bool:
    """Whether a live rule's reply was held back by the per-article rate limit."""
    return any("rate_limit" in t.suppressed for t in decision.trace if not t.shadow)


def evaluate_file(
    rs: RuleSet, comments: list[Comment], predictions: list[Prediction]
) -> list[tuple[CommentContext, Decision]]:
    """Replay ``comments`` through ``rs`` in time order (file order for equal times), each on
    its own article; one (context, decision) per comment, in file order."""
    if len(predictions) != len(comments):
        raise ValueError("one prediction per comment")
    replay = Replay()
    order = sorted(range(len(comments)), key=lambda i: (created_at(comments[i]), i))
    results: dict[int, tuple[CommentContext, Decision]] = {}
    for i in order:
        ctx = replay.context(comments[i], predictions[i])
        decision = rs.evaluate(ctx, replay)
        replay.record(ctx, decision)
        results[i] = (ctx, decision)
    return [results[i] for i in range(len(comments))]


__all__ = [
    "BadRecord",
    "Comment",
    "Replay",
    "evaluate_file",
    "created_at",
    "outcome",
    "prediction_for",
    "rate_limited",
    "read_comments",
    "summarize",
]
