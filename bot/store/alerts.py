"""Spike alerts (``alerts``): one row per spike, its key (rule, scope, window start) unique.

Portable SQL (SQLite and PostgreSQL).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.store import insert_row
from bot.store.outbox import enqueue

if TYPE_CHECKING:
    from bot.store import Store


def record_alert(store: Store, alert: dict[str, Any], notify: dict[str, Any]) -> bool:
    """Write the ``alerts`` row and queue its group message (``notify``: the keyword arguments
    of :func:`bot.store.outbox.enqueue`) in one transaction. False when the alert's key was
    already recorded (nothing is queued then)."""
    with store.transaction() as db:
        if not insert_row(db, "alerts", alert, on_conflict="ignore"):
            return False
        enqueue(db, **notify)
    return True


__all__ = ["record_alert"]
