"""Every number of the report, the briefing, the dashboard and the spike job, read from SQLite.

This is the one module of ``bot/report`` (and of the spike job) that speaks SQL. It only reads.
Functions take a :data:`Query` — ``Store.query`` in the daemon and the desk, or
:func:`open_readonly` for ``dianhua report``, which never creates or changes the file.

Periods are ``[since, until)`` in UTC; comments are counted by their platform time
(``create_time``), cases by ``opened_at`` / ``resolved_at``, replies by ``sent_at``. Buckets
(hours, days) are Beijing time. Personal numbers are masked before anything leaves here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot import clock, pii
from bot.cases import DEADLINE_LABELS, OPEN_STATUSES, STATUS_LABELS, CasePolicy, due_dates
from bot.clock import SHANGHAI, iso, parse_iso
from bot.errors import StoreError

Query = Callable[[str, Sequence[Any]], list[dict[str, Any]]]
BANDS = ("auto", "review", "below")
SLOWEST = 10


def open_readonly(path: str | Path) -> tuple[Query, Callable[[], None]]:
    """A read-only query function on an existing SQLite file, and a close function.

    Raises :class:`StoreError` when the file is missing or is not a dianhua database; never
    creates a file (``mode=ro``), so a wrong path stays a wrong path.
    """
    p = Path(path)
    if not p.is_file():
        raise StoreError(f"no database at {p} (give --db or --config; the daemon's default is var/dianhua.db)")
    try:
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only = ON")
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the database {p}: {exc}") from exc
    missing = {"comments", "classifications", "cases", "outbox"} - tables
    if missing:
        conn.close()
        raise StoreError(f"{p} is not a dianhua database (no table {', '.join(sorted(missing))})")

    def query(sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        try:
            return [dict(r) for r in conn.execute(sql, list(params))]
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the database {p}: {exc}") from exc

    return query, conn.close


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime
    account: str | None = None

    @property
    def unix(self) -> tuple[float, float]:
        return self.since.timestamp(), self.until.timestamp()


def _acc(period: Period, column: str) -> tuple[str, list[Any]]:
    return (f" and {column} = ?", [period.account]) if period.account else ("", [])


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
    since, until = iso(period.since), iso(period.until)
    lo, hi = period.unix
    ca, cap = _acc(period, "m.account")
    bands = {r["band"]: r["n"] for r in q(
        "select cl.band, count(*) as n from comments m join classifications cl on cl.comment_id = m.id "
        f"where m.create_time >= ? and m.create_time < ?{ca} group by cl.band", [lo, hi, *cap])}
    comments = q(f"select count(*) as n from comments m where m.create_time >= ? and m.create_time < ?{ca}",
                 [lo, hi, *cap])[0]["n"]
    messages = q("select count(*) as n from comments m where m.channel = 'message' and "
                 f"m.create_time >= ? and m.create_time < ?{ca}", [lo, hi, *cap])[0]["n"]
    oa, oap = _acc(period, "o.account")
    sent = {r["kind"]: r["n"] for r in q(
        "select o.kind, count(*) as n from outbox o where o.status = 'sent' and o.sent_at >= ? "
        f"and o.sent_at < ?{oa} group by o.kind", [since, until, *oap])}
    k, kp = _acc(period, "c.account")
    opened = {r["priority"]: r["n"] for r in q(
        f"select c.priority, count(*) as n from cases c where c.opened_at >= ? and c.opened_at < ?{k} "
        "group by c.priority", [since, until, *kp])}
    resolved = q(f"select count(*) as n from cases c where c.resolved_at >= ? and c.resolved_at < ?{k}",
                 [since, until, *kp])[0]["n"]
    late = q("select count(distinct b.case_id) as n from breaches b join cases c on c.id = b.case_id "
             f"where b.due_at >= ? and b.due_at < ?{k}", [since, until, *kp])[0]["n"]
    open_now = q("select count(*) as n from cases c where c.status in ({}) and c.opened_at < ?{}".format(
        ",".join("?" * len(OPEN_STATUSES)), k), [*OPEN_STATUSES, until, *kp])[0]["n"]
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
    oa, oap = _acc(period, "o.account")
    rows = q("select o.sent_at, m.create_time from outbox o join comments m on m.id = o.comment_id "
             "where o.kind = 'reply' and o.status = 'sent' and o.sent_at >= ? and o.sent_at < ?"
             f"{oa}", [iso(period.since), iso(period.until), *oap])
    return [max(0.0, parse_iso(r["sent_at"]).timestamp() - float(r["create_time"]))
            for r in rows if r["create_time"] is not None]


def resolve_times(q: Query, period: Period) -> list[float]:
    """Seconds from opening to resolution, for cases resolved in the period."""
    k, kp = _acc(period, "c.account")
    rows = q("select c.opened_at, c.resolved_at from cases c where c.resolved_at >= ? "
             f"and c.resolved_at < ?{k}", [iso(period.since), iso(period.until), *kp])
    return [(parse_iso(r["resolved_at"]) - parse_iso(r["opened_at"])).total_seconds() for r in rows]


def breakdown(q: Query, period: Period, by: str) -> list[dict[str, Any]]:
    """Comments, urgent comments, cases and replies per category, route or article."""
    column = {"category": "cl.category", "route": "cl.route",
              "article": "coalesce(nullif(a.title, ''), m.article_id)"}[by]
    lo, hi = period.unix
    ca, cap = _acc(period, "m.account")
    rows = q(
        f"select {column} as name, count(*) as comments, "
        "sum(case when cl.band in ('auto', 'review') then 1 else 0 end) as urgent, "
        "count(c.id) as cases, "
        "sum(case when exists (select 1 from outbox o where o.comment_id = m.id and o.kind = 'reply' "
        "and o.status = 'sent') then 1 else 0 end) as replies "
        "from comments m left join classifications cl on cl.comment_id = m.id "
        "left join articles a on a.id = m.article_id left join cases c on c.comment_id = m.id "
        f"where m.create_time >= ? and m.create_time < ?{ca} group by name "
        "order by urgent desc, comments desc, name", [lo, hi, *cap])
    return [{"name": r["name"] or "（未分类）" if by != "route" else r["name"] or "（无）",
             "comments": int(r["comments"]), "urgent": int(r["urgent"] or 0),
             "cases": int(r["cases"] or 0), "replies": int(r["replies"] or 0)} for r in rows]


def hourly(q: Query, period: Period) -> list[dict[str, Any]]:
    """Comments and urgent comments per Beijing-time hour (per day when the period is longer
    than three days), every bucket present, zeros too, from the first comment on."""
    lo, hi = period.unix
    ca, cap = _acc(period, "m.account")
    rows = q("select m.create_time, cl.band from comments m left join classifications cl "
             f"on cl.comment_id = m.id where m.create_time >= ? and m.create_time < ?{ca}",
             [lo, hi, *cap])
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
    k, kp = _acc(period, "c.account")
    rows = q("select c.*, m.content, cl.category, cl.band from cases c "
             "left join comments m on m.id = c.comment_id "
             "left join classifications cl on cl.comment_id = c.comment_id "
             f"where c.opened_at >= ? and c.opened_at < ?{k}", [iso(period.since), iso(period.until), *kp])
    end = min(now, period.until)
    for r in rows:
        done = r["resolved_at"] or (r["updated_at"] if r["status"] not in OPEN_STATUSES else None)
        stop = parse_iso(done) if done else end
        r["_seconds"] = max(0.0, (stop - parse_iso(r["opened_at"])).total_seconds())
    rows.sort(key=lambda r: (-r["_seconds"], r["id"]))
    out = []
    for r in rows[:n]:
        events = q("select at, actor, kind, from_status, to_status, note from case_events "
                   "where case_id = ? order by id", [r["id"]])
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
    where = " and c.account = ?" if account else ""
    rows = q("select c.*, m.content from cases c left join comments m on m.id = c.comment_id "
             "where c.status in ({}){}".format(",".join("?" * len(OPEN_STATUSES)), where),
             [*OPEN_STATUSES, *([account] if account else [])])
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
    lo, hi = period.unix
    ca, cap = _acc(period, "m.account")
    out: dict[str, list[dict[str, Any]]] = {}
    for col in ("model_version", "rules_version"):
        out[col.removesuffix("_version")] = [
            {"version": r["v"] or "?", "comments": int(r["n"]), "from": beijing(r["first"]),
             "to": beijing(r["last"])}
            for r in q(f"select cl.{col} as v, count(*) as n, min(cl.processed_at) as first, "
                       "max(cl.processed_at) as last from classifications cl join comments m on "
                       f"m.id = cl.comment_id where m.create_time >= ? and m.create_time < ?{ca} "
                       "group by v order by first", [lo, hi, *cap])]
    return out


def alerts(q: Query, period: Period) -> list[dict[str, Any]]:
    """Spike alerts raised in the period (empty on a database from before spike alerts)."""
    if not q("select name from sqlite_master where type = 'table' and name = 'alerts'", []):
        return []
    a, ap = _acc(period, "account")
    rows = q(f"select * from alerts where at >= ? and at < ?{a} order by at",
             [iso(period.since), iso(period.until), *ap])
    return [{"at": beijing(r["at"]), "rule": r["rule"], "per": r["per"], "scope": r["scope"],
             "group": r["grp"], "count": r["count"], "baseline": r["baseline"],
             "account": r["account"] or "", "text": pii.mask(r["text"] or "")} for r in rows]


def accounts(q: Query) -> list[str]:
    """The accounts that have comments in the database."""
    return [r["account"] for r in q("select distinct account from comments order by account", [])]


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
def spike_events(q: Query, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Processed comments created in ``[since, until)``: what spike rules count."""
    return q("select m.id, m.account, m.create_time, m.content, m.article_id, "
             "coalesce(nullif(a.title, ''), m.article_id) as article, cl.band, cl.category, cl.route "
             "from comments m join classifications cl on cl.comment_id = m.id "
             "left join articles a on a.id = m.article_id "
             "where m.create_time >= ? and m.create_time < ? order by m.create_time, m.id",
             [since.timestamp(), until.timestamp()])


