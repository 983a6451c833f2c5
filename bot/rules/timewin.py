"""Time in rules.yaml: windows like ``22:00-07:00`` on chosen weekdays, and durations like ``10m``.

Every clock time in rules.yaml is Beijing time (Asia/Shanghai), whatever the server's zone.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import yaml

from bot.clock import SHANGHAI
from bot.rules._yaml import Checker, Node, join, suggest

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_ALIASES: dict[str, int] = {}
for _i, _n in enumerate(WEEKDAY_NAMES):
    _WEEKDAY_ALIASES[_n] = _i
for _i, _n in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")):
    _WEEKDAY_ALIASES[_n] = _i
for _i, _c in enumerate("一二三四五六日"):
    _WEEKDAY_ALIASES["周" + _c] = _i
    _WEEKDAY_ALIASES["星期" + _c] = _i
_WEEKDAY_ALIASES["周天"] = _WEEKDAY_ALIASES["星期天"] = 6

_RANGE_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*(?:-|~|至|到)\s*(\d{1,2}):(\d{2})\s*$")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z\u4e00-\u9fff]*)\s*$")
_UNITS = {
    "": 1, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "秒": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60, "分": 60, "分钟": 60,
    "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600, "小时": 3600, "时": 3600,
    "d": 86400, "day": 86400, "days": 86400, "天": 86400,
}  # fmt: skip


@dataclass(frozen=True)
class TimeWindow:
    """Clock times ``start``–``end`` in Beijing time; ``end < start`` means it runs past midnight."""

    start: time
    end: time | None  # None = 24:00
    weekdays: frozenset[int] = frozenset(range(7))
    text: str = ""

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(SHANGHAI)
        if local.weekday() not in self.weekdays:
            return False
        now = local.time().replace(tzinfo=None)
        end = self.end
        if end is None:
            return now >= self.start
        if self.start <= end:
            return self.start <= now < end
        return now >= self.start or now < end

    def __str__(self) -> str:
        return self.text


def parse_range(checker: Checker, node: Node, path: str) -> tuple[time, time | None, str] | None:
    """``"22:00-07:00"`` → ``(22:00, 07:00, text)``."""
    raw = checker.text(node, path, max_len=40)
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", raw)
    m = _RANGE_RE.match(text)
    if not m:
        checker.add(node, path, f"must look like \"22:00-07:00\" (start-end, Beijing time), got '{raw}'")
        return None
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        checker.add(node, path, f"'{raw}' is not a real clock time (00:00 to 24:00)")
        return None
    start = time(h1, m1)
    end = None if h2 == 24 else time(h2, m2)
    if end == start:
        checker.add(node, path, f"'{raw}' starts and ends at the same time; use 00:00-24:00 for all day")
        return None
    return start, end, f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


def parse_weekdays(checker: Checker, node: Node, path: str) -> frozenset[int] | None:
    """``[mon, tue]``, ``mon-fri``, ``[周六, 周日]`` → weekday numbers (Monday = 0)."""
    items = checker.text_list(node, path, max_len=20)
    if items is None:
        return None
    days: set[int] = set()
    ok = True
    for child, raw in items:
        word = unicodedata.normalize("NFKC", raw).strip().lower()
        if "-" in word:
            a, _, b = word.partition("-")
            if a.strip() in _WEEKDAY_ALIASES and b.strip() in _WEEKDAY_ALIASES:
                i, j = _WEEKDAY_ALIASES[a.strip()], _WEEKDAY_ALIASES[b.strip()]
                days.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(j + 1)])
                continue
        if word in _WEEKDAY_ALIASES:
            days.add(_WEEKDAY_ALIASES[word])
            continue
        checker.add(child, path, f"unknown weekday '{raw}'{suggest(word, WEEKDAY_NAMES)}; use mon tue wed thu fri sat sun")
        ok = False
    return frozenset(days) if ok else None


def parse_window(checker: Checker, node: Node, path: str) -> TimeWindow | None:
    """``"23:00-07:00"`` or ``{between: "09:00-18:00", weekdays: [mon, ..., fri]}``."""
    if isinstance(node, yaml.MappingNode):
        keys = checker.mapping(node, path, allowed=("between", "weekdays"), required=("between",))
        if keys is None or "between" not in keys:
            return None
        rng = parse_range(checker, keys["between"][1], join(path, "between"))
        days: frozenset[int] | None = frozenset(range(7))
        if "weekdays" in keys:
            days = parse_weekdays(checker, keys["weekdays"][1], join(path, "weekdays"))
        if rng is None or days is None:
            return None
        text = rng[2] if len(days) == 7 else f"{rng[2]} on " + ",".join(WEEKDAY_NAMES[d] for d in sorted(days))
        return TimeWindow(rng[0], rng[1], days, text)
    rng = parse_range(checker, node, path)
    return None if rng is None else TimeWindow(rng[0], rng[1], frozenset(range(7)), rng[2])


def parse_duration(checker: Checker, node: Node, path: str, *, max_seconds: int = 30 * 86400) -> timedelta | None:
    """``10m``, ``2h``, ``1d``, ``90`` (seconds), ``30分钟`` → a duration."""
    raw = checker.text(node, path, max_len=30)
    if raw is None:
        return None
    m = _DURATION_RE.match(unicodedata.normalize("NFKC", raw).lower())
    if not m or m.group(2) not in _UNITS:
        checker.add(node, path, f"must be a duration like 30s, 10m, 2h or 1d, got '{raw}'")
        return None
    seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds > max_seconds:
        checker.add(node, path, f"is too long ({raw}); at most {max_seconds // 86400} days")
        return None
    return timedelta(seconds=seconds)


__all__ = ["WEEKDAY_NAMES", "TimeWindow", "parse_duration", "parse_range", "parse_weekdays", "parse_window"]
