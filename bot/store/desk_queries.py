"""What the editors' desk reads (queue, case page, stream, today's numbers, polling): reads only.

Portable SQL (SQLite and PostgreSQL). Rows come back as dicts; shaping (masking, JSON
columns, sorting by deadline) stays in :mod:`bot.web.queries`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.store import Store


def failed_notify_cases(store: Store) -> set[int]:
    """Cases with a group notification that finally failed."""
    return {int(r["case_id"]) for r in store.query(
        "SELECT DISTINCT case_id FROM outbox WHERE kind = 'notify' AND status = 'failed' "
        "AND case_id IS NOT NULL")}


def classification(store: Store, comment_id: str) -> dict[str, Any] | None:
    rows = store.query("SELECT * FROM classifications WHERE comment_id = ?", [comment_id])
    return rows[0] if rows else None


def traces(store: Store, comment_id: str) -> list[dict[str, Any]]:
    """Every rule's evaluation for the comment, in rule order."""
    return store.query("SELECT * FROM traces WHERE comment_id = ? ORDER BY position",
                       [comment_id])


def replies(store: Store, comment_id: str) -> list[dict[str, Any]]:
    """The comment's public-reply outbox rows, oldest first."""
    return store.query("SELECT * FROM outbox WHERE comment_id = ? AND kind = 'reply' ORDER BY id",
                       [comment_id])


def notifications(store: Store, case_id: int) -> list[dict[str, Any]]:
    """The case's group-notification outbox rows, oldest first."""
    return store.query("SELECT * FROM outbox WHERE case_id = ? AND kind = 'notify' ORDER BY id",
                       [case_id])


def attached_comments(store: Store, case_id: int) -> set[str]:
    """The comments attached to the case (follow-ups of its writer)."""
    return {r["comment_id"] for r in store.query(
        "SELECT comment_id FROM case_events WHERE case_id = ? AND kind = 'attach'", [case_id])}


def follow_ups(store: Store, comment: dict[str, Any], limit: int = 50) -> list[dict[str, Any]]:
    """The writer's later comments on the same account, with their score and band."""
    created = comment.get("create_time") or 0
    return store.query(
        "SELECT m.*, cl.score, cl.band FROM comments m "
        "LEFT JOIN classifications cl ON cl.comment_id = m.id "
        "WHERE m.account = ? AND m.openid = ? AND m.id != ? "
        "AND (m.create_time > ? OR (m.create_time = ? AND m.received_at > ?)) "
        "ORDER BY m.create_time, m.user_comment_id LIMIT ?",
        [comment["account"], comment["openid"], comment["id"], created, created,
         comment.get("received_at") or "", limit],
    )


def label(store: Store, comment_id: str) -> dict[str, Any] | None:
    """The editors' current label of the comment, if any."""
    rows = store.query("SELECT * FROM labels WHERE comment_id = ?", [comment_id])
    return rows[0] if rows else None


def stream(store: Store, *, band: str = "", unclassified: bool = False, category: str = "",
           text: str = "", limit: int = 200) -> list[dict[str, Any]]:
    """Recent comments (not skipped) with score, band, case, label and the case a follow-up
    was attached to, newest first. ``band``/``category`` filter exactly; ``unclassified``
    keeps only comments without a classification; ``text`` keeps comments containing it."""
    where, params = ["m.state != 'skipped'"], []
    if unclassified:
        where.append("cl.comment_id IS NULL")
    elif band:
        where.append("cl.band = ?")
        params.append(band)
    if category:
        where.append("cl.category = ?")
        params.append(category)
    if text:
        # contains ``text`` (case-sensitive, like instr) without LIKE's wildcards
        where.append("replace(m.content, ?, '') != m.content")
        params.append(text)
    sql = (
        "SELECT m.id, m.account, m.openid, m.content, m.create_time, m.received_at, m.state, "
        "a.title AS article_title, cl.score, cl.band, cl.category, cl.route, "
        "c.route AS case_route, c.assignee AS case_assignee, "
        "c.id AS case_id, c.status AS case_status, c.priority AS case_priority, "
        "l.urgent AS label_urgent, l.editor AS label_editor, l.category AS label_category, "
        "(SELECT e.case_id FROM case_events e WHERE e.comment_id = m.id AND e.kind = 'attach' "
        "ORDER BY e.id DESC LIMIT 1) AS attached_case_id "
        "FROM comments m LEFT JOIN articles a ON a.id = m.article_id "
        "LEFT JOIN classifications cl ON cl.comment_id = m.id "
        "LEFT JOIN cases c ON c.comment_id = m.id "
        "LEFT JOIN labels l ON l.comment_id = m.id "
        "WHERE " + " AND ".join(where) + " ORDER BY m.received_at DESC, m.create_time DESC, "
        "m.user_comment_id DESC LIMIT ?"
    )
    return store.query(sql, [*params, limit])


