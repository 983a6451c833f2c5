"""Every number of the report, the briefing, the dashboard and the spike job.

The rows come from :mod:`bot.store.reports` (the SQL lives there); this module shapes them.
Functions take a :data:`Query` — ``Store.query`` in the daemon and the desk, or
:func:`open_readonly` for ``dianhua report``, which never creates or changes the file.

Periods are ``[since, until)`` in UTC; comments are counted by their platform time
(``create_time``), cases by ``opened_at`` / ``resolved_at``, replies by ``sent_at``. Buckets
(hours, days) are Beijing time. Personal numbers are masked before anything leaves here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot import clock, pii
from bot.cases import DEADLINE_LABELS, OPEN_STATUSES, STATUS_LABELS, CasePolicy, due_dates
from bot.clock import SHANGHAI, parse_iso
from bot.store import reports as rows_of
from bot.store.reports import Period, Query, open_readonly

BANDS = ("auto", "review", "below")
SLOWEST = 10


def beijing(value: str | datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as Beijing time text (empty for nothing), to the minute."""
    return clock.beijing(value, fmt)


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p90 and max (nearest rank) of ``values``; ``None`` when there are none."""
    if not values:
        return {"n": 0, "p50": None, "p90": None, "max": None}
    s = sorted(values)

    def rank(p: float) -> float:
        return s[min(len(s) - 1, max(0, int(round(p * len(s) + 0.5)) - 1))]

    return {"n": len(s), "p50": rank(0.5), "p90": rank(0.9), "max": s[-1]}


def duration(seconds: float | None) -> str:
    """``45秒``, ``12分``, ``3小时05分``, ``2天04小时``; ``—`` for nothing."""
    if seconds is None:
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s}秒"
    if s < 3600:
        return f"{s // 60}分{s % 60:02d}秒" if s < 600 else f"{s // 60}分"
    if s < 86400:
        return f"{s // 3600}小时{(s % 3600) // 60:02d}分"
    return f"{s // 86400}天{(s % 86400) // 3600:02d}小时"


# -- the report's sections ----------------------------------------------------------------
def totals(q: Query, period: Period) -> dict[str, Any]:
    raw = rows_of.totals(q, period, OPEN_STATUSES)
    bands, sent, opened = raw["bands"], raw["sent"], raw["opened"]
    comments, messages, resolved = raw["comments"], raw["messages"], raw["resolved"]
    late, open_now = raw["late"], raw["open_now"]
    return {
        "comments": int(comments or 0),  # everything read: comments and private messages
        "private_messages": int(messages or 0),
        "bands": {b: int(bands.get(b, 0)) for b in BANDS},
        "urgent": int(bands.get("auto", 0)) + int(bands.get("review", 0)),
        "replies": int(sent.get("reply", 0)),
        "private_answers": int(sent.get("message", 0)),  # customer-service messages (私信)
        "notifications": int(sent.get("notify", 0)),
        "cases_opened": int(sum(opened.values())),
        "cases_by_priority": {p: int(opened.get(p, 0)) for p in ("P1", "P2", "P3")},
        "cases_resolved": int(resolved or 0),
        "cases_late": int(late or 0),
        "cases_open_now": int(open_now or 0),
    }


def reply_times(q: Query, period: Period) -> list[float]:
    """Seconds from each comment (platform time) to its public reply, for replies sent in the period."""
    rows = rows_of.sent_replies(q, period)
    return [max(0.0, parse_iso(r["sent_at"]).timestamp() - float(r["create_time"]))
            for r in rows if r["create_time"] is not None]


def resolve_times(q: Query, period: Period) -> list[float]:
    """Seconds from opening to resolution, for cases resolved in the period."""
    rows = rows_of.resolved_cases(q, period)
    return [(parse_iso(r["resolved_at"]) - parse_iso(r["opened_at"])).total_seconds() for r in rows]


def breakdown(q: Query, period: Period, by: str) -> list[dict[str, Any]]:
    """Comments, urgent comments, cases and replies per category, route or article."""
    rows = rows_of.breakdown(q, period, by)
    return [{"name": r["name"] or "（未分类）" if by != "route" else r["name"] or "（无）",
             "comments": int(r["comments"]), "urgent": int(r["urgent"] or 0),
             "cases": int(r["cases"] or 0), "replies": int(r["replies"] or 0)} for r in rows]


def hourly(q: Query, period: Period) -> list[dict[str, Any]]:
    """Comments and urgent comments per Beijing-time hour (per day when the period is longer
    than three days), every bucket present, zeros too, from the first comment on."""
    lo, _hi = period.unix
    rows = rows_of.comment_bands(q, period)
    first = min((float(r["create_time"]) for r in rows), default=lo)
    start = max(period.since, datetime.fromtimestamp(first, SHANGHAI) - timedelta(hours=1))
    daily = period.until - start > timedelta(days=3)
    step, label = (timedelta(days=1), "%Y-%m-%d") if daily else (timedelta(hours=1), "%Y-%m-%d %H:00")

    def floor(dt: datetime) -> datetime:
        dt = dt.astimezone(SHANGHAI).replace(minute=0, second=0, microsecond=0)
        return dt.replace(hour=0) if daily else dt

    buckets: dict[datetime, dict[str, Any]] = {}
    t = floor(start)
    while t < period.until and len(buckets) < 400:
        buckets[t] = {"hour": t.strftime(label), "comments": 0, "urgent": 0}
        t += step
    for r in rows:
        b = buckets.get(floor(datetime.fromtimestamp(float(r["create_time"]), SHANGHAI)))
        if b is None:
            continue
        b["comments"] += 1
        if r["band"] in ("auto", "review"):
            b["urgent"] += 1
    return list(buckets.values())


def slowest_cases(q: Query, period: Period, now: datetime, n: int = SLOWEST) -> list[dict[str, Any]]:
    """The ``n`` cases opened in the period that took (or are taking) longest, with timelines."""
    rows = rows_of.cases_opened(q, period)
    end = min(now, period.until)
    for r in rows:
        done = r["resolved_at"] or (r["updated_at"] if r["status"] not in OPEN_STATUSES else None)
        stop = parse_iso(done) if done else end
        r["_seconds"] = max(0.0, (stop - parse_iso(r["opened_at"])).total_seconds())
    rows.sort(key=lambda r: (-r["_seconds"], r["id"]))
    out = []
    for r in rows[:n]:
        events = rows_of.case_timeline(q, r["id"])
        out.append({
            "id": r["id"], "priority": r["priority"], "status": r["status"],
            "status_label": STATUS_LABELS.get(r["status"], r["status"]),
            "route": r["route"] or "", "category": r["category"] or "",
            "opened_at": beijing(r["opened_at"]), "resolved_at": beijing(r["resolved_at"]),
            "seconds": r["_seconds"], "open": r["status"] in OPEN_STATUSES,
            "text": pii.mask(r["content"] or "")[:200], "reason": pii.mask(r.get("reason") or ""),
            "timeline": [{"at": beijing(e["at"]), "actor": pii.mask(e["actor"] or ""), "kind": e["kind"],
                          "to": STATUS_LABELS.get(e["to_status"] or "", e["to_status"] or ""),
                          "note": pii.mask(e["note"] or "")[:200]} for e in events],
        })
    return out


def late_cases(q: Query, now: datetime, policy: CasePolicy | None = None,
               account: str | None = None) -> list[dict[str, Any]]:
    """Open cases past a deadline right now, the longest overdue first (for the dashboard)."""
    policy = policy or CasePolicy()
    rows = rows_of.cases_in(q, OPEN_STATUSES, account)
    out = []
    for r in rows:
        overdue = [(name, due) for name, due in due_dates(r, policy) if due <= now]
        if not overdue:
            continue
        name, due = overdue[0]
        out.append({"id": r["id"], "priority": r["priority"], "status": r["status"],
                    "status_label": STATUS_LABELS.get(r["status"], r["status"]),
                    "route": r["route"] or "", "account": r["account"] or "",
                    "assignee": r["assignee"] or "", "deadline": name,
                    "deadline_label": DEADLINE_LABELS.get(name, name), "due_at": beijing(due),
                    "late_seconds": (now - due).total_seconds(),
                    "text": pii.mask(r["content"] or "")[:120]})
    out.sort(key=lambda r: (-r["late_seconds"], r["id"]))
    return out


def versions(q: Query, period: Period) -> dict[str, list[dict[str, Any]]]:
    """The model and rules versions that processed the period's comments, with counts."""
    out: dict[str, list[dict[str, Any]]] = {}
    for col in ("model_version", "rules_version"):
        out[col.removesuffix("_version")] = [
            {"version": r["v"] or "?", "comments": int(r["n"]), "from": beijing(r["first"]),
             "to": beijing(r["last"])}
            for r in rows_of.versions(q, period, col)]
    return out


