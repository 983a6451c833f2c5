"""``examples:`` in rules.yaml: comments with what the rules must do, checked like unit tests."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING

import yaml

from bot.clock import SHANGHAI
from bot.errors import Problem
from bot.rules._yaml import Checker, Node, join, suggest
from bot.rules.model import ACTION_KINDS, CATEGORIES, Example, Expectation, GroupInfo, WriterSpec
from bot.rules.sections import check_group
from bot.rules.timewin import parse_duration
from bot.rules.types import CommentContext, Decision, Writer
from classifiers.prediction import BANDS, Prediction

if TYPE_CHECKING:
    from bot.rules.ruleset import RuleSet

Predict = Callable[[str], Prediction]

DEFAULT_TIME = datetime(2022, 1, 12, 10, 0, tzinfo=SHANGHAI)  # a Wednesday morning
BAND_SCORES = {"auto": 0.95, "review": 0.7, "below": 0.05}
EXAMPLE_KEYS = (
    "name", "text", "band", "score", "category", "time", "account", "article_title",
    "msg_data_id", "writer", "replies_on_article", "expect", "channel",
)  # fmt: skip
EXPECT_KEYS = ("rules", "actions", "not_actions", "route", "tags", "reply_contains", "suppressed", "reason_contains")
WRITER_KEYS = ("previous_comments", "has_open_case", "open_case_route", "last_reply_ago")
SUPPRESS_REASONS = (
    "replies_off", "quiet_hours", "cooldown", "rate_limit", "rate_limit_unknown",
    "one_reply_per_comment", "empty", "too_long", "safety_net",
)  # fmt: skip
_KINDS = tuple(k for k in ACTION_KINDS if k != "stop")
_TIME_RE = re.compile(r"^\s*(?:(\d{4})-(\d{1,2})-(\d{1,2})[ t])?\s*(\d{1,2}):(\d{2})\s*$")


def parse_examples(
    checker: Checker, node: Node | None, rule_names: Sequence[str], groups: dict[str, GroupInfo]
) -> tuple[Example, ...]:
    if node is None:
        return ()
    items = checker.seq(node, "examples", allow_empty=True)
    out: list[Example] = []
    for i, item in enumerate(items or []):
        example = _ExampleParser(checker, rule_names, groups).parse(item, join("examples", i))
        if example is not None:
            out.append(example)
    return tuple(out)


class _ExampleParser:
    def __init__(self, checker: Checker, rule_names: Sequence[str], groups: dict[str, GroupInfo]) -> None:
        self.c = checker
        self.rule_names = rule_names
        self.groups = groups

    def parse(self, node: Node, path: str) -> Example | None:
        keys = self.c.mapping(node, path, allowed=EXAMPLE_KEYS, required=("text", "expect"))
        if keys is None or "text" not in keys or "expect" not in keys:
            return None
        c = self.c
        text = c.text(keys["text"][1], join(path, "text"), max_len=5000)
        name = c.text(keys["name"][1], join(path, "name"), max_len=200) if "name" in keys else ""
        band = c.choice(keys["band"][1], join(path, "band"), BANDS) if "band" in keys else None
        score = c.number(keys["score"][1], join(path, "score"), lo=0, hi=1) if "score" in keys else None
        if "score" in keys and "band" not in keys:
            c.add(keys["score"][1], join(path, "score"), "give 'band' too when you give a score")
            return None
        category = None
        if "category" in keys:
            category = c.choice(keys["category"][1], join(path, "category"), CATEGORIES)
        when = self._time(keys["time"][1], join(path, "time")) if "time" in keys else DEFAULT_TIME
        fields = {k: c.text(keys[k][1], join(path, k), max_len=200) for k in ("account", "article_title", "msg_data_id") if k in keys}
        writer = self._writer(keys["writer"][1], join(path, "writer")) if "writer" in keys else WriterSpec()
        replies = 0
        if "replies_on_article" in keys:
            replies = c.integer(keys["replies_on_article"][1], join(path, "replies_on_article"), lo=0) or 0
        expect = self._expect(keys["expect"][1], join(path, "expect"))
        channel = "comment"
        if "channel" in keys:
            channel = c.choice(keys["channel"][1], join(path, "channel"), ("comment", "message")) or ""
            if not channel:
                return None
        if text is None or name is None or when is None or writer is None or expect is None:
            return None
        if any(v is None for v in fields.values()):
            return None
        if ("band" in keys and band is None) or ("score" in keys and score is None) or ("category" in keys and category is None):
            return None
        return Example(
            text=text, expect=expect, name=name, band=band, score=score, category=category,
            account=fields.get("account") or "example", article_title=fields.get("article_title") or "",
            msg_data_id=fields.get("msg_data_id") or "example", time=when, writer=writer,
            replies_on_article=replies, line=node.start_mark.line + 1, path=path,
            channel=channel,
        )  # fmt: skip

    def _time(self, node: Node, path: str) -> datetime | None:
        raw = self.c.text(node, path, max_len=40)
        if raw is None:
            return None
        m = _TIME_RE.match(unicodedata.normalize("NFKC", raw).lower())
        try:
            if not m:
                raise ValueError
            y, mo, d, h, mi = m.groups()
            day = DEFAULT_TIME.date() if y is None else date(int(y), int(mo), int(d))
            return datetime.combine(day, time(int(h), int(mi)), tzinfo=SHANGHAI)
        except ValueError:
            self.c.add(node, path, f"must be a Beijing time like \"03:00\" or \"2022-01-08 03:00\", got '{raw}'")
            return None

    def _writer(self, node: Node, path: str) -> WriterSpec | None:
        keys = self.c.mapping(node, path, allowed=WRITER_KEYS)
        if keys is None:
            return None
        c, ok = self.c, True
        prev = 0
        if "previous_comments" in keys:
            v = c.integer(keys["previous_comments"][1], join(path, "previous_comments"), lo=0)
            ok, prev = ok and v is not None, v or 0
        has_case = False
        if "has_open_case" in keys:
            b = c.boolean(keys["has_open_case"][1], join(path, "has_open_case"))
            ok, has_case = ok and b is not None, bool(b)
        route = None
        if "open_case_route" in keys:
            route = check_group(c, keys["open_case_route"][1], join(path, "open_case_route"), self.groups)
            ok = ok and route is not None
        ago = None
        if "last_reply_ago" in keys:
            ago = parse_duration(c, keys["last_reply_ago"][1], join(path, "last_reply_ago"))
            ok = ok and ago is not None
        if not ok:
            return None
        return WriterSpec(prev, 1 if has_case or route else None, route, ago)

    def _names(self, node: Node, path: str, choices: Sequence[str], what: str) -> tuple[str, ...] | None:
        if isinstance(node, yaml.SequenceNode) and not node.value:
            return ()
        items = self.c.text_list(node, path, max_len=100)
        if items is None:
            return None
        out: list[str] = []
        for child, value in items:
            if value not in choices:
                self.c.add(child, path, f"unknown {what} '{value}'{suggest(value, choices)}")
                return None
            out.append(value)
        return tuple(out)

    def _expect(self, node: Node, path: str) -> Expectation | None:
        keys = self.c.mapping(node, path, allowed=EXPECT_KEYS)
        if keys is None:
            return None
        if not keys:
            self.c.add(node, path, "says nothing; give at least 'rules' or 'actions'")
            return None
        c, ok = self.c, True
        got: dict[str, object] = {}
        for key, choices, what in (
            ("rules", self.rule_names, "rule"),
            ("actions", _KINDS, "action"),
            ("not_actions", _KINDS, "action"),
            ("suppressed", SUPPRESS_REASONS, "reason"),
        ):
            if key in keys:
                value = self._names(keys[key][1], join(path, key), choices, what)
                ok = ok and value is not None
                got[key] = value
        if "route" in keys:
            got["route"] = check_group(c, keys["route"][1], join(path, "route"), self.groups)
            ok = ok and got["route"] is not None
        if "tags" in keys:
            items = c.text_list(keys["tags"][1], join(path, "tags"), max_len=40) if not (
                isinstance(keys["tags"][1], yaml.SequenceNode) and not keys["tags"][1].value) else []
            ok = ok and items is not None
            got["tags"] = tuple(v for _, v in items or [])
        for key in ("reply_contains", "reason_contains"):
            if key in keys:
                got[key] = c.text(keys[key][1], join(path, key), max_len=200)
                ok = ok and got[key] is not None
        if not ok:
            return None
        return Expectation(
            rules=got.get("rules"),  # type: ignore[arg-type]
            actions=got.get("actions"),  # type: ignore[arg-type]
            not_actions=got.get("not_actions") or (),  # type: ignore[arg-type]
            route=got.get("route"),  # type: ignore[arg-type]
            tags=got.get("tags"),  # type: ignore[arg-type]
            reply_contains=got.get("reply_contains"),  # type: ignore[arg-type]
            suppressed=got.get("suppressed"),  # type: ignore[arg-type]
            reason_contains=got.get("reason_contains"),  # type: ignore[arg-type]
        )


class _CountHistory:
    def __init__(self, count: int) -> None:
        self.count = count

    def replies_on_article_since(self, account: str, msg_data_id: str, index: int, since: datetime) -> int:
        return self.count


def example_context(example: Example, prediction: Prediction) -> CommentContext:
    """The comment an example describes, as the daemon would build it."""
    now = example.time or DEFAULT_TIME
    w = example.writer
    writer = Writer(
        openid="example-writer",
        previous_comments=w.previous_comments,
        open_case_id=w.open_case_id,
        last_reply_at=None if w.last_reply_ago is None else now - w.last_reply_ago,
        open_case_route=w.open_case_route,
    )
    return CommentContext(
        comment_id=f"{example.account}:{example.msg_data_id}:0:{example.line}",
        account=example.account, msg_data_id=example.msg_data_id, index=0,
        user_comment_id=example.line, text=example.text, created_at=now, now=now,
        prediction=prediction, writer=writer, article_title=example.article_title,
        channel=example.channel,
    )  # fmt: skip


def example_prediction(example: Example, predict: Predict | None) -> Prediction | str:
    """The example's prediction, or a plain-words reason why there is none."""
    if example.band is not None:
        score = example.score if example.score is not None else BAND_SCORES[example.band]
        return Prediction(score=score, band=example.band, category=example.category or "其他",  # type: ignore[arg-type]
                          category_score=1.0, model_version="example")
    if predict is None:
        return "needs 'band:' (auto, review or below): no classifier model is available to score it"
    try:
        pred = predict(example.text)
    except Exception as exc:
        return f"the classifier could not score it ({type(exc).__name__}); give 'band:' instead"
    if example.category is not None:
        pred = Prediction(pred.score, pred.band, example.category, pred.category_score, pred.top_terms, pred.model_version)
    return pred


