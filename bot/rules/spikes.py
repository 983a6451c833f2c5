"""The ``spikes:`` section of rules.yaml: "N comments like this in M minutes" is news.

One comment about dialysis is a case; a dozen from one district in an hour is a spike, and the
comms team wants to hear about it once, in the right group. Each spike rule says what to count
(words, urgent or any, categories), how many in how long, counted per route (the group that
handles the place named), per article or per category, how that compares with the same time
on previous days (so a busy account does not alert all day and a quiet one still alerts), and
how long to stay quiet after an alert (the cool-down).

:class:`SpikeWatch` is pure: given comments (:class:`SpikeEvent`) and the last alert per rule
and scope, it says which alerts to raise *now*. The daemon's spike job (``bot/alerts.py``) and
``dianhua rules spikes`` (replay of a day) use the same code.
"""

from __future__ import annotations

import bisect
import string
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import pii
from bot.clock import SHANGHAI
from bot.rules._yaml import Checker, Node, join
from bot.rules.model import GroupInfo, RouteTable, tidy
from bot.rules.sections import check_group
from bot.rules.timewin import parse_duration

SECTION = "spikes"
RULE_KEYS = ("name", "description", "when", "count", "within", "per", "baseline", "cooldown",
             "notify", "enabled")
WHEN_KEYS = ("keywords", "urgent", "category")
URGENT = {"any": ("auto", "review", "below"), "urgent": ("auto", "review"), "auto": ("auto",)}
PER = ("route", "article", "category")
PER_LABELS = {"route": "处理部门", "article": "文章", "category": "类别"}
VARIABLES = ("rule", "description", "per", "scope", "label", "count", "within", "baseline",
             "example")
DEFAULT_TEXT = ("【留言突增】{label}：{within}内 {count} 条相关留言（往常同一时段平均 {baseline} 条）。"
                "{description} 例：{example}")
MAX_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class SpikeRule:
    name: str
    count: int
    within: timedelta
    per: str
    keywords: tuple[str, ...] = ()  # normalised; any of them
    bands: tuple[str, ...] = URGENT["any"]
    categories: tuple[str, ...] = ()
    baseline_days: int = 7
    baseline_times: float = 3.0
    cooldown: timedelta = timedelta(hours=6)
    group: str = "route"  # "route" = the scope's own group (only with per: route)
    text: str = DEFAULT_TEXT
    description: str = ""
    enabled: bool = True
    line: int = 0

    def matches(self, event: SpikeEvent) -> bool:
        if event.band not in self.bands:
            return False
        if self.categories and event.category not in self.categories:
            return False
        return not self.keywords or any(k in event.text for k in self.keywords)

    def scope_of(self, event: SpikeEvent) -> str:
        return {"route": event.route, "article": event.article, "category": event.category}[self.per]


@dataclass(frozen=True)
class SpikeEvent:
    """One processed comment, as spike rules see it (``text`` normalised with :func:`tidy`)."""

    comment_id: str
    at: datetime
    text: str
    band: str
    category: str
    route: str
    article: str
    account: str = ""
    raw: str = ""


@dataclass(frozen=True)
class SpikeAlert:
    rule: str
    per: str
    scope: str
    group: str
    count: int
    baseline: float
    at: datetime
    window_start: datetime
    comment_ids: tuple[str, ...]
    text: str
    account: str = ""

    @property
    def key(self) -> str:
        """One alert per spike: the rule, the scope and when its window opened."""
        return f"spike:{self.rule}:{self.scope}:{self.window_start.isoformat(timespec='seconds')}"


def event_from(comment_id: str, at: datetime, text: str, *, band: str, category: str,
               article: str, routes: RouteTable, account: str = "") -> SpikeEvent:
    """A :class:`SpikeEvent` with its route found from the routes table (like the rules do)."""
    norm, title = tidy(text), tidy(article)
    route, _place = routes.find(norm, title)
    return SpikeEvent(comment_id, at, norm, band, category or "其他", route, article, account, text)


