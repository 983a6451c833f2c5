"""The daily briefing: one WeCom markdown message a day with the numbers since the last one.

Configured under ``[briefing]`` (group, Beijing time, desk link, skip non-working days). The
daemon runs :class:`BriefingJob` every minute; once the day's time has passed it queues the
message in the outbox under the key ``briefing:<date>``, so it goes out once per day whatever
the restarts. With ``skip_non_working_days`` weekends and public holidays get no briefing (the
next one covers them) and adjusted working days (调休) get one.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from bot.cases import CasePolicy, enqueue
from bot.clock import SHANGHAI, Clock, iso, utcnow
from bot.report import data
from bot.store import Store
from bot.workdays import is_working_day

WEEKDAYS = "一二三四五六日"


def _at(day: date, hhmm: str) -> datetime:
    hh, mm = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(hh, mm), tzinfo=SHANGHAI)


def previous_briefing_day(day: date, skip_non_working_days: bool) -> date:
    """The last day before ``day`` that had a briefing."""
    prev = day - timedelta(days=1)
    if skip_non_working_days:
        for _ in range(30):
            if is_working_day(prev):
                break
            prev -= timedelta(days=1)
    return prev


def briefing_text(q: data.Query, now: datetime, cfg: Any, policy: CasePolicy | None = None) -> str:
    """The markdown message for the briefing due at ``now`` (covers since the previous one)."""
    today = now.astimezone(SHANGHAI).date()
    start = _at(previous_briefing_day(today, cfg.skip_non_working_days), cfg.time)
    end = _at(today, cfg.time)
    period = data.Period(start, end)
    t = data.totals(q, period)
    reply = data.percentiles(data.reply_times(q, period))
    late = data.late_cases(q, now, policy)
    open_now = data.totals(q, data.Period(start, now))["cases_open_now"]
    alerts = data.alerts(q, period)
    lines = [
        f"**电话 · 每日简报** {today:%m-%d}（周{WEEKDAYS[today.weekday()]}）",
        f"统计：{start:%m-%d %H:%M} 至 {end:%m-%d %H:%M}（北京时间）",
        f"> 留言 **{t['comments']}** 条，紧急 <font color=\"warning\">{t['urgent']}</font> 条"
        f"（自动回复 {t['bands']['auto']}，待审核 {t['bands']['review']}）",
        f"> 公开回复 {t['replies']} 条，用时中位数 {data.duration(reply['p50'])}，p90 {data.duration(reply['p90'])}",
        f"> 新案件 {t['cases_opened']} 件（P1 {t['cases_by_priority']['P1']}），办结 {t['cases_resolved']} 件，"
        f"超时 {t['cases_late']} 件",
        f"> 现在仍在办 **{open_now}** 件，其中已超时 <font color=\"warning\">{len(late)}</font> 件"
        + (f"（最久：#{late[0]['id']} {late[0]['route'] or ''}）" if late else ""),
    ]
    if alerts:
        lines.append(f"> 留言突增 {len(alerts)} 次：" + "；".join(
            f"{a['scope']} {a['count']} 条（{a['at'][11:]}）" for a in alerts[:3]))
    if cfg.desk_url:
        lines.append(f"[打开编辑台]({cfg.desk_url})")
    return "\n".join(lines)


class BriefingJob:
    """Queue the day's briefing once its time has passed (idempotent per day)."""

    def __init__(self, store: Store, cfg: Any, policy: CasePolicy | None = None, *,
                 clock: Clock = utcnow) -> None:
        self.store = store
        self.cfg = cfg
        self.policy = policy
        self.clock = clock

    def key(self, day: date) -> str:
        return f"briefing:{day.isoformat()}"

    def run(self) -> bool:
        """True when the day's briefing was queued by this run."""
        if not self.cfg.enabled:
            return False
        now = self.clock()
        today = now.astimezone(SHANGHAI).date()
        if now < _at(today, self.cfg.time):
            return False
        if self.cfg.skip_non_working_days and not is_working_day(today):
            return False
        key = self.key(today)
        if data.outbox_has(self.store.query, key):
            return False
        text = briefing_text(self.store.query, now, self.cfg, self.policy)
        with self.store.transaction() as db:
            enqueue(db, key=key, comment_id="", case_id=None, account="", kind="notify",
                    rule="briefing", params={"group": self.cfg.group, "text": text, "format": "markdown"},
                    at=iso(now))
        return True


__all__ = ["BriefingJob", "briefing_text", "previous_briefing_day"]
