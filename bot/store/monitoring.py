"""Numbers for watching the bot run: /healthz, /metrics and the demo's summary. Reads only.

Portable SQL (SQLite and PostgreSQL).
"""

from __future__ import annotations

from typing import Any

from bot.store import Store


def ping(store: Store) -> None:
    """Ask the database one trivial question (raises :class:`StoreError` when it cannot answer)."""
    store.query("SELECT 1 AS one")


def failed_notifications(store: Store, since: str) -> tuple[int, int]:
    """(group notifications that finally failed since ``since``, distinct cases among them)."""
    row = store.query(
        "SELECT count(*) AS n, count(DISTINCT case_id) AS cases FROM outbox "
        "WHERE kind = 'notify' AND status = 'failed' AND created_at >= ?", [since])[0]
    return int(row["n"] or 0), int(row["cases"] or 0)


def cases_by_status(store: Store) -> dict[str, int]:
    return {r["status"]: int(r["n"]) for r in store.query(
        "SELECT status, count(*) AS n FROM cases GROUP BY status")}


def outbox_by_kind_status(store: Store) -> dict[tuple[str, str], int]:
    return {(r["kind"], r["status"]): int(r["n"]) for r in store.query(
        "SELECT kind, status, count(*) AS n FROM outbox GROUP BY kind, status")}


def backlog(store: Store) -> int:
    """Comments not processed yet plus outbox rows not sent yet."""
    new = store.query("SELECT count(*) AS n FROM comments WHERE state = 'new'")[0]["n"]
    unsent = store.query(
        "SELECT count(*) AS n FROM outbox WHERE status IN ('pending', 'inflight')")[0]["n"]
    return int(new or 0) + int(unsent or 0)


def summary(store: Store) -> dict[str, Any]:
    """The demo's totals: public comments, classifications by band, replies and notifications
    sent, cases by status (sorted), private messages, and each sent reply's ``sent_at`` (ISO)
    with its comment's platform ``create_time``."""
    def one(sql: str) -> int:
        return int(store.query(sql)[0]["n"] or 0)

    return {
        "comments": one("SELECT count(*) AS n FROM comments WHERE channel = 'comment'"),
        "bands": {r["band"]: int(r["n"]) for r in store.query(
            "SELECT band, count(*) AS n FROM classifications GROUP BY band")},
        "replies": one("SELECT count(*) AS n FROM outbox WHERE kind = 'reply' AND status = 'sent'"),
        "notifies": one(
            "SELECT count(*) AS n FROM outbox WHERE kind = 'notify' AND status = 'sent'"),
        "cases": store.query("SELECT status, count(*) AS n FROM cases GROUP BY status "
                             "ORDER BY status"),
        "messages": one("SELECT count(*) AS n FROM messages"),
        "sent_replies": store.query(
            "SELECT o.sent_at, c.create_time FROM outbox o JOIN comments c ON c.id = o.comment_id "
            "WHERE o.kind = 'reply' AND o.status = 'sent'"),
    }


def cases_of_writer(store: Store, openid: str) -> list[dict[str, Any]]:
    """Every case of the writer ``openid`` (any account), oldest first."""
    return store.query("SELECT * FROM cases WHERE openid = ? ORDER BY id", [openid])


def writer_reply_sent(store: Store, openid: str) -> bool:
    """Whether a public reply was sent for a case of the writer ``openid``."""
    return bool(store.query(
        "SELECT 1 AS one FROM outbox o JOIN cases c ON c.id = o.case_id WHERE c.openid = ? AND "
        "o.kind = 'reply' AND o.status = 'sent'", [openid]))


__all__ = ["backlog", "cases_by_status", "cases_of_writer", "failed_notifications", "outbox_by_kind_status",
           "ping", "summary", "writer_reply_sent"]
