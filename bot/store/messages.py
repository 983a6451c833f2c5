"""Readers' private messages (``messages``) and what dates the platform's 48-hour window.

Portable SQL (SQLite and PostgreSQL). A pushed message is keyed by ``account:MsgId``, so the
platform's retries store it once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bot.store import insert_row

if TYPE_CHECKING:
    from bot.store import Store


def record(store: Store, message: dict[str, Any], article: dict[str, Any] | None = None,
           comment: dict[str, Any] | None = None) -> bool:
    """Write a ``messages`` row and, for a text message, its private-message ``article``
    (once per account) and its ``comments`` row, in one transaction. False when the message
    was already stored (nothing else is written then)."""
    with store.transaction() as db:
        if not insert_row(db, "messages", message, on_conflict="ignore"):
            return False
        if article is not None:
            insert_row(db, "articles", article, on_conflict="ignore")
        if comment is not None:
            insert_row(db, "comments", comment, on_conflict="ignore")
    return True


def last_create_time(store: Store, account: str, openid: str) -> int | None:
    """The platform's CreateTime of the reader's last message (events not counted), or None."""
    rows = store.query("SELECT max(create_time) AS t FROM messages WHERE account = ? AND "
                       "openid = ? AND msg_type != 'event'", [account, openid])
    t = rows[0]["t"] if rows else None
    return int(t) if t else None


def sent_to(store: Store, account: str, openid: str, since: str) -> int:
    """Customer-service messages sent to ``openid`` by ``account`` at or after ``since``."""
    rows = store.query(
        "SELECT params FROM outbox WHERE kind = 'message' AND account = ? AND "
        "status = 'sent' AND sent_at >= ?", [account, since])
    return sum(1 for r in rows if _openid(r["params"]) == openid)


def _openid(params: str | None) -> object:
    try:
        value = json.loads(params or "")
    except ValueError:
        return None
    return value.get("openid") if isinstance(value, dict) else None


__all__ = ["last_create_time", "record", "sent_to"]
