"""The outbox: side effects to perform (reply, notify, message, feature, unfeature), once each.

Portable SQL (SQLite and PostgreSQL). A row's ``key`` is unique, so queueing the same side
effect twice is a no-op. Functions taking ``db`` run inside the caller's transaction.
"""

from __future__ import annotations

from typing import Any

from bot.store import article_of, dumps, insert_row
from bot.store.engine import Transaction


def enqueue(
    db: Transaction,
    *,
    key: str,
    comment_id: str,
    case_id: int | None,
    account: str,
    kind: str,
    rule: str,
    params: dict[str, Any],
    at: str,
) -> None:
    """Add a side effect to the outbox (inside the caller's transaction); a repeat key is a no-op."""
    insert_row(
        db,
        "outbox",
        {
            "key": key,
            "comment_id": comment_id,
            "case_id": case_id,
            "account": account,
            "kind": kind,
            "rule": rule,
            "params": dumps(params),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": at,
            "last_error": "",
            "created_at": at,
            "article_id": article_of(comment_id),  # the per-article reply limit's index
        },
        on_conflict="ignore",
    )


def has_public_reply(db: Transaction, comment_id: str) -> bool:
    """Whether ``comment_id`` already has a public reply sent, being sent or queued."""
    row = db.execute(
        "SELECT status FROM outbox WHERE comment_id = ? AND kind = 'reply' "
        "AND status IN ('pending', 'inflight', 'sent')", [comment_id]).fetchone()
    return row is not None


__all__ = ["enqueue", "has_public_reply"]
