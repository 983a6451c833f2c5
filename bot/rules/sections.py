"""The ``settings``, ``groups`` and ``routes`` sections of rules.yaml."""

from __future__ import annotations

from datetime import timedelta

import yaml

from bot import pii
from bot.rules._yaml import Checker, Node, join, suggest
from bot.rules.model import GroupInfo, RateLimit, RouteEntry, RouteTable, Settings, tidy
from bot.rules.timewin import TimeWindow, parse_duration, parse_window

RESERVED_GROUPS = ("route", "auto")
SETTINGS_KEYS = (
    "replies_enabled",
    "reply_cooldown",
    "article_rate_limit",
    "quiet_hours",
    "working_hours",
    "replies_in_quiet_hours",
)


def parse_settings(checker: Checker, node: Node | None) -> Settings:
    """The guardrails; anything missing or wrong falls back to the default (and is reported)."""
    if node is None:
        return Settings()
    keys = checker.mapping(node, "settings", allowed=SETTINGS_KEYS)
    if keys is None:
        return Settings()
    s = Settings()
    replies_enabled = s.replies_enabled
    cooldown = s.reply_cooldown
    rate: RateLimit | None = None
    quiet: TimeWindow | None = None
    working: TimeWindow | None = None
    in_quiet = s.replies_in_quiet_hours
    if "replies_enabled" in keys:
        value = checker.boolean(keys["replies_enabled"][1], "settings.replies_enabled")
        replies_enabled = value if value is not None else False  # unsure → stay silent
    if "reply_cooldown" in keys:
        cooldown = parse_duration(checker, keys["reply_cooldown"][1], "settings.reply_cooldown") or cooldown
    if "article_rate_limit" in keys:
        rate = _parse_rate(checker, keys["article_rate_limit"][1], "settings.article_rate_limit")
    if "quiet_hours" in keys:
        quiet = parse_window(checker, keys["quiet_hours"][1], "settings.quiet_hours")
    if "working_hours" in keys:
        working = parse_window(checker, keys["working_hours"][1], "settings.working_hours")
    if "replies_in_quiet_hours" in keys:
        value = checker.boolean(keys["replies_in_quiet_hours"][1], "settings.replies_in_quiet_hours")
        in_quiet = in_quiet if value is None else value
    return Settings(replies_enabled, cooldown, rate, quiet, working, in_quiet)


def _parse_rate(checker: Checker, node: Node, path: str) -> RateLimit | None:
    keys = checker.mapping(node, path, allowed=("count", "per"), required=("count", "per"),
                           what="'count:' and 'per:' lines, e.g. {count: 20, per: 1h}")
    if keys is None or "count" not in keys or "per" not in keys:
        return None
    count = checker.integer(keys["count"][1], join(path, "count"), lo=0, hi=100_000)
    per = parse_duration(checker, keys["per"][1], join(path, "per"))
    if per is not None and per <= timedelta(0):
        checker.add(keys["per"][1], join(path, "per"), "must be longer than 0")
        return None
    if count is None or per is None:
        return None
    return RateLimit(count, per)


def parse_groups(checker: Checker, node: Node | None) -> dict[str, GroupInfo]:
    """``groups: {duty: {label: 值班组, mention: ["@all"]}, nanshan: 南山区疾控}``."""
    if node is None:
        checker.add(None, "groups", "missing 'groups' (the department groups that get notified)")
        return {}
    groups: dict[str, GroupInfo] = {}
    if not isinstance(node, yaml.MappingNode):
        checker.mapping(node, "groups", allowed=())
        return {}
    if not node.value:
        checker.add(node, "groups", "no groups are defined; add at least the duty group")
    for key_node, value_node in checker.pairs(node, "groups"):
        path = join("groups", str(key_node.value))
        name = checker.word(key_node, path, what="a short name")
        if name is None:
            continue
        if name in RESERVED_GROUPS:
            checker.add(key_node, path, f"'{name}' is a reserved word; pick another group name")
            continue
        if isinstance(value_node, yaml.ScalarNode):
            label = checker.text(value_node, path, max_len=20)
            if label is not None:
                groups[name] = GroupInfo(name, label)
            continue
        keys = checker.mapping(value_node, path, allowed=("label", "mention"), required=("label",))
        if keys is None or "label" not in keys:
            continue
        label = checker.text(keys["label"][1], join(path, "label"), max_len=20)
        mention: list[str] = []
        if "mention" in keys:
            items = checker.text_list(keys["mention"][1], join(path, "mention"), max_len=64, max_items=50)
            for child, who in items or []:
                if pii.find_phones(who) or pii.mask(who) != who:
                    checker.add(child, join(path, "mention"),
                                "use WeCom user ids or @all here, never phone numbers")
                else:
                    mention.append(who)
        if label is not None:
            groups[name] = GroupInfo(name, label, tuple(mention))
    return groups


def check_group(checker: Checker, node: Node, path: str, groups: dict[str, GroupInfo],
                *, also: tuple[str, ...] = ()) -> str | None:
    """A group name that must be defined under ``groups:`` (or one of ``also``)."""
    name = checker.text(node, path, max_len=64)
    if name is None:
        return None
    if name in groups or name in also:
        return name
    checker.add(node, path, f"unknown group '{name}'{suggest(name, [*groups, *also])}; "
                "define it under 'groups:'")
    return None


def parse_routes(checker: Checker, node: Node | None, groups: dict[str, GroupInfo]) -> RouteTable:
    """``routes: {fallback: duty, table: [{names: [南山区, 南山], group: nanshan}, ...]}``."""
    if node is None:
        checker.add(None, "routes", "missing 'routes' (at least 'fallback: <group>')")
        return RouteTable((), "")
    keys = checker.mapping(node, "routes", allowed=("fallback", "table"), required=("fallback",))
    if keys is None:
        return RouteTable((), "")
    fallback = ""
    if "fallback" in keys:
        fallback = check_group(checker, keys["fallback"][1], "routes.fallback", groups) or ""
    entries: list[RouteEntry] = []
    seen: dict[str, int] = {}
    if "table" in keys:
        items = checker.seq(keys["table"][1], "routes.table", allow_empty=True) or []
        for i, item in enumerate(items):
            path = join("routes.table", i)
            entry = checker.mapping(item, path, allowed=("names", "group"), required=("names", "group"))
            if entry is None or "names" not in entry or "group" not in entry:
                continue
            group = check_group(checker, entry["group"][1], join(path, "group"), groups)
            names = checker.text_list(entry["names"][1], join(path, "names"), max_len=40)
            if group is None or names is None:
                continue
            normed: list[str] = []
            for child, raw in names:
                name = tidy(raw)
                if not name:
                    checker.add(child, join(path, "names"), f"'{raw}' is empty once normalised")
                elif name in seen:
                    checker.add(child, join(path, "names"), f"'{raw}' is already routed on line {seen[name]}")
                else:
                    seen[name] = child.start_mark.line + 1
                    normed.append(name)
            entries.append(RouteEntry(group, tuple(normed), item.start_mark.line + 1))
    return RouteTable(tuple(entries), fallback)


__all__ = ["RESERVED_GROUPS", "check_group", "parse_groups", "parse_routes", "parse_settings"]