class SpikeWatch:
    """Which spike alerts are due at a moment, from the comments seen so far (pure)."""

    def __init__(self, rules: Iterable[SpikeRule], groups: Mapping[str, GroupInfo]) -> None:
        self.rules = tuple(r for r in rules if r.enabled)
        self.groups = groups

    @property
    def lookback(self) -> timedelta:
        """How far back :meth:`due` needs comments (window plus baseline days)."""
        return max((r.within + timedelta(days=r.baseline_days) for r in self.rules), default=timedelta(0))

    def due(self, events: list[SpikeEvent], now: datetime,
            last_alert: Mapping[tuple[str, str], datetime]) -> list[SpikeAlert]:
        """Alerts to raise at ``now``; ``last_alert[(rule, scope)]`` is when each last fired.

        ``events`` must be sorted by time (oldest first); later ones are ignored.
        """
        out: list[SpikeAlert] = []
        stop = bisect.bisect_right(events, now, key=_at)
        for rule in self.rules:
            begin = bisect.bisect_right(events, now - rule.within, key=_at, hi=stop)
            window: dict[str, list[SpikeEvent]] = {}
            for e in events[begin:stop]:
                if rule.matches(e):
                    window.setdefault(rule.scope_of(e), []).append(e)
            for scope, hits in sorted(window.items()):
                if not scope or len(hits) < rule.count:
                    continue
                last = last_alert.get((rule.name, scope))
                if last is not None and now - last < rule.cooldown:
                    continue
                baseline = self._baseline(rule, events, scope, now)
                if len(hits) < rule.baseline_times * baseline:
                    continue
                out.append(self._alert(rule, scope, hits, baseline, now))
        return out

    def _baseline(self, rule: SpikeRule, events: list[SpikeEvent], scope: str, now: datetime) -> float:
        """The average count in the same window on each of the previous ``baseline_days`` days."""
        if rule.baseline_days <= 0:
            return 0.0
        total = 0
        for day in range(1, rule.baseline_days + 1):
            hi = now - timedelta(days=day)
            lo = bisect.bisect_right(events, hi - rule.within, key=_at)
            up = bisect.bisect_right(events, hi, key=_at)
            total += sum(1 for e in events[lo:up] if rule.matches(e) and rule.scope_of(e) == scope)
        return total / rule.baseline_days

    def _alert(self, rule: SpikeRule, scope: str, hits: list[SpikeEvent], baseline: float,
               now: datetime) -> SpikeAlert:
        group = scope if rule.group == "route" else rule.group
        info = self.groups.get(scope) if rule.per == "route" else None
        label = f"{PER_LABELS[rule.per]} {info.label if info else scope}"
        example = pii.mask(hits[-1].raw or hits[-1].text).replace("\n", " ")[:60]
        values = {"rule": rule.name, "description": rule.description, "per": PER_LABELS[rule.per],
                  "scope": scope, "label": label, "count": str(len(hits)),
                  "within": _human(rule.within), "baseline": f"{baseline:.1f}", "example": example}
        text = pii.mask(string.Formatter().vformat(rule.text, (), values))[:1500]
        accounts = Counter(h.account for h in hits)
        return SpikeAlert(rule.name, rule.per, scope, group, len(hits), baseline, now,
                          min(h.at for h in hits), tuple(h.comment_id for h in hits), text,
                          accounts.most_common(1)[0][0] if accounts else "")


def _at(event: SpikeEvent) -> datetime:
    return event.at


def replay(watch: SpikeWatch, events: list[SpikeEvent]) -> list[SpikeAlert]:
    """Every alert a day of comments would have raised, checked as each comment arrives."""
    # Only comments some spike rule counts can start an alert, so only they are looked at.
    ordered = sorted((e for e in events if any(r.matches(e) for r in watch.rules)),
                     key=lambda e: (e.at, e.comment_id))
    last: dict[tuple[str, str], datetime] = {}
    out: list[SpikeAlert] = []
    lookback = watch.lookback
    first = 0
    for i, event in enumerate(ordered):
        while ordered[first].at < event.at - lookback:
            first += 1
        for alert in watch.due(ordered[first: i + 1], event.at, last):
            last[(alert.rule, alert.scope)] = alert.at
            out.append(alert)
    return out


