"""What the sender writes: a batch's ``inflight`` marks, a row's outcome, the case's first reply
(reads: bot.store.cases).

Portable SQL (SQLite and PostgreSQL); one indexed statement each (the sender is on the hot
path).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.store.engine import Transaction

OUTCOME_FIELDS = frozenset({"status", "last_error", "sent_at", "attempts", "next_attempt_at"})


def mark_inflight(db: Transaction, ids: Sequence[int]) -> None:
    """Mark outbox rows ``inflight`` and count an attempt for each, in one statement."""
    if ids:
        marks = ", ".join("?" for _ in ids)
        db.execute("UPDATE outbox SET status = 'inflight', attempts = attempts + 1 "
                   f"WHERE id IN ({marks})", list(ids))


def record_outcome(db: Transaction, row_id: int, fields: dict[str, Any]) -> None:
    """Write a row's outcome (``status``, ``last_error``, ``sent_at`` …) inside ``db``."""
    unknown = set(fields) - OUTCOME_FIELDS
    if unknown:
        raise ValueError(f"not an outcome field of the outbox: {sorted(unknown)}")
    sets = ", ".join(f"{key} = ?" for key in fields)
    db.execute(f"UPDATE outbox SET {sets} WHERE id = ?", [*fields.values(), row_id])


def first_reply(db: Transaction, case_id: int, at: str) -> None:
    """Record the case's first public reply at ``at`` (a later reply keeps the first time)."""
    db.execute("UPDATE cases SET first_reply_at = coalesce(first_reply_at, ?) WHERE id = ?",
               [at, case_id])


__all__ = ["first_reply", "mark_inflight", "record_outcome"]
