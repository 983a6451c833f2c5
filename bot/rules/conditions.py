"""The ``when:`` part of a rule: each key becomes one named true/false test.

A rule matches when every condition is true; an empty or missing ``when:`` always matches.
Keyword and regex conditions look at the normalised text (full-width → half-width,
traditional → simplified, lower case), so 醫院 matches 医院 and ＡＢＣ matches abc.
"""

from __future__ import annotations

from collections.abc import Callable

import yaml

from bot.rules._yaml import Checker, Node, join, suggest
from bot.rules.model import CATEGORIES, Condition, Facts, GroupInfo, Settings, tidy
from bot.rules.regexguard import UnsafePattern, compile_pattern, safe_search
from bot.rules.timewin import WEEKDAY_NAMES, parse_weekdays, parse_window
from classifiers.prediction import BANDS

WHEN_KEYS = (
    "band",
    "min_score",
    "max_score",
    "category",
    "keywords",
    "regex",
    "account",
    "article",
    "quiet_hours",
    "working_hours",
    "between",
    "weekdays",
    "first_comment",
    "has_open_case",
    "has_phone",
    "has_id",
    "route",
    "channel",
)
CHANNELS = ("comment", "message")
_FLAGS: dict[str, Callable[[Facts], bool]] = {
    "first_comment": lambda f: f.ctx.writer.previous_comments == 0,
    "has_open_case": lambda f: f.ctx.writer.open_case_id is not None,
    "has_phone": lambda f: f.has_phone,
    "has_id": lambda f: f.has_id,
}


def _show(items: list[str], limit: int = 60) -> str:
    text = ", ".join(items)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _flag(name: str, want: bool, test: Callable[[Facts], bool]) -> Condition:
    return Condition(name, f"{name}: {'true' if want else 'false'}", lambda f: test(f) == want)