def last_alerts(q: Query) -> dict[tuple[str, str], str]:
    """(spike rule, scope) → when its last alert was raised (UTC ISO)."""
    return {(r["rule"], r["scope"]): r["at"] for r in q(
        "select rule, scope, max(at) as at from alerts group by rule, scope", [])}


def outbox_has(q: Query, key: str) -> bool:
    """Whether an outbox row with this key exists (the briefing's once-a-day guard)."""
    return bool(q("select 1 from outbox where key = ?", [key]))


def recent_alerts(q: Query, since: datetime, limit: int = 20) -> list[dict[str, Any]]:
    rows = q("select * from alerts where at >= ? order by at desc limit ?", [iso(since), limit])
    return [{"at": beijing(r["at"]), "rule": r["rule"], "per": r["per"], "scope": r["scope"],
             "group": r["grp"], "count": r["count"], "baseline": r["baseline"],
             "account": r["account"] or "", "text": pii.mask(r["text"] or "")} for r in rows]


__all__ = ["Period", "Query", "accounts", "alerts", "beijing", "breakdown", "collect", "duration", "hourly", "last_alerts",
           "late_cases", "open_readonly", "outbox_has", "percentiles", "recent_alerts", "reply_times",
           "resolve_times", "slowest_cases", "spike_events", "totals", "versions"]
