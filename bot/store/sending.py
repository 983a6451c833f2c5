"""What the sender reads and writes besides its outbox row: the row's case.

Portable SQL (SQLite and PostgreSQL); one indexed statement each (the sender is on the hot
path).
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from bot.store import Store


def case(store: Store, case_id: int) -> dict[str, Any] | None:
    """The case row (every column), or None."""
    rows = store.query("SELECT * FROM cases WHERE id = ?", [case_id])
    return rows[0] if rows else None


def first_reply(db: Database, case_id: int, at: str) -> None:
    """Record the case's first public reply at ``at`` (a later reply keeps the first time)."""
    db.execute("UPDATE cases SET first_reply_at = coalesce(first_reply_at, ?) WHERE id = ?",
               [at, case_id])


__all__ = ["case", "first_reply"]
