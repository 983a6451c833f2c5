"""Accounts whose polls are paused (``account_pauses``): one row per paused account.

Portable SQL (SQLite and PostgreSQL).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.store import Store


def pause(store: Store, account: str, *, reason: str, errcode: int | None, at: str, until: str,
          next_probe_at: str, announced: bool) -> bool:
    """Record a pause, or extend the one recorded (reason, errcode, until, next probe; the
    pause's start, probe count and ``announced`` stay). True when it is a new pause."""
    with store.transaction() as db:
        new = db.execute(
            "INSERT INTO account_pauses (account, reason, errcode, paused_at, until, "
            "next_probe_at, probes, announced) VALUES (?, ?, ?, ?, ?, ?, 0, ?) "
            "ON CONFLICT (account) DO NOTHING",
            [account, reason, errcode, at, until, next_probe_at, int(announced)]).rowcount == 1
        if not new:
            db.execute("UPDATE account_pauses SET reason = ?, errcode = ?, until = ?, "
                       "next_probe_at = ? WHERE account = ?",
                       [reason, errcode, until, next_probe_at, account])
    return new


def probe_later(store: Store, account: str, at: str) -> None:
    """Ask the platform again at ``at`` (one more probe counted)."""
    with store.transaction() as db:
        db.execute("UPDATE account_pauses SET next_probe_at = ?, probes = probes + 1 "
                   "WHERE account = ?", [at, account])


def lift(store: Store, account: str) -> dict[str, Any] | None:
    """Delete the account's pause; the deleted row, or None when it was not paused."""
    with store.transaction() as db:
        rows = list(db.query("SELECT * FROM account_pauses WHERE account = ?", [account]))
        if not rows:
            return None
        db.execute("DELETE FROM account_pauses WHERE account = ?", [account])
        return dict(rows[0])


def all_pauses(store: Store) -> list[dict[str, Any]]:
    """Every pause, by account."""
    return store.query("SELECT * FROM account_pauses ORDER BY account")


__all__ = ["all_pauses", "lift", "pause", "probe_later"]