def describe(decision: Decision) -> str:
    kinds = [a.kind for a in decision.actions]
    return f"rules [{', '.join(decision.matched_rules)}], actions [{', '.join(kinds)}]"


def check_expectation(example: Example, decision: Decision) -> list[str]:
    """Plain-words differences between what was expected and what happened."""
    e, d = example.expect, decision
    out: list[str] = []
    kinds = tuple(a.kind for a in d.actions)
    held = sorted({r for t in d.trace for r in t.suppressed})
    held_note = f" (reply held back: {', '.join(held)})" if held else ""
    if e.rules is not None and tuple(d.matched_rules) != e.rules:
        out.append(f"expected rules [{', '.join(e.rules)}], got [{', '.join(d.matched_rules)}]")
    if e.actions is not None and kinds != e.actions:
        out.append(f"expected actions [{', '.join(e.actions)}], got [{', '.join(kinds)}]{held_note}")
    for kind in e.not_actions:
        if kind in kinds:
            by = next(a.rule for a in d.actions if a.kind == kind)
            out.append(f"'{kind}' must not happen, but rule '{by}' does it")
    if e.route is not None and d.route != e.route:
        out.append(f"expected route '{e.route}', got '{d.route or 'none'}'")
    if e.tags is not None and sorted(set(d.tags)) != sorted(set(e.tags)):
        out.append(f"expected tags [{', '.join(e.tags)}], got [{', '.join(d.tags)}]")
    if e.reply_contains is not None:
        replies = [str(a.params.get("text", "")) for a in d.actions if a.kind == "reply"]
        if not replies:
            out.append(f"expected a reply containing '{e.reply_contains}', but no reply is sent{held_note}")
        elif not any(e.reply_contains in r for r in replies):
            out.append(f"expected a reply containing '{e.reply_contains}', got '{replies[0]}'")
    if e.reason_contains is not None and e.reason_contains not in d.reason:
        got = f"'{d.reason}'" if d.reason else "no reason (the safety net did not catch it)"
        out.append(f"expected a case reason containing '{e.reason_contains}', got {got}")
    if e.suppressed is not None and sorted(e.suppressed) != held:
        out.append(f"expected replies held back for [{', '.join(e.suppressed)}], got [{', '.join(held)}]")
    return out


def run_examples(rs: RuleSet, predict: Predict | None = None) -> list[Problem]:
    """Every example that no longer holds, as a located :class:`Problem`."""
    problems: list[Problem] = []
    for example in rs.examples:
        label = example.path + (f" ({example.name})" if example.name else "")
        pred = example_prediction(example, predict)
        if isinstance(pred, str):
            problems.append(Problem(rs.filename, example.line, None, label, pred))
            continue
        decision = rs.evaluate(example_context(example, pred), _CountHistory(example.replies_on_article))
        for message in check_expectation(example, decision):
            problems.append(Problem(rs.filename, example.line, None, label, message))
    return problems


__all__ = ["DEFAULT_TIME", "Predict", "check_expectation", "example_context", "example_prediction", "parse_examples", "run_examples"]
