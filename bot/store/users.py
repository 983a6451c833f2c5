"""Desk users (table ``users``): password hashes, role, departments and accounts.

Portable SQL (SQLite and PostgreSQL). Functions taking ``db`` run inside the caller's
transaction (``with store.transaction() as db``); those taking ``store`` read or write on
their own.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from bot.store import Store, insert_row

# the columns a user's access is made of (``set_access`` changes only these)
ACCESS_COLUMNS = ("role", "departments", "accounts")


def exists_in(db: Database, name: str) -> bool:
    return bool(list(db.query("SELECT 1 AS one FROM users WHERE name = ?", [name])))


def exists(store: Store, name: str) -> bool:
    return bool(store.query("SELECT 1 AS one FROM users WHERE name = ?", [name]))


def add(db: Database, row: dict[str, Any]) -> None:
    """A new user (``name``, ``password_hash``, ``created_at``, ``role``, …)."""
    insert_row(db, "users", row)


def set_password(db: Database, name: str, password_hash: str) -> None:
    """A new password: the failed sign-ins and any lock are forgotten."""
    db.execute("UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL "
               "WHERE name = ?", [password_hash, name])


def set_access(db: Database, name: str, changes: dict[str, str]) -> bool:
    """Change some of role, departments, accounts; False when there is no such user."""
    unknown = set(changes) - set(ACCESS_COLUMNS)
    if unknown:
        raise ValueError(f"not an access column: {', '.join(sorted(unknown))}")
    cur = db.execute("UPDATE users SET " + ", ".join(f"{k} = ?" for k in changes)
                     + " WHERE name = ?", [*changes.values(), name])
    return bool(cur.rowcount)


def remove(db: Database, name: str) -> bool:
    return bool(db.execute("DELETE FROM users WHERE name = ?", [name]).rowcount)


def rehash(store: Store, name: str, old_hash: str, new_hash: str) -> None:
    """Replace the password hash, unless it changed meanwhile."""
    with store.transaction() as db:
        db.execute("UPDATE users SET password_hash = ? WHERE name = ? AND password_hash = ?",
                   [new_hash, name, old_hash])


def listing(store: Store) -> list[dict[str, Any]]:
    """Every user: name, created_at, failed_logins, role, departments, accounts (by name)."""
    return store.query("SELECT name, created_at, failed_logins, role, departments, accounts "
                       "FROM users ORDER BY name")


def access(store: Store, name: str) -> dict[str, Any] | None:
    """The user's role, departments and accounts, or None."""
    rows = store.query("SELECT role, departments, accounts FROM users WHERE name = ?", [name])
    return rows[0] if rows else None


def password_hash(store: Store, name: str) -> str | None:
    """The stored hash ("" when empty), or None for an unknown user."""
    rows = store.query("SELECT password_hash FROM users WHERE name = ?", [name])
    return str(rows[0]["password_hash"] or "") if rows else None


def failed_logins(store: Store, name: str) -> int:
    rows = store.query("SELECT failed_logins FROM users WHERE name = ?", [name])
    return int(rows[0]["failed_logins"] or 0) if rows else 0


def count_failure(db: Database, name: str) -> None:
    """One more wrong password for ``name`` (any address)."""
    db.execute("UPDATE users SET failed_logins = coalesce(failed_logins, 0) + 1 WHERE name = ?",
               [name])


def clear_failures(db: Database, name: str) -> None:
    db.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE name = ?", [name])


__all__ = ["ACCESS_COLUMNS", "access", "add", "clear_failures", "count_failure", "exists",
           "exists_in", "failed_logins", "listing", "password_hash", "rehash", "remove",
           "set_access", "set_password"]
