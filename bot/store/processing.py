"""A comment's processing (the pipeline's hot path): its state, classification and traces.

Portable SQL (SQLite and PostgreSQL), built once at import: nothing here inspects the schema
per call. Every function runs inside the caller's transaction (``db``), the one that also
writes the comment's case and outbox rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database

CLASSIFICATION_COLUMNS = ("comment_id", "score", "band", "category", "category_score", "top_terms",
                          "model_version", "rules_version", "matched_rules", "route", "tags",
                          "shadow_actions", "processed_at")
TRACE_COLUMNS = ("comment_id", "position", "rule", "conditions", "matched", "shadow", "suppressed")


def _upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    """``INSERT … ON CONFLICT (key) DO UPDATE`` every other column: a second write of the same
    row replaces it (what ``INSERT OR REPLACE`` did, on both engines)."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)}) "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")


_CLASSIFICATION_SQL = _upsert("classifications", CLASSIFICATION_COLUMNS, ("comment_id",))
_TRACE_SQL = _upsert("traces", TRACE_COLUMNS, ("comment_id", "position"))


def comment_state(db: Database, comment_id: str) -> str | None:
    """The comment's state (``new``, ``processed``, ``skipped``, ``error``), None if unknown."""
    rows = list(db.query("SELECT state FROM comments WHERE id = ?", [comment_id]))
    return str(rows[0]["state"]) if rows else None


def set_comment_state(db: Database, comment_id: str, state: str) -> None:
    db.execute("UPDATE comments SET state = ? WHERE id = ?", [state, comment_id])


def write_classification(db: Database, row: dict[str, Any]) -> None:
    """The comment's classification (every column of :data:`CLASSIFICATION_COLUMNS`)."""
    db.execute(_CLASSIFICATION_SQL, [row[c] for c in CLASSIFICATION_COLUMNS])


def write_trace(db: Database, row: dict[str, Any]) -> None:
    """One rule's evaluation for the comment (every column of :data:`TRACE_COLUMNS`)."""
    db.execute(_TRACE_SQL, [row[c] for c in TRACE_COLUMNS])


__all__ = ["CLASSIFICATION_COLUMNS", "TRACE_COLUMNS", "comment_state", "set_comment_state",
           "write_classification", "write_trace"]
