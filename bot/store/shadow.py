"""A shadowed candidate model's scores (``shadow_scores``), beside the live model's.

Portable SQL (SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.store import insert_row

if TYPE_CHECKING:
    from bot.store import Store


def unscored(store: Store, version: str, since: str, limit: int) -> list[dict[str, Any]]:
    """Comments classified at or after ``since`` that model ``version`` has not scored yet:
    ``comment_id``, ``content`` and the live ``model_version``, ``score``, ``band``."""
    return store.query(
        "SELECT cl.comment_id, m.content, cl.model_version, cl.score, cl.band "
        "FROM classifications cl JOIN comments m ON m.id = cl.comment_id "
        "LEFT JOIN shadow_scores s ON s.comment_id = cl.comment_id AND s.model_version = ? "
        "WHERE s.comment_id IS NULL AND cl.processed_at >= ? "
        "ORDER BY cl.processed_at, cl.comment_id LIMIT ?",
        [version, since, limit],
    )


def save_scores(store: Store, scores: Sequence[dict[str, Any]]) -> None:
    """Write shadow score rows (one transaction); a row already written is left as it is."""
    with store.transaction() as db:
        for row in scores:
            insert_row(db, "shadow_scores", row, on_conflict="ignore")


def disagreements(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """Comments the shadow and the live model put in different bands, newest first."""
    return store.query(
        "SELECT s.*, m.content, m.account, l.urgent AS label_urgent, l.editor AS label_editor "
        "FROM shadow_scores s JOIN comments m ON m.id = s.comment_id "
        "LEFT JOIN labels l ON l.comment_id = s.comment_id "
        "WHERE s.band != s.live_band ORDER BY s.at DESC, s.comment_id DESC LIMIT ?",
        [limit],
    )


__all__ = ["disagreements", "save_scores", "unscored"]
