"""Outbox row claims: with several replicas, each due row is performed by one of them (issue 15).

A replica claims one row at a time with a conditional ``UPDATE`` (``claimed_by``,
``claim_until``): it wins when the row is still due and unclaimed, claimed by itself, or its
claim has expired (the claimant died mid-send). The row is read again after the claim, so the
sender sees the status another replica left (``inflight`` after a death mid-send), and the
exactly-once protocol of ``bot/sender.py`` decides from there (look on the platform before
replying again). The claim is dropped when the row is finished or put back for a retry.

Also here: what one replica works on, the due articles and the new comments of the accounts
whose leases it holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.clock import iso

if TYPE_CHECKING:
    from bot.store import Store


def due_unclaimed(store: Store, now: datetime, holder: str, limit: int = 50,
                  kinds: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Due outbox rows nobody else holds a live claim on, oldest first."""
    at = iso(now)
    where, params = "", [at, holder, at]
    if kinds:
        where = f" AND kind IN ({', '.join('?' for _ in kinds)})"
        params += list(kinds)
    return list(store.query(
        "SELECT * FROM outbox WHERE status IN ('pending','inflight') AND next_attempt_at <= ? "
        "AND (claimed_by IS NULL OR claimed_by = ? OR claim_until < ?)"
        f"{where} ORDER BY id LIMIT ?",
        [*params, limit],
    ))


def claim(store: Store, row_id: int, holder: str, seconds: float,
          now: datetime | None = None) -> dict[str, Any] | None:
    """Claim one outbox row for ``seconds``; the row as it is now, or None when another replica
    holds it or it is no longer due."""
    at = now or store.clock()
    stamp = iso(at)
    with store.transaction() as tx:
        cur = tx.execute(
            "UPDATE outbox SET claimed_by = ?, claim_until = ? WHERE id = ? "
            "AND status IN ('pending','inflight') AND next_attempt_at <= ? "
            "AND (claimed_by IS NULL OR claimed_by = ? OR claim_until < ?)",
            [holder, iso(at + timedelta(seconds=seconds)), row_id, stamp, holder, stamp],
        )
        if int(cur.rowcount) != 1:
            return None
    # read after the commit: while the claim holds, no other replica changes the row
    rows = store.query("SELECT * FROM outbox WHERE id = ?", [row_id])
    return rows[0] if rows else None


def unclaim(store: Store, row_id: int, holder: str) -> None:
    """Drop ``holder``'s claim on a row (finished, or put back for a retry)."""
    with store.transaction() as tx:
        tx.execute("UPDATE outbox SET claimed_by = NULL, claim_until = NULL "
                   "WHERE id = ? AND claimed_by = ?", [row_id, holder])


def claimed(store: Store) -> list[dict[str, Any]]:
    """Rows under a claim now (any status): id, kind, status, claimed_by, claim_until."""
    return list(store.query(
        "SELECT id, kind, status, claimed_by, claim_until FROM outbox "
        "WHERE claimed_by IS NOT NULL ORDER BY id"))


def due_articles_for(store: Store, now: datetime, accounts: Sequence[str],
                     limit: int = 50) -> list[dict[str, Any]]:
    """Articles of ``accounts`` only that are due for a poll, most overdue first."""
    if not accounts:
        return []
    marks = ", ".join("?" for _ in accounts)
    return list(store.query(
        f"SELECT * FROM articles WHERE active = 1 AND next_poll_at <= ? AND account IN ({marks}) "
        "ORDER BY next_poll_at LIMIT ?",
        [iso(now), *accounts, limit],
    ))


def pending_for(store: Store, accounts: Sequence[str], limit: int = 200) -> list[dict[str, Any]]:
    """New comments of ``accounts`` only (a replica processes the accounts it polls)."""
    if not accounts:
        return []
    marks = ", ".join("?" for _ in accounts)
    return list(store.query(
        "SELECT c.*, a.title AS article_title FROM comments c "
        "JOIN articles a ON a.id = c.article_id "
        f"WHERE c.state = 'new' AND c.account IN ({marks}) "
        "ORDER BY c.received_at, c.create_time, c.user_comment_id LIMIT ?",
        [*accounts, limit],
    ))


__all__ = ["claim", "claimed", "due_articles_for", "due_unclaimed", "pending_for", "unclaim"]
