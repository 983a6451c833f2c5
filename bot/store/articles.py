"""Watched articles (table ``articles``) beyond what :class:`bot.store.Store` does itself:
what the poller and the daemon ask about them.

Portable SQL (SQLite and PostgreSQL).
"""

from __future__ import annotations

from typing import Any

from bot.store import Store


def first_active(store: Store, account: str) -> dict[str, Any] | None:
    """One article the account still watches (for a cheap probe call), or None."""
    rows = store.query("SELECT * FROM articles WHERE account = ? AND active = 1 LIMIT 1",
                       [account])
    return rows[0] if rows else None


def reschedule(store: Store, article_id: str, at: str) -> None:
    """Poll the article next at ``at`` (ISO), e.g. after a failed poll."""
    with store.transaction() as db:
        db.execute("UPDATE articles SET next_poll_at = ? WHERE id = ?", [at, article_id])


def watching_accounts(store: Store) -> set[str]:
    """The accounts with at least one active article."""
    return {r["account"] for r in store.query(
        "SELECT DISTINCT account FROM articles WHERE active = 1")}


__all__ = ["first_active", "reschedule", "watching_accounts"]
