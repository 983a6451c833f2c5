"""What the desk's pages show, read from the store (no writes here)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from bot import pii
from bot.cases import OPEN_STATUSES, PRIORITIES, CaseBook
from bot.clock import SHANGHAI, iso, parse_iso
from bot.store import Store

STREAM_LIMIT = 200
BANDS = ("auto", "review", "below")


def _loads(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def queue(cases: CaseBook, now: datetime,
          visible: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
    """Open cases (those ``visible`` allows), most urgent first: priority, nearest deadline, age."""
    rows = cases.list_cases(open_only=True)
    failed = notify_failed_cases(cases.store)
    out = []
    for row in rows:
        if visible is not None and not visible(row):
            continue
        due = row.get("due")
        out.append(
            {
                "id": row["id"],
                "priority": row["priority"],
                "status": row["status"],
                "route": row.get("route") or "",
                "assignee": row.get("assignee") or "",
                "opened_at": row["opened_at"],
                "text": pii.mask(row.get("content") or ""),
                "score": row.get("score"),
                "band": row.get("band") or "",
                "category": row.get("category") or "",
                "has_phone": bool(row.get("contact_phone")),
                "reason": pii.mask(row.get("reason") or ""),
                "due_name": due[0] if due else "",
                "due_at": due[1] if due else "",
                "seconds_left": (parse_iso(due[1]) - now).total_seconds() if due else None,
                "notify_failed": row["id"] in failed,
            }
        )
    rank = {p: i for i, p in enumerate(PRIORITIES)}
    out.sort(
        key=lambda r: (
            rank.get(r["priority"], len(PRIORITIES)),
            r["seconds_left"] if r["seconds_left"] is not None else float("inf"),
            r["opened_at"],
        )
    )
    return out


def notify_failed_cases(store: Store) -> set[int]:
    """Cases with a group notification that finally failed (the desk shows 群通知失败)."""
    return {int(r["case_id"]) for r in store.query(
        "select distinct case_id from outbox where kind = 'notify' and status = 'failed' "
        "and case_id is not null")}


def case_detail(
    store: Store, cases: CaseBook, case_id: int, now: datetime | None = None
) -> dict[str, Any]:
    """Everything the case page shows. Raises CaseError for an unknown case."""
    case = cases.get(case_id)
    comment = store.comment(case["comment_id"]) or {}
    cls_rows = store.query("select * from classifications where comment_id = ?",
                           [case["comment_id"]])
    classification = cls_rows[0] if cls_rows else None
    if classification:
        classification = dict(classification)
        classification["terms"] = [
            (str(t[0]), float(t[1])) for t in _loads(classification.get("top_terms"), [])
            if isinstance(t, list | tuple) and len(t) == 2
        ]
        classification["matched"] = _loads(classification.get("matched_rules"), [])
    traces = []
    for t in store.query("select * from traces where comment_id = ? order by position",
                         [case["comment_id"]]):
        traces.append({**t, "conditions": _loads(t.get("conditions"), []),
                       "suppressed": _loads(t.get("suppressed"), [])})
    replies = []
    for r in store.query(
        "select * from outbox where comment_id = ? and kind = 'reply' order by id",
        [case["comment_id"]],
    ):
        params = _loads(r.get("params"), {})
        replies.append({**r, "text": str(params.get("text") or params.get("template") or "")})
    notifies = []
    for r in store.query(
        "select * from outbox where case_id = ? and kind = 'notify' order by id", [case_id]
    ):
        params = _loads(r.get("params"), {})
        notifies.append({**r, "group": str(params.get("group") or "")})
    follow_ups: list[dict[str, Any]] = []
    attached = {
        e["comment_id"] for e in store.query(
            "select comment_id from case_events where case_id = ? and kind = 'attach'", [case_id]
        )
    }
    if comment and comment.get("openid"):
        follow_ups = store.query(
            "select m.*, cl.score, cl.band from comments m "
            "left join classifications cl on cl.comment_id = m.id "
            "where m.account = ? and m.openid = ? and m.id != ? "
            "and (m.create_time > ? or (m.create_time = ? and m.received_at > ?)) "
            "order by m.create_time, m.user_comment_id limit 50",
            [comment["account"], comment["openid"], comment["id"], comment.get("create_time") or 0,
             comment.get("create_time") or 0, comment.get("received_at") or ""],
        )
        for f in follow_ups:
            f["attached"] = f["id"] in attached
    article = store.article(case["article_id"]) if case.get("article_id") else None
    due = cases.next_deadline(case, now or store.clock())
    labels = store.query("select * from labels where comment_id = ?", [case["comment_id"]])
    return {
        "case": case,
        "comment": comment,
        "article": article,
        "classification": classification,
        "traces": traces,
        "replies": replies,
        "notifies": notifies,
        "follow_ups": follow_ups,
        "events": cases.events(case_id),
        "due": due,
        "label": labels[0] if labels else None,
    }


def stream(
    store: Store, *, band: str = "", category: str = "", text: str = "", limit: int = STREAM_LIMIT,
    visible: Callable[[dict[str, Any]], bool] | None = None,
) -> list[dict[str, Any]]:
    """Recent comments with their score, band, case and label, newest first."""
    where, params = ["m.state != 'skipped'"], []
    if band == "none":
        where.append("cl.comment_id is null")
    elif band in BANDS:
        where.append("cl.band = ?")
        params.append(band)
    if category:
        where.append("cl.category = ?")
        params.append(category)
    if text:
        where.append("instr(m.content, ?) > 0")
        params.append(text)
    sql = (
        "select m.id, m.account, m.openid, m.content, m.create_time, m.received_at, m.state, "
        "a.title as article_title, cl.score, cl.band, cl.category, cl.route, "
        "c.route as case_route, c.assignee as case_assignee, "
        "c.id as case_id, c.status as case_status, c.priority as case_priority, "
        "l.urgent as label_urgent, l.editor as label_editor, l.category as label_category, "
        "(select e.case_id from case_events e where e.comment_id = m.id and e.kind = 'attach' "
        "order by e.id desc limit 1) as attached_case_id "
        "from comments m left join articles a on a.id = m.article_id "
        "left join classifications cl on cl.comment_id = m.id "
        "left join cases c on c.comment_id = m.id "
        "left join labels l on l.comment_id = m.id "
        "where " + " and ".join(where) + " order by m.received_at desc, m.create_time desc, "
        "m.user_comment_id desc limit ?"
    )
    rows = store.query(sql, [*params, limit])
    attached = {int(r["attached_case_id"]) for r in rows if r.get("attached_case_id")}
    status_of = {}
    if attached:
        marks = ",".join("?" * len(attached))
        status_of = {r["id"]: r["status"] for r in store.query(
            f"select id, status from cases where id in ({marks})", sorted(attached))}
    if visible is not None:
        rows = [r for r in rows if visible({"account": r.get("account"),
                                            "route": r.get("case_route") or r.get("route") or "",
                                            "assignee": r.get("case_assignee") or ""})]
    for row in rows:
        row["text"] = pii.mask(row.get("content") or "")
        if not row.get("case_id") and row.get("attached_case_id"):
            # a follow-up attached to its writer's case: show that case, not "—"
            row["case_id"] = row["attached_case_id"]
            row["case_status"] = status_of.get(row["attached_case_id"], "")
            row["attached"] = True
        else:
            row["attached"] = False
        row["case_open"] = row.get("case_status") in OPEN_STATUSES
    return rows


def categories(store: Store) -> list[str]:
    rows = store.query(
        "select distinct category from classifications where category is not null "
        "and category != '' order by category"
    )
    return [r["category"] for r in rows]


def day_start(now: datetime) -> datetime:
    """Midnight (Beijing time) of ``now``'s day, as an aware datetime."""
    local = now.astimezone(SHANGHAI)
    return datetime.combine(local.date(), time(0), tzinfo=SHANGHAI)


