"""What the desk's pages show, read from the store (no writes here)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from bot import pii
from bot.cases import OPEN_STATUSES, PRIORITIES, CaseBook
from bot.clock import SHANGHAI, iso, parse_iso
from bot.pauses import PauseBook
from bot.store import Store
from bot.store import desk_queries as reads

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
    return reads.failed_notify_cases(store)


def case_detail(
    store: Store, cases: CaseBook, case_id: int, now: datetime | None = None
) -> dict[str, Any]:
    """Everything the case page shows. Raises CaseError for an unknown case."""
    case = cases.get(case_id)
    comment = store.comment(case["comment_id"]) or {}
    classification = reads.classification(store, case["comment_id"])
    if classification:
        classification = dict(classification)
        classification["terms"] = [
            (str(t[0]), float(t[1])) for t in _loads(classification.get("top_terms"), [])
            if isinstance(t, list | tuple) and len(t) == 2
        ]
        classification["matched"] = _loads(classification.get("matched_rules"), [])
    traces = []
    for t in reads.traces(store, case["comment_id"]):
        traces.append({**t, "conditions": _loads(t.get("conditions"), []),
                       "suppressed": _loads(t.get("suppressed"), [])})
    replies = []
    for r in reads.replies(store, case["comment_id"]):
        params = _loads(r.get("params"), {})
        replies.append({**r, "text": str(params.get("text") or params.get("template") or "")})
    notifies = []
    for r in reads.notifications(store, case_id):
        params = _loads(r.get("params"), {})
        notifies.append({**r, "group": str(params.get("group") or "")})
    follow_ups: list[dict[str, Any]] = []
    attached = reads.attached_comments(store, case_id)
    if comment and comment.get("openid"):
        follow_ups = reads.follow_ups(store, comment)
        for f in follow_ups:
            f["attached"] = f["id"] in attached
    article = store.article(case["article_id"]) if case.get("article_id") else None
    due = cases.next_deadline(case, now or store.clock())
    label = reads.label(store, case["comment_id"])
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
        "label": label,
    }


def stream(
    store: Store, *, band: str = "", category: str = "", text: str = "", limit: int = STREAM_LIMIT,
    visible: Callable[[dict[str, Any]], bool] | None = None,
) -> list[dict[str, Any]]:
    """Recent comments with their score, band, case and label, newest first."""
    rows = reads.stream(store, band=band if band in BANDS else "", unclassified=band == "none",
                        category=category, text=text, limit=limit)
    attached = {int(r["attached_case_id"]) for r in rows if r.get("attached_case_id")}
    status_of = reads.case_statuses(store, attached)
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
    return reads.categories(store)


def day_start(now: datetime) -> datetime:
    """Midnight (Beijing time) of ``now``'s day, as an aware datetime."""
    local = now.astimezone(SHANGHAI)
    return datetime.combine(local.date(), time(0), tzinfo=SHANGHAI)


def today_counts(store: Store, cases: CaseBook, now: datetime) -> dict[str, Any]:
    """Today's numbers (since midnight Beijing time)."""
    since = iso(day_start(now))
    counts = reads.counts_since(store, since)
    bands, opened = counts["bands"], counts["opened"]
    return {
        "since": since,
        "comments": counts["comments"],
        "bands": {b: int(bands.get(b, 0)) for b in BANDS},
        "opened": {p: int(opened.get(p, 0)) for p in PRIORITIES},
        **{k: counts[k] for k in ("resolved", "false_positive", "replies_sent", "notifies_sent",
                                  "outbox_failed", "breaches", "labels")},
        "open_now": len(cases.list_cases(open_only=True)),
        "late_now": len(cases.list_cases(late=True)),
        "outbox_pending": counts["outbox_pending"],
    }


def polling(store: Store, now: datetime, lag: dict[str, float] | None) -> list[dict[str, Any]]:
    """Per account: watched articles, last poll, seconds since (the daemon's own lag if known),
    and the pause (daily quota, refused credentials) if its polls are paused."""
    rows = reads.polling(store)
    pauses = PauseBook(store).all()
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
