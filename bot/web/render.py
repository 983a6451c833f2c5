"""Jinja2 for the desk: autoescape always on, Chinese names for statuses, local times."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot import pii
from bot.cases import DEADLINE_LABELS, STATUS_LABELS
from bot.clock import SHANGHAI, from_unix, parse_iso

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

STATUS_ZH = STATUS_LABELS
BAND_ZH = {"auto": "紧急（自动）", "review": "待审核", "below": "普通"}
DEADLINE_ZH = DEADLINE_LABELS
EVENT_ZH = {
    "opened": "开案",
    "status": "状态变更",
    "note": "备注",
    "assign": "指派",
    "attach": "追加留言",
    "notify": "通知",
    "reply": "回复",
    "deadline": "超时",
    "reveal": "查看完整号码",
    "erased": "联系方式已清除",
}
OUTBOX_ZH = {
    "pending": "待发送",
    "inflight": "发送中",
    "sent": "已发送",
    "failed": "发送失败",
    "skipped": "未发送",
}


def local_time(value: str | None, fmt: str = "%m-%d %H:%M") -> str:
    """A stored UTC ISO time shown in Beijing time."""
    if not value:
        return "—"
    try:
        return parse_iso(value).astimezone(SHANGHAI).strftime(fmt)
    except ValueError:
        return str(value)


def unix_time(value: Any, fmt: str = "%m-%d %H:%M") -> str:
    """A platform timestamp (seconds) shown in Beijing time."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return "—"
    if seconds <= 0:
        return "—"
    return from_unix(seconds).astimezone(SHANGHAI).strftime(fmt)


def time_left(seconds: float | None) -> str:
    """``剩余 01:02:03`` or ``超时 00:05:00`` (same format as desk.js)."""
    if seconds is None:
        return "—"
    late = seconds < 0
    total = int(math.floor(abs(seconds)))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    body = (f"{days}天 " if days else "") + f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return ("超时 " if late else "剩余 ") + body


def percent(value: Any) -> str:
    if value is None:
        return "—"
    try:
        return f"{float(value):.2f}"
    except (TypeError, ValueError):
        return "—"


def make_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every template, every variable: comment text is untrusted
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        local=local_time,
        unix=unix_time,
        left=time_left,
        score=percent,
        masked=lambda text: pii.mask(str(text or "")),
        status_zh=lambda s: STATUS_ZH.get(str(s), str(s)),
        band_zh=lambda b: BAND_ZH.get(str(b), str(b or "—")),
        deadline_zh=lambda d: DEADLINE_ZH.get(str(d), str(d)),
        event_zh=lambda k: EVENT_ZH.get(str(k), str(k)),
        outbox_zh=lambda s: OUTBOX_ZH.get(str(s), str(s)),
        mask_phone=lambda p: pii.mask_phone(str(p)) if p else "",
    )
    return env


__all__ = ["BAND_ZH", "DEADLINE_ZH", "STATIC", "STATUS_ZH", "TEMPLATES", "local_time",
           "make_env", "time_left"]
