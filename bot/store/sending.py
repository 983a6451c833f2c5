"""What the sender writes besides its outbox row: the case's first reply (reads: bot.store.cases).

Portable SQL (SQLite and PostgreSQL); one indexed statement each (the sender is on the hot
path).
"""

from __future__ import annotations

from bot.store.engine import Transaction


def first_reply(db: Transaction, case_id: int, at: str) -> None:
    """Record the case's first public reply at ``at`` (a later reply keeps the first time)."""
    db.execute("UPDATE cases SET first_reply_at = coalesce(first_reply_at, ?) WHERE id = ?",
               [at, case_id])


__all__ = ["first_reply"]
