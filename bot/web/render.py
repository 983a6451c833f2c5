"""Jinja2 for the desk: autoescape always on, Chinese names for statuses, local times."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot import pii
from bot.cases import DEADLINE_LABELS, STATUS_LABELS
from bot.clock import SHANGHAI, beijing, from_unix

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
    "priority": "优先级",
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


# What the bot writes in English (event notes, outbox errors), said in Chinese on the desk.
# (pattern, replacement); the first that matches the whole text wins; unknown text is kept.
_NOTE_ZH: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), r) for p, r in (
    (r"rule (\S+); score ([\d.]+) \((\w+)\)", r"规则 \1 开案；分数 \2（\3）"),
    (r"follow-up attached \((.*)\)", r"追加留言（\1）"),
    (r"follow-up attached", "追加留言"),
    (r"follow-up comment", "后续留言"),
    (r"assigned to (.+)", r"指派给 \1"),
    (r"handed off to (.+)", r"转交 \1"),
    (r"no answer after ([\d.]+) hours", r"\1 小时无回应，自动关闭"),
    (r"first_reply deadline missed \(due (.+)\)", "首次回复时限已过"),
    (r"contact deadline missed \(due (.+)\)", "取得联系时限已过"),
    (r"handoff deadline missed \(due (.+)\)", "转交部门时限已过"),
    (r"resolution deadline missed \(due (.+)\)", "办结时限已过"),
    (r"group (\S+) notified", r"已通知群 \1"),
    (r"public reply posted", "公开回复已发出"),
    (r"automatic processing failed \((\w+)\); please read it", r"自动处理失败（\1），请人工阅读"),
))
_ERROR_ZH: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), r) for p, r in (
    (r"no webhook configured for group '?([^' ]+)'? nor for the duty group",
     r"群 \1 和值班群都没有配置机器人地址（webhook），通知没有发出"),
    (r"no webhook configured for group '?([^' ]+)'?.*", r"群 \1 没有配置机器人地址（webhook），通知没有发出"),
    (r"public replies are switched off", "公开回复已关闭（replies_enabled: false）"),
    (r"no WeChat client for account '?([^']+)'?", r"没有公众号 \1 的接口配置"),
    (r"empty reply text", "回复内容为空"),
    (r"reply found on the platform after a restart", "重启后在平台上查到回复已发出"),
    (r"gave up after (\d+) attempts: (\w+) \(errcode (-?\d+)\)",
     r"重试 \1 次后放弃（\2，错误码 \3）"),
    (r"NotFound \(errcode (-?\d+)\)", r"留言或文章已不存在（错误码 \1）"),
    (r"BadRequest \(errcode (-?\d+)\)", r"微信拒绝了这个请求（错误码 \1）"),
    (r"RateLimited \(errcode (-?\d+)\)", r"调用太频繁，稍后重试（错误码 \1）"),
    (r"AuthError \(errcode (-?\d+)\)", r"公众号凭据或 IP 白名单有问题（错误码 \1）"),
    (r"(\w+) \(errcode (-?\d+)\)", r"暂时出错，稍后重试（\1，错误码 \2）"),
))


def _translate(table: tuple[tuple[re.Pattern[str], str], ...], text: Any) -> str:
    value = str(text or "")
    for pattern, replacement in table:
        if pattern.fullmatch(value):
            return pattern.sub(replacement, value)
    return value


def note_zh(text: Any) -> str:
    """An event note in Chinese (notes the bot writes in English are translated)."""
    out = _translate(_NOTE_ZH, text)
    if out.startswith("追加留言（"):
        out = out.replace("phone ", "电话 ").replace("ID number", "身份证号").replace(", ", "、")
    return out


def error_zh(text: Any) -> str:
    """A send error in Chinese, for editors."""
    return _translate(_ERROR_ZH, text)


def local_time(value: str | None, fmt: str = "%m-%d %H:%M") -> str:
    """A stored UTC ISO time shown in Beijing time."""
    return beijing(value, fmt, empty="—")


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
        note_zh=note_zh,
        error_zh=error_zh,
    )
    return env


__all__ = ["BAND_ZH", "DEADLINE_ZH", "STATIC", "STATUS_ZH", "TEMPLATES", "local_time",
           "error_zh", "make_env", "note_zh", "time_left"]