def alerts(q: Query, period: Period) -> list[dict[str, Any]]:
    """Spike alerts raised in the period (empty on a database from before spike alerts)."""
    rows = rows_of.alerts(q, period)
    return [{"at": beijing(r["at"]), "rule": r["rule"], "per": r["per"], "scope": r["scope"],
             "group": r["grp"], "count": r["count"], "baseline": r["baseline"],
             "account": r["account"] or "", "text": pii.mask(r["text"] or "")} for r in rows]


def accounts(q: Query) -> list[str]:
    """The accounts that have comments in the database."""
    return rows_of.accounts(q)


def collect(q: Query, period: Period, now: datetime, policy: CasePolicy | None = None) -> dict[str, Any]:
    """The whole report as plain data (JSON-ready)."""
    return {
        "period": {"since": beijing(period.since), "until": beijing(period.until),
                   "account": period.account or "", "timezone": "Asia/Shanghai (北京时间)"},
        "generated_at": beijing(now, "%Y-%m-%d %H:%M:%S"),
        "totals": totals(q, period),
        "reply_seconds": percentiles(reply_times(q, period)),
        "resolve_seconds": percentiles(resolve_times(q, period)),
        "reply_times": reply_times(q, period),
        "by_category": breakdown(q, period, "category"),
        "by_route": breakdown(q, period, "route"),
        "by_article": breakdown(q, period, "article"),
        "hourly": hourly(q, period),
        "slowest": slowest_cases(q, period, now),
        "late_now": late_cases(q, now, policy, period.account),
        "versions": versions(q, period),
        "alerts": alerts(q, period),
    }