def today_counts(store: Store, cases: CaseBook, now: datetime) -> dict[str, Any]:
    """Today's numbers (since midnight Beijing time)."""
    since = iso(day_start(now))

    def one(sql: str, *args: Any) -> int:
        return int(store.query(sql, [since, *args])[0]["n"] or 0)

    bands = {r["band"]: r["n"] for r in store.query(
        "select band, count(*) as n from classifications where processed_at >= ? group by band",
        [since])}
    opened = {r["priority"]: r["n"] for r in store.query(
        "select priority, count(*) as n from cases where opened_at >= ? group by priority",
        [since])}
    return {
        "since": since,
        "comments": one("select count(*) as n from comments where received_at >= ?"),
        "bands": {b: int(bands.get(b, 0)) for b in BANDS},
        "opened": {p: int(opened.get(p, 0)) for p in PRIORITIES},
        "resolved": one("select count(*) as n from cases where resolved_at >= ?"),
        "false_positive": one(
            "select count(*) as n from case_events where at >= ? and to_status = ?",
            "false_positive"),
        "replies_sent": one(
            "select count(*) as n from outbox where sent_at >= ? and kind = 'reply' "
            "and status = 'sent'"),
        "notifies_sent": one(
            "select count(*) as n from outbox where sent_at >= ? and kind = 'notify' "
            "and status = 'sent'"),
        "outbox_failed": one(
            "select count(*) as n from outbox where created_at >= ? and status = 'failed'"),
        "breaches": one("select count(*) as n from breaches where recorded_at >= ?"),
        "labels": one("select count(*) as n from labels where at >= ?"),
        "open_now": len(cases.list_cases(open_only=True)),
        "late_now": len(cases.list_cases(late=True)),
        "outbox_pending": int(store.query(
            "select count(*) as n from outbox where status in ('pending','inflight')")[0]["n"]),
    }


def polling(store: Store, now: datetime, lag: dict[str, float] | None) -> list[dict[str, Any]]:
    """Per account: watched articles, last poll, seconds since (the daemon's own lag if known),
    and the pause (daily quota, refused credentials) if its polls are paused."""
    rows = store.query(
        "select account, sum(active) as active, count(*) as articles, "
        "max(last_polled_at) as last_polled_at from articles group by account order by account"
    )
    pauses = {r["account"]: r for r in store.query("select * from account_pauses")}
    seen = set()
    out = []
    for row in rows:
        seen.add(row["account"])
        last = row["last_polled_at"]
        since = (now - parse_iso(last)).total_seconds() if last else None
        out.append({**row, "lag": (lag or {}).get(row["account"], since),
                    "paused": pauses.get(row["account"])})
    for account, value in sorted((lag or {}).items()):
        if account not in seen:
            out.append({"account": account, "active": 0, "articles": 0, "last_polled_at": None,
                        "lag": value, "paused": pauses.get(account)})
            seen.add(account)
    for account, pause in sorted(pauses.items()):  # paused before it found any article
        if account not in seen:
            out.append({"account": account, "active": 0, "articles": 0, "last_polled_at": None,
                        "lag": None, "paused": pause})
    return out


__all__ = ["case_detail", "categories", "day_start", "notify_failed_cases", "polling", "queue",
           "stream", "today_counts"]