def _human(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    if minutes % 1440 == 0:
        return f"{minutes // 1440} 天"
    if minutes % 60 == 0:
        return f"{minutes // 60} 小时"
    return f"{minutes} 分钟"


# -- parsing -------------------------------------------------------------------------------
def parse_spikes(checker: Checker, node: Node | None, groups: dict[str, GroupInfo]) -> tuple[SpikeRule, ...]:
    """The ``spikes:`` list; every problem goes to ``checker`` with its line and field."""
    if node is None:
        return ()
    items = checker.seq(node, SECTION, what="a list of spike rules (each starting with '- name:')",
                        allow_empty=True)
    out: list[SpikeRule] = []
    names: dict[str, int] = {}
    for i, item in enumerate(items or []):
        path = join(SECTION, i)
        rule = _parse_one(checker, item, path, groups)
        if rule is None:
            continue
        if rule.name in names:
            checker.add(item, join(path, "name"), f"the name '{rule.name}' is already used on line {names[rule.name]}")
            continue
        names[rule.name] = rule.line
        out.append(rule)
    return tuple(out)


def _parse_one(c: Checker, node: Node, path: str, groups: dict[str, GroupInfo]) -> SpikeRule | None:
    keys = c.mapping(node, path, allowed=RULE_KEYS, required=("name", "count", "within", "per"),
                     what="a spike rule ('name:', 'count:', 'within:', 'per:' lines)")
    if keys is None or not {"name", "count", "within", "per"} <= set(keys):
        return None
    before = len(c.problems)
    name = c.word(keys["name"][1], join(path, "name"), what="a short name")
    count = c.integer(keys["count"][1], join(path, "count"), lo=2, hi=10_000)
    within = parse_duration(c, keys["within"][1], join(path, "within"), max_seconds=int(MAX_WINDOW.total_seconds()))
    if within is not None and within < timedelta(minutes=1):
        c.add(keys["within"][1], join(path, "within"), "must be at least 1m")
    per = c.choice(keys["per"][1], join(path, "per"), PER)
    description = ""
    if "description" in keys:
        description = c.text(keys["description"][1], join(path, "description"), allow_empty=True, max_len=200) or ""
    enabled = True
    if "enabled" in keys:
        enabled = bool(c.boolean(keys["enabled"][1], join(path, "enabled")))
    kw: tuple[str, ...] = ()
    bands = URGENT["any"]
    cats: tuple[str, ...] = ()
    if "when" in keys:
        kw, bands, cats = _parse_when(c, keys["when"][1], join(path, "when"))
    days, times = 7, 3.0
    if "baseline" in keys:
        days, times = _parse_baseline(c, keys["baseline"][1], join(path, "baseline"))
    cooldown = timedelta(hours=6)
    if "cooldown" in keys:
        cooldown = parse_duration(c, keys["cooldown"][1], join(path, "cooldown"), max_seconds=7 * 86400) or cooldown
    group, text = "route", DEFAULT_TEXT
    if "notify" in keys:
        group, text = _parse_notify(c, keys["notify"][1], join(path, "notify"), groups, per)
    elif per not in (None, "route"):
        c.add(node, path, f"with 'per: {per}' say which group hears about it: 'notify: {{group: duty}}'")
    if len(c.problems) > before or None in (name, count, within, per):
        return None
    assert name is not None and count is not None and within is not None and per is not None
    return SpikeRule(name, count, within, per, kw, bands, cats, days, times, cooldown, group, text,
                     description, enabled, node.start_mark.line + 1)


def _parse_when(c: Checker, node: Node, path: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    keys = c.mapping(node, path, allowed=WHEN_KEYS,
                     what="'keywords:', 'urgent:' and 'category:' lines") or {}
    kw: list[str] = []
    if "keywords" in keys:
        for child, raw in c.text_list(keys["keywords"][1], join(path, "keywords"), max_len=40) or []:
            norm = tidy(raw)
            if not norm:
                c.add(child, join(path, "keywords"), f"'{raw}' is empty once normalised")
            else:
                kw.append(norm)
    bands = URGENT["any"]
    if "urgent" in keys:
        choice = c.choice(keys["urgent"][1], join(path, "urgent"), tuple(URGENT))
        bands = URGENT.get(choice or "any", bands)
    cats = tuple(v.strip() for _, v in c.text_list(keys["category"][1], join(path, "category"), max_len=40) or []) \
        if "category" in keys else ()
    return tuple(kw), bands, cats


def _parse_baseline(c: Checker, node: Node, path: str) -> tuple[int, float]:
    keys = c.mapping(node, path, allowed=("days", "times"),
                     what="'days:' (how many previous days) and 'times:' (how many times their average)") or {}
    days = c.integer(keys["days"][1], join(path, "days"), lo=0, hi=28) if "days" in keys else 7
    times = c.number(keys["times"][1], join(path, "times"), lo=1, hi=100) if "times" in keys else 3.0
    return (7 if days is None else days), (3.0 if times is None else times)


def _parse_notify(c: Checker, node: Node, path: str, groups: dict[str, GroupInfo], per: str | None) -> tuple[str, str]:
    keys = c.mapping(node, path, allowed=("group", "text"), required=("group",),
                     what="'group:' (route, or a group under 'groups:') and optional 'text:'") or {}
    group = "route"
    if "group" in keys:
        group = check_group(c, keys["group"][1], join(path, "group"), groups, also=("route",)) or "route"
        if group == "route" and per not in (None, "route"):
            c.add(keys["group"][1], join(path, "group"), f"'group: route' needs 'per: route' (this rule counts per {per}); "
                  "name a group instead, e.g. 'group: duty'")
    text = DEFAULT_TEXT
    if "text" in keys:
        raw = c.text(keys["text"][1], join(path, "text"), max_len=500)
        if raw is not None:
            problem = _check_text(raw)
            if problem:
                c.add(keys["text"][1], join(path, "text"), problem)
            else:
                text = raw
    return group, text


def _check_text(text: str) -> str | None:
    if pii.find_phones(text) or pii.find_ids(text):
        return "the text contains what looks like a phone or ID number; group messages never carry one here"
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(text) if f is not None]
    except ValueError:
        return "has an unmatched '{' or '}'; write variables as {count}"
    for field in fields:
        if field not in VARIABLES:
            return f"unknown variable '{{{field}}}' (known: {', '.join('{' + v + '}' for v in VARIABLES)})"
    return None


def spike_line(alert: SpikeAlert, groups: Mapping[str, GroupInfo]) -> str:
    """One line for ``rules spikes``: ``08:12 dialysis_by_district route nanshan 5 (baseline 0.0) → nanshan``."""
    info = groups.get(alert.group)
    label = f" ({info.label})" if info else ""
    return (f"{alert.at.astimezone(SHANGHAI).strftime('%Y-%m-%d %H:%M')} {alert.rule}: {alert.per} "
            f"{alert.scope} {alert.count} comments (baseline {alert.baseline:.1f}) → group {alert.group}{label}")


__all__ = ["SECTION", "SpikeAlert", "SpikeEvent", "SpikeRule", "SpikeWatch", "event_from",
           "parse_spikes", "replay", "spike_line"]
