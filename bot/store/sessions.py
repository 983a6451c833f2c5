"""Desk sessions (table ``sessions``): only the SHA-256 of each session id is stored.

Portable SQL (SQLite and PostgreSQL); ``"user"`` is quoted because it is a reserved word in
PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from bot.store import Store


def add(store: Store, id_hash: str, user: str, at: str, address: str) -> None:
    with store.transaction() as db:
        db.execute('INSERT INTO sessions (id_hash, "user", created_at, last_seen_at, address) '
                   "VALUES (?, ?, ?, ?, ?)", [id_hash, user, at, at, address])


def get(store: Store, id_hash: str) -> dict[str, Any] | None:
    """The session's user, created_at and last_seen_at, or None."""
    rows = store.query('SELECT "user", created_at, last_seen_at FROM sessions WHERE id_hash = ?',
                       [id_hash])
    return rows[0] if rows else None


def touch(store: Store, id_hash: str, at: str) -> None:
    with store.transaction() as db:
        db.execute("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", [at, id_hash])


def remove(store: Store, id_hash: str) -> None:
    with store.transaction() as db:
        db.execute("DELETE FROM sessions WHERE id_hash = ?", [id_hash])


def remove_user(db: Database, user: str) -> int:
    """End every session of ``user`` inside the caller's transaction; returns how many."""
    return int(db.execute('DELETE FROM sessions WHERE "user" = ?', [user]).rowcount)


def revoke(store: Store, user: str) -> int:
    """End every session of ``user``; returns how many there were."""
    with store.transaction() as db:
        return remove_user(db, user)


def purge(store: Store, created_before: str, seen_before: str) -> int:
    """Delete sessions created before ``created_before`` or idle since before ``seen_before``."""
    with store.transaction() as db:
        cur = db.execute("DELETE FROM sessions WHERE created_at < ? OR last_seen_at < ?",
                         [created_before, seen_before])
        return int(cur.rowcount)


__all__ = ["add", "get", "purge", "remove", "remove_user", "revoke", "touch"]