class _WhenCompiler:
    def __init__(self, checker: Checker, settings: Settings, groups: dict[str, GroupInfo]) -> None:
        self.c = checker
        self.settings = settings
        self.groups = groups

    def compile(self, node: Node | None, path: str) -> tuple[Condition, ...] | None:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            return ()
        keys = self.c.mapping(node, path, allowed=WHEN_KEYS)
        if keys is None:
            return None
        out: list[Condition] = []
        ok = True
        self._scores: dict[str, float] = {}
        for key, (_key_node, value_node) in keys.items():  # file order, as the reader wrote it
            built = getattr(self, "_" + key)(value_node, join(path, key))
            if built is None:
                ok = False
            else:
                out.extend(built)
        lo_v, hi_v = self._scores.get("min_score"), self._scores.get("max_score")
        if lo_v is not None and hi_v is not None and lo_v > hi_v:
            self.c.add(keys["max_score"][1], join(path, "max_score"),
                       f"is below min_score ({hi_v:g} < {lo_v:g}), so the rule can never match")
            ok = False
        return tuple(out) if ok else None

    # -- classifier --------------------------------------------------------------------------
    def _band(self, node: Node, path: str) -> list[Condition] | None:
        items = self.c.text_list(node, path)
        if items is None:
            return None
        bands: list[str] = []
        for child, value in items:
            if self.c.choice(child, path, BANDS) is None:
                return None
            bands.append(value)
        wanted = frozenset(bands)
        return [Condition("band", f"band: {_show(bands)}", lambda f: f.ctx.prediction.band in wanted)]

    def _min_score(self, node: Node, path: str) -> list[Condition] | None:
        v = self.c.number(node, path, lo=0, hi=1)
        if v is None:
            return None
        self._scores["min_score"] = v
        return [Condition("min_score", f"score >= {v:g}", lambda f: f.ctx.prediction.score >= v)]

    def _max_score(self, node: Node, path: str) -> list[Condition] | None:
        v = self.c.number(node, path, lo=0, hi=1)
        if v is None:
            return None
        self._scores["max_score"] = v
        return [Condition("max_score", f"score <= {v:g}", lambda f: f.ctx.prediction.score <= v)]

    def _category(self, node: Node, path: str) -> list[Condition] | None:
        items = self.c.text_list(node, path)
        if items is None:
            return None
        cats: list[str] = []
        for child, _value in items:
            value = self.c.choice(child, path, CATEGORIES)
            if value is None:
                return None
            cats.append(value)
        wanted = frozenset(cats)
        return [Condition("category", f"category: {_show(cats)}", lambda f: f.ctx.prediction.category in wanted)]

    # -- text --------------------------------------------------------------------------------
    def _words(self, node: Node, path: str) -> list[str] | None:
        items = self.c.text_list(node, path, max_len=100)
        if items is None:
            return None
        words: list[str] = []
        for child, raw in items:
            word = tidy(raw)
            if not word:
                self.c.add(child, path, f"'{raw}' is empty once normalised")
                return None
            words.append(word)
        return words

    def _keywords(self, node: Node, path: str) -> list[Condition] | None:
        if not isinstance(node, yaml.MappingNode):  # a plain list means "any of these"
            words = self._words(node, path)
            if words is None:
                return None
            return [self._kw("any", words)]
        keys = self.c.mapping(node, path, allowed=("any", "all", "none"))
        if keys is None:
            return None
        if not keys:
            if not node.value:
                self.c.add(node, path, "needs 'any', 'all' or 'none' with a list of words")
            return None
        out: list[Condition] = []
        for mode in ("any", "all", "none"):
            if mode in keys:
                words = self._words(keys[mode][1], join(path, mode))
                if words is None:
                    return None
                out.append(self._kw(mode, words))
        return out

    @staticmethod
    def _kw(mode: str, words: list[str]) -> Condition:
        label = f"keywords {mode}: {_show(words)}"
        if mode == "any":
            return Condition("keywords.any", label, lambda f: any(w in f.text for w in words))
        if mode == "all":
            return Condition("keywords.all", label, lambda f: all(w in f.text for w in words))
        return Condition("keywords.none", label, lambda f: not any(w in f.text for w in words))

    def _regex(self, node: Node, path: str) -> list[Condition] | None:
        items = self.c.text_list(node, path, max_len=1000, max_items=20)
        if items is None:
            return None
        compiled = []
        for child, raw in items:
            try:
                compiled.append(compile_pattern(raw))
            except UnsafePattern as exc:
                self.c.add(child, path, f"the pattern {raw[:60]!r} {exc}")
                return None
        label = f"regex: {_show([p.pattern for p in compiled])}"
        return [Condition("regex", label, lambda f: any(safe_search(p, f.text) for p in compiled))]

    # -- where -------------------------------------------------------------------------------
    def _account(self, node: Node, path: str) -> list[Condition] | None:
        items = self.c.text_list(node, path, max_len=64)
        if items is None:
            return None
        accounts = frozenset(v for _, v in items)
        return [Condition("account", f"account: {_show(sorted(accounts))}", lambda f: f.ctx.account in accounts)]

    def _article(self, node: Node, path: str) -> list[Condition] | None:
        keys = self.c.mapping(node, path, allowed=("msg_data_id", "title_contains"))
        if keys is None:
            return None
        if not keys:
            if not node.value:
                self.c.add(node, path, "needs 'msg_data_id' or 'title_contains'")
            return None
        out: list[Condition] = []
        if "msg_data_id" in keys:
            items = self.c.text_list(keys["msg_data_id"][1], join(path, "msg_data_id"), max_len=64)
            if items is None:
                return None
            ids = frozenset(v.strip() for _, v in items)
            out.append(Condition("article.msg_data_id", f"article: {_show(sorted(ids))}",
                                 lambda f: str(f.ctx.msg_data_id) in ids))
        if "title_contains" in keys:
            words = self._words(keys["title_contains"][1], join(path, "title_contains"))
            if words is None:
                return None
            out.append(Condition("article.title_contains", f"article title has: {_show(words)}",
                                 lambda f: any(w in f.title for w in words)))
        return out

    def _route(self, node: Node, path: str) -> list[Condition] | None:
        items = self.c.text_list(node, path, max_len=64)
        if items is None:
            return None
        names: list[str] = []
        for child, value in items:
            if value not in self.groups:
                self.c.add(child, path, f"unknown group '{value}'{suggest(value, self.groups)}")
                return None
            names.append(value)
        wanted = frozenset(names)
        return [Condition("route", f"route: {_show(names)}", lambda f: f.route in wanted)]

    def _channel(self, node: Node, path: str) -> list[Condition] | None:
        items = self.c.text_list(node, path, max_len=16)
        if items is None:
            return None
        names: list[str] = []
        for child, _value in items:
            value = self.c.choice(child, path, CHANNELS)
            if value is None:
                return None
            names.append(value)
        wanted = frozenset(names)
        return [Condition("channel", f"channel: {_show(names)}",
                          lambda f: getattr(f.ctx, "channel", "comment") in wanted)]

    # -- time --------------------------------------------------------------------------------
    def _named_window(self, node: Node, path: str, name: str) -> list[Condition] | None:
        want = self.c.boolean(node, path)
        if want is None:
            return None
        window = getattr(self.settings, name)
        if window is None:
            self.c.add(node, path, f"'{name}' is not set under 'settings:'; set it there first")
            return None
        return [Condition(name, f"{name} ({window}): {'true' if want else 'false'}",
                          lambda f: window.contains(f.ctx.now) == want)]

    def _quiet_hours(self, node: Node, path: str) -> list[Condition] | None:
        return self._named_window(node, path, "quiet_hours")

    def _working_hours(self, node: Node, path: str) -> list[Condition] | None:
        return self._named_window(node, path, "working_hours")

    def _between(self, node: Node, path: str) -> list[Condition] | None:
        window = parse_window(self.c, node, path)
        if window is None:
            return None
        return [Condition("between", f"between {window}", lambda f: window.contains(f.ctx.now))]

    def _weekdays(self, node: Node, path: str) -> list[Condition] | None:
        days = parse_weekdays(self.c, node, path)
        if days is None:
            return None
        label = "weekdays: " + ",".join(WEEKDAY_NAMES[d] for d in sorted(days))
        return [Condition("weekdays", label, lambda f: f.local_now.weekday() in days)]

    # -- the writer and the text -------------------------------------------------------------
    def _flag_key(self, key: str, node: Node, path: str) -> list[Condition] | None:
        want = self.c.boolean(node, path)
        return None if want is None else [_flag(key, want, _FLAGS[key])]

    def _first_comment(self, node: Node, path: str) -> list[Condition] | None:
        return self._flag_key("first_comment", node, path)

    def _has_open_case(self, node: Node, path: str) -> list[Condition] | None:
        return self._flag_key("has_open_case", node, path)

    def _has_phone(self, node: Node, path: str) -> list[Condition] | None:
        return self._flag_key("has_phone", node, path)

    def _has_id(self, node: Node, path: str) -> list[Condition] | None:
        return self._flag_key("has_id", node, path)


def compile_when(
    checker: Checker, node: Node | None, path: str, settings: Settings, groups: dict[str, GroupInfo]
) -> tuple[Condition, ...] | None:
    """The conditions of one rule, or ``None`` when any is wrong (problems are in ``checker``)."""
    return _WhenCompiler(checker, settings, groups).compile(node, path)


__all__ = ["WHEN_KEYS", "compile_when"]