# -- for the spike job --------------------------------------------------------------------
def spike_events(q: Query, since: datetime, until: datetime, *,
                 after: tuple[Any, str] | None = None,
                 limit: int | None = None) -> list[dict[str, Any]]:
    """Processed comments created in ``[since, until)``: what spike rules count (in pages of
    ``limit`` after ``after``, the last row's ``(create_time, id)``)."""
    return rows_of.spike_events(q, since, until, after=after, limit=limit)


def spike_ids(q: Query, since: datetime, until: datetime) -> list[str]:
    """The ids of the processed comments created in ``[since, until)``, oldest first."""
    return rows_of.spike_ids(q, since, until)


def spike_rows(q: Query, ids: Sequence[str]) -> list[dict[str, Any]]:
    """:func:`spike_events`' rows of these comments."""
    return rows_of.spike_rows(q, ids)


def last_alerts(q: Query) -> dict[tuple[str, str], str]:
    """(spike rule, scope) → when its last alert was raised (UTC ISO)."""
    return rows_of.last_alerts(q)


def outbox_has(q: Query, key: str) -> bool:
    """Whether an outbox row with this key exists (the briefing's once-a-day guard)."""
    return rows_of.outbox_has(q, key)


def recent_alerts(q: Query, since: datetime, limit: int = 20) -> list[dict[str, Any]]:
    rows = rows_of.recent_alerts(q, since, limit)
    return [{"at": beijing(r["at"]), "rule": r["rule"], "per": r["per"], "scope": r["scope"],
             "group": r["grp"], "count": r["count"], "baseline": r["baseline"],
             "account": r["account"] or "", "text": pii.mask(r["text"] or "")} for r in rows]


__all__ = ["Period", "Query", "accounts", "alerts", "beijing", "breakdown", "collect", "duration", "hourly", "last_alerts",
           "late_cases", "open_readonly", "outbox_has", "percentiles", "recent_alerts", "reply_times",
           "resolve_times", "slowest_cases", "spike_events", "spike_ids", "spike_rows", "totals",
           "versions"]
