"""Editors' labels (``labels``: the current mark per comment; ``label_history``: every mark)
and the reads that export them for retraining.

Portable SQL (SQLite and PostgreSQL). Functions taking ``db`` run inside the caller's
transaction; functions taking ``store`` read outside one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.store.engine import Transaction

if TYPE_CHECKING:
    from bot.store import Store


def current_label(db: Transaction, comment_id: str) -> tuple[int | None, str | None] | None:
    """(urgent, category) recorded for ``comment_id``, or None when it has no label."""
    row = db.execute("SELECT urgent, category FROM labels WHERE comment_id = ?",
                     [comment_id]).fetchone()
    return (row[0], row[1]) if row is not None else None


def classified_category(db: Transaction, comment_id: str) -> str | None:
    """The classifier's category for ``comment_id``, or None when it was not classified."""
    row = db.execute("SELECT category FROM classifications WHERE comment_id = ?",
                     [comment_id]).fetchone()
    return row[0] if row is not None else None


def save_label(db: Transaction, comment_id: str, *, urgent: int | None, category: str,
               editor: str, at: str, kind: str, marked: int | None) -> None:
    """Write the current label (insert or replace its fields) and append the mark to
    ``label_history`` (``kind`` urgent | category; ``marked`` the urgency this mark set)."""
    db.execute(
        "INSERT INTO labels (comment_id, urgent, category, editor, at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (comment_id) DO UPDATE SET urgent = excluded.urgent, "
        "category = excluded.category, editor = excluded.editor, at = excluded.at",
        [comment_id, urgent, category, editor, at],
    )
    db.execute(
        "INSERT INTO label_history (comment_id, urgent, category, editor, at, kind) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [comment_id, marked, category, editor, at, kind],
    )


def urgent_marks(store: Store) -> list[dict[str, Any]]:
    """Every urgent / not-urgent mark ever made, by comment then time."""
    return store.query(
        "SELECT comment_id, urgent, editor, at, id FROM label_history "
        "WHERE kind = 'urgent' AND urgent IS NOT NULL ORDER BY comment_id, at, id"
    )


def labelled_comments(store: Store) -> list[dict[str, Any]]:
    """Each labelled comment: its label, text, account, time and what the live model said."""
    return store.query(
        "SELECT l.comment_id, l.urgent, l.category, l.editor, l.at, m.content, m.account, "
        "m.create_time, "
        "cl.model_version, cl.score, cl.band, cl.category AS model_category "
        "FROM labels l JOIN comments m ON m.id = l.comment_id "
        "LEFT JOIN classifications cl ON cl.comment_id = l.comment_id ORDER BY l.at, l.comment_id"
    )


def resolved_comments(store: Store) -> list[dict[str, Any]]:
    """The comment of each resolved case, with what the live model said, oldest first."""
    return store.query(
        "SELECT c.comment_id, c.resolved_at, c.outcome, m.content, m.account, m.create_time, "
        "cl.model_version, "
        "cl.score, cl.band, cl.category FROM cases c JOIN comments m ON m.id = c.comment_id "
        "LEFT JOIN classifications cl ON cl.comment_id = c.comment_id "
        "WHERE c.status = 'resolved' ORDER BY c.resolved_at, c.id"
    )


__all__ = ["classified_category", "current_label", "labelled_comments", "resolved_comments",
           "save_label", "urgent_marks"]
