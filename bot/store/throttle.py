"""Sign-in back-off counters (table ``login_throttle``), keyed by name+address or address.

Portable SQL (SQLite and PostgreSQL). Functions taking ``db`` run inside the caller's
transaction, so a count is read and written atomically.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from bot.store import Store

# the key starts with the parameter: exact and case-sensitive on both engines (LIKE is not),
# with no integer parameter for PostgreSQL to guess the type of
_STARTS_WITH = "substr(key, 1, length(?)) = ?"


def get(db: Database, key: str) -> dict[str, Any] | None:
    """The counter's failures, blocked_until and updated_at, or None."""
    rows = list(db.query("SELECT failures, blocked_until, updated_at FROM login_throttle "
                         "WHERE key = ?", [key]))
    return rows[0] if rows else None


def save(db: Database, key: str, failures: int, blocked_until: str | None, at: str) -> None:
    db.execute(
        "INSERT INTO login_throttle (key, failures, blocked_until, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, "
        "blocked_until = excluded.blocked_until, updated_at = excluded.updated_at",
        [key, failures, blocked_until, at],
    )


def remove(db: Database, key: str) -> None:
    db.execute("DELETE FROM login_throttle WHERE key = ?", [key])


def take_back_one(db: Database, key: str) -> None:
    """One failure fewer (never below zero)."""
    db.execute("UPDATE login_throttle SET failures = CASE WHEN failures > 0 THEN failures - 1 "
               "ELSE 0 END WHERE key = ?", [key])


def remove_prefix(db: Database, prefix: str) -> int:
    """Delete every counter whose key starts with ``prefix``; returns how many."""
    cur = db.execute(f"DELETE FROM login_throttle WHERE {_STARTS_WITH}", [prefix, prefix])
    return int(cur.rowcount)


def latest_block(store: Store, prefix: str) -> str | None:
    """The latest ``blocked_until`` of the counters whose key starts with ``prefix``."""
    rows = store.query(f"SELECT max(blocked_until) AS until FROM login_throttle "
                       f"WHERE {_STARTS_WITH}", [prefix, prefix])
    return rows[0]["until"] if rows else None


__all__ = ["get", "latest_block", "remove", "remove_prefix", "save", "take_back_one"]