def case_statuses(store: Store, case_ids: Iterable[int]) -> dict[int, str]:
    """Case id → status, for the given cases."""
    ids = sorted(case_ids)
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    return {r["id"]: r["status"] for r in store.query(
        f"SELECT id, status FROM cases WHERE id IN ({marks})", ids)}


def categories(store: Store) -> list[str]:
    """The categories the classifier has given, sorted."""
    return [r["category"] for r in store.query(
        "SELECT DISTINCT category FROM classifications WHERE category IS NOT NULL "
        "AND category != '' ORDER BY category")]


def comment_scope(store: Store, comment_id: str) -> dict[str, Any] | None:
    """The account, route and assignee that decide who may see (and mark) a comment."""
    rows = store.query(
        "SELECT m.account, coalesce(c.route, cl.route, '') AS route, "
        "coalesce(c.assignee, '') AS assignee FROM comments m "
        "LEFT JOIN cases c ON c.comment_id = m.id "
        "LEFT JOIN classifications cl ON cl.comment_id = m.id WHERE m.id = ?", [comment_id])
    return rows[0] if rows else None


def _count(store: Store, sql: str, params: list[Any]) -> int:
    return int(store.query(sql, params)[0]["n"] or 0)


def counts_since(store: Store, since: str) -> dict[str, Any]:
    """What happened since ``since`` (ISO): comments received, classifications by band, cases
    opened by priority, resolved, marked false positive, replies and notifications sent,
    outbox rows failed, deadline breaches, labels; and the outbox rows still to send."""
    bands = {r["band"]: int(r["n"]) for r in store.query(
        "SELECT band, count(*) AS n FROM classifications WHERE processed_at >= ? GROUP BY band",
        [since])}
    opened = {r["priority"]: int(r["n"]) for r in store.query(
        "SELECT priority, count(*) AS n FROM cases WHERE opened_at >= ? GROUP BY priority",
        [since])}
    return {
        "comments": _count(store, "SELECT count(*) AS n FROM comments WHERE received_at >= ?",
                           [since]),
        "bands": bands,
        "opened": opened,
        "resolved": _count(store, "SELECT count(*) AS n FROM cases WHERE resolved_at >= ?",
                           [since]),
        "false_positive": _count(
            store, "SELECT count(*) AS n FROM case_events WHERE at >= ? AND to_status = ?",
            [since, "false_positive"]),
        "replies_sent": _count(
            store, "SELECT count(*) AS n FROM outbox WHERE sent_at >= ? AND kind = 'reply' "
            "AND status = 'sent'", [since]),
        "notifies_sent": _count(
            store, "SELECT count(*) AS n FROM outbox WHERE sent_at >= ? AND kind = 'notify' "
            "AND status = 'sent'", [since]),
        "outbox_failed": _count(
            store, "SELECT count(*) AS n FROM outbox WHERE created_at >= ? AND status = 'failed'",
            [since]),
        "breaches": _count(store, "SELECT count(*) AS n FROM breaches WHERE recorded_at >= ?",
                           [since]),
        "labels": _count(store, "SELECT count(*) AS n FROM labels WHERE at >= ?", [since]),
        "outbox_pending": _count(
            store, "SELECT count(*) AS n FROM outbox WHERE status IN ('pending', 'inflight')", []),
    }


def polling(store: Store) -> list[dict[str, Any]]:
    """Per account (sorted): active and all watched articles, the last poll (ISO or None)."""
    return store.query(
        "SELECT account, sum(active) AS active, count(*) AS articles, "
        "max(last_polled_at) AS last_polled_at FROM articles GROUP BY account ORDER BY account")


__all__ = ["attached_comments", "case_statuses", "categories", "classification", "comment_scope",
           "counts_since", "failed_notify_cases", "follow_ups", "label", "notifications",
           "polling", "replies", "stream", "traces"]
